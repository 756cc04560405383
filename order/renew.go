package order

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// RenewRequest is a buyer's renewal of an instance of a PERIOD spec.
type RenewRequest struct {
	InstanceID string
	// Periods is how many more months or years (0 means 1).
	Periods int
	// IdempotencyKey works as for Purchase (the same key space).
	IdempotencyKey string
}

// RenewInstance places a RENEW order extending instance req.InstanceID by
// req.Periods periods of its spec, in one transaction: the price at the
// spec's current listed price (the rule of doc.go, with the instance's
// units), the debit of the buyer's balance, the order and its line, the
// instance's new expiry — periods added to its current expiry, or to now
// if it has passed — and refreshInstance (scene RENEWAL, the new
// expireTime) enqueued behind the instance's earlier calls with the
// Renewal policy. A frozen instance is unfrozen too: updateInstanceStatus
// UNFREEZE is enqueued before the refresh. The order is completed when the
// seller acknowledges the refresh.
//
// Errors: ENOTFOUND (not the buyer's instance), ECONFLICT (an instance
// still provisioning, failed or released; a delisted spec; insufficient
// balance), EINVALID (periods; a spec not sold by period).
func RenewInstance(ctx context.Context, db *store.DB, eng Enqueuer, by souk.Actor, req RenewRequest) (Order, error) {
	if err := requireBuyer(by, "renew"); err != nil {
		return Order{}, err
	}
	req.InstanceID = strings.TrimSpace(req.InstanceID)
	switch {
	case req.InstanceID == "":
		return Order{}, souk.Errorf(souk.EINVALID, "instanceId: is required.")
	case req.Periods < 0:
		return Order{}, souk.Errorf(souk.EINVALID, "periods: must not be negative.")
	case len(req.IdempotencyKey) > MaxIdempotencyKey:
		return Order{}, souk.Errorf(souk.EINVALID, "Idempotency-Key: at most %d characters.", MaxIdempotencyKey)
	}
	if o, found, err := repeatOf(ctx, db, by.UserID, req.IdempotencyKey); err != nil || found {
		return o, err
	}
	in, err := GetInstance(ctx, db, by, req.InstanceID)
	if err != nil {
		return Order{}, err
	}
	v, err := catalog.GetProduct(ctx, db, by, in.ProductID)
	if err != nil {
		return Order{}, err
	}
	var spec catalog.Spec
	ok := false
	if v.Listed != nil {
		spec, ok = v.Listed.Spec(in.SpecCode)
	}
	if !ok {
		return Order{}, souk.Errorf(souk.ECONFLICT, "Spec %s of product %s is no longer sold and cannot be renewed.", in.SpecCode, in.ProductID)
	}
	if spec.Charging != catalog.ChargePeriod {
		return Order{}, souk.Errorf(souk.EINVALID, "Spec %s is not sold by period and cannot be renewed.", in.SpecCode)
	}

	var orderID string
	return placeOnce(ctx, db, by.UserID, req.IdempotencyKey, &orderID, func(tx *store.Tx) error {
		in, err := loadInstance(ctx, tx, req.InstanceID)
		if err != nil {
			return err
		}
		switch in.State {
		case Active, Frozen:
		case Provisioning:
			return souk.Errorf(souk.ECONFLICT, "Instance %s is still being provisioned; renew it once it is active.", in.ID)
		default:
			return souk.Errorf(souk.ECONFLICT, "Instance %s is %s and cannot be renewed.", in.ID, in.State)
		}
		base := in.ExpiresAt
		if base.IsZero() || base.Before(tx.Now) {
			base = tx.Now
		}
		units := 0
		if spec.Quantity != nil {
			units = in.Quantity
		}
		q, err := price(spec, units, req.Periods, base)
		if err != nil {
			return err
		}
		now := store.Millis(tx.Now)
		orderID = newID("ord-", tx.Now)
		lineID := newID("line-", tx.Now)
		var key any
		if req.IdempotencyKey != "" {
			key = req.IdempotencyKey
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, type, buyer_id, state, amount, currency, idempotency_key, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			orderID, string(Renew), by.UserID, string(Paid), q.total.Amount, q.total.Currency, key, now); err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		if q.total.Amount > 0 {
			txID, err := settle.Post(ctx, tx, settle.Transaction{
				Memo:    fmt.Sprintf("Payment for renewal order %s (instance %s, %d × %d)", orderID, in.ID, q.units, q.periods),
				Ref:     "order:" + orderID,
				Actor:   by.UserID,
				Entries: settle.Move(settle.BuyerBalance(by.UserID), settle.PlatformClearing, q.total),
			})
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET payment_tx = $1 WHERE id = $2`, txID, orderID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_lines
			(id, order_id, seller_id, product_id, spec_code, quantity, periods, unit_price, amount, currency, instance_id, period_start, period_end, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			lineID, orderID, in.SellerID, in.ProductID, in.SpecCode, q.units, q.periods, q.unit.Amount, q.total.Amount, q.total.Currency, in.ID,
			store.Millis(base), store.Millis(q.expires), now); err != nil {
			return fmt.Errorf("insert order line: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_instances SET expires_at = $1, state = $2, updated_at = $3 WHERE id = $4`,
			store.Millis(q.expires), string(Active), now, in.ID); err != nil {
			return err
		}
		if in.State == Frozen {
			if _, err := eng.Enqueue(ctx, tx, delivery.NewCall{
				SellerID: in.SellerID, ProductID: in.ProductID, Key: in.ID, Policy: delivery.Renewal,
				Request:    &protocol.UpdateInstanceStatusRequest{InstanceID: in.SellerInstanceID, Status: protocol.StatusUnfreeze},
				Supersedes: []protocol.Activity{protocol.UpdateInstanceStatus},
			}); err != nil {
				return err
			}
		}
		_, err = eng.Enqueue(ctx, tx, delivery.NewCall{
			SellerID: in.SellerID, ProductID: in.ProductID, Key: in.ID, Policy: delivery.Renewal,
			Request: &protocol.RefreshInstanceRequest{Scene: protocol.SceneRenewal, OrderID: orderID, OrderLineID: lineID,
				InstanceID: in.SellerInstanceID, ProductID: in.ProductID, ExpireTime: protocol.FormatTime(q.expires)},
		})
		return err
	})
}

// refreshed completes the renewal order whose refreshInstance call c
// succeeded.
func refreshed(ctx context.Context, tx *store.Tx, c *delivery.Call) error {
	var req protocol.RefreshInstanceRequest
	if err := json.Unmarshal(c.Body, &req); err != nil || req.OrderID == "" {
		return nil // not a call of ours
	}
	_, err := tx.ExecContext(ctx, `UPDATE orders SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`,
		string(Completed), store.Millis(tx.Now), req.OrderID, string(Paid))
	return err
}
