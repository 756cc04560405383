package order_test

import (
	"encoding/json"
	"net/http"

	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/notify"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/settle"
)

// monthly are two specs sold by the month and one with a trial.
var monthly = []catalog.Spec{
	{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}, TrialDays: 7},
	{Code: "plus", Name: "Plus", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 19900, Currency: "CNY"}},
	{Code: "yearly", Name: "Yearly", Charging: catalog.ChargePeriod, Period: catalog.Year, Price: catalog.Price{Amount: 99000, Currency: "CNY"}},
}

// buyActive buys spec for b and delivers the newInstance call.
func (e *env) buyActive(t *testing.T, b souk.Actor, spec string) order.Instance {
	t.Helper()
	o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: spec}))
	e.drive(t, time.Minute)
	in := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, o.Lines[0].InstanceID))
	if in.State != order.Active {
		t.Fatalf("instance after purchase = %s, want active", in.State)
	}
	return in
}

func (e *env) sweep(t *testing.T) order.Swept {
	t.Helper()
	return mustValue[order.Swept](t)(order.Sweep(ctx, e.db, e.engine, order.SweepConfig{Batch: 2}))
}

func (e *env) wantCalls(t *testing.T, want ...string) {
	t.Helper()
	if got := e.received.got(); !slices.Equal(got, want) {
		t.Fatalf("the seller received %v, want %v", got, want)
	}
}

// Expiry → FREEZE; a renewal in the grace period → UNFREEZE then the
// refresh, from now (the frozen days are not given back).
func TestExpiryFreezesAndRenewalInGraceUnfreezes(t *testing.T) {
	each(t, sellerOpts{specs: monthly}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		in := e.buyActive(t, b, "basic")
		later := e.buyActive(t, e.buyer(t, 100000), "yearly")

		if s := e.sweep(t); s != (order.Swept{}) {
			t.Fatalf("sweep before any expiry = %+v, want nothing", s)
		}
		e.clock.Set(in.ExpiresAt.Add(time.Minute))
		if s := e.sweep(t); s != (order.Swept{Frozen: 1}) {
			t.Fatalf("sweep after the expiry = %+v, want one frozen", s)
		}
		if s := e.sweep(t); s != (order.Swept{}) {
			t.Fatalf("second sweep = %+v, want nothing (the first did it)", s)
		}
		e.drive(t, time.Minute)
		e.wantCalls(t, "newInstance", "newInstance", "updateInstanceStatus")
		got := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, in.ID))
		if got.State != order.Frozen || !got.ReleaseAt.Equal(in.ExpiresAt.Add(order.DefaultGrace)) {
			t.Fatalf("after the sweep: %s until %v, want frozen until %v", got.State, got.ReleaseAt, in.ExpiresAt.Add(order.DefaultGrace))
		}
		if l := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, operator, later.ID)); l.State != order.Active {
			t.Fatalf("the yearly instance is %s, want active (not due)", l.State)
		}

		wantCode(t, "ChangeInstance(frozen)", errOf(order.ChangeInstance(ctx, e.db, e.engine, b,
			order.ChangeRequest{InstanceID: in.ID, SpecCode: "plus"})), souk.ECONFLICT)
		e.clock.Advance(3 * 24 * time.Hour)
		r := mustValue[order.Order](t)(order.RenewInstance(ctx, e.db, e.engine, b, order.RenewRequest{InstanceID: in.ID}))
		got = mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, in.ID))
		if want := e.clock.Now().AddDate(0, 1, 0); got.State != order.Active || !got.ExpiresAt.Equal(want) || !got.ReleaseAt.IsZero() {
			t.Fatalf("after renewal in grace: %s expiring %v (release %v), want active expiring %v", got.State, got.ExpiresAt, got.ReleaseAt, want)
		}
		e.drive(t, time.Minute)
		e.wantCalls(t, "newInstance", "newInstance", "updateInstanceStatus", "updateInstanceStatus", "refreshInstance")
		if r = mustValue[order.Order](t)(order.GetOrder(ctx, e.db, b, r.ID)); r.State != order.Completed {
			t.Fatalf("renewal = %s, want completed", r.State)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-2*9900 {
			t.Fatalf("balance = %d, want %d", got, 100000-2*9900)
		}
	})
}

