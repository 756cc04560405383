package delivery_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// "A database error mid-batch: nothing lost, nothing marked done that was
// not sent." A hook that fails for one call of a batch must not hold back
// the others; a call whose result could not be written is sent again when
// its lease runs out; and a database that goes away under a running engine
// neither crashes it nor loses calls.

// hookEffects creates a table the Succeeded hook writes to in the
// engine's transaction, standing for the domain state a hook changes.
func hookEffects(t *testing.T, db *store.DB) {
	t.Helper()
	if _, err := db.SQL().Exec(`CREATE TABLE hook_effects (call_id BIGINT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
}

func effects(t *testing.T, db *store.DB) map[int64]bool {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT call_id FROM hook_effects`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got[id] = true
	}
	return got
}

// flakyHook is a Succeeded hook that records the call in hook_effects, but
// fails for call bad while failures > 0 (counting down each time).
type flakyHook struct {
	bad      atomic.Int64
	failures atomic.Int64
	ran      atomic.Int64 // times it failed
}

func (h *flakyHook) hooks() delivery.Hooks {
	return delivery.Hooks{Succeeded: func(ctx context.Context, tx *store.Tx, c *delivery.Call, _ *protocol.Outcome) error {
		if c.ID == h.bad.Load() && h.failures.Add(-1) >= 0 {
			h.ran.Add(1)
			return errors.New("ledger unavailable")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO hook_effects (call_id) VALUES ($1)`, c.ID)
		return err
	}}
}

func attemptNumbers(m *delivery.Message) []int {
	var ns []int
	for _, a := range m.Attempts {
		ns = append(ns, a.N)
	}
	return ns
}

func attemptRows(t *testing.T, db *store.DB, id int64) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM delivery_attempts WHERE call_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// receivedFor counts the deliveries of the call with orderLineId ol-<key>.
func receivedFor(t *testing.T, s *sink, k string) int {
	t.Helper()
	n := 0
	for _, id := range lineIDs(t, s) {
		if id == "ol-"+k {
			n++
		}
	}
	return n
}

func TestDBHookErrorForOneCallOfABatch(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ctx := context.Background()
		hookEffects(t, db)
		s := newSink(t, clock)
		refusing := newSink(t, clock)
		refusing.setAnswer(func(protocol.Activity, []byte) string { return `{"resultCode":"000005","resultMsg":"down"}` })
		client := protocol.NewClient(protocol.Default, clock.Now, 32)
		defer client.HTTP.CloseIdleConnections()
		logs := &syncBuffer{}
		const lease = 2 * time.Minute
		h := &flakyHook{}
		e := delivery.New(db, client, targets{"prod-1": s.srv.URL, "prod-2": refusing.srv.URL}, h.hooks(), delivery.Config{
			Workers: 32, PerSellerInFlight: 32, Batch: 64, Lease: lease, Logger: slog.New(slog.NewTextHandler(logs, nil))})

		const calls = 20
		ids := make([]int64, calls)
		for i := range ids {
			c := newInstanceCall(fmt.Sprintf("batch-%d", i))
			if i == 3 {
				c.ProductID = "prod-2" // its seller refuses: it is retried, in the same batch
			}
			ids[i] = enqueue(t, db, c)
		}
		refused := ids[3]
		// The failing call comes last, so that the calls before it in the
		// batch are written, rolled back and written again alone.
		bad, badKey := ids[calls-1], fmt.Sprintf("batch-%d", calls-1)
		h.bad.Store(bad)
		h.failures.Store(2) // the batch's write and its own write fail

		if n, err := e.RunDue(ctx); n != calls || err != nil {
			t.Fatalf("RunDue() = %d, %v; want %d attempts in one batch", n, err, calls)
		}
		if h.ran.Load() != 2 {
			t.Fatalf("hook failed %d times, want 2 (the batch, then the call alone)", h.ran.Load())
		}
		done := effects(t, db)
		for _, id := range ids {
			if id == bad || id == refused {
				continue
			}
			if st, attempts := callState(t, db, id); st != delivery.Succeeded || attempts != 1 {
				t.Errorf("call %d of the batch: state = %s after %d attempts, want %s after 1", id, st, attempts, delivery.Succeeded)
			}
			if !done[id] {
				t.Errorf("call %d succeeded without its hook's effect", id)
			}
			m, err := delivery.GetMessage(ctx, db, id, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Attempts) != 1 || m.Attempts[0].N != 1 {
				t.Errorf("call %d: attempts numbered %v, want one numbered 1", id, attemptNumbers(m))
			}
		}
		// The refused call keeps the policy's schedule: first retry 10 s
		// after its one attempt.
		m, err := delivery.GetMessage(ctx, db, refused, "")
		if err != nil {
			t.Fatal(err)
		}
		retryAt := t0.Add(10 * time.Second)
		if m.Call.State != delivery.Retrying || m.Call.Attempts != 1 || !m.Call.NextAt.Equal(retryAt) {
			t.Errorf("refused call %d: state = %s after %d attempts, next at %v; want %s after 1, next at %v",
				refused, m.Call.State, m.Call.Attempts, m.Call.NextAt.Format(time.TimeOnly), delivery.Retrying, retryAt.Format(time.TimeOnly))
		}
		if len(m.Attempts) != 1 || m.Attempts[0].N != 1 || m.Attempts[0].Next != "retry at "+retryAt.Format(time.RFC3339) {
			next := ""
			if len(m.Attempts) > 0 {
				next = m.Attempts[0].Next
			}
			t.Errorf("refused call %d: attempts numbered %v, next %q; want one numbered 1, %q",
				refused, attemptNumbers(m), next, "retry at "+retryAt.Format(time.RFC3339))
		}
		// Its seller recovers; the retry succeeds.
		refusing.setAnswer(func(protocol.Activity, []byte) string { return healthyNewInstance })
		clock.Set(m.Call.NextAt) // checked above; go on from wherever it is
		if n, _ := e.RunDue(ctx); n != 1 {
			t.Fatalf("RunDue() at the retry = %d, want 1 (the refused call's retry)", n)
		}
		if st, _ := callState(t, db, refused); st != delivery.Succeeded {
			t.Fatalf("refused call after its retry: state = %s, want %s", st, delivery.Succeeded)
		}
		if len(done) != calls-2 || done[bad] {
			t.Errorf("hook effects for %d calls (failing one included: %v), want %d: all the succeeded calls but it", len(done), done[bad], calls-2)
		}
		// The failing call is not marked done: its outcome, attempt row
		// included, was rolled back with the hook; it stays leased.
		if st, attempts := callState(t, db, bad); st != delivery.InFlight || attempts != 0 {
			t.Fatalf("call with the failing hook: state = %s after %d attempts, want %s after 0", st, attempts, delivery.InFlight)
		}
		if n := attemptRows(t, db, bad); n != 0 {
			t.Fatalf("call with the failing hook: %d attempt rows, want 0 (rolled back)", n)
		}
		if !strings.Contains(logs.String(), "ledger unavailable") || !strings.Contains(logs.String(), fmt.Sprintf("call=%d", bad)) {
			t.Errorf("engine log does not report the failed write of call %d:\n%s", bad, logs.String())
		}

		// Not again while the lease runs.
		if n, _ := e.RunDue(ctx); n != 0 {
			t.Fatalf("RunDue() under the lease = %d, want 0", n)
		}
		clock.Set(t0.Add(lease - time.Second))
		if n, _ := e.RunDue(ctx); n != 0 {
			t.Fatalf("RunDue() 1 s before the lease ends = %d, want 0", n)
		}
		// Once the lease has run out it is sent again; the hook fails
		// once more, so it stays unfinished.
		h.failures.Store(1)
		clock.Set(t0.Add(lease + time.Millisecond))
		if n, _ := e.RunDue(ctx); n != 1 {
			t.Fatalf("RunDue() after the lease = %d, want 1", n)
		}
		if st, _ := callState(t, db, bad); st != delivery.InFlight {
			t.Fatalf("call with the failing hook: state = %s, want %s", st, delivery.InFlight)
		}
		// The hook recovers: the next delivery succeeds for good.
		clock.Advance(lease + time.Millisecond)
		if n, _ := e.RunDue(ctx); n != 1 {
			t.Fatalf("RunDue() after the second lease = %d, want 1", n)
		}
		if st, attempts := callState(t, db, bad); st != delivery.Succeeded || attempts != 1 {
			t.Fatalf("call with the recovered hook: state = %s after %d attempts, want %s after 1", st, attempts, delivery.Succeeded)
		}
		if done := effects(t, db); len(done) != calls || !done[bad] {
			t.Fatalf("hook effects for %d calls, want %d including call %d", len(done), calls, bad)
		}
		if n := receivedFor(t, s, badKey); n != 3 {
			t.Fatalf("seller received the failing call %d times, want 3", n)
		}
		if n := len(s.got()); n != calls-1+2 {
			t.Fatalf("seller received %d deliveries, want %d: a call of the batch was sent again", n, calls-1+2)
		}
	})
}

// A batch rolled back and written again result by result still counts
// each attempt once in souk_delivery_attempts_total: the metric counts
// attempts made, not attempts to write them.
func TestDBBatchRollbackCountsEachAttemptOnce(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		hookEffects(t, db)
		s := newSink(t, clock)
		client := protocol.NewClient(protocol.Default, clock.Now, 32)
		defer client.HTTP.CloseIdleConnections()
		reg := prometheus.NewRegistry()
		h := &flakyHook{}
		e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, h.hooks(), delivery.Config{
			Workers: 32, PerSellerInFlight: 32, Batch: 64, Logger: quietLog, Metrics: delivery.NewMetrics(reg, db)})
		const calls = 10
		var last int64
		for i := range calls {
			last = enqueue(t, db, newInstanceCall(fmt.Sprintf("metric-%d", i)))
		}
		h.bad.Store(last)
		h.failures.Store(2)
		if n, err := e.RunDue(context.Background()); n != calls || err != nil {
			t.Fatalf("RunDue() = %d, %v; want %d", n, err, calls)
		}
		if sent := len(s.got()); sent != calls {
			t.Fatalf("seller received %d calls, want %d", sent, calls)
		}
		got := testutil.ToFloat64(metricsAttempts(t, reg, "seller-1"))
		if got != calls {
			t.Fatalf("souk_delivery_attempts_total = %v after %d attempts, want %d (each attempt counted once)", got, calls, calls)
		}
	})
}

// The same through a started engine: the result writer batches what the
// workers hand it, falls back to one transaction per result, and the lease
// brings the failed call back.
func TestDBHookErrorInARunningEngine(t *testing.T) {
	storetest.Each(t, souk.SystemClock{}, func(t *testing.T, db *store.DB) {
		hookEffects(t, db)
		s := newSink(t, souk.SystemClock{})
		client := protocol.NewClient(protocol.Default, db.Clock().Now, 32)
		defer client.HTTP.CloseIdleConnections()
		h := &flakyHook{}
		const calls = 40
		ids := make([]int64, calls)
		for i := range ids {
			ids[i] = enqueue(t, db, newInstanceCall(fmt.Sprintf("run-%d", i)))
		}
		bad := ids[calls/2]
		h.bad.Store(bad)
		h.failures.Store(4) // two deliveries' worth, each failing in its batch and alone
		e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, h.hooks(), delivery.Config{
			Workers: 32, Batch: 64, Lease: time.Second, Poll: 20 * time.Millisecond, FlushEvery: 50 * time.Millisecond,
			Logger: quietLog})
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every call to succeed", 15*time.Second, func() bool { return countState(t, db, delivery.Succeeded) == calls })
		stopWithin(t, e, 10*time.Second)

		if done := effects(t, db); len(done) != calls {
			t.Fatalf("hook effects for %d calls, want %d", len(done), calls)
		}
		if h.ran.Load() < 2 {
			t.Fatalf("hook failed %d times, want at least 2", h.ran.Load())
		}
		seen := map[string]int{}
		for _, id := range lineIDs(t, s) {
			seen[id]++
		}
		for i, id := range ids {
			got := seen[fmt.Sprintf("ol-run-%d", i)]
			switch {
			case id == bad && got < 2:
				t.Errorf("call %d with the failing hook delivered %d times, want it sent again after its lease", id, got)
			case id != bad && got != 1:
				t.Errorf("call %d delivered %d times, want 1: a failing hook held back another call's result", id, got)
			}
		}
		for _, st := range []delivery.State{delivery.InFlight, delivery.Pending, delivery.Retrying} {
			if n := countState(t, db, st); n != 0 {
				t.Errorf("%d calls %s at the end, want 0", n, st)
			}
		}
	})
}

// slowCountingSink counts deliveries per orderId and answers after a
// delay, so that calls are in flight when the database goes away.
type slowCountingSink struct {
	srv   *httptest.Server
	delay time.Duration
	mu    sync.Mutex
	seen  map[string]int
	total int
}

func newSlowCountingSink(t *testing.T, delay time.Duration) *slowCountingSink {
	s := &slowCountingSink{delay: delay, seen: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req protocol.NewInstanceRequest
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &req)
		s.mu.Lock()
		s.seen[req.OrderID]++
		s.total++
		s.mu.Unlock()
		time.Sleep(s.delay)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, healthyNewInstance)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *slowCountingSink) counts() (distinct, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen), s.total
}

// dbDSN returns a fresh database's DSN for engine: an SQLite file, or a
// PostgreSQL schema.
func dbDSN(t *testing.T, engine string) string {
	if engine == "postgres" {
		return storetest.PostgresURL(t)
	}
	return filepath.Join(t.TempDir(), "souk.db")
}

func TestDBClosedUnderARunningEngine(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			const (
				calls   = 200
				workers = 16
			)
			ctx := context.Background()
			dsn := dbDSN(t, engine)
			db, err := store.Open(ctx, dsn, souk.SystemClock{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			enqueueMany(t, db, calls, 4, "prod-1")
			s := newSlowCountingSink(t, 20*time.Millisecond)
			client := protocol.NewClient(protocol.Default, souk.SystemClock{}.Now, workers)
			defer client.HTTP.CloseIdleConnections()
			logs := &syncBuffer{}
			cfg := delivery.Config{Workers: workers, PerSellerInFlight: 8, Lease: 2 * time.Second, Poll: 20 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(logs, nil))}
			e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{}, cfg)
			if err := e.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "deliveries under way", 10*time.Second, func() bool { d, _ := s.counts(); return d >= 30 })

			// The database goes away under the running engine.
			if err := db.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
			atClose, _ := s.counts()
			time.Sleep(300 * time.Millisecond) // claims and result writes fail meanwhile
			stopWithin(t, e, 15*time.Second)
			if !strings.Contains(logs.String(), "database is closed") {
				t.Errorf("the engine did not log the database errors:\n%s", lastLines(logs.String(), 10))
			}
			afterStop, _ := s.counts()
			t.Logf("%d calls delivered when the database closed, %d when the engine stopped", atClose, afterStop)

			// A fresh engine on the same database delivers everything.
			db2, err := store.Open(ctx, dsn, souk.SystemClock{})
			if err != nil {
				t.Fatal(err)
			}
			defer db2.Close()
			e2 := delivery.New(db2, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{}, cfg)
			if err := e2.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "every call to succeed", 15*time.Second, func() bool { return countState(t, db2, delivery.Succeeded) == calls })
			stopWithin(t, e2, 10*time.Second)

			distinct, total := s.counts()
			t.Logf("%d deliveries of %d calls", total, distinct)
			if distinct != calls {
				t.Fatalf("seller received %d distinct calls, want %d: calls were lost", distinct, calls)
			}
			// Only calls whose outcome could not be written are sent twice:
			// at most what was in flight when the database closed.
			if dup := total - distinct; dup > workers {
				t.Fatalf("%d duplicate deliveries, more than the %d calls that can be in flight", dup, workers)
			}
			if n := countState(t, db2, delivery.InFlight); n != 0 {
				t.Fatalf("%d calls in_flight at the end, want 0", n)
			}
		})
	}
}

// PostgreSQL only: the server kills the engine's connections several times
// while it runs. The engine must carry on by itself, without a restart.
func TestDBConnectionsKilledUnderARunningEngine(t *testing.T) {
	const (
		calls   = 300
		workers = 16
	)
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	app := "souk-dberror-" + hex.EncodeToString(b)
	dsn := storetest.PostgresURL(t) + "&application_name=" + app
	db, err := store.Open(ctx, dsn, souk.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	admin, err := sql.Open("pgx", os.Getenv("SOUK_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	enqueueMany(t, db, calls, 4, "prod-1")
	s := newSlowCountingSink(t, 10*time.Millisecond)
	client := protocol.NewClient(protocol.Default, souk.SystemClock{}.Now, workers)
	defer client.HTTP.CloseIdleConnections()
	logs := &syncBuffer{}
	e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{}, delivery.Config{
		Workers: workers, PerSellerInFlight: 8, Lease: 2 * time.Second, Poll: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	killed := 0
	for range 5 {
		waitFor(t, "deliveries under way", 10*time.Second, func() bool { _, n := s.counts(); return n > killed*30 })
		var n int
		err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		killed++
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, "every call to succeed", 15*time.Second, func() bool { return countState(t, db, delivery.Succeeded) == calls })
	stopWithin(t, e, 10*time.Second)
	distinct, total := s.counts()
	t.Logf("%d deliveries of %d calls across %d kills; engine log has %d lines", total, distinct, killed, strings.Count(logs.String(), "\n"))
	if distinct != calls {
		t.Fatalf("seller received %d distinct calls, want %d: calls were lost", distinct, calls)
	}
	if n := countState(t, db, delivery.InFlight); n != 0 {
		t.Fatalf("%d calls in_flight at the end, want 0", n)
	}
}
