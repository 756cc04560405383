package delivery

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// Claiming goes seller by seller: for each seller, how many of its calls
// are in flight under a live lease (sellerLoad), then up to its free room
// of its due calls (sellerDue). A call is due when it waits for an attempt
// whose time has come, or when it is in flight under a lease that ran out
// (its node died). It is eligible only if no older call of its key is
// unfinished (per-key order). Visiting sellers from a rotating start, a fair
// share each, is the round-robin that keeps one seller's backlog from
// crowding out the others; the cost of a claim grows with the number of
// sellers, not with the number of calls waiting.

// sellerLoad: $1 now.
const sellerLoad = `
SELECT s.seller_id,
       (SELECT count(*) FROM delivery_calls c
        WHERE c.seller_id = s.seller_id AND c.state = 'in_flight' AND c.lease_until > $1)
FROM delivery_sellers s ORDER BY s.seller_id`

// sellerDue: $1 seller, $2 now, $3 limit, ($4, $5) the mark to start
// after; %s is the state condition.
// One query per state, each walking the index (seller_id, state, next_at)
// in order and stopping at the limit, rather than sorting all of a
// seller's waiting calls on every claim.
const sellerDue = `
SELECT c.id, c.next_at FROM delivery_calls c
WHERE c.seller_id = $1 AND %s
  AND NOT EXISTS (
	SELECT 1 FROM delivery_calls p
	WHERE p.order_key = c.order_key AND p.id < c.id
	  AND p.state IN ('pending', 'retrying', 'in_flight'))
ORDER BY c.next_at, c.id
LIMIT $3`

// dueStates are the conditions under which a seller's call is due: its
// lease ran out (first: those are the oldest), a retry is due, or it waits
// for its first attempt. The last two walk the index from a mark (see
// mark).
var dueStates = []string{
	"c.state = 'in_flight' AND c.lease_until <= $2",
	"c.state = 'retrying' AND c.next_at <= $2 AND (c.next_at > $4 OR (c.next_at = $4 AND c.id > $5))",
	"c.state = 'pending' AND c.next_at <= $2 AND (c.next_at > $4 OR (c.next_at = $4 AND c.id > $5))",
}

// mark is where the last claim of a seller's calls in one state stopped in
// the index (next_at, id). The next claim starts after it rather than at
// the beginning: on PostgreSQL the entries of calls already claimed stay in
// the index until vacuum, and walking past thousands of them on every claim
// would make a backlog slow to drain. A call committed late with an earlier
// next_at is not lost: a mark is dropped as soon as a claim finds fewer
// calls than it wanted, and after markTTL in any case.
type mark struct {
	nextAt, id int64
	set        time.Time
}

const markTTL = time.Second

// stillDue repeats the due condition on the rows being claimed. On
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
		ids, err := e.dueIDs(ctx, tx, now, limit)
		if err != nil || len(ids) == 0 {
			return err
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

// dueIDs picks up to limit due calls, round-robin across sellers with room
// under the in-flight cap (see sellerLoad).
func (e *Engine) dueIDs(ctx context.Context, tx *store.Tx, now int64, limit int) ([]int64, error) {
	type seller struct {
		id   string
		room int
	}
	rows, err := tx.QueryContext(ctx, sellerLoad, now)
	if err != nil {
		return nil, err
	}
	var sellers []seller
	for rows.Next() {
		var s seller
		var busy int
		if err := rows.Scan(&s.id, &busy); err != nil {
			rows.Close()
			return nil, err
		}
		if s.room = e.cfg.PerSellerInFlight - busy; s.room > 0 {
			sellers = append(sellers, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(sellers) == 0 {
		return nil, err
	}
	// Start where the last claim left off, and give each seller a fair
	// share first; what is left goes round again to those with more.
	e.rr = (e.rr + 1) % len(sellers)
	share := max(1, limit/len(sellers))
	lock := ""
	if tx.Engine == store.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var ids []int64
	for pass := 0; pass < 2 && len(ids) < limit; pass++ {
		for i := range sellers {
			s := &sellers[(e.rr+i)%len(sellers)]
			take := min(s.room, share, limit-len(ids))
			if pass == 1 {
				take = min(s.room, limit-len(ids))
			}
			if take <= 0 {
				continue
			}
			found := 0
			for st, cond := range dueStates {
				key := s.id + "\x00" + cond
				m, ok := e.marks[key]
				if !ok || time.Since(m.set) > markTTL {
					m = mark{nextAt: -1, id: -1}
				}
				query := fmt.Sprintf(sellerDue, cond) + lock
				args := []any{s.id, now, take - found}
				if st > 0 {
					args = append(args, m.nextAt, m.id)
				}
				got, last, err := queryDue(ctx, tx, query, args...)
				if err == nil && len(got) < take-found && m.nextAt >= 0 {
					// Caught up from the mark: look from the top once,
					// for calls that turned up behind it.
					var more []int64
					more, last, err = queryDue(ctx, tx, query, s.id, now, take-found, int64(-1), int64(-1))
					seen := make(map[int64]bool, len(got))
					for _, id := range got {
						seen[id] = true
					}
					for _, id := range more {
						if !seen[id] && len(got) < take-found {
							got = append(got, id)
						}
					}
				}
				if err != nil {
					return nil, err
				}
				ids = append(ids, got...)
				if len(got) < take-found {
					delete(e.marks, key) // caught up: start from the top next time
				} else if st > 0 {
					e.marks[key] = mark{nextAt: last.nextAt, id: last.id, set: m.set}
					if m.nextAt < 0 {
						e.marks[key] = mark{nextAt: last.nextAt, id: last.id, set: time.Now()}
					}
				}
				if found += len(got); found == take {
					break
				}
			}
			s.room -= found
			if found < take {
				s.room = 0 // nothing more due for this seller now
			}
		}
	}
	return ids, nil
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

// queryDue runs a sellerDue query and returns the ids and where it stopped.
func queryDue(ctx context.Context, tx *store.Tx, query string, args ...any) ([]int64, mark, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mark{}, err
	}
	defer rows.Close()
	var ids []int64
	var last mark
	for rows.Next() {
		if err := rows.Scan(&last.id, &last.nextAt); err != nil {
			return nil, mark{}, err
		}
		ids = append(ids, last.id)
	}
	return ids, last, rows.Err()
}
