package order

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// Page selects a page of a list, newest first.
type Page struct {
	// Limit is the page size: 50 by default, at most 200.
	Limit int
	// Before is the id of the last item of the previous page; empty for
	// the first page.
	Before string
}

func (p Page) limit() int {
	if p.Limit <= 0 {
		return 50
	}
	return min(p.Limit, 200)
}

// MyOrders returns by's orders, newest first. Returns EUNAUTHORIZED unless
// by is a buyer, EINVALID for a Before that is not one of by's orders.
func MyOrders(ctx context.Context, db *store.DB, by souk.Actor, p Page) ([]Order, error) {
	ids, err := myPage(ctx, db, by, "orders", p)
	if err != nil {
		return nil, err
	}
	out := make([]Order, 0, len(ids))
	for _, id := range ids {
		o, err := loadOrder(ctx, db.SQL(), id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// MyInstances returns by's instances, newest first, with the rules of
// MyOrders.
func MyInstances(ctx context.Context, db *store.DB, by souk.Actor, p Page) ([]Instance, error) {
	ids, err := myPage(ctx, db, by, "order_instances", p)
	if err != nil {
		return nil, err
	}
	out := make([]Instance, 0, len(ids))
	for _, id := range ids {
		in, err := loadInstance(ctx, db.SQL(), id)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// myPage returns the ids of a page of by's rows of table (orders or
// order_instances: both have buyer_id and created_at, indexed together).
func myPage(ctx context.Context, db *store.DB, by souk.Actor, table string, p Page) ([]string, error) {
	if err := requireBuyer(by, "list orders and instances"); err != nil {
		return nil, err
	}
	after := int64(1<<62 - 1)
	afterID := "\U0010FFFF"
	if p.Before != "" {
		err := db.SQL().QueryRowContext(ctx, `SELECT created_at FROM `+table+` WHERE id = $1 AND buyer_id = $2`, p.Before, by.UserID).Scan(&after)
		if err == sql.ErrNoRows {
			return nil, souk.Errorf(souk.EINVALID, "before: %s is not one of yours.", p.Before)
		} else if err != nil {
			return nil, err
		}
		afterID = p.Before
	}
	rows, err := db.SQL().QueryContext(ctx, `SELECT id FROM `+table+`
		WHERE buyer_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
		ORDER BY created_at DESC, id DESC LIMIT $4`, by.UserID, after, afterID, p.limit())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", table, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