// Expiry → FREEZE; the end of grace → releaseInstance; nothing more can be
// done with the instance.
func TestExpiryReleasesAtTheEndOfGrace(t *testing.T) {
	each(t, sellerOpts{specs: monthly}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		in := e.buyActive(t, b, "basic")
		e.clock.Set(in.ExpiresAt)
		if s := e.sweep(t); s != (order.Swept{Frozen: 1}) {
			t.Fatalf("sweep at the expiry = %+v, want one frozen", s)
		}
		e.drive(t, time.Minute)
		e.clock.Set(in.ExpiresAt.Add(order.DefaultGrace - time.Second))
		if s := e.sweep(t); s != (order.Swept{}) {
			t.Fatalf("sweep a second before the end of grace = %+v, want nothing", s)
		}
		e.clock.Advance(time.Second)
		if s := e.sweep(t); s != (order.Swept{Released: 1}) {
			t.Fatalf("sweep at the end of grace = %+v, want one released", s)
		}
		e.drive(t, time.Minute)
		e.wantCalls(t, "newInstance", "updateInstanceStatus", "releaseInstance")
		if got := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, in.ID)); got.State != order.Released {
			t.Fatalf("instance = %s, want released", got.State)
		}
		wantCode(t, "RenewInstance(released)", errOf(order.RenewInstance(ctx, e.db, e.engine, b, order.RenewRequest{InstanceID: in.ID})), souk.ECONFLICT)
		wantCode(t, "UnsubscribeInstance(released)", errOf(order.UnsubscribeInstance(ctx, e.db, e.engine, b, order.UnsubscribeRequest{InstanceID: in.ID})), souk.ECONFLICT)
		wantCode(t, "ChangeInstance(released)", errOf(order.ChangeInstance(ctx, e.db, e.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "plus"})), souk.ECONFLICT)
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900 {
			t.Fatalf("balance = %d, want %d (nothing refunded for time used)", got, 100000-9900)
		}
		e.wantNotices(t, b, "instance.released", "instance.frozen")
	})
}

// wantNotices checks the kinds of the notices in b's inbox, newest first,
// each with an e-mail queued to b's address.
func (e *env) wantNotices(t *testing.T, b souk.Actor, kinds ...string) {
	t.Helper()
	ms := mustValue[[]notify.Message](t)(notify.Inbox(ctx, e.db, order.BuyerInbox(b.UserID), notify.InboxFilter{}))
	var got []string
	for _, m := range ms {
		got = append(got, m.Kind)
	}
	if !slices.Equal(got, kinds) {
		t.Fatalf("the buyer's notices = %v, want %v", got, kinds)
	}
	var emails int
	must(t, e.db.SQL().QueryRow(`SELECT count(*) FROM notify_outbox WHERE channel = 'email' AND recipient = $1`, order.BuyerInbox(b.UserID)).Scan(&emails))
	if emails != len(kinds) {
		t.Fatalf("%d e-mails queued to the buyer, want %d", emails, len(kinds))
	}
}

