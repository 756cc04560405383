package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoAttempt is one row of the demo's CALL/ATTEMPT table.
type demoAttempt struct {
	call, attempt       int
	activity, outcome   string
	code, latency, next string
}

// demoAttempts parses the table that follows the CALL ATTEMPT … header.
func demoAttempts(t *testing.T, out string) []demoAttempt {
	t.Helper()
	lines := strings.Split(out, "\n")
	start := -1
	for i, l := range lines {
		if f := strings.Fields(l); len(f) == 7 && strings.Join(f, " ") == "CALL ATTEMPT INTERFACE OUTCOME CODE LATENCY NEXT" {
			start = i + 1
			break
		}
	}
	if start < 0 {
		t.Fatalf("no CALL ATTEMPT INTERFACE OUTCOME CODE LATENCY NEXT table in the output:\n%s", out)
	}
	var rows []demoAttempt
	for _, l := range lines[start:] {
		f := strings.Fields(l)
		if len(f) < 6 {
			break // the blank line after the table
		}
		call, err1 := strconv.Atoi(f[0])
		attempt, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			t.Fatalf("table row %q: want CALL and ATTEMPT numbers", l)
		}
		rows = append(rows, demoAttempt{call: call, attempt: attempt, activity: f[2], outcome: f[3], code: f[4], latency: f[5],
			next: strings.Join(f[6:], " ")})
	}
	if len(rows) == 0 {
		t.Fatalf("the CALL/ATTEMPT table is empty:\n%s", out)
	}
	return rows
}

// demoOutput is what a test reads in the demo's output.
type demoOutput struct {
	text     string
	api      string               // the API base URL
	accounts map[string][2]string // role → email, password
	instance string               // the demo purchase's instance
	script   string               // the "Try it" commands
}

var (
	demoAccountRE  = regexp.MustCompile(`(?m)^  (operator|seller|buyer) +(\S+@\S+) +password (\S+)`)
	demoInstanceRE = regexp.MustCompile(`instance (inst-\S+) is (\w+)\.`)
)

func parseDemo(t *testing.T, out string) demoOutput {
	t.Helper()
	d := demoOutput{text: out, accounts: map[string][2]string{}}
	for _, m := range demoAccountRE.FindAllStringSubmatch(out, -1) {
		d.accounts[m[1]] = [2]string{m[2], m[3]}
	}
	if len(d.accounts) != 3 {
		t.Fatalf("the demo shows %d accounts, want operator, seller and buyer:\n%s", len(d.accounts), out)
	}
	m := demoInstanceRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo does not say which instance it bought:\n%s", out)
	}
	if m[2] != "active" {
		t.Errorf("the demo's instance %s is %s, want active:\n%s", m[1], m[2], out)
	}
	d.instance = m[1]
	_, script, ok := strings.Cut(out, "Try it (paste into a shell):\n")
	if !ok {
		t.Fatalf("no Try it section in the output:\n%s", out)
	}
	script, _, _ = strings.Cut(script, "\nThe marketplace and the seller keep running")
	d.script = script
	for _, l := range strings.Split(script, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "API="); ok {
			d.api = v
		}
	}
	if !strings.HasPrefix(d.api, "http://127.0.0.1:") {
		t.Fatalf("the Try it section sets no API=http://127.0.0.1:PORT/api/v1:\n%s", out)
	}
	if strings.Contains(out, ":0/") || strings.Contains(out, ":0 ") {
		t.Errorf("the demo shows port 0 instead of the port it got:\n%s", out)
	}
	return d
}

// demoAPI calls the demo's API and decodes the answer, failing the test on
// any status but want.
func demoAPI(t *testing.T, method, url, token string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
}

// demoLogin logs in through the API and returns the token and the role.
func demoLogin(t *testing.T, api string, account [2]string) (token, role string) {
	t.Helper()
	var out struct {
		Token string
		User  struct{ Role string }
	}
	demoAPI(t, "POST", api+"/auth/login", "", map[string]string{"email": account[0], "password": account[1]}, http.StatusOK, &out)
	return out.Token, out.User.Role
}

