package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// Starting and stopping engines: Stop finishes or releases what is in
// flight, leaves nothing claimed and no goroutine behind, and misuse
// (Stop before Start, Start twice) is harmless.

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// stopWithin runs e.Stop and fails the test if it does not return in time.
func stopWithin(t *testing.T, e *delivery.Engine, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() { e.Stop(); close(done) }()
	select {
	case <-done:
		return time.Since(start)
	case <-time.After(limit):
		t.Fatalf("Stop() did not return within %v", limit)
		return 0
	}
}

// lineIDs returns the orderLineId of every newInstance the sink received,
// in arrival order: the call's own identity (its businessId is new on
// every attempt).
func lineIDs(t *testing.T, s *sink) []string {
	t.Helper()
	var ids []string
	for _, r := range s.got() {
		var req protocol.NewInstanceRequest
		if err := json.Unmarshal([]byte(r.Body), &req); err != nil {
			t.Fatalf("sink received %q: %v", r.Body, err)
		}
		ids = append(ids, req.OrderLineID)
	}
	return ids
}

// syncBuffer collects an engine's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// inFlightRows describes the calls in flight, for failure messages.
func inFlightRows(t *testing.T, db *store.DB) string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT id, lease_owner, lease_until, attempts, updated_at FROM delivery_calls WHERE state = 'in_flight' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, until, attempts, updated int64
		var owner string
		if err := rows.Scan(&id, &owner, &until, &attempts, &updated); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "call %d: lease %s until %v, %d attempts, updated %v\n", id, owner,
			store.FromMillis(until).Format(time.StampMilli), attempts, store.FromMillis(updated).Format(time.StampMilli))
	}
	return b.String()
}

func goroutineDump() string {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	return b.String()
}

func TestLifecycleStopBeforeStartAndStartTwice(t *testing.T) {
	storetest.Each(t, souk.SystemClock{}, func(t *testing.T, db *store.DB) {
		s := newSink(t, souk.SystemClock{})
		client := protocol.NewClient(protocol.Default, db.Clock().Now, 4)
		defer client.HTTP.CloseIdleConnections()
		cfg := delivery.Config{Workers: 4, Poll: 20 * time.Millisecond, Logger: quietLog}

		never := delivery.New(db, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{}, cfg)
		stopWithin(t, never, 5*time.Second)
		stopWithin(t, never, 5*time.Second) // and again

		e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{}, cfg)
		if err := e.Start(context.Background()); err != nil {
			t.Fatalf("Start() = %v", err)
		}
		if err := e.Start(context.Background()); err == nil {
			t.Errorf("second Start() = nil, want an error")
		}
		// The engine still works after the refused second Start.
		id := enqueue(t, db, newInstanceCall("twice"))
		e.Wake()
		waitFor(t, "the call to succeed", 10*time.Second, func() bool {
			st, _ := callState(t, db, id)
			return st == delivery.Succeeded
		})
		// Two concurrent Stops both return.
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); e.Stop() }()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("concurrent Stop() calls did not return within 10 s")
		}
		if n := len(s.got()); n != 1 {
			t.Fatalf("sink received %d calls, want 1", n)
		}
	})
}

func TestLifecycleStartContextEndsTheEngine(t *testing.T) {
	storetest.Each(t, souk.SystemClock{}, func(t *testing.T, db *store.DB) {
		s := newSink(t, souk.SystemClock{})
		client := protocol.NewClient(protocol.Default, db.Clock().Now, 4)
		defer client.HTTP.CloseIdleConnections()
		e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{},
			delivery.Config{Workers: 4, Poll: 20 * time.Millisecond, Logger: quietLog})
		ctx, cancel := context.WithCancel(context.Background())
		if err := e.Start(ctx); err != nil {
			t.Fatalf("Start() = %v", err)
		}
		first := enqueue(t, db, newInstanceCall("before"))
		e.Wake()
		waitFor(t, "the first call to succeed", 10*time.Second, func() bool {
			st, _ := callState(t, db, first)
			return st == delivery.Succeeded
		})
		cancel()
		time.Sleep(100 * time.Millisecond) // let the dispatcher see it
		second := enqueue(t, db, newInstanceCall("after"))
		e.Wake()
		time.Sleep(200 * time.Millisecond) // several polls
		if st, _ := callState(t, db, second); st != delivery.Pending {
			t.Fatalf("call enqueued after the context ended: state = %s, want %s", st, delivery.Pending)
		}
		stopWithin(t, e, 5*time.Second)
	})
}

