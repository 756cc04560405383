package sellerkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// fuzzSeller answers according to what the request carries, so that the
// fuzzer reaches every kind of answer: "panic", "fail", "nores", "gone",
// "pending" and "broken" in an id choose a panic, an internal error, a
// chosen result code, ErrNotFound, a pending or an invalid instance. It
// records nothing, so memory stays flat however long it runs.
type fuzzSeller struct{}

func (fuzzSeller) choose(ids ...string) error {
	s := strings.Join(ids, " ")
	switch {
	case strings.Contains(s, "panic"):
		panic("fuzz seller panics on " + s)
	case strings.Contains(s, "fail"):
		return errors.New("fuzz seller fails on " + s)
	case strings.Contains(s, "nores"):
		return sellerkit.Errorf(protocol.CodeNoResource, "no resource for %s", s)
	case strings.Contains(s, "gone"):
		return sellerkit.ErrNotFound
	}
	return nil
}

func (f fuzzSeller) NewInstance(_ context.Context, r *protocol.NewInstanceRequest) (*sellerkit.Instance, error) {
	if err := f.choose(r.OrderID, r.OrderLineID); err != nil {
		return nil, err
	}
	id := "i-" + r.OrderID + r.OrderLineID
	switch {
	case strings.Contains(r.OrderID, "pending"):
		return &sellerkit.Instance{ID: id, Pending: true}, nil
	case strings.Contains(r.OrderID, "broken"):
		return &sellerkit.Instance{ID: id, AppInfo: &protocol.AppInfo{UserName: r.BusinessID}}, nil
	}
	// The fuzzed strings, invalid UTF-8 included, go into the answer and
	// through the field encryption.
	return &sellerkit.Instance{ID: id, AppInfo: &protocol.AppInfo{
		FrontEndURL: "https://x/" + r.OrderLineID, UserName: r.BusinessID, Password: r.OrderID + r.BusinessID}}, nil
}

func (f fuzzSeller) QueryInstance(_ context.Context, r *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error) {
	if err := f.choose(r.InstanceID); err != nil {
		return nil, err
	}
	var infos []protocol.InstanceInfo
	for _, id := range r.IDs() {
		infos = append(infos, protocol.InstanceInfo{InstanceID: id, AppInfo: &protocol.AppInfo{FrontEndURL: "https://x/" + id, Password: id}})
	}
	return infos, nil
}

func (f fuzzSeller) RefreshInstance(_ context.Context, r *protocol.RefreshInstanceRequest) error {
	return f.choose(r.InstanceID)
}
func (f fuzzSeller) UpdateInstanceStatus(_ context.Context, r *protocol.UpdateInstanceStatusRequest) error {
	return f.choose(r.InstanceID)
}
func (f fuzzSeller) ReleaseInstance(_ context.Context, r *protocol.ReleaseInstanceRequest) error {
	return f.choose(r.InstanceID)
}
func (f fuzzSeller) UpgradeInstance(_ context.Context, r *protocol.UpgradeInstanceRequest) error {
	return f.choose(r.InstanceID, r.OrderID)
}
func (f fuzzSeller) ChangeInstanceCheck(_ context.Context, r *protocol.ChangeInstanceCheckRequest) error {
	return f.choose(r.InstanceID, r.ProductInfo.ProductName)
}
func (f fuzzSeller) OrderNotify(_ context.Context, r *protocol.OrderNotifyRequest) error {
	return f.choose(r.OrderID)
}
func (f fuzzSeller) RefreshLicenseCode(_ context.Context, r *protocol.RefreshLicenseCodeRequest) error {
	return f.choose(r.License)
}
func (f fuzzSeller) UpdateLicenseCodeStatus(_ context.Context, r *protocol.UpdateLicenseCodeStatusRequest) error {
	return f.choose(r.License)
}
func (f fuzzSeller) ReleaseLicenseCode(_ context.Context, r *protocol.ReleaseLicenseCodeRequest) error {
	return f.choose(r.License)
}
func (f fuzzSeller) TenantSync(_ context.Context, r *protocol.TenantSyncRequest) error {
	return f.choose(r.TenantID, r.Name)
}
func (f fuzzSeller) ApplicationSync(_ context.Context, r *protocol.ApplicationSyncRequest) error {
	return f.choose(r.TenantID, r.AppID)
}
func (f fuzzSeller) AuthSync(_ context.Context, r *protocol.AuthSyncRequest) error {
	return f.choose(r.TenantID, r.AppID)
}
func (f fuzzSeller) SingleOrgSync(_ context.Context, r *protocol.SingleOrgSyncRequest) error {
	return f.choose(r.TenantID, r.OrgName)
}
func (f fuzzSeller) AllOrgSync(_ context.Context, r *protocol.AllOrgSyncRequest) error {
	return f.choose(r.TenantID)
}