type demoMoneyView struct {
	Amount   int64
	Currency string
}

// The demo seeds a marketplace, buys through it, and a second and third
// run on the same directory find everything again: the accounts log in
// through the API, the products are listed, the buyer's instance is
// active and its balance is 1,000.00 CNY less what it paid, and every
// command the guide prints works.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo three times")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	args := []string{"demo", "--addr", "127.0.0.1:0", "--seller-addr", "127.0.0.1:0", "--data", dir}

	// 1. The first run seeds and buys, then exits (--no-wait).
	var out, errOut bytes.Buffer
	start := time.Now()
	if code := realMain(ctx, append(args, "--no-wait"), &out, &errOut); code != 0 {
		t.Fatalf("souk demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, &out, &errOut)
	}
	t.Logf("the first souk demo ran in %v", time.Since(start).Round(time.Millisecond))
	first := parseDemo(t, out.String())
	rows := demoAttempts(t, first.text)
	last := map[int]demoAttempt{}
	seen := map[string]bool{}
	for _, r := range rows {
		last[r.call] = r
		seen[r.activity] = true
	}
	if !seen["newInstance"] {
		t.Errorf("no newInstance attempt in the messages:\n%s", first.text)
	}
	for call, r := range last {
		if r.next != "succeeded" {
			t.Errorf("call %d (%s) ends with attempt %d: %s %s, next %q; want succeeded", call, r.activity, r.attempt, r.outcome, r.code, r.next)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, demoStateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, mode %v; want 0600", demoStateFile, err, fi.Mode().Perm())
	}

	// 2. The second run finds it all again and keeps serving.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var out2, errOut2 syncBuffer
	done := make(chan int, 1)
	go func() { done <- realMain(runCtx, args, &out2, &errOut2) }()
	for !strings.Contains(out2.String(), "Press Ctrl-C") {
		select {
		case code := <-done:
			t.Fatalf("the second souk demo exited %d before serving\nstdout:\n%s\nstderr:\n%s", code, out2.String(), errOut2.String())
		case <-ctx.Done():
			t.Fatalf("the second souk demo is not serving in time\nstdout:\n%s", out2.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	second := parseDemo(t, out2.String())
	for role, a := range first.accounts {
		if second.accounts[role] != a {
			t.Errorf("the second run's %s is %v, the first's %v", role, second.accounts[role], a)
		}
	}
	if second.instance != first.instance {
		t.Errorf("the second run's instance is %s, the first's %s: it bought again", second.instance, first.instance)
	}

	api := second.api
	tokens := map[string]string{}
	for role, a := range second.accounts {
		token, got := demoLogin(t, api, a)
		if got != role {
			t.Errorf("%s logs in as a %s, want %s", a[0], got, role)
		}
		tokens[role] = token
	}
	var products []struct {
		ID, Type, Name, ProductionURL string
		Specs                         []struct{ Code, Charging string }
	}
	demoAPI(t, "GET", api+"/products", "", nil, http.StatusOK, &products)
	charging := map[string]string{}
	for _, p := range products {
		if p.ProductionURL == "" {
			t.Errorf("product %s (%s) has no production URL", p.ID, p.Name)
		}
		for _, s := range p.Specs {
			charging[string(p.Type)+" "+s.Charging] = p.ID
		}
	}
	if len(products) != 3 || charging["saas PERIOD"] == "" || charging["license PERIOD"] == "" || charging["saas ON_DEMAND"] == "" {
		t.Errorf("the catalogue holds %+v; want a SaaS product sold by period, a licence product, a pay-per-use product", products)
	}
	buyer := tokens["buyer"]
	var instances []struct{ ID, State, ProductID string }
	demoAPI(t, "GET", api+"/my/instances", buyer, nil, http.StatusOK, &instances)
	if len(instances) != 1 || instances[0].ID != first.instance || instances[0].State != "active" || instances[0].ProductID != charging["saas PERIOD"] {
		t.Errorf("the buyer's instances are %+v, want %s of the SaaS product, active", instances, first.instance)
	}
	var orders []struct {
		Type   string
		Amount demoMoneyView
	}
	demoAPI(t, "GET", api+"/my/orders", buyer, nil, http.StatusOK, &orders)
	if len(orders) != 1 || orders[0].Type != "NEW" || orders[0].Amount.Amount <= 0 {
		t.Fatalf("the buyer's orders are %+v, want one NEW order paid for", orders)
	}
	var balance []demoMoneyView
	demoAPI(t, "GET", api+"/me/balance", buyer, nil, http.StatusOK, &balance)
	if want := (demoMoneyView{100000 - orders[0].Amount.Amount, "CNY"}); len(balance) != 1 || balance[0] != want {
		t.Errorf("the buyer's balance is %+v, want %+v: 1,000.00 CNY less the %d paid", balance, want, orders[0].Amount.Amount)
	}

	// Every command of the guide works, run as a script.
	bash, errBash := exec.LookPath("bash")
	_, errCurl := exec.LookPath("curl")
	if errBash != nil || errCurl != nil {
		t.Logf("bash or curl is missing: the guide's commands are not run")
	} else {
		script := "set -eo pipefail\ncurl() { command curl --fail-with-body \"$@\"; echo; }\n" + second.script +
			"\n[ -n \"$TOKEN\" ] && [ -n \"$SELLER_TOKEN\" ] && [ -n \"$OPERATOR_TOKEN\" ]\n"
		cmd := exec.CommandContext(ctx, bash, "-c", script)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the guide's commands fail: %v\nscript:\n%s\noutput:\n%s", err, second.script, b)
		}
		var in struct{ State string }
		demoAPI(t, "GET", api+"/instances/"+first.instance, buyer, nil, http.StatusOK, &in)
		if in.State != "released" {
			t.Errorf("after the guide's unsubscribe, instance %s is %s, want released", first.instance, in.State)
		}
	}

	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("the second souk demo exited %d\nstderr:\n%s", code, errOut2.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second souk demo did not stop within 30 s of its context ending")
	}
	if errBash != nil || errCurl != nil {
		return
	}

	// 3. The demo's instance is gone (unsubscribed): a third run buys again,
	// with the same accounts.
	out.Reset()
	errOut.Reset()
	if code := realMain(ctx, append(args, "--no-wait"), &out, &errOut); code != 0 {
		t.Fatalf("the third souk demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, &out, &errOut)
	}
	third := parseDemo(t, out.String())
	if third.instance == first.instance {
		t.Errorf("the third run shows the released instance %s again instead of buying anew", first.instance)
	}
	for role, a := range first.accounts {
		if third.accounts[role] != a {
			t.Errorf("the third run's %s is %v, the first's %v", role, third.accounts[role], a)
		}
	}
	// The messages now show the renewal and the release the guide made.
	seen = map[string]bool{}
	for _, r := range demoAttempts(t, third.text) {
		seen[r.activity] = true
	}
	for _, want := range []string{"newInstance", "refreshInstance", "releaseInstance"} {
		if !seen[want] {
			t.Errorf("the third run's messages show no %s:\n%s", want, third.text)
		}
	}
}

// souk demo as a real process serves until SIGTERM, then stops cleanly.
func TestDemoProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	cmd := exec.Command(soukBinary(t), "demo", "--addr", "127.0.0.1:0", "--seller-addr", "127.0.0.1:0", "--data", t.TempDir())
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(&all, sc.Text())
			if strings.Contains(sc.Text(), "Press Ctrl-C") {
				ready <- all.String()
			}
		}
	}()
	var text string
	select {
	case text = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("souk demo is not serving within 60 s")
	}
	d := parseDemo(t, text)
	if _, role := demoLogin(t, d.api, d.accounts["operator"]); role != "operator" {
		t.Errorf("the operator logs in as a %s", role)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("souk demo after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("souk demo did not stop within 30 s of SIGTERM")
	}
}
