package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// The crash and two-node tests run the engine as separate processes: this
// test binary started again with SOUK_DELIVERY_CHILD set runs an engine
// against the database and sink named in its environment until it is
// signalled (SIGTERM: graceful stop) or killed (SIGKILL: a crash).

func TestMain(m *testing.M) {
	if os.Getenv("SOUK_DELIVERY_CHILD") != "" {
		os.Exit(runChildEngine())
	}
	os.Exit(m.Run())
}

const childWorkers = 32

func runChildEngine() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	db, err := store.Open(ctx, os.Getenv("SOUK_DELIVERY_DSN"), souk.SystemClock{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	defer db.Close()
	client := protocol.NewClient(protocol.Default, db.Clock().Now, childWorkers)
	e := delivery.New(db, client, targets{"prod-1": os.Getenv("SOUK_DELIVERY_SINK")}, delivery.Hooks{}, delivery.Config{
		Node: os.Getenv("SOUK_DELIVERY_NODE"), Workers: childWorkers, PerSellerInFlight: 8,
		Lease: 5 * time.Second, Poll: 100 * time.Millisecond,
	})
	if err := e.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Println("engine started")
	<-ctx.Done()
	e.Stop()
	return 0
}

// countingSink is a seller endpoint that counts every delivery of every
// call by the call's orderId (its businessId is new on every attempt).
type countingSink struct {
	srv   *httptest.Server
	mu    sync.Mutex
	seen  map[string]int
	total int
}

func newCountingSink(t *testing.T) *countingSink {
	s := &countingSink{seen: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req protocol.NewInstanceRequest
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &req)
		s.mu.Lock()
		s.seen[req.OrderID]++
		s.total++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"resultCode":"000000","resultMsg":"ok","instanceId":"i-%s","appInfo":{"frontEndUrl":"https://x/%s"}}`, req.OrderID, req.OrderID)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *countingSink) counts() (distinct, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen), s.total
}

func startChild(t *testing.T, dsn, sink, node string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SOUK_DELIVERY_CHILD=1", "SOUK_DELIVERY_DSN="+dsn, "SOUK_DELIVERY_SINK="+sink, "SOUK_DELIVERY_NODE="+node)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countState(t *testing.T, db *store.DB, state delivery.State) int {
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM delivery_calls WHERE state = $1`, string(state)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// stopChild sends SIGTERM and checks the engine stops cleanly.
func stopChild(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("engine process after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("engine process did not stop within 30 s of SIGTERM")
	}
}

const processCalls = 10_000

func TestCrashKillRestartLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and delivers 10,000 calls twice")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "souk.db")
			if engine == "postgres" {
				dsn = storetest.PostgresURL(t)
			}
			db, err := store.Open(context.Background(), dsn, souk.SystemClock{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			enqueueMany(t, db, processCalls, 10, "prod-1")
			sink := newCountingSink(t)

			first := startChild(t, dsn, sink.srv.URL, "first")
			waitFor(t, "a third of the calls", 120*time.Second, func() bool { d, _ := sink.counts(); return d >= processCalls/3 })
			first.Process.Kill() // SIGKILL: no chance to finish or release anything
			first.Wait()
			inFlight := countState(t, db, delivery.InFlight)
			atKill, _ := sink.counts()

			second := startChild(t, dsn, sink.srv.URL, "second")
			waitFor(t, "every call to succeed", 180*time.Second, func() bool { return countState(t, db, delivery.Succeeded) == processCalls })
			stopChild(t, second)

			distinct, total := sink.counts()
			t.Logf("killed after %d delivered with %d in flight; %d deliveries in all, %d duplicates", atKill, inFlight, total, total-distinct)
			if distinct != processCalls {
				t.Fatalf("sink saw %d distinct calls, want %d: calls were lost", distinct, processCalls)
			}
			if dup := total - distinct; dup > inFlight {
				t.Fatalf("%d duplicate deliveries, more than the %d calls in flight at the kill", dup, inFlight)
			}
		})
	}
}

func TestTwoNodesShareOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and delivers 10,000 calls")
	}
	dsn := storetest.PostgresURL(t)
	db, err := store.Open(context.Background(), dsn, souk.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	enqueueMany(t, db, processCalls, 10, "prod-1")
	sink := newCountingSink(t)
	a := startChild(t, dsn, sink.srv.URL, "node-a")
	b := startChild(t, dsn, sink.srv.URL, "node-b")
	waitFor(t, "every call to succeed", 180*time.Second, func() bool { return countState(t, db, delivery.Succeeded) == processCalls })
	stopChild(t, a)
	stopChild(t, b)

	distinct, total := sink.counts()
	if distinct != processCalls || total != processCalls {
		t.Fatalf("sink saw %d distinct calls in %d deliveries, want %d exactly once each", distinct, total, processCalls)
	}
	byNode := map[string]int{}
	rows, err := db.SQL().Query(`SELECT node, count(*) FROM delivery_attempts GROUP BY node`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var node string
		var n int
		rows.Scan(&node, &n)
		byNode[node] = n
	}
	t.Logf("attempts by node: %v", byNode)
	if byNode["node-a"] == 0 || byNode["node-b"] == 0 || byNode["node-a"]+byNode["node-b"] != processCalls {
		t.Fatalf("attempts by node = %v, want both nodes sharing %d", byNode, processCalls)
	}
}
