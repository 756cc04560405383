package sellerkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// result decodes the resultCode and resultMsg of an answer body.
func result(t *testing.T, body []byte) protocol.Result {
	t.Helper()
	var r protocol.Result
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, body)
	}
	return r
}

func wantResult(t *testing.T, body []byte, code protocol.Code, msgContains ...string) protocol.Result {
	t.Helper()
	r := result(t, body)
	if r.ResultCode != code {
		t.Errorf("resultCode %s (%s), want %s", r.ResultCode, r.ResultMsg, code)
	}
	for _, s := range msgContains {
		if !strings.Contains(r.ResultMsg, s) {
			t.Errorf("resultMsg %q does not mention %q", r.ResultMsg, s)
		}
	}
	return r
}

func mustEncode(t testing.TB, req protocol.Request) []byte {
	t.Helper()
	b, err := protocol.Encode(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kitRequest returns a POST to path on the env's server with the kit
// headers signed for body at the client's time.
func (e *env) kitRequest(path string, body []byte) *http.Request {
	e.t.Helper()
	hreq, err := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	ts, nonce := protocol.Timestamp(e.cliClk.Now()), protocol.Default.NewNonce()
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set(protocol.HeaderSign, protocol.SignKit(e.target.AccessKey, nonce, ts, body))
	hreq.Header.Set(protocol.HeaderTimestamp, ts)
	hreq.Header.Set(protocol.HeaderNonce, nonce)
	return hreq
}

// signed returns the signed request of one attempt, as the client builds it.
func (e *env) signed(a protocol.Activity, body []byte) *http.Request {
	e.t.Helper()
	hreq, err := e.client.NewHTTPRequest(context.Background(), e.target, a, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return hreq
}

func TestSampleRequestsCoverEveryInterface(t *testing.T) {
	reqs := sampleRequests()
	if len(reqs) != len(protocol.Activities) {
		t.Fatalf("%d sample requests for %d interfaces", len(reqs), len(protocol.Activities))
	}
	for i, r := range reqs {
		if r.Activity() != protocol.Activities[i] {
			t.Errorf("sample %d is %s, want %s", i, r.Activity(), protocol.Activities[i])
		}
		if err := r.Validate(); err != nil {
			t.Errorf("sample %s is invalid: %v", r.Activity(), err)
		}
	}
}

// Every interface reaches its own Seller method with the request as sent.
func TestDispatch(t *testing.T) {
	e := newEnv(t, nil, sellerkit.Config{})
	for _, req := range sampleRequests() {
		t.Run(string(req.Activity()), func(t *testing.T) {
			before := len(e.seller.all())
			o := e.send(req)
			if o.Kind != protocol.OutcomeSuccess {
				t.Fatalf("outcome %s, want success", o)
			}
			calls := e.seller.all()[before:]
			if len(calls) != 1 {
				t.Fatalf("seller received %d calls, want 1", len(calls))
			}
			if calls[0].Activity() != req.Activity() {
				t.Fatalf("dispatched to %s, want %s", calls[0].Activity(), req.Activity())
			}
			if !reflect.DeepEqual(calls[0], req) {
				t.Fatalf("seller received\n%#v\nwant\n%#v", calls[0], req)
			}
		})
	}
}

// The production URL with a trailing slash is the production URL too, and
// flags sent in either form decode.
func TestDispatchTrailingSlashAndFlagForms(t *testing.T) {
	e := newEnv(t, nil, sellerkit.Config{})
	e.target.URL += "/"
	for _, tf := range []string{`"1"`, `1`} {
		body := []byte(`{"activity":"releaseInstance","testFlag":` + tf + `,"instanceId":"i-1","unknownNewField":{"x":[1,2]}}`)
		o := e.sendBody(protocol.ReleaseInstance, body)
		if o.Kind != protocol.OutcomeSuccess {
			t.Fatalf("testFlag %s: %s", tf, o)
		}
	}
	for _, c := range e.seller.callsOf(protocol.ReleaseInstance) {
		if r := c.(*protocol.ReleaseInstanceRequest); r.TestFlag != 1 || r.InstanceID != "i-1" {
			t.Errorf("decoded %+v", r)
		}
	}
	kit := []byte(`{"instanceId":"i-1","tenantId":"t-1","testFlag":"1","timeStamp":"` +
		protocol.FormatMilli(base, protocol.Default.KitTimeZone) + `","tenantCode":"acme","flag":"0"}`)
	if o := e.sendBody(protocol.TenantSync, kit); o.Kind != protocol.OutcomeSuccess {
		t.Fatalf("kit flags as strings: %s", o)
	}
}

func decodeNewInstance(t *testing.T, o *protocol.Outcome) *protocol.NewInstanceResponse {
	t.Helper()
	var r protocol.NewInstanceResponse
	if err := o.Decode(&r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func decrypt(t *testing.T, key, field string, encType int) string {
	t.Helper()
	plain, err := protocol.DecryptField(key, field, encType)
	if err != nil {
		t.Fatalf("DecryptField(%q): %v", field, err)
	}
	return plain
}

func TestNewInstanceReadyEncryptsSecrets(t *testing.T) {
	for _, tc := range []struct {
		cfg  int // Config.EncryptType
		want int // encryptType on the wire
	}{{0, protocol.EncryptAES256}, {protocol.EncryptAES256, protocol.EncryptAES256}, {protocol.EncryptAES128, protocol.EncryptAES128}} {
		t.Run(fmt.Sprint("EncryptType=", tc.cfg), func(t *testing.T) {
			e := newEnv(t, nil, sellerkit.Config{EncryptType: tc.cfg})
			req := &protocol.NewInstanceRequest{BusinessID: "b", OrderID: "o-1", OrderLineID: "l-1"}
			o := e.send(req)
			if o.Kind != protocol.OutcomeSuccess {
				t.Fatal(o)
			}
			r := decodeNewInstance(t, o)
			want := instanceFor(req)
			if !r.Ready() || r.InstanceID != want.ID {
				t.Fatalf("answer %+v, want ready instance %s", r, want.ID)
			}
			if int(r.EncryptType) != tc.want {
				t.Fatalf("encryptType %d, want %d", r.EncryptType, tc.want)
			}
			a := r.AppInfo
			if a.FrontEndURL != want.AppInfo.FrontEndURL || a.AdminURL != want.AppInfo.AdminURL || a.Memo != want.AppInfo.Memo {
				t.Errorf("appInfo %+v, want the plain fields of %+v", a, want.AppInfo)
			}
			for _, f := range []struct{ wire, plain string }{{a.UserName, want.AppInfo.UserName}, {a.Password, want.AppInfo.Password}} {
				if strings.Contains(string(o.ResponseBody), f.plain) {
					t.Errorf("the plain secret %q travels in the answer", f.plain)
				}
				if got := decrypt(t, testKey, f.wire, tc.want); got != f.plain {
					t.Errorf("decrypts to %q, want %q", got, f.plain)
				}
			}
		})
	}
}

func TestNewInstancePending(t *testing.T) {
	e := newEnv(t, nil, sellerkit.Config{})
	e.seller.setHook(func(_ context.Context, req protocol.Request) (any, error) {
		return &sellerkit.Instance{ID: "inst-pending", Pending: true}, nil
	})
	o := e.send(sampleRequests()[0])
	if o.Kind != protocol.OutcomeAccepted || o.ResultCode != protocol.CodeAccepted {
		t.Fatalf("outcome %s, want accepted 000004", o)
	}
	if r := decodeNewInstance(t, o); r.InstanceID != "inst-pending" || r.AppInfo != nil {
		t.Fatalf("answer %s, want instanceId and no appInfo", o.ResponseBody)
	}
}

// A seller answer that breaks the protocol is the seller's internal error.
func TestNewInstanceBadSellerAnswer(t *testing.T) {
	for name, inst := range map[string]*sellerkit.Instance{
		"nil":                nil,
		"no id":              {AppInfo: appInfoFor("x")},
		"ready, no appInfo":  {ID: "i-1"},
		"ready, no frontEnd": {ID: "i-1", AppInfo: &protocol.AppInfo{UserName: "u"}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil, sellerkit.Config{})
			e.seller.setHook(func(context.Context, protocol.Request) (any, error) {
				if inst == nil {
					return (*sellerkit.Instance)(nil), nil
				}
				return inst, nil
			})
			o := e.send(sampleRequests()[0])
			wantResult(t, o.ResponseBody, protocol.CodeInternal)
		})
	}
}

func TestQueryInstanceEncryptsSecrets(t *testing.T) {
	e := newEnv(t, nil, sellerkit.Config{})
	usage := []protocol.Usage{{RelatedInstanceID: "inst-1", UsageValue: "12.5", StatisticalTime: "20260301120000000"}}
	e.seller.setHook(func(context.Context, protocol.Request) (any, error) {
		return []protocol.InstanceInfo{
			{InstanceID: "inst-1", AppInfo: appInfoFor("inst-1"), UsageInfo: usage},
			{InstanceID: "inst-2"}, // still provisioning
		}, nil
	})
	o := e.send(&protocol.QueryInstanceRequest{InstanceID: "inst-1,inst-2"})
	if o.Kind != protocol.OutcomeSuccess {
		t.Fatal(o)
	}
	var r protocol.QueryInstanceResponse
	if err := o.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.EncryptType != protocol.EncryptAES256 || len(r.Info) != 2 {
		t.Fatalf("answer %s", o.ResponseBody)
	}
	plain := appInfoFor("inst-1")
	got := r.Info[0]
	if got.InstanceID != "inst-1" || got.AppInfo == nil || got.AppInfo.FrontEndURL != plain.FrontEndURL || !reflect.DeepEqual(got.UsageInfo, usage) {
		t.Fatalf("info[0] = %+v", got)
	}
	if u := decrypt(t, testKey, got.AppInfo.UserName, 1); u != plain.UserName {
		t.Errorf("userName decrypts to %q, want %q", u, plain.UserName)
	}
	if p := decrypt(t, testKey, got.AppInfo.Password, 1); p != plain.Password {
		t.Errorf("password decrypts to %q, want %q", p, plain.Password)
	}
	if strings.Contains(string(o.ResponseBody), plain.Password) {
		t.Error("the plain password travels in the answer")
	}
	if r.Info[1].InstanceID != "inst-2" || r.Info[1].AppInfo != nil {
		t.Errorf("info[1] = %+v, want inst-2 without appInfo", r.Info[1])
	}
	// Nothing found is an empty list, not null.
	e.seller.setHook(func(context.Context, protocol.Request) (any, error) { return []protocol.InstanceInfo{}, nil })
	if o := e.send(&protocol.QueryInstanceRequest{InstanceID: "nope"}); !bytes.Contains(o.ResponseBody, []byte(`"info":[]`)) {
		t.Errorf("empty answer %s, want \"info\":[]", o.ResponseBody)
	}
}

func TestSignResponses(t *testing.T) {
	e := newEnv(t, nil, sellerkit.Config{SignResponses: true})
	check := func(name string, h http.Header, body []byte) {
		t.Helper()
		sig := h.Get(protocol.HeaderBodySign)
		if err := protocol.VerifyResponse(sig, body, testKey); err != nil {
			t.Errorf("%s: Body-Sign %q: %v", name, sig, err)
		}
		if err := protocol.VerifyResponse(sig, body, "another key"); err == nil {
			t.Errorf("%s: Body-Sign verifies under a wrong key", name)
		}
	}
	// Success, an error answer and a 405 are all signed.
	h, body := e.do(e.signed(protocol.NewInstance, mustEncode(t, sampleRequests()[0])), http.StatusOK)
	wantResult(t, body, protocol.CodeSuccess)
	check("newInstance", h, body)
	bad := e.signed(protocol.NewInstance, mustEncode(t, sampleRequests()[0]))
	bad.Header.Set(protocol.HeaderSign, "x")
	bad.URL.RawQuery = ""
	h, body = e.do(bad, http.StatusOK)
	wantResult(t, body, protocol.CodeAuthFailed)
	check("unsigned call", h, body)
	get, _ := http.NewRequest(http.MethodGet, e.target.URL, nil)
	h, body = e.do(get, http.StatusMethodNotAllowed)
	check("GET", h, body)

	// The client's check accepts them, for every interface.
	e.target.VerifyResponse = true
	for _, req := range sampleRequests() {
		if o := e.send(req); o.Kind != protocol.OutcomeSuccess {
			t.Errorf("with VerifyResponse: %s", o)
		}
	}
	// And it does check: an unsigning handler fails it.
	plain := newEnv(t, nil, sellerkit.Config{})
	plain.target.VerifyResponse = true
	if o := plain.send(sampleRequests()[3]); o.Kind != protocol.OutcomeBadResponse {
		t.Errorf("unsigned answer with VerifyResponse: %s, want bad_response", o)
	}
}

func TestAuthenticationFailures(t *testing.T) {
	body := mustEncode(t, &protocol.ReleaseInstanceRequest{InstanceID: "inst-1"})
	setQuery := func(name, value string) func(*http.Request) {
		return func(r *http.Request) {
			q := r.URL.Query()
			if value == "" {
				q.Del(name)
			} else {
				q.Set(name, value)
			}
			r.URL.RawQuery = q.Encode()
		}
	}
	cases := []struct {
		name   string
		alter  func(*http.Request)
		detail string // in resultMsg
	}{
		{"no signature", setQuery(protocol.ParamSignature, ""), "missing"},
		{"no timestamp", setQuery(protocol.ParamTimestamp, ""), "missing"},
		{"no nonce", setQuery(protocol.ParamNonce, ""), "missing"},
		{"no query at all", func(r *http.Request) { r.URL.RawQuery = "" }, "missing"},
		{"signature altered", func(r *http.Request) {
			q := r.URL.Query()
			s := []byte(q.Get(protocol.ParamSignature))
			s[len(s)-1] ^= 1
			q.Set(protocol.ParamSignature, string(s))
			r.URL.RawQuery = q.Encode()
		}, "signature"},
		{"signature not hex", setQuery(protocol.ParamSignature, "zz"), "signature"},
		{"nonce altered", setQuery(protocol.ParamNonce, "0123456789abcdef0123456789abcdef"), "signature"},
		{"timestamp altered", setQuery(protocol.ParamTimestamp, protocol.Timestamp(base.Add(time.Second))), "signature"},
		{"timestamp in seconds", setQuery(protocol.ParamTimestamp, fmt.Sprint(base.Unix())), "timestamp"},
		{"body altered", func(r *http.Request) {
			b := bytes.Replace(body, []byte("inst-1"), []byte("inst-2"), 1)
			r.Body, r.ContentLength, r.GetBody = nopCloser(b), int64(len(b)), nil
		}, "signature"},
		{"signed with another key", func(r *http.Request) {
			q := r.URL.Query()
			q.Set(protocol.ParamSignature, protocol.SignQuery("wrong key", q.Get(protocol.ParamNonce), q.Get(protocol.ParamTimestamp), body))
			r.URL.RawQuery = q.Encode()
		}, "signature"},
		{"kit headers on the basic URL", func(r *http.Request) {
			q := r.URL.Query()
			r.Header.Set(protocol.HeaderSign, protocol.SignKit(testKey, q.Get(protocol.ParamNonce), q.Get(protocol.ParamTimestamp), body))
			r.Header.Set(protocol.HeaderTimestamp, q.Get(protocol.ParamTimestamp))
			r.Header.Set(protocol.HeaderNonce, q.Get(protocol.ParamNonce))
			r.URL.RawQuery = ""
		}, "missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, sellerkit.Config{})
			hreq := e.signed(protocol.ReleaseInstance, body)
			tc.alter(hreq)
			_, resp := e.do(hreq, http.StatusOK)
			wantResult(t, resp, protocol.CodeAuthFailed, tc.detail)
			if n := len(e.seller.all()); n != 0 {
				t.Errorf("seller called %d times for an unauthenticated call", n)
			}
		})
	}
	t.Run("signature in upper case", func(t *testing.T) {
		e := newEnv(t, nil, sellerkit.Config{})
		hreq := e.signed(protocol.ReleaseInstance, body)
		setQuery(protocol.ParamSignature, strings.ToUpper(hreq.URL.Query().Get(protocol.ParamSignature)))(hreq)
		_, resp := e.do(hreq, http.StatusOK)
		wantResult(t, resp, protocol.CodeSuccess)
	})
}

func nopCloser(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestKitAuthenticationFailures(t *testing.T) {
	body := mustEncode(t, sampleRequests()[11]) // tenantSync
	path := "/produce" + protocol.KitPathPrefix + string(protocol.TenantSync)
	cases := map[string]func(*http.Request){
		"no x-sign":      func(r *http.Request) { r.Header.Del(protocol.HeaderSign) },
		"no x-timestamp": func(r *http.Request) { r.Header.Del(protocol.HeaderTimestamp) },
		"no x-nonce":     func(r *http.Request) { r.Header.Del(protocol.HeaderNonce) },
		"x-sign altered": func(r *http.Request) { r.Header.Set(protocol.HeaderSign, strings.Repeat("0", 64)) },
		"query signature instead of headers": func(r *http.Request) {
			ts, n := r.Header.Get(protocol.HeaderTimestamp), r.Header.Get(protocol.HeaderNonce)
			r.URL.RawQuery = url.Values{protocol.ParamSignature: {protocol.SignQuery(testKey, n, ts, body)},
				protocol.ParamTimestamp: {ts}, protocol.ParamNonce: {n}}.Encode()
			r.Header.Del(protocol.HeaderSign)
		},
	}
	for name, alter := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil, sellerkit.Config{})
			hreq := e.kitRequest(path, body)
			alter(hreq)
			_, resp := e.do(hreq, http.StatusOK)
			wantResult(t, resp, protocol.CodeAuthFailed)
			if n := len(e.seller.all()); n != 0 {
				t.Errorf("seller called %d times", n)
			}
		})
	}
}

