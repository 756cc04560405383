package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// An instance's page shows its state, expiry and addresses once active;
// renewal, unsubscription and change of spec through its forms move the
// money order says; a repeat of a form acts once; a refusal keeps the form
// with the message; another buyer sees nothing of it.
func TestBuyerInstanceActions(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		sh := s.newShop(catalog.SaaS, storeSpecs)
		b := s.richBuyer(1_000_000)

		a := s.buy(b, sh.product, url.Values{"spec": {"basic"}, "periods": {"1"}})
		path := "/my/instances/" + a
		p := b.get(path)
		p.mustContain(t, http.StatusOK, "Thank you: order", "provisioning", "2027-01-01 09:00 UTC")
		if strings.Contains(p.Body, "/renew") || strings.Contains(p.Body, "https://seller.example/app") {
			t.Fatal("an instance still provisioning offers renewal or an address")
		}
		s.activate(a)
		p = b.get(path)
		p.mustContain(t, http.StatusOK, "active", "https://seller.example/app", "https://seller.example/admin",
			`action="`+path+`/renew"`, `action="`+path+`/change"`, `action="`+path+`/unsubscribe"`, "99.00 CNY")
		if got := s.cny(b); got != 1_000_000-9900 {
			t.Fatalf("balance %d after buying, want %d", got, 1_000_000-9900)
		}

		// Renew for two months, twice with the same key: paid once.
		key := keyOf(t, p, path+"/renew")
		form := url.Values{"key": {key}, "periods": {"2"}}
		if r := b.post(path+"/renew", form); r.Status != http.StatusSeeOther || r.Location != path {
			t.Fatalf("renew: %d to %q\n%s", r.Status, r.Location, r.Body)
		}
		b.get(path).mustContain(t, http.StatusOK, "Renewed: order", "198.00 CNY paid", "2027-03-01 09:00 UTC")
		b.post(path+"/renew", form)
		if got := s.cny(b); got != 1_000_000-9900-19800 {
			t.Fatalf("balance %d after renewing (twice with one key), want %d", got, 1_000_000-9900-19800)
		}

		// A refused renewal keeps what was typed.
		p = b.get(path)
		bad := b.post(path+"/renew", url.Values{"key": {keyOf(t, p, path+"/renew")}, "periods": {"500"}})
		bad.mustContain(t, http.StatusBadRequest, `class="error"`, "1 to 120", `value="500"`)

		// Another buyer: not found, and cannot act.
		other := s.richBuyer(1_000_000)
		other.get(path).mustContain(t, http.StatusNotFound)
		other.post(path+"/unsubscribe", url.Values{"key": {"k-other"}}).mustContain(t, http.StatusNotFound)

		// Unsubscribe: the confirmation states the unused part; at once, it
		// is all that was paid (the renewal has not begun).
		p = b.get(path)
		p.mustContain(t, http.StatusOK, "unused part", "297.00 CNY", "10000.00 CNY")
		if r := b.post(path+"/unsubscribe", url.Values{"key": {keyOf(t, p, path+"/unsubscribe")}, "confirm": {"yes"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("unsubscribe: %d\n%s", r.Status, r.Body)
		}
		b.get(path).mustContain(t, http.StatusOK, "Unsubscribed: 297.00 CNY", "released")
		if got := s.cny(b); got != 1_000_000 {
			t.Fatalf("balance %d after unsubscribing, want all of it back", got)
		}
		// Released: nothing to renew; a form posted anyway says why.
		b.post(path+"/renew", url.Values{"key": {"late"}, "periods": {"1"}}).mustContain(t, http.StatusConflict, "released")

		// Change of spec: Basic → Plus for the month paid costs the
		// difference now.
		c := s.buy(b, sh.product, url.Values{"spec": {"basic"}})
		s.activate(c)
		cpath := "/my/instances/" + c
		p = b.get(cpath)
		p.mustContain(t, http.StatusOK, `<option value="plus"`, "(pay 100.00 CNY now)") // the price shown is the price paid below
		if strings.Contains(p.Body, `<option value="basic"`) {
			t.Fatal("the instance's own spec, not sold by quantity, is offered as a change")
		}
		if strings.Contains(p.Body, `<option value="pro"`) {
			t.Fatal("a yearly spec is offered for a monthly instance")
		}
		before := s.cny(b)
		if r := b.post(cpath+"/change", url.Values{"key": {keyOf(t, p, cpath+"/change")}, "spec": {"plus"}, "quantity": {"1"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("change: %d\n%s", r.Status, r.Body)
		}
		b.get(cpath).mustContain(t, http.StatusOK, "Change requested", "100.00 CNY was paid", "Change pending")
		if got := s.cny(b); got != before-10000 {
			t.Fatalf("balance %d after upgrading, want %d", got, before-10000)
		}
		// One change at a time: the refusal is shown with the form as sent.
		p = b.get(cpath)
		r := b.post(cpath+"/unsubscribe", url.Values{"key": {keyOf(t, p, cpath+"/unsubscribe")}})
		r.mustContain(t, http.StatusConflict, "waiting for the seller")

		// A trial converts to a formal purchase.
		tr := s.buy(b, sh.product, url.Values{"spec": {"basic"}, "trial": {"1"}})
		s.activate(tr)
		tpath := "/my/instances/" + tr
		p = b.get(tpath)
		p.mustContain(t, http.StatusOK, "free trial", `action="`+tpath+`/convert"`)
		before = s.cny(b)
		if r := b.post(tpath+"/convert", url.Values{"key": {keyOf(t, p, tpath+"/convert")}, "periods": {"3"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("convert: %d\n%s", r.Status, r.Body)
		}
		b.get(tpath).mustContain(t, http.StatusOK, "now a formal purchase", "297.00 CNY paid")
		if got := s.cny(b); got != before-29700 {
			t.Fatalf("balance %d after converting, want %d", got, before-29700)
		}
		checkLedger(t, db)
	})
}

// My orders and my instances list newest first, 25 a page, with a pager;
// an order's page shows its lines; the balance page shows the balance and
// its history (the top-up, the payment), paged, and only the visitor's.
func TestBuyerListsAndBalance(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		s := newSite(t, db)
		sh := s.newShop(catalog.SaaS, storeSpecs)
		b := s.richBuyer(1_000_000)

		b.get("/my/orders").mustContain(t, http.StatusOK, "You have no orders yet")
		b.get("/my/instances").mustContain(t, http.StatusOK, "You have no instances yet")

		first := s.buy(b, sh.product, url.Values{"spec": {"basic"}})
		for i := range 27 {
			clock.Advance(time.Minute)
			if _, err := order.Purchase(t.Context(), db, s.engine, b.User.Actor(), order.PurchaseRequest{ProductID: sh.product, SpecCode: "basic",
				IdempotencyKey: "bulk-" + string(rune('a'+i))}); err != nil {
				t.Fatal(err)
			}
		}

		p := b.get("/my/orders")
		p.mustContain(t, http.StatusOK, "Souk Notes", "99.00 CNY", "NEW", "paid", "Next page »")
		if n := strings.Count(p.Body, `<td><a href="/my/orders/`); n != 25 {
			t.Fatalf("%d orders on the first page, want 25", n)
		}
		next := pagerLink(t, p, "Next page »")
		p2 := b.get(next)
		p2.mustContain(t, http.StatusOK, "« First page")
		if n := strings.Count(p2.Body, `<td><a href="/my/orders/`); n != 3 {
			t.Fatalf("%d orders on the second page, want 3", n)
		}
		if strings.Contains(p2.Body, "Next page »") {
			t.Fatal("the last page has a next page")
		}

		p = b.get("/my/instances")
		p.mustContain(t, http.StatusOK, "provisioning", "2027-01-01 09:27 UTC", "Next page »")
		if n := strings.Count(p.Body, `<td><a href="/my/instances/`); n != 25 {
			t.Fatalf("%d instances on the first page, want 25", n)
		}
		p2 = b.get(pagerLink(t, p, "Next page »"))
		if n := strings.Count(p2.Body, `<td><a href="/my/instances/`); n != 3 || !strings.Contains(p2.Body, first) {
			t.Fatalf("%d instances on the second page, want 3 with the first bought", n)
		}

		os := myOrders(t, s, b)
		o := os[len(os)-1]
		b.get("/my/orders/"+o.ID).mustContain(t, http.StatusOK, o.ID, "Souk Notes", "basic", "99.00 CNY", "/my/instances/"+first)
		other := s.richBuyer(0)
		other.get("/my/orders/"+o.ID).mustContain(t, http.StatusNotFound)
		other.get("/my/orders?before="+o.ID).mustContain(t, http.StatusBadRequest)

		// Balance: what is left, the top-up and the 28 payments, paged.
		p = b.get("/my/balance")
		p.mustContain(t, http.StatusOK, "7228.00 CNY", "-99.00 CNY", "Payment for NEW order", "/my/orders/", "Next page »")
		p2 = b.get(pagerLink(t, p, "Next page »"))
		p2.mustContain(t, http.StatusOK, "Top-up of 10000.00 CNY", "+10000.00 CNY", "« First page")
		other.get("/my/balance").mustContain(t, http.StatusOK, "Your balance is empty", "Nothing has moved yet")
		b.get("/my/balance?before=x").mustContain(t, http.StatusBadRequest)

		if p := s.anonymous().get("/my/orders"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
			t.Fatalf("anonymous /my/orders: %d to %q", p.Status, p.Location)
		}
		checkLedger(t, db)
	})
}

// pagerLink returns the address of the pager's link labelled label.
func pagerLink(t *testing.T, p page, label string) string {
	t.Helper()
	i := strings.Index(p.Body, `">`+label)
	if i < 0 {
		t.Fatalf("no %q link:\n%s", label, p.Body)
	}
	j := strings.LastIndex(p.Body[:i], `href="`)
	return strings.ReplaceAll(p.Body[j+len(`href="`):i], "&amp;", "&")
}

// A licence instance shows its codes, one per unit, at once.
func TestBuyerLicenceCodes(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		sh := s.newShop(catalog.License, []catalog.Spec{{Code: "seat", Name: "Seat", Charging: catalog.ChargePeriod, Period: catalog.Year,
			Price: catalog.Price{Amount: 1000, Currency: "CNY"}, Quantity: &catalog.LinearQuantity{Unit: "seats", Min: 1, Max: 10, Step: 1}}})
		b := s.richBuyer(100_000)
		id := s.buy(b, sh.product, url.Values{"spec": {"seat"}, "quantity": {"3"}})
		p := b.get("/my/instances/" + id)
		p.mustContain(t, http.StatusOK, "Licence codes", "active", "issued")
		if n := strings.Count(p.Body, "<code>"); n != 3 {
			t.Fatalf("%d licence codes shown, want 3", n)
		}
		if strings.Contains(p.Body, "/change\"") {
			t.Fatal("a licence instance offers a change of spec")
		}
		if got := s.cny(b); got != 100_000-3000 {
			t.Fatalf("balance %d, want %d", got, 100_000-3000)
		}
	})
}

