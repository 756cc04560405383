package order_test

import (
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/order"
)

func TestMyOrdersAndInstancesNewestFirstInPages(t *testing.T) {
	each(t, sellerOpts{}, func(t *testing.T, e *env) {
		b, other := e.buyer(t, 10_000_000), e.buyer(t, 10_000_000)
		var want []string
		for range 3 {
			o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic"}))
			want = append([]string{o.ID}, want...)
			e.clock.Advance(time.Second)
		}
		mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, other, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic"}))

		first := mustValue[[]order.Order](t)(order.MyOrders(ctx, e.db, b, order.Page{Limit: 2}))
		if len(first) != 2 || first[0].ID != want[0] || first[1].ID != want[1] {
			t.Fatalf("MyOrders() first page = %v, want %v", ids(first), want[:2])
		}
		rest := mustValue[[]order.Order](t)(order.MyOrders(ctx, e.db, b, order.Page{Limit: 2, Before: first[1].ID}))
		if len(rest) != 1 || rest[0].ID != want[2] {
			t.Fatalf("MyOrders() second page = %v, want [%s]", ids(rest), want[2])
		}
		ins := mustValue[[]order.Instance](t)(order.MyInstances(ctx, e.db, b, order.Page{}))
		if len(ins) != 3 || ins[0].OrderID != want[0] {
			t.Fatalf("MyInstances() = %d instances, newest of order %s; want 3, newest of %s", len(ins), ins[0].OrderID, want[0])
		}
		_, err := order.MyOrders(ctx, e.db, other, order.Page{Before: want[0]})
		wantCode(t, "MyOrders(before another buyer's order)", err, souk.EINVALID)
		_, err = order.MyOrders(ctx, e.db, souk.Actor{UserID: "op", Role: souk.RoleOperator}, order.Page{})
		wantCode(t, "MyOrders(operator)", err, souk.EUNAUTHORIZED)
		_, err = order.MyInstances(ctx, e.db, souk.Actor{}, order.Page{})
		wantCode(t, "MyInstances(anonymous)", err, souk.EUNAUTHENTICATED)
	})
}

func ids(os []order.Order) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.ID)
	}
	return out
}
