package order_test

import (
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/settle"
)

// Quote gives the price and expiry Purchase then charges, refuses what
// Purchase would refuse, and UnusedPart gives what unsubscribing refunds.
func TestQuoteAndUnusedPart(t *testing.T) {
	each(t, sellerOpts{}, func(t *testing.T, e *env) {
		b := e.buyer(t, 10_000_000)
		req := order.PurchaseRequest{ProductID: e.product, SpecCode: "pro", Quantity: 10, Periods: 2}
		price, expires, err := order.Quote(ctx, e.db, b, req)
		if err != nil {
			t.Fatal(err)
		}
		if price != settle.M(99000*10*2, "CNY") || !expires.Equal(t0.AddDate(2, 0, 0)) {
			t.Fatalf("Quote() = %v, %v", price, expires)
		}
		o, err := order.Purchase(ctx, e.db, e.engine, b, req)
		if err != nil {
			t.Fatal(err)
		}
		if o.Amount != price {
			t.Fatalf("Purchase charged %v, Quote said %v", o.Amount, price)
		}
		if _, _, err := order.Quote(ctx, e.db, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "vip"}); souk.ErrorCode(err) != souk.EUNAUTHORIZED {
			t.Fatalf("Quote(restricted) = %v", err)
		}
		if _, _, err := order.Quote(ctx, e.db, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "pro", Quantity: 7}); souk.ErrorCode(err) != souk.EINVALID {
			t.Fatalf("Quote(bad quantity) = %v", err)
		}

		e.clock.Set(t0.Add(24 * time.Hour))
		part, err := order.UnusedPart(ctx, e.db, b, o.Lines[0].InstanceID)
		if err != nil {
			t.Fatal(err)
		}
		if part.Currency != "CNY" || part.Amount <= 0 || part.Amount >= price.Amount {
			t.Fatalf("UnusedPart() = %v", part)
		}
		other := e.buyer(t, 0)
		if _, err := order.UnusedPart(ctx, e.db, other, o.Lines[0].InstanceID); souk.ErrorCode(err) != souk.ENOTFOUND {
			t.Fatalf("UnusedPart(other buyer) = %v", err)
		}
	})
}
