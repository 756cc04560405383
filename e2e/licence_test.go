package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
)

// licenceProduct is a licence product sold by the seat and the month.
var licenceProduct = catalog.Product{Type: catalog.License, Name: "Souk Notes Desktop", Description: "Notes, offline.", Public: true,
	Specs: []catalog.Spec{{Code: "seat", Name: "Seat", Charging: catalog.ChargePeriod, Period: catalog.Month,
		Price: catalog.Price{Amount: 5000, Currency: "CNY"}, Quantity: &catalog.LinearQuantity{Unit: "seats", Min: 1, Max: 10, Step: 1}}}}

// Licence codes: issued on purchase, one per seat, the instance active at
// once and the seller told nothing; activated by the seller's software
// (the marketplace's open API side: order.ActivateLicense; the seller's
// side: its /control/licenses); a renewal → refreshLicenseCode for each
// code; the expiry sweep → updateLicenseCodeStatus FREEZE for each; the
// end of grace → releaseLicenseCode for each. The seller's licences follow.
func TestLicenceIssueActivateRenewExpire(t *testing.T) {
	each(t, opts{product: licenceProduct}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "seat", Quantity: 2}))
		if o.State != order.Completed || o.Amount != settle.M(10000, "CNY") {
			t.Fatalf("licence order = %s of %v, want completed, 100.00", o.State, o.Amount)
		}
		in := w.instance(t, b, o.Lines[0].InstanceID)
		codes := mustValue[[]order.License](t)(order.Licenses(ctx, w.db, b, in.ID))
		if in.State != order.Active || len(codes) != 2 || codes[0].State != order.LicenseIssued || codes[1].State != order.LicenseIssued {
			t.Fatalf("instance %s with codes %+v, want active with 2 issued", in.State, codes)
		}
		w.drive(t, time.Hour)
		if got := w.proc.received(t); len(got) != 0 {
			t.Fatalf("the seller received %v for a purchase of codes, want nothing", got)
		}

		for _, c := range codes {
			l := mustValue[order.License](t)(order.ActivateLicense(ctx, w.db, w.seller.SellerID, c.Code, time.Time{}))
			if l.State != order.LicenseActivated || !l.EffectiveAt.Equal(w.clock.Now()) {
				t.Fatalf("ActivateLicense() = %+v, want activated now", l)
			}
			w.proc.activateLicence(t, c.Code)
		}
		wantCode(t, "ActivateLicense(again)", errOf(order.ActivateLicense(ctx, w.db, w.seller.SellerID, codes[0].Code, time.Time{})), souk.ECONFLICT)

		w.advance(t, 7*24*time.Hour)
		r := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: in.ID}))
		expiry := time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC)
		if r.State != order.Completed || r.Amount != settle.M(10000, "CNY") {
			t.Fatalf("licence renewal = %s of %v, want completed, 100.00", r.State, r.Amount)
		}
		if in = w.instance(t, b, in.ID); !in.ExpiresAt.Equal(expiry) {
			t.Fatalf("expiry after the renewal = %v, want %v", in.ExpiresAt, expiry)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"refreshLicenseCode", "refreshLicenseCode"})
		var sent []string
		for _, a := range w.attempts(t, in.ID) {
			req := decode[protocol.RefreshLicenseCodeRequest](t, a.Request)
			if req.Scene != protocol.SceneRenewal || req.OrderID != r.ID || req.ExpireTime != protocol.FormatTime(expiry) {
				t.Fatalf("refreshLicenseCode sent %+v, want RENEWAL of %s to %s", req, r.ID, protocol.FormatTime(expiry))
			}
			sent = append(sent, req.License)
		}
		slices.Sort(sent)
		if want := []string{codes[0].Code, codes[1].Code}; !slices.Equal(sent, sortedCopy(want)) {
			t.Fatalf("refreshLicenseCode sent for %v, want each of %v", sent, want)
		}
		w.checkLicences(t, codes, "active", protocol.FormatTime(expiry), r.ID)

		w.clock.Set(expiry)
		if s := w.sweep(t); s != (order.Swept{Frozen: 1}) {
			t.Fatalf("sweep at the expiry = %+v, want one frozen", s)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"refreshLicenseCode", "refreshLicenseCode", "updateLicenseCodeStatus", "updateLicenseCodeStatus"})
		for _, a := range w.attempts(t, in.ID)[2:] {
			if st := statusOf(t, a); st != protocol.StatusFreeze {
				t.Fatalf("updateLicenseCodeStatus asked for %s, want FREEZE", st)
			}
		}
		w.checkLicences(t, codes, "frozen", protocol.FormatTime(expiry), r.ID)
		for _, c := range mustValue[[]order.License](t)(order.Licenses(ctx, w.db, b, in.ID)) {
			if c.State != order.LicenseFrozen {
				t.Fatalf("code %s is %s, want frozen", c.Code, c.State)
			}
		}

		w.clock.Set(expiry.Add(order.DefaultGrace))
		if s := w.sweep(t); s != (order.Swept{Released: 1}) {
			t.Fatalf("sweep at the end of grace = %+v, want one released", s)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"refreshLicenseCode", "refreshLicenseCode", "updateLicenseCodeStatus", "updateLicenseCodeStatus",
			"releaseLicenseCode", "releaseLicenseCode"})
		w.checkLicences(t, codes, "released", protocol.FormatTime(expiry), r.ID)
		for _, c := range mustValue[[]order.License](t)(order.Licenses(ctx, w.db, b, in.ID)) {
			if c.State != order.LicenseReleased {
				t.Fatalf("code %s is %s, want released", c.Code, c.State)
			}
		}
		if in = w.instance(t, b, in.ID); in.State != order.Released {
			t.Fatalf("instance = %s, want released", in.State)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-2*10000 {
			t.Fatalf("balance = %d, want %d", got, 100000-2*10000)
		}
	})
}

