package protocol_test

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
)

// testClock is an injected clock: tests move it, nobody sleeps.
type testClock struct{ t time.Time }

func (c *testClock) Now() time.Time          { return c.t }
func (c *testClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// epoch is the clock of the signing vectors: 1700000000000 ms.
var epoch = time.UnixMilli(1700000000000)

// signedQuery returns the query string of a basic call signed at ts.
func signedQuery(key, nonce string, ts time.Time, body []byte) url.Values {
	stamp := protocol.Timestamp(ts)
	return url.Values{
		protocol.ParamSignature: {protocol.SignQuery(key, nonce, stamp, body)},
		protocol.ParamTimestamp: {stamp},
		protocol.ParamNonce:     {nonce},
	}
}

// signedHeader returns the headers of a kit call signed at ts.
func signedHeader(key, nonce string, ts time.Time, body []byte) http.Header {
	stamp := protocol.Timestamp(ts)
	h := make(http.Header)
	h.Set("x-sign", protocol.SignKit(key, nonce, stamp, body))
	h.Set("x-timestamp", stamp)
	h.Set("x-nonce", nonce)
	return h
}

// checkAuth checks that err is nil when want is "", and otherwise an
// *AuthError with that failure that matches ErrAuth.
func checkAuth(t *testing.T, call string, err error, want protocol.AuthFailure) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("%s = %v, want nil", call, err)
		}
		return
	}
	var ae *protocol.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("%s = %v (%T), want *AuthError %q", call, err, err, want)
	}
	if ae.Failure != want {
		t.Errorf("%s failure = %q, want %q (error: %v)", call, ae.Failure, want, err)
	}
	if !errors.Is(err, protocol.ErrAuth) {
		t.Errorf("errors.Is(%s, ErrAuth) = false, want true", call)
	}
	if !strings.HasPrefix(err.Error(), "authentication failed: ") {
		t.Errorf("%s.Error() = %q, want it to start with %q", call, err.Error(), "authentication failed: ")
	}
}

func TestVerifyQuery(t *testing.T) {
	const key = "testkey"
	body := []byte(`{"activity":"newInstance","testFlag":"1","businessId":"b","orderId":"o","orderLineId":"l"}`)
	good := func(nonce string) url.Values { return signedQuery(key, nonce, epoch, body) }
	with := func(q url.Values, name, value string) url.Values {
		q.Set(name, value)
		return q
	}
	without := func(q url.Values, name string) url.Values {
		q.Del(name)
		return q
	}
	stamp := func(d time.Duration) url.Values { return signedQuery(key, "n-stamp", epoch.Add(d), body) }
	tests := []struct {
		name  string
		query url.Values
		body  []byte
		want  protocol.AuthFailure
	}{
		{"valid", good("n1"), body, ""},
		{"spec vector", url.Values{
			"signature": {"6754d45b781bbe0947954527ad5b356449e5cbf5ea3b6833e88bf67f669b9c63"},
			"timestamp": {"1700000000000"},
			"nonce":     {"abc"},
		}, []byte(`{"activity":"newInstance"}`), ""},
		{"uppercase hex signature", with(good("n1"), "signature", strings.ToUpper(good("n1").Get("signature"))), body, ""},
		{"timestamp 59 s old", stamp(-59 * time.Second), body, ""},
		{"timestamp 59 s ahead", stamp(59 * time.Second), body, ""},
		{"timestamp exactly 60 s old", stamp(-60 * time.Second), body, ""},
		{"no query at all", url.Values{}, body, protocol.AuthMissing},
		{"missing signature", without(good("n1"), "signature"), body, protocol.AuthMissing},
		{"missing timestamp", without(good("n1"), "timestamp"), body, protocol.AuthMissing},
		{"missing nonce", without(good("n1"), "nonce"), body, protocol.AuthMissing},
		{"empty signature", with(good("n1"), "signature", ""), body, protocol.AuthMissing},
		{"nonce over 128 characters", signedQuery(key, strings.Repeat("n", 129), epoch, body), body, protocol.AuthMissing},
		{"timestamp in seconds", with(good("n1"), "timestamp", "1700000000"), body, protocol.AuthBadTimestamp},
		{"timestamp not a number", with(good("n1"), "timestamp", "17000000000x0"), body, protocol.AuthBadTimestamp},
		{"timestamp as a date", with(good("n1"), "timestamp", "20231114221320"), body, protocol.AuthBadTimestamp},
		{"timestamp with fraction", with(good("n1"), "timestamp", "1700000000.000"), body, protocol.AuthBadTimestamp},
		{"timestamp 61 s old", stamp(-61 * time.Second), body, protocol.AuthStale},
		{"timestamp 61 s ahead", stamp(61 * time.Second), body, protocol.AuthStale},
		{"timestamp a day old", stamp(-24 * time.Hour), body, protocol.AuthStale},
		{"wrong signature", with(good("n1"), "signature", protocol.SignQuery("otherkey", "n1", "1700000000000", body)), body, protocol.AuthBadSignature},
		{"kit signature on a basic call", with(good("n1"), "signature", protocol.SignKit(key, "n1", "1700000000000", body)), body, protocol.AuthBadSignature},
		{"signature not hex", with(good("n1"), "signature", "zz"+good("n1").Get("signature")[2:]), body, protocol.AuthBadSignature},
		{"truncated signature", with(good("n1"), "signature", good("n1").Get("signature")[:32]), body, protocol.AuthBadSignature},
		{"body changed", good("n1"), []byte(strings.Replace(string(body), `"o"`, `"p"`, 1)), protocol.AuthBadSignature},
		{"nonce changed", with(good("n1"), "nonce", "n2"), body, protocol.AuthBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{epoch}
			v := protocol.NewVerifier(protocol.Default, clock.Now, key)
			checkAuth(t, "VerifyQuery()", v.VerifyQuery(tt.query, tt.body), tt.want)
		})
	}
}

