package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// Claims walk a seller's calls from where the last claim stopped; a call
// that turns up behind that point (a transaction that committed late with
// an earlier time) must still be delivered.
func TestClaimFindsCallsBehindItsMark(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		s := newSink(t, clock)
		client := protocol.NewClient(protocol.Default, clock.Now, 1)
		e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{}, delivery.Config{Workers: 1, PerSellerInFlight: 1})
		first := enqueue(t, db, newInstanceCall("a"))
		enqueue(t, db, newInstanceCall("b"))
		if n := delivery.ClaimAndSendForTest(t, e); n != 1 {
			t.Fatalf("first claim sent %d calls, want 1", n)
		}
		late := enqueue(t, db, newInstanceCall("late"))
		if _, err := db.SQL().Exec(`UPDATE delivery_calls SET next_at = $1 WHERE id = $2`, store.Millis(t0.Add(-time.Minute)), late); err != nil {
			t.Fatal(err)
		}
		if _, err := e.RunDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{first, late} {
			if st, _ := callState(t, db, id); st != delivery.Succeeded {
				t.Fatalf("call %d = %s, want succeeded", id, st)
			}
		}
		if got := len(s.got()); got != 3 {
			t.Fatalf("seller received %d calls, want 3", got)
		}
	})
}