// checkLicences checks the seller's record of each code.
func (w *world) checkLicences(t *testing.T, codes []order.License, state, expireTime, orderID string) {
	t.Helper()
	got := w.proc.licences(t)
	for _, c := range codes {
		if l := got[c.Code]; l != (licence{State: state, ExpireTime: expireTime, OrderID: orderID}) {
			t.Fatalf("the seller has licence %s as %+v, want %s until %s by %s", c.Code, l, state, expireTime, orderID)
		}
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// A code never activated is one the seller has never heard of: the
// renewal, the freeze and the release go only for the activated code
// (each would otherwise fail with 000003 for the whole licence policy),
// while on the marketplace both codes move with the instance.
func TestLicenceNeverActivatedIsNotSentToTheSeller(t *testing.T) {
	each(t, opts{product: licenceProduct}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "seat", Quantity: 2}))
		in := w.instance(t, b, o.Lines[0].InstanceID)
		codes := mustValue[[]order.License](t)(order.Licenses(ctx, w.db, b, in.ID))
		active, idle := codes[0].Code, codes[1].Code
		mustValue[order.License](t)(order.ActivateLicense(ctx, w.db, w.seller.SellerID, active, time.Time{}))
		w.proc.activateLicence(t, active)

		r := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: in.ID}))
		w.drive(t, 5*time.Hour)
		in = w.instance(t, b, in.ID)
		w.clock.Set(in.ExpiresAt)
		w.sweep(t)
		w.drive(t, 5*time.Hour)
		w.clock.Set(in.ExpiresAt.Add(order.DefaultGrace))
		w.sweep(t)
		w.drive(t, 5*time.Hour)
		w.checkReceived(t, in.ID, []string{"refreshLicenseCode", "updateLicenseCodeStatus", "releaseLicenseCode"})
		for _, a := range w.attempts(t, in.ID) {
			if code := decode[struct{ License string }](t, a.Request).License; code != active {
				t.Fatalf("%s sent for code %s, want only the activated %s", a.Activity, code, active)
			}
		}
		if got := w.proc.licences(t); len(got) != 1 || got[active] != (licence{State: "released", ExpireTime: protocol.FormatTime(in.ExpiresAt), OrderID: r.ID}) {
			t.Fatalf("the seller's licences = %+v, want only %s, released", got, active)
		}
		for _, c := range mustValue[[]order.License](t)(order.Licenses(ctx, w.db, b, in.ID)) {
			if c.State != order.LicenseReleased {
				t.Fatalf("code %s is %s, want released (idle code %s too)", c.Code, c.State, idle)
			}
		}
	})
}
