package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// The "Bad input and faults": a seller that times out, resets the
// connection, answers 500, HTML, a 10 MB body, invalid JSON, a wrong
// resultCode or a redirect, or is not listening at all. Each must be one
// recorded failed attempt with a precise error, the call retrying on its
// policy's schedule (never stuck in flight, never lost), and the call must
// succeed once the seller is fixed.

// faultTimeout is the call timeout the faulty sellers' product is given.
const faultTimeout = 300 * time.Millisecond

// healthyNewInstance is a complete, ready newInstance answer.
const healthyNewInstance = `{"resultCode":"000000","resultMsg":"ok","instanceId":"ins-1","appInfo":{"frontEndUrl":"https://app.example/ins-1"}}`

// faultySeller is a seller endpoint whose behaviour on its production URL
// ("/") is switchable; "/elsewhere" answers correctly, as the target of a
// redirect that must not be followed.
type faultySeller struct {
	srv       *httptest.Server
	mu        sync.Mutex
	fault     http.HandlerFunc // nil: answer correctly
	hits      atomic.Int64     // requests to "/"
	elsewhere atomic.Int64     // requests to "/elsewhere"
}

func (s *faultySeller) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		fault := s.fault
		s.mu.Unlock()
		if fault != nil {
			fault(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, healthyNewInstance)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		s.elsewhere.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, healthyNewInstance)
	})
	return mux
}

func (s *faultySeller) setFault(f http.HandlerFunc) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// faultTargets sends every product to one URL with a short timeout.
type faultTargets struct{ url string }

func (ts faultTargets) Target(context.Context, string, string) (protocol.Target, error) {
	return protocol.Target{URL: ts.url, AccessKey: key, Timeout: faultTimeout}, nil
}

// hang reads the request and waits until the client gives up (or far
// longer than its timeout). Reading the body first lets the server notice
// the client hanging up.
func hang(r *http.Request) {
	io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * faultTimeout):
	}
}

func hijack(t *testing.T, w http.ResponseWriter) net.Conn {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return nil
	}
	return conn
}

func answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

type faultCase struct {
	name  string
	fault func(t *testing.T) http.HandlerFunc // nil with refused
	// refused: nothing listens on the production URL until the fix.
	refused bool

	kind       protocol.OutcomeKind
	errHas     []string // the attempt's error contains each
	status     int      // recorded HTTP status
	code       protocol.Code
	respPrefix string // the recorded response starts with it; "" means no response recorded
	slow       bool   // the attempt lasts the whole timeout
}

