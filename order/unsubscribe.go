package order

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// UnsubscribeRequest is a buyer's unsubscription from an instance.
type UnsubscribeRequest struct {
	InstanceID string
	// IdempotencyKey works as for Purchase (the same key space).
	IdempotencyKey string
}

// UnsubscribeInstance ends instance req.InstanceID at the buyer's request, in one
// transaction: an UNSUBSCRIBE order whose amount is the refund of the
// unused part (the rule in doc.go), the refund (platform:clearing → the
// buyer's balance), the instance released at once on the marketplace's
// side, and releaseInstance (with the order ids) enqueued behind the
// instance's earlier calls with the Renewal policy, superseding any
// refresh or status change still queued. The unsubscribed purchase no
// longer counts toward purchase limits.
//
// Errors: ENOTFOUND (not the buyer's instance), ECONFLICT (an instance
// still provisioning, failed or already released).
func UnsubscribeInstance(ctx context.Context, db *store.DB, eng Enqueuer, by souk.Actor, req UnsubscribeRequest) (Order, error) {
	if err := requireBuyer(by, "unsubscribe"); err != nil {
		return Order{}, err
	}
	req.InstanceID = strings.TrimSpace(req.InstanceID)
	switch {
	case req.InstanceID == "":
		return Order{}, souk.Errorf(souk.EINVALID, "instanceId: is required.")
	case len(req.IdempotencyKey) > MaxIdempotencyKey:
		return Order{}, souk.Errorf(souk.EINVALID, "Idempotency-Key: at most %d characters.", MaxIdempotencyKey)
	}
	if o, found, err := repeatOf(ctx, db, by.UserID, req.IdempotencyKey); err != nil || found {
		return o, err
	}
	if _, err := GetInstance(ctx, db, by, req.InstanceID); err != nil {
		return Order{}, err
	}
	var orderID string
	return placeOnce(ctx, db, by.UserID, req.IdempotencyKey, &orderID, func(tx *store.Tx) error {
		in, err := lockInstance(ctx, tx, req.InstanceID)
		if err != nil {
			return err
		}
		switch in.State {
		case Active, Frozen:
		case Provisioning:
			return souk.Errorf(souk.ECONFLICT, "Instance %s is still being provisioned; unsubscribe once it is active.", in.ID)
		default:
			return souk.Errorf(souk.ECONFLICT, "Instance %s is %s already.", in.ID, in.State)
		}
		if in.PendingOrderID != "" {
			return souk.Errorf(souk.ECONFLICT, "Instance %s has a change of spec (order %s) waiting for the seller; try again when it is done.", in.ID, in.PendingOrderID)
		}
		refund, err := unusedPart(ctx, tx, in.ID, tx.Now)
		if err != nil {
			return err
		}
		var lineID string
		orderID, lineID, err = record{typ: Unsubscribe, buyerID: by.UserID, state: Completed, idempotencyKey: req.IdempotencyKey,
			amount: refund, refund: refund, memo: "the unused part of instance " + in.ID,
			line: lineRecord{sellerID: in.SellerID, productID: in.ProductID, specCode: in.SpecCode, units: in.Quantity,
				unit: settle.M(0, refund.Currency), amount: refund, instanceID: in.ID}}.write(ctx, tx)
		if err != nil {
			return err
		}
		now := store.Millis(tx.Now)
		if _, err := tx.ExecContext(ctx, `UPDATE order_instances SET state = $1, unsubscribed_at = $2, release_at = NULL, updated_at = $2 WHERE id = $3`,
			string(Released), now, in.ID); err != nil {
			return err
		}
		return tellRelease(ctx, tx, eng, in, orderID, lineID)
	})
}

// unusedPart is the refund rule (doc.go): for every paid line of instance
// id that pays for a period, the line's amount × the part of its period
// still to come at now ÷ its whole period, rounded down to the minor unit;
// summed. Lines of failed orders were refunded already and do not count;
// nor do the lines whose remaining time a completed change of spec took
// over (superseded), nor a change still waiting for the seller.
func unusedPart(ctx context.Context, tx *store.Tx, id string, now time.Time) (settle.Money, error) {
	rows, err := tx.QueryContext(ctx, `SELECT l.amount, l.currency, l.period_start, l.period_end
		FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE l.instance_id = $1 AND o.type IN ('NEW', 'RENEW', 'TRIAL_TO_FORMAL', 'CHANGE') AND o.state <> 'failed'
		  AND (o.type <> 'CHANGE' OR o.state = 'completed') AND l.superseded_at IS NULL
		  AND l.period_start IS NOT NULL AND l.period_end > $2`, id, store.Millis(now))
	if err != nil {
		return settle.Money{}, err
	}
	defer rows.Close()
	var total settle.Money
	for rows.Next() {
		var amount, start, end int64
		var cur string
		if err := rows.Scan(&amount, &cur, &start, &end); err != nil {
			return settle.Money{}, err
		}
		if total.Currency == "" {
			total.Currency = cur
		} else if total.Currency != cur {
			return settle.Money{}, fmt.Errorf("instance %s was paid in %s and %s", id, total.Currency, cur)
		}
		total.Amount += refundOf(amount, start, end, store.Millis(now))
	}
	if err := rows.Err(); err != nil {
		return settle.Money{}, err
	}
	if total.Currency == "" {
		// Nothing left to refund; the currency of the first order names
		// the zero.
		if err := tx.QueryRowContext(ctx, `SELECT o.currency FROM order_instances i JOIN orders o ON o.id = i.order_id WHERE i.id = $1`, id).
			Scan(&total.Currency); err != nil {
			return settle.Money{}, err
		}
	}
	return total, nil
}

// refundOf returns amount × (end − max(now, start)) ÷ (end − start),
// rounded down, computed exactly (no int64 overflow); 0 if the period is
// over.
func refundOf(amount, start, end, now int64) int64 {
	if end <= start || now >= end || amount <= 0 {
		return 0
	}
	from := max(now, start)
	r := new(big.Int).Mul(big.NewInt(amount), big.NewInt(end-from))
	r.Quo(r, big.NewInt(end-start))
	return r.Int64()
}
