package e2e

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
	"github.com/souk-market/souk/settle"
)

// licenceProduct is a licence product sold by the seat and the month.
var licenceProduct = catalog.Product{Type: catalog.License, Name: "Souk Notes Desktop", Description: "Notes, offline.", Public: true,
	Specs: []catalog.Spec{{Code: "seat", Name: "Seat", Charging: catalog.ChargePeriod, Period: catalog.Month,
		Price: catalog.Price{Amount: 5000, Currency: "CNY"}, Quantity: &catalog.LinearQuantity{Unit: "seats", Min: 1, Max: 10, Step: 1}}}}

// The open API's answers to a licence activation, as the seller passes
// them on (sellerapi/doc.go): 92020000 activated, 92020003 not in a state
// to activate (already activated, frozen or released).
const (
	licenceActivated    = string(sellerkit.LicenseActivated)
	licenceIllegalState = string(sellerkit.LicenseIllegalState)
)

// activateThroughSeller activates code as the seller's software does: POST
// /activate on the seller process, which calls the marketplace's open API,
// signed with its wall clock (the fake clock must be near it). It checks
// the seller's answer: 200 with 92020000 and the code active.
func (w *world) activateThroughSeller(t *testing.T, code string) {
	t.Helper()
	w.checkNearWallClock(t)
	if a := w.proc.activate(t, code); a.Status != 200 || a.ResultCode != licenceActivated || a.License != code || a.State != "active" {
		t.Fatalf("POST /activate %s = %d %+v, want 200, %s, the code active", code, a.Status, a, licenceActivated)
	}
}

