package protocol_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
)

// signingVectors is testdata/signing_vectors.json: expected signatures
// computed with openssl, independently of this package (see its "how").
type signingVectors struct {
	Query []struct {
		Name       string `json:"name"`
		AccessKey  string `json:"accessKey"`
		Nonce      string `json:"nonce"`
		Timestamp  string `json:"timestamp"`
		Body       string `json:"body"`
		BodyDigest string `json:"bodyDigest"`
		SignQuery  string `json:"signQuery"`
		SignKit    string `json:"signKit"`
	} `json:"query"`
	Response []struct {
		Name      string `json:"name"`
		AccessKey string `json:"accessKey"`
		Body      string `json:"body"`
		Signature string `json:"signature"`
	} `json:"response"`
	OpenAPI []struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		Nonce     string `json:"nonce"`
		Timestamp string `json:"timestamp"`
		Body      string `json:"body"`
		Signature string `json:"signature"`
	} `json:"openapi"`
}

func loadSigningVectors(t *testing.T) signingVectors {
	t.Helper()
	data, err := os.ReadFile("testdata/signing_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v signingVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("signing_vectors.json: %v", err)
	}
	if len(v.Query) < 4 || len(v.Response) < 2 || len(v.OpenAPI) < 2 {
		t.Fatalf("signing_vectors.json has %d query, %d response, %d open API vectors; want at least 4, 2, 2",
			len(v.Query), len(v.Response), len(v.OpenAPI))
	}
	return v
}

func TestSignQueryVectors(t *testing.T) {
	for _, v := range loadSigningVectors(t).Query {
		t.Run(v.Name, func(t *testing.T) {
			body := []byte(v.Body)
			if got := protocol.BodyDigest(v.AccessKey, body); got != v.BodyDigest {
				t.Errorf("BodyDigest() = %v, want %v", got, v.BodyDigest)
			}
			if got := protocol.SignQuery(v.AccessKey, v.Nonce, v.Timestamp, body); got != v.SignQuery {
				t.Errorf("SignQuery() = %v, want %v", got, v.SignQuery)
			}
			if got := protocol.SignKit(v.AccessKey, v.Nonce, v.Timestamp, body); got != v.SignKit {
				t.Errorf("SignKit() = %v, want %v", got, v.SignKit)
			}
		})
	}
}

func TestSignResponseVectors(t *testing.T) {
	for _, v := range loadSigningVectors(t).Response {
		t.Run(v.Name, func(t *testing.T) {
			want := `sign_type="HMAC-SHA256", signature="` + v.Signature + `"`
			got := protocol.SignResponse(v.AccessKey, []byte(v.Body))
			if got != want {
				t.Errorf("SignResponse() = %v, want %v", got, want)
			}
			if err := protocol.VerifyResponse(want, []byte(v.Body), v.AccessKey); err != nil {
				t.Errorf("VerifyResponse(vector) = %v, want nil", err)
			}
		})
	}
}

func TestSignOpenAPIVectors(t *testing.T) {
	for _, v := range loadSigningVectors(t).OpenAPI {
		t.Run(v.Name, func(t *testing.T) {
			got := protocol.SignOpenAPI(v.Secret, v.Nonce, v.Timestamp, []byte(v.Body))
			if got != v.Signature {
				t.Errorf("SignOpenAPI() = %v, want %v", got, v.Signature)
			}
		})
	}
}

// Every input of a signature must change it.
func TestSignaturesDependOnEveryInput(t *testing.T) {
	const key, nonce, ts = "testkey", "abc", "1700000000000"
	body := []byte(`{"activity":"newInstance"}`)
	signers := []struct {
		name string
		sign func(key, nonce, ts string, body []byte) string
	}{
		{"SignQuery", protocol.SignQuery},
		{"SignKit", protocol.SignKit},
		{"SignOpenAPI", protocol.SignOpenAPI},
	}
	for _, s := range signers {
		base := s.sign(key, nonce, ts, body)
		changed := []struct {
			name string
			sig  string
		}{
			{"key", s.sign("testkey2", nonce, ts, body)},
			{"nonce", s.sign(key, "abd", ts, body)},
			{"timestamp", s.sign(key, nonce, "1700000000001", body)},
			{"body", s.sign(key, nonce, ts, []byte(`{"activity":"newInstance" }`))},
		}
		for _, c := range changed {
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				if c.sig == base {
					t.Errorf("%s() with another %s = %v, the same as before", s.name, c.name, c.sig)
				}
			})
		}
	}
}

