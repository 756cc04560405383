package order_test

import (
	"slices"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/settle"
)

// Unsubscribe → releaseInstance with the order ids, and the unused part
// of what was paid refunded.
func TestUnsubscribeRefundsTheUnusedPart(t *testing.T) {
	each(t, sellerOpts{}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		// Three months from 1 December: 90 days, 297.00 CNY.
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic", Periods: 3}))
		instID := o.Lines[0].InstanceID
		e.drive(t, time.Hour)

		// After 30 days, 60 of 90 days are unused: 297.00 × 60/90 = 198.00.
		e.clock.Set(t0.Add(30 * 24 * time.Hour))
		u := mustValue[order.Order](t)(order.UnsubscribeInstance(ctx, e.db, e.engine, b, order.UnsubscribeRequest{InstanceID: instID, IdempotencyKey: "bye"}))
		if u.Type != order.Unsubscribe || u.State != order.Completed || u.Amount != settle.M(19800, "CNY") {
			t.Fatalf("UnsubscribeInstance() = %+v, want a completed UNSUBSCRIBE refunding 198.00 CNY", u)
		}
		again := mustValue[order.Order](t)(order.UnsubscribeInstance(ctx, e.db, e.engine, b, order.UnsubscribeRequest{InstanceID: instID, IdempotencyKey: "bye"}))
		if again.ID != u.ID || !again.Repeated {
			t.Fatalf("repeated UnsubscribeInstance() = %s, want %s", again.ID, u.ID)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-29700+19800 {
			t.Fatalf("balance = %d, want %d", got, 100000-29700+19800)
		}
		if got := e.balance(t, settle.PlatformClearing); got != 29700-19800 {
			t.Fatalf("clearing = %d, want %d", got, 29700-19800)
		}
		in := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, instID))
		if in.State != order.Released {
			t.Fatalf("instance = %s, want released", in.State)
		}
		e.drive(t, time.Hour)
		if got := e.received.got(); !slices.Equal(got, []string{"newInstance", "releaseInstance"}) {
			t.Fatalf("the seller received %v, want [newInstance releaseInstance]", got)
		}
		wantCode(t, "UnsubscribeInstance(released)", errOf(order.UnsubscribeInstance(ctx, e.db, e.engine, b,
			order.UnsubscribeRequest{InstanceID: instID})), souk.ECONFLICT)
		wantCode(t, "RenewInstance(released)", errOf(order.RenewInstance(ctx, e.db, e.engine, b,
			order.RenewRequest{InstanceID: instID})), souk.ECONFLICT)
		wantCode(t, "UnsubscribeInstance(another buyer's)", errOf(order.UnsubscribeInstance(ctx, e.db, e.engine, e.buyer(t, 0),
			order.UnsubscribeRequest{InstanceID: instID})), souk.ENOTFOUND)
	})
}

// A renewed instance refunds the unused part of every period paid for;
// an unsubscribed once-only purchase may be bought again.
func TestUnsubscribeAfterRenewalAndLimits(t *testing.T) {
	specs := []catalog.Spec{
		{Code: "m", Name: "Monthly", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 3100, Currency: "CNY"},
			Limit: catalog.PurchaseLimit{Kind: catalog.LimitOnce}},
	}
	each(t, sellerOpts{specs: specs}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		// December has 31 days: 31.00 CNY for 1 Dec → 1 Jan, then a
		// renewal 1 Jan → 1 Feb (31 days) for 31.00 more.
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "m"}))
		instID := o.Lines[0].InstanceID
		e.drive(t, time.Hour)
		mustValue[order.Order](t)(order.RenewInstance(ctx, e.db, e.engine, b, order.RenewRequest{InstanceID: instID}))
		e.drive(t, time.Hour)
		// On 11 December (10 days used): 21 of 31 days of the first and
		// all of the second period are unused: 2100 + 3100.
		e.clock.Set(t0.Add(10 * 24 * time.Hour))
		u := mustValue[order.Order](t)(order.UnsubscribeInstance(ctx, e.db, e.engine, b, order.UnsubscribeRequest{InstanceID: instID}))
		if u.Amount != settle.M(2100+3100, "CNY") {
			t.Fatalf("refund = %v, want 52.00 CNY", u.Amount)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-6200+5200 {
			t.Fatalf("balance = %d", got)
		}
		e.drive(t, time.Hour)
		// Unsubscribed purchases do not count toward the once-only limit.
		mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "m"}))
		e.drive(t, time.Hour)
		if got := e.received.got(); !slices.Equal(got, []string{"newInstance", "refreshInstance", "releaseInstance", "newInstance"}) {
			t.Fatalf("the seller received %v", got)
		}
	})
}
