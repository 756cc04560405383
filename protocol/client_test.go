package protocol_test

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
)

const sellerKeyString = "seller-access-key"

var newInstanceReq = &protocol.NewInstanceRequest{TestFlag: 1, BusinessID: "biz-1", OrderID: "o-1", OrderLineID: "ol-1"}

// received is what a test seller saw of one call.
type received struct {
	method      string
	path        string
	query       map[string][]string
	header      http.Header
	body        []byte
	contentType string
	authErr     error
}

// seller is a test seller on 127.0.0.1 that authenticates every call with a
// real Verifier, reports what it saw on calls, and answers with answer.
type seller struct {
	*httptest.Server
	calls    chan received
	verifier *protocol.Verifier
}

func newSeller(t *testing.T, clock *testClock, answer http.HandlerFunc) *seller {
	t.Helper()
	s := &seller{calls: make(chan received, 16), verifier: protocol.NewVerifier(protocol.Default, clock.Now, sellerKeyString)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := received{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header.Clone(), body: body, contentType: r.Header.Get("Content-Type")}
		if strings.Contains(r.URL.Path, protocol.KitPathPrefix) {
			rec.authErr = s.verifier.VerifyKit(r.Header, body)
		} else {
			rec.authErr = s.verifier.VerifyQuery(r.URL.Query(), body)
		}
		s.calls <- rec
		answer(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// next returns what the seller saw of the next call.
func (s *seller) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-s.calls:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("the seller saw no call")
		return received{}
	}
}

// jsonAnswer answers with status and body as application/json.
func jsonAnswer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func newClient(clock *testClock) *protocol.Client {
	return protocol.NewClient(protocol.Default, clock.Now, 4)
}

func TestClientSuccess(t *testing.T) {
	clock := &testClock{epoch}
	answer := `{"resultCode":"000000","resultMsg":"success","instanceId":"ins-1","encryptType":1,"appInfo":{"frontEndUrl":"https://app.example/ins-1"}}`
	s := newSeller(t, clock, jsonAnswer(http.StatusOK, answer))
	c := newClient(clock)
	target := protocol.Target{URL: s.URL + "/souk/produce?tenant=acme", AccessKey: sellerKeyString}
	want := mustEncode(t, newInstanceReq)

	var nonces []string
	for i := range 2 {
		o := c.Send(context.Background(), target, newInstanceReq)
		if o.Kind != protocol.OutcomeSuccess || !o.OK() || o.Err != nil {
			t.Fatalf("Send() #%d = %v, want success", i, o)
		}
		if o.HTTPStatus != 200 || o.ResultCode != protocol.CodeSuccess || o.ResultMsg != "success" || o.Activity != protocol.NewInstance {
			t.Errorf("Send() = status %d, code %q, msg %q, activity %q, want 200, 000000, success, newInstance", o.HTTPStatus, o.ResultCode, o.ResultMsg, o.Activity)
		}
		if string(o.RequestBody) != string(want) || string(o.ResponseBody) != answer {
			t.Errorf("Send() recorded request %s and response %s, want %s and %s", o.RequestBody, o.ResponseBody, want, answer)
		}
		if o.Latency <= 0 || !strings.HasPrefix(o.URL, s.URL+"/souk/produce?") {
			t.Errorf("Send() latency %v, URL %q, want > 0 and the production URL", o.Latency, o.URL)
		}

		r := s.next(t)
		if r.authErr != nil {
			t.Errorf("seller's VerifyQuery() = %v, want nil", r.authErr)
		}
		if r.method != http.MethodPost || r.path != "/souk/produce" || r.query["tenant"][0] != "acme" {
			t.Errorf("seller saw %s %s %v, want POST /souk/produce with tenant=acme kept", r.method, r.path, r.query)
		}
		if mt, params, err := mime.ParseMediaType(r.contentType); err != nil || mt != "application/json" || !strings.EqualFold(params["charset"], "utf-8") {
			t.Errorf("seller saw Content-Type %q, want application/json; charset UTF-8", r.contentType)
		}
		if string(r.body) != string(want) {
			t.Errorf("seller saw body %s, want %s", r.body, want)
		}
		if got, err := protocol.DecodeBasic(r.body); err != nil || !reflect.DeepEqual(got, newInstanceReq) {
			t.Errorf("seller's DecodeBasic() = %+v, %v, want %+v", got, err, newInstanceReq)
		}
		nonce := r.query["nonce"][0]
		if _, err := hex.DecodeString(nonce); err != nil || len(nonce) != 32 {
			t.Errorf("nonce = %q, want 32 hex characters", nonce)
		}
		if ts := r.query["timestamp"][0]; ts != "1700000000000" {
			t.Errorf("timestamp = %q, want the client clock's 1700000000000", ts)
		}
		nonces = append(nonces, nonce)

		var resp protocol.NewInstanceResponse
		if err := o.Decode(&resp); err != nil || !resp.Ready() || resp.InstanceID != "ins-1" || resp.EncryptType != protocol.EncryptAES256 {
			t.Errorf("Outcome.Decode() = %+v, %v, want a ready instance ins-1", resp, err)
		}
	}
	if nonces[0] == nonces[1] {
		t.Errorf("two sends used the same nonce %q, want a fresh one per attempt", nonces[0])
	}
}

func TestClientOutcomes(t *testing.T) {
	const ok = `{"resultCode":"000000","resultMsg":"success"}`
	tests := []struct {
		name   string
		answer http.HandlerFunc
		kind   protocol.OutcomeKind
		status int
		code   protocol.Code
	}{
		{"success", jsonAnswer(200, ok), protocol.OutcomeSuccess, 200, "000000"},
		{"success, JSON with charset", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			io.WriteString(w, ok)
		}, protocol.OutcomeSuccess, 200, "000000"},
		{"accepted", jsonAnswer(200, `{"resultCode":"000004","resultMsg":"provisioning"}`), protocol.OutcomeAccepted, 200, "000004"},
		{"instance does not exist", jsonAnswer(200, `{"resultCode":"000003","resultMsg":"no such instance"}`), protocol.OutcomeRejected, 200, "000003"},
		{"auth failed", jsonAnswer(200, `{"resultCode":"000001","resultMsg":"bad signature"}`), protocol.OutcomeRejected, 200, "000001"},
		{"undefined but well-formed code", jsonAnswer(200, `{"resultCode":"999999","resultMsg":"?"}`), protocol.OutcomeRejected, 200, "999999"},
		{"HTTP 500 with a success body", jsonAnswer(500, ok), protocol.OutcomeBadResponse, 500, ""},
		{"HTTP 201", jsonAnswer(201, ok), protocol.OutcomeBadResponse, 201, ""},
		{"HTTP 404", http.NotFound, protocol.OutcomeBadResponse, 404, ""},
		{"HTML error page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		}, protocol.OutcomeBadResponse, 200, ""},
		{"JSON as text/plain", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, ok)
		}, protocol.OutcomeBadResponse, 200, ""},
		{"no Content-Type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil // no sniffing either
			io.WriteString(w, ok)
		}, protocol.OutcomeBadResponse, 200, ""},
		{"HTML labelled JSON", jsonAnswer(200, "<html>oops</html>"), protocol.OutcomeBadResponse, 200, ""},
		{"invalid JSON", jsonAnswer(200, `{"resultCode":"000000",`), protocol.OutcomeBadResponse, 200, ""},
		{"empty body", jsonAnswer(200, ``), protocol.OutcomeBadResponse, 200, ""},
		{"JSON array", jsonAnswer(200, `[{"resultCode":"000000"}]`), protocol.OutcomeBadResponse, 200, ""},
		{"JSON null", jsonAnswer(200, `null`), protocol.OutcomeBadResponse, 200, ""},
		{"missing resultCode", jsonAnswer(200, `{"resultMsg":"success"}`), protocol.OutcomeBadResponse, 200, ""},
		{"resultCode abc", jsonAnswer(200, `{"resultCode":"abc","resultMsg":"success"}`), protocol.OutcomeBadResponse, 200, "abc"},
		{"resultCode five digits", jsonAnswer(200, `{"resultCode":"00000","resultMsg":"success"}`), protocol.OutcomeBadResponse, 200, "00000"},
		{"resultCode as number", jsonAnswer(200, `{"resultCode":0,"resultMsg":"success"}`), protocol.OutcomeBadResponse, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{epoch}
			s := newSeller(t, clock, tt.answer)
			o := newClient(clock).Send(context.Background(), protocol.Target{URL: s.URL, AccessKey: sellerKeyString}, newInstanceReq)
			if o.Kind != tt.kind || o.HTTPStatus != tt.status || o.ResultCode != tt.code {
				t.Errorf("Send() = %v (status %d, code %q), want %v (status %d, code %q)", o, o.HTTPStatus, o.ResultCode, tt.kind, tt.status, tt.code)
			}
			if wantErr := tt.kind != protocol.OutcomeSuccess && tt.kind != protocol.OutcomeAccepted; (o.Err != nil) != wantErr {
				t.Errorf("Send() error = %v, want an error: %v", o.Err, wantErr)
			}
			if o.OK() != (tt.kind == protocol.OutcomeSuccess) {
				t.Errorf("OK() = %v for %v", o.OK(), o.Kind)
			}
			if r := s.next(t); r.authErr != nil {
				t.Errorf("seller's VerifyQuery() = %v, want nil", r.authErr)
			}
		})
	}
}

