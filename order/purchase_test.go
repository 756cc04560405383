package order_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/settle"
)

// Purchase → newInstance → active: the money moves once, the seller
// receives exactly one newInstance, and the instance records its answer.
func TestPurchaseBecomesActive(t *testing.T) {
	each(t, sellerOpts{}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{
			ProductID: e.product, SpecCode: "basic", Periods: 3}))
		if o.Type != order.New || o.State != order.Paid || o.Amount != settle.M(29700, "CNY") || o.BuyerID != b.UserID || o.Repeated {
			t.Fatalf("Purchase() = %+v, want a paid NEW order of 297.00 CNY", o)
		}
		if len(o.Lines) != 1 || o.Lines[0].Periods != 3 || o.Lines[0].Quantity != 1 || o.Lines[0].UnitPrice != settle.M(9900, "CNY") {
			t.Fatalf("lines = %+v", o.Lines)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-29700 {
			t.Fatalf("buyer balance = %d, want %d", got, 100000-29700)
		}
		if got := e.balance(t, settle.PlatformClearing); got != 29700 {
			t.Fatalf("clearing = %d, want 29700", got)
		}
		in := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, o.Lines[0].InstanceID))
		if in.State != order.Provisioning || !in.ExpiresAt.Equal(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("instance = %+v, want provisioning until 2027-03-01 09:00", in)
		}

		e.drive(t, time.Hour)
		if got := e.received.got(); !slices.Equal(got, []string{"newInstance"}) {
			t.Fatalf("the seller received %v, want [newInstance]", got)
		}
		in = mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, in.ID))
		if in.State != order.Active || !strings.HasPrefix(in.SellerInstanceID, "ins-") ||
			!strings.HasSuffix(in.FrontEndURL, "/app/"+in.SellerInstanceID) || in.ActivatedAt.IsZero() {
			t.Fatalf("instance after delivery = %+v, want active with the seller's instance", in)
		}
		o = mustValue[order.Order](t)(order.GetOrder(ctx, e.db, b, o.ID))
		if o.State != order.Completed {
			t.Fatalf("order = %s, want completed", o.State)
		}
		// Nobody else sees them.
		other := e.buyer(t, 0)
		wantCode(t, "GetOrder(another buyer)", errOf(order.GetOrder(ctx, e.db, other, o.ID)), souk.ENOTFOUND)
		wantCode(t, "GetInstance(another buyer)", errOf(order.GetInstance(ctx, e.db, other, in.ID)), souk.ENOTFOUND)
		mustValue[order.Order](t)(order.GetOrder(ctx, e.db, operator, o.ID))
	})
}

// The price rule: unit price × units × periods, exact.
func TestPurchasePriceAndExpiry(t *testing.T) {
	each(t, sellerOpts{}, func(t *testing.T, e *env) {
		b := e.buyer(t, 10_000_000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{
			ProductID: e.product, SpecCode: "pro", Quantity: 10, Periods: 2}))
		if o.Amount != settle.M(99000*10*2, "CNY") {
			t.Fatalf("amount = %v, want 99000 × 10 users × 2 years", o.Amount)
		}
		in := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, o.Lines[0].InstanceID))
		if in.Quantity != 10 || !in.ExpiresAt.Equal(t0.AddDate(2, 0, 0)) {
			t.Fatalf("instance = %+v, want 10 users until %v", in, t0.AddDate(2, 0, 0))
		}
		o = mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "once"}))
		if o.Amount != settle.M(50000, "CNY") {
			t.Fatalf("one-time amount = %v", o.Amount)
		}
		in = mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, o.Lines[0].InstanceID))
		if !in.ExpiresAt.IsZero() {
			t.Fatalf("a one-time purchase expires at %v", in.ExpiresAt)
		}
		for name, req := range map[string]order.PurchaseRequest{
			"quantity off step":    {SpecCode: "pro", Quantity: 7, Periods: 1},
			"too many periods":     {SpecCode: "basic", Periods: 121},
			"negative periods":     {SpecCode: "basic", Periods: -1},
			"periods of one-time":  {SpecCode: "once", Periods: 2},
			"quantity of a single": {SpecCode: "basic", Quantity: 3},
		} {
			req.ProductID = e.product
			wantCode(t, "Purchase("+name+")", errOf(order.Purchase(ctx, e.db, e.engine, e.buyer(t, 10_000_000), req)), souk.EINVALID)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 10_000_000-1_980_000-50000 {
			t.Fatalf("balance = %d", got)
		}
	})
}