func TestLifecycleStartStopStress(t *testing.T) {
	storetest.Each(t, souk.SystemClock{}, func(t *testing.T, db *store.DB) {
		const (
			cycles = 50
			calls  = 500
			keys   = 100
		)
		ctx := context.Background()
		s := newSink(t, souk.SystemClock{})
		client := protocol.NewClient(protocol.Default, db.Clock().Now, 8)
		ts := targets{"prod-1": s.srv.URL}
		logs := &syncBuffer{}
		cfg := delivery.Config{Workers: 8, PerSellerInFlight: 4, Poll: 20 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		h := &hookLog{}
		runtime.GC()
		before := runtime.NumGoroutine()

		// Calls keep arriving during the whole run, from another goroutine.
		var produced sync.WaitGroup
		quit := make(chan struct{})
		defer func() { close(quit); produced.Wait() }() // before the database closes
		produced.Add(1)
		go func() {
			defer produced.Done()
			for i := range calls {
				select {
				case <-quit:
					return
				default:
				}
				err := db.Tx(ctx, func(tx *store.Tx) error {
					c := newInstanceCall(fmt.Sprintf("k%d", i%keys))
					c.SellerID = fmt.Sprintf("seller-%d", i%4)
					c.Request.(*protocol.NewInstanceRequest).OrderLineID = fmt.Sprint(i)
					_, err := delivery.Enqueue(ctx, tx, c)
					return err
				})
				if err != nil {
					t.Errorf("enqueue call %d: %v", i, err)
					return
				}
				if i%10 == 9 {
					time.Sleep(2 * time.Millisecond)
				}
			}
		}()

		start := time.Now()
		var slowestStop time.Duration
		for cycle := range cycles {
			e := delivery.New(db, client, ts, h.hooks(), cfg)
			if err := e.Start(ctx); err != nil {
				t.Fatalf("cycle %d: Start() = %v", cycle, err)
			}
			// 0 to 45 ms: stops land before the first claim, mid-claim,
			// mid-send and mid-write.
			time.Sleep(time.Duration(cycle%10) * 5 * time.Millisecond)
			slowestStop = max(slowestStop, stopWithin(t, e, 10*time.Second))
			if n := countState(t, db, delivery.InFlight); n != 0 {
				t.Fatalf("cycle %d: %d calls in_flight after Stop() returned, want 0 (Stop must finish or release them):\n%s\nengine log:\n%s",
					cycle, n, inFlightRows(t, db), logs.String())
			}
		}
		produced.Wait()
		if t.Failed() {
			t.FailNow()
		}
		delivered, cyclesTook := len(s.got()), time.Since(start)
		if delivered == 0 {
			t.Errorf("no call delivered during the start/stop cycles: the stops never landed mid-send")
		}

		final := delivery.New(db, client, ts, h.hooks(), cfg)
		if err := final.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every call to succeed", 15*time.Second, func() bool { return countState(t, db, delivery.Succeeded) == calls })
		stopWithin(t, final, 10*time.Second)
		t.Logf("%d of %d calls delivered during the %d start/stop cycles (%v, slowest Stop %v)", delivered, calls, cycles, cyclesTook, slowestStop)

		ids := lineIDs(t, s)
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
		}
		for i := range calls {
			if seen[fmt.Sprint(i)] == 0 {
				t.Errorf("call %d never delivered", i)
			}
		}
		// Every stop was graceful, so nothing was sent twice.
		if len(ids) != calls {
			t.Errorf("sink received %d deliveries of %d distinct calls, want each exactly once", len(ids), len(seen))
		}
		// Restarts keep each key's order.
		last := map[int]int{}
		for _, id := range ids {
			var b int
			fmt.Sscan(id, &b)
			if prev, ok := last[b%keys]; ok && b < prev {
				t.Errorf("key k%d: call %d arrived after %d", b%keys, b, prev)
			}
			last[b%keys] = b
		}
		for _, st := range []delivery.State{delivery.InFlight, delivery.Pending, delivery.Retrying} {
			if n := countState(t, db, st); n != 0 {
				t.Errorf("%d calls %s at the end, want 0", n, st)
			}
		}
		var rows int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM delivery_attempts`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != calls {
			t.Errorf("%d attempt rows, want %d", rows, calls)
		}
		h.mu.Lock()
		succeeded := len(h.succeeded)
		h.mu.Unlock()
		if succeeded != calls {
			t.Errorf("succeeded hook ran %d times, want %d", succeeded, calls)
		}

		// No goroutine left behind by 51 engines.
		client.HTTP.CloseIdleConnections()
		const slack = 5
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > before+slack && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if after := runtime.NumGoroutine(); after > before+slack {
			t.Fatalf("%d goroutines after the run, %d before: a leak\n%s", after, before, goroutineDump())
		}
	})
}

func TestLifecycleGracefulShutdownWaitsForCallsInFlight(t *testing.T) {
	storetest.Each(t, souk.SystemClock{}, func(t *testing.T, db *store.DB) {
		const (
			calls    = 10
			inFlight = 4
			slowness = 500 * time.Millisecond
		)
		s := newSink(t, souk.SystemClock{})
		s.setAnswer(func(protocol.Activity, []byte) string {
			time.Sleep(slowness)
			return healthyNewInstance
		})
		client := protocol.NewClient(protocol.Default, db.Clock().Now, 8)
		defer client.HTTP.CloseIdleConnections()
		ts := targets{"prod-1": s.srv.URL}
		cfg := delivery.Config{Workers: inFlight, PerSellerInFlight: inFlight, Poll: 20 * time.Millisecond, Logger: quietLog}
		ids := make([]int64, calls)
		for i := range ids {
			ids[i] = enqueue(t, db, newInstanceCall(fmt.Sprintf("slow-%d", i)))
		}
		e := delivery.New(db, client, ts, delivery.Hooks{}, cfg)
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "calls in flight at the seller", 5*time.Second, func() bool { return len(s.got()) >= inFlight })
		if n := countState(t, db, delivery.InFlight); n != inFlight {
			t.Fatalf("%d calls in_flight before Stop(), want %d", n, inFlight)
		}
		took := stopWithin(t, e, 10*time.Second)
		if took > 3*slowness {
			t.Errorf("Stop() took %v with calls of %v in flight", took, slowness)
		}

		sent := len(s.got())
		if sent < inFlight || sent >= calls {
			t.Fatalf("sink received %d calls before the stop, want %d to %d", sent, inFlight, calls-1)
		}
		if n := countState(t, db, delivery.InFlight); n != 0 {
			t.Fatalf("%d calls in_flight after Stop(), want 0", n)
		}
		if n := countState(t, db, delivery.Succeeded); n != sent {
			t.Fatalf("%d calls succeeded after Stop(), want the %d the seller received: their attempts were not recorded", n, sent)
		}
		if n := countState(t, db, delivery.Pending); n != calls-sent {
			t.Fatalf("%d calls pending after Stop(), want the %d never sent", n, calls-sent)
		}
		for _, id := range ids {
			m, err := delivery.GetMessage(context.Background(), db, id, "")
			if err != nil {
				t.Fatal(err)
			}
			switch m.Call.State {
			case delivery.Succeeded:
				if len(m.Attempts) != 1 || m.Attempts[0].Outcome != protocol.OutcomeSuccess || m.Attempts[0].Latency < slowness {
					t.Fatalf("call %d: attempts %+v, want one success taking at least %v", id, m.Attempts, slowness)
				}
			case delivery.Pending:
				if len(m.Attempts) != 0 || !m.Call.FirstAt.IsZero() {
					t.Fatalf("released call %d: %d attempts, first at %v; want none", id, len(m.Attempts), m.Call.FirstAt)
				}
			default:
				t.Fatalf("call %d: state = %s after Stop(), want %s or %s", id, m.Call.State, delivery.Succeeded, delivery.Pending)
			}
		}

		// A new engine delivers the rest, and nothing twice.
		next := delivery.New(db, client, ts, delivery.Hooks{}, cfg)
		if err := next.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every call to succeed", 15*time.Second, func() bool { return countState(t, db, delivery.Succeeded) == calls })
		stopWithin(t, next, 10*time.Second)
		if got := lineIDs(t, s); len(got) != calls {
			t.Fatalf("sink received %d deliveries, want %d", len(got), calls)
		}
	})
}

// runInChild runs scenario in a child process (this test binary, running
// only the calling test) so that a panic in the engine's goroutines fails
// that test alone instead of killing the whole test run.
func runInChild(t *testing.T, scenario func(t *testing.T)) {
	t.Helper()
	if os.Getenv("SOUK_LIFECYCLE_CHILD") == t.Name() {
		scenario(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "SOUK_LIFECYCLE_CHILD="+t.Name())
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("scenario did not end within 30 s:\n%s", out)
	}
	if err != nil || strings.Contains(string(out), "panic:") {
		t.Fatalf("scenario crashed or failed (%v):\n%s", err, out)
	}
	t.Logf("child: %s", lastLines(string(out), 4))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// An Engine stopped and started again must either refuse (the doc says
// "Start it once") or work; it must never crash the process.
func TestLifecycleRestartSameEngine(t *testing.T) {
	runInChild(t, restartSameEngine)
}

// Start called while a Stop is still waiting for calls in flight must
// either refuse or work; the stopping engine's goroutines must not close or
// use the new run's channels.
func TestLifecycleStartDuringStop(t *testing.T) {
	runInChild(t, startDuringStop)
}

func startDuringStop(t *testing.T) {
	const calls = 4
	db := storetest.OpenSQLite(t, souk.SystemClock{})
	s := newSink(t, souk.SystemClock{})
	s.setAnswer(func(protocol.Activity, []byte) string {
		time.Sleep(300 * time.Millisecond)
		return healthyNewInstance
	})
	client := protocol.NewClient(protocol.Default, db.Clock().Now, 4)
	defer client.HTTP.CloseIdleConnections()
	e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{},
		delivery.Config{Workers: 2, PerSellerInFlight: 2, Poll: 20 * time.Millisecond, Logger: quietLog})
	for i := range calls {
		enqueue(t, db, newInstanceCall(fmt.Sprintf("during-%d", i)))
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "calls in flight", 5*time.Second, func() bool { return len(s.got()) >= 2 })
	stopped := make(chan struct{})
	go func() { e.Stop(); close(stopped) }()
	time.Sleep(50 * time.Millisecond) // Stop is waiting for the calls in flight
	select {
	case <-stopped:
		t.Fatal("Stop() returned before the calls in flight finished")
	default:
	}
	err := e.Start(context.Background())
	<-stopped
	if err != nil {
		t.Logf("Start() during Stop() = %v: refused", err)
		return
	}
	waitFor(t, "every call to succeed after the restart", 10*time.Second, func() bool {
		return countState(t, db, delivery.Succeeded) == calls
	})
	stopWithin(t, e, 5*time.Second)
	if n := countState(t, db, delivery.InFlight); n != 0 {
		t.Fatalf("%d calls in_flight at the end, want 0", n)
	}
	t.Logf("Start() during Stop() works")
}

func restartSameEngine(t *testing.T) {
	db := storetest.OpenSQLite(t, souk.SystemClock{})
	s := newSink(t, souk.SystemClock{})
	client := protocol.NewClient(protocol.Default, db.Clock().Now, 4)
	defer client.HTTP.CloseIdleConnections()
	e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{},
		delivery.Config{Workers: 4, Poll: 20 * time.Millisecond, Logger: quietLog})
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := enqueue(t, db, newInstanceCall("first"))
	e.Wake()
	waitFor(t, "the first call to succeed", 10*time.Second, func() bool {
		st, _ := callState(t, db, first)
		return st == delivery.Succeeded
	})
	stopWithin(t, e, 5*time.Second)

	if err := e.Start(ctx); err != nil {
		t.Logf("Start() after Stop() = %v: refused, as documented", err)
		return
	}
	second := enqueue(t, db, newInstanceCall("second"))
	e.Wake()
	waitFor(t, "the second call to succeed after the restart", 10*time.Second, func() bool {
		st, _ := callState(t, db, second)
		return st == delivery.Succeeded
	})
	stopWithin(t, e, 5*time.Second)
	t.Logf("Start() after Stop() works")
}