// The timestamp must lie within ±60 s of the handler's clock (Config.Now).
func TestTimestampWindow(t *testing.T) {
	for _, tc := range []struct {
		skew time.Duration // client clock minus handler clock
		want protocol.Code
	}{
		{0, protocol.CodeSuccess},
		{-60 * time.Second, protocol.CodeSuccess},
		{60 * time.Second, protocol.CodeSuccess},
		{-61 * time.Second, protocol.CodeAuthFailed},
		{61 * time.Second, protocol.CodeAuthFailed},
		{-time.Hour, protocol.CodeAuthFailed},
		{24 * time.Hour, protocol.CodeAuthFailed},
	} {
		t.Run(tc.skew.String(), func(t *testing.T) {
			e := newEnv(t, nil, sellerkit.Config{})
			e.cliClk.Set(base.Add(tc.skew))
			for _, req := range []protocol.Request{sampleRequests()[4], sampleRequests()[11]} { // basic and kit
				o := e.send(req)
				wantResult(t, o.ResponseBody, tc.want)
				if tc.want == protocol.CodeAuthFailed && !strings.Contains(o.ResultMsg, "window") {
					t.Errorf("resultMsg %q does not say the timestamp is outside the window", o.ResultMsg)
				}
			}
			// The handler's clock is what counts: move it instead.
			e.cliClk.Set(base)
			e.srvClk.Set(base.Add(-tc.skew))
			wantResult(t, e.send(sampleRequests()[3]).ResponseBody, tc.want)
		})
	}
}

