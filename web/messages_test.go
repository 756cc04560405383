package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// The fixtures of the message and operator console tests: sellers with a
// listed product whose production URL answers every call with a fixed
// body, and calls run to their end on the site's engine.

const (
	failAnswer = `{"resultCode":"000005","resultMsg":"database down"}`
	okAnswer   = `{"resultCode":"000000","resultMsg":"ok"}`
)

// seller is an approved, certified seller with one listed product.
type seller struct {
	ID, Company, Product string
	Actor                souk.Actor // its first member, as the domain sees it
}

// newSeller makes a seller whose product's production URL answers answer.
func (s *site) newSeller(answer string) seller {
	s.t.Helper()
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	s.t.Cleanup(srv.Close)
	n := unique()
	applicant := souk.Actor{UserID: fmt.Sprintf("applicant-%d", n), Role: souk.RoleBuyer}
	company := fmt.Sprintf("Vendor %d Ltd", n)
	id, err := catalog.Apply(ctx, s.db, applicant, catalog.JoinApplication{CompanyName: company,
		RegistrationNumber: fmt.Sprintf("91310000MB%08d", n), ContactName: "Li Lei",
		ContactEmail: "sales@vendor.example", ContactPhone: "+86 21 5555 0100"})
	must(s.t, err)
	must(s.t, catalog.ApproveSeller(ctx, s.db, system, id))
	member := souk.Actor{UserID: applicant.UserID, Role: souk.RoleSeller, SellerID: id}
	cert, err := catalog.SubmitCertification(ctx, s.db, member, catalog.Certification{AccountHolder: company,
		Bank: "Bank of Example", AccountNumber: "6222 0210 0112 3456 789", TaxRegistration: "91310000MA1FL0000X", TaxRate: 600})
	must(s.t, err)
	must(s.t, catalog.ApproveCertification(ctx, s.db, system, cert))
	np, err := catalog.CreateProduct(ctx, s.db, s.set, member, testProduct(srv.URL))
	must(s.t, err)
	must(s.t, catalog.SubmitApplication(ctx, s.db, s.set, member, np.ApplicationID))
	must(s.t, catalog.ApproveApplication(ctx, s.db, system, np.ApplicationID))
	return seller{ID: id, Company: company, Product: np.ProductID, Actor: member}
}

func testProduct(productionURL string) catalog.Product {
	return catalog.Product{Type: catalog.SaaS, Name: "Souk Notes", Description: "Notes for teams.",
		ProductionURL: productionURL, Public: true,
		Specs: []catalog.Spec{{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month,
			Price: catalog.Price{Amount: 9900, Currency: "CNY"}}}}
}

// enqueue records n calls of activity for sl's product, each of its own
// key, and returns their ids.
func (s *site) enqueue(sl seller, activity protocol.Activity, n int) []int64 {
	s.t.Helper()
	var ids []int64
	for range n {
		key := fmt.Sprintf("ins-%d", unique())
		var req protocol.Request = &protocol.UpdateInstanceStatusRequest{InstanceID: key, Status: protocol.StatusFreeze}
		if activity == protocol.ReleaseInstance {
			req = &protocol.ReleaseInstanceRequest{InstanceID: key}
		}
		err := s.db.Tx(context.Background(), func(tx *store.Tx) error {
			id, err := delivery.Enqueue(context.Background(), tx, delivery.NewCall{SellerID: sl.ID, ProductID: sl.Product,
				Key: key, Request: req, Policy: delivery.Once})
			ids = append(ids, id)
			return err
		})
		must(s.t, err)
	}
	return ids
}

