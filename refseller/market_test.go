package refseller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/api"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
	"github.com/souk-market/souk/usage"
)

// marketplace is a real one for the reference seller to call: its JSON API
// (with the open API) on 127.0.0.1, its delivery engine calling the seller,
// a product of the seller's with a pay-per-use spec "meter" (1.50 CNY a
// unit) and a monthly "basic", and a licence product.
type marketplace struct {
	t        *testing.T
	db       *store.DB
	clock    *souk.FakeClock
	engine   *delivery.Engine
	seller   souk.Actor
	product  string
	licence  string
	url      string // the marketplace's
	sellerAt string // the reference seller's
	set      catalog.Settings
	srv      *Server // the reference seller
	key      string  // its access key
}

var marketT0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func newMarketplace(t *testing.T, db *store.DB, clock *souk.FakeClock) *marketplace {
	t.Helper()
	ctx := context.Background()
	op := souk.Actor{UserID: "op-1", Role: souk.RoleOperator}
	keys, err := catalog.NewKeyring(bytes.Repeat([]byte{7}, 32))
	mustOK(t, err)
	set := catalog.Settings{Keys: keys, AllowPrivateURLs: true}
	m := &marketplace{t: t, db: db, clock: clock, set: set}

	applicant := souk.Actor{UserID: "seller-user", Role: souk.RoleBuyer}
	sellerID, err := catalog.Apply(ctx, db, applicant, catalog.JoinApplication{CompanyName: "Notes Ltd", RegistrationNumber: "91310000MA00000001",
		ContactName: "Li Lei", ContactEmail: "sales@notes.example", ContactPhone: "+86 21 5555 0100"})
	mustOK(t, err)
	m.seller = souk.Actor{UserID: applicant.UserID, Role: souk.RoleSeller, SellerID: sellerID}
	mustOK(t, catalog.ApproveSeller(ctx, db, op, sellerID))
	cert, err := catalog.SubmitCertification(ctx, db, m.seller, catalog.Certification{AccountHolder: "Notes Ltd", Bank: "Bank of Example",
		AccountNumber: "6222 0210 0112 3456 789", TaxRegistration: "91310000MA1FL0000X", TaxRate: 600})
	mustOK(t, err)
	mustOK(t, catalog.ApproveCertification(ctx, db, op, cert))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	mustOK(t, err)
	m.sellerAt = "http://" + ln.Addr().String()
	list := func(p catalog.Product) (string, string) {
		np, err := catalog.CreateProduct(ctx, db, set, m.seller, p)
		mustOK(t, err)
		mustOK(t, catalog.SubmitApplication(ctx, db, set, m.seller, np.ApplicationID))
		mustOK(t, catalog.ApproveApplication(ctx, db, op, np.ApplicationID))
		return np.ProductID, np.AccessKey
	}
	m.product, m.key = list(catalog.Product{Type: catalog.SaaS, Name: "Souk Notes", Description: "Notes for teams.",
		ProductionURL: m.sellerAt + "/produce", Public: true, Specs: []catalog.Spec{
			{Code: "meter", Name: "Per page", Charging: catalog.ChargeOnDemand, Price: catalog.Price{Amount: 150, Currency: "CNY"}},
			{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}},
		}})
	m.licence, _ = list(catalog.Product{Type: catalog.License, Name: "Souk Notes Desktop", Description: "The desktop app.", Public: true,
		Specs: []catalog.Spec{{Code: "seat", Name: "Seat", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 5000, Currency: "CNY"}}}})

	client := protocol.NewClient(protocol.Default, clock.Now, 2)
	quiet := slog.New(slog.DiscardHandler)
	m.engine = delivery.New(db, client, catalog.Targets{DB: db, Settings: set}, order.Hooks(), delivery.Config{Workers: 2, Logger: quiet})
	srv := httptest.NewServer(api.New(api.Config{DB: db, Logger: quiet, Catalog: set, Orders: m.engine}).Handler())
	m.url = srv.URL

	cred, err := sellerapi.CreateCredential(ctx, db, keys, m.seller, "reference seller")
	mustOK(t, err)
	s, err := New(Config{Addr: ln.Addr().String(), Key: m.key, DataDir: t.TempDir(), Logger: quiet, Now: clock.Now,
		Market: srv.URL, APIKey: cred.KeyID, APISecret: cred.Secret})
	mustOK(t, err)
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	m.srv = s
	go func() { served <- s.Serve(sctx, ln) }()
	t.Cleanup(func() { stop(); <-served; s.Close(); srv.Close(); client.HTTP.CloseIdleConnections() })
	return m
}

