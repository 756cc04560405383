package delivery

import (
	"context"
	"fmt"
	"strings"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// NewCall is a call a domain change owes a seller.
type NewCall struct {
	SellerID  string
	ProductID string
	// Key orders the call behind earlier unfinished calls of the same key:
	// the instance, licence or enterprise it concerns.
	Key     string
	Request protocol.Request
	Policy  Policy
	// Supersedes names activities of calls of the same key, still queued
	// and not in flight, that this call makes pointless (a renewal queued
	// behind a release): they are marked Superseded and never sent.
	Supersedes []protocol.Activity
}

// Enqueue records c in tx, due at once; it is sent only if tx commits (the
// transactional outbox). The engine is woken by Engine.Enqueue; this
// function is for callers without an engine at hand (tests, tools), whose
// calls wait for the engine's next poll.
func Enqueue(ctx context.Context, tx *store.Tx, c NewCall) (int64, error) {
	if c.SellerID == "" || c.ProductID == "" || c.Key == "" || c.Request == nil || c.Policy.Name == "" {
		return 0, fmt.Errorf("enqueue: seller, product, key, request and policy are required")
	}
	if err := c.Request.Validate(); err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", c.Request.Activity(), err)
	}
	body, err := protocol.Encode(c.Request)
	if err != nil {
		return 0, err
	}
	if len(c.Supersedes) > 0 {
		args := []any{store.Millis(tx.Now), c.Key}
		marks := make([]string, len(c.Supersedes))
		for i, a := range c.Supersedes {
			args = append(args, string(a))
			marks[i] = fmt.Sprintf("$%d", i+3)
		}
		_, err := tx.ExecContext(ctx, `UPDATE delivery_calls
			SET state = 'superseded', updated_at = $1, finished_at = $1
			WHERE order_key = $2 AND state IN ('pending', 'retrying') AND activity IN (`+strings.Join(marks, ", ")+`)`, args...)
		if err != nil {
			return 0, fmt.Errorf("supersede calls of %s: %w", c.Key, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_sellers (seller_id) VALUES ($1) ON CONFLICT DO NOTHING`, c.SellerID); err != nil {
		return 0, fmt.Errorf("enqueue: record seller: %w", err)
	}
	var id int64
	now := store.Millis(tx.Now)
	err = tx.QueryRowContext(ctx, `INSERT INTO delivery_calls
		(seller_id, product_id, order_key, activity, body, policy, state, next_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $7) RETURNING id`,
		c.SellerID, c.ProductID, c.Key, string(c.Request.Activity()), body, c.Policy.Name, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", c.Request.Activity(), err)
	}
	return id, nil
}
