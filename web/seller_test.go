package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// The seller centre's tests: a buyer becomes a seller through the forms,
// certifies, creates, submits and revises products, rotates keys, reads
// the inbox and manages API credentials — each action through the same
// catalog functions as the API, operators' reviews done directly.

// joinForm is a valid join application.
func joinForm() url.Values {
	n := unique()
	return url.Values{"company_name": {fmt.Sprintf("Acme %d Ltd", n)}, "registration_number": {fmt.Sprintf("REG%08d", n)},
		"contact_name": {"Li Lei"}, "contact_email": {"sales@acme.example"}, "contact_phone": {"+86 21 5555 0100"}}
}

func certForm(rate string) url.Values {
	return url.Values{"account_holder": {"Acme Holder"}, "bank": {"Bank of Example"}, "account_number": {"6222 0210 0112 3456"},
		"tax_registration": {"91310000MA1FL0000X"}, "tax_rate": {rate}}
}

// productForm is the product form with one spec row filled, priced price.
func productForm(price string) url.Values {
	return url.Values{"rows": {"4"}, "type": {"saas"}, "name": {"Ledger Cloud"}, "description": {"Bookkeeping for small firms."},
		"production_url": {"https://isv.example.com/produce"}, "public": {"on"},
		"spec0_code": {"basic"}, "spec0_name": {"Basic"}, "spec0_charging": {"PERIOD"}, "spec0_period": {"month"},
		"spec0_price": {price}, "spec0_currency": {"CNY"}, "spec0_trial_days": {"7"},
		"spec1_charging": {"PERIOD"}, "spec1_period": {"month"}, "spec1_currency": {"CNY"}}
}

// sellerOf returns the seller id b's user is a member of now.
func (s *site) sellerOf(b *browser) string {
	s.t.Helper()
	u, err := account.GetUser(s.t.Context(), s.db, system, b.User.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	if u.Role != souk.RoleSeller || u.SellerID == "" {
		s.t.Fatalf("user %s is %s, not a seller member", u.ID, u.Role)
	}
	return u.SellerID
}

// newSellerMember returns a browser of a buyer who applied through the
// form, approved (and, with certified, certified) by an operator.
func (s *site) newSellerMember(certified bool) (*browser, string) {
	s.t.Helper()
	b := s.newUser(souk.RoleBuyer, "")
	if p := b.post("/seller/apply", joinForm()); p.Status != http.StatusSeeOther {
		s.t.Fatalf("apply: %d\n%s", p.Status, p.Body)
	}
	id := s.sellerOf(b)
	if err := catalog.ApproveSeller(s.t.Context(), s.db, system, id); err != nil {
		s.t.Fatal(err)
	}
	if certified {
		if p := b.post("/seller/certification", certForm("6")); p.Status != http.StatusSeeOther {
			s.t.Fatalf("certify: %d\n%s", p.Status, p.Body)
		}
		s.approveCertification(id)
	}
	return b, id
}

func (s *site) approveCertification(sellerID string) {
	s.t.Helper()
	cs, err := catalog.Certifications(s.t.Context(), s.db, system, sellerID)
	if err != nil || len(cs) == 0 {
		s.t.Fatalf("certifications of %s: %v %v", sellerID, cs, err)
	}
	if err := catalog.ApproveCertification(s.t.Context(), s.db, system, cs[0].ID); err != nil {
		s.t.Fatal(err)
	}
}

var (
	secretRE  = regexp.MustCompile(`<pre class="secret-value">([^<]+)</pre>`)
	productRE = regexp.MustCompile(`/seller/products/(p[0-9a-f]+)`)
	draftRE   = regexp.MustCompile(`/seller/applications/(\d+)`)
)

// shownOnce follows the answer p of a form that made a secret to the page
// that shows it, and checks that it shows it only once.
func shownOnce(t *testing.T, b *browser, p page) page {
	t.Helper()
	if p.Status != http.StatusSeeOther || p.Location != "/seller/secret" {
		t.Fatalf("the form answered %d to %q, want 303 to /seller/secret:\n%s", p.Status, p.Location, p.Body)
	}
	shown := b.get("/seller/secret")
	if again := b.get("/seller/secret"); again.Status != http.StatusOK || strings.Contains(again.Body, "secret-value") || !strings.Contains(again.Body, "Nothing to show") {
		t.Fatalf("the secret was shown a second time:\n%s", again.Body)
	}
	return shown
}

// secretOn returns the secret a page shows once.
func secretOn(t *testing.T, p page) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(p.Body)
	if m == nil || !strings.Contains(p.Body, "will not be shown again") {
		t.Fatalf("the page shows no secret with its warning:\n%s", p.Body)
	}
	return html.UnescapeString(m[1])
}

