package catalog_test

import (
	"context"
	"net"
	"testing"

	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/store"
)

// A listed product's calls reach its seller: the delivery engine, resolving
// the product through catalog.Targets, provisions an instance on a real
// reference seller that holds the product's access key.
func TestTargetsDeliverToTheListedProductionURL(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.set.AllowPrivateURLs = true // the seller runs on this machine
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		m := e.newSeller(t, certifiedSeller)
		p := product()
		p.ProductionURL = "http://" + ln.Addr().String() + "/produce"
		np := mustValue[catalog.NewProduct](t)(catalog.CreateProduct(ctx, e.db, e.set, m, p))

		targets := catalog.Targets{DB: e.db, Settings: e.set}
		if _, err := targets.Target(ctx, m.SellerID, np.ProductID); err == nil {
			t.Fatalf("Target() of a product not yet listed succeeded")
		}
		must(t, catalog.SubmitApplication(ctx, e.db, e.set, m, np.ApplicationID))
		must(t, catalog.ApproveApplication(ctx, e.db, e.operator, np.ApplicationID))
		target := mustValue[protocol.Target](t)(targets.Target(ctx, m.SellerID, np.ProductID))
		if target.URL != p.ProductionURL || target.AccessKey != np.AccessKey {
			t.Fatalf("Target() = %s with key %.8s…, want %s with the product's key", target.URL, target.AccessKey, p.ProductionURL)
		}
		if _, err := targets.Target(ctx, "another-seller", np.ProductID); err == nil {
			t.Fatalf("Target() for another seller's id succeeded")
		}

		seller, err := refseller.New(refseller.Config{Key: np.AccessKey, DataDir: t.TempDir(), Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithCancel(ctx)
		served := make(chan error, 1)
		go func() { served <- seller.Serve(sctx, ln) }()
		defer func() { stop(); <-served; seller.Close() }()

		engine := delivery.New(e.db, protocol.NewClient(protocol.Default, e.clock.Now, 2), targets, delivery.Hooks{}, delivery.Config{Workers: 2})
		var id int64
		must(t, e.db.Tx(ctx, func(tx *store.Tx) error {
			id, err = engine.Enqueue(ctx, tx, delivery.NewCall{SellerID: m.SellerID, ProductID: np.ProductID, Key: "order-1",
				Policy: delivery.NewPurchase, Request: &protocol.NewInstanceRequest{BusinessID: "b-1", OrderID: "order-1", OrderLineID: "line-1"}})
			return err
		}))
		if n, err := engine.RunDue(ctx); n != 1 || err != nil {
			t.Fatalf("RunDue() = %d, %v; want 1 call", n, err)
		}
		msg := mustValue[*delivery.Message](t)(delivery.GetMessage(ctx, e.db, id, m.SellerID))
		if msg.Call.State != delivery.Succeeded {
			t.Fatalf("newInstance call = %s (%s), want succeeded", msg.Call.State, msg.Call.LastError)
		}
	})
}