func TestVerifyKit(t *testing.T) {
	const key = "secret"
	body := []byte(`{"instanceId":"ins-1","tenantId":"t-1","testFlag":0,"timeStamp":"20231115063320123","orderId":"o-1","tenantCode":"acme","name":"Acme 有限公司","domainName":"acme.example","flag":1}`)
	good := func() http.Header { return signedHeader(key, "n1", epoch, body) }
	with := func(name, value string) http.Header {
		h := good()
		h.Set(name, value)
		return h
	}
	without := func(name string) http.Header {
		h := good()
		h.Del(name)
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		want   protocol.AuthFailure
	}{
		{"valid", good(), ""},
		{"canonical header names", http.Header{
			"X-Sign":      {good().Get("x-sign")},
			"X-Timestamp": {good().Get("x-timestamp")},
			"X-Nonce":     {"n1"},
		}, ""},
		{"spec vector", http.Header{
			"X-Sign":      {"5c278d87323363c54d8a6ce47303613c6d8932ae47c13d0574f2bb3056879370"},
			"X-Timestamp": {"1700000000123"},
			"X-Nonce":     {"n1"},
		}, ""},
		{"uppercase hex signature", with("x-sign", strings.ToUpper(good().Get("x-sign"))), ""},
		{"timestamp 59 s old", signedHeader(key, "n1", epoch.Add(-59*time.Second), body), ""},
		{"missing x-sign", without("x-sign"), protocol.AuthMissing},
		{"missing x-timestamp", without("x-timestamp"), protocol.AuthMissing},
		{"missing x-nonce", without("x-nonce"), protocol.AuthMissing},
		{"malformed timestamp", with("x-timestamp", "not-a-time"), protocol.AuthBadTimestamp},
		{"timestamp 61 s old", signedHeader(key, "n1", epoch.Add(-61*time.Second), body), protocol.AuthStale},
		{"timestamp 61 s ahead", signedHeader(key, "n1", epoch.Add(61*time.Second), body), protocol.AuthStale},
		{"wrong key", signedHeader("other", "n1", epoch, body), protocol.AuthBadSignature},
		{"query signature on a kit call", with("x-sign", protocol.SignQuery(key, "n1", "1700000000000", body)), protocol.AuthBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{epoch}
			v := protocol.NewVerifier(protocol.Default, clock.Now, key)
			checkAuth(t, "VerifyKit()", v.VerifyKit(tt.header, body), tt.want)
		})
	}
}

