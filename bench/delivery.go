package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// DeliveryOptions configures the delivery benchmark.
type DeliveryOptions struct {
	// Database is a postgres:// URL, or empty for a fresh SQLite file in
	// a temporary directory.
	Database string
	Calls    int // calls to the healthy sellers
	Sellers  int // healthy sellers
	Workers  int
	// PerSeller caps one seller's calls in flight.
	PerSeller int
	// Hanging adds a seller whose endpoint never answers, with as many
	// calls as the healthy sellers have together, under HangTimeout.
	Hanging     bool
	HangTimeout time.Duration
	Out         io.Writer
}

// DeliveryResult is what one run measured.
type DeliveryResult struct {
	Calls      int
	Elapsed    time.Duration
	CallsPerS  float64
	HTTPPerS   float64 // the raw net/http ceiling, same sinks and concurrency
	HungCalled int64   // calls the hanging seller received
}

// sellerSinks starts n sellers on 127.0.0.1 answering success at once, and
// one that hangs when hang is set. It returns their URLs, a func that lets
// the hanging calls go, and a func that stops the servers.
func sellerSinks(n int, hang bool, hits *atomic.Int64, hungHits *atomic.Int64) ([]string, string, func(), func()) {
	answer := []byte(`{"resultCode":"000000","resultMsg":"ok","instanceId":"i-1","appInfo":{"frontEndUrl":"https://app.example/i-1"}}`)
	var servers []*http.Server
	var urls []string
	start := func(h http.HandlerFunc) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		srv := &http.Server{Handler: h}
		servers = append(servers, srv)
		go srv.Serve(ln)
		return "http://" + ln.Addr().String() + "/produce"
	}
	for range n {
		urls = append(urls, start(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			hits.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Write(answer)
		}))
	}
	hung := ""
	stopHang := make(chan struct{})
	if hang {
		hung = start(func(w http.ResponseWriter, r *http.Request) {
			hungHits.Add(1)
			select {
			case <-r.Context().Done():
			case <-stopHang:
			}
		})
	}
	var once sync.Once
	release := func() { once.Do(func() { close(stopHang) }) }
	return urls, hung, release, func() {
		release()
		for _, s := range servers {
			s.Close()
		}
	}
}

type benchTargets map[string]protocol.Target

func (t benchTargets) Target(_ context.Context, _, product string) (protocol.Target, error) {
	return t[product], nil
}

// Delivery enqueues the calls, starts an engine and measures how fast it
// delivers the healthy sellers' calls; then it measures plain net/http
// posting as many requests to the same sellers with the same concurrency.
func Delivery(ctx context.Context, o DeliveryOptions) (DeliveryResult, error) {
	dsn := o.Database
	if dsn == "" {
		dir, err := os.MkdirTemp("", "souk-bench-")
		if err != nil {
			return DeliveryResult{}, err
		}
		defer os.RemoveAll(dir)
		dsn = filepath.Join(dir, "souk.db")
	}
	db, err := store.Open(ctx, dsn, souk.SystemClock{})
	if err != nil {
		return DeliveryResult{}, err
	}
	defer db.Close()
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM delivery_attempts`); err != nil {
		return DeliveryResult{}, err
	}
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM delivery_reinvocations`); err != nil {
		return DeliveryResult{}, err
	}
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM delivery_calls`); err != nil {
		return DeliveryResult{}, err
	}

	var hits, hungHits atomic.Int64
	urls, hung, release, stop := sellerSinks(o.Sellers, o.Hanging, &hits, &hungHits)
	defer stop()
	targets := benchTargets{}
	for i, u := range urls {
		targets[fmt.Sprintf("p%d", i)] = protocol.Target{URL: u, AccessKey: "bench-key"}
	}
	if o.Hanging {
		targets["hung"] = protocol.Target{URL: hung, AccessKey: "bench-key", Timeout: o.HangTimeout}
	}
	// The hanging seller's calls go first, so they are due before the
	// healthy ones and the engine meets them from the start.
	if o.Hanging {
		if err := enqueueBench(ctx, db, o.Calls, 1, "hung"); err != nil {
			return DeliveryResult{}, err
		}
	}
	if err := enqueueBench(ctx, db, o.Calls, o.Sellers, ""); err != nil {
		return DeliveryResult{}, err
	}

	client := protocol.NewClient(protocol.Default, time.Now, o.PerSeller)
	e := delivery.New(db, client, targets, delivery.Hooks{}, delivery.Config{Workers: o.Workers, PerSellerInFlight: o.PerSeller, Poll: 50 * time.Millisecond})
	start := time.Now()
	if err := e.Start(ctx); err != nil {
		return DeliveryResult{}, err
	}
	for hits.Load() < int64(o.Calls) {
		if ctx.Err() != nil {
			e.Stop()
			return DeliveryResult{}, ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	release() // let the hanging calls end so Stop is quick
	e.Stop()
	r := DeliveryResult{Calls: o.Calls, Elapsed: elapsed, CallsPerS: float64(o.Calls) / elapsed.Seconds(), HungCalled: hungHits.Load()}
	r.HTTPPerS = rawHTTP(urls, o.Calls, o.Workers)
	return r, nil
}

func enqueueBench(ctx context.Context, db *store.DB, n, sellers int, product string) error {
	for start := 0; start < n; start += 1000 {
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				p := product
				if p == "" {
					p = fmt.Sprintf("p%d", i%sellers)
				}
				_, err := delivery.Enqueue(ctx, tx, delivery.NewCall{SellerID: "seller-" + p, ProductID: p, Key: fmt.Sprintf("%s-%d", p, i),
					Policy: delivery.NewPurchase, Request: &protocol.NewInstanceRequest{BusinessID: fmt.Sprint(i), OrderID: fmt.Sprintf("o-%s-%d", p, i), OrderLineID: "l"}})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rawHTTP posts n signed-size bodies to the sellers round-robin with
// `workers` goroutines over keep-alive connections and returns requests per
// second: the ceiling the engine is measured against.
func rawHTTP(urls []string, n, workers int) float64 {
	body := []byte(`{"activity":"newInstance","testFlag":"0","businessId":"1","orderId":"o-1","orderLineId":"l"}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxIdleConns: 1024}}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				resp, err := client.Post(urls[int(i)%len(urls)], "application/json", bytes.NewReader(body))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}
