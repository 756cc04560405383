package order

import (
	"context"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// DefaultGrace is how long an expired instance stays frozen, waiting for a
// renewal, before it is released (marketplace.md §4).
const DefaultGrace = 15 * 24 * time.Hour

// SweepConfig sets the expiry sweep.
type SweepConfig struct {
	Grace time.Duration // 0: DefaultGrace
	Batch int           // instances per transaction; 0: 200
}

// Swept is what one sweep did.
type Swept struct {
	Frozen, Released int
}

// Sweep moves on every instance whose time is up, as of the database
// clock's now:
//
//   - an active instance past its expiry is frozen until the end of its
//     grace period (its expiry + cfg.Grace) and the seller told
//     (updateInstanceStatus FREEZE, or updateLicenseCodeStatus for each
//     licence code; the Renewal or License policy); a renewal in the grace
//     period unfreezes it (RenewInstance);
//   - a frozen instance past the end of its grace period is released and
//     the seller told (releaseInstance or releaseLicenseCode, superseding
//     any call the release makes pointless).
//
// It works in transactions of cfg.Batch instances, taken in a total order
// (time, id) so that two sweeps at once lock them in the same order, each
// found through an
// index on (state, time) so that the cost grows with what is due, not
// with what exists, and each moved by a conditional update, so that a
// renewal committed meanwhile wins and two sweeps never move one instance
// twice. Instances provisioning, failed or released, and those that do not
// expire, are never touched. Trials expire like any other instance.
func Sweep(ctx context.Context, db *store.DB, eng Enqueuer, cfg SweepConfig) (Swept, error) {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	var out Swept
	for _, step := range []struct {
		due   string
		count *int
		move  func(ctx context.Context, tx *store.Tx, eng Enqueuer, in Instance, grace time.Duration) (bool, error)
	}{
		{`SELECT id FROM order_instances WHERE state = 'active' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2`, &out.Frozen, freeze},
		{`SELECT id FROM order_instances WHERE state = 'frozen' AND release_at <= $1 ORDER BY release_at, id LIMIT $2`, &out.Released, release},
	} {
		for {
			n := 0
			err := db.Tx(ctx, func(tx *store.Tx) error {
				ids, err := dueIDs(ctx, tx, step.due, cfg.Batch)
				if err != nil {
					return err
				}
				n = len(ids)
				moved := 0
				for _, id := range ids {
					in, err := lockInstance(ctx, tx, id)
					if err != nil {
						return err
					}
					ok, err := step.move(ctx, tx, eng, in, cfg.Grace)
					if err != nil {
						return err
					}
					if ok {
						moved++
					}
				}
				*step.count += moved
				return nil
			})
			if err != nil {
				return out, err
			}
			if n < cfg.Batch {
				break
			}
		}
	}
	return out, nil
}

func dueIDs(ctx context.Context, tx *store.Tx, query string, limit int) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, store.Millis(tx.Now), limit)
	if err != nil {
		return nil, err
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

// freeze freezes active instance in if it is still due, until its expiry
// + grace, and tells the seller.
func freeze(ctx context.Context, tx *store.Tx, eng Enqueuer, in Instance, grace time.Duration) (bool, error) {
	now := store.Millis(tx.Now)
	res, err := tx.ExecContext(ctx, `UPDATE order_instances SET state = 'frozen', release_at = $1, updated_at = $2
		WHERE id = $3 AND state = 'active' AND expires_at <= $2`, store.Millis(in.ExpiresAt.Add(grace)), now, in.ID)
	if ok, err := changed(res, err); !ok || err != nil {
		return false, err
	}
	if err := tellFrozen(ctx, tx, in, formatNoticeTime(in.ExpiresAt.Add(grace))); err != nil {
		return false, err
	}
	return true, tellStatus(ctx, tx, eng, in, protocol.StatusFreeze)
}

// release releases frozen instance in if its grace is still over, and
// tells the seller.
func release(ctx context.Context, tx *store.Tx, eng Enqueuer, in Instance, _ time.Duration) (bool, error) {
	now := store.Millis(tx.Now)
	res, err := tx.ExecContext(ctx, `UPDATE order_instances SET state = 'released', updated_at = $1
		WHERE id = $2 AND state = 'frozen' AND release_at <= $1`, now, in.ID)
	if ok, err := changed(res, err); !ok || err != nil {
		return false, err
	}
	if err := tellReleased(ctx, tx, in); err != nil {
		return false, err
	}
	return true, tellRelease(ctx, tx, eng, in, "", "")
}

// formatNoticeTime writes a time for a person: "2026-12-16 09:00 UTC".
func formatNoticeTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
