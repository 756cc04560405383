package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// The dashboard shows each seller's success rate, latency and backlog,
// with a chart, and the review queues' counts; only to operators.
func TestOpsDashboard(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		bad, good := s.newSeller(failAnswer), s.newSeller(okAnswer)
		s.enqueue(bad, protocol.UpdateInstanceStatus, 2)
		s.enqueue(good, protocol.UpdateInstanceStatus, 3)
		s.run()
		s.enqueue(good, protocol.ReleaseInstance, 1) // waiting
		op := s.newUser(souk.RoleOperator, "")

		p := op.get("/ops")
		p.mustContain(t, http.StatusOK, "<svg", `class="chart"`, "<rect", bad.Company, good.Company,
			"0.0 %", "100.0 %", "1 waiting", `href="/ops/review#sellers"`, `class="table-wrap"`)
		if strings.Contains(p.Body, "<script") {
			t.Fatal("the dashboard has a script")
		}
		op.get("/ops?hours=1").mustContain(t, http.StatusOK, bad.Company, `<option value="1" selected>`)
		op.get("/ops?hours=lots").mustContain(t, http.StatusBadRequest, "hours: want a number")
		for _, u := range []*browser{s.newUser(souk.RoleSeller, good.ID), s.newUser(souk.RoleBuyer, "")} {
			for _, path := range []string{"/ops", "/ops/review"} {
				if p := u.get(path); p.Status != http.StatusForbidden {
					t.Fatalf("a %s on %s = %d, want 403", u.User.Role, path, p.Status)
				}
			}
		}
	})
}

// The review queues show pending sellers, certifications and submitted
// applications; each is approved, or rejected with a reason, through its
// form; a reject without a reason is refused and the form kept.
func TestReviewQueuesApproveAndReject(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		ctx := context.Background()
		op := s.newUser(souk.RoleOperator, "")

		// Two sellers applying, one certification and one application
		// waiting.
		apply := func(name string) string {
			n := unique()
			id, err := catalog.Apply(ctx, db, souk.Actor{UserID: fmt.Sprintf("applicant-%d", n), Role: souk.RoleBuyer},
				catalog.JoinApplication{CompanyName: name, RegistrationNumber: fmt.Sprintf("91310000MC%08d", n),
					ContactName: "Han Meimei", ContactEmail: "hi@apply.example", ContactPhone: "+86 10 5555 0199"})
			must(t, err)
			return id
		}
		joinA, joinB := apply("Joining A Ltd"), apply("Joining B Ltd")
		certified := s.newSeller(okAnswer)
		cert, err := catalog.SubmitCertification(ctx, db, certified.Actor, catalog.Certification{AccountHolder: "New Holder",
			Bank: "Bank of Review", AccountNumber: "6222 0210 0112 9999 000", TaxRegistration: "91310000MA1FL0000X", TaxRate: 900})
		must(t, err)
		np, err := catalog.CreateProduct(ctx, db, s.set, certified.Actor, catalog.Product{Type: catalog.SaaS, Name: "Review Me",
			Description: "A product to review.", ProductionURL: "http://127.0.0.1:1/produce", Public: true,
			Specs: []catalog.Spec{{Code: "pro", Name: "Pro", Charging: catalog.ChargePeriod, Period: catalog.Year,
				Price: catalog.Price{Amount: 120000, Currency: "CNY"}, TrialDays: 14}}})
		must(t, err)
		must(t, catalog.SubmitApplication(ctx, db, s.set, certified.Actor, np.ApplicationID))
		app := fmt.Sprint(np.ApplicationID)

		op.get("/ops").mustContain(t, http.StatusOK, `href="/ops/review#applications"`)
		op.get("/ops/review").mustContain(t, http.StatusOK, "Joining A Ltd", "Joining B Ltd", "New Holder", "9 %",
			"Review Me", `action="/ops/review/sellers/`+joinA+`/reject"`,
			fmt.Sprintf(`action="/ops/review/certifications/%d/approve"`, cert), `href="/ops/review/applications/`+app+`"`)

		// Reject without a reason: refused, the queue shown again.
		op.post("/ops/review/sellers/"+joinB+"/reject", url.Values{"reason": {"  "}}).
			mustContain(t, http.StatusBadRequest, `class="error"`, "must say why", "Joining B Ltd")
		long := strings.Repeat("too long ", 250)
		op.post("/ops/review/sellers/"+joinB+"/reject", url.Values{"reason": {long}}).
			mustContain(t, http.StatusBadRequest, `class="error"`, long)
		sellerState := func(id string) catalog.State {
			sl, err := catalog.GetSeller(ctx, db, system, id)
			must(t, err)
			return sl.State
		}
		if st := sellerState(joinB); st != catalog.Pending {
			t.Fatalf("after refused rejects the seller is %s", st)
		}

		p := op.post("/ops/review/sellers/"+joinA+"/approve", nil)
		if p.Status != http.StatusSeeOther || p.Location != "/ops/review" {
			t.Fatalf("approve seller = %d to %q\n%s", p.Status, p.Location, p.Body)
		}
		p = op.post("/ops/review/sellers/"+joinB+"/reject", url.Values{"reason": {"Registration number does not match."}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("reject seller = %d\n%s", p.Status, p.Body)
		}
		if a, b := sellerState(joinA), sellerState(joinB); a != catalog.Approved || b != catalog.Rejected {
			t.Fatalf("sellers: %s, %s", a, b)
		}
		// Deciding again: the queue says why, above it.
		op.post("/ops/review/sellers/"+joinA+"/reject", url.Values{"reason": {"changed my mind"}}).
			mustContain(t, http.StatusConflict, `class="error"`, "only a pending application")

		if p := op.post(fmt.Sprintf("/ops/review/certifications/%d/reject", cert), url.Values{"reason": {"Bank account holder differs."}}); p.Status != http.StatusSeeOther {
			t.Fatalf("reject certification = %d\n%s", p.Status, p.Body)
		}
		cs, err := catalog.Certifications(ctx, db, system, certified.ID)
		must(t, err)
		for _, c := range cs {
			if c.ID == cert && (c.State != catalog.Rejected || c.Reason != "Bank account holder differs.") {
				t.Fatalf("certification = %+v", c)
			}
		}

		// The application's page: its product record before deciding.
		op.get("/ops/review/applications/"+app).mustContain(t, http.StatusOK, "Review Me", "http://127.0.0.1:1/produce",
			"<code>pro</code>", "14 days", `name="from" value="application"`, "No decision yet")
		op.post("/ops/review/applications/"+app+"/reject", url.Values{"reason": {""}, "from": {"application"}}).
			mustContain(t, http.StatusBadRequest, `class="error"`, "must say why", "http://127.0.0.1:1/produce")
		if p := op.post("/ops/review/applications/"+app+"/reject", url.Values{"reason": {"Trial too long."}, "from": {"application"}}); p.Status != http.StatusSeeOther {
			t.Fatalf("reject application = %d\n%s", p.Status, p.Body)
		}
		op.get("/ops/review/applications/"+app).mustContain(t, http.StatusOK, "rejected", "Trial too long.")
		op.get("/ops/review").mustContain(t, http.StatusOK, "No seller is waiting", "No certification is waiting", "No application is waiting")

		// Not an operator: the catalog refuses.
		m := s.newUser(souk.RoleSeller, certified.ID)
		if p := m.get("/ops/review/applications/" + app); p.Status != http.StatusForbidden {
			t.Fatalf("a seller on the review page = %d, want 403", p.Status)
		}
		if p := m.post("/ops/review/sellers/"+joinB+"/approve", nil); p.Status != http.StatusForbidden {
			t.Fatalf("a seller approving = %d, want 403", p.Status)
		}
		if p := op.get("/ops/review/applications/999999"); p.Status != http.StatusNotFound {
			t.Fatalf("no such application = %d, want 404", p.Status)
		}
	})
}

