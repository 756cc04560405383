package sellerkit_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

func TestUsageValueKeepsItsText(t *testing.T) {
	for in, want := range map[string]sellerkit.UsageValue{
		`"1.5"`: "1.5", `2.50`: "2.50", `0.1`: "0.1", `-1`: "-1", `1e3`: "1e3", `"x"`: "x",
	} {
		var v sellerkit.UsageValue
		if err := json.Unmarshal([]byte(in), &v); err != nil || v != want {
			t.Errorf("UsageValue(%s) = %q, %v, want %q", in, v, err, want)
		}
	}
	for _, in := range []string{`true`, `null`, `{}`, `[]`} {
		var v sellerkit.UsageValue
		if err := json.Unmarshal([]byte(in), &v); err == nil {
			t.Errorf("UsageValue(%s) = %q, want an error", in, v)
		}
	}
	b, _ := json.Marshal(sellerkit.UsageRecord{UsageValue: "1.5"})
	if !strings.Contains(string(b), `"usage_value":"1.5"`) {
		t.Errorf("a record is sent as %s, want the value as a string", b)
	}
}

// TestOpenAPIClientSigns: every call carries the key id, a fresh ts and
// nonce, and the signature of its exact body; answers other than success
// are *OpenAPIError.
func TestOpenAPIClientSigns(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	nonces := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := r.Header
		if h.Get(sellerkit.HeaderOpenAPIKey) != "sk_1" || h.Get("ts") != strconv.FormatInt(now.UnixMilli(), 10) || nonces[h.Get("nonce")] ||
			h.Get("signature") != protocol.SignOpenAPI("secret", h.Get("nonce"), h.Get("ts"), body) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"resultCode":"000001","resultMsg":"bad signature"}`)
			return
		}
		nonces[h.Get("nonce")] = true
		switch r.URL.Path {
		case sellerkit.PathOrderQuery:
			io.WriteString(w, `{"resultCode":"000000","resultMsg":"success","orderInfo":{"orderId":"`+r.URL.Query().Get("orderId")+`","orderLine":[{"orderLineId":"l1","chargingMode":"ON_DEMAND"}]}}`)
		case sellerkit.PathUsageData:
			io.WriteString(w, `{"resultCode":"000000","resultMsg":"success","accepted":1,"records":[{"metering_sn":"a","status":"new"}]}`)
		case sellerkit.PathLicenseActivate:
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"resultCode":"92020003","resultMsg":"already activated"}`)
		}
	}))
	defer srv.Close()
	c := &sellerkit.OpenAPIClient{BaseURL: srv.URL + "/", KeyID: "sk_1", Secret: "secret", Now: func() time.Time { return now }}
	info, err := c.QueryOrder(t.Context(), "o&1", "")
	if err != nil || info.OrderID != "o&1" || info.OrderLine[0].ChargingMode != "ON_DEMAND" {
		t.Fatalf("QueryOrder = %+v, %v", info, err)
	}
	res, err := c.PushUsage(t.Context(), []sellerkit.UsageRecord{{InstanceID: "i", MeteringSN: "a", UsageValue: "1", BeginTime: "20261201T080000Z", EndTime: "20261201T090000Z"}})
	if err != nil || res.Accepted != 1 || res.Records[0].Status != sellerkit.UsageNew {
		t.Fatalf("PushUsage = %+v, %v", res, err)
	}
	var oe *sellerkit.OpenAPIError
	if err := c.ActivateLicense(t.Context(), "CODE", time.Time{}); !errors.As(err, &oe) || oe.Code != sellerkit.LicenseIllegalState || oe.Status != http.StatusConflict {
		t.Fatalf("ActivateLicense = %v, want 409 92020003", err)
	}
	c.Secret = "wrong"
	if _, err := c.QueryOrder(t.Context(), "o", ""); !errors.As(err, &oe) || oe.Code != sellerkit.OpenAPIAuthFailed {
		t.Fatalf("QueryOrder with a wrong secret = %v, want 000001", err)
	}
	if len(nonces) != 3 {
		t.Fatalf("%d distinct nonces, want one per call", len(nonces))
	}
}