// The same signed request sent twice is a replay the second time.
func TestReplayedNonce(t *testing.T) {
	e := newEnv(t, nil, sellerkit.Config{})
	for _, hreq := range []*http.Request{
		e.signed(protocol.ReleaseInstance, mustEncode(t, sampleRequests()[4])),
		e.kitRequest("/produce"+protocol.KitPathPrefix+"tenantSync", mustEncode(t, sampleRequests()[11])),
	} {
		_, body := e.do(hreq, http.StatusOK)
		wantResult(t, body, protocol.CodeSuccess)
		hreq.Body, _ = hreq.GetBody()
		_, body = e.do(hreq, http.StatusOK)
		wantResult(t, body, protocol.CodeAuthFailed, "nonce")
	}
	if n := len(e.seller.all()); n != 2 {
		t.Fatalf("seller called %d times, want 2 (once per request)", n)
	}
	// A fresh signature of the same body is a new attempt and passes.
	if o := e.send(sampleRequests()[4]); o.Kind != protocol.OutcomeSuccess {
		t.Fatal(o)
	}
}

func TestInvalidRequests(t *testing.T) {
	valid := func(a protocol.Activity) map[string]any {
		for _, r := range sampleRequests() {
			if r.Activity() == a {
				var m map[string]any
				json.Unmarshal(mustEncode(t, r), &m)
				return m
			}
		}
		panic(a)
	}
	with := func(a protocol.Activity, edit func(m map[string]any)) []byte {
		m := valid(a)
		edit(m)
		b, _ := json.Marshal(m)
		return b
	}
	kitPath := func(name string) string { return "/produce" + protocol.KitPathPrefix + name }
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = fmt.Sprint("i", i)
	}
	cases := []struct {
		name    string
		kitPath string // "" for the basic URL
		body    []byte
		msg     []string // the resultMsg mentions each
	}{
		{"unknown activity", "", []byte(`{"activity":"deleteEverything","testFlag":"0"}`), []string{"deleteEverything"}},
		{"no activity", "", []byte(`{"orderId":"o"}`), []string{"activity", "required"}},
		{"empty activity", "", []byte(`{"activity":""}`), []string{"activity"}},
		{"activity of the wrong type", "", []byte(`{"activity":7}`), []string{"activity"}},
		{"kit activity on the basic URL", "", mustEncodeAsBasic(t, sampleRequests()[11]), []string{"tenantSync", protocol.KitPathPrefix}},
		{"unknown kit path", kitPath("fooSync"), mustEncode(t, sampleRequests()[11]), []string{"fooSync"}},
		{"basic activity on a kit path", kitPath("newInstance"), mustEncode(t, sampleRequests()[0]), []string{"newInstance"}},
		{"empty kit name", kitPath(""), mustEncode(t, sampleRequests()[11]), []string{"unknown"}},
		{"missing field", "", with(protocol.NewInstance, func(m map[string]any) { delete(m, "orderId") }), []string{"orderId", "required"}},
		{"blank field", "", with(protocol.NewInstance, func(m map[string]any) { m["orderLineId"] = "  " }), []string{"orderLineId"}},
		{"wrong type", "", with(protocol.NewInstance, func(m map[string]any) { m["orderId"] = 123 }), []string{"orderId", "type"}},
		{"wrong type of a flag", "", with(protocol.NewInstance, func(m map[string]any) { m["testFlag"] = "yes" }), []string{"testFlag"}},
		{"object for a string", "", with(protocol.ReleaseInstance, func(m map[string]any) { m["instanceId"] = map[string]any{} }), []string{"instanceId"}},
		{"bad status", "", with(protocol.UpdateInstanceStatus, func(m map[string]any) { m["status"] = "PAUSE" }), []string{"status", "PAUSE"}},
		{"bad scene", "", with(protocol.RefreshInstance, func(m map[string]any) { m["scene"] = "FOREVER" }), []string{"scene"}},
		{"bad time", "", with(protocol.RefreshInstance, func(m map[string]any) { m["expireTime"] = "2027-03-01" }), []string{"expireTime"}},
		{"too many instance ids", "", []byte(`{"activity":"queryInstance","instanceId":"` + strings.Join(ids, ",") + `"}`), []string{"instanceId", "100"}},
		{"kit missing field", kitPath("tenantSync"), with(protocol.TenantSync, func(m map[string]any) { delete(m, "tenantId") }), []string{"tenantId"}},
		{"kit wrong type", kitPath("tenantSync"), with(protocol.TenantSync, func(m map[string]any) { m["instanceId"] = 5 }), []string{"instanceId"}},
		{"kit bad flag", kitPath("singleOrgSync"), with(protocol.SingleOrgSync, func(m map[string]any) { m["flag"] = 3 }), []string{"flag"}},
		{"kit bad timeStamp", kitPath("allOrgSync"), with(protocol.AllOrgSync, func(m map[string]any) { m["timeStamp"] = "yesterday" }), []string{"timeStamp"}},
		{"authSync without users", kitPath("authSync"), with(protocol.AuthSync, func(m map[string]any) { m["userList"] = []any{} }), []string{"userList"}},
		{"malformed JSON", "", []byte(`{"activity":"newInstance","orderId":`), []string{"JSON"}},
		{"trailing garbage", "", append(mustEncode(t, sampleRequests()[0]), " }{"...), []string{"JSON"}},
		{"JSON array", "", []byte(`[{"activity":"newInstance"}]`), []string{"JSON object"}},
		{"JSON string", "", []byte(`"newInstance"`), []string{"JSON object"}},
		{"JSON null", "", []byte(`null`), []string{"JSON object"}},
		{"empty body", "", []byte{}, []string{"JSON object"}},
		{"blank body", "", []byte(" \n\t"), []string{"JSON object"}},
		{"kit empty body", kitPath("tenantSync"), []byte{}, []string{"JSON object"}},
		{"kit JSON array", kitPath("allOrgSync"), []byte(`[]`), []string{"JSON object"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, sellerkit.Config{})
			var hreq *http.Request
			if tc.kitPath != "" {
				hreq = e.kitRequest(tc.kitPath, tc.body)
			} else {
				hreq = e.signed(protocol.NewInstance, tc.body)
			}
			_, body := e.do(hreq, http.StatusOK)
			wantResult(t, body, protocol.CodeInvalidParam, tc.msg...)
			if n := len(e.seller.all()); n != 0 {
				t.Errorf("seller called %d times for an invalid call", n)
			}
		})
	}
}