// Licence codes through the open API, one activated and one never: issued
// on purchase, one per seat, the instance active at once and the seller
// told nothing; the buyer enters one code in the seller's software, which
// activates it by a signed call to the marketplace's open API (POST
// /activate on the seller process → POST /api/v1/license/activate) and
// records it; activating it again is refused by the marketplace
// (92020003), and the seller says so. A renewal → refreshLicenseCode for
// the activated code only (the seller knows it, so it succeeds: it answers
// 000003 for a code it does not know); the expiry sweep →
// updateLicenseCodeStatus FREEZE; the end of grace → releaseLicenseCode.
// The code never activated moves with the instance on the marketplace and
// is never sent to the seller.
//
// The open API checks the seller's (wall-clock) timestamp against the fake
// clock, so the world starts at the wall clock (opts.openAPI) and the code
// is activated before the clock moves.
func TestLicenceIssueActivateRenewExpire(t *testing.T) {
	each(t, opts{product: licenceProduct, openAPI: true}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "seat", Quantity: 2}))
		if o.State != order.Completed || o.Amount != settle.M(10000, "CNY") {
			t.Fatalf("licence order = %s of %v, want completed, 100.00", o.State, o.Amount)
		}
		in := w.instance(t, b, o.Lines[0].InstanceID)
		if first := addMonths(w.start, 1); !in.ExpiresAt.Equal(first) {
			t.Fatalf("expiry after the purchase = %v, want %v", in.ExpiresAt, first)
		}
		codes := mustValue[[]order.License](t)(order.Licenses(ctx, w.db, b, in.ID))
		if in.State != order.Active || len(codes) != 2 || codes[0].State != order.LicenseIssued || codes[1].State != order.LicenseIssued {
			t.Fatalf("instance %s with codes %+v, want active with 2 issued", in.State, codes)
		}
		active, idle := codes[0].Code, codes[1].Code

		// The buyer enters one code in the seller's software.
		w.activateThroughSeller(t, active)
		w.checkCodes(t, b, in.ID, map[string]order.LicenseState{active: order.LicenseActivated, idle: order.LicenseIssued}, w.start)
		if got := w.proc.licences(t); !maps.Equal(got, map[string]licence{active: {State: "active"}}) {
			t.Fatalf("the seller's licences after the activation = %+v, want only %s, active", got, active)
		}
		// Again: the marketplace refuses, and the seller passes its code on.
		if a := w.proc.activate(t, active); a.Status != 409 || a.ResultCode != licenceIllegalState {
			t.Fatalf("POST /activate %s again = %d %+v, want 409 with the marketplace's %s", active, a.Status, a, licenceIllegalState)
		}
		w.checkCodes(t, b, in.ID, map[string]order.LicenseState{active: order.LicenseActivated, idle: order.LicenseIssued}, w.start)
		if got := w.proc.licences(t); !maps.Equal(got, map[string]licence{active: {State: "active"}}) {
			t.Fatalf("the seller's licences after activating again = %+v, want only %s, active", got, active)
		}
		w.drive(t, time.Hour)
		if got := w.proc.received(t); len(got) != 0 {
			t.Fatalf("the seller received %v for a purchase and an activation of codes, want nothing", got)
		}

		w.advance(t, 7*24*time.Hour)
		r := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: in.ID}))
		expiry := addMonths(in.ExpiresAt, 1)
		if r.State != order.Completed || r.Amount != settle.M(10000, "CNY") {
			t.Fatalf("licence renewal = %s of %v, want completed, 100.00", r.State, r.Amount)
		}
		if in = w.instance(t, b, in.ID); !in.ExpiresAt.Equal(expiry) {
			t.Fatalf("expiry after the renewal = %v, want %v", in.ExpiresAt, expiry)
		}
		w.drive(t, time.Hour)
		// Succeeded at the seller: it knows the code from the activation.
		w.checkReceived(t, in.ID, []string{"refreshLicenseCode"})
		req := decode[protocol.RefreshLicenseCodeRequest](t, w.attempts(t, in.ID)[0].Request)
		if req.License != active || req.Scene != protocol.SceneRenewal || req.OrderID != r.ID || req.ExpireTime != protocol.FormatTime(expiry) {
			t.Fatalf("refreshLicenseCode sent %+v, want RENEWAL of %s for %s to %s", req, r.ID, active, protocol.FormatTime(expiry))
		}
		w.checkLicences(t, []string{active}, "active", protocol.FormatTime(expiry), r.ID)

		w.clock.Set(expiry)
		if s := w.sweep(t); s != (order.Swept{Frozen: 1}) {
			t.Fatalf("sweep at the expiry = %+v, want one frozen", s)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"refreshLicenseCode", "updateLicenseCodeStatus"})
		if a := w.attempts(t, in.ID)[1]; statusOf(t, a) != protocol.StatusFreeze || licenceOf(t, a) != active {
			t.Fatalf("updateLicenseCodeStatus asked for %s of %s, want FREEZE of %s", statusOf(t, a), licenceOf(t, a), active)
		}
		w.checkLicences(t, []string{active}, "frozen", protocol.FormatTime(expiry), r.ID)
		w.checkCodes(t, b, in.ID, map[string]order.LicenseState{active: order.LicenseFrozen, idle: order.LicenseFrozen}, time.Time{})

		w.clock.Set(expiry.Add(order.DefaultGrace))
		if s := w.sweep(t); s != (order.Swept{Released: 1}) {
			t.Fatalf("sweep at the end of grace = %+v, want one released", s)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, in.ID, []string{"refreshLicenseCode", "updateLicenseCodeStatus", "releaseLicenseCode"})
		if a := w.attempts(t, in.ID)[2]; licenceOf(t, a) != active {
			t.Fatalf("releaseLicenseCode sent for %s, want %s", licenceOf(t, a), active)
		}
		// The idle code was never sent: the seller knows only the other.
		if got := w.proc.licences(t); !maps.Equal(got, map[string]licence{active: {State: "released", ExpireTime: protocol.FormatTime(expiry), OrderID: r.ID}}) {
			t.Fatalf("the seller's licences = %+v, want only %s, released", got, active)
		}
		w.checkCodes(t, b, in.ID, map[string]order.LicenseState{active: order.LicenseReleased, idle: order.LicenseReleased}, time.Time{})
		if in = w.instance(t, b, in.ID); in.State != order.Released {
			t.Fatalf("instance = %s, want released", in.State)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-2*10000 {
			t.Fatalf("balance = %d, want %d", got, 100000-2*10000)
		}
	})
}

// licenceOf returns the code a licence call was about.
func licenceOf(t *testing.T, a attempt) string {
	t.Helper()
	return decode[struct{ License string }](t, a.Request).License
}