// run sends every call due, once each (policy Once: a failure exhausts).
func (s *site) run() {
	s.t.Helper()
	if _, err := s.engine.RunDue(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rows counts the message links of a list page under base.
func rows(p page, base string) int {
	return len(regexp.MustCompile(`href="`+regexp.QuoteMeta(base)+`/\d+"`).FindAllString(p.Body, -1))
}

func link(base string, id int64) string { return fmt.Sprintf(`href="%s/%d"`, base, id) }

// A seller sees its own messages, each with its attempts' request,
// response and error; another seller's is not found; a buyer is refused;
// re-invoking needs a reason, is refused (reason kept) once the call is no
// longer exhausted, and makes the call pending, audited.
func TestMessagesSellerSeesOwnAndReinvokes(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		a, b := s.newSeller(failAnswer), s.newSeller(failAnswer)
		callA := s.enqueue(a, protocol.UpdateInstanceStatus, 1)[0]
		callB := s.enqueue(b, protocol.UpdateInstanceStatus, 1)[0]
		s.run()
		ma := s.newUser(souk.RoleSeller, a.ID)

		p := ma.get("/seller/messages")
		p.mustContain(t, http.StatusOK, link("/seller/messages", callA), "updateInstanceStatus", "exhausted", "000005", `class="table-wrap"`)
		if strings.Contains(p.Body, link("/seller/messages", callB)) {
			t.Fatal("a seller sees another seller's message")
		}
		p = ma.get(fmt.Sprintf("/seller/messages/%d", callA))
		p.mustContain(t, http.StatusOK, "Attempt 1", "database down", "000005", "&#34;status&#34;: &#34;FREEZE&#34;",
			`action="/seller/messages/`+strconv.FormatInt(callA, 10)+`/reinvoke"`, "Never re-invoked")
		if p := ma.get(fmt.Sprintf("/seller/messages/%d", callB)); p.Status != http.StatusNotFound {
			t.Fatalf("another seller's message = %d, want 404", p.Status)
		}
		if p := ma.post(fmt.Sprintf("/seller/messages/%d/reinvoke", callB), url.Values{"reason": {"mine now"}}); p.Status != http.StatusNotFound {
			t.Fatalf("re-invoking another seller's message = %d, want 404", p.Status)
		}
		buyer := s.newUser(souk.RoleBuyer, "")
		for _, path := range []string{"/seller/messages", "/ops/messages", fmt.Sprintf("/seller/messages/%d", callA)} {
			if p := buyer.get(path); p.Status != http.StatusForbidden {
				t.Fatalf("a buyer on %s = %d, want 403", path, p.Status)
			}
		}
		if p := s.anonymous().get("/seller/messages"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
			t.Fatalf("anonymous = %d to %q, want the log-in page", p.Status, p.Location)
		}

		path := fmt.Sprintf("/seller/messages/%d/reinvoke", callA)
		ma.post(path, url.Values{"reason": {"  "}}).mustContain(t, http.StatusBadRequest, `class="error"`, "reason is required", `name="reason"`)
		if m := message(t, s, callA); m.Call.State != delivery.Exhausted {
			t.Fatalf("after an empty reason the call is %s", m.Call.State)
		}
		p = ma.post(path, url.Values{"reason": {"endpoint fixed"}})
		if p.Status != http.StatusSeeOther || p.Location != fmt.Sprintf("/seller/messages/%d", callA) {
			t.Fatalf("re-invoke = %d to %q\n%s", p.Status, p.Location, p.Body)
		}
		m := message(t, s, callA)
		if m.Call.State != delivery.Pending || len(m.Reinvocations) != 1 || m.Reinvocations[0].Actor != "seller:"+ma.User.ID {
			t.Fatalf("after re-invoking: %s, %+v", m.Call.State, m.Reinvocations)
		}
		ma.get(p.Location).mustContain(t, http.StatusOK, "was re-invoked", "endpoint fixed", "seller:"+ma.User.ID)
		// Pending now: the engine refuses, the reason typed stays.
		ma.post(path, url.Values{"reason": {"once more please"}}).mustContain(t, http.StatusConflict, "can be re-invoked", "once more please")
	})
}

func message(t *testing.T, s *site, id int64) *delivery.Message {
	t.Helper()
	m, err := delivery.GetMessage(context.Background(), s.db, id, "")
	must(t, err)
	return m
}

