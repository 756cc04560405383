package e2e

import (
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/settle"
)

// changeValue is the change rule of package order, written again: the
// remaining time of a line (amount paid for start → end, at paidPerPeriod
// a period) valued at perPeriod a period, rounded down:
// amount × perPeriod × (end − max(now, start)) ÷ (paidPerPeriod × (end − start)).
func changeValue(amount, paidPerPeriod, perPeriod int64, start, end, now time.Time) int64 {
	from := start
	if now.After(start) {
		from = now
	}
	v := new(big.Int).Mul(big.NewInt(amount), big.NewInt(perPeriod))
	v.Mul(v, big.NewInt(end.Sub(from).Milliseconds()))
	return v.Quo(v, new(big.Int).Mul(big.NewInt(paidPerPeriod), big.NewInt(end.Sub(start).Milliseconds()))).Int64()
}

// A change of spec accepted: changeInstanceCheck, then upgradeInstance
// with the CHANGE order's ids; the buyer pays the difference for the rest
// of the paid time when placing it; the instance has the new spec once the
// seller applied it; unsubscribing later refunds the unused part of the
// changed time only.
func TestChangeOfSpecAccepted(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o, in := w.buyActive(t, b, "basic")
		w.advance(t, 10*24*time.Hour) // 21 of December's 31 days left
		at := w.clock.Now()
		jan1 := in.ExpiresAt
		old := refundOf(9900, t0, jan1, at)
		value := changeValue(9900, 9900, 30000, t0, jan1, at)
		c := mustValue[order.Order](t)(order.ChangeInstance(ctx, w.db, w.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "pro"}))
		if c.Type != order.Change || c.State != order.Paid || c.Amount != settle.M(value-old, "CNY") || value-old <= 0 {
			t.Fatalf("ChangeInstance() = %s %s of %v, want a paid CHANGE of %d", c.Type, c.State, c.Amount, value-old)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900-(value-old) {
			t.Fatalf("balance after placing the upgrade = %d, want %d", got, 100000-9900-(value-old))
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"newInstance", "changeInstanceCheck", "upgradeInstance"})
		as := w.attempts(t, in.ID)
		check := decode[protocol.ChangeInstanceCheckRequest](t, as[1].Request)
		if check.InstanceID != in.SellerInstanceID || check.ProductInfo.SKUCode != "pro" || check.ProductInfo.ProductID != w.product {
			t.Fatalf("changeInstanceCheck sent %+v, want sku pro of %s", check, w.product)
		}
		up := decode[protocol.UpgradeInstanceRequest](t, as[2].Request)
		if up.InstanceID != in.SellerInstanceID || up.OrderID != c.ID || up.OrderLineID != c.Lines[0].ID {
			t.Fatalf("upgradeInstance sent %+v, want order %s", up, c.ID)
		}
		si := w.proc.instance(t, in.SellerInstanceID)
		if si.State != "active" || !slices.Equal(si.Events, []string{"newInstance:" + o.ID, "upgrade:" + c.ID}) {
			t.Fatalf("the seller's instance = %+v, want active and upgraded by %s", si, c.ID)
		}
		got := w.instance(t, b, in.ID)
		if got.SpecCode != "pro" || got.PendingOrderID != "" || !got.ExpiresAt.Equal(jan1) {
			t.Fatalf("after the change: %+v, want spec pro, nothing pending, the same expiry", got)
		}
		if c = w.order(t, b, c.ID); c.State != order.Completed {
			t.Fatalf("change = %s, want completed", c.State)
		}

		// Five days later: the CHANGE line alone is left to refund.
		w.advance(t, 5*24*time.Hour)
		refund := refundOf(value, at, jan1, w.clock.Now())
		u := mustValue[order.Order](t)(order.UnsubscribeInstance(ctx, w.db, w.engine, b, order.UnsubscribeRequest{InstanceID: in.ID}))
		if u.Amount != settle.M(refund, "CNY") {
			t.Fatalf("unsubscription refund = %v, want %d", u.Amount, refund)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"newInstance", "changeInstanceCheck", "upgradeInstance", "releaseInstance"})
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900-(value-old)+refund {
			t.Fatalf("balance = %d, want %d", got, 100000-9900-(value-old)+refund)
		}
	})
}

