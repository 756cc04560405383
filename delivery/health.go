package delivery

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/souk-market/souk/store"
)

// SellerHealth is how delivery to one seller has gone over a window, and
// what waits for it now: the operator console's dashboard.
type SellerHealth struct {
	SellerID string
	// Calls are the calls created in the window; Succeeded those of them
	// that have succeeded.
	Calls, Succeeded int
	// Attempts are the attempts started in the window (of any call);
	// FailedAttempts those whose outcome was neither success nor accepted.
	Attempts, FailedAttempts int
	// LatencyP50 and LatencyP95 are percentiles of the window's attempts'
	// latencies (zero without attempts).
	LatencyP50, LatencyP95 time.Duration
	// Backlog is the calls pending, retrying or in flight now; Exhausted
	// those exhausted or awaiting a decision now, whenever created.
	Backlog, Exhausted int
}

// SuccessRate is the share of the window's attempts that succeeded (or
// were accepted), from 0 to 1; 1 without attempts (nothing failed).
func (h SellerHealth) SuccessRate() float64 {
	if h.Attempts == 0 {
		return 1
	}
	return float64(h.Attempts-h.FailedAttempts) / float64(h.Attempts)
}

// Health returns the delivery health of every seller with calls or
// attempts since since, or with calls waiting or needing attention now,
// ordered by seller id. Latency percentiles are computed here from the
// window's attempts (nearest rank), the same on both engines.
func Health(ctx context.Context, db *store.DB, since time.Time) ([]SellerHealth, error) {
	by := map[string]*SellerHealth{}
	get := func(id string) *SellerHealth {
		h, ok := by[id]
		if !ok {
			h = &SellerHealth{SellerID: id}
			by[id] = h
		}
		return h
	}
	from := store.Millis(since)

	rows, err := db.SQL().QueryContext(ctx, `SELECT seller_id, count(*), sum(CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END)
		FROM delivery_calls WHERE created_at >= $1 GROUP BY seller_id`, from)
	if err != nil {
		return nil, fmt.Errorf("delivery health: calls: %w", err)
	}
	for rows.Next() {
		var id string
		var calls, ok int
		if err := rows.Scan(&id, &calls, &ok); err != nil {
			rows.Close()
			return nil, err
		}
		h := get(id)
		h.Calls, h.Succeeded = calls, ok
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// The attempts come grouped by latency (whole milliseconds, at most the
	// call timeout), so what is held here is bounded by the distinct
	// latencies, not by the number of attempts, and the percentiles are
	// still exact.
	rows, err = db.SQL().QueryContext(ctx, `SELECT c.seller_id, a.latency_ms, count(*),
		sum(CASE WHEN a.outcome IN ('success', 'accepted') THEN 0 ELSE 1 END)
		FROM delivery_attempts a JOIN delivery_calls c ON c.id = a.call_id
		WHERE a.started_at >= $1 GROUP BY c.seller_id, a.latency_ms`, from)
	if err != nil {
		return nil, fmt.Errorf("delivery health: attempts: %w", err)
	}
	latencies := map[string][]latencyCount{}
	for rows.Next() {
		var id string
		var lc latencyCount
		var failed int
		if err := rows.Scan(&id, &lc.ms, &lc.n, &failed); err != nil {
			rows.Close()
			return nil, err
		}
		h := get(id)
		h.Attempts += lc.n
		h.FailedAttempts += failed
		latencies[id] = append(latencies[id], lc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for id, ls := range latencies {
		slices.SortFunc(ls, func(a, b latencyCount) int { return cmp.Compare(a.ms, b.ms) })
		by[id].LatencyP50 = time.Duration(rank(ls, by[id].Attempts, 50)) * time.Millisecond
		by[id].LatencyP95 = time.Duration(rank(ls, by[id].Attempts, 95)) * time.Millisecond
	}

	// Seller by seller, through the index (seller_id, state, …), as the
	// metrics' depth: no index leads with the state.
	rows, err = db.SQL().QueryContext(ctx, `SELECT s.seller_id, c.state, count(*) FROM delivery_sellers s
		JOIN delivery_calls c ON c.seller_id = s.seller_id
		WHERE c.state IN ('pending', 'in_flight', 'retrying', 'exhausted', 'awaiting_decision')
		GROUP BY s.seller_id, c.state`)
	if err != nil {
		return nil, fmt.Errorf("delivery health: backlog: %w", err)
	}
	for rows.Next() {
		var id, state string
		var n int
		if err := rows.Scan(&id, &state, &n); err != nil {
			rows.Close()
			return nil, err
		}
		h := get(id)
		switch State(state) {
		case Exhausted, AwaitingDecision:
			h.Exhausted += n
		default:
			h.Backlog += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	out := make([]SellerHealth, 0, len(by))
	for _, h := range by {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b SellerHealth) int {
		switch {
		case a.SellerID < b.SellerID:
			return -1
		case a.SellerID > b.SellerID:
			return 1
		}
		return 0
	})
	return out, nil
}

// rank returns the p-th percentile of sorted (not empty), nearest rank.
func rank(sorted []latencyCount, total, p int) int64 {
	i := (p*total + 99) / 100 // the rank, from 1
	seen := 0
	for _, lc := range sorted {
		if seen += lc.n; seen >= i {
			return lc.ms
		}
	}
	return sorted[len(sorted)-1].ms
}

// latencyCount is how many attempts took ms milliseconds.
type latencyCount struct {
	ms int64
	n  int
}
