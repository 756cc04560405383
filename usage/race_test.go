package usage_test

import (
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/usage"
)

// Defects a review found, kept as tests.

// Two Bills at once — a job whose lease ran out under it, and the next
// node's — charge each record once. On PostgreSQL the buyer's balance row
// is held meanwhile, as a concurrent purchase would, so both Bills have
// read the records before either posts.
func TestConcurrentBillsChargeOnce(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		id := e.bought(t, b, e.product, "meter", "m-1")
		rates, err := usage.SellerRates(ctx, e.db, e.seller.SellerID)
		must(t, err)
		e.clock.Set(t0.Add(time.Hour))
		must(t, e.db.Tx(ctx, func(tx *store.Tx) error {
			_, err := usage.Push(ctx, tx, e.seller.SellerID, rates, []usage.Record{{InstanceID: id, MeteringSN: "sn-1",
				Begin: t0, End: t0.Add(30 * time.Minute), Quantity: 100 * usage.QuantityScale}})
			return err
		}))
		if owed, err := usage.OwedTotals(ctx, e.db, b.UserID); err != nil || len(owed) != 1 || owed[0] != settle.M(15000, "CNY") {
			t.Fatalf("owed before billing = %v, %v; want 150.00 CNY", owed, err)
		}
		release := func() {}
		if e.db.Engine() == store.Postgres {
			hold, err := e.db.SQL().BeginTx(ctx, nil)
			must(t, err)
			_, err = hold.ExecContext(ctx, `SELECT balance FROM ledger_balances WHERE account = $1 FOR UPDATE`, settle.BuyerBalance(b.UserID))
			must(t, err)
			release = func() { must(t, hold.Commit()) }
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if _, err := usage.Bill(ctx, e.db, e.clock.Now()); err != nil {
					t.Errorf("Bill: %v", err)
				}
			})
		}
		time.Sleep(200 * time.Millisecond)
		release()
		wg.Wait()
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-15000 {
			t.Fatalf("buyer balance %d, want %d: one record of 150.00 charged once", got, 100000-15000)
		}
		if owed, err := usage.OwedTotals(ctx, e.db, b.UserID); err != nil || len(owed) != 0 {
			t.Fatalf("owed after billing = %v, %v; want nothing", owed, err)
		}
		must(t, settle.CheckInvariant(ctx, e.db))
	})
}

// Usage after the buyer unsubscribed is refused, whole batch, nothing
// stored; usage up to the release is still accepted.
func TestUsageAfterReleaseRefused(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		id := e.bought(t, b, e.product, "meter", "m-1")
		e.clock.Set(t0.Add(time.Hour))
		_, err := order.UnsubscribeInstance(ctx, e.db, noCalls{}, b, order.UnsubscribeRequest{InstanceID: id})
		must(t, err)
		e.clock.Set(t0.Add(30 * 24 * time.Hour))
		rates, err := usage.SellerRates(ctx, e.db, e.seller.SellerID)
		must(t, err)
		push := func(sn string, begin, end time.Time) error {
			return e.db.Tx(ctx, func(tx *store.Tx) error {
				_, err := usage.Push(ctx, tx, e.seller.SellerID, rates, []usage.Record{{InstanceID: "m-1", MeteringSN: sn,
					Begin: begin, End: end, Quantity: 5 * usage.QuantityScale}})
				return err
			})
		}
		if err := push("after", t0.Add(10*24*time.Hour), t0.Add(29*24*time.Hour)); souk.ErrorCode(err) != souk.EINVALID {
			t.Fatalf("usage after the release = %v, want EINVALID", err)
		}
		must(t, push("before", t0, t0.Add(30*time.Minute)))
		var n int
		must(t, e.db.SQL().QueryRow(`SELECT count(*) FROM usage_records`).Scan(&n))
		if n != 1 {
			t.Fatalf("%d records stored, want only the one before the release", n)
		}
	})
}
