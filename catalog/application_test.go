package catalog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

// applicationIn returns a new application of kind, by certified seller m,
// brought to state.
func (e *env) applicationIn(t *testing.T, m souk.Actor, kind catalog.ApplicationKind, state catalog.State) int64 {
	t.Helper()
	var id int64
	switch kind {
	case catalog.KindPublish:
		id = mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product())).ApplicationID
	case catalog.KindModify:
		id = mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, e.listed(t, m, product())))
	case catalog.KindDelistSpec:
		id = mustValue[int64](t)(catalog.DelistSpec(ctx, e.db, m, e.listed(t, m, product()), "pro"))
	}
	if state == catalog.Draft {
		return id
	}
	must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, id))
	switch state {
	case catalog.Approved:
		must(t, catalog.ApproveApplication(ctx, e.db, e.operator, id))
	case catalog.Rejected:
		must(t, catalog.RejectApplication(ctx, e.db, e.operator, id, "Screenshots missing."))
	case catalog.Withdrawn:
		must(t, catalog.WithdrawApplication(ctx, e.db, m, id, "Wrong price."))
	}
	return id
}

func TestApplicationTransitions(t *testing.T) {
	const (
		ok       = ""
		conflict = souk.ECONFLICT
		gone     = catalog.State("(deleted)")
		newDraft = catalog.State("(unchanged, a new draft made)")
	)
	tests := []struct {
		from      catalog.State
		action    string
		wantCode  string
		wantState catalog.State // of the application acted on
	}{
		{catalog.Draft, "update", ok, catalog.Draft},
		{catalog.Draft, "submit", ok, catalog.Submitted},
		{catalog.Draft, "withdraw", conflict, catalog.Draft},
		{catalog.Draft, "approve", conflict, catalog.Draft},
		{catalog.Draft, "reject", conflict, catalog.Draft},
		{catalog.Draft, "discard", ok, gone},
		{catalog.Draft, "revise", conflict, catalog.Draft},

		{catalog.Submitted, "update", conflict, catalog.Submitted},
		{catalog.Submitted, "submit", conflict, catalog.Submitted},
		{catalog.Submitted, "withdraw", ok, catalog.Withdrawn},
		{catalog.Submitted, "approve", ok, catalog.Approved},
		{catalog.Submitted, "reject", ok, catalog.Rejected},
		{catalog.Submitted, "discard", conflict, catalog.Submitted},
		{catalog.Submitted, "revise", conflict, catalog.Submitted},

		{catalog.Approved, "update", conflict, catalog.Approved},
		{catalog.Approved, "submit", conflict, catalog.Approved},
		{catalog.Approved, "withdraw", conflict, catalog.Approved},
		{catalog.Approved, "approve", conflict, catalog.Approved},
		{catalog.Approved, "reject", conflict, catalog.Approved},
		{catalog.Approved, "discard", conflict, catalog.Approved},
		{catalog.Approved, "revise", conflict, catalog.Approved},

		{catalog.Rejected, "update", conflict, catalog.Rejected},
		{catalog.Rejected, "submit", conflict, catalog.Rejected},
		{catalog.Rejected, "withdraw", conflict, catalog.Rejected},
		{catalog.Rejected, "approve", conflict, catalog.Rejected},
		{catalog.Rejected, "reject", conflict, catalog.Rejected},
		{catalog.Rejected, "discard", conflict, catalog.Rejected},
		{catalog.Rejected, "revise", ok, newDraft},

		{catalog.Withdrawn, "update", conflict, catalog.Withdrawn},
		{catalog.Withdrawn, "submit", conflict, catalog.Withdrawn},
		{catalog.Withdrawn, "withdraw", conflict, catalog.Withdrawn},
		{catalog.Withdrawn, "approve", conflict, catalog.Withdrawn},
		{catalog.Withdrawn, "reject", conflict, catalog.Withdrawn},
		{catalog.Withdrawn, "discard", conflict, catalog.Withdrawn},
		{catalog.Withdrawn, "revise", ok, newDraft},
	}
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		for _, kind := range []catalog.ApplicationKind{catalog.KindPublish, catalog.KindModify, catalog.KindDelistSpec} {
			for _, tt := range tests {
				t.Run(fmt.Sprintf("%s/%s/%s", kind, tt.from, tt.action), func(t *testing.T) {
					id := e.applicationIn(t, m, kind, tt.from)
					want, wantState := tt.wantCode, tt.wantState
					if kind == catalog.KindDelistSpec && tt.action == "update" && tt.from == catalog.Draft {
						want = conflict // a delisting has nothing to edit
					}
					var err error
					revised := int64(0)
					switch tt.action {
					case "update":
						p := product()
						p.Name = "Ledger Cloud 2"
						err = catalog.UpdateDraft(ctx, e.db, e.set, m, id, p)
					case "submit":
						err = catalog.SubmitApplication(ctx, e.db, e.set, m, id)
					case "withdraw":
						err = catalog.WithdrawApplication(ctx, e.db, m, id, "")
					case "approve":
						err = catalog.ApproveApplication(ctx, e.db, e.operator, id)
					case "reject":
						err = catalog.RejectApplication(ctx, e.db, e.operator, id, "Not yet.")
					case "discard":
						err = catalog.DiscardDraft(ctx, e.db, m, id)
					case "revise":
						revised, err = catalog.ReviseRejected(ctx, e.db, m, id)
					}
					wantCode(t, tt.action+"()", err, want)
					got, err := catalog.GetApplication(ctx, e.db, m, id)
					switch wantState {
					case gone:
						wantCode(t, "GetApplication() after discard", err, souk.ENOTFOUND)
					case newDraft:
						must(t, err)
						if got.State != tt.from {
							t.Errorf("state after revise = %s, want %s", got.State, tt.from)
						}
						draft := e.app(t, revised)
						if draft.State != catalog.Draft || draft.RevisedFrom != id || draft.Kind != kind || draft.Snapshot.Name != got.Snapshot.Name {
							t.Errorf("ReviseRejected() made %+v, want a %s draft revising %d", draft, kind, id)
						}
					default:
						must(t, err)
						if got.State != wantState {
							t.Errorf("state after %s = %s, want %s", tt.action, got.State, wantState)
						}
					}
				})
			}
		}
	})
}

