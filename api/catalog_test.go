package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/api"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// testKey is the marketplace key the tests encrypt access keys under.
var testKey = bytes.Repeat([]byte{0x5a}, 32)

// system is who creates the first operator: the command line, in
// production (souk user add).
var system = souk.Actor{UserID: "system", Role: souk.RoleOperator}

// password is every test user's password.
const password = "correct horse battery"

var serial atomic.Int64

// unique returns a number no other call in the test binary returns, for
// e-mail addresses and registration numbers.
func unique() int64 { return serial.Add(1) }

// testSettings are the catalogue's settings as production has them:
// https production URLs to public hosts only.
func testSettings(t *testing.T) catalog.Settings {
	t.Helper()
	keys, err := catalog.NewKeyring(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return catalog.Settings{Keys: keys, AllowPrivateURLs: false}
}

// newCatalogAPI serves the API with testSettings.
func newCatalogAPI(t *testing.T, db *store.DB) (*api.Server, string) {
	t.Helper()
	srv := api.New(api.Config{DB: db, Catalog: testSettings(t)})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

// newUser creates an account of role (a seller member of sellerID) and
// returns a client logged in as it.
func newUser(t *testing.T, db *store.DB, base, role, sellerID string) (*client, *account.User) {
	t.Helper()
	email := fmt.Sprintf("%s%d@example.com", role, unique())
	r := account.Registration{Email: email, Name: "Test " + role, Password: password, Role: role, SellerID: sellerID}
	var u *account.User
	var err error
	if role == souk.RoleBuyer {
		u, err = account.Register(t.Context(), db, r)
	} else {
		u, err = account.CreateUser(t.Context(), db, system, r)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := account.Login(t.Context(), db, email, password)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: base, token: token}, u
}

func joinBody() map[string]any {
	n := unique()
	return map[string]any{"companyName": fmt.Sprintf("Acme %d Ltd", n), "registrationNumber": fmt.Sprintf("91310000MA%08d", n),
		"contactName": "Li Lei", "contactEmail": "sales@acme.example", "contactPhone": "+86 21 5555 0100"}
}

func certBody() map[string]any {
	return map[string]any{"accountHolder": "Acme Ltd", "bank": "Bank of Example", "accountNumber": "6222 0210 0112 3456 789",
		"taxRegistration": "91310000MA1FL0000X", "taxRate": 600}
}

func spec(code, name, period string, amount int) map[string]any {
	return map[string]any{"code": code, "name": name, "charging": "PERIOD", "period": period,
		"price": map[string]any{"amount": amount, "currency": "CNY"}}
}

// productBody is a SaaS product with a monthly and a yearly spec; specs
// replaces them.
func productBody(name string, specs ...map[string]any) map[string]any {
	if specs == nil {
		specs = []map[string]any{spec("basic", "Basic", "month", 9900), spec("pro", "Pro", "year", 99000)}
	}
	return map[string]any{"type": "saas", "name": name, "description": "Bookkeeping for small firms.",
		"productionUrl": "https://seller.example/produce", "public": true, "specs": specs}
}

// at returns the value at a dotted path ("application.id") of a decoded
// JSON body.
func at(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// idAt returns the numeric id at path as a path segment.
func idAt(t *testing.T, v any, path string) string {
	t.Helper()
	f, ok := at(v, path).(float64)
	if !ok {
		t.Fatalf("%s of %v is not a number", path, v)
	}
	return strconv.FormatInt(int64(f), 10)
}

func message(body map[string]any) string {
	s, _ := at(body, "error.message").(string)
	return s
}

// list GETs path, which must answer 200 with a JSON array.
func (c *client) list(path string) []any {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out []any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil {
		c.t.Fatalf("GET %s = %d %s, want 200 and an array", path, resp.StatusCode, raw)
	}
	return out
}

// ids returns the "id" of each element of a list, as strings.
func ids(t *testing.T, l []any) []string {
	var out []string
	for _, v := range l {
		switch id := at(v, "id").(type) {
		case string:
			out = append(out, id)
		default:
			out = append(out, idAt(t, v, "id"))
		}
	}
	return out
}

// must fails the test unless the request answered want.
func must(t *testing.T, what string, want, got int, body map[string]any) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %d %v, want %d", what, got, body, want)
	}
}

// refused fails the test unless the request answered want with a message
// containing text.
func refused(t *testing.T, what string, want, got int, body map[string]any, text string) {
	t.Helper()
	if got != want || !strings.Contains(message(body), text) {
		t.Fatalf("%s = %d %q, want %d mentioning %q", what, got, message(body), want, text)
	}
}

// TestCatalogueFlow is the main flow through the API: a buyer
// becomes a seller, is admitted and certified, lists a product, changes it
// under review, and delists a spec for good.
func TestCatalogueFlow(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		_, base := newCatalogAPI(t, db)
		anon := &client{t: t, base: base}
		op, _ := newUser(t, db, base, souk.RoleOperator, "")
		ann, _ := newUser(t, db, base, souk.RoleBuyer, "")

		// A buyer registers and applies; the applicant is the seller's first
		// member at once.
		st, body := anon.do("POST", "/api/v1/auth/register", map[string]string{"email": "wei@seller.example", "name": "Wei", "password": password})
		must(t, "register", http.StatusCreated, st, body)
		weiID := body["id"].(string)
		st, body = anon.do("POST", "/api/v1/auth/login", map[string]string{"email": "wei@seller.example", "password": password})
		must(t, "login", http.StatusOK, st, body)
		wei := &client{t: t, base: base, token: body["token"].(string)}
		st, seller := wei.do("POST", "/api/v1/sellers", joinBody())
		must(t, "apply", http.StatusCreated, st, seller)
		sellerID := seller["id"].(string)
		if seller["state"] != "pending" || seller["firstMember"] != weiID || seller["certified"] != false {
			t.Fatalf("seller after applying = %v, want pending, first member %s, not certified", seller, weiID)
		}
		if _, me := wei.do("GET", "/api/v1/me", nil); me["role"] != souk.RoleSeller || me["sellerId"] != sellerID {
			t.Fatalf("GET /me after applying = %v, want a member of %s", me, sellerID)
		}
		if st, body := wei.do("POST", "/api/v1/sellers", joinBody()); st != http.StatusConflict {
			t.Fatalf("apply again while pending = %d %v, want 409", st, body)
		}

		// The operator admits it.
		if queue := op.list("/api/v1/review/sellers"); len(queue) != 1 || at(queue[0], "sellerId") != sellerID {
			t.Fatalf("review queue of sellers = %v, want the join application of %s", queue, sellerID)
		}
		st, body = op.do("POST", "/api/v1/sellers/"+sellerID+"/approve", nil)
		must(t, "approve the seller", http.StatusNoContent, st, body)
		if _, s := wei.do("GET", "/api/v1/sellers/"+sellerID, nil); s["state"] != "approved" || s["certified"] != false {
			t.Fatalf("seller after approval = %v, want approved, not certified", s)
		}

		// Its first product: a draft, and the access key shown once.
		st, created := wei.do("POST", "/api/v1/products", productBody("Ledger Cloud"))
		must(t, "create a product", http.StatusCreated, st, created)
		productID := at(created, "product.id").(string)
		appID := idAt(t, created, "application.id")
		if key, _ := created["accessKey"].(string); !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(key) {
			t.Fatalf("access key = %q, want 64 hex digits", key)
		}
		if at(created, "application.state") != "draft" || at(created, "product.listed") != nil || at(created, "product.open.id") == nil {
			t.Fatalf("new product = %v, want a draft application and nothing listed", created)
		}
		if price := at(created, "application.product.specs").([]any)[0]; at(price, "price.amount") != 9900.0 || at(price, "price.currency") != "CNY" {
			t.Fatalf("price of the first spec = %v, want 9900 CNY in minor units", at(price, "price"))
		}

		// Not certified: the submission is refused, and says why.
		st, body = wei.do("POST", "/api/v1/applications/"+appID+"/submit", nil)
		if st != http.StatusConflict || message(body) != "Business information must be certified before submitting for publication." {
			t.Fatalf("submit before certification = %d %q, want 409 with the certification message", st, message(body))
		}

		// Certification, approved by the operator, who sees the account
		// number masked.
		st, cert := wei.do("POST", "/api/v1/sellers/"+sellerID+"/certifications", certBody())
		must(t, "submit the certification", http.StatusCreated, st, cert)
		if cert["accountNumber"] != "6222021001123456789" || cert["state"] != "pending" {
			t.Fatalf("certification as its seller sees it = %v, want pending with the account number in full", cert)
		}
		certID := idAt(t, cert, "id")
		queue := op.list("/api/v1/review/certifications")
		if len(queue) != 1 || at(queue[0], "accountNumber") != "***************6789" {
			t.Fatalf("certification queue = %v, want one with the account number masked", queue)
		}
		st, body = op.do("POST", "/api/v1/certifications/"+certID+"/approve", nil)
		must(t, "approve the certification", http.StatusNoContent, st, body)
		if _, s := wei.do("GET", "/api/v1/sellers/"+sellerID, nil); s["certified"] != true {
			t.Fatalf("seller after certification = %v, want certified", s)
		}

		// Submitted again, approved, listed.
		st, body = wei.do("POST", "/api/v1/applications/"+appID+"/submit", nil)
		must(t, "submit once certified", http.StatusNoContent, st, body)
		if st, body := anon.do("GET", "/api/v1/products/"+productID, nil); st != http.StatusNotFound {
			t.Fatalf("GET a product under review, anonymous = %d %v, want 404", st, body)
		}
		if queue := ids(t, op.list("/api/v1/review/applications")); !slices.Equal(queue, []string{appID}) {
			t.Fatalf("application queue = %v, want [%s]", queue, appID)
		}
		st, body = op.do("POST", "/api/v1/applications/"+appID+"/approve", nil)
		must(t, "approve the application", http.StatusNoContent, st, body)
		if got := ids(t, anon.list("/api/v1/products")); !slices.Equal(got, []string{productID}) {
			t.Fatalf("catalogue = %v, want [%s]", got, productID)
		}
		if got := ids(t, anon.list("/api/v1/products?type=saas&q=LEDGER")); !slices.Equal(got, []string{productID}) {
			t.Fatalf("catalogue searched = %v, want [%s]", got, productID)
		}
		if got := anon.list("/api/v1/products?type=license"); len(got) != 0 {
			t.Fatalf("catalogue of licences = %v, want none", got)
		}
		st, body = ann.do("GET", "/api/v1/products/"+productID+"/specs/basic/purchasable", nil)
		if st != http.StatusOK || body["allowed"] != true {
			t.Fatalf("purchasable = %d %v, want 200 allowed", st, body)
		}
		reviews := wei.list("/api/v1/applications/" + appID + "/reviews")
		if len(reviews) != 1 || at(reviews[0], "action") != "approve" || at(reviews[0], "role") != souk.RoleOperator {
			t.Fatalf("audit of the application = %v, want its approval by an operator", reviews)
		}

		// A modification is pending while buyers still see the listed
		// version.
		st, mod := wei.do("POST", "/api/v1/products/"+productID+"/modifications", nil)
		must(t, "start a modification", http.StatusCreated, st, mod)
		modID := idAt(t, mod, "id")
		if mod["kind"] != "modify" || mod["state"] != "draft" || at(mod, "product.name") != "Ledger Cloud" {
			t.Fatalf("modification = %v, want a draft holding the listed version", mod)
		}
		st, mod = wei.do("PUT", "/api/v1/applications/"+modID, productBody("Ledger Cloud 2",
			spec("basic", "Basic", "month", 12900), spec("pro", "Pro", "year", 99000)))
		must(t, "edit the modification", http.StatusOK, st, mod)
		if at(mod, "product.name") != "Ledger Cloud 2" {
			t.Fatalf("modification after the edit = %v, want the new name", mod)
		}
		st, body = wei.do("POST", "/api/v1/applications/"+modID+"/submit", nil)
		must(t, "submit the modification", http.StatusNoContent, st, body)
		_, listed := ann.do("GET", "/api/v1/products/"+productID, nil)
		if at(listed, "listed.name") != "Ledger Cloud" || at(listed, "open") != nil {
			t.Fatalf("product as a buyer sees it during review = %v, want the listed version only", listed)
		}
		if l := anon.list("/api/v1/products"); len(l) != 1 || at(l[0], "name") != "Ledger Cloud" {
			t.Fatalf("catalogue during review = %v, want the listed version", l)
		}
		if _, own := wei.do("GET", "/api/v1/products/"+productID, nil); at(own, "open.state") != "submitted" {
			t.Fatalf("product as its seller sees it = %v, want the submitted modification open", own)
		}
		st, body = op.do("POST", "/api/v1/applications/"+modID+"/approve", nil)
		must(t, "approve the modification", http.StatusNoContent, st, body)
		_, listed = anon.do("GET", "/api/v1/products/"+productID, nil)
		if specs, _ := at(listed, "listed.specs").([]any); at(listed, "listed.name") != "Ledger Cloud 2" || len(specs) != 2 || at(specs[0], "price.amount") != 12900.0 {
			t.Fatalf("product after the modification's approval = %v, want the new version", listed)
		}

		// A modification cannot drop a listed spec; it is refused, naming it.
		st, mod = wei.do("POST", "/api/v1/products/"+productID+"/modifications", nil)
		must(t, "start a second modification", http.StatusCreated, st, mod)
		modID = idAt(t, mod, "id")
		st, body = wei.do("PUT", "/api/v1/applications/"+modID, productBody("Ledger Cloud 2", spec("basic", "Basic", "month", 12900)))
		must(t, "edit the draft without spec pro", http.StatusOK, st, body)
		st, body = wei.do("POST", "/api/v1/applications/"+modID+"/submit", nil)
		refused(t, "submit a modification without spec pro", http.StatusConflict, st, body, "cannot delete spec pro")

		// Instead, restrict a new spec to one buyer: the others are told to
		// contact the seller.
		vip := spec("vip", "VIP", "year", 500000)
		vip["allowedBuyers"] = []string{"usr_someone_else"}
		st, body = wei.do("PUT", "/api/v1/applications/"+modID, productBody("Ledger Cloud 2",
			spec("basic", "Basic", "month", 12900), spec("pro", "Pro", "year", 99000), vip))
		must(t, "edit the draft: a restricted spec", http.StatusOK, st, body)
		st, body = wei.do("POST", "/api/v1/applications/"+modID+"/submit", nil)
		must(t, "submit the restricted spec", http.StatusNoContent, st, body)
		st, body = op.do("POST", "/api/v1/applications/"+modID+"/approve", nil)
		must(t, "approve the restricted spec", http.StatusNoContent, st, body)
		st, body = ann.do("GET", "/api/v1/products/"+productID+"/specs/vip/purchasable", nil)
		refused(t, "purchasable, restricted spec", http.StatusForbidden, st, body, "sold only to authorised buyers — contact the seller: Li Lei, sales@acme.example")
		if _, listed := ann.do("GET", "/api/v1/products/"+productID, nil); strings.Contains(fmt.Sprint(listed), "usr_someone_else") {
			t.Fatalf("product as a buyer sees it = %v, want no allow-list", listed)
		}

		// Delisting is final.
		st, delist := wei.do("POST", "/api/v1/products/"+productID+"/specs/pro/delist", nil)
		must(t, "delist spec pro", http.StatusCreated, st, delist)
		if delist["kind"] != "delist_spec" || delist["specCode"] != "pro" {
			t.Fatalf("delisting = %v, want a delist_spec application for pro", delist)
		}
		delistID := idAt(t, delist, "id")
		st, body = wei.do("POST", "/api/v1/applications/"+delistID+"/submit", nil)
		must(t, "submit the delisting", http.StatusNoContent, st, body)
		st, body = op.do("POST", "/api/v1/applications/"+delistID+"/approve", nil)
		must(t, "approve the delisting", http.StatusNoContent, st, body)
		_, listed = ann.do("GET", "/api/v1/products/"+productID, nil)
		if d, _ := listed["delisted"].([]any); len(d) != 1 || d[0] != "pro" {
			t.Fatalf("product after delisting = %v, want pro delisted", listed)
		}
		st, body = ann.do("GET", "/api/v1/products/"+productID+"/specs/pro/purchasable", nil)
		refused(t, "purchasable, delisted spec", http.StatusConflict, st, body, "delisted")
		st, body = wei.do("POST", "/api/v1/products/"+productID+"/specs/pro/delist", nil)
		refused(t, "delist spec pro again", http.StatusConflict, st, body, "delisted already")
		st, mod = wei.do("POST", "/api/v1/products/"+productID+"/modifications", nil)
		must(t, "start a third modification", http.StatusCreated, st, mod)
		modID = idAt(t, mod, "id")
		st, body = wei.do("PUT", "/api/v1/applications/"+modID, productBody("Ledger Cloud 2",
			spec("basic", "Basic", "month", 12900), spec("pro", "Pro", "year", 99000), vip))
		must(t, "edit the draft: bring pro back", http.StatusOK, st, body)
		st, body = wei.do("POST", "/api/v1/applications/"+modID+"/submit", nil)
		refused(t, "submit a modification bringing pro back", http.StatusConflict, st, body, "can never be sold again")
		st, body = wei.do("DELETE", "/api/v1/applications/"+modID, nil)
		must(t, "discard the draft", http.StatusNoContent, st, body)
		if _, own := wei.do("GET", "/api/v1/products/"+productID, nil); at(own, "open") != nil {
			t.Fatalf("product after discarding its draft = %v, want no open application", own)
		}

		// The seller's audit trail has every review, the operator's name on
		// each.
		trail := wei.list("/api/v1/sellers/" + sellerID + "/reviews")
		if len(trail) != 6 { // seller, certification, publish, 2 modifications, delisting
			t.Fatalf("audit trail = %d entries %v, want 6", len(trail), trail)
		}
	})
}

