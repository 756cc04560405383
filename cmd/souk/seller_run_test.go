package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
)

// clearSellerRunEnv keeps the caller's environment out of the tests.
func clearSellerRunEnv(t *testing.T) {
	for _, v := range []string{"SOUK_SELLER_ADDR", "SOUK_SELLER_KEY", "SOUK_SELLER_DATA", "SOUK_SELLER_ASYNC",
		"SOUK_SELLER_FAIL_RATE", "SOUK_SELLER_FAIL_ACTIVITIES", "SOUK_SELLER_SLOW", "SOUK_SELLER_TIMEOUT", "SOUK_SELLER_SEED"} {
		t.Setenv(v, "")
	}
}

func TestSellerRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in stderr
	}{
		{"no key", []string{"--data", "DIR"}, nil, "--key"},
		{"bad fail rate", []string{"--key", "k", "--data", "DIR", "--fail-rate", "2"}, nil, "failRate"},
		{"unknown activity", []string{"--key", "k", "--data", "DIR", "--fail-activities", "newInstance,nap"}, nil, `"nap"`},
		{"bad env duration", []string{"--key", "k", "--data", "DIR"}, map[string]string{"SOUK_SELLER_ASYNC": "soon"}, "SOUK_SELLER_ASYNC"},
		{"stray argument", []string{"--key", "k", "--data", "DIR", "extra"}, nil, `"extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearSellerRunEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			for i, a := range tt.args {
				if a == "DIR" {
					tt.args[i] = dir
				}
			}
			var stdout, stderr bytes.Buffer
			code := realMain(context.Background(), append([]string{"seller", "run"}, tt.args...), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("souk seller run %v = %d, stderr %q; want 2 and a message with %s", tt.args, code, stderr.String(), tt.want)
			}
		})
	}
}

// TestSellerRunFromEnvironment runs the command in process, configured only
// through SOUK_SELLER_… variables, and stops it by ending its context.
func TestSellerRunFromEnvironment(t *testing.T) {
	clearSellerRunEnv(t)
	t.Setenv("SOUK_SELLER_ADDR", "127.0.0.1:0")
	t.Setenv("SOUK_SELLER_KEY", "env-key")
	t.Setenv("SOUK_SELLER_DATA", t.TempDir())
	t.Setenv("SOUK_SELLER_FAIL_ACTIVITIES", "orderNotify")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- realMain(ctx, []string{"seller", "run"}, pw, &stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("no listening line; exit %d", <-done)
	}
	url, ok := strings.CutPrefix(sc.Text(), "souk seller listening on ")
	if !ok {
		t.Fatalf("first line %q, want souk seller listening on URL", sc.Text())
	}
	go io.Copy(io.Discard, pr)

	c := protocol.NewClient(protocol.Default, time.Now, 1)
	target := protocol.Target{URL: url, AccessKey: "env-key"}
	if o := c.Send(ctx, target, &protocol.OrderNotifyRequest{OrderID: "o", OrderLineID: "l"}); o.ResultCode != protocol.CodeInternal {
		t.Errorf("orderNotify with SOUK_SELLER_FAIL_ACTIVITIES=orderNotify = %v, want 000005", o)
	}
	if o := c.Send(ctx, target, &protocol.NewInstanceRequest{BusinessID: "b", OrderID: "o", OrderLineID: "l"}); !o.OK() {
		t.Errorf("newInstance = %v, want success", o)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d after the context ended, want 0; stderr:\n%s", code, &stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("souk seller run still running 5 s after its context ended")
	}
}
