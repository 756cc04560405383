package sellerapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/sellerkit"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

var (
	ctx      = context.Background()
	t0       = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	operator = souk.Actor{UserID: "op-1", Role: souk.RoleOperator}
	serial   atomic.Int64
)

func next() int64 { return serial.Add(1) }

// env is one engine's marketplace with a certified seller whose product
// has a pay-per-use spec "meter" (1.50 CNY a unit), a free one "free" and
// a monthly one "basic".
type env struct {
	db      *store.DB
	clock   *souk.FakeClock
	set     catalog.Settings
	seller  souk.Actor
	product string
	// licence is a licence product of seller's, spec "seat" by the seat.
	licence string
	// url is the open API's server; cred the seller's credential.
	url  string
	cred sellerapi.NewCredential
}

// each runs fn once per engine with a fresh marketplace, and checks the
// ledger invariant after it.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		keys, err := catalog.NewKeyring(bytes.Repeat([]byte{7}, 32))
		must(t, err)
		e := &env{db: db, clock: clock, set: catalog.Settings{Keys: keys, AllowPrivateURLs: true}}
		e.seller = e.newSeller(t)
		e.product = e.newProduct(t, e.seller)
		e.licence = e.newLicenceProduct(t, e.seller)
		srv := httptest.NewServer(sellerapi.NewHandler(sellerapi.Config{DB: db, Keys: keys, Logger: slog.New(slog.DiscardHandler)}))
		t.Cleanup(srv.Close)
		e.url = srv.URL
		e.cred, err = sellerapi.CreateCredential(ctx, db, keys, e.seller, "tests")
		must(t, err)
		fn(t, e)
		if err := settle.CheckInvariant(ctx, db); err != nil {
			t.Fatalf("ledger invariant: %v", err)
		}
	})
}

// newSeller returns a member of a new certified seller.
func (e *env) newSeller(t *testing.T) souk.Actor {
	t.Helper()
	n := next()
	applicant := souk.Actor{UserID: fmt.Sprintf("seller-user-%d", n), Role: souk.RoleBuyer}
	id, err := catalog.Apply(ctx, e.db, applicant, catalog.JoinApplication{
		CompanyName: fmt.Sprintf("Meters %d Ltd", n), RegistrationNumber: fmt.Sprintf("91310000MB%08d", n),
		ContactName: "Li Lei", ContactEmail: "sales@meters.example", ContactPhone: "+86 21 5555 0100",
	})
	must(t, err)
	member := souk.Actor{UserID: applicant.UserID, Role: souk.RoleSeller, SellerID: id}
	must(t, catalog.ApproveSeller(ctx, e.db, operator, id))
	cert, err := catalog.SubmitCertification(ctx, e.db, member, catalog.Certification{
		AccountHolder: "Meters Ltd", Bank: "Bank of Example", AccountNumber: "6222 0210 0112 3456 789",
		TaxRegistration: "91310000MA1FL0000X", TaxRate: 600})
	must(t, err)
	must(t, catalog.ApproveCertification(ctx, e.db, operator, cert))
	return member
}

// newProduct lists a SaaS product of seller's.
func (e *env) newProduct(t *testing.T, seller souk.Actor) string {
	t.Helper()
	np, err := catalog.CreateProduct(ctx, e.db, e.set, seller, catalog.Product{
		Type: catalog.SaaS, Name: "Metered", Description: "Billed by use.", ProductionURL: "https://seller.example/produce", Public: true,
		Specs: []catalog.Spec{
			{Code: "meter", Name: "Per call", Charging: catalog.ChargeOnDemand, Price: catalog.Price{Amount: 150, Currency: "CNY"}},
			{Code: "free", Name: "Free", Charging: catalog.ChargeOnDemand, Price: catalog.Price{Amount: 0, Currency: "CNY"}},
			{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}},
		},
	})
	must(t, err)
	must(t, catalog.SubmitApplication(ctx, e.db, e.set, seller, np.ApplicationID))
	must(t, catalog.ApproveApplication(ctx, e.db, operator, np.ApplicationID))
	return np.ProductID
}

