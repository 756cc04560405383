package delivery

import (
	"context"
	"testing"
)

// ClaimForTest claims up to limit calls for e's node without sending them,
// as a node that dies right after claiming would.
func ClaimForTest(t *testing.T, e *Engine, limit int) int {
	t.Helper()
	calls, err := e.claim(context.Background(), limit)
	if err != nil {
		t.Fatal(err)
	}
	return len(calls)
}

// ClaimAndSendForTest claims one batch, sends it and writes the outcomes,
// once: one step of RunDue.
func ClaimAndSendForTest(t *testing.T, e *Engine) int {
	t.Helper()
	calls, err := e.claim(context.Background(), e.cfg.Workers)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]result, len(calls))
	for i, c := range calls {
		out[i] = e.send(context.Background(), c)
	}
	if len(out) > 0 {
		e.flush(out)
	}
	return len(calls)
}
