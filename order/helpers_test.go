package order_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

var (
	ctx      = context.Background()
	t0       = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	operator = souk.Actor{UserID: "op-1", Role: souk.RoleOperator}
	quiet    = slog.New(slog.NewTextHandler(io.Discard, nil))
	serial   atomic.Int64
)

func next() int64 { return serial.Add(1) }

// env is one engine's marketplace: a database, a fake clock, a certified
// seller whose product's production URL is a real reference seller, and
// the delivery engine with the order hooks.
type env struct {
	db       *store.DB
	clock    *souk.FakeClock
	set      catalog.Settings
	seller   souk.Actor
	product  string
	engine   *delivery.Engine
	received *recorder
	// sellerURL is the reference seller's base URL (its /control
	// endpoints), and sellerKey the key they take.
	sellerURL, sellerKey string
}

// sellerOpts configures the reference seller and the product.
type sellerOpts struct {
	async  time.Duration
	faults refseller.Faults
	// specs replaces the product's specs when set.
	specs []catalog.Spec
	// kind is the product's type (SaaS if empty).
	kind catalog.ProductType
}

// each runs fn once per engine with a fresh marketplace, and checks the
// ledger invariant after it.
func each(t *testing.T, opts sellerOpts, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		e := newEnv(t, db, clock, opts)
		fn(t, e)
		if err := settle.CheckInvariant(ctx, db); err != nil {
			t.Fatalf("ledger invariant: %v", err)
		}
	})
}

func newEnv(t *testing.T, db *store.DB, clock *souk.FakeClock, opts sellerOpts) *env {
	t.Helper()
	keys, err := catalog.NewKeyring(bytes.Repeat([]byte{7}, 32))
	must(t, err)
	e := &env{db: db, clock: clock, set: catalog.Settings{Keys: keys, AllowPrivateURLs: true}, received: &recorder{}}

	n := next()
	applicant := souk.Actor{UserID: fmt.Sprintf("seller-user-%d", n), Role: souk.RoleBuyer}
	sellerID := mustValue[string](t)(catalog.Apply(ctx, db, applicant, catalog.JoinApplication{
		CompanyName: fmt.Sprintf("Notes %d Ltd", n), RegistrationNumber: fmt.Sprintf("91310000MA%08d", n),
		ContactName: "Li Lei", ContactEmail: "sales@notes.example", ContactPhone: "+86 21 5555 0100",
	}))
	e.seller = souk.Actor{UserID: applicant.UserID, Role: souk.RoleSeller, SellerID: sellerID}
	must(t, catalog.ApproveSeller(ctx, db, operator, sellerID))
	cert := mustValue[int64](t)(catalog.SubmitCertification(ctx, db, e.seller, catalog.Certification{
		AccountHolder: "Notes Ltd", Bank: "Bank of Example", AccountNumber: "6222 0210 0112 3456 789",
		TaxRegistration: "91310000MA1FL0000X", TaxRate: 600}))
	must(t, catalog.ApproveCertification(ctx, db, operator, cert))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := catalog.Product{
		Type: catalog.SaaS, Name: "Souk Notes", Description: "Notes for teams.",
		ProductionURL: "http://" + ln.Addr().String() + "/produce", Public: true,
		Specs: []catalog.Spec{
			{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}},
			{Code: "pro", Name: "Pro", Charging: catalog.ChargePeriod, Period: catalog.Year, Price: catalog.Price{Amount: 99000, Currency: "CNY"},
				Quantity: &catalog.LinearQuantity{Unit: "users", Min: 5, Max: 100, Step: 5}},
			{Code: "once", Name: "Once", Charging: catalog.ChargeOneTime, Price: catalog.Price{Amount: 50000, Currency: "CNY"},
				Limit: catalog.PurchaseLimit{Kind: catalog.LimitOnce}},
			{Code: "vip", Name: "VIP", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 100, Currency: "CNY"},
				AllowedBuyers: []string{"the-chosen-one"}},
		},
	}
	if opts.specs != nil {
		p.Specs = opts.specs
	}
	if opts.kind != "" {
		p.Type = opts.kind
	}
	np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, db, e.set, e.seller, p))
	must(t, catalog.SubmitApplication(ctx, db, e.set, e.seller, np.ApplicationID))
	must(t, catalog.ApproveApplication(ctx, db, operator, np.ApplicationID))
	e.product = np.ProductID
	e.sellerURL, e.sellerKey = "http://"+ln.Addr().String(), np.AccessKey

	seller, err := refseller.New(refseller.Config{Key: np.AccessKey, DataDir: t.TempDir(), Now: clock.Now,
		Async: opts.async, Faults: opts.faults, Logger: slog.New(e.received)})
	must(t, err)
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- seller.Serve(sctx, ln) }()
	client := protocol.NewClient(protocol.Default, clock.Now, 2)
	t.Cleanup(func() { stop(); <-served; seller.Close(); client.HTTP.CloseIdleConnections() })

	e.engine = delivery.New(db, client, catalog.Targets{DB: db, Settings: e.set}, order.Hooks(),
		delivery.Config{Workers: 2, Logger: quiet})
	return e
}

// buyer returns a new buyer with balance topped up (none if zero).
func (e *env) buyer(t *testing.T, balance int64) souk.Actor {
	t.Helper()
	u, err := account.Register(ctx, e.db, account.Registration{Email: fmt.Sprintf("buyer-%d@example.com", next()), Name: "Buyer", Password: "a long buyer password"})
	if err != nil {
		t.Fatal(err)
	}
	b := u.Actor()
	if balance > 0 {
		mustValue[int64](t)(settle.TopUp(ctx, e.db, operator, b.UserID, settle.M(balance, "CNY")))
	}
	return b
}

func (e *env) balance(t *testing.T, account string) int64 {
	t.Helper()
	return mustValue[int64](t)(settle.Balance(ctx, e.db.SQL(), account, "CNY"))
}

// drive delivers every call due, moving the clock to the next due call,
// until none waits (or horizon has passed).
func (e *env) drive(t *testing.T, horizon time.Duration) {
	t.Helper()
	end := e.clock.Now().Add(horizon)
	for range 10000 {
		if _, err := e.engine.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		at, ok, err := e.engine.NextDue(ctx)
		must(t, err)
		if !ok || at.After(end) {
			return
		}
		if at.After(e.clock.Now()) {
			e.clock.Set(at)
		}
	}
	t.Fatal("drive: calls never stopped coming due")
}

func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	must(t, e.db.SQL().QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
	return n
}

// recorder is the reference seller's log: every call it received, with
// its result.
type recorder struct {
	mu    sync.Mutex
	calls []string // "activity" or "activity!" for a failed one
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "call" {
		return nil
	}
	var activity, result string
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "activity":
			activity = a.Value.String()
		case "result":
			result = a.Value.String()
		}
		return true
	})
	if result != "success" {
		activity += "!"
	}
	r.mu.Lock()
	r.calls = append(r.calls, activity)
	r.mu.Unlock()
	return nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustValue[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := souk.ErrorCode(err); got != want {
		t.Fatalf("%s = %v, want code %q", what, err, want)
	}
}

func TestMain(m *testing.M) {
	account.Params = account.TestParams // hash in microseconds
	m.Run()
}
