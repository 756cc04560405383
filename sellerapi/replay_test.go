package sellerapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/sellerkit"
)

// nodes returns e as node A and a copy of it whose calls go to a second
// Handler over the same database: node B, as another `souk serve`.
func (e *env) nodes(t *testing.T) (a, b *env) {
	t.Helper()
	srv := httptest.NewServer(sellerapi.NewHandler(sellerapi.Config{DB: e.db, Keys: e.set.Keys, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	other := *e
	other.url = srv.URL
	return e, &other
}

// nonces counts the remembered nonces, all of them or those of key's nonce.
func (e *env) nonces(t *testing.T, key, nonce string) int {
	t.Helper()
	var n int
	must(t, e.db.SQL().QueryRow(`SELECT count(*) FROM sellerapi_nonces WHERE key_id = $1 AND nonce = $2`, key, nonce).Scan(&n))
	return n
}

// orderQuery returns a signed-call maker for an order query of an order
// of e's seller.
func (e *env) orderQuery(t *testing.T) func(call) call {
	t.Helper()
	path := sellerkit.PathOrderQuery + "?orderId=" + e.orderOf(t, e.bought(t, e.buyer(t, 0), e.product, "meter", "seller-ins-"+strconv.FormatInt(next(), 10)))
	return func(c call) call { c.method, c.path = "GET", path; return c }
}

func TestReplayAcrossNodes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a, b := e.nodes(t)
		get := e.orderQuery(t)

		// Accepted by A, replayed to B (and to A): refused.
		nonce := protocol.Default.NewNonce()
		ts := strconv.FormatInt(e.clock.Now().UnixMilli(), 10)
		a.do(t, get(call{nonce: nonce, ts: ts})).want(t, "a call to node A", 200, sellerkit.OpenAPISuccess)
		r := b.do(t, get(call{nonce: nonce, ts: ts}))
		r.want(t, "its replay to node B", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)
		if !strings.Contains(r.msg, "replayed nonce") {
			t.Errorf("replay refused with %q, want it to say \"replayed nonce\"", r.msg)
		}
		a.do(t, get(call{nonce: nonce, ts: ts})).want(t, "its replay to node A", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)
		// A new ts does not make the nonce new.
		e.clock.Advance(time.Second)
		b.do(t, get(call{nonce: nonce})).want(t, "the nonce with a later ts to node B", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)

		// Nonces are per key: another key of the seller's may use it, once.
		other, err := sellerapi.CreateCredential(ctx, e.db, e.set.Keys, e.seller, "other")
		must(t, err)
		b.do(t, get(call{nonce: nonce, key: other.KeyID, secret: other.Secret})).want(t, "the nonce with another key", 200, sellerkit.OpenAPISuccess)
		a.do(t, get(call{nonce: nonce, key: other.KeyID, secret: other.Secret})).want(t, "the other key's replay", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)
		if n := e.nonces(t, e.cred.KeyID, nonce) + e.nonces(t, other.KeyID, nonce); n != 2 {
			t.Errorf("%d rows for the nonce, want one per key", n)
		}
	})
}

func TestReplayConcurrent(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a, b := e.nodes(t)
		get := e.orderQuery(t)
		for round := range 3 {
			// The same signed call, sent at once to both nodes.
			c := get(call{nonce: protocol.Default.NewNonce(), ts: strconv.FormatInt(e.clock.Now().UnixMilli(), 10)})
			const n = 16
			answers := make([]answer, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					node := a
					if i%2 == 1 {
						node = b
					}
					answers[i] = node.do(t, c)
				}()
			}
			wg.Wait()
			accepted := 0
			for i, r := range answers {
				switch {
				case r.status == 200 && r.code == sellerkit.OpenAPISuccess:
					accepted++
				case r.status == http.StatusUnauthorized && r.code == sellerkit.OpenAPIAuthFailed && strings.Contains(r.msg, "replayed nonce"):
				default:
					t.Errorf("round %d, call %d: %d %s %q, want 200 or a replay refused", round, i, r.status, r.code, r.msg)
				}
			}
			if accepted != 1 {
				t.Fatalf("round %d: %d of %d identical calls accepted, want exactly 1", round, accepted, n)
			}
			if got := e.nonces(t, e.cred.KeyID, c.nonce); got != 1 {
				t.Fatalf("round %d: %d rows for the nonce, want 1", round, got)
			}
		}
	})
}