// mustEncodeAsBasic encodes a kit request with an "activity" member, as if
// it were a basic one.
func mustEncodeAsBasic(t *testing.T, req protocol.Request) []byte {
	b := mustEncode(t, req)
	return append([]byte(`{"activity":"`+string(req.Activity())+`",`), b[1:]...)
}

func TestBodyTooLarge(t *testing.T) {
	p := protocol.Default
	p.MaxRequestBody = 256
	e := newEnv(t, nil, sellerkit.Config{Profile: &p})
	small := &protocol.NewInstanceRequest{BusinessID: "b", OrderID: "o", OrderLineID: "l"}
	if o := e.send(small); o.Kind != protocol.OutcomeSuccess {
		t.Fatalf("a small body: %s", o)
	}
	big := &protocol.NewInstanceRequest{BusinessID: strings.Repeat("b", 300), OrderID: "o", OrderLineID: "l"}
	o := e.send(big)
	wantResult(t, o.ResponseBody, protocol.CodeInvalidParam, "too large", "256")
	kit := *sampleRequests()[11].(*protocol.TenantSyncRequest)
	kit.Name = strings.Repeat("n", 300)
	wantResult(t, e.send(&kit).ResponseBody, protocol.CodeInvalidParam, "too large")
	if n := e.seller.count(protocol.NewInstance); n != 1 {
		t.Errorf("seller called %d times, want 1 (the small body)", n)
	}
	// The body exactly at the limit passes.
	exact := &protocol.NewInstanceRequest{OrderID: "o", OrderLineID: "l"}
	exact.BusinessID = strings.Repeat("b", 256-len(mustEncode(t, exact)))
	if n := len(mustEncode(t, exact)); n != 256 {
		t.Fatalf("test body is %d bytes", n)
	}
	if o := e.send(exact); o.Kind != protocol.OutcomeSuccess {
		t.Fatalf("a body of exactly MaxRequestBody bytes: %s", o)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, nil, sellerkit.Config{})
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		for _, path := range []string{"/produce", "/produce" + protocol.KitPathPrefix + "tenantSync"} {
			hreq, _ := http.NewRequest(m, e.srv.URL+path, nil)
			h, body := e.do(hreq, http.StatusMethodNotAllowed)
			wantResult(t, body, protocol.CodeInvalidParam, m, "POST")
			if a := h.Get("Allow"); a != http.MethodPost {
				t.Errorf("%s %s: Allow %q, want POST", m, path, a)
			}
		}
	}
	if n := len(e.seller.all()); n != 0 {
		t.Errorf("seller called %d times", n)
	}
}