// drive delivers every call due, moving the clock to the next one, for a
// minute at most.
func (m *marketplace) drive() {
	t := m.t
	t.Helper()
	end := m.clock.Now().Add(time.Minute)
	for range 1000 {
		if _, err := m.engine.RunDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		at, ok, err := m.engine.NextDue(context.Background())
		mustOK(t, err)
		if !ok || at.After(end) {
			return
		}
		if at.After(m.clock.Now()) {
			m.clock.Set(at)
		}
	}
	t.Fatal("drive: calls never stopped coming due")
}

func (m *marketplace) buyer(balance int64) souk.Actor {
	t := m.t
	t.Helper()
	u, err := account.Register(context.Background(), m.db, account.Registration{Email: fmt.Sprintf("buyer-%d@example.com", time.Now().UnixNano()),
		Name: "Buyer", Password: "a long buyer password"})
	mustOK(t, err)
	if balance > 0 {
		_, err := settle.TopUp(context.Background(), m.db, souk.Actor{UserID: "op-1", Role: souk.RoleOperator}, u.ID, settle.M(balance, "CNY"))
		mustOK(t, err)
	}
	return u.Actor()
}

// buy buys spec of product for b and delivers the newInstance call.
func (m *marketplace) buy(b souk.Actor, product, spec string) order.Instance {
	t := m.t
	t.Helper()
	o, err := order.Purchase(context.Background(), m.db, m.engine, b, order.PurchaseRequest{ProductID: product, SpecCode: spec})
	mustOK(t, err)
	m.drive()
	in, err := order.GetInstance(context.Background(), m.db, b, o.Lines[0].InstanceID)
	mustOK(t, err)
	return in
}

// post sends body to the reference seller's path, with the control key
// when key is set, and decodes the JSON answer.
func (m *marketplace) post(path, key, body string) (int, map[string]string) {
	t := m.t
	t.Helper()
	req, err := http.NewRequest("POST", m.sellerAt+path, strings.NewReader(body))
	mustOK(t, err)
	if key != "" {
		req.Header.Set(HeaderControlKey, key)
	}
	resp, err := http.DefaultClient.Do(req)
	mustOK(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]string
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: %v: %s", path, err, raw)
	}
	return resp.StatusCode, out
}

