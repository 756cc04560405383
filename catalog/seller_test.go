package catalog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/store"
)

func TestOnboardingTransitions(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		tests := []struct {
			from      int // seller stage, or rejected
			action    string
			wantCode  string
			wantState catalog.State
		}{
			{pendingSeller, "approve", "", catalog.Approved},
			{pendingSeller, "reject", "", catalog.Rejected},
			{pendingSeller, "apply", souk.ECONFLICT, catalog.Pending},
			{approvedSeller, "approve", souk.ECONFLICT, catalog.Approved},
			{approvedSeller, "reject", souk.ECONFLICT, catalog.Approved},
			{approvedSeller, "apply", souk.ECONFLICT, catalog.Approved},
			{rejectedSeller, "approve", souk.ECONFLICT, catalog.Rejected},
			{rejectedSeller, "reject", souk.ECONFLICT, catalog.Rejected},
			{rejectedSeller, "apply", "", catalog.Pending},
		}
		for _, tt := range tests {
			member := e.sellerAt(t, tt.from)
			t.Run(string(e.sellerState(t, member))+"/"+tt.action, func(t *testing.T) {
				var err error
				switch tt.action {
				case "approve":
					err = catalog.ApproveSeller(ctx, e.db, e.operator, member.SellerID)
				case "reject":
					err = catalog.RejectSeller(ctx, e.db, e.operator, member.SellerID, "Registration certificate is unreadable.")
				case "apply":
					_, err = catalog.Apply(ctx, e.db, member, joinApplication())
				}
				wantCode(t, tt.action+"()", err, tt.wantCode)
				if got := e.sellerState(t, member); got != tt.wantState {
					t.Errorf("state after %s = %s, want %s", tt.action, got, tt.wantState)
				}
			})
		}
	})
}

const rejectedSeller = -1

func (e *env) sellerAt(t *testing.T, stage int) souk.Actor {
	t.Helper()
	if stage != rejectedSeller {
		return e.newSeller(t, stage)
	}
	m := e.newSeller(t, pendingSeller)
	must(t, catalog.RejectSeller(ctx, e.db, e.operator, m.SellerID, "Incomplete."))
	return m
}

func (e *env) sellerState(t *testing.T, member souk.Actor) catalog.State {
	t.Helper()
	return mustValue[catalog.Seller](t)(catalog.GetSeller(ctx, e.db, e.operator, member.SellerID)).State
}

func TestRejectedSellerReappliesKeepingHistory(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		applicant := buyer()
		first := joinApplication()
		id := mustValue[string](t)(catalog.Apply(ctx, e.db, applicant, first))
		wantCode(t, "RejectSeller(no reason)", catalog.RejectSeller(ctx, e.db, e.operator, id, "  "), souk.EINVALID)
		must(t, catalog.RejectSeller(ctx, e.db, e.operator, id, "Registration number does not match the certificate."))

		// Not yet linked to the seller, the user applies again as a buyer:
		// the same seller, a new application.
		second := first
		second.RegistrationNumber += "9"
		again := mustValue[string](t)(catalog.Apply(ctx, e.db, applicant, second))
		if again != id {
			t.Fatalf("Apply() again = %s, want the same seller %s", again, id)
		}
		member := souk.Actor{UserID: applicant.UserID, Role: souk.RoleSeller, SellerID: id}
		apps := mustValue[[]catalog.SellerApplication](t)(catalog.SellerApplications(ctx, e.db, member, id))
		if len(apps) != 2 || apps[0].State != catalog.Pending || apps[1].State != catalog.Rejected ||
			apps[1].Reason != "Registration number does not match the certificate." || apps[0].RegistrationNumber != second.RegistrationNumber {
			t.Fatalf("SellerApplications() = %+v, want the new pending one and the rejected one with its reason", apps)
		}
		s := mustValue[catalog.Seller](t)(catalog.GetSeller(ctx, e.db, member, id))
		if s.State != catalog.Pending || s.RegistrationNumber != second.RegistrationNumber || s.FirstMember != applicant.UserID {
			t.Fatalf("GetSeller() = %+v, want pending, described by the new application", s)
		}
		pending := mustValue[[]catalog.SellerApplication](t)(catalog.PendingSellers(ctx, e.db, e.operator))
		if len(pending) != 1 || pending[0].ID != apps[0].ID {
			t.Fatalf("PendingSellers() = %+v, want only application %d", pending, apps[0].ID)
		}
		must(t, catalog.ApproveSeller(ctx, e.db, e.operator, id))
		reviews := mustValue[[]catalog.Review](t)(catalog.Reviews(ctx, e.db, e.operator, id))
		if len(reviews) != 2 || reviews[0].Action != "approve" || reviews[1].Action != "reject" || reviews[1].By != e.operator.UserID ||
			reviews[1].Reason == "" || reviews[0].Subject != "seller" || reviews[0].SubjectID != apps[0].ID {
			t.Fatalf("Reviews() = %+v, want the rejection then the approval, by the operator", reviews)
		}
	})
}

