package sellerkit_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// benchSeller answers newInstance with a ready instance (secrets to
// encrypt) and releaseInstance with success, doing nothing else.
type benchSeller struct{ sellerkit.Unimplemented }

var benchInstance = &sellerkit.Instance{ID: "inst-1", AppInfo: appInfoFor("inst-1")}

func (benchSeller) NewInstance(context.Context, *protocol.NewInstanceRequest) (*sellerkit.Instance, error) {
	return benchInstance, nil
}

func (benchSeller) ReleaseInstance(context.Context, *protocol.ReleaseInstanceRequest) error {
	return nil
}

// benchCalls are the calls measured: the heaviest answer (newInstance:
// appInfo with two encrypted fields) and the lightest (releaseInstance).
var benchCalls = []protocol.Request{
	&protocol.NewInstanceRequest{BusinessID: "biz-0123456789", OrderID: "CS2603011200ABCDE", OrderLineID: "CS2603011200ABCDE-000001"},
	&protocol.ReleaseInstanceRequest{InstanceID: "inst-1", OrderID: "CS2603011200ABCDE", OrderLineID: "CS2603011200ABCDE-000001"},
}

// BenchmarkHandlerServeHTTP measures the handler in process: verify the
// query signature and nonce, decode and validate, dispatch, encode (and
// encrypt) the answer. The calls are signed beforehand, each with its own
// nonce, so the marketplace's signing is not counted.
func BenchmarkHandlerServeHTTP(b *testing.B) {
	for _, req := range benchCalls {
		b.Run(string(req.Activity()), func(b *testing.B) {
			h := sellerkit.NewHandler(benchSeller{}, sellerkit.Config{
				Keys:   []string{testKey},
				Now:    func() time.Time { return base },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			body := mustEncode(b, req)
			queries := make([]string, b.N)
			for i := range queries {
				u, err := protocol.Default.SignedURL("/produce", testKey, body, base)
				if err != nil {
					b.Fatal(err)
				}
				queries[i] = u[len("/produce?"):]
			}
			rd := bytes.NewReader(body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rd.Reset(body)
				r := &http.Request{
					Method:        http.MethodPost,
					URL:           &url.URL{Path: "/produce", RawQuery: queries[i]},
					Header:        http.Header{"Content-Type": {"application/json"}},
					Body:          io.NopCloser(rd),
					ContentLength: int64(len(body)),
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"000000"`)) {
					b.Fatalf("HTTP %d: %s", w.Code, w.Body.Bytes())
				}
			}
		})
	}
}

// BenchmarkRoundTripLoopback measures one whole call as the marketplace
// makes it: protocol.Client signs, sends over a kept-alive loopback
// connection, the Handler answers, the client reads and classifies.
func BenchmarkRoundTripLoopback(b *testing.B) {
	for _, req := range benchCalls {
		b.Run(string(req.Activity()), func(b *testing.B) {
			h := sellerkit.NewHandler(benchSeller{}, sellerkit.Config{
				Keys:   []string{testKey},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := protocol.NewClient(protocol.Default, time.Now, 8)
			defer client.HTTP.CloseIdleConnections()
			target := protocol.Target{URL: srv.URL + "/produce", AccessKey: testKey}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if o := client.Send(ctx, target, req); o.Kind != protocol.OutcomeSuccess {
					b.Fatal(o)
				}
			}
		})
	}
}

// BenchmarkRawNetHTTPLoopback is the ceiling: a plain net/http client with
// the transport protocol.NewClient builds POSTs the same body, to a URL
// with a query string of the same shape, to a trivial handler that reads
// the body and writes a fixed JSON answer. The SDK's cost per call is
// BenchmarkRoundTripLoopback minus this.
func BenchmarkRawNetHTTPLoopback(b *testing.B) {
	answer := []byte(`{"resultCode":"000000","resultMsg":"success"}`)
	for _, req := range benchCalls {
		b.Run(string(req.Activity()), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json;charset=UTF-8")
				w.Write(answer)
			}))
			defer srv.Close()
			hc := protocol.NewClient(protocol.Default, time.Now, 8).HTTP
			defer hc.CloseIdleConnections()
			body := mustEncode(b, req)
			u, err := protocol.Default.SignedURL(srv.URL+"/produce", testKey, body, base)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				hreq.Header.Set("Content-Type", "application/json;charset=UTF-8")
				resp, err := hc.Do(hreq)
				if err != nil {
					b.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || len(got) != len(answer) {
					b.Fatalf("HTTP %d %s %v", resp.StatusCode, got, err)
				}
			}
		})
	}
}
