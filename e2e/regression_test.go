package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
)

// Regression tests for the bugs the suite found (fixed in order/ and
// delivery/): each failed on the old behaviour.

// sellerActor is the seller re-invoking a call from its messages.
func (w *world) sellerActor() delivery.Actor {
	return delivery.Actor{Role: delivery.RoleSeller, ID: w.seller.UserID, SellerID: w.seller.SellerID}
}

// The newInstance of a purchase that failed and was refunded is not sent
// again: re-invoking it is refused (ECONFLICT), the call stays exhausted,
// the seller receives nothing and provisions nothing nobody paid for, and
// the buyer's refund stands (once). The old engine re-sent it, and the
// seller created an instance for a failed, refunded order.
func TestRegressionReinvokeNewInstanceOfRefundedPurchase(t *testing.T) {
	each(t, opts{args: []string{"--fail-activities", "newInstance"}}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "basic"}))
		instID := o.Lines[0].InstanceID
		w.drive(t, 24*time.Hour)
		n := attemptsWithin(delivery.NewPurchase)
		w.checkReceived(t, instID, slices.Repeat([]string{"newInstance!"}, n))
		calls := w.calls(t, instID)
		if len(calls) != 1 || calls[0].Activity != protocol.NewInstance || calls[0].State != delivery.Exhausted {
			t.Fatalf("calls = %v, want one exhausted newInstance", calls)
		}
		if o = w.order(t, b, o.ID); o.State != order.Failed {
			t.Fatalf("order = %s, want failed", o.State)
		}

		w.proc.control(t, `{}`)
		err := w.engine.Reinvoke(ctx, calls[0].ID, w.sellerActor(), "fixed newInstance")
		wantCode(t, "Reinvoke(newInstance of a refunded purchase)", err, souk.ECONFLICT)
		w.drive(t, time.Hour)

		w.checkReceived(t, instID, slices.Repeat([]string{"newInstance!"}, n))
		if c := w.calls(t, instID); len(c) != 1 || c[0].State != delivery.Exhausted {
			t.Fatalf("after the refused re-invocation: %d calls, the first %s; want it alone and exhausted", len(c), c[0].State)
		}
		for id, si := range w.proc.instances(t) {
			t.Fatalf("the seller holds instance %s (%+v) for order %s, failed and refunded", id, si, si.OrderID)
		}
		if in := w.instance(t, b, instID); in.State != order.InstanceFailed {
			t.Fatalf("instance = %s, want failed", in.State)
		}
		if o = w.order(t, b, o.ID); o.State != order.Failed {
			t.Fatalf("order = %s, want failed", o.State)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000 {
			t.Fatalf("balance = %d, want 100000 (refunded once)", got)
		}
		if got := w.balance(t, settle.PlatformClearing); got != 0 {
			t.Fatalf("clearing = %d, want 0", got)
		}
	})
}

// The upgradeInstance of a change that failed and was refunded (the seller
// failed it for the 3 h policy) is not sent again: re-invoking it is
// refused, the seller never records the upgrade, and the instance keeps
// its old spec. The old engine re-sent it: the seller upgraded an
// instance whose buyer had been refunded the change.
func TestRegressionReinvokeUpgradeOfRefundedChange(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o, in := w.buyActive(t, b, "basic")
		w.advance(t, 24*time.Hour)

		w.proc.control(t, `{"failActivities":["upgradeInstance"]}`)
		c := mustValue[order.Order](t)(order.ChangeInstance(ctx, w.db, w.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "pro"}))
		if c.Amount.Amount <= 0 {
			t.Fatalf("upgrade amount = %v, want a payment", c.Amount)
		}
		w.drive(t, 24*time.Hour)
		n := attemptsWithin(delivery.NewPurchase)
		want := append([]string{"newInstance", "changeInstanceCheck"}, slices.Repeat([]string{"upgradeInstance!"}, n)...)
		w.checkReceived(t, in.ID, want)
		calls := w.calls(t, in.ID)
		up := calls[len(calls)-1]
		if up.Activity != protocol.UpgradeInstance || up.State != delivery.Exhausted {
			t.Fatalf("the last call is %s %s, want an exhausted upgradeInstance", up.Activity, up.State)
		}
		if c = w.order(t, b, c.ID); c.State != order.Failed {
			t.Fatalf("change = %s (%q), want failed", c.State, c.Reason)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900 {
			t.Fatalf("balance after the failed change = %d, want %d (refunded)", got, 100000-9900)
		}

		w.proc.control(t, `{}`)
		err := w.engine.Reinvoke(ctx, up.ID, w.sellerActor(), "fixed the upgrade")
		wantCode(t, "Reinvoke(upgradeInstance of a refunded change)", err, souk.ECONFLICT)
		w.drive(t, time.Hour)

		w.checkReceived(t, in.ID, want)
		if cs := w.calls(t, in.ID); cs[len(cs)-1].State != delivery.Exhausted || len(cs) != len(calls) {
			t.Fatalf("after the refused re-invocation: the upgrade is %s, %d calls (was %d)", cs[len(cs)-1].State, len(cs), len(calls))
		}
		si := w.proc.instance(t, in.SellerInstanceID)
		if si.State != "active" || !slices.Equal(si.Events, []string{"newInstance:" + o.ID}) {
			t.Fatalf("the seller's instance = %+v, want active and never upgraded", si)
		}
		got := w.instance(t, b, in.ID)
		if got.SpecCode != "basic" || got.PendingOrderID != "" || got.State != order.Active {
			t.Fatalf("instance = %+v, want basic, active, nothing pending", got)
		}
		if c = w.order(t, b, c.ID); c.State != order.Failed {
			t.Fatalf("change = %s, want failed", c.State)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900 {
			t.Fatalf("balance = %d, want %d", got, 100000-9900)
		}
	})
}