// Rule 1: an approved but uncertified seller keeps drafts and submits
// nothing, and the refusal says why.
func TestSubmitNeedsCertification(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, approvedSeller)
		np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product()))
		must(t, catalog.UpdateDraft(ctx, e.db, e.set, m, np.ApplicationID, product()))

		const why = "Business information must be certified before submitting for publication."
		submit := func() error { return catalog.SubmitApplication(ctx, e.db, e.set, m, np.ApplicationID) }
		refused := func(stage string) {
			t.Helper()
			err := submit()
			if !errors.Is(err, catalog.ErrUncertified) || souk.ErrorCode(err) != souk.ECONFLICT || souk.ErrorMessage(err) != why {
				t.Fatalf("SubmitApplication() %s = %v, want ECONFLICT %q", stage, err, why)
			}
		}
		refused("without certification")
		cert := mustValue[int64](t)(catalog.SubmitCertification(ctx, e.db, m, certification()))
		refused("with certification pending")
		must(t, catalog.RejectCertification(ctx, e.db, e.operator, cert, "Unreadable."))
		refused("with certification rejected")
		if got := e.app(t, np.ApplicationID).State; got != catalog.Draft {
			t.Fatalf("application after refusals is %s, want draft", got)
		}
		cert = mustValue[int64](t)(catalog.SubmitCertification(ctx, e.db, m, certification()))
		must(t, catalog.ApproveCertification(ctx, e.db, e.operator, cert))
		must(t, submit())

		t.Run("pending seller cannot even draft", func(t *testing.T) {
			_, err := catalog.CreateProduct(ctx, e.db, e.set, e.newSeller(t, pendingSeller), product())
			wantCode(t, "CreateProduct()", err, souk.ECONFLICT)
		})
	})
}

