package order_test

import (
	"slices"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/settle"
)

// Renewal → refreshInstance RENEWAL with the new expiry, behind the
// instance's newInstance; the money moves once more.
func TestRenewalRefreshesTheInstance(t *testing.T) {
	each(t, sellerOpts{}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic"}))
		instID := o.Lines[0].InstanceID

		// Not before it is active.
		wantCode(t, "RenewInstance(provisioning)", errOf(order.RenewInstance(ctx, e.db, e.engine, b,
			order.RenewRequest{InstanceID: instID})), souk.ECONFLICT)
		e.drive(t, time.Hour)

		e.clock.Advance(10 * 24 * time.Hour)
		r := mustValue[order.Order](t)(order.RenewInstance(ctx, e.db, e.engine, b, order.RenewRequest{InstanceID: instID, Periods: 2, IdempotencyKey: "renew-1"}))
		if r.Type != order.Renew || r.State != order.Paid || r.Amount != settle.M(19800, "CNY") || r.Lines[0].InstanceID != instID {
			t.Fatalf("RenewInstance() = %+v, want a paid RENEW of 198.00 CNY for the instance", r)
		}
		again := mustValue[order.Order](t)(order.RenewInstance(ctx, e.db, e.engine, b, order.RenewRequest{InstanceID: instID, Periods: 2, IdempotencyKey: "renew-1"}))
		if again.ID != r.ID || !again.Repeated {
			t.Fatalf("repeated RenewInstance() = %s, want %s", again.ID, r.ID)
		}
		in := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, instID))
		if want := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC); !in.ExpiresAt.Equal(want) {
			t.Fatalf("expiry after renewal = %v, want %v (two months after the first expiry)", in.ExpiresAt, want)
		}
		e.drive(t, time.Hour)
		if got := e.received.got(); !slices.Equal(got, []string{"newInstance", "refreshInstance"}) {
			t.Fatalf("the seller received %v, want [newInstance refreshInstance]", got)
		}
		if r = mustValue[order.Order](t)(order.GetOrder(ctx, e.db, b, r.ID)); r.State != order.Completed {
			t.Fatalf("renewal order = %s, want completed", r.State)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900-19800 {
			t.Fatalf("balance = %d", got)
		}

		// Someone else's instance, too little money, a bad period count.
		other := e.buyer(t, 100000)
		wantCode(t, "RenewInstance(another buyer's)", errOf(order.RenewInstance(ctx, e.db, e.engine, other,
			order.RenewRequest{InstanceID: instID})), souk.ENOTFOUND)
		wantCode(t, "RenewInstance(too many periods)", errOf(order.RenewInstance(ctx, e.db, e.engine, b,
			order.RenewRequest{InstanceID: instID, Periods: 500})), souk.EINVALID)
		calls := e.count(t, "delivery_calls")
		_, err := order.RenewInstance(ctx, e.db, e.engine, b, order.RenewRequest{InstanceID: instID, Periods: 12})
		wantCode(t, "RenewInstance(insufficient balance)", err, souk.ECONFLICT)
		if n := e.count(t, "delivery_calls"); n != calls {
			t.Fatalf("a refused renewal enqueued %d calls", n-calls)
		}
	})
}
