package conformance

import (
	"crypto/rsa"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/souk-market/souk/protocol"
)

// Config says which seller to check and how.
type Config struct {
	// URL is the product's production URL; kit calls go under it.
	URL string
	// Key is the access key the seller verifies signatures with.
	Key string
	// Kit adds the joint-operation kit cases (§4).
	Kit bool
	// License adds the licence-code cases (§3.1).
	License bool
	// Skip lists optional interfaces the product does not offer; their
	// cases are reported as skipped. The interfaces every product needs
	// (newInstance, queryInstance, refreshInstance, updateInstanceStatus,
	// releaseInstance) cannot be skipped.
	Skip []protocol.Activity
	// Timeout is how long the seller has to answer one call; 0 means
	// protocol.Default.CallTimeout (20 s). At most
	// protocol.Default.MaxCallTimeout.
	Timeout time.Duration
	// PollTimeout bounds the queryInstance polling after an asynchronous
	// newInstance (000004); 0 means one minute.
	PollTimeout time.Duration
	// PollInterval is the pause between two polls; 0 means one second.
	PollInterval time.Duration
	// PublicKey is the seller's RSA public key for the applicationSync
	// clientSecret (§2.4). Without it the checker encrypts with a 3072-bit
	// key of its own: the seller cannot decrypt that secret, but a debug
	// call must be accepted anyway.
	PublicKey *rsa.PublicKey
	// Client sends the calls, under its Profile (which must be complete,
	// like protocol.Default); nil means a new protocol.Client with
	// protocol.Default and Now.
	Client *protocol.Client
	// Now is the clock that signs calls and dates bodies; nil means
	// time.Now. Latencies are always wall time.
	Now func() time.Time
	// Progress, if set, is called after each case with the number of cases
	// done so far, the number planned, and the case's result.
	Progress func(done, total int, r Result)
}

// required are the interfaces that every product (or every period and
// on-demand product, which is what the checker assumes) must serve (§3):
// they cannot be skipped.
var required = []protocol.Activity{
	protocol.NewInstance, protocol.QueryInstance, protocol.RefreshInstance,
	protocol.UpdateInstanceStatus, protocol.ReleaseInstance,
}

// Validate reports the first problem with c, so that a caller (the command
// line) can refuse it before any call is made.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return fmt.Errorf("no production URL")
	case err != nil:
		return fmt.Errorf("production URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("production URL %q: want http:// or https:// and a host", c.URL)
	case c.Key == "":
		return fmt.Errorf("no access key")
	case c.Timeout < 0 || c.Timeout > protocol.Default.MaxCallTimeout:
		return fmt.Errorf("timeout %s: want at most %s (spec §1)", c.Timeout, protocol.Default.MaxCallTimeout)
	case c.PollTimeout < 0 || c.PollInterval < 0:
		return fmt.Errorf("negative poll timeout or interval")
	case c.PublicKey != nil && c.PublicKey.N.BitLen() < protocol.Default.MinRSABits:
		return fmt.Errorf("seller public key has %d bits, at least %d required (spec §2.4)", c.PublicKey.N.BitLen(), protocol.Default.MinRSABits)
	}
	for _, a := range c.Skip {
		if !a.Known() {
			return fmt.Errorf("skip %q: unknown interface, want one of %s", a, activityList(protocol.Activities))
		}
		if slices.Contains(required, a) {
			return fmt.Errorf("skip %s: every product must serve it, it cannot be skipped", a)
		}
	}
	return nil
}

func activityList(as []protocol.Activity) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// withDefaults returns c with its zero values filled in.
func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = protocol.Default.CallTimeout
	}
	if c.PollTimeout == 0 {
		c.PollTimeout = time.Minute
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Client == nil {
		c.Client = protocol.NewClient(protocol.Default, c.Now, 2)
	}
	return c
}
