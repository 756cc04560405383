package sellerapi

import (
	"context"
	"fmt"
	"time"

	"github.com/souk-market/souk/store"
)

// PurgeEvery is how often, at most, a Handler deletes the nonces that can
// no longer be replayed: on the first call it accepts after PurgeEvery has
// passed since its last purge (on its clock, the store's). Several nodes
// each purge on their own; the deletes are idempotent.
const PurgeEvery = time.Minute

// remember records that credential keyID used nonce in a call accepted at
// now, in the table every node shares (sellerapi_nonces), and reports false
// if the key used the nonce before within twice the window: a replay, from
// whichever node saw it. The unique index decides between concurrent uses:
// exactly one inserts the row.
//
// A row older than twice the window no longer matters: its call's ts lay
// within ±window of seen_at, so no node accepts that ts after seen_at + 2 ×
// window, whatever its own clock. Such a row, if not yet purged, is taken
// over by a new use of its nonce rather than refusing it.
func (h *Handler) remember(ctx context.Context, keyID, nonce string, now time.Time) (bool, error) {
	expired := store.Millis(now.Add(-2 * h.profile.TimestampWindow))
	res, err := h.db.SQL().ExecContext(ctx, `INSERT INTO sellerapi_nonces (key_id, nonce, seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (key_id, nonce) DO UPDATE SET seen_at = excluded.seen_at WHERE sellerapi_nonces.seen_at < $4`,
		keyID, nonce, store.Millis(now), expired)
	if err != nil {
		return false, fmt.Errorf("sellerapi: record nonce of %s: %w", keyID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sellerapi: record nonce of %s: %w", keyID, err)
	}
	if n == 0 {
		return false, nil
	}
	h.maybePurge(ctx, now)
	return true, nil
}

// maybePurge deletes the nonces older than twice the window, if PurgeEvery
// has passed since this Handler last did, so the table holds about two
// windows of accepted calls. Only accepted calls get here: forged ones
// neither write rows nor cause deletes. A failure is logged, not the call's:
// the rows wait for the next purge, and stale rows refuse nothing (remember).
func (h *Handler) maybePurge(ctx context.Context, now time.Time) {
	due := h.nextPurge.Load()
	if now.UnixMilli() < due || !h.nextPurge.CompareAndSwap(due, now.Add(PurgeEvery).UnixMilli()) {
		return
	}
	if _, err := h.db.SQL().ExecContext(ctx, `DELETE FROM sellerapi_nonces WHERE seen_at < $1`,
		store.Millis(now.Add(-2*h.profile.TimestampWindow))); err != nil {
		h.log.Warn("open API: purge expired nonces", "err", err)
	}
}
