package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
	"github.com/souk-market/souk/web"
)

// TestBrowserSellerToBuyerWithFailingInterface drives the console in a
// headless Chromium, one browser context per person, against a
// marketplace running in this process on the real clock with its
// delivery engine started, and a reference seller on a real port:
//
//   - a vendor registers, applies to sell through the seller centre, an
//     operator approves it, it certifies its business information and the
//     operator approves that;
//   - it creates a SaaS product with one monthly spec whose production URL
//     is the reference seller's, reads the access key from the page shown
//     once, submits the draft, and the operator approves it;
//   - the seller's newInstance is made to fail; a buyer finds the product
//     in the catalogue, buys it through the confirmation page and sees the
//     instance provisioning;
//   - the seller sees the newInstance message retrying with the seller's
//     exception (000005 and its message), fixes its interface, re-invokes
//     the call with a reason, and the buyer's instance becomes active.
//
// It runs on SQLite and on PostgreSQL (storetest.Each), with one
// Chromium. Screenshots of the main pages are saved on the way, in the
// SQLite run (screenshotDir).
func TestBrowserSellerToBuyerWithFailingInterface(t *testing.T) {
	start := time.Now()
	chrome := startChrome(t) // skips, or fails in CI, without a Chromium
	t.Logf("Chromium started in %s; screenshots go to %s", time.Since(start).Round(time.Millisecond), chrome.shots)
	storetest.Each(t, souk.SystemClock{}, func(t *testing.T, db *store.DB) {
		browserScenario(t, chrome, db, db.Engine() == store.SQLite)
	})
}

