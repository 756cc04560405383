package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

const key = "test-access-key"

// sink is a real seller endpoint on 127.0.0.1 that verifies signatures and
// answers each activity as told, recording what it received and when (on
// the fake clock).
type sink struct {
	t        *testing.T
	clock    souk.Clock
	verifier *protocol.Verifier
	srv      *httptest.Server

	mu       sync.Mutex
	answer   func(a protocol.Activity, body []byte) string // JSON answer
	received []received
}

type received struct {
	Activity protocol.Activity
	At       time.Time
	Body     string
}

func newSink(t *testing.T, clock souk.Clock) *sink {
	s := &sink{t: t, clock: clock, verifier: protocol.NewVerifier(protocol.Default, clock.Now, key)}
	s.answer = func(a protocol.Activity, _ []byte) string {
		if a == protocol.NewInstance {
			return `{"resultCode":"000000","resultMsg":"ok","instanceId":"ins-1","appInfo":{"frontEndUrl":"https://app.example/ins-1"}}`
		}
		return `{"resultCode":"000000","resultMsg":"ok"}`
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := s.verifier.VerifyQuery(r.URL.Query(), body); err != nil {
		s.t.Errorf("sink: %v", err)
	}
	var probe struct{ Activity protocol.Activity }
	json.Unmarshal(body, &probe)
	s.mu.Lock()
	s.received = append(s.received, received{probe.Activity, s.clock.Now(), string(body)})
	answer := s.answer
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, answer(probe.Activity, body))
}

func (s *sink) setAnswer(f func(a protocol.Activity, body []byte) string) {
	s.mu.Lock()
	s.answer = f
	s.mu.Unlock()
}

func (s *sink) got() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.received...)
}

type targets map[string]string // product → URL

func (ts targets) Target(_ context.Context, _, product string) (protocol.Target, error) {
	u, ok := ts[product]
	if !ok {
		return protocol.Target{}, fmt.Errorf("no product %s", product)
	}
	return protocol.Target{URL: u, AccessKey: key, Timeout: 5 * time.Second}, nil
}

type hookLog struct {
	mu                           sync.Mutex
	succeeded, exhausted, failed []string
}

func (h *hookLog) hooks() delivery.Hooks {
	return delivery.Hooks{
		Succeeded: func(_ context.Context, _ *store.Tx, c *delivery.Call, o *protocol.Outcome) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.succeeded = append(h.succeeded, fmt.Sprintf("%d:%s:%s", c.ID, c.Activity, o.Activity))
			return nil
		},
		Exhausted: func(_ context.Context, _ *store.Tx, c *delivery.Call) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.exhausted = append(h.exhausted, fmt.Sprintf("%d:%s", c.ID, c.Activity))
			return nil
		},
		Failed: func(_ context.Context, _ *store.Tx, c *delivery.Call, stage int) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.failed = append(h.failed, fmt.Sprintf("%d:stage%d", c.ID, stage))
			return nil
		},
	}
}

func newEngine(t *testing.T, db *store.DB, s *sink, h *hookLog) *delivery.Engine {
	client := protocol.NewClient(protocol.Default, db.Clock().Now, 8)
	return delivery.New(db, client, targets{"prod-1": s.srv.URL, "prod-2": s.srv.URL}, h.hooks(), delivery.Config{Workers: 8})
}

func enqueue(t *testing.T, db *store.DB, c delivery.NewCall) int64 {
	t.Helper()
	var id int64
	err := db.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		id, err = delivery.Enqueue(context.Background(), tx, c)
		return err
	})
	if err != nil {
		t.Fatalf("Enqueue() = %v", err)
	}
	return id
}

// runSchedule delivers everything on the fake clock: it runs what is due,
// then moves the clock to the next due time, until nothing waits.
func runSchedule(t *testing.T, e *delivery.Engine, clock *souk.FakeClock) {
	t.Helper()
	ctx := context.Background()
	for range 10000 {
		if _, err := e.RunDue(ctx); err != nil {
			t.Fatalf("RunDue() = %v", err)
		}
		at, ok, err := e.NextDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		if at.After(clock.Now()) {
			clock.Set(at)
		}
	}
	t.Fatal("schedule did not end")
}