// A trial costs nothing, cannot be renewed, and is converted by a
// TRIAL_TO_FORMAL order: refreshInstance, no new instance.
func TestTrialConvertedToFormal(t *testing.T) {
	each(t, sellerOpts{specs: monthly}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic", Trial: true}))
		if o.Type != order.Trial || o.Amount.Amount != 0 {
			t.Fatalf("trial order = %s of %v, want a free TRIAL", o.Type, o.Amount)
		}
		wantCode(t, "Purchase(trial of a spec without one)", errOf(order.Purchase(ctx, e.db, e.engine, b,
			order.PurchaseRequest{ProductID: e.product, SpecCode: "plus", Trial: true})), souk.EINVALID)
		e.drive(t, time.Minute)
		in := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, o.Lines[0].InstanceID))
		if !in.Trial || in.State != order.Active || !in.ExpiresAt.Equal(t0.AddDate(0, 0, 7)) {
			t.Fatalf("trial instance = %+v, want an active trial expiring after 7 days", in)
		}
		wantCode(t, "RenewInstance(trial)", errOf(order.RenewInstance(ctx, e.db, e.engine, b, order.RenewRequest{InstanceID: in.ID})), souk.ECONFLICT)

		e.clock.Advance(5 * 24 * time.Hour)
		c := mustValue[order.Order](t)(order.ConvertTrial(ctx, e.db, e.engine, b, order.ConvertRequest{InstanceID: in.ID, Periods: 3}))
		if c.Type != order.TrialToFormal || c.Amount != settle.M(3*9900, "CNY") {
			t.Fatalf("conversion = %s of %v, want TRIAL_TO_FORMAL of 297.00", c.Type, c.Amount)
		}
		wantCode(t, "ConvertTrial(again)", errOf(order.ConvertTrial(ctx, e.db, e.engine, b, order.ConvertRequest{InstanceID: in.ID})), souk.ECONFLICT)
		e.drive(t, time.Minute)
		e.wantCalls(t, "newInstance", "refreshInstance")
		in = mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, in.ID))
		if in.Trial || !in.ExpiresAt.Equal(e.clock.Now().AddDate(0, 3, 0)) {
			t.Fatalf("converted instance: trial %v, expiring %v; want formal, three months from the conversion", in.Trial, in.ExpiresAt)
		}
		if c = mustValue[order.Order](t)(order.GetOrder(ctx, e.db, b, c.ID)); c.State != order.Completed {
			t.Fatalf("conversion order = %s, want completed", c.State)
		}
		var req protocol.RefreshInstanceRequest
		mustDecodeLast(t, e, in.ID, protocol.RefreshInstance, &req)
		if req.Scene != protocol.SceneTrialToFormal || req.OrderID != c.ID {
			t.Fatalf("refreshInstance = %+v, want scene TRIAL_TO_FORMAL of order %s", req, c.ID)
		}
	})
}

// An upgrade pays the difference for the rest of the paid time, a
// downgrade refunds it, each only once the seller accepted
// (changeInstanceCheck) and applied (upgradeInstance) it.
func TestChangeOfSpecAccepted(t *testing.T) {
	each(t, sellerOpts{specs: monthly}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		in := e.buyActive(t, b, "basic")
		wantCode(t, "ChangeInstance(same spec)", errOf(order.ChangeInstance(ctx, e.db, e.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "basic"})), souk.EINVALID)
		wantCode(t, "ChangeInstance(another period)", errOf(order.ChangeInstance(ctx, e.db, e.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "yearly"})), souk.EINVALID)
		wantCode(t, "ChangeInstance(no such spec)", errOf(order.ChangeInstance(ctx, e.db, e.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "gold"})), souk.ENOTFOUND)

		e.clock.Advance(10 * 24 * time.Hour) // 21 of December's 31 days left
		total, left := in.ExpiresAt.Sub(t0).Milliseconds(), in.ExpiresAt.Sub(e.clock.Now()).Milliseconds()
		up := 19900*left/total - 9900*left/total
		before := e.balance(t, settle.BuyerBalance(b.UserID))
		if q := mustValue[settle.Money](t)(order.ChangePrice(ctx, e.db, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "plus"})); q != settle.M(up, "CNY") {
			t.Fatalf("ChangePrice() = %v, want %d", q, up)
		}
		if e.balance(t, settle.BuyerBalance(b.UserID)) != before || e.count(t, "orders") != 1 {
			t.Fatal("ChangePrice changed something")
		}
		wantCode(t, "ChangePrice(same spec)", errOf(order.ChangePrice(ctx, e.db, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "basic"})), souk.EINVALID)
		c := mustValue[order.Order](t)(order.ChangeInstance(ctx, e.db, e.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "plus"}))
		if c.Type != order.Change || c.State != order.Paid || c.Amount != settle.M(up, "CNY") {
			t.Fatalf("upgrade order = %s %s of %v, want a paid CHANGE of %d", c.Type, c.State, c.Amount, up)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900-up {
			t.Fatalf("balance after the upgrade = %d, want %d", got, 100000-9900-up)
		}
		wantCode(t, "RenewInstance(change pending)", errOf(order.RenewInstance(ctx, e.db, e.engine, b, order.RenewRequest{InstanceID: in.ID})), souk.ECONFLICT)
		e.drive(t, time.Minute)
		e.wantCalls(t, "newInstance", "changeInstanceCheck", "upgradeInstance")
		got := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, in.ID))
		if got.SpecCode != "plus" || got.PendingOrderID != "" || !got.ExpiresAt.Equal(in.ExpiresAt) {
			t.Fatalf("after the upgrade: %+v, want spec plus, nothing pending, the same expiry", got)
		}
		if c = mustValue[order.Order](t)(order.GetOrder(ctx, e.db, b, c.ID)); c.State != order.Completed {
			t.Fatalf("upgrade = %s, want completed", c.State)
		}

		// Back down, ten days later: the difference comes back.
		e.clock.Advance(10 * 24 * time.Hour)
		left2 := in.ExpiresAt.Sub(e.clock.Now()).Milliseconds()
		valuePlus := (19900 * left / total) // the CHANGE line's amount, for the time from the upgrade
		span := left                        // its period: from the upgrade to the expiry
		down := valuePlus*9900*left2/(19900*span) - valuePlus*left2/span
		d := mustValue[order.Order](t)(order.ChangeInstance(ctx, e.db, e.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "basic"}))
		if d.Amount != settle.M(down, "CNY") || down >= 0 {
			t.Fatalf("downgrade order amount = %v, want %d (negative: refunded)", d.Amount, down)
		}
		before = e.balance(t, settle.BuyerBalance(b.UserID))
		e.drive(t, time.Minute)
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != before-down {
			t.Fatalf("balance after the downgrade = %d, want %d", got, before-down)
		}

		// Unsubscribing now refunds the unused part of the downgraded time only.
		e.clock.Advance(24 * time.Hour)
		left3 := in.ExpiresAt.Sub(e.clock.Now()).Milliseconds()
		valueBasic := valuePlus * 9900 * left2 / (19900 * span)
		u := mustValue[order.Order](t)(order.UnsubscribeInstance(ctx, e.db, e.engine, b, order.UnsubscribeRequest{InstanceID: in.ID}))
		if want := valueBasic * left3 / left2; u.Amount != settle.M(want, "CNY") {
			t.Fatalf("unsubscription refund = %v, want %d", u.Amount, want)
		}
	})
}

