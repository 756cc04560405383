package order

import (
	"context"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// Quote returns what Purchase would charge buyer by for req now, and when
// the instance would expire (zero: it would not), without buying: the
// same checks and price rule, through the same functions (checkPurchase,
// quotePurchase; doc.go, "Price and expiry"; a trial costs nothing). It does
// not look at the buyer's balance, which Purchase checks when it debits.
// The idempotency key is ignored.
//
// Errors: those of Purchase before any money moves.
func Quote(ctx context.Context, db *store.DB, by souk.Actor, req PurchaseRequest) (settle.Money, time.Time, error) {
	req, v, err := checkPurchase(ctx, db, by, req)
	if err != nil {
		return settle.Money{}, time.Time{}, err
	}
	var q quote
	err = db.Tx(ctx, func(tx *store.Tx) error {
		q, err = quotePurchase(ctx, tx, by, v, req)
		return err
	})
	return q.total, q.expires, err
}

// UnusedPart returns what unsubscribing from instance instanceID now would
// refund (the rule in doc.go), to its buyer or an operator (ENOTFOUND for
// anyone else). It changes nothing.
func UnusedPart(ctx context.Context, db *store.DB, by souk.Actor, instanceID string) (settle.Money, error) {
	if _, err := GetInstance(ctx, db, by, instanceID); err != nil {
		return settle.Money{}, err
	}
	var m settle.Money
	err := db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		m, err = unusedPart(ctx, tx, instanceID, tx.Now)
		return err
	})
	return m, err
}