// createProduct creates a product through the form and returns its id,
// its draft application's path and the access key shown.
func createProduct(t *testing.T, b *browser) (productID, appPath, key string) {
	t.Helper()
	p := shownOnce(t, b, b.post("/seller/products", productForm("99.00")))
	p.mustContain(t, http.StatusOK, "Product created", "Access key")
	key = secretOn(t, p)
	productID = productRE.FindStringSubmatch(p.Body)[1]
	appPath = "/seller/applications/" + draftRE.FindStringSubmatch(p.Body)[1]
	return productID, appPath, key
}

// A buyer applies through the form and becomes a seller member: the page
// after shows the pending application; an operator approves it; the
// certification form keeps what was typed on a bad tax rate, then is
// submitted and shown pending.
func TestSellerOnboardingThroughForms(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		b := s.newUser(souk.RoleBuyer, "")
		b.get("/seller").mustContain(t, http.StatusOK, "Apply to join", `action="/seller/apply"`)

		bad := joinForm()
		bad.Set("contact_email", "not an address")
		b.post("/seller/apply", bad).mustContain(t, http.StatusBadRequest, `class="error"`, "contactEmail",
			`value="`+bad.Get("company_name")+`"`, `value="not an address"`)

		f := joinForm()
		if p := b.post("/seller/apply", f); p.Status != http.StatusSeeOther || p.Location != "/seller" {
			t.Fatalf("apply = %d to %q\n%s", p.Status, p.Location, p.Body)
		}
		id := s.sellerOf(b)
		b.get("/seller").mustContain(t, http.StatusOK, "application to sell on Souk was received", "Seller centre",
			f.Get("company_name"), `state-pending">pending`, "Certification opens once")
		// Applying again while pending is the domain's refusal, shown on the form.
		b.post("/seller/apply", joinForm()).mustContain(t, http.StatusConflict, "You have applied already")

		if err := catalog.ApproveSeller(t.Context(), db, system, id); err != nil {
			t.Fatal(err)
		}
		b.get("/seller").mustContain(t, http.StatusOK, `state-approved">approved`, `action="/seller/certification"`, "Not certified yet")

		p := b.post("/seller/certification", certForm("150"))
		p.mustContain(t, http.StatusBadRequest, `class="error"`, "taxRate", `value="Acme Holder"`, `value="150"`, `value="Bank of Example"`)
		p = b.post("/seller/certification", certForm("6.125"))
		p.mustContain(t, http.StatusBadRequest, "more than 2 decimals", `value="6.125"`)
		if p := b.post("/seller/certification", certForm("6.5")); p.Status != http.StatusSeeOther {
			t.Fatalf("certify: %d\n%s", p.Status, p.Body)
		}
		cs, err := catalog.Certifications(t.Context(), db, system, id)
		if err != nil || len(cs) != 1 || cs[0].TaxRate != 650 {
			t.Fatalf("certifications = %+v, %v; want one at 650 basis points", cs, err)
		}
		b.get("/seller").mustContain(t, http.StatusOK, "submitted for review", `state-pending">pending`, "6.5 %")
		s.approveCertification(id)
		b.get("/seller").mustContain(t, http.StatusOK, "Certified")

		// A rejected seller applies again from the page.
		r := s.newUser(souk.RoleBuyer, "")
		r.post("/seller/apply", joinForm())
		rid := s.sellerOf(r)
		if err := catalog.RejectSeller(t.Context(), db, system, rid, "The registration number does not match."); err != nil {
			t.Fatal(err)
		}
		r.get("/seller").mustContain(t, http.StatusOK, `state-rejected">rejected`, "does not match", "Apply to sell")
		if p := r.post("/seller/apply", joinForm()); p.Status != http.StatusSeeOther {
			t.Fatalf("apply again: %d\n%s", p.Status, p.Body)
		}
		r.get("/seller").mustContain(t, http.StatusOK, `state-pending">pending`, "Earlier applications")

		// An anonymous visitor is sent to log in; a buyer may not list products.
		if p := s.anonymous().get("/seller/products"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
			t.Fatalf("anonymous /seller/products = %d to %q", p.Status, p.Location)
		}
		s.newUser(souk.RoleBuyer, "").get("/seller/products").mustContain(t, http.StatusForbidden, "Only a seller")
		s.newUser(souk.RoleBuyer, "").get("/seller/inbox").mustContain(t, http.StatusForbidden)
		op := s.newUser(souk.RoleOperator, "")
		op.get("/seller").mustContain(t, http.StatusOK, "Apply to join")
		op.get("/seller/inbox").mustContain(t, http.StatusForbidden)
		op.post("/seller/apply", joinForm()).mustContain(t, http.StatusForbidden, "Operators cannot apply")
		s.newUser(souk.RoleBuyer, "").post("/seller/certification", certForm("6")).mustContain(t, http.StatusForbidden, "Only a seller")
		p = r.post("/seller/certification", certForm("6"))
		p.mustContain(t, http.StatusConflict, "once the seller is approved")
	})
}

