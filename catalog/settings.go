package catalog

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Settings are the marketplace-wide choices the catalogue needs, set once
// at start (cmd/souk).
type Settings struct {
	// Keys encrypts access keys at rest. Required by the functions that
	// create or read access keys.
	Keys *Keyring
	// AllowPrivateURLs lets production URLs point at loopback, private and
	// link-local addresses and localhost: for development and tests only.
	AllowPrivateURLs bool
	// AccessKeyGrace is how long a rotated-out access key stays valid, so
	// that a seller can deploy the new key without failing calls; 24 hours
	// when zero.
	AccessKeyGrace time.Duration
}

func (s Settings) keys() (*Keyring, error) {
	if s.Keys == nil {
		return nil, errors.New("catalog: no keyring configured (Settings.Keys)")
	}
	return s.Keys, nil
}

func (s Settings) grace() time.Duration {
	if s.AccessKeyGrace > 0 {
		return s.AccessKeyGrace
	}
	return 24 * time.Hour
}

// newID returns a new seller or product id: the prefix, the creation time
// in milliseconds and random bits, in hex, so that ids sort by creation and
// cannot be guessed from one another.
func newID(prefix string, now time.Time) string {
	b := make([]byte, 5)
	rand.Read(b)
	return fmt.Sprintf("%s%012x%s", prefix, now.UnixMilli(), hex.EncodeToString(b))
}