// Rule 2: a rejected application is modified starting from the latest
// rejected record.
func TestReviseFromLatestRejected(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		first := e.applicationIn(t, m, catalog.KindPublish, catalog.Rejected)

		second := mustValue[int64](t)(catalog.ReviseRejected(ctx, e.db, m, first))
		p := product()
		p.Name = "Ledger Cloud (second try)"
		must(t, catalog.UpdateDraft(ctx, e.db, e.set, m, second, p))
		_, err := catalog.ReviseRejected(ctx, e.db, m, first)
		wantCode(t, "ReviseRejected(first) while second is open", err, souk.ECONFLICT)
		must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, second))
		must(t, catalog.RejectApplication(ctx, e.db, e.operator, second, "Still no screenshots."))

		_, err = catalog.ReviseRejected(ctx, e.db, m, first)
		wantCode(t, "ReviseRejected(older rejected)", err, souk.ECONFLICT)
		if msg := souk.ErrorMessage(err); !strings.Contains(msg, fmt.Sprintf("application %d", second)) {
			t.Fatalf("ReviseRejected(older rejected) = %q, want it to name the latest, application %d", msg, second)
		}
		third := mustValue[int64](t)(catalog.ReviseRejected(ctx, e.db, m, second))
		if got := e.app(t, third); got.Snapshot.Name != p.Name || got.RevisedFrom != second {
			t.Fatalf("ReviseRejected(latest) = %+v, want a draft of the latest record (%q)", got, p.Name)
		}
		must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, third))
		must(t, catalog.ApproveApplication(ctx, e.db, e.operator, third))
		_, err = catalog.ReviseRejected(ctx, e.db, m, second)
		wantCode(t, "ReviseRejected() after a later approval", err, souk.ECONFLICT)

		apps := mustValue[[]catalog.Application](t)(catalog.MyApplications(ctx, e.db, m))
		var ids []int64
		for _, a := range apps {
			if a.ProductID == e.app(t, first).ProductID {
				ids = append(ids, a.ID)
			}
		}
		if want := []int64{third, second, first}; fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("MyApplications() for the product = %v, want %v (newest first)", ids, want)
		}
	})
}

// Rule 3: a listed product changes only through an approved modification;
// until then buyers see the listed version.
func TestListedChangesNeedApproval(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		id := e.listed(t, m, product())
		b := buyer()
		listedName := func() string {
			t.Helper()
			v := mustValue[catalog.ProductView](t)(catalog.GetProduct(ctx, e.db, b, id))
			return v.Listed.Name
		}
		inCatalogue := func(name string) bool {
			t.Helper()
			ps := mustValue[[]catalog.Product](t)(catalog.ListProducts(ctx, e.db, catalog.Filter{Text: name}))
			return len(ps) == 1 && ps[0].ID == id
		}

		app := mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, id))
		p := product()
		p.Name = "Ledger Cloud Plus"
		p.Specs = append(p.Specs, catalog.Spec{Code: "team", Name: "Team", Charging: catalog.ChargeOneTime, Price: catalog.Price{Amount: 500000, Currency: "CNY"}})
		must(t, catalog.UpdateDraft(ctx, e.db, e.set, m, app, p))
		must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, app))

		if got := listedName(); got != "Ledger Cloud" {
			t.Fatalf("GetProduct() while the modification is submitted = %q, want the listed %q", got, "Ledger Cloud")
		}
		if inCatalogue("Plus") || !inCatalogue("Ledger Cloud") {
			t.Fatalf("ListProducts() shows the unapproved modification")
		}
		wantCode(t, "CheckPurchase(unapproved spec)", catalog.CheckPurchase(ctx, e.db, b, id, "team", catalog.PurchaseCheck{}), souk.ENOTFOUND)
		own := mustValue[catalog.ProductView](t)(catalog.GetProduct(ctx, e.db, m, id))
		if own.Listed.Name != "Ledger Cloud" || own.Open == nil || own.Open.ID != app || own.Open.Snapshot.Name != p.Name {
			t.Fatalf("GetProduct() for the seller = listed %q, open %+v; want the listed version and application %d", own.Listed.Name, own.Open, app)
		}

		must(t, catalog.RejectApplication(ctx, e.db, e.operator, app, "Team price too high for the category."))
		if got := listedName(); got != "Ledger Cloud" {
			t.Fatalf("GetProduct() after rejection = %q, want the listed %q", got, "Ledger Cloud")
		}
		again := mustValue[int64](t)(catalog.ReviseRejected(ctx, e.db, m, app))
		must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, again))
		e.clock.Advance(time.Second)
		must(t, catalog.ApproveApplication(ctx, e.db, e.operator, again))
		if got := listedName(); got != p.Name {
			t.Fatalf("GetProduct() after approval = %q, want %q", got, p.Name)
		}
		if !inCatalogue("Plus") {
			t.Fatalf("ListProducts() does not show the approved modification")
		}
		must(t, catalog.CheckPurchase(ctx, e.db, b, id, "team", catalog.PurchaseCheck{}))
	})
}