func TestClientResponseLimit(t *testing.T) {
	const body = `{"resultCode":"000000","resultMsg":"success"}`
	tests := []struct {
		name  string
		limit int64
		kind  protocol.OutcomeKind
	}{
		{"exactly the limit", int64(len(body)), protocol.OutcomeSuccess},
		{"one byte over", int64(len(body)) - 1, protocol.OutcomeBadResponse},
		{"far over", 8, protocol.OutcomeBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{epoch}
			s := newSeller(t, clock, jsonAnswer(200, body))
			c := newClient(clock)
			c.Profile.MaxResponseBody = tt.limit
			o := c.Send(context.Background(), protocol.Target{URL: s.URL, AccessKey: sellerKeyString}, newInstanceReq)
			if o.Kind != tt.kind {
				t.Errorf("Send() = %v, want %v", o, tt.kind)
			}
			if int64(len(o.ResponseBody)) > tt.limit {
				t.Errorf("Send() kept %d bytes of the response, want at most %d", len(o.ResponseBody), tt.limit)
			}
		})
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	clock := &testClock{epoch}
	elsewhere := newSeller(t, clock, jsonAnswer(200, `{"resultCode":"000000","resultMsg":"success"}`))
	s := newSeller(t, clock, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/moved", http.StatusFound)
	})
	o := newClient(clock).Send(context.Background(), protocol.Target{URL: s.URL, AccessKey: sellerKeyString}, newInstanceReq)
	if o.Kind != protocol.OutcomeBadResponse || o.HTTPStatus != http.StatusFound {
		t.Errorf("Send() = %v (status %d), want bad_response with status 302", o, o.HTTPStatus)
	}
	if o.Err == nil || !strings.Contains(o.Err.Error(), elsewhere.URL+"/moved") {
		t.Errorf("Send() error = %v, want it to name the redirect target", o.Err)
	}
	s.next(t)
	select {
	case r := <-elsewhere.calls:
		t.Errorf("the redirect target was requested: %s %s", r.method, r.path)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestClientTimeout(t *testing.T) {
	// stall holds the answer back until the client gives up (or 5 s, so a
	// broken test still ends).
	stall := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	tests := []struct {
		name    string
		answer  http.HandlerFunc
		timeout time.Duration
		max     time.Duration // Profile.MaxCallTimeout, 0 for the default
	}{
		{"no answer", stall, 100 * time.Millisecond, 0},
		{"headers then a stalled body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, `{"resultCode":`)
			w.(http.Flusher).Flush()
			stall(w, r)
		}, 100 * time.Millisecond, 0},
		{"product timeout capped by the profile", stall, time.Minute, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{epoch}
			s := newSeller(t, clock, tt.answer)
			c := newClient(clock)
			if tt.max > 0 {
				c.Profile.MaxCallTimeout = tt.max
			}
			start := time.Now()
			o := c.Send(context.Background(), protocol.Target{URL: s.URL, AccessKey: sellerKeyString, Timeout: tt.timeout}, newInstanceReq)
			elapsed := time.Since(start)
			if o.Kind != protocol.OutcomeTimeout || o.Err == nil {
				t.Errorf("Send() = %v, want timeout", o)
			}
			if elapsed < 100*time.Millisecond || elapsed > 3*time.Second {
				t.Errorf("Send() returned after %v, want about 100ms", elapsed)
			}
			// Latency is measured inside Do, a little after the deadline
			// was set: allow for a busy machine.
			if o.Latency < 50*time.Millisecond || o.Latency > elapsed {
				t.Errorf("Send() latency = %v, want about the 100ms timeout, at most %v", o.Latency, elapsed)
			}
		})
	}
}