func callState(t *testing.T, db *store.DB, id int64) (delivery.State, int) {
	t.Helper()
	var state string
	var attempts int
	if err := db.SQL().QueryRow(`SELECT state, attempts FROM delivery_calls WHERE id = $1`, id).Scan(&state, &attempts); err != nil {
		t.Fatal(err)
	}
	return delivery.State(state), attempts
}

func newInstanceCall(key string) delivery.NewCall {
	return delivery.NewCall{SellerID: "seller-1", ProductID: "prod-1", Key: key, Policy: delivery.NewPurchase,
		Request: &protocol.NewInstanceRequest{BusinessID: "b-" + key, OrderID: "o-" + key, OrderLineID: "ol-" + key}}
}

// expectedTimes returns the attempt offsets a policy gives a seller that
// always fails, computed from the spec's numbers rather than from Policy.
func expectedTimes(first []time.Duration, every, limit time.Duration, maxAttempts int) []time.Duration {
	at := time.Duration(0)
	times := []time.Duration{0}
	for i := 0; ; i++ {
		d := every
		if i < len(first) {
			d = first[i]
		}
		at += d
		if (limit > 0 && at > limit) || (maxAttempts > 0 && len(times) >= maxAttempts) {
			return times
		}
		times = append(times, at)
	}
}

func TestPolicySchedulesAgainstFailingSeller(t *testing.T) {
	tests := []struct {
		policy   delivery.Policy
		activity protocol.Request
		want     []time.Duration
		final    delivery.State
	}{
		{delivery.NewPurchase, &protocol.NewInstanceRequest{BusinessID: "b", OrderID: "o", OrderLineID: "l"},
			expectedTimes([]time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute}, 10*time.Minute, 3*time.Hour, 0),
			delivery.Exhausted},
		{delivery.Renewal, &protocol.RefreshInstanceRequest{Scene: protocol.SceneRenewal, OrderID: "o", OrderLineID: "l", InstanceID: "i", ExpireTime: "20271130120000"},
			expectedTimes([]time.Duration{10 * time.Second}, 2*time.Minute, time.Hour, 0), delivery.Exhausted},
		{delivery.License, &protocol.ReleaseLicenseCodeRequest{License: "LIC-1"},
			expectedTimes(nil, 2*time.Minute, 0, 60), delivery.Exhausted},
		{delivery.Once, &protocol.RefreshInstanceRequest{Scene: protocol.SceneRenewal, OrderID: "o", OrderLineID: "l", InstanceID: "i", ExpireTime: "20271130120000"},
			[]time.Duration{0}, delivery.Exhausted},
		{delivery.KitBuyer, &protocol.ReleaseInstanceRequest{InstanceID: "i"}, []time.Duration{0}, delivery.AwaitingDecision},
		{delivery.KitAdmin, &protocol.ReleaseInstanceRequest{InstanceID: "i"}, []time.Duration{0}, delivery.AwaitingDecision},
	}
	// The spec's own counts, as a check on expectedTimes itself.
	if n := len(tests[2].want); n != 60 {
		t.Fatalf("licence schedule has %d attempts, want 60", n)
	}
	if last := tests[1].want[len(tests[1].want)-1]; last > time.Hour || last < time.Hour-2*time.Minute {
		t.Fatalf("renewal schedule ends at %v, want within the last 2 min of 1 h", last)
	}
	for _, tt := range tests {
		t.Run(tt.policy.Name, func(t *testing.T) {
			clock := souk.NewFakeClock(t0)
			storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
				clock.Set(t0)
				s := newSink(t, clock)
				s.setAnswer(func(protocol.Activity, []byte) string { return `{"resultCode":"000005","resultMsg":"down"}` })
				h := &hookLog{}
				e := newEngine(t, db, s, h)
				id := enqueue(t, db, delivery.NewCall{SellerID: "s", ProductID: "prod-1", Key: "k", Request: tt.activity, Policy: tt.policy})
				runSchedule(t, e, clock)

				got := s.got()
				if len(got) != len(tt.want) {
					t.Fatalf("seller received %d attempts, want %d", len(got), len(tt.want))
				}
				for i, r := range got {
					if off := r.At.Sub(t0); off != tt.want[i] {
						t.Fatalf("attempt %d at +%v, want +%v", i+1, off, tt.want[i])
					}
				}
				state, attempts := callState(t, db, id)
				if state != tt.final || attempts != len(tt.want) {
					t.Fatalf("call = %s after %d attempts, want %s after %d", state, attempts, tt.final, len(tt.want))
				}
				wantExhausted := 0
				if tt.final == delivery.Exhausted {
					wantExhausted = 1
				}
				if len(h.exhausted) != wantExhausted {
					t.Fatalf("exhausted hook ran %d times, want %d", len(h.exhausted), wantExhausted)
				}
				// One notice per stage: the first failure, then the end.
				wantNotices := []string{fmt.Sprintf("%d:stage1", id), fmt.Sprintf("%d:stage2", id)}
				if len(tt.want) == 1 {
					wantNotices = wantNotices[1:]
				}
				if fmt.Sprint(h.failed) != fmt.Sprint(wantNotices) {
					t.Fatalf("failure notices = %v, want %v", h.failed, wantNotices)
				}
			})
		})
	}
}