// Rule 4: a modification cannot delete a listed spec; a spec leaves only by
// its own delisting, which is final.
func TestListedSpecsCannotBeDeleted(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		id := e.listed(t, m, product())

		app := mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, id))
		p := product()
		p.Specs = p.Specs[:1] // drops "pro"
		must(t, catalog.UpdateDraft(ctx, e.db, e.set, m, app, p))
		err := catalog.SubmitApplication(ctx, e.db, e.set, m, app)
		wantCode(t, "SubmitApplication(without a listed spec)", err, souk.ECONFLICT)
		if msg := souk.ErrorMessage(err); !strings.Contains(msg, "spec pro (Pro)") {
			t.Fatalf("SubmitApplication() = %q, want it to name spec pro (Pro)", msg)
		}
		_, err = catalog.DelistSpec(ctx, e.db, m, id, "pro")
		wantCode(t, "DelistSpec() while a modification is open", err, souk.ECONFLICT)
		must(t, catalog.DiscardDraft(ctx, e.db, m, app))

		delist := mustValue[int64](t)(catalog.DelistSpec(ctx, e.db, m, id, "pro"))
		must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, delist))
		b := buyer()
		must(t, catalog.CheckPurchase(ctx, e.db, b, id, "pro", catalog.PurchaseCheck{Quantity: 5}))
		must(t, catalog.ApproveApplication(ctx, e.db, e.operator, delist))

		v := mustValue[catalog.ProductView](t)(catalog.GetProduct(ctx, e.db, b, id))
		if _, ok := v.Listed.Spec("pro"); ok || fmt.Sprint(v.Delisted) != "[pro]" {
			t.Fatalf("GetProduct() after delisting = specs %+v, delisted %v; want pro gone and delisted", v.Listed.Specs, v.Delisted)
		}
		wantCode(t, "CheckPurchase(delisted)", catalog.CheckPurchase(ctx, e.db, b, id, "pro", catalog.PurchaseCheck{Quantity: 5}), souk.ECONFLICT)

		// Final: a later modification cannot bring it back.
		back := mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, id))
		must(t, catalog.UpdateDraft(ctx, e.db, e.set, m, back, product()))
		err = catalog.SubmitApplication(ctx, e.db, e.set, m, back)
		wantCode(t, "SubmitApplication(bringing a delisted spec back)", err, souk.ECONFLICT)
		if msg := souk.ErrorMessage(err); !strings.Contains(msg, "pro") || !strings.Contains(msg, "never") {
			t.Fatalf("SubmitApplication() = %q, want it to say spec pro can never come back", msg)
		}
		must(t, catalog.DiscardDraft(ctx, e.db, m, back))

		tests := []struct {
			code string
			want string
		}{
			{"pro", souk.ECONFLICT},     // delisted already
			{"basic", souk.ECONFLICT},   // the last spec
			{"nothing", souk.ENOTFOUND}, // no such spec
		}
		for _, tt := range tests {
			_, err := catalog.DelistSpec(ctx, e.db, m, id, tt.code)
			wantCode(t, "DelistSpec("+tt.code+")", err, tt.want)
		}

		t.Run("type cannot change", func(t *testing.T) {
			app := mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, id))
			p := product()
			p.Specs = p.Specs[:1]
			p.Type = catalog.License
			must(t, catalog.UpdateDraft(ctx, e.db, e.set, m, app, p))
			wantCode(t, "SubmitApplication(new type)", catalog.SubmitApplication(ctx, e.db, e.set, m, app), souk.ECONFLICT)
		})
	})
}

func TestOneOpenApplicationPerProduct(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		id := e.listed(t, m, product())
		first := mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, id))
		_, err := catalog.ModifyProduct(ctx, e.db, m, id)
		wantCode(t, "ModifyProduct() again", err, souk.ECONFLICT)
		must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, first))
		_, err = catalog.ModifyProduct(ctx, e.db, m, id)
		wantCode(t, "ModifyProduct() while submitted", err, souk.ECONFLICT)
		must(t, catalog.WithdrawApplication(ctx, e.db, m, first, "Changed my mind."))
		mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, id))

		np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product()))
		_, err = catalog.ModifyProduct(ctx, e.db, m, np.ProductID)
		wantCode(t, "ModifyProduct(never listed)", err, souk.ECONFLICT)
	})
}