// The product form converts prices exactly and keeps what was typed when
// refused; the access key is shown once; the draft is submitted, rejected,
// revised from its record and submitted again; the key rotates; another
// seller finds none of it.
func TestSellerProductsAndApplications(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		ctx := t.Context()
		b, _ := s.newSellerMember(true)
		b.get("/seller/products/new").mustContain(t, http.StatusOK, `name="spec3_code"`, `value="CNY"`)

		p := b.post("/seller/products", productForm("99.001"))
		p.mustContain(t, http.StatusBadRequest, "Spec row 1, price", "more than 2 decimals", `value="99.001"`, `value="Ledger Cloud"`,
			`value="basic"`, "Bookkeeping for small firms.")
		bad := productForm("99")
		bad.Set("spec0_currency", "yuan")
		b.post("/seller/products", bad).mustContain(t, http.StatusBadRequest, "Spec row 1, price.currency", `value="yuan"`)

		productID, appPath, key := createProduct(t, b)
		keys, err := catalog.AccessKeys(ctx, db, s.set, productID)
		if err != nil || keys[0] != key {
			t.Fatalf("access keys = %v, %v; the page showed %q", keys, err, key)
		}
		page := b.get("/seller/products/" + productID)
		page.mustContain(t, http.StatusOK, "Ledger Cloud", "not listed yet", "Rotate the access key", appPath)
		if strings.Contains(page.Body, key) {
			t.Fatal("the product page shows the access key again")
		}
		b.get("/seller/products").mustContain(t, http.StatusOK, productID, "Ledger Cloud", "draft")

		var appID int64
		fmt.Sscan(strings.TrimPrefix(appPath, "/seller/applications/"), &appID)
		a, err := catalog.GetApplication(ctx, db, system, appID)
		if err != nil || a.Snapshot.Specs[0].Price != (catalog.Price{Amount: 9900, Currency: "CNY"}) || len(a.Snapshot.Specs) != 1 || a.Snapshot.Specs[0].TrialDays != 7 {
			t.Fatalf("application %d = %+v, %v; want one spec at 9900 CNY with a 7-day trial", appID, a, err)
		}
		b.get(appPath).mustContain(t, http.StatusOK, "Submit for review", "Edit the draft", "99.00 CNY")

		if p := b.post(appPath+"/submit", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("submit: %d\n%s", p.Status, p.Body)
		}
		b.get(appPath).mustContain(t, http.StatusOK, "submitted for review", `state-submitted">submitted`, "Withdraw")
		// An action the state does not allow is refused on the page.
		b.post(appPath+"/submit", nil).mustContain(t, http.StatusConflict, `class="error"`, "only a draft can be submitted")

		if err := catalog.RejectApplication(ctx, db, system, appID, "Add screenshots to the description."); err != nil {
			t.Fatal(err)
		}
		b.get("/seller/products/"+productID).mustContain(t, http.StatusOK, "Add screenshots", fmt.Sprintf("Revise application #%d", appID))
		b.get(appPath).mustContain(t, http.StatusOK, `state-rejected">rejected`, "Add screenshots", "Review trail", "reject")
		p = b.post(appPath+"/revise", nil)
		if p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "/edit") {
			t.Fatalf("revise = %d to %q\n%s", p.Status, p.Location, p.Body)
		}
		edit := p.Location
		b.get(edit).mustContain(t, http.StatusOK, fmt.Sprintf("revises application %d", appID), `value="Ledger Cloud"`, `value="99.00"`, `value="basic"`)
		revised := productForm("129.50")
		revised.Set("description", "Bookkeeping for small firms, with screenshots.")
		revised.Set("spec1_code", "pro")
		revised.Set("spec1_name", "Pro")
		revised.Set("spec1_price", "abc")
		b.post(edit, revised).mustContain(t, http.StatusBadRequest, "Spec row 2, price", `value="abc"`, "with screenshots")
		revised.Set("spec1_price", "999")
		if p := b.post(edit, revised); p.Status != http.StatusSeeOther {
			t.Fatalf("save draft: %d\n%s", p.Status, p.Body)
		}
		draftPath := strings.TrimSuffix(edit, "/edit")
		b.get(draftPath).mustContain(t, http.StatusOK, "with screenshots", "129.50 CNY", "999.00 CNY", fmt.Sprintf("application #%d", appID))
		if p := b.post(draftPath+"/submit", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("submit the revision: %d\n%s", p.Status, p.Body)
		}
		// The old record is no longer the latest: revising it is refused.
		b.post(appPath+"/revise", nil).mustContain(t, http.StatusConflict, "open")

		p = shownOnce(t, b, b.post("/seller/products/"+productID+"/rotate-key", nil))
		p.mustContain(t, http.StatusOK, "New access key")
		newKey := secretOn(t, p)
		if keys, _ := catalog.AccessKeys(ctx, db, s.set, productID); newKey == key || keys[0] != newKey {
			t.Fatalf("rotated key %q, keys now %v (first %q)", newKey, keys, key)
		}

		// Another seller's member finds none of it.
		other, _ := s.newSellerMember(true)
		other.get("/seller/products/"+productID).mustContain(t, http.StatusNotFound)
		other.get(appPath).mustContain(t, http.StatusNotFound)
		other.get(edit).mustContain(t, http.StatusNotFound)
		other.post("/seller/products/"+productID+"/rotate-key", nil).mustContain(t, http.StatusNotFound)
		other.post(draftPath+"/withdraw", nil).mustContain(t, http.StatusNotFound)
		if strings.Contains(other.get("/seller/products").Body, productID) {
			t.Fatal("another seller lists the product")
		}
	})
}

