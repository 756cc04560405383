package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
)

// buyActive buys one period of spec for b and delivers the newInstance.
func (w *world) buyActive(t *testing.T, b souk.Actor, spec string) (order.Order, order.Instance) {
	t.Helper()
	o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: spec}))
	w.drive(t, time.Minute)
	in := w.instance(t, b, o.Lines[0].InstanceID)
	if in.State != order.Active {
		t.Fatalf("instance after purchase = %s, want active", in.State)
	}
	return o, in
}

func (w *world) sweep(t *testing.T) order.Swept {
	t.Helper()
	return mustValue[order.Swept](t)(order.Sweep(ctx, w.db, w.engine, order.SweepConfig{Grace: order.DefaultGrace}))
}

// statusOf returns the status an updateInstanceStatus (or
// updateLicenseCodeStatus) attempt asked for.
func statusOf(t *testing.T, a attempt) string {
	t.Helper()
	return decode[struct{ Status string }](t, a.Request).Status
}

// Expiry → the sweep freezes the instance (updateInstanceStatus FREEZE),
// the seller freezes it; a renewal in the grace period → UNFREEZE, then
// refreshInstance from now (the frozen days are not given back), and the
// seller has it active until the new expiry.
func TestExpiryFreezesAndRenewalInGraceUnfreezes(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o, in := w.buyActive(t, b, "basic")
		if s := w.sweep(t); s != (order.Swept{}) {
			t.Fatalf("sweep before the expiry = %+v, want nothing", s)
		}
		w.clock.Set(in.ExpiresAt.Add(time.Minute))
		if s := w.sweep(t); s != (order.Swept{Frozen: 1}) {
			t.Fatalf("sweep after the expiry = %+v, want one frozen", s)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"newInstance", "updateInstanceStatus"})
		as := w.attempts(t, in.ID)
		if st := statusOf(t, as[1]); st != protocol.StatusFreeze {
			t.Fatalf("updateInstanceStatus asked for %s, want FREEZE", st)
		}
		got := w.instance(t, b, in.ID)
		if got.State != order.Frozen || !got.ReleaseAt.Equal(in.ExpiresAt.Add(order.DefaultGrace)) {
			t.Fatalf("after the sweep: %s until %v, want frozen until %v", got.State, got.ReleaseAt, in.ExpiresAt.Add(order.DefaultGrace))
		}
		if si := w.proc.instance(t, in.SellerInstanceID); si.State != "frozen" {
			t.Fatalf("the seller's instance is %s, want frozen", si.State)
		}

		w.advance(t, 3*24*time.Hour)
		renewedAt := w.clock.Now()
		r := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: in.ID}))
		want := addMonths(renewedAt, 1)
		got = w.instance(t, b, in.ID)
		if got.State != order.Active || !got.ExpiresAt.Equal(want) || !got.ReleaseAt.IsZero() {
			t.Fatalf("after a renewal in grace: %s until %v (release %v), want active until %v", got.State, got.ExpiresAt, got.ReleaseAt, want)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"newInstance", "updateInstanceStatus", "updateInstanceStatus", "refreshInstance"})
		as = w.attempts(t, in.ID)
		if st := statusOf(t, as[2]); st != protocol.StatusUnfreeze {
			t.Fatalf("the second updateInstanceStatus asked for %s, want UNFREEZE", st)
		}
		req := decode[protocol.RefreshInstanceRequest](t, as[3].Request)
		if req.Scene != protocol.SceneRenewal || req.ExpireTime != protocol.FormatTime(want) || req.OrderID != r.ID {
			t.Fatalf("refreshInstance sent %+v, want RENEWAL to %s", req, protocol.FormatTime(want))
		}
		si := w.proc.instance(t, in.SellerInstanceID)
		if si.State != "active" || si.ExpireTime != protocol.FormatTime(want) ||
			!slices.Equal(si.Events, []string{"newInstance:" + o.ID, "refresh:RENEWAL:" + r.ID}) {
			t.Fatalf("the seller's instance = %+v, want active until %s", si, protocol.FormatTime(want))
		}
		if r = w.order(t, b, r.ID); r.State != order.Completed {
			t.Fatalf("renewal = %s, want completed", r.State)
		}
		if s := w.sweep(t); s != (order.Swept{}) {
			t.Fatalf("sweep after the renewal = %+v, want nothing", s)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-2*9900 {
			t.Fatalf("balance = %d, want %d", got, 100000-2*9900)
		}
	})
}