func TestDiscardDraft(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product()))
		must(t, catalog.DiscardDraft(ctx, e.db, m, np.ApplicationID))
		_, err := catalog.GetProduct(ctx, e.db, m, np.ProductID)
		wantCode(t, "GetProduct() of a discarded new product", err, souk.ENOTFOUND)

		id := e.listed(t, m, product())
		app := mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, id))
		must(t, catalog.DiscardDraft(ctx, e.db, m, app))
		if v := mustValue[catalog.ProductView](t)(catalog.GetProduct(ctx, e.db, m, id)); v.Listed == nil || v.Open != nil {
			t.Fatalf("GetProduct() after discarding a modification = %+v, want still listed, nothing open", v)
		}

		// A product never listed keeps its rejected history when a later
		// draft is discarded.
		rejected := e.applicationIn(t, m, catalog.KindPublish, catalog.Rejected)
		draft := mustValue[int64](t)(catalog.ReviseRejected(ctx, e.db, m, rejected))
		must(t, catalog.DiscardDraft(ctx, e.db, m, draft))
		mustValue[int64](t)(catalog.ReviseRejected(ctx, e.db, m, rejected))
	})
}

func TestReviewsAreAudited(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		rejected := e.applicationIn(t, m, catalog.KindPublish, catalog.Rejected)
		e.clock.Advance(time.Minute)
		withdrawn := e.applicationIn(t, m, catalog.KindPublish, catalog.Withdrawn)
		e.clock.Advance(time.Minute)
		approved := e.applicationIn(t, m, catalog.KindPublish, catalog.Approved)

		reviews := mustValue[[]catalog.Review](t)(catalog.Reviews(ctx, e.db, m, m.SellerID))
		var got []string
		for _, r := range reviews {
			if r.Subject == "application" {
				got = append(got, fmt.Sprintf("%d %s by %s (%s) at %s: %s", r.SubjectID, r.Action, r.By, r.Role, r.At.Format("15:04"), r.Reason))
			}
		}
		want := []string{
			fmt.Sprintf("%d approve by op-1 (operator) at 09:02: ", approved),
			fmt.Sprintf("%d withdraw by %s (seller) at 09:01: Wrong price.", withdrawn, m.UserID),
			fmt.Sprintf("%d reject by op-1 (operator) at 09:00: Screenshots missing.", rejected),
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("Reviews() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestSubmitRevalidatesTheSnapshot(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		dev := e.set
		dev.AllowPrivateURLs = true
		p := product()
		p.ProductionURL = "https://127.0.0.1:8443/produce"
		np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, dev, m, p))
		wantCode(t, "SubmitApplication() under stricter settings", catalog.SubmitApplication(ctx, e.db, e.set, m, np.ApplicationID), souk.EINVALID)
		must(t, catalog.SubmitApplication(ctx, e.db, dev, m, np.ApplicationID))
	})
}

// A modification cannot change how a listed spec is sold (its charging
// mode or period): what was bought of it is renewed, changed and refunded
// by it. A new way of selling is a new spec.
func TestListedSpecsKeepHowTheyAreSold(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		id := e.listed(t, m, product())
		for _, change := range []func(*catalog.Spec){
			func(s *catalog.Spec) {
				s.Period = map[string]string{catalog.Month: catalog.Year, catalog.Year: catalog.Month}[s.Period]
			},
			func(s *catalog.Spec) { s.Charging, s.Period = catalog.ChargeOneTime, "" },
		} {
			app := mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, id))
			p := product()
			change(&p.Specs[0])
			must(t, catalog.UpdateDraft(ctx, e.db, e.set, m, app, p))
			err := catalog.SubmitApplication(ctx, e.db, e.set, m, app)
			wantCode(t, "SubmitApplication(a listed spec sold another way)", err, souk.ECONFLICT)
			if msg := souk.ErrorMessage(err); !strings.Contains(msg, "cannot change how a spec is sold") {
				t.Fatalf("SubmitApplication() = %q", msg)
			}
			must(t, catalog.DiscardDraft(ctx, e.db, m, app))
		}
		// A price change is fine.
		app := mustValue[int64](t)(catalog.ModifyProduct(ctx, e.db, m, id))
		p := product()
		p.Specs[0].Price.Amount += 100
		must(t, catalog.UpdateDraft(ctx, e.db, e.set, m, app, p))
		must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, app))
	})
}
