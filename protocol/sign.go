package protocol

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Query parameters of a basic call (§2.1) and headers of a kit call (§2.2).
const (
	ParamSignature  = "signature"
	ParamTimestamp  = "timestamp"
	ParamNonce      = "nonce"
	HeaderSign      = "X-Sign"
	HeaderTimestamp = "X-Timestamp"
	HeaderNonce     = "X-Nonce"
	HeaderBodySign  = "Body-Sign"
)

func hmacSHA256(key string, parts ...string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// BodyDigest is the inner value of the query signature (§2.1):
// lowercase hex of HMAC-SHA256(accessKey, body).
func BodyDigest(accessKey string, body []byte) string {
	m := hmac.New(sha256.New, []byte(accessKey))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// SignQuery returns the signature of a basic call (§2.1):
// hex(HMAC-SHA256(accessKey, accessKey + nonce + timestamp + BodyDigest)).
func SignQuery(accessKey, nonce, timestamp string, body []byte) string {
	return hex.EncodeToString(hmacSHA256(accessKey, accessKey, nonce, timestamp, BodyDigest(accessKey, body)))
}

// SignKit returns the x-sign of a kit call (§2.2):
// hex(HMAC-SHA256(accessKey, accessKey + nonce + timestamp + body)).
func SignKit(accessKey, nonce, timestamp string, body []byte) string {
	return hex.EncodeToString(hmacSHA256(accessKey, accessKey, nonce, timestamp, string(body)))
}

// SignOpenAPI returns the signature of a seller's open API call (§6):
// base64(HMAC-SHA256(secret, "ts={ms}&nonce={n}&body={rawBody}")).
func SignOpenAPI(secret, nonce, timestamp string, body []byte) string {
	return base64.StdEncoding.EncodeToString(hmacSHA256(secret, "ts=", timestamp, "&nonce=", nonce, "&body=", string(body)))
}

// SignResponse returns the Body-Sign header value for a response body (§2.3).
func SignResponse(accessKey string, body []byte) string {
	sig := base64.StdEncoding.EncodeToString(hmacSHA256(accessKey, string(body)))
	return `sign_type="HMAC-SHA256", signature="` + sig + `"`
}

// ErrBodySign is returned by VerifyResponse for a missing or wrong Body-Sign.
var ErrBodySign = errors.New("response Body-Sign")

// VerifyResponse checks a Body-Sign header value against body under any of
// keys.
func VerifyResponse(header string, body []byte, keys ...string) error {
	if header == "" {
		return fmt.Errorf("%w: missing", ErrBodySign)
	}
	var signType, sig string
	for _, part := range strings.Split(header, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "sign_type":
			signType = value
		case "signature":
			sig = value
		}
	}
	if !strings.EqualFold(signType, "HMAC-SHA256") {
		return fmt.Errorf("%w: sign_type %q, want HMAC-SHA256", ErrBodySign, signType)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrBodySign)
	}
	for _, k := range keys {
		if hmac.Equal(got, hmacSHA256(k, string(body))) {
			return nil
		}
	}
	return fmt.Errorf("%w: signature does not match the body", ErrBodySign)
}

// NewNonce returns a random nonce of Profile.NonceBytes bytes as hex.
func (p Profile) NewNonce() string {
	b := make([]byte, p.NonceBytes)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Timestamp formats t as the Unix milliseconds the signatures carry.
func Timestamp(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// SignedURL returns productionURL with the query signature of body added
// (§2.1), signed at now with a fresh nonce.
func (p Profile) SignedURL(productionURL, accessKey string, body []byte, now time.Time) (string, error) {
	u, err := url.Parse(productionURL)
	if err != nil {
		return "", fmt.Errorf("production URL: %w", err)
	}
	ts, nonce := Timestamp(now), p.NewNonce()
	q := u.Query()
	q.Set(ParamSignature, SignQuery(accessKey, nonce, ts, body))
	q.Set(ParamTimestamp, ts)
	q.Set(ParamNonce, nonce)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// KitURL returns the URL of kit interface a under productionURL (§2.2). The
// sub-path is appended to the URL's path; a query string is kept after it.
func KitURL(productionURL string, a Activity) string {
	base, query, hasQuery := strings.Cut(productionURL, "?")
	u := strings.TrimRight(base, "/") + KitPathPrefix + string(a)
	if hasQuery {
		u += "?" + query
	}
	return u
}
