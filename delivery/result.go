package delivery

import (
	"context"
	"fmt"
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
func (e *Engine) writeResults() {
	batch := make([]result, 0, e.cfg.Batch)
	for r := range e.results {
		batch = append(batch[:0], r)
		timer := time.NewTimer(e.cfg.FlushEvery)
	gather:
		for len(batch) < e.cfg.Batch {
			select {
			case r, ok := <-e.results:
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
	ctx := context.Background()
	err := e.db.Tx(ctx, func(tx *store.Tx) error {
		for _, r := range batch {
			if err := e.apply(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		if err != nil {
			e.log.Error("record delivery attempt; the call will be retried when its lease ends",
				"call", batch[0].call.ID, "err", err)
		}
		return
	}
	for _, r := range batch {
		e.flush([]result{r})
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

// apply records one attempt and moves its call on, running the hooks.
func (e *Engine) apply(ctx context.Context, tx *store.Tx, r result) error {
	c, o, now := r.call, r.outcome, tx.Now
	e.cfg.Metrics.observe(c, r)
	n := c.Attempts + 1
	policy, err := PolicyNamed(c.Policy)
	if err != nil {
		policy = Once // a policy this version does not know: do not retry blindly
	}
	firstAt := c.FirstAt
	if firstAt.IsZero() {
		firstAt = r.started
	}
	v, pollID, judgeErr := judge(c, o)
	errText := ""
	if o.Err != nil {
		errText = o.Err.Error()
	}
	if judgeErr != nil {
		errText = judgeErr.Error()
	}

	state, nextAt, next, stage := Succeeded, now, "succeeded", 0
	if v != done {
		at, ok := policy.Next(n-c.StageStart, firstAt, now)
		if v == waiting {
			at = now.Add(PollDelay(firstAt, now))
			ok = policy.Deadline == 0 || !at.After(firstAt.Add(policy.Deadline))
		}
		switch {
		case ok && v == waiting:
			state, nextAt, next = Retrying, at, "poll queryInstance for "+pollID+" at "+at.Format(time.RFC3339)
		case ok:
			state, nextAt, next, stage = Retrying, at, "retry at "+at.Format(time.RFC3339), 1
		case policy.AwaitDecision:
			state, next, stage = AwaitingDecision, "awaiting the "+policy.Decider+"'s decision to retry", 2
		default:
			state, next, stage = Exhausted, "exhausted: policy "+policy.Name+" gave up", 2
		}
	}

	_, err = tx.ExecContext(ctx, `INSERT INTO delivery_attempts
		(call_id, n, node, activity, started_at, latency_ms, url, request, http_status, outcome, result_code, result_msg, response, error, next)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.ID, n, e.cfg.Node, string(o.Activity), store.Millis(r.started), o.Latency.Milliseconds(), o.URL, nonNil(o.RequestBody),
		o.HTTPStatus, string(o.Kind), string(o.ResultCode), o.ResultMsg, nonNil(o.ResponseBody), errText, next)
	if err != nil {
		return fmt.Errorf("insert attempt of call %d: %w", c.ID, err)
	}

	var finishedAt any
	if state.Finished() {
		finishedAt = store.Millis(now)
	}
	res, err := tx.ExecContext(ctx, `UPDATE delivery_calls
		SET state = $1, attempts = $2, next_at = $3, poll_id = $4, last_outcome = $5, last_code = $6,
		    last_error = $7, lease_owner = NULL, lease_until = NULL, updated_at = $8, finished_at = $9
		WHERE id = $10 AND lease_owner = $11 AND state = 'in_flight'`,
		string(state), n, store.Millis(nextAt), pollID, string(o.Kind), string(o.ResultCode),
		errText, store.Millis(now), finishedAt, c.ID, e.cfg.Node)
	if err != nil {
		return fmt.Errorf("update call %d: %w", c.ID, err)
	}
	if rows, _ := res.RowsAffected(); rows == 0 {
		// Our lease ran out and another node took the call: the attempt is
		// on record, the call is theirs now.
		e.log.Warn("delivery call lease lost before its result was written", "call", c.ID)
		return nil
	}
	c.State, c.Attempts, c.NextAt, c.PollID = state, n, nextAt, pollID
	c.LastOutcome, c.LastCode, c.LastError, c.UpdatedAt = o.Kind, o.ResultCode, errText, now
	if state.Finished() {
		c.FinishedAt = now
	}
	return e.runHooks(ctx, tx, c, o, stage)
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
