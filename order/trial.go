package order

import (
	"context"
	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// ConvertRequest is a buyer's conversion of a trial instance to a formal
// purchase.
type ConvertRequest struct {
	InstanceID string
	// Periods is how many months or years to buy (0 means 1).
	Periods int
	// IdempotencyKey works as for Purchase (the same key space).
	IdempotencyKey string
}

// ConvertTrial places a TRIAL_TO_FORMAL order for the buyer's trial
// instance req.InstanceID, in one transaction: the price rule of doc.go at
// the spec's current price, from now (the trial's days were free and are
// not added), the debit, the order, the instance formal and active (a
// frozen trial is unfrozen first) and refreshInstance (scene
// TRIAL_TO_FORMAL, the new expireTime) with the Renewal policy. The order
// completes when the seller acknowledges the refresh. The seller keeps the
// instance it provisioned for the trial: no new instance is made.
//
// Errors: ENOTFOUND (not the buyer's instance), ECONFLICT (not a trial;
// provisioning, failed or released; a change pending; a spec no longer
// sold; insufficient balance), EINVALID (periods; a spec not sold by
// period).
func ConvertTrial(ctx context.Context, db *store.DB, eng Enqueuer, by souk.Actor, req ConvertRequest) (Order, error) {
	return placeExtension(ctx, db, eng, by, extension{typ: TrialToFormal, periods: req.Periods, key: req.IdempotencyKey}, req.InstanceID)
}
