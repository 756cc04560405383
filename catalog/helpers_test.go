package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// env is one engine's database with the settings and people tests use.
type env struct {
	db       *store.DB
	clock    *souk.FakeClock
	set      catalog.Settings
	operator souk.Actor
}

var ctx = context.Background()

// each runs fn once per engine with a fresh database.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Parallel() // each test has its own databases
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0) // the engines share the clock: each starts at t0
		keys, err := catalog.NewKeyring(bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		fn(t, &env{
			db:       db,
			clock:    clock,
			set:      catalog.Settings{Keys: keys},
			operator: souk.Actor{UserID: "op-1", Role: souk.RoleOperator},
		})
	})
}

var serial atomic.Int64

func next() int64 { return serial.Add(1) }

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

// wantCode fails the test unless err has code want ("" for nil).
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := souk.ErrorCode(err); got != want {
		t.Fatalf("%s = %v, want code %q", what, err, want)
	}
}

func buyer() souk.Actor {
	return souk.Actor{UserID: fmt.Sprintf("buyer-%d", next()), Role: souk.RoleBuyer}
}

func joinApplication() catalog.JoinApplication {
	n := next()
	return catalog.JoinApplication{
		CompanyName:        fmt.Sprintf("Acme %d Ltd", n),
		RegistrationNumber: fmt.Sprintf("91310000MA%08d", n),
		ContactName:        "Li Lei",
		ContactEmail:       "sales@acme.example",
		ContactPhone:       "+86 21 5555 0100",
	}
}

func certification() catalog.Certification {
	return catalog.Certification{
		AccountHolder: "Acme Ltd", Bank: "Bank of Example", AccountNumber: "6222 0210 0112 3456 789",
		TaxRegistration: "91310000MA1FL0000X", TaxRate: 600,
	}
}

// Seller stages for newSeller.
const (
	pendingSeller = iota
	approvedSeller
	certifiedSeller
)

// newSeller returns a member of a new seller at the given stage.
func (e *env) newSeller(t *testing.T, stage int) souk.Actor {
	t.Helper()
	applicant := buyer()
	id := mustValue[string](t)(catalog.Apply(ctx, e.db, applicant, joinApplication()))
	member := souk.Actor{UserID: applicant.UserID, Role: souk.RoleSeller, SellerID: id}
	if stage >= approvedSeller {
		must(t, catalog.ApproveSeller(ctx, e.db, e.operator, id))
	}
	if stage >= certifiedSeller {
		cert := mustValue[int64](t)(catalog.SubmitCertification(ctx, e.db, member, certification()))
		must(t, catalog.ApproveCertification(ctx, e.db, e.operator, cert))
	}
	return member
}

// product returns a valid SaaS product with two monthly/yearly specs.
func product() catalog.Product {
	return catalog.Product{
		Type:          catalog.SaaS,
		Name:          "Ledger Cloud",
		Description:   "Bookkeeping for small firms.",
		ProductionURL: "https://isv.example.com/produce",
		Public:        true,
		Specs: []catalog.Spec{
			{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}},
			{Code: "pro", Name: "Pro", Charging: catalog.ChargePeriod, Period: catalog.Year, Price: catalog.Price{Amount: 99000, Currency: "CNY"}, TrialDays: 7,
				Quantity: &catalog.LinearQuantity{Unit: "users", Min: 5, Max: 100, Step: 5}},
		},
	}
}

// listed creates p for seller and has it approved; it returns the
// product's id.
func (e *env) listed(t *testing.T, seller souk.Actor, p catalog.Product) string {
	t.Helper()
	np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, seller, p))
	must(t, catalog.SubmitApplication(ctx, e.db, e.set, seller, np.ApplicationID))
	must(t, catalog.ApproveApplication(ctx, e.db, e.operator, np.ApplicationID))
	return np.ProductID
}

// application returns the id of a new publish application of seller (a
// certified one) brought to state.
func (e *env) application(t *testing.T, seller souk.Actor, state catalog.State) int64 {
	t.Helper()
	id := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, seller, product())).ApplicationID
	if state == catalog.Draft {
		return id
	}
	must(t, catalog.SubmitApplication(ctx, e.db, e.set, seller, id))
	switch state {
	case catalog.Approved:
		must(t, catalog.ApproveApplication(ctx, e.db, e.operator, id))
	case catalog.Rejected:
		must(t, catalog.RejectApplication(ctx, e.db, e.operator, id, "The description is too short."))
	case catalog.Withdrawn:
		must(t, catalog.WithdrawApplication(ctx, e.db, seller, id, ""))
	}
	return id
}

func (e *env) app(t *testing.T, id int64) catalog.Application {
	t.Helper()
	return mustValue[catalog.Application](t)(catalog.GetApplication(ctx, e.db, e.operator, id))
}

// fmtAll renders v whole, pointers followed, to search it for what must
// not be there.
func fmtAll(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}
