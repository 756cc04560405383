package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/api"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// PurchaseOptions configures the purchase benchmark.
type PurchaseOptions struct {
	// Database is a postgres:// URL — the benchmark works in a schema of
	// its own there, dropped afterwards — or empty for a fresh SQLite file
	// in a temporary directory.
	Database string
	Orders   int
	// Concurrency is the number of clients buying at once, each as a
	// buyer of its own [16].
	Concurrency int
	// Poll is the pause between two reads of an instance waiting to be
	// active [2 ms].
	Poll time.Duration
	// Out receives progress notes; nil discards them.
	Out io.Writer
}

// PurchaseResult is what one run measured, and what the database held
// afterwards.
type PurchaseResult struct {
	Engine     string
	Orders     int // purchases made
	Buyers     int
	Elapsed    time.Duration // first request sent → last instance seen active
	OrdersPerS float64
	// Latency of each purchase: the request sent → the client reading the
	// instance as active.
	P50, P99 time.Duration
	// Placed: the request sent → its 201 received (the order paid, the
	// newInstance call enqueued).
	PlacedP50, PlacedP99 time.Duration
	// Activated: the request sent → the instance's activatedAt, the
	// engine's time when it wrote the seller's answer (millisecond
	// precision): the latency without the client's polling.
	ActivatedP50, ActivatedP99 time.Duration
	Poll                       time.Duration
	Polls                      int64 // GET instance requests made

	// What the database holds after the run.
	Price           int64 // of the spec bought, in minor units of CNY
	Completed       int   // orders completed
	ActiveInstances int
	BalanceDrop     int64  // the buyers' balances, before less after
	Invariant       string // settle.CheckInvariant's error; empty when it holds
}

// Check reports whether the run left the marketplace consistent: every
// order completed, every instance active, the buyers charged exactly the
// price of what they bought, and the ledger invariant holding.
func (r PurchaseResult) Check() error {
	var errs []error
	if r.Completed != r.Orders {
		errs = append(errs, fmt.Errorf("%d of %d orders completed", r.Completed, r.Orders))
	}
	if r.ActiveInstances != r.Orders {
		errs = append(errs, fmt.Errorf("%d of %d instances active", r.ActiveInstances, r.Orders))
	}
	if want := r.Price * int64(r.Orders); r.BalanceDrop != want {
		errs = append(errs, fmt.Errorf("the buyers' balances dropped by %d, want %d × %d = %d", r.BalanceDrop, r.Price, r.Orders, want))
	}
	if r.Invariant != "" {
		errs = append(errs, fmt.Errorf("ledger invariant: %s", r.Invariant))
	}
	return errors.Join(errs...)
}

// WriteTo writes the figures of the run to w, the last line being
// `orders=N orders_per_s=X p50_ms=A p99_ms=B`.
func (r PurchaseResult) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %d purchases by %d clients in %v: %.0f orders/s\n", r.Engine, r.Orders, r.Buyers, r.Elapsed.Round(time.Millisecond), r.OrdersPerS)
	fmt.Fprintf(&b, "  request → instance read as active (read every %v): p50 %s ms, p99 %s ms (%.1f reads per purchase)\n",
		r.Poll, ms(r.P50), ms(r.P99), float64(r.Polls)/float64(max(r.Orders, 1)))
	fmt.Fprintf(&b, "  request → order placed (201):                     p50 %s ms, p99 %s ms\n", ms(r.PlacedP50), ms(r.PlacedP99))
	fmt.Fprintf(&b, "  request → instance's activatedAt (engine's clock): p50 %s ms, p99 %s ms\n", ms(r.ActivatedP50), ms(r.ActivatedP99))
	fmt.Fprintf(&b, "  afterwards: %d orders completed, %d instances active, buyers' balances down %d (%d × %d)", r.Completed, r.ActiveInstances, r.BalanceDrop, r.Orders, r.Price)
	if r.Invariant == "" {
		fmt.Fprintf(&b, ", ledger invariant holds\n")
	} else {
		fmt.Fprintf(&b, ", ledger invariant BROKEN: %s\n", r.Invariant)
	}
	fmt.Fprintln(&b, r.Line())
	return b.WriteTo(w)
}

// Line is the run's key=value line.
func (r PurchaseResult) Line() string {
	return fmt.Sprintf("orders=%d orders_per_s=%.1f p50_ms=%s p99_ms=%s", r.Orders, r.OrdersPerS, ms(r.P50), ms(r.P99))
}

// ms formats d in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// What the buyers buy: one month of a PERIOD spec, at 99.00 CNY.
const (
	purchaseSpec     = "monthly"
	purchasePrice    = 9900
	purchaseCurrency = "CNY"
)