// A listed product is modified from its page: the form starts from the
// listed version; a draft is discarded; long lists page.
func TestSellerModifyAndPaging(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		ctx := t.Context()
		b, _ := s.newSellerMember(true)
		productID, appPath, _ := createProduct(t, b)
		b.post(appPath+"/submit", nil)
		var appID int64
		fmt.Sscan(strings.TrimPrefix(appPath, "/seller/applications/"), &appID)
		if err := catalog.ApproveApplication(ctx, db, system, appID); err != nil {
			t.Fatal(err)
		}
		b.get("/seller/products/"+productID).mustContain(t, http.StatusOK, "Listed version", "99.00 CNY", "Modify")
		p := b.post("/seller/products/"+productID+"/modify", nil)
		if p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "/edit") {
			t.Fatalf("modify = %d to %q\n%s", p.Status, p.Location, p.Body)
		}
		b.get(p.Location).mustContain(t, http.StatusOK, "starts from the listed version", `value="Ledger Cloud"`, `value="99.00"`)
		// A second modification while one is open is the domain's refusal, on the page.
		b.post("/seller/products/"+productID+"/modify", nil).mustContain(t, http.StatusConflict, `class="error"`, "already has application")
		draft := strings.TrimSuffix(p.Location, "/edit")
		if p := b.post(draft+"/discard", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("discard: %d\n%s", p.Status, p.Body)
		}
		b.get(draft).mustContain(t, http.StatusNotFound)

		member := actorOfBrowser(t, s, b)
		for i := range 26 {
			pr := catalog.Product{Type: catalog.License, Name: fmt.Sprintf("Tool %02d", i), Description: "A tool.",
				Specs: []catalog.Spec{{Code: "one", Name: "One", Charging: catalog.ChargeOneTime, Price: catalog.Price{Amount: 100, Currency: "CNY"}}}}
			if _, err := catalog.CreateProduct(ctx, db, s.set, member, pr); err != nil {
				t.Fatal(err)
			}
		}
		first := b.get("/seller/products")
		first.mustContain(t, http.StatusOK, "Next page")
		next := regexp.MustCompile(`href="([^"]*before=[^"]*)"`).FindStringSubmatch(first.Body)
		if next == nil {
			t.Fatalf("no next page link:\n%s", first.Body)
		}
		second := b.get(html.UnescapeString(next[1]))
		second.mustContain(t, http.StatusOK, "First page")
		if n1, n2 := strings.Count(first.Body, `<tr>`)-1, strings.Count(second.Body, `<tr>`)-1; n1 != 25 || n2 != 2 {
			t.Fatalf("pages of %d and %d products, want 25 and 2", n1, n2)
		}
		b.get("/seller/applications").mustContain(t, http.StatusOK, "Next page", "approved")
	})
}