func TestReplayExpiry(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a, b := e.nodes(t)
		get := e.orderQuery(t)
		window := protocol.Default.TimestampWindow
		const perRound = 5
		first := protocol.Default.NewNonce()
		for round := range 6 {
			for i := range perRound {
				node, c := a, call{}
				if i%2 == 1 {
					node = b
				}
				if round == 0 && i == 0 {
					c.nonce = first
				}
				node.do(t, get(c)).want(t, "a call", 200, sellerkit.OpenAPISuccess)
			}
			// Every node purges at most every PurgeEvery, and only rows
			// older than twice the window: the table holds the calls of
			// the last two windows, one purge interval more at most.
			if n := e.count(t, "sellerapi_nonces"); n > 2*perRound {
				t.Fatalf("round %d: %d nonces remembered, want at most %d", round, n, 2*perRound)
			}
			e.clock.Advance(2*window + time.Second)
		}
		// The first round's rows are long gone, and a call now (node A's
		// purge due) leaves only itself.
		if n := e.nonces(t, e.cred.KeyID, first); n != 0 {
			t.Errorf("the first call's nonce is still remembered (%d rows)", n)
		}
		a.do(t, get(call{})).want(t, "a call after the rounds", 200, sellerkit.OpenAPISuccess)
		if n := e.count(t, "sellerapi_nonces"); n != 1 {
			t.Errorf("%d nonces remembered after a call 2×window+1s after the last round, want 1 (the new one)", n)
		}

		// Past twice the window, a nonce may be used again, even before a
		// purge has removed its row: no node accepts the old call's ts any
		// more.
		nonce := protocol.Default.NewNonce()
		a.do(t, get(call{nonce: nonce})).want(t, "a call", 200, sellerkit.OpenAPISuccess)
		e.clock.Advance(2*window + time.Millisecond)
		if n := e.nonces(t, e.cred.KeyID, nonce); n != 1 {
			t.Fatalf("%d rows for the nonce before its reuse, want 1 (not purged yet)", n)
		}
		b.do(t, get(call{nonce: nonce})).want(t, "the nonce reused after 2×window", 200, sellerkit.OpenAPISuccess)
		a.do(t, get(call{nonce: nonce})).want(t, "its replay", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)
	})
}

func TestReplayForgedLeavesNoRow(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a, b := e.nodes(t)
		get := e.orderQuery(t)
		before := e.count(t, "sellerapi_nonces")
		nonce := protocol.Default.NewNonce()
		for name, c := range map[string]call{
			"a wrong secret":      {nonce: nonce, secret: "not-the-secret"},
			"a signed other body": {nonce: nonce, signBody: []byte(`{}`)},
			"an unknown key":      {nonce: nonce, key: "sk_nobody"},
			"a stale ts":          {nonce: nonce, ts: strconv.FormatInt(e.clock.Now().Add(-2*time.Minute).UnixMilli(), 10)},
		} {
			a.do(t, get(c)).want(t, name+" to A", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)
			b.do(t, get(c)).want(t, name+" to B", http.StatusUnauthorized, sellerkit.OpenAPIAuthFailed)
		}
		if n := e.count(t, "sellerapi_nonces"); n != before {
			t.Fatalf("forged calls left %d rows", n-before)
		}
		// The genuine call with the forged calls' nonce is accepted.
		b.do(t, get(call{nonce: nonce})).want(t, "the genuine call", 200, sellerkit.OpenAPISuccess)
		if n := e.nonces(t, e.cred.KeyID, nonce); n != 1 {
			t.Fatalf("%d rows for the genuine call's nonce, want 1", n)
		}
	})
}
