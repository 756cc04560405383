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
	return placeExtension(ctx, db, eng, by, extension{typ: Renew, periods: req.Periods, key: req.IdempotencyKey}, req.InstanceID)
}

// placeExtension places e — a renewal or a trial's conversion — for the
// buyer's instance id: the checks of the request, the idempotency key, the
// spec as listed, then in one transaction the instance's state (active or
// frozen, no change pending; a trial for a conversion and not for a
// renewal) and extend.
func placeExtension(ctx context.Context, db *store.DB, eng Enqueuer, by souk.Actor, e extension, id string) (Order, error) {
	verb := map[Type]string{Renew: "renewed", TrialToFormal: "converted"}[e.typ]
	if err := requireBuyer(by, map[Type]string{Renew: "renew", TrialToFormal: "buy"}[e.typ]); err != nil {
		return Order{}, err
	}
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return Order{}, souk.Errorf(souk.EINVALID, "instanceId: is required.")
	case e.periods < 0:
		return Order{}, souk.Errorf(souk.EINVALID, "periods: must not be negative.")
	case len(e.key) > MaxIdempotencyKey:
		return Order{}, souk.Errorf(souk.EINVALID, "Idempotency-Key: at most %d characters.", MaxIdempotencyKey)
	}
	if o, found, err := repeatOf(ctx, db, by.UserID, e.key); err != nil || found {
		return o, err
	}
	spec, err := periodSpec(ctx, db, by, id, verb)
	if err != nil {
		return Order{}, err
	}
	e.buyerID = by.UserID
	var orderID string
	return placeOnce(ctx, db, by.UserID, e.key, &orderID, func(tx *store.Tx) error {
		in, err := lockInstance(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := extendable(in, verb); err != nil {
			return err
		}
		if in.SpecCode != spec.Code {
			return souk.Errorf(souk.ECONFLICT, "Instance %s changed spec while this was asked; please try again.", in.ID)
		}
		switch {
		case e.typ == Renew && in.Trial:
			return souk.Errorf(souk.ECONFLICT, "Instance %s is a trial: convert it to a formal purchase instead of renewing it.", in.ID)
		case e.typ == TrialToFormal && !in.Trial:
			return souk.Errorf(souk.ECONFLICT, "Instance %s is not a trial; renew it instead.", in.ID)
		}
		orderID, err = extend(ctx, tx, eng, in, spec, e)
		return err
	})
}

// periodSpec returns the spec, as now listed, of the buyer's instance id
// that is to be renewed or converted (verb): it must still be sold, by
// period. (Read before the transaction, as the catalogue reads.)
func periodSpec(ctx context.Context, db *store.DB, by souk.Actor, id, verb string) (catalog.Spec, error) {
	in, err := GetInstance(ctx, db, by, id)
	if err != nil {
		return catalog.Spec{}, err
	}
	v, err := catalog.GetProduct(ctx, db, by, in.ProductID)
	if err != nil {
		return catalog.Spec{}, err
	}
	var spec catalog.Spec
	ok := false
	if v.Listed != nil {
		spec, ok = v.Listed.Spec(in.SpecCode)
	}
	if !ok {
		return catalog.Spec{}, souk.Errorf(souk.ECONFLICT, "Spec %s of product %s is no longer sold; the instance cannot be %s.", in.SpecCode, in.ProductID, verb)
	}
	if spec.Charging != catalog.ChargePeriod {
		return catalog.Spec{}, souk.Errorf(souk.EINVALID, "Spec %s is not sold by period; the instance cannot be %s.", in.SpecCode, verb)
	}
	return spec, nil
}

// extendable is the rule of which instances can be renewed or converted:
// active or frozen ones with no change of spec waiting for the seller.
func extendable(in Instance, verb string) error {
	switch in.State {
	case Active, Frozen:
	case Provisioning:
		return souk.Errorf(souk.ECONFLICT, "Instance %s is still being provisioned; it can be %s once it is active.", in.ID, verb)
	default:
		return souk.Errorf(souk.ECONFLICT, "Instance %s is %s and cannot be %s.", in.ID, in.State, verb)
	}
	if in.PendingOrderID != "" {
		return souk.Errorf(souk.ECONFLICT, "Instance %s has a change of spec (order %s) waiting for the seller; try again when it is done.", in.ID, in.PendingOrderID)
	}
	return nil
}

// extension is a renewal or a trial's conversion to a formal purchase.
type extension struct {
	typ     Type // Renew or TrialToFormal
	buyerID string
	periods int
	key     string
}

// extend places e's order for instance in of spec, in tx: the price rule
// of doc.go at the spec's current price with the instance's units, the
// debit, the order and its line, the instance's new expiry — e.periods
// added to its current expiry (or to now if that has passed, and always
// for a trial, whose time was free) — active again, and the calls: an
// unfreeze first if it was frozen, then the refresh with the new expiry.
// A SaaS order completes when the seller acknowledges the refresh; a
// licence order at once (the codes are the marketplace's).
func extend(ctx context.Context, tx *store.Tx, eng Enqueuer, in Instance, spec catalog.Spec, e extension) (string, error) {
	base := in.ExpiresAt
	if e.typ == TrialToFormal || base.IsZero() || base.Before(tx.Now) {
		base = tx.Now
	}
	units := 0
	if spec.Quantity != nil {
		units = in.Quantity
	}
	q, err := price(spec, units, e.periods, base)
	if err != nil {
		return "", err
	}
	state := Paid
	if in.Kind == kindLicense {
		state = Completed
	}
	orderID, lineID, err := record{typ: e.typ, buyerID: e.buyerID, state: state, idempotencyKey: e.key, amount: q.total, pay: q.total,
		memo: fmt.Sprintf("instance %s, %d × %d", in.ID, q.units, q.periods),
		line: lineRecord{sellerID: in.SellerID, productID: in.ProductID, specCode: in.SpecCode, units: q.units, periods: q.periods,
			unit: q.unit, amount: q.total, instanceID: in.ID, start: base, end: q.expires}}.write(ctx, tx)
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE order_instances SET expires_at = $1, state = $2, release_at = NULL, trial = 0, updated_at = $3
		WHERE id = $4`, store.Millis(q.expires), string(Active), store.Millis(tx.Now), in.ID); err != nil {
		return "", err
	}
	if in.State == Frozen {
		if err := tellStatus(ctx, tx, eng, in, protocol.StatusUnfreeze); err != nil {
			return "", err
		}
	}
	scene := protocol.SceneRenewal
	if e.typ == TrialToFormal {
		scene = protocol.SceneTrialToFormal
	}
	return orderID, tellRefresh(ctx, tx, eng, in, scene, orderID, lineID, q.expires)
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