// browserScenario runs the scenario on db in new tabs of chrome, saving
// screenshots when shots is set.
func browserScenario(t *testing.T, chrome *chrome, db *store.DB, shots bool) {
	start := time.Now()
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	keys, err := catalog.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	set := catalog.Settings{Keys: keys, AllowPrivateURLs: true}
	engine := delivery.New(db, protocol.NewClient(protocol.Default, time.Now, 4), catalog.Targets{DB: db, Settings: set},
		order.Hooks(), delivery.Config{Poll: 200 * time.Millisecond})
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(engine.Stop)
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Config{DB: db, Catalog: set, Orders: engine}).Handler())
	mux.Handle("/", web.New(web.Config{DB: db, Catalog: set, Engine: engine}).Handler())
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)

	// The reference seller's port is reserved now, so that its production
	// URL can be typed into the product form; it starts once the access
	// key is known.
	sellerListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sellerBase := "http://" + sellerListener.Addr().String()
	productionURL := sellerBase + "/produce"

	opEmail := fmt.Sprintf("operator%d@example.com", unique())
	opUser, err := account.CreateUser(ctx, db, system, account.Registration{Email: opEmail, Name: "Olga Operator",
		Password: password, Role: souk.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}

	vendor := chrome.newTabIn(t, "seller", site.URL, shots)
	ops := chrome.newTabIn(t, "operator", site.URL, shots)
	shopper := chrome.newTabIn(t, "buyer", site.URL, shots)

	// The operator logs in.
	ops.open("/login", 200)
	ops.fill(`form[action="/login"]`, "email", opEmail, "password", password)
	ops.submit(`form[action="/login"] button`, 200)
	ops.mustSee("Olga Operator")

	// A vendor registers as a buyer and applies to sell.
	n := unique()
	vendor.open("/register", 200)
	vendor.fill(`form[action="/register"]`, "name", "Sam Seller", "email", fmt.Sprintf("seller%d@example.com", n), "password", password)
	vendor.submit(`form[action="/register"] button`, 200)
	vendor.open("/seller", 200)
	vendor.fill(`form[action="/seller/apply"]`, "company_name", "Notes Ltd", "registration_number", fmt.Sprintf("91310000MA%08d", n),
		"contact_name", "Sam Seller", "contact_email", "sales@notes.example", "contact_phone", "+86 21 5555 0100")
	vendor.submit(`form[action="/seller/apply"] button`, 200)
	vendor.mustSee("Notes Ltd", "pending")

	// The operator approves the seller.
	ops.open("/ops/review", 200)
	ops.mustSee("Notes Ltd")
	ops.shot("ops-review-seller", false)
	ops.submit(`form[action^="/ops/review/sellers/"][action$="/approve"] button`, 200)
	ops.mustSee("was approved")

	// The seller certifies its business information; the operator
	// approves it.
	vendor.open("/seller", 200)
	vendor.fill(`form[action="/seller/certification"]`, "account_holder", "Notes Ltd", "bank", "Bank of Example",
		"account_number", "6222 0210 0112 3456 789", "tax_registration", "91310000MA1FL0000X", "tax_rate", "6")
	vendor.submit(`form[action="/seller/certification"] button`, 200)
	vendor.mustSee("submitted for review")
	ops.open("/ops/review", 200)
	ops.shot("ops-review-certification", false)
	ops.submit(`form[action^="/ops/review/certifications/"][action$="/approve"] button`, 200)
	ops.mustSee("was approved")
	vendor.open("/seller", 200)
	vendor.mustSee("Certified")
	vendor.shot("seller-centre", true)

	// The seller creates a product whose production URL is the reference
	// seller's, and reads its access key from the page shown once.
	vendor.open("/seller/products/new", 200)
	vendor.shot("seller-product-form", false)
	const productForm = `form.product-form`
	vendor.fill(productForm, "type", "saas", "name", "Souk Notes", "description", "Shared notes for small teams.",
		"production_url", productionURL, "spec0_code", "basic", "spec0_name", "Basic", "spec0_charging", "PERIOD",
		"spec0_period", "month", "spec0_price", "99.00", "spec0_currency", "CNY")
	vendor.submit(productForm+` button:not([type="button"])`, 200)
	accessKey := vendor.textOf(`pre.secret-value`)
	if len(accessKey) < 32 {
		vendor.fatalf("no access key on the page after creating the product (%q)", accessKey)
	}
	vendor.shot("seller-product-created", false)
	draft := vendor.href(`a.button[href^="/seller/applications/"]`)

	// The reference seller starts with the key, failing every newInstance.
	refs, err := refseller.New(refseller.Config{Addr: sellerListener.Addr().String(), Key: accessKey, DataDir: t.TempDir(),
		Faults: refseller.Faults{FailActivities: []protocol.Activity{protocol.NewInstance}}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- refs.Serve(ctx, sellerListener) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("reference seller: %v", err)
		}
		refs.Close()
	})

	// The seller submits the draft; the operator approves it.
	vendor.open(draft, 200)
	vendor.shot("seller-application", false)
	vendor.submit(`form[action$="/submit"] button`, 200)
	vendor.mustSee("submitted for review")
	ops.open("/ops/review", 200)
	ops.mustSee("Souk Notes")
	ops.shot("ops-review-application", true)
	ops.open(ops.href(`a[href^="/ops/review/applications/"]`), 200)
	ops.shot("ops-application", false)
	ops.submit(`form[action$="/approve"] button`, 200)
	ops.mustSee("was approved")

	// A buyer registers; the operator tops the balance up.
	shopperEmail := fmt.Sprintf("buyer%d@example.com", unique())
	shopper.open("/register", 200)
	shopper.fill(`form[action="/register"]`, "name", "Bea Buyer", "email", shopperEmail, "password", password)
	shopper.submit(`form[action="/register"] button`, 200)
	shopper.mustSee("Bea Buyer")
	sess, _, err := account.Login(ctx, db, shopperEmail, password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settle.TopUp(ctx, db, opUser.Actor(), sess.UserID, settle.M(50000, "CNY")); err != nil {
		t.Fatal(err)
	}

	// The buyer finds the product in the catalogue and buys it.
	shopper.open("/", 200)
	shopper.mustSee("Souk Notes")
	shopper.shot("catalogue", true)
	shopper.open(shopper.linkTo(`^/products/[^/]+$`), 200)
	shopper.mustSee("Souk Notes", "Notes Ltd", "99.00")
	shopper.shot("product", false)
	shopper.submit(`#spec-basic form button`, 200)
	shopper.mustSee("Confirm your purchase", "500.00", "401.00")
	shopper.shot("buy-confirmation", false)
	shopper.submit(`form.buy-confirm button`, 200)
	instance := shopper.location()
	if !strings.HasPrefix(instance, "/my/instances/") {
		shopper.fatalf("after buying the page is %s, not an instance's", instance)
	}
	shopper.mustSee("Thank you", "provisioning")
	shopper.shot("instance-provisioning", false)
	shopper.open("/my/instances", 200)
	shopper.mustSee("Souk Notes", "provisioning")
	shopper.shot("my-instances", false)

	// The seller sees its newInstance failing with its exception.
	vendor.reloadUntil("/seller/messages", 15*time.Second, "the newInstance call to fail", func(text string) bool {
		return strings.Contains(text, "newInstance") && strings.Contains(text, "000005")
	})
	vendor.shot("seller-messages", true)
	messagePath := vendor.linkTo(`^/seller/messages/\d+$`)
	vendor.open(messagePath, 200)
	vendor.mustSee("newInstance", "retrying", "000005", "injected failure")
	vendor.shot("seller-message-failing", false)
	callID, err := strconv.ParseInt(strings.TrimPrefix(messagePath, "/seller/messages/"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// It fixes its interface (no more faults) and re-invokes the call.
	fix, err := http.NewRequest("POST", sellerBase+"/control", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	fix.Header.Set(refseller.HeaderControlKey, accessKey)
	fix.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(fix)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /control: %d %s", resp.StatusCode, body)
	}
	// What the call is at as the seller re-invokes it: retrying after
	// failures answered 000005 (one, unless this machine was so slow that
	// the engine's own retry came first), and when it would be retried.
	failing, err := delivery.GetMessage(ctx, db, callID, "")
	if err != nil {
		t.Fatal(err)
	}
	tried := len(failing.Attempts)
	if failing.Call.State != delivery.Retrying || tried == 0 || failing.Attempts[tried-1].ResultCode != "000005" {
		t.Fatalf("the call before re-invoking it: %s after %d attempts, want retrying after 000005", failing.Call.State, tried)
	}
	retryAt := failing.Call.NextAt
	if !vendor.has(`form[action$="/reinvoke"]`) {
		vendor.fatalf("the message of a call still retrying offers no re-invoke form")
	}
	vendor.fill(`form[action$="/reinvoke"]`, "reason", "Fixed the database connection of our production interface.")
	vendor.submit(`form[action$="/reinvoke"] button`, 200)
	vendor.mustSee("re-invoked")

	// The call is sent at once, succeeds, and the instance is active.
	shopper.reloadUntil(instance, 15*time.Second, "the instance to become active", func(string) bool {
		return shopper.textOf(`dl.facts .state`) == "active"
	})
	shopper.mustSee("Active since")
	shopper.shot("instance-active", true)
	vendor.reloadUntil(vendor.location(), 10*time.Second, "the message to show the call succeeded", func(text string) bool {
		return strings.Contains(text, "succeeded") && strings.Contains(text, "Fixed the database connection")
	})
	vendor.shot("seller-message-fixed", false)
	fixed, err := delivery.GetMessage(ctx, db, callID, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fixed.Attempts); n != tried+1 || fixed.Call.State != delivery.Succeeded || len(fixed.Reinvocations) != 1 {
		t.Fatalf("the call after re-invoking: %s, %d attempts, %d re-invocations; want succeeded, %d, 1", fixed.Call.State, n, len(fixed.Reinvocations), tried+1)
	}
	if at := fixed.Attempts[tried].StartedAt; !at.Before(retryAt) {
		t.Errorf("the re-invoked call was sent at %s, not at once: its automatic retry was due at %s", at, retryAt)
	}

	// The operator's console.
	ops.open("/ops", 200)
	ops.shot("ops-dashboard", false)
	ops.open("/ops/messages", 200)
	ops.mustSee("newInstance")
	ops.shot("ops-messages", false)

	t.Logf("the scenario took %s", time.Since(start).Round(time.Millisecond))
}
