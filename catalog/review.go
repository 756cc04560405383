package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/store"
)

// Review is one entry of the audit trail: an operator's approval or
// rejection of a join application, a certification or a publish
// application, or a seller's withdrawal of a publish application. It is
// written in the same transaction as the change it records, so the trail
// cannot miss one.
type Review struct {
	ID        int64
	Subject   string // "seller" (a join application), "certification", "application"
	SubjectID int64
	SellerID  string
	Action    string // "approve", "reject", "withdraw"
	By        string // the user
	Role      string // the role they acted in
	Reason    string
	At        time.Time
}

// recordReview records a review in the audit trail and, for an operator's
// decision, tells the seller: a notice in its inbox, and by e-mail and SMS
// to its contact (package notify's outbox, sent only if tx commits).
func recordReview(ctx context.Context, tx *store.Tx, by souk.Actor, subject string, subjectID int64, sellerID, action, why string) error {
	if err := insertReview(ctx, tx, Review{
		Subject: subject, SubjectID: subjectID, SellerID: sellerID,
		Action: action, By: by.UserID, Role: by.Role, Reason: why, At: tx.Now,
	}); err != nil {
		return err
	}
	if action != "approve" && action != "reject" {
		return nil // a seller's own withdrawal: nothing to tell it
	}
	what := map[string]string{
		"seller":        "Your application to sell on Souk",
		"certification": fmt.Sprintf("Your business certification #%d", subjectID),
		"application":   fmt.Sprintf("Your product application #%d", subjectID),
	}[subject]
	n := notify.Notice{Recipient: "seller:" + sellerID, Kind: "review." + action}
	if action == "approve" {
		n.Subject = what + " was approved"
		n.Body = n.Subject + "."
	} else {
		n.Subject = what + " was rejected"
		n.Body = n.Subject + ". The reviewer's reason: " + why
	}
	if c, err := SellerContact(ctx, tx, sellerID); err != nil {
		return err
	} else {
		n.Email, n.Phone = c.Email, c.Phone
	}
	return notify.Post(ctx, tx, n)
}

// QueueLimit is the most items a review queue (PendingSellers,
// PendingCertifications, PendingApplications) gives at once: the oldest,
// which are reviewed first; deciding them brings the next ones up.
const QueueLimit = 100

var queueLimit = fmt.Sprint(QueueLimit)

// verb is the audit action that moves a review to state s.
func verb(s State) string {
	if s == Approved {
		return "approve"
	}
	return "reject"
}

// Reviews returns the audit trail of seller sellerID, newest first, to one
// of its members or an operator.
//
// Returns ENOTFOUND if by is a member of another seller, and EUNAUTHORIZED
// for a buyer.
func Reviews(ctx context.Context, db *store.DB, by souk.Actor, sellerID string) ([]Review, error) {
	if err := requireSellerOrOperator(by, "see reviews"); err != nil {
		return nil, err
	}
	if err := ownedBy(by, sellerID, true, sellerNotFound(sellerID)); err != nil {
		return nil, err
	}
	return listReviews(ctx, db.SQL(), sellerID)
}