func TestClientTransportFailures(t *testing.T) {
	// A port nobody listens on any more.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()

	// hijack takes the connection from the server and hands it to f.
	hijack := func(f func(net.Conn)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				panic(err)
			}
			f(conn)
		}
	}
	tests := []struct {
		name   string
		answer http.HandlerFunc // nil: closedURL
	}{
		{"connection refused", nil},
		{"closed without an answer", hijack(func(c net.Conn) { c.Close() })},
		{"connection reset", hijack(func(c net.Conn) {
			c.(*net.TCPConn).SetLinger(0) // close with RST
			c.Close()
		})},
		{"closed in the middle of the body", hijack(func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"resultCode\":")
			c.Close()
		})},
		{"not HTTP", hijack(func(c net.Conn) {
			io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
			c.Close()
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{epoch}
			url := closedURL
			if tt.answer != nil {
				url = newSeller(t, clock, tt.answer).URL
			}
			o := newClient(clock).Send(context.Background(), protocol.Target{URL: url, AccessKey: sellerKeyString, Timeout: 5 * time.Second}, newInstanceReq)
			if o.Kind != protocol.OutcomeTransport || o.Err == nil {
				t.Errorf("Send() = %v, want transport_failure", o)
			}
			if len(o.RequestBody) == 0 {
				t.Errorf("Send() did not record the request body")
			}
		})
	}
}