// An asynchronous seller answers 000004; the engine polls queryInstance
// until the instance is ready, and the hook records the polled answer.
func TestAsyncPurchasePollsUntilActive(t *testing.T) {
	each(t, sellerOpts{async: 30 * time.Second}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic"}))
		e.drive(t, time.Hour)
		got := e.received.got()
		if len(got) < 2 || got[0] != "newInstance" || slices.ContainsFunc(got[1:], func(a string) bool { return a != "queryInstance" }) {
			t.Fatalf("the seller received %v, want newInstance then queryInstance polls", got)
		}
		in := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, o.Lines[0].InstanceID))
		if in.State != order.Active || in.SellerInstanceID == "" || !strings.HasSuffix(in.FrontEndURL, "/app/"+in.SellerInstanceID) {
			t.Fatalf("instance = %+v, want active with the polled instance info", in)
		}
		if !in.ActivatedAt.After(t0.Add(29 * time.Second)) {
			t.Fatalf("activated at %v, before the seller was ready", in.ActivatedAt)
		}
		if o = mustValue[order.Order](t)(order.GetOrder(ctx, e.db, b, o.ID)); o.State != order.Completed {
			t.Fatalf("order = %s, want completed", o.State)
		}
	})
}

// A seller that fails every newInstance for the whole new-purchase
// schedule: the order fails and the buyer gets every fen back.
func TestSellerFailingThreeHoursFailsAndRefunds(t *testing.T) {
	faults := refseller.Faults{FailActivities: []protocol.Activity{protocol.NewInstance}}
	each(t, sellerOpts{faults: faults}, func(t *testing.T, e *env) {
		b := e.buyer(t, 200000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic", Periods: 12}))
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 200000-9900*12 {
			t.Fatalf("balance after purchase = %d", got)
		}
		e.drive(t, 24*time.Hour)
		if elapsed := e.clock.Now().Sub(t0); elapsed < 2*time.Hour || elapsed > 3*time.Hour {
			t.Fatalf("the engine gave up after %v, want within the 3 h schedule", elapsed)
		}
		got := e.received.got()
		if len(got) < 10 || slices.ContainsFunc(got, func(a string) bool { return a != "newInstance!" }) {
			t.Fatalf("the seller received %v, want only failed newInstance calls, many", got)
		}
		o = mustValue[order.Order](t)(order.GetOrder(ctx, e.db, b, o.ID))
		if o.State != order.Failed || !strings.Contains(o.Reason, "refunded") {
			t.Fatalf("order = %s (%q), want failed and refunded", o.State, o.Reason)
		}
		in := mustValue[order.Instance](t)(order.GetInstance(ctx, e.db, b, o.Lines[0].InstanceID))
		if in.State != order.InstanceFailed {
			t.Fatalf("instance = %s, want failed", in.State)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 200000 {
			t.Fatalf("balance after refund = %d, want 200000", got)
		}
		if got := e.balance(t, settle.PlatformClearing); got != 0 {
			t.Fatalf("clearing after refund = %d, want 0", got)
		}
		e.wantNotices(t, b, "order.failed")
		// A failed purchase does not count toward limits: buy again.
		mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic"}))
	})
}

func TestIdempotencyKeyNeverBuysTwice(t *testing.T) {
	each(t, sellerOpts{}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		req := order.PurchaseRequest{ProductID: e.product, SpecCode: "basic", IdempotencyKey: "retry-me"}
		first := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, req))
		again := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, req))
		if again.ID != first.ID || !again.Repeated || first.Repeated || first.IdempotencyKey != "retry-me" {
			t.Fatalf("second Purchase() = %s (repeated %v), want %s repeated", again.ID, again.Repeated, first.ID)
		}
		// Even after delivery, and whatever else the repeat says.
		e.drive(t, time.Hour)
		req.Periods = 5
		again = mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, b, req))
		if again.ID != first.ID || again.State != order.Completed {
			t.Fatalf("third Purchase() = %s %s, want %s completed", again.ID, again.State, first.ID)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900 {
			t.Fatalf("balance = %d, want one payment taken", got)
		}
		if n := e.count(t, "delivery_calls"); n != 1 {
			t.Fatalf("%d calls enqueued, want 1", n)
		}
		if got := e.received.got(); !slices.Equal(got, []string{"newInstance"}) {
			t.Fatalf("the seller received %v", got)
		}
		// The key is the buyer's own: another buyer's same key buys.
		other := e.buyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, other, req))
		if o.ID == first.ID || o.Repeated {
			t.Fatalf("another buyer's purchase with the same key = %s", o.ID)
		}
		wantCode(t, "Purchase(key too long)", errOf(order.Purchase(ctx, e.db, e.engine, b,
			order.PurchaseRequest{ProductID: e.product, SpecCode: "basic", IdempotencyKey: strings.Repeat("k", 256)})), souk.EINVALID)
	})
}

