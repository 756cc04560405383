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