func TestClientBadRequest(t *testing.T) {
	clock := &testClock{epoch}
	for _, a := range []protocol.Activity{protocol.NewInstance, protocol.TenantSync} {
		o := newClient(clock).SendBody(context.Background(), protocol.Target{URL: "http://[::1", AccessKey: "k"}, a, []byte(`{}`))
		if o.Kind != protocol.OutcomeBadRequest || o.Err == nil || string(o.RequestBody) != `{}` {
			t.Errorf("SendBody(%s, malformed URL) = %v, want bad_request with the body recorded", a, o)
		}
	}
}

func TestClientVerifyResponse(t *testing.T) {
	const body = `{"resultCode":"000000","resultMsg":"success"}`
	signed := func(header string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if header != "" {
				w.Header().Set("Body-Sign", header)
			}
			io.WriteString(w, body)
		}
	}
	tests := []struct {
		name   string
		answer http.HandlerFunc
		verify bool
		kind   protocol.OutcomeKind
	}{
		{"valid Body-Sign", signed(protocol.SignResponse(sellerKeyString, []byte(body))), true, protocol.OutcomeSuccess},
		{"wrong key", signed(protocol.SignResponse("another-key", []byte(body))), true, protocol.OutcomeBadResponse},
		{"signature of another body", signed(protocol.SignResponse(sellerKeyString, []byte(`{"resultCode":"000000"}`))), true, protocol.OutcomeBadResponse},
		{"missing Body-Sign", signed(""), true, protocol.OutcomeBadResponse},
		{"not asked for", signed(""), false, protocol.OutcomeSuccess},
		{"wrong but not asked for", signed(protocol.SignResponse("another-key", []byte(body))), false, protocol.OutcomeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{epoch}
			s := newSeller(t, clock, tt.answer)
			o := newClient(clock).Send(context.Background(), protocol.Target{URL: s.URL, AccessKey: sellerKeyString, VerifyResponse: tt.verify}, newInstanceReq)
			if o.Kind != tt.kind {
				t.Errorf("Send() = %v, want %v", o, tt.kind)
			}
			if tt.kind == protocol.OutcomeBadResponse && !strings.Contains(o.Err.Error(), "Body-Sign") {
				t.Errorf("Send() error = %v, want it to mention Body-Sign", o.Err)
			}
		})
	}
}