func TestSellerErrors(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		code     protocol.Code
		msg      string // exact resultMsg
		internal bool   // logged, not sent
	}{
		{"Errorf", sellerkit.Errorf(protocol.CodeNoResource, "no capacity left in %s", "region-4"), protocol.CodeNoResource, "no capacity left in region-4", false},
		{"wrapped Errorf", fmt.Errorf("provision: %w", sellerkit.Errorf(protocol.CodeSoldOut, "sold out")), protocol.CodeSoldOut, "sold out", false},
		{"ErrNotFound", sellerkit.ErrNotFound, protocol.CodeInstanceNotFound, "instance does not exist", false},
		{"ErrNotSupported", sellerkit.ErrNotSupported, protocol.CodeInvalidParam, sellerkit.ErrNotSupported.Error(), false},
		{"plain error", errors.New("dial tcp 10.0.0.5:5432: password=hunter2 rejected"), protocol.CodeInternal, "internal error of the seller", true},
		{"context error", context.DeadlineExceeded, protocol.CodeInternal, "internal error of the seller", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, sellerkit.Config{})
			e.seller.setHook(func(context.Context, protocol.Request) (any, error) { return nil, tc.err })
			for _, req := range sampleRequests() {
				o := e.send(req)
				r := wantResult(t, o.ResponseBody, tc.code)
				if r.ResultMsg != tc.msg {
					t.Errorf("%s: resultMsg %q, want %q", req.Activity(), r.ResultMsg, tc.msg)
				}
				if tc.internal && strings.Contains(string(o.ResponseBody), tc.err.Error()) {
					t.Errorf("%s: the internal error leaks: %s", req.Activity(), o.ResponseBody)
				}
			}
			logs := e.logs.String()
			if tc.internal != strings.Contains(logs, tc.err.Error()) {
				t.Errorf("internal=%v but the log is:\n%s", tc.internal, logs)
			}
			if tc.internal && !strings.Contains(logs, "activity=newInstance") {
				t.Errorf("the log does not name the activity:\n%s", logs)
			}
		})
	}
}

