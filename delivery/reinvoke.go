package delivery

import (
	"context"
	"database/sql"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// Roles that may re-invoke a call.
const (
	RoleSeller   = "seller"   // its own calls
	RoleOperator = "operator" // any call
	RoleBuyer    = "buyer"    // awaiting kit calls whose policy's Decider is the buyer
	RoleAdmin    = "admin"    // awaiting kit calls whose policy's Decider is the enterprise admin
)

// Actor is who asks for a re-invocation. For a buyer or an enterprise admin
// the caller has already checked that the call concerns their enterprise;
// this package checks what it knows: the role against the call's policy and
// a seller against the call's seller.
type Actor struct {
	Role     string
	ID       string // the user
	SellerID string // for RoleSeller: the seller the user belongs to
}

// Reinvoke makes an exhausted or awaiting call pending again, due now, with
// a fresh policy stage (new schedule, new deadline, new notices), and
// records who asked and why. A call still retrying is sent now instead of
// at its next attempt — a seller who fixed its interface need not wait —
// in the same policy stage: its deadline does not move, so a buyer's
// protection (a purchase refunded after 3 h) is not put off. Either way
// the call keeps its place in its key's order: it is sent before any later
// call of the same key that is still queued.
//
// Returns ENOTFOUND if there is no such call (or the actor may not see it),
// EUNAUTHORIZED if the actor may not re-invoke it, ECONFLICT if it is not
// exhausted, awaiting a decision or retrying (or the business whose call
// it is refuses: Hooks.Reinvoking), and EINVALID without a reason.
func (e *Engine) Reinvoke(ctx context.Context, callID int64, who Actor, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return souk.Errorf(souk.EINVALID, "A reason is required to re-invoke a call.")
	}
	err := e.db.Tx(ctx, func(tx *store.Tx) error {
		var seller, policyName, state string
		err := tx.QueryRowContext(ctx, `SELECT seller_id, policy, state FROM delivery_calls WHERE id = $1`, callID).
			Scan(&seller, &policyName, &state)
		if err != nil {
			return store.NotFound(err, "Call %d not found.", callID)
		}
		policy, _ := PolicyNamed(policyName)
		switch who.Role {
		case RoleOperator:
		case RoleSeller:
			if who.SellerID == "" || who.SellerID != seller {
				return souk.Errorf(souk.ENOTFOUND, "Call %d not found.", callID)
			}
		case RoleBuyer, RoleAdmin:
			if policy.Decider != who.Role {
				return souk.Errorf(souk.EUNAUTHORIZED, "Only the seller or the operator may re-invoke this call.")
			}
		default:
			return souk.Errorf(souk.EUNAUTHORIZED, "You may not re-invoke calls.")
		}
		if s := State(state); s != Exhausted && s != AwaitingDecision && s != Retrying {
			return souk.Errorf(souk.ECONFLICT, "Call %d is %s; only a call that failed (retrying, exhausted or awaiting a decision) can be re-invoked.", callID, s)
		}
		if e.hooks.Reinvoking != nil {
			rows, err := tx.QueryContext(ctx, `SELECT `+callColumns+` FROM delivery_calls WHERE id = $1`, callID)
			if err != nil {
				return err
			}
			calls, err := scanCalls(rows)
			if err != nil {
				return err
			}
			if len(calls) == 1 {
				if err := e.hooks.Reinvoking(ctx, tx, calls[0]); err != nil {
					return err
				}
			}
		}
		// Each update holds only if the call is still in the state read
		// above: a call claimed or re-invoked meanwhile is left alone.
		now := store.Millis(tx.Now)
		var res sql.Result
		if State(state) == Retrying {
			res, err = tx.ExecContext(ctx, `UPDATE delivery_calls SET next_at = $1, updated_at = $1 WHERE id = $2 AND state = 'retrying'`,
				now, callID)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE delivery_calls
				SET state = 'pending', next_at = $1, first_at = NULL, stage_start = attempts,
				    notified_stage = 0, finished_at = NULL, updated_at = $1
				WHERE id = $2 AND state = $3`, now, callID, state)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return souk.Errorf(souk.ECONFLICT, "Call %d changed while it was being re-invoked; look at it again.", callID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO delivery_reinvocations (call_id, actor, reason, at) VALUES ($1, $2, $3, $4)`,
			callID, who.Role+":"+who.ID, reason, now)
		return err
	})
	if err == nil {
		e.Wake()
	}
	return err
}
