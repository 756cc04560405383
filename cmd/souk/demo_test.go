package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
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

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo waits for a 10 s retry")
	}
	// The demo waits 10 s for its retry; a minute is plenty, and a hang
	// ends in a failure rather than in go test's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	start := time.Now()
	code := realMain(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--no-wait"}, &out, &errOut)
	t.Logf("souk demo ran in %v", time.Since(start).Round(time.Millisecond))
	if code != 0 || ctx.Err() != nil {
		t.Fatalf("souk demo: exit %d (context: %v)\nstdout:\n%s\nstderr:\n%s", code, ctx.Err(), &out, &errOut)
	}
	stdout := out.String()
	if !strings.Contains(stdout, "49 passed, 0 failed") {
		t.Errorf("the demo's conformance check does not say 49 passed, 0 failed:\n%s", stdout)
	}
	if strings.Contains(stdout, "http://127.0.0.1:0/") {
		t.Errorf("the demo shows the seller at port 0 instead of the port it got:\n%s", stdout)
	}

	rows := demoAttempts(t, stdout)
	// The instance is released in the end.
	released := false
	for _, r := range rows {
		if r.activity == "releaseInstance" && r.outcome == "success" && r.code == "000000" && r.next == "succeeded" {
			released = true
		}
	}
	if !released {
		t.Errorf("no releaseInstance attempt that succeeded in the table:\n%s", stdout)
	}
	// updateInstanceStatus FREEZE is rejected with 000005 while the seller
	// is broken, then a later attempt of the same call succeeds.
	rejected := -1
	for i, r := range rows {
		if r.activity == "updateInstanceStatus" && r.outcome == "rejected" && r.code == "000005" {
			rejected = i
			if !strings.HasPrefix(r.next, "retry at ") {
				t.Errorf("the rejected attempt's NEXT is %q, want retry at …", r.next)
			}
			break
		}
	}
	if rejected < 0 {
		t.Fatalf("no updateInstanceStatus attempt rejected with 000005 in the table:\n%s", stdout)
	}
	retried := false
	for _, r := range rows[rejected+1:] {
		if r.call == rows[rejected].call && r.attempt > rows[rejected].attempt && r.activity == "updateInstanceStatus" &&
			r.outcome == "success" && r.code == "000000" && r.next == "succeeded" {
			retried = true
			break
		}
	}
	if !retried {
		t.Errorf("call %d's rejected updateInstanceStatus is not followed by a successful attempt:\n%s", rows[rejected].call, stdout)
	}
	// Every call ends succeeded: its last attempt says so.
	last := map[int]demoAttempt{}
	for _, r := range rows {
		last[r.call] = r
	}
	for call, r := range last {
		if r.next != "succeeded" {
			t.Errorf("call %d (%s) ends with attempt %d: %s %s, next %q; want succeeded", call, r.activity, r.attempt, r.outcome, r.code, r.next)
		}
	}
	// The whole life is there: the purchase (asynchronous, so polled),
	// the renewal, the freeze and unfreeze, the release.
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.activity]++
	}
	for _, want := range []string{"newInstance", "queryInstance", "refreshInstance", "updateInstanceStatus", "releaseInstance"} {
		if seen[want] == 0 {
			t.Errorf("the table has no %s attempt:\n%s", want, stdout)
		}
	}
}