func TestSuccessAndAsyncProvisioning(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		s := newSink(t, clock)
		polls := 0
		s.setAnswer(func(a protocol.Activity, body []byte) string {
			switch a {
			case protocol.NewInstance:
				return `{"resultCode":"000004","resultMsg":"accepted","instanceId":"ins-9"}`
			case protocol.QueryInstance:
				polls++
				if polls < 3 {
					return `{"resultCode":"000000","resultMsg":"ok","info":[{"instanceId":"ins-9"}]}`
				}
				return `{"resultCode":"000000","resultMsg":"ok","info":[{"instanceId":"ins-9","appInfo":{"frontEndUrl":"https://x"}}]}`
			}
			return `{"resultCode":"000000","resultMsg":"ok"}`
		})
		h := &hookLog{}
		e := newEngine(t, db, s, h)
		id := enqueue(t, db, newInstanceCall("ins-a"))
		runSchedule(t, e, clock)
		var acts []protocol.Activity
		for _, r := range s.got() {
			acts = append(acts, r.Activity)
		}
		if fmt.Sprint(acts) != "[newInstance queryInstance queryInstance queryInstance]" {
			t.Fatalf("seller received %v, want newInstance then 3 polls", acts)
		}
		if state, _ := callState(t, db, id); state != delivery.Succeeded {
			t.Fatalf("call state = %s, want succeeded", state)
		}
		if want := fmt.Sprintf("[%d:newInstance:queryInstance]", id); fmt.Sprint(h.succeeded) != want {
			t.Fatalf("succeeded hook = %v, want %s", h.succeeded, want)
		}
		if len(h.failed) != 0 {
			t.Fatalf("polling raised failure notices %v", h.failed)
		}
	})
}

