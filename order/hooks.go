package order

import (
	"context"
	"fmt"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// Hooks returns the delivery hooks that move orders and instances on when
// their calls end, in the engine's own transaction (give them to
// delivery.New, combined with any others):
//
//   - newInstance succeeded → the instance is active, with the seller's
//     instanceId and appInfo (from the newInstance answer, or for a polled
//     instance from the final queryInstance answer); the order completed.
//   - newInstance exhausted (the new-purchase deadline passed) → the
//     instance and the order failed, the buyer refunded in full
//     (platform:clearing → the buyer's balance), and, if the seller had
//     accepted the instance (000004) without ever finishing it, a
//     releaseInstance enqueued so that it is not left behind.
//   - refreshInstance succeeded → its renewal (or trial conversion) order
//     completed.
//   - changeInstanceCheck succeeded → upgradeInstance enqueued;
//     upgradeInstance succeeded → the change applied (change.go); either
//     exhausted → the change refused and refunded.
//
// Calls of other activities, or of keys that are not instances of this
// package, are left alone. Both hooks act only on an instance still
// provisioning, so a repeated outcome changes nothing.
//
// Reinvoking refuses to send again a call whose business is over: the
// newInstance of a purchase that failed and was refunded (the buyer must
// buy again; a seller provisioning it now would serve what nobody paid
// for), the check or upgrade of a change that failed and was refunded, and
// any call but a release of an instance already released or failed.
func Hooks() delivery.Hooks {
	return delivery.Hooks{Succeeded: succeeded, Exhausted: exhausted, Reinvoking: reinvoking}
}

func reinvoking(ctx context.Context, tx *store.Tx, c *delivery.Call) error {
	in, err := loadInstance(ctx, tx, c.Key)
	if isNotFound(err) {
		return nil // not a call of this package's
	} else if err != nil {
		return err
	}
	switch c.Activity {
	case protocol.NewInstance:
		if in.State != Provisioning {
			return souk.Errorf(souk.ECONFLICT, "The purchase (order %s) is %s: when this call gave up it was cancelled and refunded, so it is not sent again; the buyer can buy again.", in.OrderID, in.State)
		}
		return nil
	case protocol.ChangeInstanceCheck, protocol.UpgradeInstance:
		if _, _, _, ok, err := pendingChange(ctx, tx, in.ID); err != nil {
			return err
		} else if !ok {
			return souk.Errorf(souk.ECONFLICT, "The change of instance %s this call was for ended (refused and refunded); it is not sent again.", in.ID)
		}
		return nil
	case protocol.ReleaseInstance, protocol.ReleaseLicenseCode:
		return nil
	}
	if in.State == Released || in.State == InstanceFailed {
		return souk.Errorf(souk.ECONFLICT, "Instance %s is %s; only its release can be sent again.", in.ID, in.State)
	}
	return nil
}

func succeeded(ctx context.Context, tx *store.Tx, c *delivery.Call, o *protocol.Outcome) error {
	switch c.Activity {
	case protocol.NewInstance:
		return provisioned(ctx, tx, c, o)
	case protocol.RefreshInstance:
		return refreshed(ctx, tx, c)
	case protocol.ChangeInstanceCheck:
		return changeChecked(ctx, tx, c)
	case protocol.UpgradeInstance:
		return changeDone(ctx, tx, c)
	}
	return nil
}

func exhausted(ctx context.Context, tx *store.Tx, c *delivery.Call) error {
	switch c.Activity {
	case protocol.NewInstance:
		return notProvisioned(ctx, tx, c)
	case protocol.ChangeInstanceCheck, protocol.UpgradeInstance:
		return changeRefused(ctx, tx, c)
	}
	return nil
}

// provisioned activates the instance whose newInstance call c succeeded.
func provisioned(ctx context.Context, tx *store.Tx, c *delivery.Call, o *protocol.Outcome) error {
	in, ok, err := provisioning(ctx, tx, c.Key)
	if err != nil || !ok {
		return err
	}
	var sellerID string
	var app *protocol.AppInfo
	if c.PollID != "" {
		var resp protocol.QueryInstanceResponse
		if err := o.Decode(&resp); err != nil {
			return err
		}
		for _, info := range resp.Info {
			if info.InstanceID == c.PollID && info.Ready() {
				sellerID, app = info.InstanceID, info.AppInfo
			}
		}
	} else {
		var resp protocol.NewInstanceResponse
		if err := o.Decode(&resp); err != nil {
			return err
		}
		sellerID, app = resp.InstanceID, resp.AppInfo
	}
	if sellerID == "" || app == nil {
		return fmt.Errorf("newInstance of %s succeeded without instance info", in.ID)
	}
	now := store.Millis(tx.Now)
	if _, err := tx.ExecContext(ctx, `UPDATE order_instances SET state = $1, seller_instance_id = $2, front_end_url = $3,
		admin_url = $4, activated_at = $5, updated_at = $5 WHERE id = $6 AND state = $7`,
		string(Active), sellerID, app.FrontEndURL, app.AdminURL, now, in.ID, string(Provisioning)); err != nil {
		return fmt.Errorf("activate instance %s: %w", in.ID, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE orders SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`,
		string(Completed), now, in.OrderID, string(Paid))
	return err
}

// notProvisioned fails the instance whose newInstance call c gave up.
func notProvisioned(ctx context.Context, tx *store.Tx, c *delivery.Call) error {
	in, ok, err := provisioning(ctx, tx, c.Key)
	if err != nil || !ok {
		return err
	}
	reason := "The seller did not provision the instance before the new-purchase deadline"
	if c.LastError != "" {
		reason += " (last error: " + c.LastError + ")"
	}
	reason += "; the order was cancelled and refunded in full."
	if err := failAndRefund(ctx, tx, in, reason); err != nil {
		return err
	}
	if err := tellBuyer(ctx, tx, in.BuyerID, "order.failed", fmt.Sprintf("Order %s failed and was refunded", in.OrderID),
		fmt.Sprintf("The seller could not provide instance %s of product %s. %s", in.ID, in.ProductID, reason)); err != nil {
		return err
	}
	if c.PollID != "" {
		// The seller accepted the instance but never finished it: release
		// it, so the seller does not keep what nobody paid for.
		in.SellerInstanceID = c.PollID
		return tellRelease(ctx, tx, engineless{}, in, "", "")
	}
	return nil
}

// failAndRefund fails instance in and its order, and refunds what the
// order took, in tx.
func failAndRefund(ctx context.Context, tx *store.Tx, in Instance, reason string) error {
	now := store.Millis(tx.Now)
	if _, err := tx.ExecContext(ctx, `UPDATE order_instances SET state = $1, updated_at = $2 WHERE id = $3`,
		string(InstanceFailed), now, in.ID); err != nil {
		return err
	}
	var amount int64
	var currency, buyerID string
	var state State
	if err := tx.QueryRowContext(ctx, `SELECT amount, currency, buyer_id, state FROM orders WHERE id = $1`, in.OrderID).
		Scan(&amount, &currency, &buyerID, &state); err != nil {
		return fmt.Errorf("order %s: %w", in.OrderID, err)
	}
	// The order's state moves first, and only once: the refund follows
	// only for the transaction that moved it.
	if ok, err := setOrderState(ctx, tx, in.OrderID, state, Failed, reason); err != nil || !ok || state == Failed {
		return err
	}
	if amount > 0 {
		return refundOrder(ctx, tx, in.OrderID, buyerID, settle.M(amount, currency), "not delivered")
	}
	return nil
}

// provisioning loads instance id if it exists and is still provisioning.
func provisioning(ctx context.Context, tx *store.Tx, id string) (Instance, bool, error) {
	in, err := lockInstance(ctx, tx, id)
	if isNotFound(err) {
		return Instance{}, false, nil // not an instance of this package
	} else if err != nil {
		return Instance{}, false, err
	}
	return in, in.State == Provisioning, nil
}
