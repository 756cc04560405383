package delivery

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// dueCalls selects the ids of calls to claim, in round-robin order across
// sellers. A call is due when it waits for an attempt whose time has come,
// or when it is in flight under a lease that ran out (its node died). It is
// eligible only if no older call of its key is unfinished (per-key order),
// and only as many of a seller's calls are taken as the seller has room for
// under the in-flight cap. Ordering by the rank within each seller takes one
// call of every seller before a second of any.
//
// $1 now, $2 the per-seller cap, $3 the limit.
const dueCalls = `
WITH due AS (
	SELECT c.id, c.seller_id,
	       ROW_NUMBER() OVER (PARTITION BY c.seller_id ORDER BY c.next_at, c.id) AS rank
	FROM delivery_calls c
	WHERE ((c.state IN ('pending', 'retrying') AND c.next_at <= $1)
	       OR (c.state = 'in_flight' AND c.lease_until <= $1))
	  AND NOT EXISTS (
		SELECT 1 FROM delivery_calls p
		WHERE p.order_key = c.order_key AND p.id < c.id
		  AND p.state IN ('pending', 'retrying', 'in_flight'))
), busy AS (
	SELECT seller_id, count(*) AS n FROM delivery_calls
	WHERE state = 'in_flight' AND lease_until > $1
	GROUP BY seller_id
)
SELECT due.id FROM due LEFT JOIN busy ON busy.seller_id = due.seller_id
WHERE due.rank <= $2 - COALESCE(busy.n, 0)
ORDER BY due.rank, due.id
LIMIT $3`

// stillDue repeats the due condition on the rows being locked. On
// PostgreSQL a row another node claimed and committed meanwhile is
// re-checked against it after the lock, so it is not claimed twice.
const stillDue = `((state IN ('pending', 'retrying') AND next_at <= $1)
	OR (state = 'in_flight' AND lease_until <= $1))`

const callColumns = `id, seller_id, product_id, order_key, activity, body, policy, state, poll_id,
	attempts, stage_start, next_at, first_at, last_outcome, last_code, last_error, created_at, updated_at, finished_at`

// claim takes up to limit due calls for this node under a lease.
func (e *Engine) claim(ctx context.Context, limit int) ([]*Call, error) {
	if limit <= 0 {
		return nil, nil
	}
	var calls []*Call
	err := e.db.Tx(ctx, func(tx *store.Tx) error {
		now := store.Millis(tx.Now)
		ids, err := queryIDs(ctx, tx, dueCalls, now, e.cfg.PerSellerInFlight, limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		if tx.Engine == store.Postgres {
			in, args := inList(2, ids)
			ids, err = queryIDs(ctx, tx, `SELECT id FROM delivery_calls WHERE id IN (`+in+`) AND `+stillDue+
				` FOR UPDATE SKIP LOCKED`, append([]any{now}, args...)...)
			if err != nil || len(ids) == 0 {
				return err
			}
		}
		in, args := inList(5, ids)
		rows, err := tx.QueryContext(ctx, `UPDATE delivery_calls
			SET state = 'in_flight', lease_owner = $1, lease_until = $2, updated_at = $3,
			    first_at = COALESCE(first_at, $3)
			WHERE id IN (`+in+`) AND `+strings.ReplaceAll(stillDue, "$1", "$4")+`
			RETURNING `+callColumns,
			append([]any{e.cfg.Node, now + e.cfg.Lease.Milliseconds(), now, now}, args...)...)
		if err != nil {
			return err
		}
		calls, err = scanCalls(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return calls, nil
}

// release gives calls this node claimed but did not send back to any node.
func (e *Engine) release(calls []*Call) {
	if len(calls) == 0 {
		return
	}
	ids := make([]int64, len(calls))
	for i, c := range calls {
		ids[i] = c.ID
	}
	in, args := inList(3, ids)
	err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `UPDATE delivery_calls
			SET state = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retrying' END,
			    first_at = CASE WHEN attempts = 0 THEN NULL ELSE first_at END,
			    lease_owner = NULL, lease_until = NULL, updated_at = $2
			WHERE lease_owner = $1 AND state = 'in_flight' AND id IN (`+in+`)`,
			append([]any{e.cfg.Node, store.Millis(tx.Now)}, args...)...)
		return err
	})
	if err != nil {
		e.log.Error("release unsent calls; their leases will run out instead", "calls", len(ids), "err", err)
	}
}

// inList returns "$first, $first+1, …" for ids and the ids as arguments.
func inList(first int, ids []int64) (string, []any) {
	marks := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		marks[i] = fmt.Sprintf("$%d", first+i)
		args[i] = id
	}
	return strings.Join(marks, ", "), args
}

func queryIDs(ctx context.Context, tx *store.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// scanCalls reads rows of callColumns.
func scanCalls(rows *sql.Rows) ([]*Call, error) {
	defer rows.Close()
	var calls []*Call
	for rows.Next() {
		var c Call
		var activity, state, outcome, code string
		var nextAt, createdAt, updatedAt int64
		var firstAt, finishedAt sql.NullInt64
		if err := rows.Scan(&c.ID, &c.SellerID, &c.ProductID, &c.Key, &activity, &c.Body, &c.Policy, &state, &c.PollID,
			&c.Attempts, &c.StageStart, &nextAt, &firstAt, &outcome, &code, &c.LastError, &createdAt, &updatedAt, &finishedAt); err != nil {
			return nil, err
		}
		c.Activity, c.State = protocol.Activity(activity), State(state)
		c.LastOutcome, c.LastCode = protocol.OutcomeKind(outcome), protocol.Code(code)
		c.NextAt, c.CreatedAt, c.UpdatedAt = store.FromMillis(nextAt), store.FromMillis(createdAt), store.FromMillis(updatedAt)
		if firstAt.Valid {
			c.FirstAt = store.FromMillis(firstAt.Int64)
		}
		if finishedAt.Valid {
			c.FinishedAt = store.FromMillis(finishedAt.Int64)
		}
		calls = append(calls, &c)
	}
	return calls, rows.Err()
}
