package protocol

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrAuth is matched (errors.Is) by every *AuthError. A seller answers it
// with CodeAuthFailed.
var ErrAuth = errors.New("authentication failed")

// AuthFailure says why a call failed authentication.
type AuthFailure string

const (
	AuthMissing      AuthFailure = "missing signature, timestamp or nonce"
	AuthBadTimestamp AuthFailure = "malformed timestamp"
	AuthStale        AuthFailure = "timestamp outside the window"
	AuthBadSignature AuthFailure = "signature does not match"
	AuthReplay       AuthFailure = "nonce already used"
)

// AuthError is a call that failed authentication.
type AuthError struct {
	Failure AuthFailure
	Detail  string
}

func (e *AuthError) Error() string {
	if e.Detail == "" {
		return "authentication failed: " + string(e.Failure)
	}
	return "authentication failed: " + string(e.Failure) + ": " + e.Detail
}

// Is makes every AuthError match ErrAuth.
func (e *AuthError) Is(target error) bool { return target == ErrAuth }

// Verifier authenticates incoming calls (§2.1, §2.2): the signature under
// any of its keys (several during a key rotation), the timestamp within the
// profile's window of Now, and a nonce not seen before. It is safe for
// concurrent use.
type Verifier struct {
	profile Profile
	now     func() time.Time
	replay  *ReplayCache

	mu   sync.RWMutex
	keys []string
}

// NewVerifier returns a Verifier that accepts calls signed with any of keys.
// now is the clock (time.Now in production).
func NewVerifier(p Profile, now func() time.Time, keys ...string) *Verifier {
	return &Verifier{profile: p, now: now, replay: NewReplayCache(p.TimestampWindow, p.ReplayCacheSize), keys: keys}
}

// SetKeys replaces the accepted keys, e.g. to end a rotation's grace period.
func (v *Verifier) SetKeys(keys ...string) {
	v.mu.Lock()
	v.keys = append([]string(nil), keys...)
	v.mu.Unlock()
}

// Keys returns the accepted keys, the current one first.
func (v *Verifier) Keys() []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return append([]string(nil), v.keys...)
}

// VerifyQuery authenticates a basic call: signature, timestamp and nonce in
// the query string (§2.1). It returns an *AuthError or nil.
func (v *Verifier) VerifyQuery(q url.Values, body []byte) error {
	_, err := v.VerifyQueryKey(q, body)
	return err
}

// VerifyKit authenticates a kit call: x-sign, x-timestamp and x-nonce
// headers (§2.2). It returns an *AuthError or nil.
func (v *Verifier) VerifyKit(h http.Header, body []byte) error {
	_, err := v.VerifyKitKey(h, body)
	return err
}

// VerifyQueryKey is VerifyQuery that also returns the key the call was
// signed with, so that during a rotation the answer is signed and encrypted
// with the key the caller holds.
func (v *Verifier) VerifyQueryKey(q url.Values, body []byte) (string, error) {
	return v.verify(q.Get(ParamSignature), q.Get(ParamTimestamp), q.Get(ParamNonce), body, SignQuery)
}

// VerifyKitKey is VerifyKit that also returns the key the call was signed
// with.
func (v *Verifier) VerifyKitKey(h http.Header, body []byte) (string, error) {
	return v.verify(h.Get(HeaderSign), h.Get(HeaderTimestamp), h.Get(HeaderNonce), body, SignKit)
}

func (v *Verifier) verify(sig, ts, nonce string, body []byte, sign func(key, nonce, ts string, body []byte) string) (string, error) {
	if sig == "" || ts == "" || nonce == "" {
		return "", &AuthError{Failure: AuthMissing}
	}
	if len(nonce) > 128 {
		return "", &AuthError{Failure: AuthMissing, Detail: "nonce longer than 128 characters"}
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(ts) != 13 {
		return "", &AuthError{Failure: AuthBadTimestamp, Detail: fmt.Sprintf("%.20q: want Unix milliseconds, 13 digits", ts)}
	}
	now := v.now()
	if skew := now.Sub(time.UnixMilli(ms)); skew > v.profile.TimestampWindow || skew < -v.profile.TimestampWindow {
		return "", &AuthError{Failure: AuthStale, Detail: fmt.Sprintf("%s from now, allowed ±%s", skew.Round(time.Millisecond), v.profile.TimestampWindow)}
	}
	got, err := hex.DecodeString(strings.ToLower(sig))
	if err != nil {
		return "", &AuthError{Failure: AuthBadSignature, Detail: "not hex"}
	}
	matched, ok := "", false
	for _, k := range v.Keys() {
		want, _ := hex.DecodeString(sign(k, nonce, ts, body))
		if hmac.Equal(got, want) && !ok {
			matched, ok = k, true
		}
	}
	if !ok {
		return "", &AuthError{Failure: AuthBadSignature}
	}
	// Only authenticated nonces are remembered, so forged calls cannot
	// fill the cache.
	if !v.replay.Add(nonce, now) {
		return "", &AuthError{Failure: AuthReplay}
	}
	return matched, nil
}
