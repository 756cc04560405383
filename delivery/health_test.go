package delivery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// Health counts each seller's calls and attempts of the window, its
// success rate and latencies, and what waits for it now.
func TestHealthPerSeller(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ctx := context.Background()
		s := newSink(t, clock)
		s.setAnswer(func(_ protocol.Activity, body []byte) string {
			if strings.Contains(string(body), "bad-") {
				return `{"resultCode":"000005","resultMsg":"down"}`
			}
			return `{"resultCode":"000000","resultMsg":"ok"}`
		})
		e := newEngine(t, db, s, &hookLog{})
		call := func(seller, key string) delivery.NewCall {
			return delivery.NewCall{SellerID: seller, ProductID: "prod-1", Key: key,
				Request: &protocol.ReleaseInstanceRequest{InstanceID: key}, Policy: delivery.Once}
		}
		enqueue(t, db, call("seller-a", "ok-1"))
		enqueue(t, db, call("seller-a", "ok-2"))
		enqueue(t, db, call("seller-a", "bad-1"))
		enqueue(t, db, call("seller-b", "bad-2"))
		runSchedule(t, e, clock)
		enqueue(t, db, call("seller-c", "ok-3")) // waiting

		hs, err := delivery.Health(ctx, db, t0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 3 {
			t.Fatalf("Health() = %+v, want 3 sellers", hs)
		}
		a, b, c := hs[0], hs[1], hs[2]
		if a.SellerID != "seller-a" || a.Calls != 3 || a.Succeeded != 2 || a.Attempts != 3 || a.FailedAttempts != 1 ||
			a.Backlog != 0 || a.Exhausted != 1 || a.LatencyP95 < a.LatencyP50 {
			t.Errorf("seller-a = %+v", a)
		}
		if r := a.SuccessRate(); r < 0.66 || r > 0.67 {
			t.Errorf("seller-a success rate = %v, want 2/3", r)
		}
		if b.SellerID != "seller-b" || b.Calls != 1 || b.Attempts != 1 || b.FailedAttempts != 1 || b.SuccessRate() != 0 || b.Exhausted != 1 {
			t.Errorf("seller-b = %+v", b)
		}
		if c.SellerID != "seller-c" || c.Calls != 1 || c.Attempts != 0 || c.Backlog != 1 || c.SuccessRate() != 1 {
			t.Errorf("seller-c = %+v", c)
		}

		// A window after everything: only what is waiting or exhausted now.
		hs, err = delivery.Health(ctx, db, clock.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			if h.Calls != 0 || h.Attempts != 0 {
				t.Errorf("later window: %+v, want no calls or attempts", h)
			}
		}
		if len(hs) != 3 || hs[2].Backlog != 1 || hs[0].Exhausted != 1 {
			t.Errorf("later window = %+v", hs)
		}
	})
}