func TestPerKeyOrderAndSupersession(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		s := newSink(t, clock)
		failing := true
		s.setAnswer(func(a protocol.Activity, body []byte) string {
			if a == protocol.RefreshInstance && failing {
				return `{"resultCode":"000005","resultMsg":"down"}`
			}
			return `{"resultCode":"000000","resultMsg":"ok"}`
		})
		e := newEngine(t, db, s, &hookLog{})
		ctx := context.Background()
		refresh := &protocol.RefreshInstanceRequest{Scene: protocol.SceneRenewal, OrderID: "o", OrderLineID: "l", InstanceID: "i", ExpireTime: "20271130120000"}
		freeze := &protocol.UpdateInstanceStatusRequest{InstanceID: "i", Status: protocol.StatusFreeze}
		first := enqueue(t, db, delivery.NewCall{SellerID: "s", ProductID: "prod-1", Key: "i", Request: refresh, Policy: delivery.Renewal})
		second := enqueue(t, db, delivery.NewCall{SellerID: "s", ProductID: "prod-1", Key: "i", Request: freeze, Policy: delivery.Renewal})
		other := enqueue(t, db, delivery.NewCall{SellerID: "s", ProductID: "prod-1", Key: "j", Request: freeze, Policy: delivery.Renewal})

		e.RunDue(ctx)
		clock.Advance(5 * time.Minute)
		e.RunDue(ctx)
		for _, r := range s.got() {
			if r.Activity == protocol.UpdateInstanceStatus && r.Body == mustEncode(t, freeze) {
				// Only the other key's freeze may have gone: the first
				// call of key i is still being retried.
				if st, _ := callState(t, db, second); st != delivery.Pending {
					t.Fatalf("second call of key i = %s while the first is retrying, want pending", st)
				}
			}
		}
		if st, _ := callState(t, db, other); st != delivery.Succeeded {
			t.Fatalf("call of another key = %s, want succeeded (keys are independent)", st)
		}
		if st, n := callState(t, db, first); st != delivery.Retrying || n < 2 {
			t.Fatalf("first call = %s after %d attempts, want retrying", st, n)
		}

		// A release supersedes the queued refresh and freeze.
		release := enqueue(t, db, delivery.NewCall{SellerID: "s", ProductID: "prod-1", Key: "i",
			Request: &protocol.ReleaseInstanceRequest{InstanceID: "i"}, Policy: delivery.Renewal,
			Supersedes: []protocol.Activity{protocol.RefreshInstance, protocol.UpdateInstanceStatus}})
		runSchedule(t, e, clock)
		for id, want := range map[int64]delivery.State{first: delivery.Superseded, second: delivery.Superseded, release: delivery.Succeeded} {
			if st, _ := callState(t, db, id); st != want {
				t.Fatalf("call %d = %s, want %s", id, st, want)
			}
		}
		var seq []protocol.Activity
		for _, r := range s.got() {
			if r.Activity != protocol.RefreshInstance {
				seq = append(seq, r.Activity)
			}
		}
		if fmt.Sprint(seq) != "[updateInstanceStatus releaseInstance]" {
			t.Fatalf("seller received (besides refresh attempts) %v, want the other key's freeze then the release", seq)
		}
	})
}

func mustEncode(t *testing.T, r protocol.Request) string {
	b, err := protocol.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLeaseRecoveryAfterNodeDies(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		s := newSink(t, clock)
		client := protocol.NewClient(protocol.Default, clock.Now, 8)
		ts := targets{"prod-1": s.srv.URL}
		id := enqueue(t, db, newInstanceCall("x"))
		// Node A claims the call and dies before sending it.
		dead := delivery.New(db, client, ts, delivery.Hooks{}, delivery.Config{Node: "a", Lease: time.Minute})
		if n := delivery.ClaimForTest(t, dead, 10); n != 1 {
			t.Fatalf("node a claimed %d calls, want 1", n)
		}
		live := delivery.New(db, client, ts, delivery.Hooks{}, delivery.Config{Node: "b", Lease: time.Minute})
		if n, _ := live.RunDue(context.Background()); n != 0 {
			t.Fatalf("node b took %d calls under a live lease, want 0", n)
		}
		clock.Advance(time.Minute + time.Millisecond)
		if n, _ := live.RunDue(context.Background()); n != 1 {
			t.Fatalf("node b took %d calls after the lease ran out, want 1", n)
		}
		if st, n := callState(t, db, id); st != delivery.Succeeded || n != 1 {
			t.Fatalf("call = %s after %d attempts, want succeeded after 1", st, n)
		}
	})
}