func TestSellerPanics(t *testing.T) {
	e := newEnv(t, nil, sellerkit.Config{})
	e.seller.setHook(func(_ context.Context, req protocol.Request) (any, error) {
		if r, ok := req.(*protocol.NewInstanceRequest); ok && r.OrderID == "boom" {
			panic("nil map write in provisioning of " + r.OrderID)
		}
		if _, ok := req.(*protocol.AllOrgSyncRequest); ok {
			var m map[string]int
			m["x"]++ // a runtime error panic
		}
		return nil, nil
	})
	boom := &protocol.NewInstanceRequest{BusinessID: "b", OrderID: "boom", OrderLineID: "l"}
	for range 3 {
		o := e.send(boom)
		wantResult(t, o.ResponseBody, protocol.CodeInternal)
		if strings.Contains(o.ResultMsg, "nil map") {
			t.Errorf("the panic leaks: %s", o.ResponseBody)
		}
		wantResult(t, e.send(sampleRequests()[15]).ResponseBody, protocol.CodeInternal)
		// The server keeps serving.
		if o := e.send(sampleRequests()[0]); o.Kind != protocol.OutcomeSuccess {
			t.Fatalf("after a panic: %s", o)
		}
	}
	if logs := e.logs.String(); !strings.Contains(logs, "nil map write in provisioning of boom") || !strings.Contains(logs, "assignment to entry in nil map") {
		t.Errorf("the panics are not logged:\n%s", logs)
	}
}