func TestApplyRefusals(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		taken := joinApplication()
		mustValue[string](t)(catalog.Apply(ctx, e.db, buyer(), taken))
		tests := []struct {
			name      string
			edit      func(*catalog.JoinApplication)
			by        souk.Actor
			wantCode  string
			wantInMsg string
		}{
			{"no company name", func(a *catalog.JoinApplication) { a.CompanyName = " " }, buyer(), souk.EINVALID, "companyName"},
			{"no registration number", func(a *catalog.JoinApplication) { a.RegistrationNumber = "" }, buyer(), souk.EINVALID, "registrationNumber"},
			{"no contact", func(a *catalog.JoinApplication) { a.ContactName = "" }, buyer(), souk.EINVALID, "contactName"},
			{"bad e-mail", func(a *catalog.JoinApplication) { a.ContactEmail = "sales at acme" }, buyer(), souk.EINVALID, "contactEmail"},
			{"bad phone", func(a *catalog.JoinApplication) { a.ContactPhone = "call us" }, buyer(), souk.EINVALID, "contactPhone"},
			{"registration number taken", func(a *catalog.JoinApplication) { a.RegistrationNumber = strings.ToLower(taken.RegistrationNumber) }, buyer(), souk.ECONFLICT, "registration number"},
			{"operator", func(*catalog.JoinApplication) {}, e.operator, souk.EUNAUTHORIZED, "Operators"},
			{"anonymous", func(*catalog.JoinApplication) {}, souk.Actor{}, souk.EUNAUTHENTICATED, "Sign in"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := joinApplication()
				tt.edit(&a)
				_, err := catalog.Apply(ctx, e.db, tt.by, a)
				wantCode(t, "Apply()", err, tt.wantCode)
				if !strings.Contains(souk.ErrorMessage(err), tt.wantInMsg) {
					t.Errorf("Apply() = %v, want a message mentioning %q", err, tt.wantInMsg)
				}
			})
		}
		t.Run("twice", func(t *testing.T) {
			b := buyer()
			mustValue[string](t)(catalog.Apply(ctx, e.db, b, joinApplication()))
			_, err := catalog.Apply(ctx, e.db, b, joinApplication())
			wantCode(t, "Apply() twice", err, souk.ECONFLICT)
		})
	})
}

// The documented way to link the applicant's account: ApplyTx and
// account.JoinSeller in one transaction, so that the seller and its first
// member appear together or not at all.
func TestApplyTxWithAccountJoinSeller(t *testing.T) {
	account.Params = account.TestParams // only this test hashes passwords
	each(t, func(t *testing.T, e *env) {
		u := mustValue[*account.User](t)(account.Register(ctx, e.db, account.Registration{
			Email: fmt.Sprintf("founder%d@acme.example", next()), Name: "Founder", Password: "correct horse battery",
		}))
		var sellerID string
		must(t, e.db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			if sellerID, err = catalog.ApplyTx(ctx, tx, u.Actor(), joinApplication()); err != nil {
				return err
			}
			return account.JoinSeller(ctx, tx, u.ID, sellerID)
		}))
		member := mustValue[*account.User](t)(account.GetUser(ctx, e.db, u.Actor(), u.ID)).Actor()
		if !member.IsSellerMember(sellerID) {
			t.Fatalf("user after ApplyTx and JoinSeller = %+v, want a member of %s", member, sellerID)
		}
		if s := mustValue[catalog.Seller](t)(catalog.GetSeller(ctx, e.db, member, sellerID)); s.FirstMember != u.ID || s.State != catalog.Pending {
			t.Fatalf("GetSeller() = %+v, want pending with first member %s", s, u.ID)
		}

		// JoinSeller refusing (the user belongs to another seller now) rolls
		// the new seller back.
		err := e.db.Tx(ctx, func(tx *store.Tx) error {
			id, err := catalog.ApplyTx(ctx, tx, buyer(), joinApplication())
			if err != nil {
				return err
			}
			return account.JoinSeller(ctx, tx, u.ID, id)
		})
		wantCode(t, "JoinSeller() of a member of another seller", err, souk.ECONFLICT)
		if pending := mustValue[[]catalog.SellerApplication](t)(catalog.PendingSellers(ctx, e.db, e.operator)); len(pending) != 1 {
			t.Fatalf("PendingSellers() after the rollback = %d applications, want 1", len(pending))
		}
	})
}
