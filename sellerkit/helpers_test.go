package sellerkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// testKey is the access key of most tests.
const testKey = "test-access-key-0123456789abcdef"

// base is the fixed time the tests run at.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to log into
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeSeller records every call and answers through hook, or with success
// and a ready instance (instanceFor) when hook is nil or returns nil, nil.
type fakeSeller struct {
	mu    sync.Mutex
	calls []protocol.Request
	hook  func(ctx context.Context, req protocol.Request) (any, error)
}

func (f *fakeSeller) setHook(h func(ctx context.Context, req protocol.Request) (any, error)) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

func (f *fakeSeller) do(ctx context.Context, req protocol.Request) (any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	hook := f.hook
	f.mu.Unlock()
	if hook == nil {
		return nil, nil
	}
	return hook(ctx, req)
}

// callsOf returns the requests of activity a the seller received, in order.
func (f *fakeSeller) callsOf(a protocol.Activity) []protocol.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []protocol.Request
	for _, c := range f.calls {
		if c.Activity() == a {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSeller) count(a protocol.Activity) int { return len(f.callsOf(a)) }

func (f *fakeSeller) all() []protocol.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]protocol.Request(nil), f.calls...)
}

// instanceFor is the default answer to newInstance: ready, with secrets.
func instanceFor(req *protocol.NewInstanceRequest) *sellerkit.Instance {
	id := "inst-" + req.OrderID + "-" + req.OrderLineID
	return &sellerkit.Instance{ID: id, AppInfo: appInfoFor(id)}
}

func appInfoFor(id string) *protocol.AppInfo {
	return &protocol.AppInfo{
		FrontEndURL: "https://app.example.com/" + id,
		AdminURL:    "https://admin.example.com/" + id,
		UserName:    "admin-" + id,
		Password:    "pw-" + id + "-Sécret!",
		Memo:        "welcome",
	}
}

func (f *fakeSeller) NewInstance(ctx context.Context, req *protocol.NewInstanceRequest) (*sellerkit.Instance, error) {
	v, err := f.do(ctx, req)
	if err != nil {
		return nil, err
	}
	if inst, ok := v.(*sellerkit.Instance); ok {
		return inst, nil
	}
	return instanceFor(req), nil
}

func (f *fakeSeller) QueryInstance(ctx context.Context, req *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error) {
	v, err := f.do(ctx, req)
	if err != nil {
		return nil, err
	}
	if infos, ok := v.([]protocol.InstanceInfo); ok {
		return infos, nil
	}
	var infos []protocol.InstanceInfo
	for _, id := range req.IDs() {
		infos = append(infos, protocol.InstanceInfo{InstanceID: id, AppInfo: appInfoFor(id)})
	}
	return infos, nil
}

func (f *fakeSeller) err(ctx context.Context, req protocol.Request) error {
	_, err := f.do(ctx, req)
	return err
}

func (f *fakeSeller) RefreshInstance(ctx context.Context, req *protocol.RefreshInstanceRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) UpdateInstanceStatus(ctx context.Context, req *protocol.UpdateInstanceStatusRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) ReleaseInstance(ctx context.Context, req *protocol.ReleaseInstanceRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) UpgradeInstance(ctx context.Context, req *protocol.UpgradeInstanceRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) ChangeInstanceCheck(ctx context.Context, req *protocol.ChangeInstanceCheckRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) OrderNotify(ctx context.Context, req *protocol.OrderNotifyRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) RefreshLicenseCode(ctx context.Context, req *protocol.RefreshLicenseCodeRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) UpdateLicenseCodeStatus(ctx context.Context, req *protocol.UpdateLicenseCodeStatusRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) ReleaseLicenseCode(ctx context.Context, req *protocol.ReleaseLicenseCodeRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) TenantSync(ctx context.Context, req *protocol.TenantSyncRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) ApplicationSync(ctx context.Context, req *protocol.ApplicationSyncRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) AuthSync(ctx context.Context, req *protocol.AuthSyncRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) SingleOrgSync(ctx context.Context, req *protocol.SingleOrgSyncRequest) error {
	return f.err(ctx, req)
}
func (f *fakeSeller) AllOrgSync(ctx context.Context, req *protocol.AllOrgSyncRequest) error {
	return f.err(ctx, req)
}

// kitCommon returns the common kit fields for instance and tenant.
func kitCommon(instance, tenant string) protocol.KitCommon {
	return protocol.KitCommon{
		InstanceID: instance,
		TenantID:   tenant,
		TimeStamp:  protocol.FormatMilli(base, protocol.Default.KitTimeZone),
	}
}