func faultCases() []faultCase {
	const json = "application/json"
	bigBody := func(t *testing.T) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", json)
			io.WriteString(w, `{"resultCode":"000000","resultMsg":"`)
			chunk := strings.Repeat("x", 64<<10)
			for range (10 << 20) / len(chunk) { // 10 MiB
				if _, err := io.WriteString(w, chunk); err != nil {
					return // the client hung up, as it should
				}
			}
			io.WriteString(w, `"}`)
		}
	}
	redirect := func(status int) func(t *testing.T) http.HandlerFunc {
		return func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				http.Redirect(w, r, "/elsewhere", status)
			}
		}
	}
	return []faultCase{
		{name: "timeout before headers", fault: func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { hang(r) }
		}, kind: protocol.OutcomeTimeout, errHas: []string{"no answer within 300ms"}, slow: true},
		{name: "timeout mid-body", fault: func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", json)
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, `{"resultCode":"0000`)
				w.(http.Flusher).Flush()
				hang(r)
			}
		}, kind: protocol.OutcomeTimeout, errHas: []string{"no answer within 300ms"}, status: 200, respPrefix: `{"resultCode":"0000`, slow: true},
		{name: "connection closed without an answer", fault: func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if conn := hijack(t, w); conn != nil {
					conn.Close()
				}
			}
		}, kind: protocol.OutcomeTransport, errHas: []string{"EOF"}},
		{name: "connection reset", fault: func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if conn := hijack(t, w); conn != nil {
					if err := conn.(*net.TCPConn).SetLinger(0); err != nil { // close sends RST
						t.Errorf("SetLinger(0): %v", err)
					}
					conn.Close()
				}
			}
		}, kind: protocol.OutcomeTransport, errHas: []string{"connection reset by peer"}},
		{name: "connection refused", refused: true,
			kind: protocol.OutcomeTransport, errHas: []string{"connection refused"}},
		{name: "HTTP 500", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusInternalServerError, "text/plain", "internal error: database down")
		}, kind: protocol.OutcomeBadResponse, errHas: []string{"HTTP 500, want 200"}, status: 500, respPrefix: "internal error: database down"},
		{name: "HTTP 500 with a success body", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusInternalServerError, json, healthyNewInstance)
		}, kind: protocol.OutcomeBadResponse, errHas: []string{"HTTP 500, want 200"}, status: 500, respPrefix: healthyNewInstance},
		{name: "HTML with 200", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusOK, "text/html; charset=utf-8", "<html><body>Maintenance</body></html>")
		}, kind: protocol.OutcomeBadResponse, errHas: []string{`Content-Type "text/html; charset=utf-8"`, "want application/json"},
			status: 200, respPrefix: "<html><body>Maintenance"},
		{name: "10 MB body", fault: bigBody,
			kind: protocol.OutcomeBadResponse, errHas: []string{"larger than 1048576 bytes"}, status: 200, respPrefix: `{"resultCode":"000000","resultMsg":"xxx`},
		{name: "truncated JSON", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusOK, json, `{"resultCode":"000000","resultMsg":`)
		}, kind: protocol.OutcomeBadResponse, errHas: []string{"not a JSON object", "unexpected end of JSON input"},
			status: 200, respPrefix: `{"resultCode":"000000","resultMsg":`},
		{name: "JSON array", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusOK, json, `[{"resultCode":"000000"}]`)
		}, kind: protocol.OutcomeBadResponse, errHas: []string{"not a JSON object", "array"}, status: 200, respPrefix: `[{"resultCode"`},
		{name: "empty body", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusOK, json, "")
		}, kind: protocol.OutcomeBadResponse, errHas: []string{"not a JSON object", "unexpected end of JSON input"}, status: 200},
		{name: "resultCode abc", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusOK, json, `{"resultCode":"abc","resultMsg":"ok"}`)
		}, kind: protocol.OutcomeBadResponse, errHas: []string{`resultCode "abc" is not six digits`}, status: 200, code: "abc",
			respPrefix: `{"resultCode":"abc"`},
		{name: "resultCode missing", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusOK, json, `{"resultMsg":"ok","instanceId":"ins-1"}`)
		}, kind: protocol.OutcomeBadResponse, errHas: []string{"no resultCode"}, status: 200, respPrefix: `{"resultMsg":"ok"`},
		{name: "resultCode a number", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusOK, json, `{"resultCode":0,"resultMsg":"ok"}`)
		}, kind: protocol.OutcomeBadResponse, errHas: []string{"resultCode"}, status: 200, respPrefix: `{"resultCode":0`},
		{name: "resultCode of a business failure", fault: func(t *testing.T) http.HandlerFunc {
			return answer(http.StatusOK, json, `{"resultCode":"000005","resultMsg":"disk full"}`)
		}, kind: protocol.OutcomeRejected, errHas: []string{"resultCode 000005", "disk full"}, status: 200, code: protocol.CodeInternal,
			respPrefix: `{"resultCode":"000005"`},
		{name: "redirect 302", fault: redirect(http.StatusFound),
			kind: protocol.OutcomeBadResponse, errHas: []string{`HTTP 302 redirect to "/elsewhere", not followed`}, status: 302},
		{name: "redirect 307", fault: redirect(http.StatusTemporaryRedirect),
			kind: protocol.OutcomeBadResponse, errHas: []string{`HTTP 307 redirect to "/elsewhere", not followed`}, status: 307},
		{name: "redirect 308", fault: redirect(http.StatusPermanentRedirect),
			kind: protocol.OutcomeBadResponse, errHas: []string{`HTTP 308 redirect to "/elsewhere", not followed`}, status: 308},
	}
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestFaultySellerIsARecordedFailedAttemptThenSucceeds(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			clock := souk.NewFakeClock(t0)
			storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
				clock.Set(t0)
				ctx := context.Background()
				seller := &faultySeller{}
				var url string
				if tc.refused {
					addr := freePort(t)
					url = "http://" + addr
				} else {
					seller.srv = httptest.NewServer(seller.handler())
					t.Cleanup(seller.srv.Close)
					seller.setFault(tc.fault(t))
					url = seller.srv.URL
				}
				client := protocol.NewClient(protocol.Default, clock.Now, 4)
				t.Cleanup(client.HTTP.CloseIdleConnections)
				h := &hookLog{}
				e := delivery.New(db, client, faultTargets{url}, h.hooks(), delivery.Config{Workers: 4})
				call := newInstanceCall("fault")
				body := mustEncode(t, call.Request)
				id := enqueue(t, db, call)

				n, err := e.RunDue(ctx)
				if err != nil || n != 1 {
					t.Fatalf("RunDue() = %d, %v; want 1 attempt", n, err)
				}
				if st, attempts := callState(t, db, id); st != delivery.Retrying || attempts != 1 {
					t.Fatalf("state = %s after %d attempts, want %s after 1", st, attempts, delivery.Retrying)
				}
				if !tc.refused {
					if hits := seller.hits.Load(); hits != 1 {
						t.Fatalf("seller received %d requests for one attempt, want 1", hits)
					}
				}
				if n := seller.elsewhere.Load(); n != 0 {
					t.Fatalf("the redirect target received %d requests: the redirect was followed", n)
				}

				m, err := delivery.GetMessage(ctx, db, id, "")
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Attempts) != 1 {
					t.Fatalf("%d attempt rows, want 1", len(m.Attempts))
				}
				a := m.Attempts[0]
				t.Logf("attempt 1: %s, HTTP %d, result code %q, error %q, next %q", a.Outcome, a.HTTPStatus, a.ResultCode, a.Error, a.Next)
				if a.N != 1 || a.Activity != protocol.NewInstance || !a.StartedAt.Equal(t0) {
					t.Errorf("attempt n = %d, activity = %s, started = %v; want 1, newInstance, %v", a.N, a.Activity, a.StartedAt, t0)
				}
				if a.Outcome != tc.kind {
					t.Errorf("outcome = %s, want %s (error %q)", a.Outcome, tc.kind, a.Error)
				}
				for _, want := range tc.errHas {
					if !strings.Contains(a.Error, want) {
						t.Errorf("error = %q, want it to contain %q", a.Error, want)
					}
				}
				if a.HTTPStatus != tc.status {
					t.Errorf("HTTP status = %d, want %d", a.HTTPStatus, tc.status)
				}
				if a.ResultCode != tc.code {
					t.Errorf("result code = %q, want %q", a.ResultCode, tc.code)
				}
				if len(a.Response) > int(protocol.Default.MaxResponseBody) {
					t.Errorf("recorded response is %d bytes, want at most %d", len(a.Response), protocol.Default.MaxResponseBody)
				}
				if tc.respPrefix == "" && len(a.Response) != 0 {
					t.Errorf("recorded response = %.80q, want none", a.Response)
				}
				if !strings.HasPrefix(string(a.Response), tc.respPrefix) {
					t.Errorf("recorded response = %.80q, want it to start with %q", a.Response, tc.respPrefix)
				}
				// The recorded request is what was sent: the stored body
				// with this attempt's own businessId.
				var sent, stored protocol.NewInstanceRequest
				if err := json.Unmarshal(a.Request, &sent); err != nil {
					t.Errorf("recorded request %q: %v", a.Request, err)
				}
				json.Unmarshal([]byte(body), &stored)
				if sent.OrderID != stored.OrderID || sent.OrderLineID != stored.OrderLineID || len(sent.BusinessID) != 32 {
					t.Errorf("recorded request = %q, want %q with a fresh 32-character businessId", a.Request, body)
				}
				if !strings.HasPrefix(a.URL, url) {
					t.Errorf("recorded URL = %q, want it under %s", a.URL, url)
				}
				retryAt := t0.Add(10 * time.Second)
				if want := "retry at " + retryAt.Format(time.RFC3339); a.Next != want {
					t.Errorf("next = %q, want %q", a.Next, want)
				}
				if tc.slow && (a.Latency < faultTimeout-10*time.Millisecond || a.Latency > 5*faultTimeout) {
					t.Errorf("latency = %v, want about the %v timeout", a.Latency, faultTimeout)
				}
				if c := m.Call; c.LastOutcome != tc.kind || c.LastError != a.Error || !c.NextAt.Equal(retryAt) {
					t.Errorf("call last outcome = %s, last error = %q, next at %v; want %s, %q, %v",
						c.LastOutcome, c.LastError, c.NextAt, tc.kind, a.Error, retryAt)
				}

				// Not due again before the policy says.
				if n, err := e.RunDue(ctx); n != 0 || err != nil {
					t.Fatalf("RunDue() at once = %d, %v; want 0 attempts", n, err)
				}

				// The seller fixes its endpoint; the retry 10 s later succeeds.
				if tc.refused {
					l, err := net.Listen("tcp", strings.TrimPrefix(url, "http://"))
					if err != nil {
						t.Fatalf("listen again on %s: %v", url, err)
					}
					seller.srv = httptest.NewUnstartedServer(seller.handler())
					seller.srv.Listener.Close()
					seller.srv.Listener = l
					seller.srv.Start()
					t.Cleanup(seller.srv.Close)
				} else {
					seller.setFault(nil)
				}
				clock.Advance(10 * time.Second)
				if n, err := e.RunDue(ctx); n != 1 || err != nil {
					t.Fatalf("RunDue() after 10 s = %d, %v; want 1 attempt", n, err)
				}
				if st, attempts := callState(t, db, id); st != delivery.Succeeded || attempts != 2 {
					t.Fatalf("state = %s after %d attempts, want %s after 2", st, attempts, delivery.Succeeded)
				}
				m, err = delivery.GetMessage(ctx, db, id, "")
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Attempts) != 2 || m.Attempts[1].Outcome != protocol.OutcomeSuccess || m.Attempts[1].Next != "succeeded" ||
					m.Attempts[1].Error != "" || !m.Attempts[1].StartedAt.Equal(retryAt) {
					t.Fatalf("attempts after the fix = %+v, want a second one succeeding at %v", m.Attempts, retryAt)
				}
				if len(h.succeeded) != 1 || len(h.exhausted) != 0 || len(h.failed) != 1 {
					t.Fatalf("hooks: succeeded %v, exhausted %v, failed %v; want one success after one stage-1 notice",
						h.succeeded, h.exhausted, h.failed)
				}
				if n := seller.elsewhere.Load(); n != 0 {
					t.Fatalf("the redirect target received %d requests: the redirect was followed", n)
				}
			})
		})
	}
}

