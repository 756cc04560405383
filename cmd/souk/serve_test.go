package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// souk user add makes the first operator; souk serve, a real process,
// lets it log in through the API, answers /healthz and /metrics, and stops
// cleanly on SIGTERM.
func TestServeProcessWithFirstOperator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bin := soukBinary(t)
	db := filepath.Join(t.TempDir(), "souk.db")
	add := exec.Command(bin, "user", "add", "--database", db, "--email", "op@example.com", "--name", "Operator")
	add.Env = append(os.Environ(), "SOUK_USER_PASSWORD=an operator password")
	if out, err := add.CombinedOutput(); err != nil || !strings.Contains(string(out), "created operator op@example.com") {
		t.Fatalf("souk user add: %v: %s", err, out)
	}

	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--database", db)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	var base string
	select {
	case line := <-lines:
		_, rest, _ := strings.Cut(line, "listening on ")
		base, _, _ = strings.Cut(rest, " ")
	case <-time.After(15 * time.Second):
		t.Fatal("souk serve printed no listening line")
	}

	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"op@example.com","password":"an operator password"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		User struct{ Role string } `json:"user"`
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || login.User.Role != "operator" {
		t.Fatalf("operator log-in = %d %+v, want 200 operator", resp.StatusCode, login)
	}
	for path, want := range map[string]string{"/healthz": "ok", "/metrics": "go_goroutines"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s = %d, want 200 containing %q", path, resp.StatusCode, want)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("souk serve after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("souk serve did not stop within 15 s of SIGTERM")
	}
}