// TestMarketOpenAPI runs the reference seller against a real marketplace:
// newInstance queries the order, usage is pushed and billed, a licence
// code is activated.
func TestMarketOpenAPI(t *testing.T) {
	account.Params = account.TestParams
	clock := souk.NewFakeClock(marketT0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(marketT0)
		m := newMarketplace(t, db, clock)
		ctx := context.Background()
		b := m.buyer(100000)

		meter := m.buy(b, m.product, "meter")
		if meter.State != order.Active || !strings.HasPrefix(meter.SellerInstanceID, "ins-") {
			t.Fatalf("pay-per-use instance = %+v, want active with the seller's id", meter)
		}
		basic := m.buy(b, m.product, "basic")
		// What the order query told the seller.
		s := m.srv.notes.db
		var product, sku, mode string
		mustOK(t, s.QueryRow(`SELECT product_id, sku_code, charging_mode FROM instances WHERE id = ?`, meter.SellerInstanceID).Scan(&product, &sku, &mode))
		if product != m.product || sku != "meter" || mode != "ON_DEMAND" {
			t.Fatalf("the seller's instance: product %q sku %q mode %q, want %s meter ON_DEMAND", product, sku, mode, m.product)
		}

		// Usage: pushed by the seller, counted once, billed.
		key := m.key
		clock.Advance(2 * time.Hour)
		st, res := m.post("/control/usage", key, `{"instanceId":"`+meter.SellerInstanceID+`","value":"2.5","meteringSn":"page-1"}`)
		if st != 200 || res["status"] != "new" {
			t.Fatalf("POST /control/usage = %d %v", st, res)
		}
		st, res = m.post("/control/usage", key, `{"instanceId":"`+meter.SellerInstanceID+`","value":"2.5","meteringSn":"page-1"}`)
		if st != 200 || res["status"] != "duplicate" {
			t.Fatalf("POST /control/usage again = %d %v, want a duplicate", st, res)
		}
		st, res = m.post("/control/usage", key, `{"instanceId":"`+meter.SellerInstanceID+`","value":"1"}`)
		if st != 200 || res["status"] != "new" || res["meteringSn"] == "" {
			t.Fatalf("POST /control/usage = %d %v", st, res)
		}
		if st, res = m.post("/control/usage", key, `{"instanceId":"`+basic.SellerInstanceID+`","value":"1"}`); st != http.StatusConflict {
			t.Fatalf("usage of a monthly instance = %d %v, want 409", st, res)
		}
		if st, res = m.post("/control/usage", key, `{"instanceId":"ins-nope","value":"1"}`); st != http.StatusNotFound {
			t.Fatalf("usage of an unknown instance = %d %v, want 404", st, res)
		}
		if st, res = m.post("/control/usage", key, `{"instanceId":"`+meter.SellerInstanceID+`","value":"1.00001"}`); st != http.StatusBadRequest || res["resultCode"] != "000002" {
			t.Fatalf("usage with 5 decimals = %d %v, want the marketplace's 400 000002", st, res)
		}
		if st, _ = m.post("/control/usage", "", `{"instanceId":"`+meter.SellerInstanceID+`","value":"1"}`); st != http.StatusForbidden {
			t.Fatalf("usage without the control key = %d, want 403", st)
		}
		rep, err := usage.Bill(ctx, db, clock.Now())
		mustOK(t, err)
		if rep.Billed != 2 {
			t.Fatalf("Bill = %+v, want the 2 records", rep)
		}
		bal, err := settle.Balance(ctx, db.SQL(), settle.BuyerBalance(b.UserID), "CNY")
		mustOK(t, err)
		if bal != 100000-9900-375-150 {
			t.Fatalf("balance = %d, want 100000 - 9900 - 375 - 150", bal)
		}

		// A licence code, activated by the seller's software.
		o, err := order.Purchase(ctx, db, m.engine, b, order.PurchaseRequest{ProductID: m.licence, SpecCode: "seat"})
		mustOK(t, err)
		codes, err := order.Licenses(ctx, db, b, o.Lines[0].InstanceID)
		mustOK(t, err)
		if st, res = m.post("/activate", "", `{"license":"`+strings.ToLower(codes[0].Code)+`"}`); st != 200 || res["resultCode"] != "92020000" {
			t.Fatalf("POST /activate = %d %v", st, res)
		}
		if st, res = m.post("/activate", "", `{"license":"`+codes[0].Code+`"}`); st != http.StatusConflict || res["resultCode"] != "92020003" {
			t.Fatalf("POST /activate again = %d %v, want 409 92020003", st, res)
		}
		if st, res = m.post("/activate", "", `{"license":"NOPE"}`); st != http.StatusNotFound || res["resultCode"] != "92020001" {
			t.Fatalf("POST /activate of an unknown code = %d %v, want 404 92020001", st, res)
		}
		var state string
		mustOK(t, s.QueryRow(`SELECT state FROM licences WHERE code = ?`, codes[0].Code).Scan(&state))
		if state != "active" {
			t.Fatalf("the seller's licence is %q, want active", state)
		}

		// newInstance for an order the marketplace does not have is refused;
		// a debug call is not checked.
		target, err := catalog.Targets{DB: db, Settings: m.set}.Target(ctx, m.seller.SellerID, m.product)
		mustOK(t, err)
		client := protocol.NewClient(protocol.Default, clock.Now, 1)
		out := client.Send(ctx, target, &protocol.NewInstanceRequest{BusinessID: "biz-x", OrderID: "ord-made-up", OrderLineID: "line-made-up"})
		if out.ResultCode != protocol.CodeInvalidParam {
			t.Fatalf("newInstance of a made-up order = %s %s %v, want 000002", out.Kind, out.ResultCode, out.Err)
		}
		out = client.Send(ctx, target, &protocol.NewInstanceRequest{BusinessID: "biz-y", OrderID: "ord-debug", OrderLineID: "line-debug", TestFlag: 1})
		if out.ResultCode != protocol.CodeSuccess {
			t.Fatalf("debug newInstance = %s %s %v, want 000000", out.Kind, out.ResultCode, out.Err)
		}
		if err := settle.CheckInvariant(ctx, db); err != nil {
			t.Fatal(err)
		}
	})
}

// TestMarketConfig: the marketplace's URL, key and secret go together, and
// without them the open API endpoints say the seller is not connected.
func TestMarketConfig(t *testing.T) {
	if _, err := New(Config{Key: testKey, DataDir: t.TempDir(), Market: "http://127.0.0.1:1"}); err == nil {
		t.Fatal("New with a market but no credential succeeded")
	}
	s := startSeller(t, t.TempDir(), Config{})
	for _, path := range []string{"/activate", "/control/usage"} {
		req, _ := http.NewRequest("POST", "http://"+s.addr+path, strings.NewReader(`{"license":"X","instanceId":"x","value":"1"}`))
		req.Header.Set(HeaderControlKey, testKey)
		resp, err := http.DefaultClient.Do(req)
		mustOK(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("POST %s without a marketplace = %s, want 503", path, resp.Status)
		}
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