type unimplemented struct{ sellerkit.Unimplemented }

func TestUnimplemented(t *testing.T) {
	e := newEnv(t, unimplemented{}, sellerkit.Config{})
	for _, req := range sampleRequests() {
		o := e.send(req)
		wantResult(t, o.ResponseBody, protocol.CodeInvalidParam, "not supported")
	}
}

func TestKeyRotation(t *testing.T) {
	const oldKey, newKey = "old-key-aaaaaaaaaaaaaaaa", "new-key-bbbbbbbbbbbbbbbb"
	e := newEnv(t, nil, sellerkit.Config{Keys: []string{oldKey}, SignResponses: true})
	plain := instanceFor(sampleRequests()[0].(*protocol.NewInstanceRequest)).AppInfo
	// call sends a newInstance signed with key and returns the answer, its
	// Body-Sign and the decoded body.
	call := func(key string) (protocol.Code, string, []byte, *protocol.NewInstanceResponse) {
		t.Helper()
		e.target.AccessKey = key
		h, body := e.do(e.signed(protocol.NewInstance, mustEncode(t, sampleRequests()[0])), http.StatusOK)
		var r protocol.NewInstanceResponse
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		return r.ResultCode, h.Get(protocol.HeaderBodySign), body, &r
	}
	if code, _, _, _ := call(newKey); code != protocol.CodeAuthFailed {
		t.Fatalf("new key before the rotation: %s", code)
	}
	if code, _, _, _ := call(oldKey); code != protocol.CodeSuccess {
		t.Fatalf("old key before the rotation: %s", code)
	}

	// Rotation: both keys are accepted; each answer is signed and
	// encrypted with the key its call was signed with, so a marketplace
	// still on the old key can read it.
	e.h.SetKeys(newKey, oldKey)
	for _, key := range []string{newKey, oldKey} {
		code, sig, body, r := call(key)
		if code != protocol.CodeSuccess {
			t.Fatalf("during the rotation, key %s: %s", key, code)
		}
		if err := protocol.VerifyResponse(sig, body, key); err != nil {
			t.Errorf("during the rotation, Body-Sign under the caller's key %s: %v", key, err)
		}
		if u := decrypt(t, key, r.AppInfo.UserName, 1); u != plain.UserName {
			t.Errorf("userName decrypts to %q under the caller's key %s, want %q", u, key, plain.UserName)
		}
	}

	// End of the grace period: only the new key.
	e.h.SetKeys(newKey)
	if code, _, _, _ := call(oldKey); code != protocol.CodeAuthFailed {
		t.Fatalf("old key after the rotation: %s", code)
	}
	if code, _, _, _ := call(newKey); code != protocol.CodeSuccess {
		t.Fatalf("new key after the rotation: %s", code)
	}
}

// Concurrent calls through one Handler (run with -race).
func TestConcurrentCalls(t *testing.T) {
	e := newEnv(t, nil, sellerkit.Config{SignResponses: true})
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := sampleRequests()[i%len(protocol.Activities)]
			o := e.client.Send(context.Background(), e.target, req)
			if o.Kind != protocol.OutcomeSuccess {
				t.Errorf("%s", o)
			}
		}()
		if i == 16 {
			e.h.SetKeys(testKey, "another")
		}
	}
	wg.Wait()
	if n := len(e.seller.all()); n != 32 {
		t.Fatalf("seller called %d times, want 32", n)
	}
}