// An instance past its expiry is frozen until the end of its grace
// period, which its page says; renewing it then pays from now and makes it
// active again.
func TestBuyerFrozenInstance(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		s := newSite(t, db)
		sh := s.newShop(catalog.SaaS, storeSpecs)
		b := s.richBuyer(100_000)
		id := s.buy(b, sh.product, url.Values{"spec": {"basic"}})
		s.activate(id)
		clock.Set(t0.AddDate(0, 1, 1))
		if _, err := order.Sweep(t.Context(), db, s.engine, order.SweepConfig{}); err != nil {
			t.Fatal(err)
		}
		// A month later the session has ended: log in again.
		b.post("/login", url.Values{"email": {b.User.Email}, "password": {password}})
		path := "/my/instances/" + id
		p := b.get(path)
		p.mustContain(t, http.StatusOK, "frozen", "Frozen until", "2027-01-16 09:00 UTC", "from now")
		b.get("/my/instances").mustContain(t, http.StatusOK, "frozen", "until 2027-01-16 09:00 UTC")
		if r := b.post(path+"/renew", url.Values{"key": {keyOf(t, p, path+"/renew")}, "periods": {"1"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("renew a frozen instance: %d\n%s", r.Status, r.Body)
		}
		b.get(path).mustContain(t, http.StatusOK, "active", "2027-02-02 09:00 UTC")
		if got := s.cny(b); got != 100_000-2*9900 {
			t.Fatalf("balance %d, want %d", got, 100_000-2*9900)
		}
		checkLedger(t, db)
	})
}

// Pay-per-use charges not yet billed are shown on the balance page, so a
// buyer whose balance ran short sees what it owes.
func TestBalanceShowsUsageOwed(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		b := s.newUser(souk.RoleBuyer, "")
		b.get("/my/balance").mustContain(t, http.StatusOK, "Balance")
		if p := b.get("/my/balance"); strings.Contains(p.Body, "waiting to be taken") {
			t.Fatal("a buyer owing nothing is told of charges waiting")
		}
		// An owed charge, as usage.Push leaves one a balance cannot cover.
		if _, err := db.SQL().Exec(`INSERT INTO usage_records (seller_id, metering_sn, instance_id, buyer_id, product_id, spec_code,
			begin_at, end_at, quantity, unit_price, currency, charge, created_at) VALUES ('s1', 'sn-1', 'i1', $1, 'p1', 'calls', 0, 1, 10000, 5, 'CNY', 1234, 0)`,
			b.User.ID); err != nil {
			t.Fatal(err)
		}
		b.get("/my/balance").mustContain(t, http.StatusOK, "waiting to be taken from your balance", "12.34 CNY")
	})
}