// Changes refused by the seller: an upgrade whose changeInstanceCheck the
// seller fails (a fault switched on through /control; the check is called
// once) and a downgrade the seller refuses by itself (000002: the smaller
// spec would lose data). Each CHANGE order fails with the seller's answer,
// what it took comes back, the instance keeps its spec, and nothing is
// upgraded at the seller.
func TestChangeOfSpecRefused(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o, in := w.buyActive(t, b, "basic")
		w.advance(t, 24*time.Hour)

		w.proc.control(t, `{"failActivities":["changeInstanceCheck"]}`)
		c := mustValue[order.Order](t)(order.ChangeInstance(ctx, w.db, w.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "pro"}))
		if c.Amount.Amount <= 0 {
			t.Fatalf("upgrade amount = %v, want a payment", c.Amount)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900-c.Amount.Amount {
			t.Fatalf("balance after placing the upgrade = %d", got)
		}
		w.drive(t, 4*time.Hour)
		w.checkReceived(t, in.ID, []string{"newInstance", "changeInstanceCheck!"})
		if c = w.order(t, b, c.ID); c.State != order.Failed || !strings.Contains(c.Reason, "refused") {
			t.Fatalf("upgrade = %s (%q), want failed: refused", c.State, c.Reason)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900 {
			t.Fatalf("balance after the refusal = %d, want %d (the upgrade refunded)", got, 100000-9900)
		}

		w.proc.control(t, `{}`)
		d := mustValue[order.Order](t)(order.ChangeInstance(ctx, w.db, w.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: refseller.DowngradeSKU}))
		if d.Amount.Amount >= 0 {
			t.Fatalf("downgrade amount = %v, want negative (to be refunded once applied)", d.Amount)
		}
		w.drive(t, 4*time.Hour)
		w.checkReceived(t, in.ID, []string{"newInstance", "changeInstanceCheck!", "changeInstanceCheck!"})
		as := w.attempts(t, in.ID)
		if a := as[2]; a.Outcome != protocol.OutcomeRejected || a.Call.State != delivery.Exhausted {
			t.Fatalf("the downgrade's check: %s, call %s; want rejected, exhausted after one attempt", a.Outcome, a.Call.State)
		}
		if d = w.order(t, b, d.ID); d.State != order.Failed || !strings.Contains(d.Reason, "lose data") {
			t.Fatalf("downgrade = %s (%q), want failed with the seller's reason", d.State, d.Reason)
		}
		got := w.instance(t, b, in.ID)
		if got.SpecCode != "basic" || got.PendingOrderID != "" || got.State != order.Active {
			t.Fatalf("instance after the refusals = %+v, want basic, active, nothing pending", got)
		}
		if si := w.proc.instance(t, in.SellerInstanceID); si.State != "active" || !slices.Equal(si.Events, []string{"newInstance:" + o.ID}) {
			t.Fatalf("the seller's instance = %+v, want active and never upgraded", si)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900 {
			t.Fatalf("balance = %d, want %d", got, 100000-9900)
		}
		// The refused changes do not count: the unused part is basic's.
		refund := refundOf(9900, t0, in.ExpiresAt, w.clock.Now())
		u := mustValue[order.Order](t)(order.UnsubscribeInstance(ctx, w.db, w.engine, b, order.UnsubscribeRequest{InstanceID: in.ID}))
		if u.Amount != settle.M(refund, "CNY") {
			t.Fatalf("unsubscription refund = %v, want %d", u.Amount, refund)
		}
	})
}
