package order

import (
	"context"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// Quote returns what Purchase would charge buyer by for req now, and when
// the instance would expire (zero: it would not), without buying: the
// same sales controls (catalog.CheckPurchase with History) and the same
// price rule (doc.go, "Price and expiry"; a trial costs nothing). It does
// not look at the buyer's balance, which Purchase checks when it debits.
// The idempotency key is ignored.
//
// Errors: those of Purchase before any money moves.
func Quote(ctx context.Context, db *store.DB, by souk.Actor, req PurchaseRequest) (settle.Money, time.Time, error) {
	if err := requireBuyer(by, "buy"); err != nil {
		return settle.Money{}, time.Time{}, err
	}
	req.ProductID, req.SpecCode = strings.TrimSpace(req.ProductID), strings.TrimSpace(req.SpecCode)
	switch {
	case req.ProductID == "":
		return settle.Money{}, time.Time{}, souk.Errorf(souk.EINVALID, "productId: is required.")
	case req.SpecCode == "":
		return settle.Money{}, time.Time{}, souk.Errorf(souk.EINVALID, "specCode: is required.")
	case req.Quantity < 0:
		return settle.Money{}, time.Time{}, souk.Errorf(souk.EINVALID, "quantity: must not be negative.")
	case req.Periods < 0:
		return settle.Money{}, time.Time{}, souk.Errorf(souk.EINVALID, "periods: must not be negative.")
	}
	v, err := catalog.GetProduct(ctx, db, by, req.ProductID)
	if err != nil {
		return settle.Money{}, time.Time{}, err
	}
	if v.Listed == nil {
		return settle.Money{}, time.Time{}, souk.Errorf(souk.ENOTFOUND, "Product %s not found.", req.ProductID)
	}
	if err := catalog.CheckPurchase(ctx, db, by, req.ProductID, req.SpecCode, catalog.PurchaseCheck{
		Quantity: req.Quantity, Trial: req.Trial, History: HistoryOf(db)}); err != nil {
		return settle.Money{}, time.Time{}, err
	}
	spec, ok := v.Listed.Spec(req.SpecCode)
	if !ok {
		return settle.Money{}, time.Time{}, souk.Errorf(souk.ENOTFOUND, "Product %s has no spec %s.", req.ProductID, req.SpecCode)
	}
	now := db.Clock().Now()
	var q quote
	if req.Trial {
		q, err = trialQuote(spec, req.Quantity, req.Periods, now)
	} else {
		q, err = price(spec, req.Quantity, req.Periods, now)
	}
	if err != nil {
		return settle.Money{}, time.Time{}, err
	}
	return q.total, q.expires, nil
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
