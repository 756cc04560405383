package order

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// record is an order about to be written with its one line: what every
// kind of order (NEW, TRIAL, RENEW, CHANGE, …) stores, in one place.
type record struct {
	typ            Type
	buyerID        string
	state          State
	idempotencyKey string
	// amount is the order's amount: what the buyer pays for it, or for an
	// UNSUBSCRIBE order what is refunded (doc.go).
	amount settle.Money
	// pay is debited from the buyer's balance to platform clearing, and
	// refund credited back, when positive; memo says what for.
	pay, refund settle.Money
	memo        string

	line lineRecord
}

// lineRecord is the line of a record.
type lineRecord struct {
	sellerID, productID, specCode string
	units, periods                int
	unit, amount                  settle.Money
	instanceID                    string
	// start and end are the time the line pays for; zero for none.
	start, end time.Time
}

// write inserts r's order and line with new ids, and posts its payment or
// refund to the ledger, in tx. It returns the ids.
func (r record) write(ctx context.Context, tx *store.Tx) (orderID, lineID string, err error) {
	now := store.Millis(tx.Now)
	orderID, lineID = newID("ord-", tx.Now), newID("line-", tx.Now)
	var key any
	if r.idempotencyKey != "" {
		key = r.idempotencyKey
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, type, buyer_id, state, amount, currency, idempotency_key, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		orderID, string(r.typ), r.buyerID, string(r.state), r.amount.Amount, r.amount.Currency, key, now); err != nil {
		return "", "", fmt.Errorf("insert order: %w", err)
	}
	if r.pay.Amount > 0 {
		txID, err := settle.Post(ctx, tx, settle.Transaction{
			Memo: fmt.Sprintf("Payment for %s order %s (%s)", r.typ, orderID, r.memo), Ref: "order:" + orderID, Actor: r.buyerID,
			Entries: settle.Move(settle.BuyerBalance(r.buyerID), settle.PlatformClearing, r.pay),
		})
		if err != nil {
			return "", "", err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET payment_tx = $1 WHERE id = $2`, txID, orderID); err != nil {
			return "", "", err
		}
	}
	if r.refund.Amount > 0 {
		if err := refundOrder(ctx, tx, orderID, r.buyerID, r.refund, r.memo); err != nil {
			return "", "", err
		}
	}
	l := r.line
	var start, end any
	if !l.start.IsZero() {
		start, end = store.Millis(l.start), store.Millis(l.end)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO order_lines
		(id, order_id, seller_id, product_id, spec_code, quantity, periods, unit_price, amount, currency, instance_id, period_start, period_end, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		lineID, orderID, l.sellerID, l.productID, l.specCode, l.units, l.periods, l.unit.Amount, l.amount.Amount, l.amount.Currency,
		l.instanceID, start, end, now); err != nil {
		return "", "", fmt.Errorf("insert order line: %w", err)
	}
	return orderID, lineID, nil
}

// refundOrder credits m back to the buyer of order orderID from platform
// clearing and records the ledger transaction on the order, in tx.
func refundOrder(ctx context.Context, tx *store.Tx, orderID, buyerID string, m settle.Money, why string) error {
	txID, err := settle.Post(ctx, tx, settle.Transaction{
		Memo: fmt.Sprintf("Refund of order %s (%s)", orderID, why), Ref: "order:" + orderID + ":refund", Actor: buyerID,
		Entries: settle.Move(settle.PlatformClearing, settle.BuyerBalance(buyerID), m),
	})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE orders SET refund_tx = $1 WHERE id = $2`, txID, orderID)
	return err
}

// setOrderState moves order id from state from to state to (with the
// reason, for a failed one), in tx; it reports whether it did.
func setOrderState(ctx context.Context, tx *store.Tx, id string, from, to State, reason string) (bool, error) {
	return changed(tx.ExecContext(ctx, `UPDATE orders SET state = $1, reason = $2, updated_at = $3 WHERE id = $4 AND state = $5`,
		string(to), reason, store.Millis(tx.Now), id, string(from)))
}

// changed reports whether an UPDATE's result res changed a row.
func changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