func actorOfBrowser(t *testing.T, s *site, b *browser) souk.Actor {
	t.Helper()
	u, err := account.GetUser(t.Context(), s.db, system, b.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u.Actor()
}

// The inbox shows the seller's notices, the unread count is on the home
// page, and marking one read clears it; API credentials show their secret
// once and can be revoked.
func TestSellerInboxAndCredentials(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		ctx := t.Context()
		b, id := s.newSellerMember(false)
		// The operator's approval is the first notice.
		b.get("/seller/inbox").mustContain(t, http.StatusOK, "Your application to sell on Souk was approved")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			return notify.Post(ctx, tx, notify.Notice{Recipient: "seller:" + id, Kind: "delivery.failed",
				Subject: "A call to your production interface failed", Body: "newInstance for order o1 failed 5 times."})
		})
		if err != nil {
			t.Fatal(err)
		}
		b.get("/seller").mustContain(t, http.StatusOK, "2 unread")
		p := b.get("/seller/inbox")
		p.mustContain(t, http.StatusOK, "A call to your production interface failed", "newInstance for order o1", "Mark as read", "2 unread")
		ms, _ := notify.Inbox(ctx, db, "seller:"+id, notify.InboxFilter{})
		if ms[0].Kind != "delivery.failed" {
			t.Fatalf("newest notice = %s, want the failure", ms[0].Kind)
		}
		other, _ := s.newSellerMember(false)
		if p := other.get("/seller/inbox"); p.Status != http.StatusOK || strings.Contains(p.Body, "A call to your production interface failed") {
			t.Fatalf("another seller's inbox = %d, showing this seller's notice:\n%s", p.Status, p.Body)
		}
		other.post(fmt.Sprintf("/seller/inbox/%d/read", ms[0].ID), nil).mustContain(t, http.StatusNotFound)
		if p := b.post(fmt.Sprintf("/seller/inbox/%d/read", ms[0].ID), url.Values{"next": {"/seller/inbox?unread=1"}}); p.Status != http.StatusSeeOther || p.Location != "/seller/inbox?unread=1" {
			t.Fatalf("mark read = %d to %q", p.Status, p.Location)
		}
		if p := b.get("/seller/inbox?unread=1"); p.Status != http.StatusOK || strings.Contains(p.Body, "A call to your production interface failed") {
			t.Fatalf("the notice read is still listed as unread:\n%s", p.Body)
		}
		if n, _ := notify.UnreadCount(ctx, db, "seller:"+id); n != 1 {
			t.Fatalf("unread = %d after marking one of two read", n)
		}

		b.get("/seller/api-credentials").mustContain(t, http.StatusOK, "No API credentials yet")
		p = shownOnce(t, b, b.post("/seller/api-credentials", url.Values{"name": {"billing server"}}))
		p.mustContain(t, http.StatusOK, "API credential created", "Key id")
		secret := secretOn(t, p)
		keyID := regexp.MustCompile(`<code>(sk_[0-9a-f]+)</code>`).FindStringSubmatch(p.Body)[1]
		list := b.get("/seller/api-credentials")
		list.mustContain(t, http.StatusOK, keyID, "billing server", "valid")
		if strings.Contains(list.Body, secret) {
			t.Fatal("the list shows the secret")
		}
		b.post("/seller/api-credentials", url.Values{"name": {strings.Repeat("x", 101)}}).mustContain(t, http.StatusBadRequest, `class="error"`, strings.Repeat("x", 101))
		other.post("/seller/api-credentials/revoke", url.Values{"key_id": {keyID}}).mustContain(t, http.StatusNotFound)
		if p := b.post("/seller/api-credentials/revoke", url.Values{"key_id": {keyID}}); p.Status != http.StatusSeeOther {
			t.Fatalf("revoke: %d\n%s", p.Status, p.Body)
		}
		b.get("/seller/api-credentials").mustContain(t, http.StatusOK, "revoked", "is revoked")
	})
}
