package web_test

import (
	"fmt"
	"net/url"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// Every page of the seller centre is usable 375 px wide: in a real
// Chromium at that width, no page is wider than the screen (tables scroll
// inside their .table-wrap). Screenshots of each are saved (seller-*-375.png).
func TestSellerPagesAt375(t *testing.T) {
	chrome := startChrome(t) // skips without a Chromium
	db := openSQLiteForBrowser(t)
	s := newSite(t, db)
	ctx := t.Context()

	b, sellerID := s.newSellerMember(true)
	productID, appPath, _ := createProduct(t, b)
	b.post(appPath+"/submit", nil)
	var appID int64
	fmt.Sscan(appPath[len("/seller/applications/"):], &appID)
	if err := catalog.RejectApplication(ctx, db, system, appID, "Add screenshots of the product to its description, and a longer one."); err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, func(tx *store.Tx) error {
		return notify.Post(ctx, tx, notify.Notice{Recipient: "seller:" + sellerID, Kind: "delivery.failed",
			Subject: "A call to your production interface failed", Body: "newInstance of order o-0123456789abcdef failed 5 times: connection refused."})
	}); err != nil {
		t.Fatal(err)
	}
	b.post("/seller/api-credentials", url.Values{"name": {"billing server in the Shanghai region"}})

	tab := chrome.newTab("seller-375", s.base)
	tab.open("/login", 200)
	tab.fill(`form[action="/login"]`, "email", b.User.Email, "password", password)
	tab.submit(`form[action="/login"] button`, 200)
	tab.do("narrow the viewport", chromedp.EmulateViewport(375, 800, chromedp.EmulateScale(1)))

	pages := map[string]string{
		"seller-home":         "/seller",
		"seller-products":     "/seller/products",
		"seller-product":      "/seller/products/" + productID,
		"seller-new-product":  "/seller/products/new",
		"seller-applications": "/seller/applications",
		"seller-app":          appPath,
		"seller-inbox":        "/seller/inbox",
		"seller-credentials":  "/seller/api-credentials",
	}
	for name, path := range pages {
		tab.open(path, 200)
		if w, _ := strconv.Atoi(tab.eval(`String(document.documentElement.scrollWidth)`)); w > 375 {
			tab.saveShot("FAILED-" + name + "-375.png")
			tab.fatalf("%s is %d px wide at 375 px", path, w)
		}
		tab.saveShot(name + "-375.png")
	}
	// The page showing a secret once.
	tab.open("/seller/products/"+productID, 200)
	tab.submit(`form[action$="/rotate-key"] button`, 200)
	tab.mustSee("New access key", "will not be shown again")
	if w, _ := strconv.Atoi(tab.eval(`String(document.documentElement.scrollWidth)`)); w > 375 {
		tab.fatalf("the new key's page is %d px wide at 375 px", w)
	}
	tab.saveShot("seller-secret-375.png")
}

// openSQLiteForBrowser is one engine: the browser test checks layout, not
// storage.
func openSQLiteForBrowser(t *testing.T) *store.DB {
	t.Helper()
	return storetest.OpenSQLite(t, souk.NewFakeClock(t0))
}
