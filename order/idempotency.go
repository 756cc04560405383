package order

import (
	"context"

	"github.com/souk-market/souk/store"
)

// repeatOf returns the order the buyer's Idempotency-Key already names, if
// any: checked first, so that a repeated request does no other work.
func repeatOf(ctx context.Context, db *store.DB, buyerID, key string) (Order, bool, error) {
	if key == "" {
		return Order{}, false, nil
	}
	return byKey(ctx, db.SQL(), buyerID, key)
}

// placeOnce places an order at most once per buyer and Idempotency-Key:
// place runs in a transaction and sets *orderID, unless the key already
// names an order — found inside the transaction, or, when a concurrent
// request with the same key won the race to the unique index, after it —
// in which case that order is returned, marked Repeated, and nothing else
// happens. The one place the key's rule is written.
func placeOnce(ctx context.Context, db *store.DB, buyerID, key string, orderID *string, place func(tx *store.Tx) error) (Order, error) {
	repeated := false
	err := db.Tx(ctx, func(tx *store.Tx) error {
		if key != "" {
			o, found, err := byKey(ctx, tx, buyerID, key)
			if err != nil {
				return err
			}
			if found {
				*orderID, repeated = o.ID, true
				return nil
			}
		}
		return place(tx)
	})
	if err != nil {
		if o, found, err2 := repeatOf(ctx, db, buyerID, key); err2 == nil && found {
			return o, nil
		}
		return Order{}, err
	}
	o, err := loadOrder(ctx, db.SQL(), *orderID)
	o.Repeated = repeated
	return o, err
}
