package delivery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// result is the outcome of one attempt, waiting to be written.
type result struct {
	call    *Call
	started time.Time
	outcome *protocol.Outcome
}

// writeResults writes outcomes in batches: whatever arrives within
// FlushEvery of the first, up to Batch, in one transaction.
func (e *Engine) writeResults(results <-chan result) {
	batch := make([]result, 0, e.cfg.Batch)
	for r := range results {
		batch = append(batch[:0], r)
		timer := time.NewTimer(e.cfg.FlushEvery)
	gather:
		for len(batch) < e.cfg.Batch {
			select {
			case r, ok := <-results:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		e.flush(batch)
		e.Wake() // successors of these calls, and the workers, are free now
	}
}

// flush writes a batch in one transaction. If that fails — a hook's error,
// a database error — each result is written on its own, so one bad result
// cannot hold back the others. A result that still cannot be written is
// left to its lease: the call is sent again, never lost.
func (e *Engine) flush(batch []result) {
	for _, r := range batch {
		e.cfg.Metrics.observe(r.call, r) // once per attempt, however often it is written
	}
	e.write(batch)
}

func (e *Engine) write(batch []result) {
	ctx := context.Background()
	err := e.db.Tx(ctx, func(tx *store.Tx) error { return e.apply(ctx, tx, batch) })
	if err == nil || len(batch) == 1 {
		if err != nil {
			e.log.Error("record delivery attempt; the call will be retried when its lease ends",
				"call", batch[0].call.ID, "err", err)
		}
		return
	}
	for _, r := range batch {
		e.write([]result{r})
	}
}

// verdict is what an attempt means for its call.
type verdict int

const (
	done    verdict = iota // the call succeeded
	waiting                // newInstance accepted: poll queryInstance
	failed                 // try again, or give up, per the policy
)

// judge decides what an attempt means, and for an accepted newInstance
// returns the instance to poll.
func judge(c *Call, o *protocol.Outcome) (v verdict, pollID string, err error) {
	switch {
	case c.PollID != "" && (o.Kind == protocol.OutcomeSuccess || o.Kind == protocol.OutcomeAccepted):
		var resp protocol.QueryInstanceResponse
		if o.Kind == protocol.OutcomeSuccess && o.Decode(&resp) == nil {
			for _, info := range resp.Info {
				if info.InstanceID == c.PollID && info.Ready() {
					return done, c.PollID, nil
				}
			}
		}
		return waiting, c.PollID, nil
	case o.Kind == protocol.OutcomeAccepted && c.Activity == protocol.NewInstance:
		var resp protocol.NewInstanceResponse
		if err := o.Decode(&resp); err != nil || resp.InstanceID == "" {
			return failed, "", fmt.Errorf("newInstance answered 000004 without an instanceId to poll")
		}
		return waiting, resp.InstanceID, nil
	case o.Kind == protocol.OutcomeSuccess && c.Activity == protocol.NewInstance:
		var resp protocol.NewInstanceResponse
		if err := o.Decode(&resp); err != nil || resp.InstanceID == "" {
			return failed, "", fmt.Errorf("newInstance succeeded without an instanceId")
		}
		if !resp.Ready() {
			return waiting, resp.InstanceID, nil // no final info yet: poll
		}
		return done, "", nil
	case o.Kind == protocol.OutcomeSuccess || o.Kind == protocol.OutcomeAccepted:
		return done, "", nil
	}
	return failed, "", nil
}

// decision is what one attempt does to its call.
type decision struct {
	state  State
	n      int // the attempt's number
	nextAt time.Time
	pollID string
	next   string // in words, for the message log
	err    string
	stage  int // the policy stage a failure reached: 0 none, 1 retrying, 2 given up
}

// decide applies the call's policy to the attempt's outcome.
func decide(r result, now time.Time) decision {
	c, o := r.call, r.outcome
	policy, err := PolicyNamed(c.Policy)
	if err != nil {
		policy = Once // a policy this version does not know: do not retry blindly
	}
	firstAt := c.FirstAt
	if firstAt.IsZero() {
		firstAt = r.started
	}
	v, pollID, judgeErr := judge(c, o)
	d := decision{state: Succeeded, n: c.Attempts + 1, nextAt: now, pollID: pollID, next: "succeeded"}
	if o.Err != nil {
		d.err = o.Err.Error()
	}
	if judgeErr != nil {
		d.err = judgeErr.Error()
	}
	if v == done {
		return d
	}
	at, ok := policy.Next(d.n-c.StageStart, firstAt, now)
	if v == waiting {
		at = now.Add(PollDelay(firstAt, now))
		ok = policy.Deadline == 0 || !at.After(firstAt.Add(policy.Deadline))
	}
	switch {
	case ok && v == waiting:
		d.state, d.nextAt, d.next = Retrying, at, "poll queryInstance for "+pollID+" at "+at.Format(time.RFC3339)
	case ok:
		d.state, d.nextAt, d.next, d.stage = Retrying, at, "retry at "+at.Format(time.RFC3339), 1
	case policy.AwaitDecision:
		d.state, d.next, d.stage = AwaitingDecision, "awaiting the "+policy.Decider+"'s decision to retry", 2
	default:
		d.state, d.next, d.stage = Exhausted, "exhausted: policy "+policy.Name+" gave up", 2
	}
	return d
}

// apply records a batch of attempts and moves their calls on, in three
// statements whatever the batch size — the attempts inserted, the calls
// updated — then runs the hooks of each call whose lease this node still
// held.
func (e *Engine) apply(ctx context.Context, tx *store.Tx, batch []result) error {
	now := tx.Now
	ds := make([]decision, len(batch))
	attemptRows := make([]string, len(batch))
	callRows := make([]string, len(batch))
	var attemptArgs, callArgs []any
	for i, r := range batch {
		c, o := r.call, r.outcome
		d := decide(r, now)
		ds[i] = d
		attemptRows[i] = placeholders(len(attemptArgs), 15, nil)
		attemptArgs = append(attemptArgs, c.ID, d.n, e.cfg.Node, string(o.Activity), store.Millis(r.started),
			o.Latency.Milliseconds(), o.URL, nonNil(o.RequestBody), o.HTTPStatus, string(o.Kind), string(o.ResultCode),
			o.ResultMsg, nonNil(o.ResponseBody), d.err, d.next)
		var finishedAt any
		if d.state.Finished() {
			finishedAt = store.Millis(now)
		}
		callRows[i] = placeholders(len(callArgs), 10, callTypes)
		callArgs = append(callArgs, c.ID, string(d.state), d.n, store.Millis(d.nextAt), d.pollID,
			string(o.Kind), string(o.ResultCode), d.err, store.Millis(now), finishedAt)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO delivery_attempts
		(call_id, n, node, activity, started_at, latency_ms, url, request, http_status, outcome, result_code, result_msg, response, error, next)
		VALUES `+strings.Join(attemptRows, ", "), attemptArgs...)
	if err != nil {
		return fmt.Errorf("insert %d attempts: %w", len(batch), err)
	}
	// VALUES columns are called column1… on both engines.
	n := len(callArgs)
	held, err := queryIDs(ctx, tx, fmt.Sprintf(`UPDATE delivery_calls
		SET state = v.column2, attempts = v.column3, next_at = v.column4, poll_id = v.column5,
		    last_outcome = v.column6, last_code = v.column7, last_error = v.column8,
		    lease_owner = NULL, lease_until = NULL, updated_at = v.column9, finished_at = v.column10
		FROM (VALUES %s) AS v
		WHERE delivery_calls.id = v.column1 AND delivery_calls.lease_owner = $%d AND delivery_calls.state = 'in_flight'
		RETURNING delivery_calls.id`, strings.Join(callRows, ", "), n+1), append(callArgs, e.cfg.Node)...)
	if err != nil {
		return fmt.Errorf("update %d calls: %w", len(batch), err)
	}
	mine := make(map[int64]bool, len(held))
	for _, id := range held {
		mine[id] = true
	}
	for i, r := range batch {
		// A copy: if this transaction rolls back, the result is written
		// again from the call as claimed.
		cc := *r.call
		c, o, d := &cc, r.outcome, ds[i]
		if !mine[c.ID] {
			// Our lease ran out and another node took the call: the
			// attempt is on record, the call is theirs now.
			e.log.Warn("delivery call lease lost before its result was written", "call", c.ID)
			continue
		}
		c.State, c.Attempts, c.NextAt, c.PollID = d.state, d.n, d.nextAt, d.pollID
		c.LastOutcome, c.LastCode, c.LastError, c.UpdatedAt = o.Kind, o.ResultCode, d.err, now
		if d.state.Finished() {
			c.FinishedAt = now
		}
		e.logAttempt(c, o, d)
		if err := e.runHooks(ctx, tx, c, o, d.stage); err != nil {
			return err
		}
	}
	return nil
}

// callTypes are the SQL types of the call update's VALUES columns: without
// them PostgreSQL could not tell what type each parameter is.
var callTypes = []string{"BIGINT", "TEXT", "INTEGER", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT"}

// placeholders returns "($k+1, …, $k+n)", each cast to its type if types
// is given.
func placeholders(k, n int, types []string) string {
	var b strings.Builder
	b.WriteByte('(')
	for j := 1; j <= n; j++ {
		if j > 1 {
			b.WriteString(", ")
		}
		if types != nil {
			fmt.Fprintf(&b, "CAST($%d AS %s)", k+j, types[j-1])
		} else {
			fmt.Fprintf(&b, "$%d", k+j)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// logAttempt logs a failed attempt (at debug level while the policy
// retries, as a warning once it gives up).
func (e *Engine) logAttempt(c *Call, o *protocol.Outcome, d decision) {
	switch d.stage {
	case 1:
		e.log.Debug("delivery attempt failed", "call", c.ID, "seller", c.SellerID, "activity", c.Activity,
			"attempt", d.n, "outcome", o.Kind, "code", o.ResultCode, "err", d.err, "next", d.next)
	case 2:
		e.log.Warn("delivery call gave up", "call", c.ID, "seller", c.SellerID, "activity", c.Activity,
			"attempts", d.n, "outcome", o.Kind, "code", o.ResultCode, "err", d.err, "next", d.next)
	}
}

func (e *Engine) runHooks(ctx context.Context, tx *store.Tx, c *Call, o *protocol.Outcome, stage int) error {
	switch {
	case c.State == Succeeded && e.hooks.Succeeded != nil:
		if err := e.hooks.Succeeded(ctx, tx, c, o); err != nil {
			return fmt.Errorf("call %d succeeded hook: %w", c.ID, err)
		}
	case c.State == Exhausted && e.hooks.Exhausted != nil:
		if err := e.hooks.Exhausted(ctx, tx, c); err != nil {
			return fmt.Errorf("call %d exhausted hook: %w", c.ID, err)
		}
	}
	if stage == 0 {
		return nil
	}
	// At most one notice per call per policy stage.
	res, err := tx.ExecContext(ctx, `UPDATE delivery_calls SET notified_stage = $1 WHERE id = $2 AND notified_stage < $1`, stage, c.ID)
	if err != nil {
		return err
	}
	if rows, _ := res.RowsAffected(); rows > 0 && e.hooks.Failed != nil {
		if err := e.hooks.Failed(ctx, tx, c, stage); err != nil {
			return fmt.Errorf("call %d failed hook: %w", c.ID, err)
		}
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