func TestVerifierReplay(t *testing.T) {
	const key = "testkey"
	body := []byte(`{"activity":"queryInstance","instanceId":"i-1"}`)
	clock := &testClock{epoch}
	v := protocol.NewVerifier(protocol.Default, clock.Now, key)

	q := signedQuery(key, "n1", epoch, body)
	checkAuth(t, "VerifyQuery(first)", v.VerifyQuery(q, body), "")
	checkAuth(t, "VerifyQuery(replay)", v.VerifyQuery(q, body), protocol.AuthReplay)

	// The same nonce on a kit call is a replay too: nonces are per
	// verifier, not per interface.
	checkAuth(t, "VerifyKit(nonce of a basic call)", v.VerifyKit(signedHeader(key, "n1", epoch, body), body), protocol.AuthReplay)

	// A forged call does not burn its nonce: the genuine call with that
	// nonce is still accepted afterwards.
	forged := signedQuery("forger", "n2", epoch, body)
	checkAuth(t, "VerifyQuery(forged)", v.VerifyQuery(forged, body), protocol.AuthBadSignature)
	checkAuth(t, "VerifyQuery(genuine after forged)", v.VerifyQuery(signedQuery(key, "n2", epoch, body), body), "")

	// A replay 59 s later, still inside the window, is refused; once the
	// original timestamp has left the window the call is stale.
	clock.Advance(59 * time.Second)
	checkAuth(t, "VerifyQuery(replay after 59 s)", v.VerifyQuery(q, body), protocol.AuthReplay)
	clock.Advance(2 * time.Second)
	checkAuth(t, "VerifyQuery(replay after 61 s)", v.VerifyQuery(q, body), protocol.AuthStale)
}

func TestVerifierKeyRotation(t *testing.T) {
	body := []byte(`{"activity":"orderNotify","orderId":"o","orderLineId":"l"}`)
	clock := &testClock{epoch}
	v := protocol.NewVerifier(protocol.Default, clock.Now, "new", "old")

	nonce := 0
	call := func(key string) error {
		nonce++
		return v.VerifyQuery(signedQuery(key, "n"+strconv.Itoa(nonce), clock.Now(), body), body)
	}
	checkAuth(t, "VerifyQuery(new key, grace period)", call("new"), "")
	checkAuth(t, "VerifyQuery(old key, grace period)", call("old"), "")
	checkAuth(t, "VerifyQuery(unknown key)", call("other"), protocol.AuthBadSignature)

	v.SetKeys("new")
	if got := v.Keys(); len(got) != 1 || got[0] != "new" {
		t.Errorf("Keys() = %q after SetKeys(new), want [new]", got)
	}
	checkAuth(t, "VerifyQuery(new key, after rotation)", call("new"), "")
	checkAuth(t, "VerifyQuery(old key, after rotation)", call("old"), protocol.AuthBadSignature)

	// Keys returns a copy: changing it does not change the verifier.
	keys := v.Keys()
	keys[0] = "old"
	checkAuth(t, "VerifyQuery(new key, after changing Keys())", call("new"), "")

	// SetKeys copies its argument too.
	next := []string{"next", "new"}
	v.SetKeys(next...)
	next[0] = "hijack"
	checkAuth(t, "VerifyQuery(next key)", call("next"), "")
	checkAuth(t, "VerifyQuery(key written into SetKeys' slice)", call("hijack"), protocol.AuthBadSignature)
}

func TestVerifierWindowFollowsProfile(t *testing.T) {
	p := protocol.Default
	p.TimestampWindow = 5 * time.Second
	body := []byte(`{}`)
	clock := &testClock{epoch}
	v := protocol.NewVerifier(p, clock.Now, "k")
	checkAuth(t, "VerifyQuery(4 s old, window 5 s)", v.VerifyQuery(signedQuery("k", "a", epoch.Add(-4*time.Second), body), body), "")
	checkAuth(t, "VerifyQuery(6 s old, window 5 s)", v.VerifyQuery(signedQuery("k", "b", epoch.Add(-6*time.Second), body), body), protocol.AuthStale)
}

func TestAuthErrorMessage(t *testing.T) {
	tests := []struct {
		err  *protocol.AuthError
		want string
	}{
		{&protocol.AuthError{Failure: protocol.AuthReplay}, "authentication failed: nonce already used"},
		{&protocol.AuthError{Failure: protocol.AuthStale, Detail: "2m0s from now"}, "authentication failed: timestamp outside the window: 2m0s from now"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, protocol.ErrAuth) {
			t.Errorf("errors.Is(%v, ErrAuth) = false, want true", tt.err)
		}
		if errors.Is(tt.err, protocol.ErrMalformedBody) {
			t.Errorf("errors.Is(%v, ErrMalformedBody) = true, want false", tt.err)
		}
	}
}
