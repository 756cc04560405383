package protocol_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
)

func TestReplayCacheRefusesRepeats(t *testing.T) {
	c := protocol.NewReplayCache(time.Minute, 10)
	steps := []struct {
		nonce string
		want  bool
	}{
		{"a", true},
		{"b", true},
		{"a", false},
		{"b", false},
		{"A", true}, // nonces are case-sensitive
		{"", true},
		{"", false},
	}
	for i, s := range steps {
		if got := c.Add(s.nonce, epoch); got != s.want {
			t.Errorf("step %d: Add(%q) = %v, want %v", i, s.nonce, got, s.want)
		}
	}
	if got := c.Len(); got != 4 {
		t.Errorf("Len() = %d, want 4", got)
	}
}

// The cache is bounded: when full it forgets its oldest nonce, which is then
// accepted again. This is the documented price of a bounded cache.
func TestReplayCacheBounded(t *testing.T) {
	c := protocol.NewReplayCache(time.Minute, 3)
	now := epoch
	add := func(nonce string) bool {
		now = now.Add(time.Millisecond)
		return c.Add(nonce, now)
	}
	for _, n := range []string{"n1", "n2", "n3", "n4"} {
		if !add(n) {
			t.Fatalf("Add(%q) = false, want true (first time)", n)
		}
	}
	if got := c.Len(); got != 3 {
		t.Errorf("Len() = %d after 4 nonces in a cache of 3, want 3", got)
	}
	steps := []struct {
		nonce string
		want  bool
	}{
		{"n3", false}, // still remembered
		{"n4", false}, // still remembered
		{"n1", true},  // evicted by n4, accepted again (evicts n2)
		{"n1", false}, // remembered again
		{"n3", false},
		{"n2", true}, // evicted by the second n1
	}
	for i, s := range steps {
		if got := add(s.nonce); got != s.want {
			t.Errorf("step %d: Add(%q) = %v, want %v", i, s.nonce, got, s.want)
		}
	}
	if got := c.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3", got)
	}
}

func TestReplayCacheSizeAtLeastOne(t *testing.T) {
	for _, size := range []int{0, -5} {
		c := protocol.NewReplayCache(time.Minute, size)
		if !c.Add("a", epoch) {
			t.Errorf("size %d: Add(a) = false, want true", size)
		}
		if c.Add("a", epoch) {
			t.Errorf("size %d: Add(a) again = true, want false (a size below 1 holds one nonce)", size)
		}
		if !c.Add("b", epoch) || !c.Add("a", epoch) {
			t.Errorf("size %d: a cache of one should forget a when b arrives", size)
		}
	}
}

// A nonce is remembered for twice the window: long enough that its
// timestamp has left the window (either way) before it is forgotten.
func TestReplayCacheExpiry(t *testing.T) {
	const window = time.Minute
	tests := []struct {
		after time.Duration
		want  bool
	}{
		{0, false},
		{window, false},
		{2*window - time.Nanosecond, false},
		{2 * window, true},
		{time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.after.String(), func(t *testing.T) {
			c := protocol.NewReplayCache(window, 10)
			c.Add("n", epoch)
			if got := c.Add("n", epoch.Add(tt.after)); got != tt.want {
				t.Errorf("Add(n) %v after the first = %v, want %v", tt.after, got, tt.want)
			}
		})
	}
}

func TestReplayCacheExpiredEntriesLeave(t *testing.T) {
	c := protocol.NewReplayCache(time.Minute, 100)
	for i := range 50 {
		c.Add(fmt.Sprint("old", i), epoch)
	}
	c.Add("late", epoch.Add(time.Minute))
	// The next Add, after the first 50 expired, drops them.
	c.Add("new", epoch.Add(2*time.Minute))
	if got := c.Len(); got != 2 {
		t.Errorf("Len() = %d once the old nonces expired, want 2", got)
	}
	if c.Add("late", epoch.Add(2*time.Minute)) {
		t.Errorf("Add(late) = true before it expired, want false")
	}
	// A nonce re-added after expiry while its stale ring slot is still
	// there (timestamps out of order keep it from the head) must not be
	// forgotten when that stale slot is dropped.
	c2 := protocol.NewReplayCache(time.Minute, 3)
	c2.Add("a", epoch.Add(time.Minute)) // remembered until +3m
	c2.Add("x", epoch)                  // remembered until +2m, behind a
	now := epoch.Add(150 * time.Second)
	if !c2.Add("x", now) {
		t.Fatalf("Add(x) after expiry = false, want true")
	}
	c2.Add("z", now) // full: drops a
	c2.Add("w", now) // full: drops the stale slot of x
	if c2.Add("x", now) {
		t.Errorf("Add(x) = true, want false: the re-added x is still inside its window")
	}
}

// Under concurrent use every nonce is accepted exactly once. Run with -race.
func TestReplayCacheConcurrent(t *testing.T) {
	const goroutines, nonces = 32, 500
	c := protocol.NewReplayCache(time.Minute, goroutines*nonces)
	var accepted [nonces]atomic.Int32
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for _, i := range r.Perm(nonces) {
				if c.Add(fmt.Sprintf("nonce-%d", i), epoch) {
					accepted[i].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i := range accepted {
		if got := accepted[i].Load(); got != 1 {
			t.Errorf("nonce-%d accepted %d times, want 1", i, got)
		}
	}
	if got := c.Len(); got != nonces {
		t.Errorf("Len() = %d, want %d", got, nonces)
	}
}

// The Verifier shares the property: a call delivered concurrently many
// times is authenticated once.
func TestVerifierConcurrentReplay(t *testing.T) {
	const goroutines, calls = 16, 200
	body := []byte(`{"activity":"queryInstance","instanceId":"i-1"}`)
	clock := &testClock{epoch}
	v := protocol.NewVerifier(protocol.Default, clock.Now, "k")
	var accepted [calls]atomic.Int32
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for i := range calls {
				q := signedQuery("k", fmt.Sprintf("%032x", i), epoch, body)
				if v.VerifyQuery(q, body) == nil {
					accepted[i].Add(1)
				}
			}
		})
	}
	// Rotating keys concurrently must be safe too.
	wg.Go(func() {
		for range 100 {
			v.SetKeys("k", "old")
			_ = v.Keys()
		}
	})
	wg.Wait()
	for i := range accepted {
		if got := accepted[i].Load(); got != 1 {
			t.Errorf("call %d accepted %d times, want 1", i, got)
		}
	}
}

func TestReplayCacheGrowsAndKeepsOrder(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := protocol.NewReplayCache(time.Minute, 200)
	for i := range 200 {
		if !c.Add(fmt.Sprintf("n%d", i), now.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("Add(n%d) = false on first sight", i)
		}
	}
	for i := range 200 {
		if c.Add(fmt.Sprintf("n%d", i), now.Add(time.Second)) {
			t.Fatalf("Add(n%d) = true after growing: nonce forgotten", i)
		}
	}
	// Full: the 201st nonce evicts the oldest, n0, and only it.
	c.Add("n200", now.Add(time.Second))
	if c.Add("n1", now.Add(time.Second)) || !c.Add("n0", now.Add(time.Second)) {
		t.Fatal("after filling the grown cache, want only the oldest nonce forgotten")
	}
}