func TestClientKit(t *testing.T) {
	clock := &testClock{epoch}
	s := newSeller(t, clock, jsonAnswer(200, `{"resultCode":"000000","resultMsg":"success"}`))
	c := newClient(clock)
	var req protocol.Request
	for _, r := range fullRequests() {
		if r.Activity() == protocol.TenantSync {
			req = r
		}
	}
	for _, base := range []string{s.URL, s.URL + "/", s.URL + "/souk", s.URL + "/souk/?app=42"} {
		t.Run(base, func(t *testing.T) {
			o := c.Send(context.Background(), protocol.Target{URL: base, AccessKey: sellerKeyString}, req)
			if o.Kind != protocol.OutcomeSuccess {
				t.Fatalf("Send(tenantSync) = %v, want success", o)
			}
			r := s.next(t)
			wantPath := "/produceAPI/v2/tenantSync"
			if strings.HasPrefix(base, s.URL+"/souk") {
				wantPath = "/souk" + wantPath
			}
			if r.path != wantPath {
				t.Errorf("seller saw path %q, want %q", r.path, wantPath)
			}
			if r.authErr != nil {
				t.Errorf("seller's VerifyKit() = %v, want nil", r.authErr)
			}
			if _, ok := r.query["signature"]; ok {
				t.Errorf("kit call carries a query signature %v, want headers only", r.query)
			}
			if strings.Contains(base, "?") && r.query["app"][0] != "42" {
				t.Errorf("seller saw query %v, want the production URL's app=42 kept", r.query)
			}
			if nonce := r.header.Get("x-nonce"); len(nonce) != 32 {
				t.Errorf("x-nonce = %q, want 32 hex characters", nonce)
			}
			if string(r.body) != string(mustEncode(t, req)) {
				t.Errorf("seller saw body %s, want %s", r.body, mustEncode(t, req))
			}
			got, err := protocol.DecodeKit(path.Base(r.path), r.body)
			if err != nil || !reflect.DeepEqual(got, req) {
				t.Errorf("seller's DecodeKit() = %+v, %v, want %+v", got, err, req)
			}
		})
	}
}

// A prepared request can be altered before Do, as the conformance checker
// does to send a deliberately broken signature.
func TestClientDoAlteredRequest(t *testing.T) {
	clock := &testClock{epoch}
	s := newSeller(t, clock, jsonAnswer(200, `{"resultCode":"000001","resultMsg":"authentication failed"}`))
	c := newClient(clock)
	target := protocol.Target{URL: s.URL, AccessKey: sellerKeyString}
	body := mustEncode(t, newInstanceReq)
	hreq, err := c.NewHTTPRequest(context.Background(), target, protocol.NewInstance, body)
	if err != nil {
		t.Fatal(err)
	}
	q := hreq.URL.Query()
	q.Set("signature", strings.Repeat("0", 64))
	hreq.URL.RawQuery = q.Encode()
	o := c.Do(target, protocol.NewInstance, hreq)
	if o.Kind != protocol.OutcomeRejected || o.ResultCode != protocol.CodeAuthFailed || string(o.RequestBody) != string(body) {
		t.Errorf("Do() = %v, want rejected with 000001 and the body recorded", o)
	}
	r := s.next(t)
	var ae *protocol.AuthError
	if !errors.As(r.authErr, &ae) || ae.Failure != protocol.AuthBadSignature {
		t.Errorf("seller's VerifyQuery() = %v, want a bad signature", r.authErr)
	}
}

func TestOutcomeHelpers(t *testing.T) {
	o := &protocol.Outcome{Kind: protocol.OutcomeSuccess, Activity: protocol.QueryInstance, ResultCode: "000000", Latency: 1500 * time.Microsecond}
	if got, want := o.String(), "queryInstance success (000000) after 2ms"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if err := o.Decode(new(protocol.QueryInstanceResponse)); err == nil {
		t.Errorf("Decode() with no response body = nil, want an error")
	}
	o.ResponseBody = []byte(`{"resultCode":"000000","resultMsg":"ok","info":[{"instanceId":"a","appInfo":{"frontEndUrl":"https://a"}},{"instanceId":"b"}]}`)
	var resp protocol.QueryInstanceResponse
	if err := o.Decode(&resp); err != nil || len(resp.Info) != 2 || !resp.Info[0].Ready() || resp.Info[1].Ready() {
		t.Errorf("Decode() = %+v, %v, want a ready and a provisioning instance", resp, err)
	}
	o.Kind, o.Err = protocol.OutcomeTimeout, errors.New("no answer within 20s")
	if got, want := o.String(), "queryInstance timeout after 2ms: no answer within 20s"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
