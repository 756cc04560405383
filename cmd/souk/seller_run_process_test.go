//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
)

const processKey = "process-test-key"

// sellerProcess is `souk seller run` running as a real process.
type sellerProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string // the production URL it printed
	exited chan error
	stderr *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSellerProcess runs souk seller run on a free port with its data in
// dir and waits for the line that says where it listens.
func startSellerProcess(t *testing.T, dir string, extra ...string) *sellerProcess {
	t.Helper()
	args := append([]string{"seller", "run", "--addr", "127.0.0.1:0", "--key", processKey, "--data", dir}, extra...)
	cmd := exec.Command(soukBinary(t), args...)
	cmd.Env = environWithoutSouk()
	// An os.Pipe of our own, not StdoutPipe, so that reading the first
	// line and waiting for the exit do not race over the pipe.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd.Stdout = pw
	p := &sellerProcess{t: t, cmd: cmd, exited: make(chan error, 1), stderr: new(syncBuffer)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		pw.Close()
		t.Fatal(err)
	}
	pw.Close()
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("souk seller run stderr:\n%s", p.stderr)
		}
	})

	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Scan()
		line <- sc.Text()
	}()
	select {
	case l := <-line:
		url, ok := strings.CutPrefix(l, "souk seller listening on ")
		if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/produce") || strings.Contains(url, ":0/") {
			t.Fatalf("first line on stdout = %q, want souk seller listening on http://127.0.0.1:PORT/produce", l)
		}
		p.url = url
	case <-time.After(15 * time.Second):
		t.Fatalf("souk seller run printed no listening line in 15 s; stderr:\n%s", p.stderr)
	}
	return p
}

// environWithoutSouk is the environment minus SOUK_ variables, which would
// change the flags' defaults.
func environWithoutSouk() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOUK_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *sellerProcess) newInstance(order, line string) string {
	p.t.Helper()
	c := protocol.NewClient(protocol.Default, time.Now, 1)
	o := c.Send(context.Background(), protocol.Target{URL: p.url, AccessKey: processKey},
		&protocol.NewInstanceRequest{BusinessID: "biz-" + time.Now().Format("150405.000000000"), OrderID: order, OrderLineID: line})
	var resp protocol.NewInstanceResponse
	if !o.OK() || o.Decode(&resp) != nil || !resp.Ready() {
		p.t.Fatalf("newInstance = %v %s, want a ready instance", o, o.ResponseBody)
	}
	return resp.InstanceID
}

// waitExit waits up to d for the process to exit and returns its error.
func (p *sellerProcess) waitExit(d time.Duration) error {
	p.t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		return err
	case <-time.After(d):
		p.t.Fatalf("souk seller run still running %v after the signal", d)
		return nil
	}
}

func TestSellerRunProcessSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the souk binary")
	}
	dir := t.TempDir()
	p := startSellerProcess(t, dir)
	first := p.newInstance("order-kill", "line-1")

	// No chance to shut down: what newInstance committed must be on disk.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitExit(5 * time.Second)

	p = startSellerProcess(t, dir)
	if again := p.newInstance("order-kill", "line-1"); again != first {
		t.Errorf("after SIGKILL and restart newInstance = %s, want %s", again, first)
	}
}

func TestSellerRunProcessStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the souk binary")
	}
	// --timeout holds every call: shutdown must let a held call go rather
	// than wait for it.
	p := startSellerProcess(t, t.TempDir(), "--timeout")
	c := protocol.NewClient(protocol.Default, time.Now, 1)
	held := make(chan *protocol.Outcome, 1)
	go func() {
		held <- c.Send(context.Background(), protocol.Target{URL: p.url, AccessKey: processKey, Timeout: 30 * time.Second},
			&protocol.QueryInstanceRequest{InstanceID: "ins-held"})
	}()
	time.Sleep(200 * time.Millisecond) // let the call arrive

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.waitExit(5 * time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("SIGTERM took %v to stop the seller", d)
	}
	<-held
	if !strings.Contains(p.stderr.String(), "seller stopped") {
		t.Errorf("stderr does not log the stop:\n%s", p.stderr)
	}
}
