package delivery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// The production interface messages: calls and their attempts as sellers
// and operators read them.

// CallFilter selects calls. Zero fields select everything.
type CallFilter struct {
	SellerID  string // a seller sees only its own: always set it for a seller
	ProductID string
	Activity  protocol.Activity
	State     State
	// Problems selects calls that need attention: retrying, exhausted or
	// awaiting a decision.
	Problems bool
	From, To time.Time // created at or after From, before To
	// BeforeID pages backwards: calls with a smaller id.
	BeforeID int64
	// Limit is the page size: 50 by default, at most 500.
	Limit int
}

// ListCalls returns the calls f selects, newest first.
func ListCalls(ctx context.Context, db *store.DB, f CallFilter) ([]*Call, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.SellerID != "" {
		add("seller_id = $%d", f.SellerID)
	}
	if f.ProductID != "" {
		add("product_id = $%d", f.ProductID)
	}
	if f.Activity != "" {
		add("activity = $%d", string(f.Activity))
	}
	if f.State != "" {
		add("state = $%d", string(f.State))
	}
	if f.Problems {
		where = append(where, "state IN ('retrying', 'exhausted', 'awaiting_decision')")
	}
	if !f.From.IsZero() {
		add("created_at >= $%d", store.Millis(f.From))
	}
	if !f.To.IsZero() {
		add("created_at < $%d", store.Millis(f.To))
	}
	if f.BeforeID > 0 {
		add("id < $%d", f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	q := `SELECT ` + callColumns + ` FROM delivery_calls`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := db.SQL().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	return scanCalls(rows)
}

// Reinvocation is one recorded re-invocation of a call.
type Reinvocation struct {
	Actor  string
	Reason string
	At     time.Time
}

// Message is one call with its whole history.
type Message struct {
	Call          *Call
	Attempts      []Attempt
	Reinvocations []Reinvocation
}

// GetMessage returns call id with its attempts (oldest first) and
// re-invocations. sellerID, when set, restricts it to that seller's calls.
// Returns ENOTFOUND if there is no such call for that seller.
func GetMessage(ctx context.Context, db *store.DB, id int64, sellerID string) (*Message, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT `+callColumns+` FROM delivery_calls WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	calls, err := scanCalls(rows)
	if err != nil {
		return nil, err
	}
	if len(calls) == 0 || (sellerID != "" && calls[0].SellerID != sellerID) {
		return nil, souk.Errorf(souk.ENOTFOUND, "Call %d not found.", id)
	}
	m := &Message{Call: calls[0]}
	rows, err = db.SQL().QueryContext(ctx, `SELECT id, call_id, n, node, activity, started_at, latency_ms, url, request,
		http_status, outcome, result_code, result_msg, response, error, next
		FROM delivery_attempts WHERE call_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a Attempt
		var activity, outcome, code string
		var started, latency int64
		if err := rows.Scan(&a.ID, &a.CallID, &a.N, &a.Node, &activity, &started, &latency, &a.URL, &a.Request,
			&a.HTTPStatus, &outcome, &code, &a.ResultMsg, &a.Response, &a.Error, &a.Next); err != nil {
			return nil, err
		}
		a.Activity, a.Outcome, a.ResultCode = protocol.Activity(activity), protocol.OutcomeKind(outcome), protocol.Code(code)
		a.StartedAt, a.Latency = store.FromMillis(started), time.Duration(latency)*time.Millisecond
		m.Attempts = append(m.Attempts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rrows, err := db.SQL().QueryContext(ctx, `SELECT actor, reason, at FROM delivery_reinvocations WHERE call_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rrows.Close()
	for rrows.Next() {
		var r Reinvocation
		var at int64
		if err := rrows.Scan(&r.Actor, &r.Reason, &at); err != nil {
			return nil, err
		}
		r.At = store.FromMillis(at)
		m.Reinvocations = append(m.Reinvocations, r)
	}
	return m, rrows.Err()
}
