package order

import (
	"context"
	"time"

	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// What the seller is told of each event in an instance's life, by kind of
// instance — the one place that maps events to production interface calls
// (marketplace.md §4, protocol.md §3 and §8). Every call of an instance is
// enqueued under the instance's id as ordering key, so that a later call
// never overtakes an earlier one, and each supersedes the queued calls it
// makes pointless. A licence instance's calls go code by code (for the
// codes the seller knows: eachCode), and its codes' states move with the
// instance.

// engineless enqueues without waking an engine: for delivery hooks, which
// run inside the engine's own transaction (the engine sees the calls on
// its next poll).
type engineless struct{}

func (engineless) Enqueue(ctx context.Context, tx *store.Tx, c delivery.NewCall) (int64, error) {
	return delivery.Enqueue(ctx, tx, c)
}

// tell enqueues one call of instance in.
func tell(ctx context.Context, tx *store.Tx, eng Enqueuer, in Instance, policy delivery.Policy, req protocol.Request, supersedes ...protocol.Activity) error {
	_, err := eng.Enqueue(ctx, tx, delivery.NewCall{SellerID: in.SellerID, ProductID: in.ProductID, Key: in.ID,
		Policy: policy, Request: req, Supersedes: supersedes})
	return err
}

// tellStatus tells the seller that in is frozen (protocol.StatusFreeze) or
// unfrozen (StatusUnfreeze): updateInstanceStatus, or for a licence
// instance updateLicenseCodeStatus for each of its codes.
func tellStatus(ctx context.Context, tx *store.Tx, eng Enqueuer, in Instance, status string) error {
	if in.Kind != kindLicense {
		return tell(ctx, tx, eng, in, delivery.Renewal,
			&protocol.UpdateInstanceStatusRequest{InstanceID: in.SellerInstanceID, Status: status}, protocol.UpdateInstanceStatus)
	}
	now := store.Millis(tx.Now)
	var err error
	if status == protocol.StatusFreeze {
		_, err = tx.ExecContext(ctx, `UPDATE order_licenses SET state = $1, updated_at = $2 WHERE instance_id = $3 AND state IN ($4, $5)`,
			string(LicenseFrozen), now, in.ID, string(LicenseIssued), string(LicenseActivated))
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE order_licenses SET updated_at = $1,
			state = CASE WHEN activated_at IS NULL THEN $2 ELSE $3 END WHERE instance_id = $4 AND state = $5`,
			now, string(LicenseIssued), string(LicenseActivated), in.ID, string(LicenseFrozen))
	}
	if err != nil {
		return err
	}
	return eachCode(ctx, tx, in, func(code string) error {
		return tell(ctx, tx, eng, in, delivery.License, &protocol.UpdateLicenseCodeStatusRequest{License: code, Status: status})
	})
}

// tellRefresh tells the seller that in now expires at expires, by order
// orderID (scene protocol.SceneRenewal or SceneTrialToFormal):
// refreshInstance, or refreshLicenseCode for each code.
func tellRefresh(ctx context.Context, tx *store.Tx, eng Enqueuer, in Instance, scene, orderID, lineID string, expires time.Time) error {
	exp := protocol.FormatTime(expires)
	if in.Kind != kindLicense {
		return tell(ctx, tx, eng, in, delivery.Renewal, &protocol.RefreshInstanceRequest{Scene: scene, OrderID: orderID, OrderLineID: lineID,
			InstanceID: in.SellerInstanceID, ProductID: in.ProductID, ExpireTime: exp})
	}
	if scene != protocol.SceneRenewal {
		scene = protocol.SceneRenewal // licence codes know no other scene that extends them
	}
	return eachCode(ctx, tx, in, func(code string) error {
		return tell(ctx, tx, eng, in, delivery.License, &protocol.RefreshLicenseCodeRequest{Scene: scene, OrderID: orderID,
			OrderLineID: lineID, License: code, ProductID: in.ProductID, ExpireTime: exp})
	})
}

// tellRelease tells the seller that in is released (by order orderID when
// the buyer unsubscribed; "" at the end of grace): releaseInstance, or
// releaseLicenseCode for each code. Refreshes and status changes still
// queued are superseded.
//
// A renewal or conversion still waiting for its refresh is closed
// (completed, with the reason): its refresh is superseded and will never
// be acknowledged, and the time it paid for is the instance's, refunded
// with an unsubscription by the refund rule.
func tellRelease(ctx context.Context, tx *store.Tx, eng Enqueuer, in Instance, orderID, lineID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET state = $1, reason = $2, updated_at = $3
		WHERE state = $4 AND type IN ($5, $6) AND id IN (SELECT order_id FROM order_lines WHERE instance_id = $7)`,
		string(Completed), "The instance was released before the seller acknowledged this order's refresh.",
		store.Millis(tx.Now), string(Paid), string(Renew), string(TrialToFormal), in.ID); err != nil {
		return err
	}
	if in.Kind != kindLicense {
		return tell(ctx, tx, eng, in, delivery.Renewal,
			&protocol.ReleaseInstanceRequest{InstanceID: in.SellerInstanceID, OrderID: orderID, OrderLineID: lineID},
			protocol.RefreshInstance, protocol.UpdateInstanceStatus)
	}
	err := eachCode(ctx, tx, in, func(code string) error {
		return tell(ctx, tx, eng, in, delivery.License,
			&protocol.ReleaseLicenseCodeRequest{License: code, OrderID: orderID, OrderLineID: lineID},
			protocol.RefreshLicenseCode, protocol.UpdateLicenseCodeStatus)
	})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE order_licenses SET state = $1, updated_at = $2 WHERE instance_id = $3`,
		string(LicenseReleased), store.Millis(tx.Now), in.ID)
	return err
}

// eachCode calls fn with each code of licence instance in that the seller
// knows — activated, whatever its state since — and is not yet released.
// A seller first hears of a code when its software activates it (the open
// API), so a code never activated is not the subject of any call: its
// state lives on the marketplace's side, where activation checks it.
func eachCode(ctx context.Context, tx *store.Tx, in Instance, fn func(code string) error) error {
	rows, err := tx.QueryContext(ctx, `SELECT code FROM order_licenses WHERE instance_id = $1 AND state <> $2 AND activated_at IS NOT NULL
		ORDER BY created_at, code`, in.ID, string(LicenseReleased))
	if err != nil {
		return err
	}
	var codes []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		codes = append(codes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range codes {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}