// Refusals move no money, create no order and enqueue nothing.
func TestRefusedPurchasesChangeNothing(t *testing.T) {
	each(t, sellerOpts{}, func(t *testing.T, e *env) {
		poor := e.buyer(t, 5000)
		_, err := order.Purchase(ctx, e.db, e.engine, poor, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic"})
		wantCode(t, "Purchase(insufficient balance)", err, souk.ECONFLICT)
		if msg := souk.ErrorMessage(err); msg != "Insufficient balance: 50.00 CNY available, 99.00 CNY needed." {
			t.Fatalf("message = %q", msg)
		}
		rich := e.buyer(t, 1_000_000)
		cases := []struct {
			name string
			by   souk.Actor
			req  order.PurchaseRequest
			code string
		}{
			{"restricted spec", rich, order.PurchaseRequest{ProductID: e.product, SpecCode: "vip"}, souk.EUNAUTHORIZED},
			{"no such spec", rich, order.PurchaseRequest{ProductID: e.product, SpecCode: "gold"}, souk.ENOTFOUND},
			{"no such product", rich, order.PurchaseRequest{ProductID: "prod-nope", SpecCode: "basic"}, souk.ENOTFOUND},
			{"not a buyer", e.seller, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic"}, souk.EUNAUTHORIZED},
			{"operator", operator, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic"}, souk.EUNAUTHORIZED},
			{"anonymous", souk.Actor{}, order.PurchaseRequest{ProductID: e.product, SpecCode: "basic"}, souk.EUNAUTHENTICATED},
			{"no spec", rich, order.PurchaseRequest{ProductID: e.product}, souk.EINVALID},
		}
		for _, c := range cases {
			wantCode(t, "Purchase("+c.name+")", errOf(order.Purchase(ctx, e.db, e.engine, c.by, c.req)), c.code)
		}
		for _, table := range []string{"orders", "order_lines", "order_instances", "delivery_calls"} {
			if n := e.count(t, table); n != 0 {
				t.Fatalf("%d rows in %s after refused purchases", n, table)
			}
		}
		if got := e.balance(t, settle.BuyerBalance(poor.UserID)); got != 5000 {
			t.Fatalf("poor balance = %d", got)
		}
		if got := e.balance(t, settle.BuyerBalance(rich.UserID)); got != 1_000_000 {
			t.Fatalf("rich balance = %d", got)
		}

		// A purchase limit: once per buyer; the second is refused and
		// changes nothing.
		mustValue[order.Order](t)(order.Purchase(ctx, e.db, e.engine, rich, order.PurchaseRequest{ProductID: e.product, SpecCode: "once"}))
		wantCode(t, "Purchase(second of a once-only spec)",
			errOf(order.Purchase(ctx, e.db, e.engine, rich, order.PurchaseRequest{ProductID: e.product, SpecCode: "once"})), souk.ECONFLICT)
		if n := e.count(t, "delivery_calls"); n != 1 {
			t.Fatalf("%d calls after a refused second purchase, want 1", n)
		}
		if got := e.balance(t, settle.BuyerBalance(rich.UserID)); got != 1_000_000-50000 {
			t.Fatalf("rich balance = %d, want one payment", got)
		}
	})
}

func errOf[T any](_ T, err error) error { return err }

// Concurrent repeats of one request (a client retrying while the first is
// still running) buy once.
func TestConcurrentRepeatsBuyOnce(t *testing.T) {
	each(t, sellerOpts{}, func(t *testing.T, e *env) {
		b := e.buyer(t, 100000)
		req := order.PurchaseRequest{ProductID: e.product, SpecCode: "basic", IdempotencyKey: "double-click"}
		ids := make([]string, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o, err := order.Purchase(ctx, e.db, e.engine, b, req)
				ids[i], errs[i] = o.ID, err
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("Purchase() #%d = %s, %v; want %s", i, ids[i], errs[i], ids[0])
			}
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900 {
			t.Fatalf("balance = %d, want one payment", got)
		}
		if n := e.count(t, "delivery_calls"); n != 1 {
			t.Fatalf("%d calls, want 1", n)
		}
	})
}