// A seller that times out must hold up only its own calls: a healthy
// seller's calls in the same RunDue are attempted and succeed.
func TestFaultySellerDoesNotHoldUpOthers(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ctx := context.Background()
		bad := &faultySeller{}
		bad.srv = httptest.NewServer(bad.handler())
		t.Cleanup(bad.srv.Close)
		bad.setFault(func(w http.ResponseWriter, r *http.Request) { hang(r) })
		good := &faultySeller{}
		good.srv = httptest.NewServer(good.handler())
		t.Cleanup(good.srv.Close)

		client := protocol.NewClient(protocol.Default, clock.Now, 8)
		t.Cleanup(client.HTTP.CloseIdleConnections)
		ts := productTargets{"bad": bad.srv.URL, "good": good.srv.URL}
		e := delivery.New(db, client, ts, delivery.Hooks{}, delivery.Config{Workers: 16})
		var badIDs, goodIDs []int64
		for i := range 4 {
			c := newInstanceCall("bad-" + string(rune('a'+i)))
			c.SellerID, c.ProductID = "seller-bad", "bad"
			badIDs = append(badIDs, enqueue(t, db, c))
			c = newInstanceCall("good-" + string(rune('a'+i)))
			c.SellerID, c.ProductID = "seller-good", "good"
			goodIDs = append(goodIDs, enqueue(t, db, c))
		}
		start := time.Now()
		if n, err := e.RunDue(ctx); n != 8 || err != nil {
			t.Fatalf("RunDue() = %d, %v; want 8 attempts", n, err)
		}
		if d := time.Since(start); d > 5*faultTimeout {
			t.Fatalf("RunDue() took %v with a seller timing out after %v: the timeouts were not concurrent", d, faultTimeout)
		}
		for _, id := range goodIDs {
			if st, _ := callState(t, db, id); st != delivery.Succeeded {
				t.Fatalf("healthy seller's call %d: state = %s, want %s", id, st, delivery.Succeeded)
			}
		}
		for _, id := range badIDs {
			if st, _ := callState(t, db, id); st != delivery.Retrying {
				t.Fatalf("timing-out seller's call %d: state = %s, want %s", id, st, delivery.Retrying)
			}
		}
	})
}

// productTargets maps products to URLs with the short fault timeout.
type productTargets map[string]string

func (ts productTargets) Target(_ context.Context, _, product string) (protocol.Target, error) {
	return protocol.Target{URL: ts[product], AccessKey: key, Timeout: faultTimeout}, nil
}
