package catalog_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/notify"
)

// Every operator decision reaches the seller's inbox (and outbox, for its
// contact's e-mail): approvals, and rejections with the reason; a seller's
// own withdrawal does not.
func TestReviewDecisionsAreToldToTheSeller(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		seller := e.newSeller(t, certifiedSeller)
		rejected := e.application(t, seller, catalog.Submitted)
		must(t, catalog.RejectApplication(ctx, e.db, e.operator, rejected, "The description is empty of facts."))
		withdrawn := e.application(t, seller, catalog.Submitted)
		must(t, catalog.WithdrawApplication(ctx, e.db, seller, withdrawn, "Not ready."))

		inbox := mustValue[[]notify.Message](t)(notify.Inbox(ctx, e.db, "seller:"+seller.SellerID, notify.InboxFilter{}))
		var subjects []string
		for _, m := range inbox {
			subjects = append(subjects, m.Kind+": "+m.Subject)
		}
		for _, want := range []string{
			"review.approve: Your application to sell on Souk was approved",
			"review.approve: Your business certification #",
			"review.reject: Your product application #",
		} {
			if !slices.ContainsFunc(subjects, func(s string) bool { return len(s) >= len(want) && s[:len(want)] == want }) {
				t.Errorf("no notice %q in the seller's inbox %q", want, subjects)
			}
		}
		if len(inbox) != 3 {
			t.Fatalf("inbox has %d notices %q, want 3 (the withdrawal tells nobody)", len(inbox), subjects)
		}
		for _, m := range inbox {
			if m.Kind == "review.reject" && m.Body != "Your product application #"+itoa(rejected)+" was rejected. The reviewer's reason: The description is empty of facts." {
				t.Fatalf("rejection notice body = %q", m.Body)
			}
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A review queue gives its oldest QueueLimit items; deciding them brings
// the next up.
func TestReviewQueueGivesTheOldestFirstUpToItsLimit(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		var ids []string
		for range catalog.QueueLimit + 2 {
			ids = append(ids, mustValue[string](t)(catalog.Apply(ctx, e.db, buyer(), joinApplication())))
		}
		q := mustValue[[]catalog.SellerApplication](t)(catalog.PendingSellers(ctx, e.db, e.operator))
		if len(q) != catalog.QueueLimit || q[0].SellerID != ids[0] {
			t.Fatalf("queue of %d starting with %s, want %d starting with the oldest %s", len(q), q[0].SellerID, catalog.QueueLimit, ids[0])
		}
		must(t, catalog.ApproveSeller(ctx, e.db, e.operator, ids[0]))
		q = mustValue[[]catalog.SellerApplication](t)(catalog.PendingSellers(ctx, e.db, e.operator))
		if len(q) != catalog.QueueLimit || q[len(q)-1].SellerID != ids[catalog.QueueLimit] {
			t.Fatalf("after one decision the queue ends with %s, want the next, %s", q[len(q)-1].SellerID, ids[catalog.QueueLimit])
		}
	})
}