// newLicenceProduct lists a licence product of seller's.
func (e *env) newLicenceProduct(t *testing.T, seller souk.Actor) string {
	t.Helper()
	np, err := catalog.CreateProduct(ctx, e.db, e.set, seller, catalog.Product{
		Type: catalog.License, Name: "Licensed", Description: "Codes for the desktop app.", Public: true,
		Specs: []catalog.Spec{{Code: "seat", Name: "Seat", Charging: catalog.ChargePeriod, Period: catalog.Month,
			Price: catalog.Price{Amount: 5000, Currency: "CNY"}, Quantity: &catalog.LinearQuantity{Unit: "seats", Min: 1, Max: 10, Step: 1}}},
	})
	must(t, err)
	must(t, catalog.SubmitApplication(ctx, e.db, e.set, seller, np.ApplicationID))
	must(t, catalog.ApproveApplication(ctx, e.db, operator, np.ApplicationID))
	return np.ProductID
}

// client is an open API client of credential c, on the marketplace's
// clock.
func (e *env) client(c sellerapi.NewCredential) *sellerkit.OpenAPIClient {
	return &sellerkit.OpenAPIClient{BaseURL: e.url, KeyID: c.KeyID, Secret: c.Secret, Now: e.clock.Now}
}

// buyer returns a new buyer with balance topped up (none if zero).
func (e *env) buyer(t *testing.T, balance int64) souk.Actor {
	t.Helper()
	u, err := account.Register(ctx, e.db, account.Registration{Email: fmt.Sprintf("buyer-%d@example.com", next()), Name: "Buyer", Password: "a long buyer password"})
	must(t, err)
	b := u.Actor()
	if balance > 0 {
		e.topUp(t, b, balance)
	}
	return b
}

func (e *env) topUp(t *testing.T, b souk.Actor, amount int64) {
	t.Helper()
	if _, err := settle.TopUp(ctx, e.db, operator, b.UserID, settle.M(amount, "CNY")); err != nil {
		t.Fatal(err)
	}
}

func (e *env) balance(t *testing.T, account string) int64 {
	t.Helper()
	b, err := settle.Balance(ctx, e.db.SQL(), account, "CNY")
	must(t, err)
	return b
}

// noCalls stands in for the delivery engine: the calls a purchase
// enqueues are not the subject here.
type noCalls struct{}

func (noCalls) Enqueue(context.Context, *store.Tx, delivery.NewCall) (int64, error) { return 0, nil }

// bought buys spec of product for b and activates the instance as if its
// seller had answered newInstance with sellerInstanceID; it returns the
// marketplace's instance id.
func (e *env) bought(t *testing.T, b souk.Actor, product, spec, sellerInstanceID string) string {
	t.Helper()
	o, err := order.Purchase(ctx, e.db, noCalls{}, b, order.PurchaseRequest{ProductID: product, SpecCode: spec})
	must(t, err)
	id := o.Lines[0].InstanceID
	body, err := json.Marshal(protocol.NewInstanceResponse{Result: protocol.Result{ResultCode: "000000", ResultMsg: "success"},
		InstanceID: sellerInstanceID, AppInfo: &protocol.AppInfo{FrontEndURL: "https://seller.example/app", AdminURL: "https://seller.example/admin"}})
	must(t, err)
	must(t, e.db.Tx(ctx, func(tx *store.Tx) error {
		return order.Hooks().Succeeded(ctx, tx, &delivery.Call{Activity: protocol.NewInstance, Key: id},
			&protocol.Outcome{Kind: protocol.OutcomeSuccess, Activity: protocol.NewInstance, ResponseBody: body})
	}))
	return id
}

func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	must(t, e.db.SQL().QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
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