func TestEngineDeliversEverythingInBackground(t *testing.T) {
	storetest.Each(t, souk.SystemClock{}, func(t *testing.T, db *store.DB) {
		s := newSink(t, souk.SystemClock{})
		client := protocol.NewClient(protocol.Default, db.Clock().Now, 8)
		reg := prometheus.NewRegistry()
		metrics := delivery.NewMetrics(reg, db)
		e := delivery.New(db, client, targets{"prod-1": s.srv.URL, "prod-2": s.srv.URL}, delivery.Hooks{},
			delivery.Config{Workers: 16, PerSellerInFlight: 4, Poll: 50 * time.Millisecond, Metrics: metrics})
		ctx := context.Background()
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		const n = 300
		for i := range n {
			err := db.Tx(ctx, func(tx *store.Tx) error {
				c := newInstanceCall(fmt.Sprintf("k%d", i%50)) // 50 keys, 6 calls each, in order
				c.SellerID = fmt.Sprintf("seller-%d", i%3)
				c.Request.(*protocol.NewInstanceRequest).OrderLineID = fmt.Sprint(i)
				_, err := e.Enqueue(ctx, tx, c)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(s.got()) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		e.Stop()
		got := s.got()
		if len(got) != n {
			t.Fatalf("seller received %d calls, want %d", len(got), n)
		}
		// Per key, calls (numbered by orderLineId) arrive in enqueue order.
		last := map[string]int{}
		for _, r := range got {
			var req protocol.NewInstanceRequest
			json.Unmarshal([]byte(r.Body), &req)
			var b int
			fmt.Sscan(req.OrderLineID, &b)
			if prev, ok := last[req.OrderID]; ok && b < prev {
				t.Fatalf("key %s: call %d arrived after %d", req.OrderID, b, prev)
			}
			last[req.OrderID] = b
		}
		var pending int
		db.SQL().QueryRow(`SELECT count(*) FROM delivery_calls WHERE state <> 'succeeded'`).Scan(&pending)
		if pending != 0 {
			t.Fatalf("%d calls not succeeded after Stop", pending)
		}
		const want = `
# HELP souk_delivery_calls Calls not yet finished, and finished calls that need attention, by state.
# TYPE souk_delivery_calls gauge
souk_delivery_calls{state="awaiting_decision"} 0
souk_delivery_calls{state="exhausted"} 0
souk_delivery_calls{state="in_flight"} 0
souk_delivery_calls{state="pending"} 0
souk_delivery_calls{state="retrying"} 0
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "souk_delivery_calls"); err != nil {
			t.Fatal(err)
		}
		var attempts float64
		for _, seller := range []string{"seller-0", "seller-1", "seller-2"} {
			attempts += testutil.ToFloat64(metricsAttempts(t, reg, seller))
		}
		if attempts != n {
			t.Fatalf("souk_delivery_attempts_total = %v, want %d", attempts, n)
		}
	})
}

// metricsAttempts returns the success counter of seller from reg.
func metricsAttempts(t *testing.T, reg *prometheus.Registry, seller string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
	for _, mf := range mfs {
		if mf.GetName() != "souk_delivery_attempts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "seller" && l.GetValue() == seller {
					c.Add(m.GetCounter().GetValue())
				}
			}
		}
	}
	return c
}

// Every newInstance attempt carries a new businessId (§3); orderId and
// orderLineId, by which the seller recognises the purchase, stay the same.
func TestNewInstanceAttemptsCarryNewBusinessIDs(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		s := newSink(t, clock)
		s.setAnswer(func(protocol.Activity, []byte) string { return `{"resultCode":"000005","resultMsg":"down"}` })
		e := newEngine(t, db, s, &hookLog{})
		enqueue(t, db, newInstanceCall("biz"))
		e.RunDue(context.Background())
		clock.Advance(10 * time.Second)
		e.RunDue(context.Background())
		got := s.got()
		if len(got) != 2 {
			t.Fatalf("seller received %d attempts, want 2", len(got))
		}
		var a, b protocol.NewInstanceRequest
		json.Unmarshal([]byte(got[0].Body), &a)
		json.Unmarshal([]byte(got[1].Body), &b)
		if a.BusinessID == "" || a.BusinessID == b.BusinessID || a.BusinessID == "b-biz" {
			t.Fatalf("businessIds %q and %q, want two new ones", a.BusinessID, b.BusinessID)
		}
		if a.OrderID != "o-biz" || b.OrderID != "o-biz" || a.OrderLineID != b.OrderLineID {
			t.Fatalf("attempts changed the order: %+v then %+v", a, b)
		}
	})
}
