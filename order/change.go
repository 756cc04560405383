package order

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// ChangeRequest is a buyer's change of an instance to another spec of its
// product, or to another quantity of its spec (an upgrade or a downgrade).
type ChangeRequest struct {
	InstanceID string
	SpecCode   string // "" keeps the instance's spec
	// Quantity is the new number of units of a spec with a linear
	// quantity; 0 keeps the instance's (if the spec has one).
	Quantity int
	// IdempotencyKey works as for Purchase (the same key space).
	IdempotencyKey string
}

// ChangeInstance places a CHANGE order moving the buyer's active instance
// req.InstanceID to another spec or quantity for the rest of its paid time
// (the rule in doc.go, "Change of spec"), in one transaction: the new
// spec's sales restrictions (not its purchase limits: a change is not a
// new purchase), the price difference — debited now if positive — the
// order and its line, and changeInstanceCheck enqueued (policy Once: the
// seller may refuse, e.g. a downgrade that would lose data). The rest
// happens in the delivery hooks: the check accepted → upgradeInstance (the
// 3 h policy); upgradeInstance succeeded → the instance has its new spec,
// a negative difference is refunded, the order completes; the check
// refused or the upgrade never acknowledged → the order fails with the
// seller's answer, whatever was paid is refunded and the instance keeps
// its spec. One change at a time per instance; renewal and unsubscription
// wait for it.
//
// Errors: ENOTFOUND (not the buyer's instance; no such spec),
// EUNAUTHORIZED (a spec restricted to other buyers), ECONFLICT (an
// instance not active — frozen, released, provisioning — a trial, a
// change already pending, a delisted spec, insufficient balance), EINVALID
// (the same spec and quantity; a spec not sold by period, or by another
// period; a quantity the spec does not sell).
func ChangeInstance(ctx context.Context, db *store.DB, eng Enqueuer, by souk.Actor, req ChangeRequest) (Order, error) {
	if err := requireBuyer(by, "change instances"); err != nil {
		return Order{}, err
	}
	if len(req.IdempotencyKey) > MaxIdempotencyKey {
		return Order{}, souk.Errorf(souk.EINVALID, "Idempotency-Key: at most %d characters.", MaxIdempotencyKey)
	}
	if o, found, err := repeatOf(ctx, db, by.UserID, req.IdempotencyKey); err != nil || found {
		return o, err
	}
	t, err := changeTarget(ctx, db, by, req)
	if err != nil {
		return Order{}, err
	}
	var orderID string
	return placeOnce(ctx, db, by.UserID, req.IdempotencyKey, &orderID, func(tx *store.Tx) error {
		in, q, err := t.price(ctx, tx, by, true)
		if err != nil {
			return err
		}
		r := record{typ: Change, buyerID: by.UserID, state: Paid, idempotencyKey: req.IdempotencyKey, amount: q.diff,
			memo: fmt.Sprintf("instance %s from %s × %d to %s × %d", in.ID, in.SpecCode, in.Quantity, t.to.Code, t.units),
			line: lineRecord{sellerID: in.SellerID, productID: in.ProductID, specCode: t.to.Code, units: t.units, unit: q.unit,
				amount: q.value, instanceID: in.ID, start: tx.Now, end: in.ExpiresAt}}
		if q.diff.Amount > 0 {
			r.pay = q.diff
		}
		if orderID, _, err = r.write(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_instances SET pending_order_id = $1, updated_at = $2 WHERE id = $3`,
			orderID, store.Millis(tx.Now), in.ID); err != nil {
			return err
		}
		linear := int64(t.units)
		return tell(ctx, tx, eng, in, delivery.Once, &protocol.ChangeInstanceCheckRequest{InstanceID: in.SellerInstanceID,
			ProductInfo: protocol.ProductInfo{ProductID: in.ProductID, SKUCode: t.to.Code, LinearValue: &linear, ProductName: t.productName}})
	})
}

// ChangePrice is what ChangeInstance would charge now for req (negative:
// what it would refund once the seller applied it), with every check
// ChangeInstance makes; it changes nothing. For showing a buyer the price
// of each change before they ask for it.
func ChangePrice(ctx context.Context, db *store.DB, by souk.Actor, req ChangeRequest) (settle.Money, error) {
	if err := requireBuyer(by, "change instances"); err != nil {
		return settle.Money{}, err
	}
	t, err := changeTarget(ctx, db, by, req)
	if err != nil {
		return settle.Money{}, err
	}
	var diff settle.Money
	err = db.Tx(ctx, func(tx *store.Tx) error {
		_, q, err := t.price(ctx, tx, by, false)
		diff = q.diff
		return err
	})
	return diff, err
}

// changeTo is a change asked for, checked against the catalogue: the spec
// to change to and its units.
type changeTo struct {
	instanceID, productID, productName string
	// from and fromUnits are the instance's spec and units the change was
	// checked against; the transaction checks they still are.
	from      string
	fromUnits int
	to        catalog.Spec
	units     int
}

// changeTarget checks req against the buyer's instance and the catalogue
// as listed (read before the transaction, as the catalogue reads).
func changeTarget(ctx context.Context, db *store.DB, by souk.Actor, req ChangeRequest) (changeTo, error) {
	req.InstanceID, req.SpecCode = strings.TrimSpace(req.InstanceID), strings.TrimSpace(req.SpecCode)
	switch {
	case req.InstanceID == "":
		return changeTo{}, souk.Errorf(souk.EINVALID, "instanceId: is required.")
	case req.Quantity < 0:
		return changeTo{}, souk.Errorf(souk.EINVALID, "quantity: must not be negative.")
	}
	in, err := GetInstance(ctx, db, by, req.InstanceID)
	if err != nil {
		return changeTo{}, err
	}
	v, err := catalog.GetProduct(ctx, db, by, in.ProductID)
	if err != nil {
		return changeTo{}, err
	}
	if v.Listed == nil {
		return changeTo{}, souk.Errorf(souk.ECONFLICT, "Product %s is no longer sold; its instances cannot be changed.", in.ProductID)
	}
	if req.SpecCode == "" {
		req.SpecCode = in.SpecCode
	}
	from, okFrom := v.Listed.Spec(in.SpecCode)
	to, okTo := v.Listed.Spec(req.SpecCode)
	if !okTo {
		return changeTo{}, souk.Errorf(souk.ENOTFOUND, "Spec %s of product %s not found.", req.SpecCode, in.ProductID)
	}
	if to.Charging != catalog.ChargePeriod {
		return changeTo{}, souk.Errorf(souk.EINVALID, "Spec %s is not sold by period; an instance can change only to a spec sold by period.", to.Code)
	}
	if !okFrom {
		// The period and price the instance was bought at are the listed
		// spec's: without it the change cannot be valued.
		return changeTo{}, souk.Errorf(souk.ECONFLICT, "Spec %s of instance %s is no longer sold; it can be renewed to its end or unsubscribed, not changed.", in.SpecCode, in.ID)
	}
	if from.Period != to.Period {
		return changeTo{}, souk.Errorf(souk.EINVALID, "Spec %s is sold by the %s and %s by the %s; a change keeps the period.",
			to.Code, strings.ToLower(to.Period), from.Code, strings.ToLower(from.Period))
	}
	units := 1
	if to.Quantity != nil {
		units = req.Quantity
		if units == 0 {
			units = in.Quantity
		}
	}
	if req.SpecCode == in.SpecCode && units == in.Quantity {
		return changeTo{}, souk.Errorf(souk.EINVALID, "Instance %s already has spec %s × %d: nothing to change.", in.ID, in.SpecCode, in.Quantity)
	}
	return changeTo{instanceID: in.ID, productID: in.ProductID, productName: v.Listed.Name, from: in.SpecCode, fromUnits: in.Quantity,
		to: to, units: units}, nil
}

// changeQuote is the price of a change: the spec's unit price, the new
// value of the remaining time (the CHANGE line's amount) and the
// difference to pay (or, negative, to refund).
type changeQuote struct {
	unit, value, diff settle.Money
}

// price checks, in tx, the sales restrictions of the new spec and the
// state of the instance, and prices the change by the rule. To place the
// change, lock the instance (lock); to only quote it, a plain read does.
func (t changeTo) price(ctx context.Context, tx *store.Tx, by souk.Actor, lock bool) (Instance, changeQuote, error) {
	if err := catalog.CheckPurchaseTx(ctx, tx, by, t.productID, t.to.Code, catalog.PurchaseCheck{Quantity: t.units, History: noLimits{}}); err != nil {
		return Instance{}, changeQuote{}, err
	}
	load := loadInstance
	if lock {
		load = func(ctx context.Context, q Querier, id string) (Instance, error) { return lockInstance(ctx, tx, id) }
	}
	in, err := load(ctx, tx, t.instanceID)
	if err != nil {
		return Instance{}, changeQuote{}, err
	}
	switch {
	case in.SpecCode != t.from || in.Quantity != t.fromUnits:
		return in, changeQuote{}, souk.Errorf(souk.ECONFLICT, "Instance %s changed while this was asked; please try again.", in.ID)
	case in.State != Active:
		return in, changeQuote{}, souk.Errorf(souk.ECONFLICT, "Instance %s is %s; only an active instance can be changed.", in.ID, in.State)
	case in.Kind == kindLicense:
		return in, changeQuote{}, souk.Errorf(souk.EINVALID, "Instance %s is of a licence product; buy the other spec instead.", in.ID)
	case in.Trial:
		return in, changeQuote{}, souk.Errorf(souk.ECONFLICT, "Instance %s is a trial; convert it to a formal purchase before changing it.", in.ID)
	case in.PendingOrderID != "":
		return in, changeQuote{}, souk.Errorf(souk.ECONFLICT, "Instance %s already has a change of spec (order %s) waiting for the seller.", in.ID, in.PendingOrderID)
	case in.ExpiresAt.IsZero() || !in.ExpiresAt.After(tx.Now):
		return in, changeQuote{}, souk.Errorf(souk.ECONFLICT, "Instance %s has no paid time left to change; renew it first.", in.ID)
	}
	unit := settle.M(t.to.Price.Amount, t.to.Price.Currency)
	perPeriod, err := settle.MulAmount(t.to.Price.Amount, int64(t.units))
	if err != nil {
		return in, changeQuote{}, err
	}
	old, now, err := changeValues(ctx, tx, in.ID, perPeriod, tx.Now)
	if err != nil {
		return in, changeQuote{}, err
	}
	if old.Currency != "" && old.Currency != unit.Currency {
		return in, changeQuote{}, souk.Errorf(souk.ECONFLICT, "Spec %s is priced in %s and the instance was paid in %s; it cannot be changed to it.", t.to.Code, unit.Currency, old.Currency)
	}
	return in, changeQuote{unit: unit, value: settle.M(now, unit.Currency), diff: settle.M(now-old.Amount, unit.Currency)}, nil
}

// noLimits is the purchase history of a change of spec, which is not a new
// purchase: the new spec's purchase limits do not apply to it.
type noLimits struct{}

func (noLimits) Purchases(context.Context, string, string, string) (int, int, error) {
	return 0, 0, nil
}
func (noLimits) ActiveUntil(context.Context, string, string, string) (time.Time, error) {
	return time.Time{}, nil
}

// changeValues is the change rule (doc.go): over the instance's lines that
// the refund rule counts (unusedPart), the value of their remaining time
// as paid (old — what unsubscribing would refund) and at perPeriod, the new
// spec's price per period for the new units (now): for each line,
// floor(amount × perPeriod × remaining ÷ (its price per period × its whole
// period)). A line of a free spec still running has no price to scale: it
// can change only to another free spec (ECONFLICT otherwise).
func changeValues(ctx context.Context, tx *store.Tx, instanceID string, perPeriod int64, at time.Time) (old settle.Money, now int64, err error) {
	old, err = unusedPart(ctx, tx, instanceID, at)
	if err != nil {
		return settle.Money{}, 0, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT l.amount, l.unit_price, l.quantity, l.period_start, l.period_end
		FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE l.instance_id = $1 AND o.type IN ('NEW', 'RENEW', 'TRIAL_TO_FORMAL', 'CHANGE') AND o.state <> 'failed'
		  AND (o.type <> 'CHANGE' OR o.state = 'completed') AND l.superseded_at IS NULL
		  AND l.period_start IS NOT NULL AND l.period_end > $2`, instanceID, store.Millis(at))
	if err != nil {
		return settle.Money{}, 0, err
	}
	defer rows.Close()
	t := store.Millis(at)
	total := new(big.Int)
	for rows.Next() {
		var amount, unitPrice, start, end int64
		var qty int64
		if err := rows.Scan(&amount, &unitPrice, &qty, &start, &end); err != nil {
			return settle.Money{}, 0, err
		}
		paidPerPeriod := new(big.Int).Mul(big.NewInt(unitPrice), big.NewInt(max(qty, 1)))
		if end <= start {
			continue
		}
		if paidPerPeriod.Sign() <= 0 {
			if perPeriod > 0 && end > t {
				// A free period has no price to scale: changing it to a
				// paid spec would give the paid spec for nothing.
				return settle.Money{}, 0, souk.Errorf(souk.ECONFLICT, "Instance %s was bought free; buy the paid spec instead of changing to it.", instanceID)
			}
			continue
		}
		from := max(t, start)
		v := new(big.Int).Mul(big.NewInt(amount), big.NewInt(perPeriod))
		v.Mul(v, big.NewInt(end-from))
		v.Quo(v, paidPerPeriod.Mul(paidPerPeriod, big.NewInt(end-start)))
		total.Add(total, v)
	}
	if err := rows.Err(); err != nil {
		return settle.Money{}, 0, err
	}
	if !total.IsInt64() {
		return settle.Money{}, 0, souk.Errorf(souk.EINVALID, "The price of this change is too large.")
	}
	return old, total.Int64(), nil
}

// changeChecked goes on with the change of instance c.Key after the seller
// accepted its changeInstanceCheck: upgradeInstance, with the 3 h policy.
func changeChecked(ctx context.Context, tx *store.Tx, c *delivery.Call) error {
	in, o, lineID, ok, err := pendingChange(ctx, tx, c.Key)
	if err != nil || !ok {
		return err
	}
	return tell(ctx, tx, engineless{}, in, delivery.NewPurchase,
		&protocol.UpgradeInstanceRequest{InstanceID: in.SellerInstanceID, OrderID: o.ID, OrderLineID: lineID})
}

// changeDone completes the change of instance c.Key after the seller
// acknowledged upgradeInstance: the instance takes the new spec and
// quantity, the lines it replaces are superseded, a negative difference is
// refunded, and the order completes.
func changeDone(ctx context.Context, tx *store.Tx, c *delivery.Call) error {
	in, o, lineID, ok, err := pendingChange(ctx, tx, c.Key)
	if err != nil || !ok {
		return err
	}
	// The order's state moves first, and only once: what follows happens
	// only for the transaction that moved it.
	if ok, err := setOrderState(ctx, tx, o.ID, Paid, Completed, ""); err != nil || !ok {
		return err
	}
	var spec string
	var qty int
	if err := tx.QueryRowContext(ctx, `SELECT spec_code, quantity FROM order_lines WHERE id = $1`, lineID).Scan(&spec, &qty); err != nil {
		return err
	}
	now := store.Millis(tx.Now)
	if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET superseded_at = $1
		WHERE instance_id = $2 AND order_id <> $3 AND superseded_at IS NULL AND period_start IS NOT NULL`, now, in.ID, o.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE order_instances SET spec_code = $1, quantity = $2, pending_order_id = NULL, updated_at = $3 WHERE id = $4`,
		spec, qty, now, in.ID); err != nil {
		return err
	}
	if o.Amount.Amount < 0 {
		return refundOrder(ctx, tx, o.ID, o.BuyerID, settle.M(-o.Amount.Amount, o.Amount.Currency), "a change to a cheaper spec")
	}
	return nil
}

// changeRefused ends the change of instance c.Key that the seller refused
// (changeInstanceCheck) or never acknowledged (upgradeInstance past its
// deadline): the order fails with the reason, what it took is refunded,
// and the instance keeps its spec.
func changeRefused(ctx context.Context, tx *store.Tx, c *delivery.Call) error {
	in, o, _, ok, err := pendingChange(ctx, tx, c.Key)
	if err != nil || !ok {
		return err
	}
	reason := "The seller refused the change"
	if c.Activity == protocol.UpgradeInstance {
		reason = "The seller did not apply the change before the deadline"
	}
	if c.LastError != "" {
		reason += " (" + c.LastError + ")"
	}
	reason += "; the instance keeps its spec"
	if o.Amount.Amount > 0 {
		reason += " and the order was refunded"
	}
	// The order's state moves first, and only once: the refund follows
	// only for the transaction that moved it.
	if ok, err := setOrderState(ctx, tx, o.ID, Paid, Failed, reason+"."); err != nil || !ok {
		return err
	}
	if o.Amount.Amount > 0 {
		if err := refundOrder(ctx, tx, o.ID, o.BuyerID, o.Amount, "change refused"); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE order_instances SET pending_order_id = NULL, updated_at = $1 WHERE id = $2`,
		store.Millis(tx.Now), in.ID); err != nil {
		return err
	}
	return tellBuyer(ctx, tx, o.BuyerID, "order.failed", fmt.Sprintf("The change of instance %s was not made", in.ID), reason+".")
}

// pendingChange loads instance id and its pending CHANGE order and line,
// if it has one still paid.
func pendingChange(ctx context.Context, tx *store.Tx, id string) (Instance, Order, string, bool, error) {
	in, err := lockInstance(ctx, tx, id)
	if isNotFound(err) {
		return Instance{}, Order{}, "", false, nil
	} else if err != nil {
		return Instance{}, Order{}, "", false, err
	}
	if in.PendingOrderID == "" {
		return Instance{}, Order{}, "", false, nil
	}
	o, err := loadOrder(ctx, tx, in.PendingOrderID)
	if err != nil {
		return Instance{}, Order{}, "", false, err
	}
	if o.State != Paid || len(o.Lines) != 1 {
		return Instance{}, Order{}, "", false, nil
	}
	return in, o, o.Lines[0].ID, true, nil
}