func TestVerifyResponse(t *testing.T) {
	const key = "testkey"
	body := []byte(`{"resultCode":"000000","resultMsg":"success"}`)
	good := protocol.SignResponse(key, body)
	sig := strings.TrimSuffix(strings.TrimPrefix(good, `sign_type="HMAC-SHA256", signature="`), `"`)
	tests := []struct {
		name   string
		header string
		body   []byte
		keys   []string
		ok     bool
	}{
		{"valid", good, body, []string{key}, true},
		{"second of two keys", good, body, []string{"old", key}, true},
		{"reordered, spaced, lowercase type", ` signature = "` + sig + `" , sign_type = "hmac-sha256" `, body, []string{key}, true},
		{"missing", "", body, []string{key}, false},
		{"no keys", good, body, nil, false},
		{"wrong key", good, body, []string{"other"}, false},
		{"other body", good, []byte(`{"resultCode":"000001","resultMsg":"success"}`), []string{key}, false},
		{"wrong sign_type", `sign_type="HMAC-SHA1", signature="` + sig + `"`, body, []string{key}, false},
		{"no sign_type", `signature="` + sig + `"`, body, []string{key}, false},
		{"no signature", `sign_type="HMAC-SHA256"`, body, []string{key}, false},
		{"not base64", `sign_type="HMAC-SHA256", signature="%%%"`, body, []string{key}, false},
		{"truncated signature", `sign_type="HMAC-SHA256", signature="` + sig[:20] + `"`, body, []string{key}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := protocol.VerifyResponse(tt.header, tt.body, tt.keys...)
			if tt.ok && err != nil {
				t.Errorf("VerifyResponse() = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, protocol.ErrBodySign) {
				t.Errorf("VerifyResponse() = %v, want ErrBodySign", err)
			}
		})
	}
}

func TestNewNonce(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		n := protocol.Default.NewNonce()
		if len(n) != 32 {
			t.Fatalf("NewNonce() = %q, %d characters, want 32", n, len(n))
		}
		if _, err := hex.DecodeString(n); err != nil || strings.ToLower(n) != n {
			t.Fatalf("NewNonce() = %q, want lowercase hex", n)
		}
		if seen[n] {
			t.Fatalf("NewNonce() = %q twice", n)
		}
		seen[n] = true
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.UnixMilli(1700000000000), "1700000000000"},
		{time.Date(2026, 1, 1, 8, 0, 0, 123_456_789, time.FixedZone("GMT+8", 8*3600)), "1767225600123"},
	}
	for _, tt := range tests {
		if got := protocol.Timestamp(tt.in); got != tt.want {
			t.Errorf("Timestamp(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSignedURL(t *testing.T) {
	body := []byte(`{"activity":"newInstance"}`)
	now := time.UnixMilli(1700000000000)
	raw, err := protocol.Default.SignedURL("https://seller.example/souk/produce?tenant=a%20b", "testkey", body, now)
	if err != nil {
		t.Fatalf("SignedURL() error = %v", err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("SignedURL() = %q, not a URL: %v", raw, err)
	}
	if u.Scheme != "https" || u.Host != "seller.example" || u.Path != "/souk/produce" {
		t.Errorf("SignedURL() = %v, want the production URL's scheme, host and path", raw)
	}
	q := u.Query()
	if got := q.Get("tenant"); got != "a b" {
		t.Errorf("SignedURL() query tenant = %q, want %q (existing query kept)", got, "a b")
	}
	if got := q.Get(protocol.ParamTimestamp); got != "1700000000000" {
		t.Errorf("SignedURL() timestamp = %v, want %v", got, "1700000000000")
	}
	nonce := q.Get(protocol.ParamNonce)
	if len(nonce) != 32 {
		t.Errorf("SignedURL() nonce = %q, want 32 hex characters", nonce)
	}
	if got, want := q.Get(protocol.ParamSignature), protocol.SignQuery("testkey", nonce, "1700000000000", body); got != want {
		t.Errorf("SignedURL() signature = %v, want %v", got, want)
	}
	if _, err := protocol.Default.SignedURL("http://[::1", "k", body, now); err == nil {
		t.Errorf("SignedURL(malformed URL) error = nil, want an error")
	}
}

func TestKitURL(t *testing.T) {
	tests := []struct {
		base string
		want string
	}{
		{"https://seller.example", "https://seller.example/produceAPI/v2/tenantSync"},
		{"https://seller.example/", "https://seller.example/produceAPI/v2/tenantSync"},
		{"https://seller.example/souk//", "https://seller.example/souk/produceAPI/v2/tenantSync"},
		{"https://seller.example/souk/?app=42&x=a%2Fb", "https://seller.example/souk/produceAPI/v2/tenantSync?app=42&x=a%2Fb"},
		{"https://seller.example?app=42", "https://seller.example/produceAPI/v2/tenantSync?app=42"},
	}
	for _, tt := range tests {
		if got := protocol.KitURL(tt.base, protocol.TenantSync); got != tt.want {
			t.Errorf("KitURL(%q) = %v, want %v", tt.base, got, tt.want)
		}
	}
}