// TestCatalogueBadInput: every malformed request is a 400 naming what is
// wrong, from the decoder (unknown field, wrong type) or the domain.
func TestCatalogueBadInput(t *testing.T) {
	db := storetest.OpenSQLite(t, souk.NewFakeClock(t0))
	_, base := newCatalogAPI(t, db)
	wei, _ := newUser(t, db, base, souk.RoleBuyer, "")
	op, _ := newUser(t, db, base, souk.RoleOperator, "")
	st, seller := wei.do("POST", "/api/v1/sellers", joinBody())
	must(t, "apply", http.StatusCreated, st, seller)
	st, body := op.do("POST", "/api/v1/sellers/"+seller["id"].(string)+"/approve", nil)
	must(t, "approve", http.StatusNoContent, st, body)
	st, created := wei.do("POST", "/api/v1/products", productBody("Ledger Cloud"))
	must(t, "create a product", http.StatusCreated, st, created)
	appID := idAt(t, created, "application.id")

	withSpec := func(edit func(s map[string]any)) map[string]any {
		p := productBody("Ledger Cloud")
		s := spec("basic", "Basic", "month", 9900)
		edit(s)
		p["specs"] = []map[string]any{s}
		return p
	}
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		want         string
	}{
		{"unknown field", "POST", "/api/v1/products", `{"type":"saas","colour":"red"}`, 400, `Unknown field "colour"`},
		{"unknown field in a spec", "POST", "/api/v1/products", `{"specs":[{"code":"a","cost":1}]}`, 400, `Unknown field "cost"`},
		{"wrong type", "POST", "/api/v1/products", `{"name":7}`, 400, "name: want a JSON string"},
		{"wrong type of a price", "POST", "/api/v1/products", `{"specs":[{"price":{"amount":"ten"}}]}`, 400, "specs.price.amount: want a JSON int64"},
		{"a float price", "POST", "/api/v1/products", `{"specs":[{"price":{"amount":99.5}}]}`, 400, "specs.price.amount"},
		{"wrong type in an update", "PUT", "/api/v1/applications/" + appID, `{"public":"yes"}`, 400, "public: want a JSON bool"},
		{"unknown type", "POST", "/api/v1/products", map[string]any{"type": "app", "name": "X"}, 400, "type: must be saas, license or package"},
		{"missing currency", "POST", "/api/v1/products", withSpec(func(s map[string]any) { s["price"] = map[string]any{"amount": 100} }), 400, "specs[0].price.currency"},
		{"negative price", "POST", "/api/v1/products", withSpec(func(s map[string]any) { s["price"] = map[string]any{"amount": -1, "currency": "CNY"} }), 400, "specs[0].price.amount"},
		{"plain http", "POST", "/api/v1/products", func() any { p := productBody("X"); p["productionUrl"] = "http://seller.example/"; return p }(), 400, "productionUrl: must use https"},
		{"private address", "POST", "/api/v1/products", func() any { p := productBody("X"); p["productionUrl"] = "https://10.0.0.7/produce"; return p }(), 400, "productionUrl: host 10.0.0.7"},
		{"join application without a phone", "POST", "/api/v1/sellers", map[string]any{"companyName": "B", "registrationNumber": "R1", "contactName": "C", "contactEmail": "c@b.example"}, 400, "contactPhone"},
		{"rejection without a reason", "POST", "/api/v1/applications/" + appID + "/reject", map[string]any{}, 400, "reason"},
		{"no body for a rejection", "POST", "/api/v1/applications/" + appID + "/reject", nil, 400, "empty"},
		{"limit not a number", "GET", "/api/v1/products?limit=ten", nil, 400, "limit: want an integer"},
		{"catalogue of an unknown type", "GET", "/api/v1/products?type=app", nil, 400, "type"},
		{"quantity not a number", "GET", "/api/v1/products/p1/specs/basic/purchasable?quantity=many", nil, 400, "quantity"},
		{"application id not a number", "GET", "/api/v1/applications/abc", nil, 404, "Application abc not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *wei
			if strings.HasSuffix(tt.path, "/reject") {
				c = *op
			}
			c.t = t
			st, body := c.do(tt.method, tt.path, tt.body)
			refused(t, tt.method+" "+tt.path, tt.status, st, body, tt.want)
		})
	}
}