// Purchase builds a marketplace on a fresh database — an operator, a
// certified seller whose listed product's production URL is a reference
// seller on 127.0.0.1, and one buyer with balance per client — serves the
// JSON API and runs the delivery engine with the order hooks, the way
// `souk serve` wires them, then buys o.Orders times over HTTP from
// o.Concurrency clients. Each purchase is timed from sending POST
// /api/v1/orders until a GET /api/v1/instances/{id} (repeated every
// o.Poll) reads the instance as active.
func Purchase(ctx context.Context, o PurchaseOptions) (PurchaseResult, error) {
	if o.Orders < 1 {
		return PurchaseResult{}, errors.New("orders must be at least 1")
	}
	if o.Concurrency < 1 {
		o.Concurrency = 16
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Millisecond
	}
	o.Concurrency = min(o.Concurrency, o.Orders)
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	tmp, err := os.MkdirTemp("", "souk-bench-purchase-")
	if err != nil {
		return PurchaseResult{}, err
	}
	defer os.RemoveAll(tmp)

	dsn := o.Database
	switch {
	case dsn == "":
		dsn = filepath.Join(tmp, "souk.db")
	case !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://"):
		return PurchaseResult{}, fmt.Errorf("the database must be a postgres:// URL, or empty for a fresh SQLite file, not %q", dsn)
	default:
		var drop func()
		dsn, drop, err = freshSchema(ctx, dsn)
		if err != nil {
			return PurchaseResult{}, err
		}
		defer drop()
	}
	db, err := store.Open(ctx, dsn, souk.SystemClock{})
	if err != nil {
		return PurchaseResult{}, err
	}
	defer db.Close()
	r := PurchaseResult{Engine: string(db.Engine()), Orders: o.Orders, Buyers: o.Concurrency, Price: purchasePrice, Poll: o.Poll}

	// The marketplace's settings: a fresh marketplace key; production URLs
	// may point at this machine, as in development.
	mkey := make([]byte, 32)
	rand.Read(mkey)
	keys, err := catalog.NewKeyring(mkey)
	if err != nil {
		return r, err
	}
	set := catalog.Settings{Keys: keys, AllowPrivateURLs: true}

	// The reference seller listens first: the product's production URL is
	// its address.
	sellerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	seeded, err := seedMarketplace(ctx, db, set, "http://"+sellerLn.Addr().String()+"/produce", o.Concurrency)
	if err != nil {
		sellerLn.Close()
		return r, fmt.Errorf("seed: %w", err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	seller, err := refseller.New(refseller.Config{Key: seeded.accessKey, DataDir: filepath.Join(tmp, "seller"), Logger: quiet})
	if err != nil {
		sellerLn.Close()
		return r, err
	}
	defer seller.Close()
	sellerCtx, stopSeller := context.WithCancel(context.Background())
	sellerDone := make(chan error, 1)
	go func() { sellerDone <- seller.Serve(sellerCtx, sellerLn) }()
	defer func() { stopSeller(); <-sellerDone }()

	// The delivery engine and the API, wired as cmd/souk/serve.go does
	// (without notices and metrics, which a purchase does not touch).
	client := protocol.NewClient(protocol.Default, db.Clock().Now, 8)
	defer client.HTTP.CloseIdleConnections()
	engine := delivery.New(db, client, catalog.Targets{DB: db, Settings: set}, order.Hooks(), delivery.Config{Logger: quiet})
	if err := engine.Start(ctx); err != nil {
		return r, err
	}
	defer engine.Stop()
	var apiErrors bytes.Buffer
	var apiErrorsMu sync.Mutex
	apiLog := slog.New(slog.NewTextHandler(lockedWriter{&apiErrorsMu, &apiErrors}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Config{DB: db, Logger: apiLog, Catalog: set, Orders: engine}).Handler())
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(apiLn)
	defer srv.Close()
	base := "http://" + apiLn.Addr().String()

	before, err := buyerBalances(ctx, db, seeded.buyers)
	if err != nil {
		return r, err
	}
	fmt.Fprintf(out, "%s: marketplace seeded (product %s, %d buyers); API at %s, reference seller at %s\n",
		r.Engine, seeded.productID, len(seeded.buyers), base, sellerLn.Addr())

	// The run: each client buys as its own buyer, taking the next purchase
	// from a shared counter until all are made.
	httpc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxIdleConns: 2 * o.Concurrency}}
	defer httpc.CloseIdleConnections()
	body, _ := json.Marshal(map[string]any{"productId": seeded.productID, "specCode": purchaseSpec})
	samples := make([]timing, o.Orders)
	var next, polls atomic.Int64
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	var wg sync.WaitGroup
	start := time.Now()
	for c := range o.Concurrency {
		wg.Add(1)
		go func(token string) {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(o.Orders) || runCtx.Err() != nil {
					return
				}
				t, n, err := buyOnce(runCtx, httpc, base, token, body, fmt.Sprintf("bench-%d", i), o.Poll)
				polls.Add(n)
				if err != nil {
					fail(fmt.Errorf("purchase %d: %w", i, err))
					return
				}
				samples[i] = t
			}
		}(seeded.tokens[c])
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	if firstErr != nil {
		apiErrorsMu.Lock()
		defer apiErrorsMu.Unlock()
		if apiErrors.Len() > 0 {
			return r, fmt.Errorf("%w\nAPI log:\n%s", firstErr, strings.TrimSpace(apiErrors.String()))
		}
		return r, firstErr
	}
	r.OrdersPerS = float64(o.Orders) / r.Elapsed.Seconds()
	r.Polls = polls.Load()
	var done, placed, activated []time.Duration
	for _, s := range samples {
		done, placed, activated = append(done, s.done), append(placed, s.placed), append(activated, s.activated)
	}
	r.P50, r.P99 = percentile(done, 50), percentile(done, 99)
	r.PlacedP50, r.PlacedP99 = percentile(placed, 50), percentile(placed, 99)
	r.ActivatedP50, r.ActivatedP99 = percentile(activated, 50), percentile(activated, 99)

	// What the run left in the database.
	engine.Stop()
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM orders WHERE type = $1 AND state = $2`, string(order.New), string(order.Completed)).Scan(&r.Completed); err != nil {
		return r, err
	}
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM order_instances WHERE state = $1`, string(order.Active)).Scan(&r.ActiveInstances); err != nil {
		return r, err
	}
	after, err := buyerBalances(ctx, db, seeded.buyers)
	if err != nil {
		return r, err
	}
	r.BalanceDrop = before - after
	if err := settle.CheckInvariant(ctx, db); err != nil {
		r.Invariant = err.Error()
	}
	return r, nil
}