// The operator tops a buyer up by e-mail with an exact decimal amount; a
// mistyped e-mail or amount keeps the form and moves no money.
func TestOpsTopUp(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		op := s.newUser(souk.RoleOperator, "")
		buyer := s.newUser(souk.RoleBuyer, "")
		form := op.get("/ops/top-up")
		form.mustContain(t, http.StatusOK, `name="email"`, `value="CNY"`, `name="key"`)
		p := op.post("/ops/top-up", url.Values{"email": {"nobody@example.com"}, "amount": {"12.34"}, "currency": {"CNY"}})
		p.mustContain(t, http.StatusNotFound, `value="nobody@example.com"`, `value="12.34"`)
		p = op.post("/ops/top-up", url.Values{"email": {buyer.User.Email}, "amount": {"12.345"}, "currency": {"CNY"}})
		p.mustContain(t, http.StatusBadRequest, "more than 2 decimals", `value="12.345"`)
		for range 2 { // a double submit of one form tops up once
			if p := op.post("/ops/top-up", url.Values{"email": {strings.ToUpper(buyer.User.Email)}, "amount": {"12.34"}, "currency": {"cny"}, "key": {"form-1"}}); p.Status != http.StatusSeeOther {
				t.Fatalf("top-up: %d\n%s", p.Status, p.Body)
			}
		}
		op.get("/ops/top-up").mustContain(t, http.StatusOK, "This top-up of 12.34 CNY for "+buyer.User.Email+" was made already.")
		if b, _ := settle.Balance(t.Context(), db.SQL(), settle.BuyerBalance(buyer.User.ID), "CNY"); b != 1234 {
			t.Fatalf("balance = %d, want 1234", b)
		}
		if err := settle.CheckInvariant(t.Context(), db); err != nil {
			t.Fatal(err)
		}
	})
}
