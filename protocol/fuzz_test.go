package protocol_test

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
)

// The fuzz targets run with the clock at epoch and the key fuzzKey, so that
// the seeds (here and in testdata/fuzz) include calls that authenticate.
const fuzzKey = "testkey"

// wellFormedCall reports whether ts and nonce, signed correctly, must be
// accepted at epoch by a fresh Verifier: the oracle of the verify targets.
func wellFormedCall(ts, nonce string) bool {
	if nonce == "" || len(nonce) > 128 || len(ts) != 13 {
		return false
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	skew := epoch.Sub(time.UnixMilli(ms))
	return skew <= protocol.Default.TimestampWindow && skew >= -protocol.Default.TimestampWindow
}

// checkVerify is the property shared by FuzzVerifyQuery and FuzzVerifyKit.
// verify authenticates one call with a fresh Verifier at epoch.
func checkVerify(t *testing.T, sig, ts, nonce string, body []byte,
	sign func(key, nonce, ts string, body []byte) string,
	verify func(v *protocol.Verifier, sig, ts, nonce string) error,
) {
	// A small replay cache: NewReplayCache allocates its whole ring up
	// front, 4 MB at the default size, which would dominate the run.
	p := protocol.Default
	p.ReplayCacheSize = 16
	newVerifier := func() *protocol.Verifier {
		clock := &testClock{epoch}
		return protocol.NewVerifier(p, clock.Now, fuzzKey)
	}
	want := sign(fuzzKey, nonce, ts, body)

	v := newVerifier()
	err := verify(v, sig, ts, nonce)
	if err != nil {
		var ae *protocol.AuthError
		if !errors.As(err, &ae) || !errors.Is(err, protocol.ErrAuth) {
			t.Fatalf("verify() = %v (%T), want an *AuthError matching ErrAuth", err, err)
		}
	} else {
		if strings.ToLower(sig) != want {
			t.Fatalf("verify(signature %q) = nil, but the signature is %q", sig, want)
		}
		if !wellFormedCall(ts, nonce) {
			t.Fatalf("verify(timestamp %q, nonce %q) = nil, want a refusal", ts, nonce)
		}
		// Accepted once, refused as a replay after.
		var ae *protocol.AuthError
		if err := verify(v, sig, ts, nonce); !errors.As(err, &ae) || ae.Failure != protocol.AuthReplay {
			t.Fatalf("verify() again = %v, want a replay", err)
		}
	}

	// The right signature is accepted exactly when the call is well formed,
	// in lowercase and in uppercase.
	for _, s := range []string{want, strings.ToUpper(want)} {
		err := verify(newVerifier(), s, ts, nonce)
		if ok := wellFormedCall(ts, nonce); (err == nil) != ok {
			t.Fatalf("verify(right signature, timestamp %q, nonce %q) = %v, want accepted: %v", ts, nonce, err, ok)
		}
	}
}

func FuzzVerifyQuery(f *testing.F) {
	f.Add("6754d45b781bbe0947954527ad5b356449e5cbf5ea3b6833e88bf67f669b9c63", "1700000000000", "abc", []byte(`{"activity":"newInstance"}`))
	f.Add("6754D45B781BBE0947954527AD5B356449E5CBF5EA3B6833E88BF67F669B9C63", "1700000000000", "abc", []byte(`{"activity":"newInstance"}`))
	f.Add("b2e3882f3e836ebe18f992cc4e4ee07530264c2c41d5d85e6026abbf8b317bd9", "1700000000000", "00000000000000000000000000000000", []byte{})
	f.Add("", "", "", []byte(nil))
	f.Add("zz", "+170000000000", "n", []byte("{}"))
	f.Fuzz(func(t *testing.T, sig, ts, nonce string, body []byte) {
		checkVerify(t, sig, ts, nonce, body, protocol.SignQuery, func(v *protocol.Verifier, sig, ts, nonce string) error {
			q := url.Values{protocol.ParamSignature: {sig}, protocol.ParamTimestamp: {ts}, protocol.ParamNonce: {nonce}}
			return v.VerifyQuery(q, body)
		})
	})
}

func FuzzVerifyKit(f *testing.F) {
	f.Add("fd8a6cee8edc6d0bec5c5ede476389cc27428def3ee4eff35c5b4698a540cbcf", "1700000000000", "abc", []byte(`{"activity":"newInstance"}`))
	f.Add("394c37d3d6a862a6ad199a9d8b00d45293a253371a9f2f7d44a5dda23d721ae4", "1700000000000", "00000000000000000000000000000000", []byte{})
	f.Add("", "1700000000000", "abc", []byte(`{}`))
	f.Add("00", "1699999940000", strings.Repeat("n", 129), []byte(`{"instanceId":"i"}`))
	f.Fuzz(func(t *testing.T, sig, ts, nonce string, body []byte) {
		checkVerify(t, sig, ts, nonce, body, protocol.SignKit, func(v *protocol.Verifier, sig, ts, nonce string) error {
			h := http.Header{"X-Sign": {sig}, "X-Timestamp": {ts}, "X-Nonce": {nonce}}
			return v.VerifyKit(h, body)
		})
	})
}

// checkDecoded is the property of the decode targets: an error is one of
// the documented kinds; a decoded body is valid and survives Encode and
// decoding again unchanged.
func checkDecoded(t *testing.T, req protocol.Request, err error, again func([]byte) (protocol.Request, error)) {
	if err != nil {
		var fe *protocol.FieldError
		if !errors.Is(err, protocol.ErrMalformedBody) && !errors.Is(err, protocol.ErrUnknownActivity) && !errors.As(err, &fe) {
			t.Fatalf("decode error = %v (%T), want ErrMalformedBody, ErrUnknownActivity or a *FieldError", err, err)
		}
		if req != nil {
			t.Fatalf("decode = %+v with error %v, want nil", req, err)
		}
		return
	}
	if err := req.Validate(); err != nil {
		t.Fatalf("decode = %+v, whose Validate() = %v", req, err)
	}
	body, err := protocol.Encode(req)
	if err != nil {
		t.Fatalf("Encode(%+v) error = %v", req, err)
	}
	req2, err := again(body)
	if err != nil {
		t.Fatalf("decode(Encode(%+v)) = %s: error %v", req, body, err)
	}
	if !reflect.DeepEqual(req, req2) {
		t.Fatalf("decode(Encode(req)) = %+v, want %+v (body %s)", req2, req, body)
	}
}

func FuzzDecodeBasic(f *testing.F) {
	for _, r := range fullRequests() {
		if !r.Activity().Kit() {
			f.Add(mustEncode(f, r))
		}
	}
	f.Add([]byte(`{"activity":"orderNotify","testFlag":1,"orderId":"o","orderLineId":"l","x":[{}]}`))
	f.Add([]byte(`{"activity":"tenantSync"}`))
	f.Add([]byte(`{"activity":"newInstance","orderId":1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := protocol.DecodeBasic(body)
		if err == nil && req.Activity().Kit() {
			t.Fatalf("DecodeBasic() = %s body, want basic interfaces only", req.Activity())
		}
		checkDecoded(t, req, err, protocol.DecodeBasic)
	})
}

func FuzzDecodeKit(f *testing.F) {
	for _, r := range fullRequests() {
		if r.Activity().Kit() {
			f.Add(string(r.Activity()), mustEncode(f, r))
		}
	}
	f.Add("tenantSync", []byte(`{"instanceId":"i","tenantId":"t","testFlag":"0","timeStamp":"20260101080000000","tenantCode":"c","flag":"0"}`))
	f.Add("newInstance", []byte(`{"activity":"newInstance"}`))
	f.Add("authSync", []byte(`{"userList":{}}`))
	f.Add("", []byte(nil))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		req, err := protocol.DecodeKit(name, body)
		if err == nil && string(req.Activity()) != name {
			t.Fatalf("DecodeKit(%q) = %s body", name, req.Activity())
		}
		checkDecoded(t, req, err, func(b []byte) (protocol.Request, error) { return protocol.DecodeKit(name, b) })
	})
}

func FuzzDecryptField(f *testing.F) {
	for _, v := range fieldVectors {
		f.Add("testkey", v.field, v.et)
	}
	f.Add("", "", 0)
	f.Add("k", "AbCdEfGh12345678!!!!", 2)
	f.Add("k", "0000000000000000AAAAAAAAAAAAAAAAAAAAAA==", 7)
	f.Fuzz(func(t *testing.T, key, ciphertext string, encryptType int) {
		plain, err := protocol.DecryptField(key, ciphertext, encryptType)
		known := encryptType == 0 || encryptType == protocol.EncryptAES256 || encryptType == protocol.EncryptAES128
		switch {
		case !known && err == nil:
			t.Fatalf("DecryptField(encryptType %d) = %q, nil, want an error", encryptType, plain)
		case known && err != nil && !errors.Is(err, protocol.ErrDecrypt):
			t.Fatalf("DecryptField() = %v, want ErrDecrypt", err)
		case err != nil && plain != "":
			t.Fatalf("DecryptField() = %q with error %v, want \"\"", plain, err)
		}
		if !known {
			return
		}
		// Whatever decrypts, and the fuzzed text itself, survive a round
		// trip under the same key.
		for _, p := range []string{plain, ciphertext} {
			ct, err := protocol.EncryptField(key, p, encryptType)
			if err != nil {
				t.Fatalf("EncryptField() error = %v", err)
			}
			got, err := protocol.DecryptField(key, ct, encryptType)
			if err != nil || got != p {
				t.Fatalf("DecryptField(EncryptField(%q)) = %q, %v", p, got, err)
			}
		}
	})
}