// A seller that refuses the change: the order fails with the seller's
// answer, the money comes back, the instance keeps its spec.
func TestChangeOfSpecRefused(t *testing.T) {
	each(t, sellerOpts{specs: monthly, faults: refseller.Faults{FailActivities: []protocol.Activity{protocol.ChangeInstanceCheck}}}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		in := e.buyActive(t, b, "basic")
		c := mustValue[order.Order](t)(order.ChangeInstance(ctx, e.db, e.engine, b, order.ChangeRequest{InstanceID: in.ID, SpecCode: "plus"}))
		if c.Amount.Amount <= 0 {
			t.Fatalf("upgrade amount = %v, want a payment", c.Amount)
		}
		e.drive(t, time.Hour)
		e.wantCalls(t, "newInstance", "changeInstanceCheck!")
		c = mustValue[order.Order](t)(order.GetOrder(ctx, e.db, b, c.ID))
		if c.State != order.Failed || !strings.Contains(c.Reason, "refused") {
			t.Fatalf("refused change = %s (%q), want failed with the refusal", c.State, c.Reason)
		}
		got := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, in.ID))
		if got.SpecCode != "basic" || got.PendingOrderID != "" || got.State != order.Active {
			t.Fatalf("instance after the refusal = %+v, want basic, active, nothing pending", got)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900 {
			t.Fatalf("balance = %d, want %d (the change refunded)", got, 100000-9900)
		}
		// The refused change does not count: unsubscribing refunds basic's unused part.
		u := mustValue[order.Order](t)(order.UnsubscribeInstance(ctx, e.db, e.engine, b, order.UnsubscribeRequest{InstanceID: in.ID}))
		if u.Amount != settle.M(9900, "CNY") {
			t.Fatalf("unsubscription refund = %v, want 99.00 (no time used)", u.Amount)
		}
	})
}