// checkCodes checks the marketplace's codes of instance in: exactly the
// codes of want, each in its state, and, when effective is set, the
// activated ones effective then.
func (w *world) checkCodes(t *testing.T, b souk.Actor, in string, want map[string]order.LicenseState, effective time.Time) {
	t.Helper()
	got := mustValue[[]order.License](t)(order.Licenses(ctx, w.db, b, in))
	if len(got) != len(want) {
		t.Fatalf("the marketplace's codes = %+v, want %v", got, want)
	}
	for _, c := range got {
		if st, ok := want[c.Code]; !ok || c.State != st {
			t.Fatalf("the marketplace has code %s %s, want %v", c.Code, c.State, want)
		}
		if c.State == order.LicenseActivated && !effective.IsZero() && !c.EffectiveAt.Equal(effective) {
			t.Fatalf("code %s effective at %v, want %v (activated now, on the fake clock)", c.Code, c.EffectiveAt, effective)
		}
	}
}

// checkLicences checks the seller's record of each code.
func (w *world) checkLicences(t *testing.T, codes []string, state, expireTime, orderID string) {
	t.Helper()
	got := w.proc.licences(t)
	for _, c := range codes {
		if l := got[c]; l != (licence{State: state, ExpireTime: expireTime, OrderID: orderID}) {
			t.Fatalf("the seller has licence %s as %+v, want %s until %s by %s", c, l, state, expireTime, orderID)
		}
	}
}

// Every activated code is told, one call each, and no other: three seats,
// two codes activated through the seller's software and the open API, one
// never. The renewal, the freeze and the release go for each of the two
// (each would otherwise fail with 000003 for the whole licence policy),
// while on the marketplace all three codes move with the instance.
func TestLicenceNeverActivatedIsNotSentToTheSeller(t *testing.T) {
	each(t, opts{product: licenceProduct, openAPI: true}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "seat", Quantity: 3}))
		in := w.instance(t, b, o.Lines[0].InstanceID)
		codes := mustValue[[]order.License](t)(order.Licenses(ctx, w.db, b, in.ID))
		if len(codes) != 3 {
			t.Fatalf("codes = %+v, want 3", codes)
		}
		activated, idle := []string{codes[0].Code, codes[2].Code}, codes[1].Code
		for _, c := range activated {
			w.activateThroughSeller(t, c)
		}
		w.checkCodes(t, b, in.ID, map[string]order.LicenseState{activated[0]: order.LicenseActivated, activated[1]: order.LicenseActivated,
			idle: order.LicenseIssued}, w.start)

		r := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: in.ID}))
		w.drive(t, 5*time.Hour)
		in = w.instance(t, b, in.ID)
		w.clock.Set(in.ExpiresAt)
		w.sweep(t)
		w.drive(t, 5*time.Hour)
		w.clock.Set(in.ExpiresAt.Add(order.DefaultGrace))
		w.sweep(t)
		w.drive(t, 5*time.Hour)
		w.checkReceived(t, in.ID, []string{"refreshLicenseCode", "refreshLicenseCode", "updateLicenseCodeStatus", "updateLicenseCodeStatus",
			"releaseLicenseCode", "releaseLicenseCode"})
		perActivity := map[protocol.Activity][]string{}
		for _, a := range w.attempts(t, in.ID) {
			perActivity[a.Activity] = append(perActivity[a.Activity], licenceOf(t, a))
		}
		for act, sent := range perActivity {
			if slices.Sort(sent); !slices.Equal(sent, sortedCopy(activated)) {
				t.Fatalf("%s sent for %v, want each of the activated %v (not %s)", act, sent, activated, idle)
			}
		}
		want := map[string]licence{}
		for _, c := range activated {
			want[c] = licence{State: "released", ExpireTime: protocol.FormatTime(in.ExpiresAt), OrderID: r.ID}
		}
		if got := w.proc.licences(t); !maps.Equal(got, want) {
			t.Fatalf("the seller's licences = %+v, want %+v", got, want)
		}
		w.checkCodes(t, b, in.ID, map[string]order.LicenseState{activated[0]: order.LicenseReleased, activated[1]: order.LicenseReleased,
			idle: order.LicenseReleased}, time.Time{})
	})
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
