package catalog_test

import (
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

// TestAuthorisation is the matrix: every function that takes an actor ×
// every kind of actor, with the code each must get ("" = allowed). A member
// of another seller gets ENOTFOUND for the seller's records — exactly what a
// missing record gets — so that probing reveals nothing.
func TestAuthorisation(t *testing.T) {
	const (
		ok = ""
		nf = souk.ENOTFOUND
		ua = souk.EUNAUTHORIZED
		un = souk.EUNAUTHENTICATED
		cf = souk.ECONFLICT
	)
	roles := [...]string{"operator", "owner", "other seller", "buyer", "anonymous"}

	each(t, func(t *testing.T, e *env) {
		m := e.newSeller(t, certifiedSeller)
		other := e.newSeller(t, certifiedSeller)
		b := buyer()
		listed := e.listed(t, m, product())
		neverListed := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, product())).ProductID

		// target is what an operation acts on, fresh for each call when the
		// call changes it, and the seller member who owns it.
		type target struct {
			owner   souk.Actor
			id      int64
			product string
		}
		shared := func(*testing.T) target { return target{owner: m, product: listed} }
		app := func(state catalog.State) func(*testing.T) target {
			return func(t *testing.T) target {
				return target{owner: m, id: e.applicationIn(t, m, catalog.KindPublish, state)}
			}
		}
		newListed := func(t *testing.T) target { return target{owner: m, product: e.listed(t, m, product())} }
		newPendingSeller := func(t *testing.T) target {
			s := e.newSeller(t, pendingSeller)
			return target{owner: s}
		}
		pendingCertification := func(t *testing.T) target {
			s := e.newSeller(t, approvedSeller)
			return target{owner: s, id: mustValue[int64](t)(catalog.SubmitCertification(ctx, e.db, s, certification()))}
		}

		ops := []struct {
			name  string
			setup func(*testing.T) target
			call  func(by souk.Actor, x target) error
			want  [len(roles)]string
		}{
			// Onboarding.
			{"Apply", shared, func(by souk.Actor, x target) error {
				_, err := catalog.Apply(ctx, e.db, by, joinApplication())
				return err
			}, [...]string{ua, cf, cf, ok, un}},
			{"ApproveSeller", newPendingSeller, func(by souk.Actor, x target) error {
				return catalog.ApproveSeller(ctx, e.db, by, x.owner.SellerID)
			}, [...]string{ok, ua, ua, ua, un}},
			{"RejectSeller", newPendingSeller, func(by souk.Actor, x target) error {
				return catalog.RejectSeller(ctx, e.db, by, x.owner.SellerID, "No.")
			}, [...]string{ok, ua, ua, ua, un}},
			{"GetSeller", shared, func(by souk.Actor, x target) error {
				_, err := catalog.GetSeller(ctx, e.db, by, x.owner.SellerID)
				return err
			}, [...]string{ok, ok, nf, ua, un}},
			{"SellerApplications", shared, func(by souk.Actor, x target) error {
				_, err := catalog.SellerApplications(ctx, e.db, by, x.owner.SellerID)
				return err
			}, [...]string{ok, ok, nf, ua, un}},
			{"PendingSellers", shared, func(by souk.Actor, x target) error {
				_, err := catalog.PendingSellers(ctx, e.db, by)
				return err
			}, [...]string{ok, ua, ua, ua, un}},

			// Certification. Submitting acts on the actor's own seller.
			{"SubmitCertification", func(t *testing.T) target { return target{owner: e.newSeller(t, approvedSeller)} }, func(by souk.Actor, x target) error {
				_, err := catalog.SubmitCertification(ctx, e.db, by, certification())
				return err
			}, [...]string{ua, ok, ok, ua, un}},
			{"ApproveCertification", pendingCertification, func(by souk.Actor, x target) error {
				return catalog.ApproveCertification(ctx, e.db, by, x.id)
			}, [...]string{ok, ua, ua, ua, un}},
			{"RejectCertification", pendingCertification, func(by souk.Actor, x target) error {
				return catalog.RejectCertification(ctx, e.db, by, x.id, "No.")
			}, [...]string{ok, ua, ua, ua, un}},
			{"CertifiedInformation", shared, func(by souk.Actor, x target) error {
				_, err := catalog.CertifiedInformation(ctx, e.db, by, x.owner.SellerID)
				return err
			}, [...]string{ok, ok, nf, ua, un}},
			{"Certifications", shared, func(by souk.Actor, x target) error {
				_, err := catalog.Certifications(ctx, e.db, by, x.owner.SellerID)
				return err
			}, [...]string{ok, ok, nf, ua, un}},
			{"PendingCertifications", shared, func(by souk.Actor, x target) error {
				_, err := catalog.PendingCertifications(ctx, e.db, by)
				return err
			}, [...]string{ok, ua, ua, ua, un}},

			// Products and applications. Creating acts on the actor's own
			// seller.
			{"CreateProduct", shared, func(by souk.Actor, x target) error {
				_, err := catalog.CreateProduct(ctx, e.db, e.set, by, product())
				return err
			}, [...]string{ua, ok, ok, ua, un}},
			{"UpdateDraft", app(catalog.Draft), func(by souk.Actor, x target) error {
				return catalog.UpdateDraft(ctx, e.db, e.set, by, x.id, product())
			}, [...]string{ua, ok, nf, ua, un}},
			{"DiscardDraft", app(catalog.Draft), func(by souk.Actor, x target) error {
				return catalog.DiscardDraft(ctx, e.db, by, x.id)
			}, [...]string{ua, ok, nf, ua, un}},
			{"SubmitApplication", app(catalog.Draft), func(by souk.Actor, x target) error {
				return catalog.SubmitApplication(ctx, e.db, e.set, by, x.id)
			}, [...]string{ua, ok, nf, ua, un}},
			{"WithdrawApplication", app(catalog.Submitted), func(by souk.Actor, x target) error {
				return catalog.WithdrawApplication(ctx, e.db, by, x.id, "")
			}, [...]string{ua, ok, nf, ua, un}},
			{"ReviseRejected", app(catalog.Rejected), func(by souk.Actor, x target) error {
				_, err := catalog.ReviseRejected(ctx, e.db, by, x.id)
				return err
			}, [...]string{ua, ok, nf, ua, un}},
			{"ModifyProduct", newListed, func(by souk.Actor, x target) error {
				_, err := catalog.ModifyProduct(ctx, e.db, by, x.product)
				return err
			}, [...]string{ua, ok, nf, ua, un}},
			{"DelistSpec", newListed, func(by souk.Actor, x target) error {
				_, err := catalog.DelistSpec(ctx, e.db, by, x.product, "pro")
				return err
			}, [...]string{ua, ok, nf, ua, un}},
			{"RotateAccessKey", shared, func(by souk.Actor, x target) error {
				_, err := catalog.RotateAccessKey(ctx, e.db, e.set, by, x.product)
				return err
			}, [...]string{ua, ok, nf, ua, un}},
			{"ApproveApplication", app(catalog.Submitted), func(by souk.Actor, x target) error {
				return catalog.ApproveApplication(ctx, e.db, by, x.id)
			}, [...]string{ok, ua, ua, ua, un}},
			{"RejectApplication", app(catalog.Submitted), func(by souk.Actor, x target) error {
				return catalog.RejectApplication(ctx, e.db, by, x.id, "No.")
			}, [...]string{ok, ua, ua, ua, un}},
			{"GetApplication", app(catalog.Draft), func(by souk.Actor, x target) error {
				_, err := catalog.GetApplication(ctx, e.db, by, x.id)
				return err
			}, [...]string{ok, ok, nf, ua, un}},
			{"MyApplications", shared, func(by souk.Actor, x target) error {
				_, err := catalog.MyApplications(ctx, e.db, by)
				return err
			}, [...]string{ua, ok, ok, ua, un}},
			{"PendingApplications", shared, func(by souk.Actor, x target) error {
				_, err := catalog.PendingApplications(ctx, e.db, by)
				return err
			}, [...]string{ok, ua, ua, ua, un}},
			{"Reviews", shared, func(by souk.Actor, x target) error {
				_, err := catalog.Reviews(ctx, e.db, by, x.owner.SellerID)
				return err
			}, [...]string{ok, ok, nf, ua, un}},

			// Reads of the catalogue, and buying.
			{"MyProducts", shared, func(by souk.Actor, x target) error {
				_, err := catalog.MyProducts(ctx, e.db, by)
				return err
			}, [...]string{ua, ok, ok, ua, un}},
			{"GetProduct(listed)", shared, func(by souk.Actor, x target) error {
				_, err := catalog.GetProduct(ctx, e.db, by, x.product)
				return err
			}, [...]string{ok, ok, ok, ok, ok}},
			{"GetProduct(never listed)", shared, func(by souk.Actor, x target) error {
				_, err := catalog.GetProduct(ctx, e.db, by, neverListed)
				return err
			}, [...]string{ok, ok, nf, nf, nf}},
			{"CheckPurchase", shared, func(by souk.Actor, x target) error {
				return catalog.CheckPurchase(ctx, e.db, by, x.product, "basic", catalog.PurchaseCheck{})
			}, [...]string{ua, ua, ua, ok, un}},
		}
		for _, op := range ops {
			t.Run(op.name, func(t *testing.T) {
				for i, role := range roles {
					x := op.setup(t)
					by := map[string]souk.Actor{"operator": e.operator, "owner": x.owner, "other seller": other, "buyer": b, "anonymous": {}}[role]
					err := op.call(by, x)
					if got := souk.ErrorCode(err); got != op.want[i] {
						t.Errorf("%s by %s = %v, want code %q", op.name, role, err, op.want[i])
					}
				}
			})
		}
	})
}
