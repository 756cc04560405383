package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// The storefront's and buyer centre's fixtures: a certified seller with a
// listed SaaS product, buyers with a balance, and ways to read the forms'
// hidden fields and to activate an instance as its seller would.

// shop is a listed product of a certified seller.
type shop struct {
	product string
	seller  souk.Actor
}

// storeSpecs are the specs of the test product: monthly with a trial, a
// dearer monthly one, a yearly one by quantity, a one-time one, and one
// restricted to another buyer.
var storeSpecs = []catalog.Spec{
	{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}, TrialDays: 14},
	{Code: "plus", Name: "Plus", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 19900, Currency: "CNY"}},
	{Code: "pro", Name: "Pro", Charging: catalog.ChargePeriod, Period: catalog.Year, Price: catalog.Price{Amount: 99000, Currency: "CNY"},
		Quantity: &catalog.LinearQuantity{Unit: "users", Min: 5, Max: 100, Step: 5}},
	{Code: "once", Name: "Forever", Charging: catalog.ChargeOneTime, Price: catalog.Price{Amount: 50000, Currency: "CNY"}},
	{Code: "vip", Name: "VIP", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 100, Currency: "CNY"},
		AllowedBuyers: []string{"the-chosen-one"}},
}

// newShop certifies a seller and lists a product of kind with specs.
func (s *site) newShop(kind catalog.ProductType, specs []catalog.Spec) shop {
	t := s.t
	t.Helper()
	ctx := t.Context()
	n := unique()
	applicant := souk.Actor{UserID: fmt.Sprintf("shop-owner-%d", n), Role: souk.RoleBuyer}
	sellerID, err := catalog.Apply(ctx, s.db, applicant, catalog.JoinApplication{
		CompanyName: fmt.Sprintf("Notes %d Ltd", n), RegistrationNumber: fmt.Sprintf("91310000MA%08d", n),
		ContactName: "Li Lei", ContactEmail: "sales@notes.example", ContactPhone: "+86 21 5555 0100"})
	if err != nil {
		t.Fatal(err)
	}
	seller := souk.Actor{UserID: applicant.UserID, Role: souk.RoleSeller, SellerID: sellerID}
	if err := catalog.ApproveSeller(ctx, s.db, system, sellerID); err != nil {
		t.Fatal(err)
	}
	cert, err := catalog.SubmitCertification(ctx, s.db, seller, catalog.Certification{AccountHolder: "Notes Ltd", Bank: "Bank of Example",
		AccountNumber: "6222 0210 0112 3456 789", TaxRegistration: "91310000MA1FL0000X", TaxRate: 600})
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.ApproveCertification(ctx, s.db, system, cert); err != nil {
		t.Fatal(err)
	}
	p := catalog.Product{Type: kind, Name: "Souk Notes", Description: "Notes for teams, shared and searchable.",
		ProductionURL: "http://127.0.0.1:9/produce", Public: true, Specs: specs}
	np, err := catalog.CreateProduct(ctx, s.db, s.set, seller, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.SubmitApplication(ctx, s.db, s.set, seller, np.ApplicationID); err != nil {
		t.Fatal(err)
	}
	if err := catalog.ApproveApplication(ctx, s.db, system, np.ApplicationID); err != nil {
		t.Fatal(err)
	}
	return shop{product: np.ProductID, seller: seller}
}

// richBuyer returns a browser logged in as a new buyer whose balance was
// topped up with amount minor units of CNY (none if zero).
func (s *site) richBuyer(amount int64) *browser {
	s.t.Helper()
	b := s.newUser(souk.RoleBuyer, "")
	if amount > 0 {
		if _, err := settle.TopUp(s.t.Context(), s.db, system, b.User.ID, settle.M(amount, "CNY")); err != nil {
			s.t.Fatal(err)
		}
	}
	return b
}

// cny is buyer b's CNY balance.
func (s *site) cny(b *browser) int64 {
	s.t.Helper()
	n, err := settle.Balance(s.t.Context(), s.db.SQL(), settle.BuyerBalance(b.User.ID), "CNY")
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// activate has the seller's newInstance of instance id succeed, as the
// delivery engine would record it.
func (s *site) activate(id string) {
	s.t.Helper()
	body, err := json.Marshal(protocol.NewInstanceResponse{Result: protocol.Result{ResultCode: "000000", ResultMsg: "success"},
		InstanceID: "seller-" + id, AppInfo: &protocol.AppInfo{FrontEndURL: "https://seller.example/app", AdminURL: "https://seller.example/admin"}})
	if err != nil {
		s.t.Fatal(err)
	}
	err = s.db.Tx(s.t.Context(), func(tx *store.Tx) error {
		return order.Hooks().Succeeded(s.t.Context(), tx, &delivery.Call{Activity: protocol.NewInstance, Key: id},
			&protocol.Outcome{Kind: protocol.OutcomeSuccess, Activity: protocol.NewInstance, ResponseBody: body})
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

var keyField = regexp.MustCompile(`name="key" value="([^"]+)"`)

// keyOf returns the hidden idempotency key of the form posting to action
// on page p.
func keyOf(t *testing.T, p page, action string) string {
	t.Helper()
	i := strings.Index(p.Body, `action="`+action+`"`)
	if i < 0 {
		t.Fatalf("no form posts to %s:\n%s", action, p.Body)
	}
	m := keyField.FindStringSubmatch(p.Body[i:])
	if m == nil {
		t.Fatalf("the form posting to %s has no key:\n%s", action, p.Body)
	}
	return m[1]
}

// buy confirms and places a purchase through the pages, and returns the
// instance it went to.
func (s *site) buy(b *browser, product string, q url.Values) string {
	s.t.Helper()
	conf := b.get("/products/" + product + "/buy?" + q.Encode())
	conf.mustContain(s.t, http.StatusOK, "Balance after")
	q.Set("key", keyOf(s.t, conf, "/products/"+product+"/buy"))
	p := b.post("/products/"+product+"/buy", q)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/my/instances/") {
		s.t.Fatalf("buy: %d to %q\n%s", p.Status, p.Location, p.Body)
	}
	return strings.TrimPrefix(p.Location, "/my/instances/")
}

func myOrders(t *testing.T, s *site, b *browser) []order.Order {
	t.Helper()
	os, err := order.MyOrders(t.Context(), s.db, b.User.Actor(), order.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return os
}

// checkLedger fails t if the ledger's invariant does not hold.
func checkLedger(t *testing.T, db *store.DB) {
	t.Helper()
	if err := settle.CheckInvariant(t.Context(), db); err != nil {
		t.Fatal(err)
	}
}

// The product page shows every spec with its price and charging, its
// quantity range and trial; a buyer gets a buy form per spec they may buy,
// and for a restricted spec the refusal with the seller's contact instead.
func TestStorefrontProductPage(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		sh := s.newShop(catalog.SaaS, storeSpecs)
		path := "/products/" + sh.product

		anon := s.anonymous()
		p := anon.get(path)
		p.mustContain(t, http.StatusOK, "Souk Notes", "Notes for teams, shared and searchable.", "saas",
			"Basic", "99.00 CNY", "per month", "Plus", "199.00 CNY", "Pro", "990.00 CNY", "per year, per user", "5–100 users, in steps of 5",
			"Forever", "500.00 CNY", "one time", "14 days", "Log in to buy")
		if strings.Contains(p.Body, "Buy…") {
			t.Fatal("an anonymous visitor gets a buy form")
		}

		b := s.richBuyer(0)
		p = b.get(path)
		p.mustContain(t, http.StatusOK, `action="/products/`+sh.product+`/buy"`, "Buy…", "Try free for 14 days",
			`name="quantity" value="5" min="5" max="100" step="5"`, `name="periods" value="1" min="1" max="120"`,
			"This spec is sold only to authorised buyers", "contact the seller", "Li Lei", "sales@notes.example")
		if n := strings.Count(p.Body, "Buy…"); n != 4 {
			t.Fatalf("%d buy forms, want 4 (every spec but the restricted one)", n)
		}

		op := s.newUser(souk.RoleOperator, "")
		op.get(path).mustContain(t, http.StatusOK, "Only buyer accounts can buy")

		anon.get("/products/no-such-product").mustContain(t, http.StatusNotFound, "Not found")
	})
}

// The confirmation shows the price (order's rule), the balance and the
// balance after; posting its form twice buys once; a restricted spec, a
// bad quantity and too little balance show the domain's message with the
// form kept.
func TestStorefrontBuy(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		sh := s.newShop(catalog.SaaS, storeSpecs)
		buy := "/products/" + sh.product + "/buy"

		// Log-in first, then back to the confirmation.
		if p := s.anonymous().get(buy + "?spec=basic"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login?next=") {
			t.Fatalf("anonymous confirmation: %d to %q", p.Status, p.Location)
		}

		b := s.richBuyer(3_000_000)
		conf := b.get(buy + "?spec=pro&quantity=10&periods=2")
		conf.mustContain(t, http.StatusOK, "Confirm your purchase", "Pro", "10 users", "19800.00 CNY", "30000.00 CNY",
			"10200.00 CNY", "Pay 19800.00 CNY", "2028-12-01")
		key := keyOf(t, conf, buy)
		if again := keyOf(t, b.get(buy+"?spec=pro&quantity=10&periods=2"), buy); again == key {
			t.Fatal("two confirmations share an idempotency key")
		}

		form := url.Values{"key": {key}, "spec": {"pro"}, "quantity": {"10"}, "periods": {"2"}}
		first := b.post(buy, form)
		if first.Status != http.StatusSeeOther || !strings.HasPrefix(first.Location, "/my/instances/inst-") {
			t.Fatalf("buy: %d to %q\n%s", first.Status, first.Location, first.Body)
		}
		second := b.post(buy, form)
		if second.Status != http.StatusSeeOther || second.Location != first.Location {
			t.Fatalf("the repeat went %d to %q, want %q", second.Status, second.Location, first.Location)
		}
		b.get(second.Location).mustContain(t, http.StatusOK, "was placed already", "provisioning")
		if os := myOrders(t, s, b); len(os) != 1 {
			t.Fatalf("%d orders after a double submit, want 1", len(os))
		}
		if got := s.cny(b); got != 3_000_000-1_980_000 {
			t.Fatalf("balance %d after buying once, want %d", got, 3_000_000-1_980_000)
		}

		// Refusals: the confirmation says why and keeps what was typed.
		b.get(buy+"?spec=vip").mustContain(t, http.StatusForbidden, "sold only to authorised buyers", "Li Lei", "sales@notes.example")
		p := b.get(buy + "?spec=pro&quantity=7&periods=1")
		p.mustContain(t, http.StatusBadRequest, `class="error"`, `name="quantity" value="7"`)
		if strings.Contains(p.Body, "Pay ") {
			t.Fatal("a purchase that cannot be priced offers to pay")
		}
		b.get(buy+"?spec=basic&periods=abc").mustContain(t, http.StatusBadRequest, "not a whole number")

		poor := s.richBuyer(5000)
		conf = poor.get(buy + "?spec=basic&periods=3")
		conf.mustContain(t, http.StatusOK, "297.00 CNY", "50.00 CNY", "-247.00 CNY", "does not cover")
		key = keyOf(t, conf, buy)
		p = poor.post(buy, url.Values{"key": {key}, "spec": {"basic"}, "quantity": {""}, "periods": {"3"}})
		p.mustContain(t, http.StatusConflict, "Insufficient balance", `name="key" value="`+key+`"`, `name="spec" value="basic"`,
			`name="periods" value="3"`)
		if os := myOrders(t, s, poor); len(os) != 0 || s.cny(poor) != 5000 {
			t.Fatalf("a refused purchase left %d orders, balance %d", len(os), s.cny(poor))
		}

		// A free trial: nothing to pay.
		conf = poor.get(buy + "?spec=basic&trial=1")
		conf.mustContain(t, http.StatusOK, "Confirm your free trial", "0.00 CNY", "Start the free trial", "2026-12-15")
		inst := s.buy(poor, sh.product, url.Values{"spec": {"basic"}, "trial": {"1"}})
		poor.get("/my/instances/"+inst).mustContain(t, http.StatusOK, "free trial")
		if s.cny(poor) != 5000 {
			t.Fatalf("a trial cost %d", 5000-s.cny(poor))
		}
		checkLedger(t, db)
	})
}
