package order

import (
	"context"
	"fmt"

	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/store"
)

// What the buyer is told, and when: a purchase or a change that failed and
// was refunded, an instance frozen at its expiry (renew before the end of
// grace), and one released at the end of grace. Each notice lands in the
// buyer's inbox ("user:ID") and goes by e-mail through notify's outbox,
// only if the transaction that decided it commits. The seller hears of the
// same events through the production interface calls.

// BuyerInbox is the inbox recipient of buyer buyerID's notices.
func BuyerInbox(buyerID string) string { return "user:" + buyerID }

func tellBuyer(ctx context.Context, tx *store.Tx, buyerID, kind, subject, body string) error {
	email, err := account.Email(ctx, tx, buyerID)
	if err != nil && !isNotFound(err) {
		return err // an account gone (never, for a buyer with orders) still gets the inbox notice
	}
	return notify.Post(ctx, tx, notify.Notice{Recipient: BuyerInbox(buyerID), Kind: kind, Subject: subject, Body: body, Email: email})
}

func tellFrozen(ctx context.Context, tx *store.Tx, in Instance, releaseAt string) error {
	return tellBuyer(ctx, tx, in.BuyerID, "instance.frozen", fmt.Sprintf("Instance %s has expired and is frozen", in.ID),
		fmt.Sprintf("Your instance %s of product %s (spec %s) expired and is frozen. Renew it before %s to keep it; after that it is released.",
			in.ID, in.ProductID, in.SpecCode, releaseAt))
}

func tellReleased(ctx context.Context, tx *store.Tx, in Instance) error {
	return tellBuyer(ctx, tx, in.BuyerID, "instance.released", fmt.Sprintf("Instance %s was released", in.ID),
		fmt.Sprintf("Your instance %s of product %s was not renewed within its grace period and has been released.", in.ID, in.ProductID))
}