// boundedStore is a MemoryStore that forgets everything when it grows
// large, so the fuzzer can go through Idempotent for as long as it likes.
type boundedStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *boundedStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *boundedStore) Put(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) > 10_000 {
		s.m = make(map[string][]byte)
	}
	s.m[key] = append([]byte(nil), value...)
	return nil
}

// FuzzHandler sends a fuzzed body, query string and path suffix (after the
// production URL's path) to Handler.ServeHTTP. When sign is set, the body is
// signed properly for both kinds of interface, the valid query parameters
// coming before the fuzzed ones, so that decoding and dispatch are reached.
// Whatever comes in, the handler must not panic and must answer 200 with a
// JSON body carrying a six-digit resultCode, signed with Body-Sign.
func FuzzHandler(f *testing.F) {
	for _, req := range sampleRequests() {
		body, err := protocol.Encode(req)
		if err != nil {
			f.Fatal(err)
		}
		suffix := ""
		if req.Activity().Kit() {
			suffix = protocol.KitPathPrefix + string(req.Activity())
		}
		f.Add(body, "", suffix, true)
	}
	f.Add([]byte(`{"activity":"newInstance","businessId":"b","orderId":"panic","orderLineId":"l"}`), "", "", true)
	f.Add([]byte(`{"activity":"newInstance","businessId":"b","orderId":"pending","orderLineId":"l"}`), "x=1&signature=&&;", "/", true)
	f.Add([]byte(`{"activity":"releaseInstance","testFlag":1,"instanceId":"gone"}`), "", "", true)
	f.Add([]byte(`{"activity":"newInstance","orderId":`), "signature=00&timestamp=1700000000000&nonce=n", "", false)
	f.Add([]byte(`[]`), "", protocol.KitPathPrefix, true)
	f.Add([]byte(``), "%zz&a=%", "/produceAPI/v2/tenantSync/../../x", true)
	f.Add([]byte("{\"activity\":\"queryInstance\",\"instanceId\":\"a,\xff,,b\"}"), "", "", true)

	h := sellerkit.NewHandler(sellerkit.Idempotent(fuzzSeller{}, new(boundedStore)), sellerkit.Config{
		Keys:          []string{testKey},
		SignResponses: true,
		Now:           func() time.Time { return base },
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	var seq atomic.Uint64
	f.Fuzz(func(t *testing.T, body []byte, query, suffix string, sign bool) {
		hdr := http.Header{}
		if sign {
			ts, nonce := protocol.Timestamp(base), fmt.Sprintf("%032x", seq.Add(1))
			valid := url.Values{
				protocol.ParamSignature: {protocol.SignQuery(testKey, nonce, ts, body)},
				protocol.ParamTimestamp: {ts},
				protocol.ParamNonce:     {nonce},
			}
			query = valid.Encode() + "&" + query
			hdr.Set(protocol.HeaderSign, protocol.SignKit(testKey, nonce, ts, body))
			hdr.Set(protocol.HeaderTimestamp, ts)
			hdr.Set(protocol.HeaderNonce, nonce)
		}
		r := &http.Request{
			Method:        http.MethodPost,
			URL:           &url.URL{Path: "/produce" + suffix, RawQuery: query},
			Header:        hdr,
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if w.Code != http.StatusOK && w.Code != http.StatusMethodNotAllowed {
			t.Fatalf("HTTP %d", w.Code)
		}
		if w.Code != http.StatusOK {
			t.Fatalf("HTTP %d for a POST", w.Code)
		}
		if mt, _, err := mime.ParseMediaType(w.Header().Get("Content-Type")); err != nil || mt != "application/json" {
			t.Fatalf("Content-Type %q", w.Header().Get("Content-Type"))
		}
		var res struct {
			ResultCode *protocol.Code `json:"resultCode"`
			ResultMsg  *string        `json:"resultMsg"`
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", w.Body.Bytes())
		}
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.ResultCode == nil || !res.ResultCode.WellFormed() || res.ResultMsg == nil {
			t.Fatalf("answer lacks a six-digit resultCode or a resultMsg (%v): %s", err, w.Body.Bytes())
		}
		if err := protocol.VerifyResponse(w.Header().Get(protocol.HeaderBodySign), w.Body.Bytes(), testKey); err != nil {
			t.Fatalf("Body-Sign: %v", err)
		}
		if !sign {
			switch *res.ResultCode {
			case protocol.CodeAuthFailed, protocol.CodeInvalidParam: // unsigned, or too large to read
			default:
				t.Fatalf("an unsigned call was answered %s: %s", *res.ResultCode, w.Body.Bytes())
			}
		}
		if strings.Contains(*res.ResultMsg, "fuzz seller fails") || strings.Contains(*res.ResultMsg, "fuzz seller panics") {
			t.Fatalf("an internal error leaked: %s", *res.ResultMsg)
		}
	})
}
