package protocol

import (
	"sync"
	"time"
)

// ReplayCache remembers the nonces of accepted calls for as long as their
// timestamps stay inside the window, so a replayed call is refused (§2.1).
//
// It is bounded: at most size nonces. When it is full the oldest nonce is
// forgotten first, so replay protection holds for up to size calls per
// twice the window (100,000 per two minutes by default, about 830 calls a
// second to one seller); a seller receiving more should give it a larger size.
// It is safe for concurrent use.
type ReplayCache struct {
	mu    sync.Mutex
	ttl   time.Duration
	size  int
	seen  map[string]time.Time // nonce → forget after
	order []replayEntry        // ring in insertion order; grows up to size
	head  int                  // index of the oldest entry in order
	n     int                  // entries in order
}

type replayEntry struct {
	nonce  string
	expiry time.Time
}

// NewReplayCache returns a cache for timestamps within ±window holding at
// most size nonces.
func NewReplayCache(window time.Duration, size int) *ReplayCache {
	if size < 1 {
		size = 1
	}
	// The ring starts small and grows as traffic needs it: most verifiers
	// see far fewer calls than size in a window.
	return &ReplayCache{ttl: 2 * window, size: size, seen: make(map[string]time.Time), order: make([]replayEntry, min(size, 64))}
}

// Add records nonce as seen at now. It reports false if the nonce was
// already seen and not yet forgotten: a replay.
func (c *ReplayCache) Add(nonce string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n > 0 && !c.order[c.head].expiry.After(now) {
		c.dropOldest()
	}
	if exp, ok := c.seen[nonce]; ok && exp.After(now) {
		return false
	}
	if c.n == c.size {
		c.dropOldest()
	}
	if c.n == len(c.order) {
		c.grow()
	}
	exp := now.Add(c.ttl)
	c.seen[nonce] = exp
	c.order[(c.head+c.n)%len(c.order)] = replayEntry{nonce, exp}
	c.n++
	return true
}

// Len returns the number of nonces remembered.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *ReplayCache) dropOldest() {
	e := c.order[c.head]
	if c.seen[e.nonce].Equal(e.expiry) {
		delete(c.seen, e.nonce)
	}
	c.order[c.head] = replayEntry{}
	c.head = (c.head + 1) % len(c.order)
	c.n--
}

// grow doubles the ring (up to size), unrolling it so the oldest entry is
// first.
func (c *ReplayCache) grow() {
	bigger := make([]replayEntry, min(2*len(c.order), c.size))
	for i := 0; i < c.n; i++ {
		bigger[i] = c.order[(c.head+i)%len(c.order)]
	}
	c.order, c.head = bigger, 0
}