// timing is one purchase's measurements.
type timing struct{ done, placed, activated time.Duration }

// buyOnce buys the spec as the buyer holding token and waits for its
// instance to be active, reading it every poll. It returns the timings and
// how many GET requests it made.
func buyOnce(ctx context.Context, c *http.Client, base, token string, body []byte, key string, poll time.Duration) (timing, int64, error) {
	sent := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/orders", bytes.NewReader(body))
	if err != nil {
		return timing{}, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	var placed struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Lines []struct {
			InstanceID string `json:"instanceId"`
		} `json:"lines"`
	}
	if err := doJSON(c, req, http.StatusCreated, &placed); err != nil {
		return timing{}, 0, err
	}
	t := timing{placed: time.Since(sent)}
	if len(placed.Lines) != 1 || placed.Lines[0].InstanceID == "" {
		return t, 0, fmt.Errorf("order %s: no instance in the answer", placed.ID)
	}
	inst := placed.Lines[0].InstanceID
	var n int64
	for {
		select {
		case <-ctx.Done():
			return t, n, ctx.Err()
		case <-time.After(poll):
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/instances/"+inst, nil)
		if err != nil {
			return t, n, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		var in struct {
			State       string     `json:"state"`
			ActivatedAt *time.Time `json:"activatedAt"`
		}
		n++
		if err := doJSON(c, req, http.StatusOK, &in); err != nil {
			return t, n, err
		}
		switch order.InstanceState(in.State) {
		case order.Active:
			t.done = time.Since(sent)
			if in.ActivatedAt != nil {
				// activatedAt is in milliseconds: never report it as
				// before the request was sent.
				t.activated = max(in.ActivatedAt.Sub(sent), 0)
			}
			return t, n, nil
		case order.Provisioning:
		default:
			return t, n, fmt.Errorf("instance %s is %s", inst, in.State)
		}
		if time.Since(sent) > 5*time.Minute {
			return t, n, fmt.Errorf("instance %s still %s after 5 minutes", inst, in.State)
		}
	}
}

// doJSON sends req and decodes the answer into v, which must come with
// status want.
func doJSON(c *http.Client, req *http.Request, want int, v any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, v)
}

// seeded is the marketplace the benchmark buys in.
type seeded struct {
	productID string
	accessKey string
	buyers    []string // user ids
	tokens    []string // an API token of each buyer
}

// seedMarketplace creates, through the domain packages, an operator; a
// seller that applies, is approved and certified; its SaaS product with
// one monthly spec at productionURL, listed through an approved publish
// application; and n buyers, each with an API token and enough balance for
// every purchase of the run.
func seedMarketplace(ctx context.Context, db *store.DB, set catalog.Settings, productionURL string, n int) (seeded, error) {
	var s seeded
	suffix := randomHex(4)
	system := souk.Actor{UserID: "system", Role: souk.RoleOperator} // as `souk user add` bootstraps
	opUser, err := account.CreateUser(ctx, db, system, account.Registration{Email: "operator-" + suffix + "@bench.example",
		Name: "Bench Operator", Password: "operator password " + suffix, Role: souk.RoleOperator})
	if err != nil {
		return s, fmt.Errorf("operator: %w", err)
	}
	op := opUser.Actor()

	sellerUser, err := account.Register(ctx, db, account.Registration{Email: "seller-" + suffix + "@bench.example",
		Name: "Bench Seller", Password: "seller password " + suffix})
	if err != nil {
		return s, fmt.Errorf("seller user: %w", err)
	}
	// The applicant joins the seller it applies for in the same
	// transaction, as the API's POST /api/v1/sellers does.
	var sellerID string
	err = db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		sellerID, err = catalog.ApplyTx(ctx, tx, sellerUser.Actor(), catalog.JoinApplication{
			CompanyName: "Bench Notes Ltd", RegistrationNumber: "91310000MA" + strings.ToUpper(randomHex(4)),
			ContactName: "Li Lei", ContactEmail: "sales@notes.example", ContactPhone: "+86 21 5555 0100",
		})
		if err != nil {
			return err
		}
		return account.JoinSeller(ctx, tx, sellerUser.ID, sellerID)
	})
	if err != nil {
		return s, fmt.Errorf("seller application: %w", err)
	}
	if err := catalog.ApproveSeller(ctx, db, op, sellerID); err != nil {
		return s, fmt.Errorf("approve seller: %w", err)
	}
	u, err := account.GetUser(ctx, db, op, sellerUser.ID)
	if err != nil {
		return s, err
	}
	member := u.Actor()
	cert, err := catalog.SubmitCertification(ctx, db, member, catalog.Certification{
		AccountHolder: "Bench Notes Ltd", Bank: "Bank of Example", AccountNumber: "6222 0210 0112 3456 789",
		TaxRegistration: "91310000MA1FL0000X", TaxRate: 600})
	if err != nil {
		return s, fmt.Errorf("certification: %w", err)
	}
	if err := catalog.ApproveCertification(ctx, db, op, cert); err != nil {
		return s, fmt.Errorf("approve certification: %w", err)
	}
	np, err := catalog.CreateProduct(ctx, db, set, member, catalog.Product{
		Type: catalog.SaaS, Name: "Bench Notes", Description: "Notes for teams, bought by the purchase benchmark.",
		ProductionURL: productionURL, Public: true,
		Specs: []catalog.Spec{{Code: purchaseSpec, Name: "Monthly", Charging: catalog.ChargePeriod, Period: catalog.Month,
			Price: catalog.Price{Amount: purchasePrice, Currency: purchaseCurrency}}},
	})
	if err != nil {
		return s, fmt.Errorf("product: %w", err)
	}
	if err := catalog.SubmitApplication(ctx, db, set, member, np.ApplicationID); err != nil {
		return s, fmt.Errorf("submit the publish application: %w", err)
	}
	if err := catalog.ApproveApplication(ctx, db, op, np.ApplicationID); err != nil {
		return s, fmt.Errorf("approve the publish application: %w", err)
	}
	s.productID, s.accessKey = np.ProductID, np.AccessKey

	// Buyers register concurrently: each costs a password hash.
	s.buyers, s.tokens = make([]string, n), make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := account.Register(ctx, db, account.Registration{Email: fmt.Sprintf("buyer-%d-%s@bench.example", i, suffix),
				Name: fmt.Sprintf("Buyer %d", i), Password: "buyer password " + suffix})
			if err != nil {
				errs[i] = fmt.Errorf("buyer %d: %w", i, err)
				return
			}
			// Enough for every purchase of the run, whoever makes them.
			if _, err := settle.TopUp(ctx, db, op, b.ID, settle.M(1_000_000_000, purchaseCurrency)); err != nil {
				errs[i] = fmt.Errorf("top up buyer %d: %w", i, err)
				return
			}
			token, _, err := account.CreateToken(ctx, db, b.Actor(), "bench", 24*time.Hour)
			if err != nil {
				errs[i] = fmt.Errorf("token of buyer %d: %w", i, err)
				return
			}
			s.buyers[i], s.tokens[i] = b.ID, token
		}()
	}
	wg.Wait()
	return s, errors.Join(errs...)
}

// buyerBalances sums the buyers' balances.
func buyerBalances(ctx context.Context, db *store.DB, buyers []string) (int64, error) {
	var sum int64
	for _, b := range buyers {
		v, err := settle.Balance(ctx, db.SQL(), settle.BuyerBalance(b), purchaseCurrency)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// freshSchema creates a new schema in the PostgreSQL database at dsn and
// returns a URL whose search_path is that schema, and a func dropping it,
// so every run starts empty and leaves nothing behind.
func freshSchema(ctx context.Context, dsn string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("database URL: %w", err)
	}
	schema := "bench_" + randomHex(6)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	}
	return u.String(), drop, nil
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 × n)
	return s[max(rank, 1)-1]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
