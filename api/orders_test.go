package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/api"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// newOrdersAPI serves the API with testSettings and a delivery engine with
// the order hooks. The engine is never started: the calls orders enqueue
// wait in its table.
func newOrdersAPI(t *testing.T, db *store.DB) (*api.Server, string, *delivery.Engine) {
	t.Helper()
	set := testSettings(t)
	client := protocol.NewClient(protocol.Default, db.Clock().Now, 2)
	eng := delivery.New(db, client, catalog.Targets{DB: db, Settings: set}, order.Hooks(), delivery.Config{})
	srv := api.New(api.Config{DB: db, Catalog: set, Orders: eng})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts.URL, eng
}

// activate ends instance id's provisioning as the delivery engine does when
// the seller's newInstance answer succeeds: through the order hooks.
func activate(t *testing.T, db *store.DB, id string) {
	t.Helper()
	body, err := json.Marshal(protocol.NewInstanceResponse{Result: protocol.Result{ResultCode: "000000", ResultMsg: "success"},
		InstanceID: "seller-" + id, AppInfo: &protocol.AppInfo{FrontEndURL: "https://seller.example/app", AdminURL: "https://seller.example/admin"}})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Tx(t.Context(), func(tx *store.Tx) error {
		return order.Hooks().Succeeded(t.Context(), tx, &delivery.Call{Activity: protocol.NewInstance, Key: id},
			&protocol.Outcome{Kind: protocol.OutcomeSuccess, Activity: protocol.NewInstance, ResponseBody: body})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// cny returns the CNY amount of a GET /me/balance answer, 0 if none.
func cny(t *testing.T, c *client) float64 {
	t.Helper()
	for _, m := range c.list("/api/v1/me/balance") {
		if at(m, "currency") == "CNY" {
			return at(m, "amount").(float64)
		}
	}
	return 0
}

// TestOrdersFlow: an operator tops a buyer up through the API; the buyer
// buys a listed spec, repeats the request with the same Idempotency-Key,
// is refused what the balance cannot pay, reads the order and instance
// (another buyer cannot), and unsubscribes for a refund.
func TestOrdersFlow(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		_, base, _ := newOrdersAPI(t, db)
		w := newWorld(t, db, base, testSettings(t))
		op := w.as[operator]
		ann, annUser := newUser(t, db, base, souk.RoleBuyer, "")
		bob, _ := newUser(t, db, base, souk.RoleBuyer, "")

		if got := ann.list("/api/v1/me/balance"); len(got) != 0 {
			t.Fatalf("balance before any top-up = %v, want none", got)
		}
		st, body := op.do("POST", "/api/v1/buyers/"+annUser.ID+"/top-up", map[string]any{"amount": 20000, "currency": "CNY"})
		must(t, "top up", http.StatusOK, st, body)
		if body["amount"] != 20000.0 || body["currency"] != "CNY" {
			t.Fatalf("top-up answer = %v, want the new balance 20000 CNY", body)
		}
		if got := cny(t, ann); got != 20000 {
			t.Fatalf("balance after the top-up = %v, want 20000", got)
		}

		// The purchase: the price leaves the balance.
		keyed := *ann
		keyed.hdr = map[string]string{"Idempotency-Key": "buy-basic-1"}
		buy := map[string]any{"productId": w.listed, "specCode": "basic", "periods": 1}
		st, ord := keyed.do("POST", "/api/v1/orders", buy)
		must(t, "buy", http.StatusCreated, st, ord)
		orderID, _ := ord["id"].(string)
		lines, _ := ord["lines"].([]any)
		if orderID == "" || ord["type"] != "NEW" || ord["state"] != "paid" || at(ord, "amount.amount") != 9900.0 ||
			at(ord, "amount.currency") != "CNY" || ord["idempotencyKey"] != "buy-basic-1" || len(lines) != 1 {
			t.Fatalf("order = %v, want a paid NEW order of 9900 CNY with one line", ord)
		}
		instanceID, _ := at(lines[0], "instanceId").(string)
		if at(lines[0], "productId") != w.listed || at(lines[0], "specCode") != "basic" || instanceID == "" {
			t.Fatalf("order line = %v, want basic of %s with its instance", lines[0], w.listed)
		}
		if got := cny(t, ann); got != 20000-9900 {
			t.Fatalf("balance after buying = %v, want %d", got, 20000-9900)
		}
		var mine []map[string]any
		listJSON(t, ann, "/api/v1/my/orders", &mine)
		if len(mine) != 1 || mine[0]["id"] != orderID {
			t.Fatalf("GET /api/v1/my/orders = %v, want [%s]", mine, orderID)
		}
		listJSON(t, ann, "/api/v1/my/instances", &mine)
		if len(mine) != 1 || mine[0]["id"] != instanceID {
			t.Fatalf("GET /api/v1/my/instances = %v, want [%s]", mine, instanceID)
		}

		// The same key: the same order, no second debit.
		st, again := keyed.do("POST", "/api/v1/orders", buy)
		must(t, "buy again with the same key", http.StatusOK, st, again)
		if again["id"] != orderID {
			t.Fatalf("repeat with the same key = order %v, want %s", again["id"], orderID)
		}
		if got := cny(t, ann); got != 20000-9900 {
			t.Fatalf("balance after the repeat = %v, want %d (no second debit)", got, 20000-9900)
		}

		// What the balance cannot pay is refused, and nothing moves.
		st, body = ann.do("POST", "/api/v1/orders", map[string]any{"productId": w.listed, "specCode": "pro"})
		refused(t, "buy beyond the balance", http.StatusConflict, st, body, "Insufficient balance")
		if got := cny(t, ann); got != 20000-9900 {
			t.Fatalf("balance after a refused purchase = %v, want %d", got, 20000-9900)
		}

		// The buyer sees their order and instance; another buyer sees
		// neither, as if they did not exist.
		st, body = ann.do("GET", "/api/v1/orders/"+orderID, nil)
		must(t, "get the order", http.StatusOK, st, body)
		if body["id"] != orderID || body["buyerId"] != annUser.ID {
			t.Fatalf("order = %v, want %s of %s", body, orderID, annUser.ID)
		}
		st, inst := ann.do("GET", "/api/v1/instances/"+instanceID, nil)
		must(t, "get the instance", http.StatusOK, st, inst)
		if inst["state"] != "provisioning" || inst["orderId"] != orderID || inst["expiresAt"] == nil {
			t.Fatalf("instance = %v, want provisioning for order %s, with an expiry", inst, orderID)
		}
		st, body = bob.do("GET", "/api/v1/orders/"+orderID, nil)
		must(t, "another buyer gets the order", http.StatusNotFound, st, body)
		st, body = bob.do("GET", "/api/v1/instances/"+instanceID, nil)
		must(t, "another buyer gets the instance", http.StatusNotFound, st, body)
		st, body = op.do("GET", "/api/v1/orders/"+orderID, nil)
		must(t, "an operator gets the order", http.StatusOK, st, body)

		// Still provisioning: it cannot be unsubscribed yet.
		st, body = ann.do("POST", "/api/v1/instances/"+instanceID+"/unsubscribe", nil)
		must(t, "unsubscribe while provisioning", http.StatusConflict, st, body)

		// The seller provisions it; the buyer renews it, then unsubscribes
		// at once and gets the unused part — all of both months — back.
		activate(t, db, instanceID)
		if _, inst := ann.do("GET", "/api/v1/instances/"+instanceID, nil); inst["state"] != "active" || inst["frontEndUrl"] != "https://seller.example/app" {
			t.Fatalf("instance after provisioning = %v, want active with its front-end URL", inst)
		}

		// A month more, paid in advance; the same key renews once.
		renew := *ann
		renew.hdr = map[string]string{"Idempotency-Key": "renew-1"}
		st, ren := renew.do("POST", "/api/v1/instances/"+instanceID+"/renew", map[string]any{"periods": 1})
		must(t, "renew", http.StatusCreated, st, ren)
		if ren["type"] != "RENEW" || at(ren, "amount.amount") != 9900.0 {
			t.Fatalf("renewal = %v, want a RENEW order of 9900", ren)
		}
		st, again = renew.do("POST", "/api/v1/instances/"+instanceID+"/renew", map[string]any{"periods": 1})
		must(t, "renew again with the same key", http.StatusOK, st, again)
		if again["id"] != ren["id"] {
			t.Fatalf("repeated renewal = order %v, want %v", again["id"], ren["id"])
		}
		if got := cny(t, ann); got != 20000-2*9900 {
			t.Fatalf("balance after renewing = %v, want %d", got, 20000-2*9900)
		}

		unsub := *ann
		unsub.hdr = map[string]string{"Idempotency-Key": "unsub-1"}
		st, body = unsub.do("POST", "/api/v1/instances/"+instanceID+"/unsubscribe", nil)
		must(t, "unsubscribe", http.StatusCreated, st, body)
		if body["type"] != "UNSUBSCRIBE" || at(body, "amount.amount") != 2*9900.0 {
			t.Fatalf("unsubscription = %v, want an UNSUBSCRIBE order refunding both months, 19800", body)
		}
		st, again = unsub.do("POST", "/api/v1/instances/"+instanceID+"/unsubscribe", nil)
		must(t, "unsubscribe again with the same key", http.StatusOK, st, again)
		if again["id"] != body["id"] {
			t.Fatalf("repeated unsubscription = order %v, want %v", again["id"], body["id"])
		}
		if got := cny(t, ann); got != 20000 {
			t.Fatalf("balance after unsubscribing = %v, want 20000 (the refund)", got)
		}
		if _, inst := ann.do("GET", "/api/v1/instances/"+instanceID, nil); inst["state"] != "released" {
			t.Fatalf("instance after unsubscribing = %v, want released", inst)
		}
		if err := settle.CheckInvariant(t.Context(), db); err != nil {
			t.Fatalf("ledger invariant: %v", err)
		}
	})
}

// TestOrderRoutesWithoutEngine: a server configured without a delivery
// engine refuses to place orders with 500, and moves no money.
func TestOrderRoutesWithoutEngine(t *testing.T) {
	db := storetest.OpenSQLite(t, souk.NewFakeClock(t0))
	_, base := newCatalogAPI(t, db)
	w := newWorld(t, db, base, testSettings(t))
	if _, err := settle.TopUp(t.Context(), db, system, w.buyerUser, settle.M(9900, "CNY")); err != nil {
		t.Fatal(err)
	}
	st, body := w.as[buyer].do("POST", "/api/v1/orders", map[string]any{"productId": w.listed, "specCode": "basic"})
	if st != http.StatusInternalServerError || !strings.Contains(message(body), "Internal error") {
		t.Fatalf("buy without an engine = %d %v, want 500", st, body)
	}
	if got := cny(t, w.as[buyer]); got != 9900 {
		t.Fatalf("balance = %v, want 9900 untouched", got)
	}
}

// listJSON GETs path as c and decodes the JSON array it answers into v.
func listJSON(t *testing.T, c *client, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