// Filters narrow the list (state, interface, product, needs attention,
// dates), a bad date is said, and a long list pages.
func TestMessagesFiltersAndPager(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		a := s.newSeller(failAnswer)
		s.enqueue(a, protocol.UpdateInstanceStatus, 30)
		releases := s.enqueue(a, protocol.ReleaseInstance, 2)
		s.run()
		waiting := s.enqueue(a, protocol.UpdateInstanceStatus, 1)[0]
		ma := s.newUser(souk.RoleSeller, a.ID)
		const base = "/seller/messages"

		p := ma.get(base)
		p.mustContain(t, http.StatusOK, "More than 25 calls failed", `href="/seller/messages?problems=1"`)
		if n := rows(p, base); n != 25 {
			t.Fatalf("first page: %d rows, want 25", n)
		}
		next := regexp.MustCompile(`href="([^"]*before=\d+[^"]*)">Next page`).FindStringSubmatch(p.Body)
		if next == nil {
			t.Fatalf("no next page link:\n%s", p.Body)
		}
		p2 := ma.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		if n := rows(p2, base); n != 8 {
			t.Fatalf("second page: %d rows, want 8", n)
		}
		p2.mustContain(t, http.StatusOK, "First page")
		if strings.Contains(p2.Body, "Next page") {
			t.Fatal("the last page has a next page")
		}

		for _, tt := range []struct {
			query string
			want  int
		}{
			{"activity=releaseInstance", 2},
			{"state=pending", 1},
			{"problems=1&activity=releaseInstance", 2},
			{"product=" + a.Product + "&activity=releaseInstance", 2},
			{"product=nope", 0},
			{"from=2026-12-01&to=2026-12-01&activity=releaseInstance", 2},
			{"to=2026-11-30", 0},
			{"from=2026-12-02", 0},
		} {
			p := ma.get(base + "?" + tt.query)
			if got := rows(p, base); got != tt.want || p.Status != http.StatusOK {
				t.Errorf("%s: %d rows (status %d), want %d", tt.query, got, p.Status, tt.want)
			}
		}
		p = ma.get(base + "?state=pending")
		p.mustContain(t, http.StatusOK, link(base, waiting), `<option value="pending" selected>`)
		p = ma.get(base + "?activity=releaseInstance")
		p.mustContain(t, http.StatusOK, link(base, releases[0]), link(base, releases[1]))
		ma.get(base+"?from=yesterday").mustContain(t, http.StatusBadRequest, `class="error"`, "From: want a date", `value="yesterday"`)
	})
}

// An operator sees every seller's messages, narrows them to one seller,
// reads any and re-invokes as the operator.
func TestOpsMessagesAcrossSellers(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		a, b := s.newSeller(failAnswer), s.newSeller(failAnswer)
		callA := s.enqueue(a, protocol.UpdateInstanceStatus, 1)[0]
		callB := s.enqueue(b, protocol.ReleaseInstance, 1)[0]
		s.run()
		op := s.newUser(souk.RoleOperator, "")
		const base = "/ops/messages"

		op.get(base).mustContain(t, http.StatusOK, link(base, callA), link(base, callB), a.Company, b.Company, "<th>Seller</th>")
		p := op.get(base + "?seller=" + b.ID)
		if rows(p, base) != 1 || !strings.Contains(p.Body, link(base, callB)) {
			t.Fatalf("narrowed to seller %s:\n%s", b.ID, p.Body)
		}
		op.get(fmt.Sprintf("%s/%d", base, callB)).mustContain(t, http.StatusOK, b.Company, "database down", "Re-invoke")
		p = op.post(fmt.Sprintf("%s/%d/reinvoke", base, callB), url.Values{"reason": {"seller asked by phone"}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("operator re-invoke = %d\n%s", p.Status, p.Body)
		}
		if m := message(t, s, callB); m.Call.State != delivery.Pending || m.Reinvocations[0].Actor != "operator:"+op.User.ID {
			t.Fatalf("after the operator's re-invocation: %s %+v", m.Call.State, m.Reinvocations)
		}
		// A seller's member cannot widen its scope with ?seller=.
		mb := s.newUser(souk.RoleSeller, b.ID)
		if p := mb.get("/seller/messages?seller=" + a.ID); strings.Contains(p.Body, link("/seller/messages", callA)) {
			t.Fatal("a seller sees another seller's messages through ?seller=")
		}
	})
}