// sampleRequests returns one valid request of every interface, in the
// order of protocol.Activities.
func sampleRequests() []protocol.Request {
	linear := int64(5)
	kc := kitCommon("inst-1", "tenant-1")
	return []protocol.Request{
		&protocol.NewInstanceRequest{TestFlag: 1, BusinessID: "biz-1", OrderID: "order-1", OrderLineID: "line-1"},
		&protocol.QueryInstanceRequest{InstanceID: "inst-1,inst-2"},
		&protocol.RefreshInstanceRequest{Scene: protocol.SceneRenewal, OrderID: "order-2", OrderLineID: "line-2",
			InstanceID: "inst-1", ProductID: "prod-1", ExpireTime: "20270301000000"},
		&protocol.UpdateInstanceStatusRequest{InstanceID: "inst-1", Status: protocol.StatusFreeze},
		&protocol.ReleaseInstanceRequest{InstanceID: "inst-1", OrderID: "order-3", OrderLineID: "line-3"},
		&protocol.UpgradeInstanceRequest{InstanceID: "inst-1", OrderID: "order-4", OrderLineID: "line-4"},
		&protocol.ChangeInstanceCheckRequest{InstanceID: "inst-1", ProductInfo: protocol.ProductInfo{
			ProductID: "prod-2", SKUCode: "sku-2", LinearValue: &linear, ProductName: "Bigger"}},
		&protocol.OrderNotifyRequest{OrderID: "order-5", OrderLineID: "line-5"},
		&protocol.RefreshLicenseCodeRequest{Scene: protocol.SceneUnsubscribeRenewalPeriod, OrderID: "order-6",
			OrderLineID: "line-6", License: "LIC-1", ExpireTime: "20270101000000"},
		&protocol.UpdateLicenseCodeStatusRequest{License: "LIC-1", Status: protocol.StatusUnfreeze},
		&protocol.ReleaseLicenseCodeRequest{License: "LIC-1"},
		&protocol.TenantSyncRequest{KitCommon: kc, OrderID: "order-7", TenantCode: "acme", Name: "ACME Ltd",
			DomainName: "acme.example.com", Flag: protocol.FlagAdd},
		&protocol.ApplicationSyncRequest{KitCommon: kc, AppID: "app-1", ClientID: "client-1",
			ClientSecret: "c2VjcmV0", Flag: protocol.FlagAdd},
		&protocol.AuthSyncRequest{KitCommon: kc, AppID: "app-1", CurrentSyncTime: "20260301120000",
			Flag: protocol.FlagModify, UserList: []protocol.User{
				{UserName: "alice", Name: "Alice", OrgCode: "rd", Role: "admin", Enable: "true"},
				{UserName: "bob", Name: "Bob", OrgCode: "rd", Role: "user", Enable: "false", Email: "bob@acme.example.com"},
			}},
		&protocol.SingleOrgSyncRequest{KitCommon: kc, OrgCode: "rd", OrgName: "R&D", ParentCode: "", Flag: protocol.FlagAdd},
		&protocol.AllOrgSyncRequest{KitCommon: kc, OrgInfoList: []protocol.Org{
			{OrgCode: "root", OrgName: "ACME"}, {OrgCode: "rd", OrgName: "R&D", ParentCode: "root"}}},
	}
}

// env is a Handler behind a real loopback server and a protocol.Client
// calling it.
type env struct {
	t      *testing.T
	seller *fakeSeller
	h      *sellerkit.Handler
	srv    *httptest.Server
	client *protocol.Client
	target protocol.Target
	srvClk *clock // the handler's clock
	cliClk *clock // the client's clock
	logs   *syncBuffer
}

// newEnv starts a Handler for s (a fresh fakeSeller when nil) with cfg,
// whose Keys default to testKey, Now to a clock at base and Logger to a
// buffer.
func newEnv(t *testing.T, s sellerkit.Seller, cfg sellerkit.Config) *env {
	t.Helper()
	e := &env{t: t, srvClk: newClock(base), cliClk: newClock(base), logs: new(syncBuffer)}
	if s == nil {
		e.seller = new(fakeSeller)
		s = e.seller
	}
	if cfg.Keys == nil {
		cfg.Keys = []string{testKey}
	}
	if cfg.Now == nil {
		cfg.Now = e.srvClk.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	}
	e.h = sellerkit.NewHandler(s, cfg)
	mux := http.NewServeMux()
	mux.Handle("/produce", e.h)
	mux.Handle("/produce/", e.h)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.client = protocol.NewClient(protocol.Default, e.cliClk.Now, 8)
	t.Cleanup(e.client.HTTP.CloseIdleConnections)
	e.target = protocol.Target{URL: e.srv.URL + "/produce", AccessKey: cfg.Keys[0], Timeout: 10 * time.Second}
	return e
}

func (e *env) send(req protocol.Request) *protocol.Outcome {
	e.t.Helper()
	o := e.client.Send(context.Background(), e.target, req)
	checkWire(e.t, o.HTTPStatus, o.ContentType, o.ResponseBody, http.StatusOK)
	return o
}

func (e *env) sendBody(a protocol.Activity, body []byte) *protocol.Outcome {
	e.t.Helper()
	o := e.client.SendBody(context.Background(), e.target, a, body)
	checkWire(e.t, o.HTTPStatus, o.ContentType, o.ResponseBody, http.StatusOK)
	return o
}

// do sends a raw request and returns its status, Content-Type and body,
// after checking them with checkWire.
func (e *env) do(hreq *http.Request, wantStatus int) (http.Header, []byte) {
	e.t.Helper()
	resp, err := e.srv.Client().Do(hreq)
	if err != nil {
		e.t.Fatalf("%s %s: %v", hreq.Method, hreq.URL, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	checkWire(e.t, resp.StatusCode, resp.Header.Get("Content-Type"), buf.Bytes(), wantStatus)
	return resp.Header, buf.Bytes()
}

// checkWire checks what §1 demands of every answer: the status, Content-Type
// application/json, and a JSON object with a six-digit resultCode and a
// resultMsg.
func checkWire(t *testing.T, status int, contentType string, body []byte, wantStatus int) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("HTTP status %d, want %d (body %s)", status, wantStatus, body)
	}
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", contentType)
	}
	var r struct {
		ResultCode *protocol.Code `json:"resultCode"`
		ResultMsg  *string        `json:"resultMsg"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Errorf("body is not a JSON object: %v: %s", err, body)
		return
	}
	if r.ResultCode == nil || !r.ResultCode.WellFormed() || r.ResultMsg == nil {
		t.Errorf("body lacks a six-digit resultCode or a resultMsg: %s", body)
	}
}