// Expiry → FREEZE; not a second before the end of the grace period, but
// at its end → releaseInstance (no order ids: nobody unsubscribed); the
// seller releases it and its page is gone; nothing is refunded.
func TestExpiryReleasesAtTheEndOfGrace(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		_, in := w.buyActive(t, b, "basic")
		w.clock.Set(in.ExpiresAt)
		if s := w.sweep(t); s != (order.Swept{Frozen: 1}) {
			t.Fatalf("sweep at the expiry = %+v, want one frozen", s)
		}
		w.drive(t, time.Hour)
		w.clock.Set(in.ExpiresAt.Add(order.DefaultGrace - time.Second))
		if s := w.sweep(t); s != (order.Swept{}) {
			t.Fatalf("sweep a second before the end of grace = %+v, want nothing", s)
		}
		w.clock.Set(in.ExpiresAt.Add(order.DefaultGrace))
		if s := w.sweep(t); s != (order.Swept{Released: 1}) {
			t.Fatalf("sweep at the end of grace = %+v, want one released", s)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"newInstance", "updateInstanceStatus", "releaseInstance"})
		req := decode[protocol.ReleaseInstanceRequest](t, w.attempts(t, in.ID)[2].Request)
		if req.InstanceID != in.SellerInstanceID || req.OrderID != "" || req.OrderLineID != "" {
			t.Fatalf("releaseInstance sent %+v, want the instance and no order", req)
		}
		if got := w.instance(t, b, in.ID); got.State != order.Released {
			t.Fatalf("instance = %s, want released", got.State)
		}
		if si := w.proc.instance(t, in.SellerInstanceID); si.State != "released" {
			t.Fatalf("the seller's instance is %s, want released", si.State)
		}
		resp, err := http.Get(in.FrontEndURL)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusGone {
			t.Fatalf("GET %s = %s, want 410 Gone", in.FrontEndURL, resp.Status)
		}
		wantCode(t, "RenewInstance(released)", errOf(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: in.ID})), souk.ECONFLICT)
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900 {
			t.Fatalf("balance = %d, want %d (nothing refunded for time used)", got, 100000-9900)
		}
	})
}

// A trial costs nothing and is provisioned like a purchase; converted by a
// TRIAL_TO_FORMAL order, the seller keeps its instance and gets
// refreshInstance TRIAL_TO_FORMAL with the formal expiry, from the
// conversion.
func TestTrialConvertedToFormal(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "basic", Trial: true}))
		if o.Type != order.Trial || o.Amount.Amount != 0 {
			t.Fatalf("trial order = %s of %v, want a free TRIAL", o.Type, o.Amount)
		}
		instID := o.Lines[0].InstanceID
		w.drive(t, time.Hour)
		in := w.instance(t, b, instID)
		if !in.Trial || in.State != order.Active || !in.ExpiresAt.Equal(t0.AddDate(0, 0, 7)) {
			t.Fatalf("trial instance = %+v, want an active trial for 7 days", in)
		}
		w.advance(t, 5*24*time.Hour)
		at := w.clock.Now()
		c := mustValue[order.Order](t)(order.ConvertTrial(ctx, w.db, w.engine, b, order.ConvertRequest{InstanceID: instID, Periods: 3}))
		if c.Type != order.TrialToFormal || c.Amount != settle.M(3*9900, "CNY") {
			t.Fatalf("conversion = %s of %v, want TRIAL_TO_FORMAL of 297.00", c.Type, c.Amount)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, instID, []string{"newInstance", "refreshInstance"})
		want := addMonths(at, 3)
		req := decode[protocol.RefreshInstanceRequest](t, w.attempts(t, instID)[1].Request)
		if req.Scene != protocol.SceneTrialToFormal || req.OrderID != c.ID || req.ExpireTime != protocol.FormatTime(want) || req.InstanceID != in.SellerInstanceID {
			t.Fatalf("refreshInstance sent %+v, want TRIAL_TO_FORMAL of %s to %s", req, c.ID, protocol.FormatTime(want))
		}
		in = w.instance(t, b, instID)
		if in.Trial || in.State != order.Active || !in.ExpiresAt.Equal(want) {
			t.Fatalf("converted instance = %+v, want formal and active until %v", in, want)
		}
		si := w.proc.instance(t, in.SellerInstanceID)
		if si.State != "active" || si.ExpireTime != protocol.FormatTime(want) ||
			!slices.Equal(si.Events, []string{"newInstance:" + o.ID, "refresh:TRIAL_TO_FORMAL:" + c.ID}) {
			t.Fatalf("the seller's instance = %+v, want the trial's, converted", si)
		}
		if c = w.order(t, b, c.ID); c.State != order.Completed {
			t.Fatalf("conversion = %s, want completed", c.State)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-3*9900 {
			t.Fatalf("balance = %d, want %d", got, 100000-3*9900)
		}
	})
}
