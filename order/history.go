package order

import (
	"context"
	"database/sql"
	"time"

	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/store"
)

// Querier is what reads go through: *sql.DB, *sql.Tx or *store.Tx.
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// History returns the catalogue's view of buyers' past purchases, read
// through q at time now: inside a purchase's transaction (q = the
// store.Tx), or for a product page (catalog.Offers) with db.SQL().
func History(q Querier, now time.Time) catalog.PurchaseHistory { return history{q: q, now: now} }

// HistoryOf is History over db at its clock's now, for reads outside a
// transaction.
func HistoryOf(db *store.DB) catalog.PurchaseHistory {
	return history{q: db.SQL(), now: db.Clock().Now()}
}

type history struct {
	q   Querier
	now time.Time
}

// forever stands for the expiry of an instance that does not expire.
var forever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Purchases counts the buyer's NEW and TRIAL orders of the spec and their
// units, leaving out failed (refunded) orders and those whose instance the
// buyer unsubscribed.
func (h history) Purchases(ctx context.Context, buyerID, productID, specCode string) (orders, units int, err error) {
	err = h.q.QueryRowContext(ctx, `SELECT COUNT(DISTINCT o.id), COALESCE(SUM(l.quantity), 0)
		FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE o.buyer_id = $1 AND l.product_id = $2 AND l.spec_code = $3
		  AND o.type IN ('NEW', 'TRIAL') AND o.state <> 'failed'
		  AND NOT EXISTS (SELECT 1 FROM order_instances i WHERE i.id = l.instance_id AND i.unsubscribed_at IS NOT NULL)`, buyerID, productID, specCode).Scan(&orders, &units)
	return orders, units, err
}

// ActiveUntil returns the latest expiry of the buyer's provisioning or
// active instances of the spec that have not expired yet; an instance
// without expiry lasts for ever.
func (h history) ActiveUntil(ctx context.Context, buyerID, productID, specCode string) (time.Time, error) {
	var until sql.NullInt64
	var endless int
	err := h.q.QueryRowContext(ctx, `SELECT MAX(expires_at), COUNT(CASE WHEN expires_at IS NULL THEN 1 END)
		FROM order_instances
		WHERE buyer_id = $1 AND product_id = $2 AND spec_code = $3 AND state IN ('provisioning', 'active')
		  AND (expires_at IS NULL OR expires_at > $4)`, buyerID, productID, specCode, store.Millis(h.now)).Scan(&until, &endless)
	if err != nil {
		return time.Time{}, err
	}
	if endless > 0 {
		return forever, nil
	}
	if !until.Valid {
		return time.Time{}, nil
	}
	return store.FromMillis(until.Int64), nil
}