// Licence codes: issued on purchase (one per unit, the instance active at
// once), activated by the seller's software once, renewed code by code,
// frozen and released by the sweep.
func TestLicenceIssueActivateRenewExpire(t *testing.T) {
	specs := []catalog.Spec{{Code: "seat", Name: "Seat", Charging: catalog.ChargePeriod, Period: catalog.Month,
		Price: catalog.Price{Amount: 5000, Currency: "CNY"}, Quantity: &catalog.LinearQuantity{Unit: "seats", Min: 1, Max: 10, Step: 1}}}
	each(t, sellerOpts{specs: specs, kind: catalog.License}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "seat", Quantity: 2}))
		if o.State != order.Completed || o.Amount != settle.M(10000, "CNY") {
			t.Fatalf("licence order = %s of %v, want completed, 100.00", o.State, o.Amount)
		}
		in := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, o.Lines[0].InstanceID))
		codes := mustValue[[]order.License](t)(order.Licenses(ctx, e.db, b, in.ID))
		if in.State != order.Active || len(codes) != 2 || codes[0].State != order.LicenseIssued {
			t.Fatalf("instance %s with %d codes (%+v), want active with 2 issued", in.State, len(codes), codes)
		}
		wantCode(t, "Licenses(another buyer)", errOf(order.Licenses(ctx, e.db, e.buyer(t, 0), in.ID)), souk.ENOTFOUND)

		l := mustValue[order.License](t)(order.ActivateLicense(ctx, e.db, e.seller.SellerID, strings.ToLower(codes[0].Code), time.Time{}))
		if l.State != order.LicenseActivated || !l.EffectiveAt.Equal(e.clock.Now()) {
			t.Fatalf("activated = %+v", l)
		}
		// The seller's software learns the code as it activates it.
		req, err := http.NewRequest("POST", e.sellerURL+"/control/licenses", strings.NewReader(`{"license":"`+l.Code+`"}`))
		must(t, err)
		req.Header.Set(refseller.HeaderControlKey, e.sellerKey)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /control/licenses: %s", resp.Status)
		}
		wantCode(t, "ActivateLicense(again)", errOf(order.ActivateLicense(ctx, e.db, e.seller.SellerID, codes[0].Code, time.Time{})), souk.ECONFLICT)
		wantCode(t, "ActivateLicense(another seller)", errOf(order.ActivateLicense(ctx, e.db, "someone-else", codes[1].Code, time.Time{})), souk.ENOTFOUND)
		wantCode(t, "ActivateLicense(unknown)", errOf(order.ActivateLicense(ctx, e.db, e.seller.SellerID, "NOPE", time.Time{})), souk.ENOTFOUND)
		e.drive(t, time.Minute)
		e.wantCalls(t) // the seller is told nothing of a purchase of codes

		r := mustValue[order.Order](t)(order.RenewInstance(ctx, e.db, e.engine, b, order.RenewRequest{InstanceID: in.ID}))
		if r.State != order.Completed || r.Amount != settle.M(10000, "CNY") {
			t.Fatalf("licence renewal = %s of %v, want completed 100.00", r.State, r.Amount)
		}
		e.drive(t, time.Minute)
		e.wantCalls(t, "refreshLicenseCode") // the activated code only: the seller knows no other

		in = mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, in.ID))
		e.clock.Set(in.ExpiresAt)
		if s := e.sweep(t); s != (order.Swept{Frozen: 1}) {
			t.Fatalf("sweep = %+v", s)
		}
		wantCode(t, "ActivateLicense(frozen)", errOf(order.ActivateLicense(ctx, e.db, e.seller.SellerID, codes[1].Code, time.Time{})), souk.ECONFLICT)
		e.drive(t, time.Minute)
		e.clock.Advance(order.DefaultGrace)
		if s := e.sweep(t); s != (order.Swept{Released: 1}) {
			t.Fatalf("sweep = %+v", s)
		}
		e.drive(t, time.Minute)
		e.wantCalls(t, "refreshLicenseCode", "updateLicenseCodeStatus", "releaseLicenseCode")
		for _, c := range mustValue[[]order.License](t)(order.Licenses(ctx, e.db, b, in.ID)) {
			if c.State != order.LicenseReleased {
				t.Fatalf("code %s is %s, want released", c.Code, c.State)
			}
		}
	})
}

// mustDecodeLast decodes the body of the newest call of activity for the
// instance key.
func mustDecodeLast(t *testing.T, e *env, key string, activity protocol.Activity, v any) {
	t.Helper()
	calls := mustValue[[]*delivery.Call](t)(delivery.ListCalls(ctx, e.db, delivery.CallFilter{Activity: activity}))
	for _, c := range calls {
		if c.Key == key {
			must(t, json.Unmarshal(c.Body, v))
			return
		}
	}
	t.Fatalf("no %s call for %s", activity, key)
}