// A renewal whose refreshInstance is still being retried when the buyer
// unsubscribes: the release supersedes the refresh, and the RENEW order is
// closed (completed, with the reason) rather than left paid for ever; the
// unsubscription refunds the unused part of the month and the whole
// renewal. The old code left the order paid.
func TestRegressionRenewalSupersededByUnsubscriptionIsClosed(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o, in := w.buyActive(t, b, "basic")
		w.advance(t, 24*time.Hour)

		w.proc.control(t, `{"failActivities":["refreshInstance"]}`)
		r := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: in.ID}))
		w.drive(t, 5*time.Minute)
		calls := w.calls(t, in.ID)
		refresh := calls[len(calls)-1]
		if refresh.Activity != protocol.RefreshInstance || refresh.State != delivery.Retrying {
			t.Fatalf("the refresh is %s %s, want a retrying refreshInstance", refresh.Activity, refresh.State)
		}

		at := w.clock.Now()
		jan1, feb1 := in.ExpiresAt, in.ExpiresAt.AddDate(0, 1, 0)
		wantRefund := refundOf(9900, t0, jan1, at) + refundOf(9900, jan1, feb1, at)
		u := mustValue[order.Order](t)(order.UnsubscribeInstance(ctx, w.db, w.engine, b, order.UnsubscribeRequest{InstanceID: in.ID}))
		if u.State != order.Completed || u.Amount != settle.M(wantRefund, "CNY") {
			t.Fatalf("UnsubscribeInstance() = %s refunding %v, want completed refunding %d", u.State, u.Amount, wantRefund)
		}
		w.drive(t, 3*time.Hour)

		received := w.proc.received(t)
		if len(received) < 3 || received[0] != "newInstance" || received[len(received)-1] != "releaseInstance" {
			t.Fatalf("the seller received %v, want newInstance, failed refreshes, releaseInstance", received)
		}
		for _, a := range received[1 : len(received)-1] {
			if a != "refreshInstance!" {
				t.Fatalf("the seller received %v, want only failed refreshes between", received)
			}
		}
		w.checkReceived(t, in.ID, received)
		for _, c := range w.calls(t, in.ID) {
			if c.ID == refresh.ID && c.State != delivery.Superseded {
				t.Fatalf("the refresh is %s, want superseded", c.State)
			}
		}
		if r = w.order(t, b, r.ID); r.State != order.Completed || r.Reason == "" {
			t.Fatalf("renewal = %s (reason %q), want completed with a reason", r.State, r.Reason)
		}
		si := w.proc.instance(t, w.instance(t, b, in.ID).SellerInstanceID)
		if si.State != "released" || si.ExpireTime != "" || !slices.Equal(si.Events, []string{"newInstance:" + o.ID, "release:" + u.ID}) {
			t.Fatalf("the seller's instance = %+v, want released, never refreshed", si)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-2*9900+wantRefund {
			t.Fatalf("balance = %d, want %d", got, 100000-2*9900+wantRefund)
		}
		for _, x := range w.ordersOf(t, b) {
			if x.State == order.Paid {
				t.Fatalf("order %s (%s) is still paid after draining", x.ID, x.Type)
			}
		}
	})
}

// NextDue reports when a call can be sent: a refresh queued behind an
// older refresh of its instance that is being retried waits for that one,
// so NextDue is the retrying call's next attempt, not the queued call's
// own (earlier) time. The old NextDue reported "now", on which a driver
// stepping a fake clock from one due call to the next would spin.
func TestRegressionNextDueSkipsQueuedCalls(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		_, in := w.buyActive(t, b, "basic")
		w.advance(t, 24*time.Hour)

		w.proc.control(t, `{"failActivities":["refreshInstance"]}`)
		r1 := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: in.ID}))
		w.step(t) // the first attempt fails: retrying
		r2 := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: in.ID}))
		w.step(t) // nothing can be claimed: the first refresh is not due, the second waits for it

		now := w.clock.Now()
		calls := w.calls(t, in.ID)
		if len(calls) != 3 {
			t.Fatalf("%d calls, want newInstance and two refreshes", len(calls))
		}
		first, queued := calls[1], calls[2]
		if first.State != delivery.Retrying || !first.NextAt.After(now) {
			t.Fatalf("the first refresh is %s due %v, want retrying after now (%v)", first.State, first.NextAt, now)
		}
		if queued.State != delivery.Pending || queued.NextAt.After(now) {
			t.Fatalf("the second refresh is %s due %v, want pending and due by now (%v)", queued.State, queued.NextAt, now)
		}
		at, ok, err := w.engine.NextDue(ctx)
		must(t, err)
		if !ok || !at.Equal(first.NextAt) {
			t.Fatalf("NextDue() = %v, %v; want %v, the retrying refresh's next attempt (now is %v)", at, ok, first.NextAt, now)
		}

		// Fixed: both refreshes go out, in order, and both renewals complete.
		w.proc.control(t, `{}`)
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"newInstance", "refreshInstance!", "refreshInstance", "refreshInstance"})
		for _, r := range []order.Order{r1, r2} {
			if r = w.order(t, b, r.ID); r.State != order.Completed {
				t.Fatalf("renewal %s = %s, want completed", r.ID, r.State)
			}
		}
		want := protocol.FormatTime(in.ExpiresAt.AddDate(0, 2, 0))
		if si := w.proc.instance(t, in.SellerInstanceID); si.ExpireTime != want {
			t.Fatalf("the seller's expiry = %s, want %s", si.ExpireTime, want)
		}
	})
}
