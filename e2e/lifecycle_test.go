package e2e

import (
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
)

// Purchase → newInstance → active. The seller receives one newInstance
// with the order's ids and creates the instance; the marketplace keeps the
// seller's answer; the buyer's app page is real; the money moved once.
func TestPurchaseBecomesActive(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{
			ProductID: w.product, SpecCode: "basic", Periods: 3}))
		if o.Type != order.New || o.State != order.Paid || o.Amount != settle.M(29700, "CNY") {
			t.Fatalf("Purchase() = %+v, want a paid NEW order of 297.00 CNY", o)
		}
		instID, lineID := o.Lines[0].InstanceID, o.Lines[0].ID

		w.drive(t, time.Hour)
		w.checkReceived(t, instID, []string{"newInstance"})
		req := decode[protocol.NewInstanceRequest](t, w.attempts(t, instID)[0].Request)
		if req.OrderID != o.ID || req.OrderLineID != lineID || req.BusinessID == "" {
			t.Fatalf("newInstance sent %+v, want order %s line %s", req, o.ID, lineID)
		}

		in := w.instance(t, b, instID)
		if in.State != order.Active || in.SellerInstanceID == "" || in.ActivatedAt.IsZero() ||
			!in.ExpiresAt.Equal(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("instance = %+v, want active until 2027-03-01 09:00 with the seller's instance", in)
		}
		si := w.proc.instance(t, in.SellerInstanceID)
		if si.State != "active" || si.OrderID != o.ID || si.OrderLineID != lineID || !slices.Equal(si.Events, []string{"newInstance:" + o.ID}) {
			t.Fatalf("the seller's instance = %+v, want active for order %s line %s", si, o.ID, lineID)
		}
		if o = w.order(t, b, o.ID); o.State != order.Completed {
			t.Fatalf("order = %s, want completed", o.State)
		}
		// The URL handed to the buyer leads to the seller's real page.
		resp, err := http.Get(in.FrontEndURL)
		must(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), in.SellerInstanceID) {
			t.Fatalf("GET %s = %s, want the workspace page", in.FrontEndURL, resp.Status)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-29700 {
			t.Fatalf("balance = %d, want %d", got, 100000-29700)
		}
	})
}

// An asynchronous seller (--async) answers newInstance 000004; the engine
// polls queryInstance until the instance is ready, then activates it with
// the polled appInfo.
func TestAsyncPurchasePollsUntilActive(t *testing.T) {
	each(t, opts{args: []string{"--async", "1s"}}, func(t *testing.T, w *world) {
		w.pace = 200 * time.Millisecond // the seller's second passes in its own (wall) time
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "basic"}))
		instID := o.Lines[0].InstanceID
		w.drive(t, time.Hour)

		got := w.proc.received(t)
		if len(got) < 2 || got[0] != "newInstance" || slices.ContainsFunc(got[1:], func(a string) bool { return a != "queryInstance" }) {
			t.Fatalf("the seller received %v, want newInstance then queryInstance polls", got)
		}
		w.checkReceived(t, instID, got)
		as := w.attempts(t, instID)
		if as[0].Outcome != protocol.OutcomeAccepted {
			t.Fatalf("newInstance outcome = %s, want accepted (000004)", as[0].Outcome)
		}
		if c := as[0].Call; c.State != delivery.Succeeded || c.PollID == "" {
			t.Fatalf("call = %s polling %q, want succeeded after polling", c.State, c.PollID)
		}
		in := w.instance(t, b, instID)
		if in.State != order.Active || in.SellerInstanceID != as[0].Call.PollID || !strings.HasSuffix(in.FrontEndURL, "/app/"+in.SellerInstanceID) {
			t.Fatalf("instance = %+v, want active with the polled instance's info", in)
		}
		if si := w.proc.instance(t, in.SellerInstanceID); si.State != "active" {
			t.Fatalf("the seller's instance is %s, want active", si.State)
		}
		if o = w.order(t, b, o.ID); o.State != order.Completed {
			t.Fatalf("order = %s, want completed", o.State)
		}
	})
}

// An asynchronous seller that accepts the instance (000004) but never
// finishes it within the new-purchase deadline: the engine polls
// queryInstance for 3 h, then the order fails, the buyer is refunded in
// full, and the seller is told to release what it had started
// (releaseInstance of the polled instance).
func TestAsyncSellerNeverReadyFailsRefundsAndReleases(t *testing.T) {
	each(t, opts{args: []string{"--async", "1h"}}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "basic", Periods: 2}))
		instID := o.Lines[0].InstanceID
		w.drive(t, 24*time.Hour)

		got := w.proc.received(t)
		n := len(got)
		if n < 10 || got[0] != "newInstance" || got[n-1] != "releaseInstance" ||
			slices.ContainsFunc(got[1:n-1], func(a string) bool { return a != "queryInstance" }) {
			t.Fatalf("the seller received %v, want newInstance, queryInstance polls, releaseInstance", got)
		}
		w.checkReceived(t, instID, got)
		calls := w.calls(t, instID)
		if len(calls) != 2 || calls[0].State != delivery.Exhausted || calls[0].PollID == "" || calls[1].State != delivery.Succeeded {
			t.Fatalf("calls = %+v, want the polled newInstance exhausted and a release succeeded", calls)
		}
		if req := decode[protocol.ReleaseInstanceRequest](t, calls[1].Body); req.InstanceID != calls[0].PollID {
			t.Fatalf("releaseInstance of %q, want the polled instance %s", req.InstanceID, calls[0].PollID)
		}
		if elapsed := w.attempts(t, instID)[n-2].Call.FinishedAt.Sub(t0); elapsed > 3*time.Hour {
			t.Fatalf("polling went on for %v, past the 3 h deadline", elapsed)
		}
		if o = w.order(t, b, o.ID); o.State != order.Failed || !strings.Contains(o.Reason, "refunded") {
			t.Fatalf("order = %s (%q), want failed and refunded", o.State, o.Reason)
		}
		if in := w.instance(t, b, instID); in.State != order.InstanceFailed {
			t.Fatalf("instance = %s, want failed", in.State)
		}
		if si := w.proc.instance(t, calls[0].PollID); si.State != "released" || si.OrderID != o.ID {
			t.Fatalf("the seller's instance = %+v, want released", si)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000 {
			t.Fatalf("balance = %d, want all of it back", got)
		}
	})
}

// attemptsWithin is how many attempts policy p makes of a call that always
// fails, attempts being made the moment they are due.
func attemptsWithin(p delivery.Policy) int {
	n, at := 1, t0
	for {
		next, ok := p.Next(n, t0, at)
		if !ok {
			return n
		}
		n, at = n+1, next
	}
}

// A seller failing newInstance for the whole 3 h of the new-purchase
// policy: every attempt reaches it and fails, the order fails and the
// buyer gets all of it back. Once the fault is switched off (/control),
// the same buyer buys again and is served.
func TestSellerFailingThreeHoursFailsAndRefunds(t *testing.T) {
	each(t, opts{args: []string{"--fail-activities", "newInstance"}}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 200000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "basic", Periods: 12}))
		instID := o.Lines[0].InstanceID
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 200000-9900*12 {
			t.Fatalf("balance after purchase = %d", got)
		}
		w.drive(t, 24*time.Hour)
		if elapsed := w.clock.Now().Sub(t0); elapsed < 2*time.Hour || elapsed > 3*time.Hour {
			t.Fatalf("the engine gave up after %v, want within the 3 h schedule", elapsed)
		}
		n := attemptsWithin(delivery.NewPurchase)
		w.checkReceived(t, instID, slices.Repeat([]string{"newInstance!"}, n))

		o = w.order(t, b, o.ID)
		if o.State != order.Failed || !strings.Contains(o.Reason, "refunded") {
			t.Fatalf("order = %s (%q), want failed and refunded", o.State, o.Reason)
		}
		if in := w.instance(t, b, instID); in.State != order.InstanceFailed {
			t.Fatalf("instance = %s, want failed", in.State)
		}
		if got := w.proc.instances(t); len(got) != 0 {
			t.Fatalf("the seller has instances %v after refusing every newInstance", got)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 200000 {
			t.Fatalf("balance after the refund = %d, want 200000", got)
		}
		if got := w.balance(t, settle.PlatformClearing); got != 0 {
			t.Fatalf("clearing after the refund = %d, want 0", got)
		}

		w.proc.control(t, `{}`)
		o2 := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "basic"}))
		w.drive(t, time.Hour)
		if got := w.proc.received(t); len(got) != n+1 || got[n] != "newInstance" {
			t.Fatalf("the seller received %v, want the %d failures then one newInstance", got, n)
		}
		if in := w.instance(t, b, o2.Lines[0].InstanceID); in.State != order.Active {
			t.Fatalf("second purchase's instance = %s, want active", in.State)
		}
	})
}

// Renewal → refreshInstance RENEWAL with the new expireTime, which the
// seller records. A second renewal while the seller fails refreshInstance
// for longer than the renewal policy's hour stays paid, its call exhausted;
// re-invoked once the seller is fixed, it completes.
func TestRenewalRefreshesTheSeller(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "basic"}))
		instID := o.Lines[0].InstanceID
		w.drive(t, time.Hour)
		w.advance(t, 10*24*time.Hour)

		r := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: instID, Periods: 2, IdempotencyKey: "renew-1"}))
		if r.Type != order.Renew || r.State != order.Paid || r.Amount != settle.M(19800, "CNY") {
			t.Fatalf("RenewInstance() = %+v, want a paid RENEW of 198.00 CNY", r)
		}
		newExpiry := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC) // two months after 1 January
		if in := w.instance(t, b, instID); !in.ExpiresAt.Equal(newExpiry) {
			t.Fatalf("expiry = %v, want %v", in.ExpiresAt, newExpiry)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, instID, []string{"newInstance", "refreshInstance"})
		in := w.instance(t, b, instID)
		req := decode[protocol.RefreshInstanceRequest](t, w.attempts(t, instID)[1].Request)
		if req.Scene != protocol.SceneRenewal || req.ExpireTime != "20270301090000" || req.OrderID != r.ID ||
			req.OrderLineID != r.Lines[0].ID || req.InstanceID != in.SellerInstanceID {
			t.Fatalf("refreshInstance sent %+v, want RENEWAL to 20270301090000 for order %s", req, r.ID)
		}
		si := w.proc.instance(t, in.SellerInstanceID)
		if si.State != "active" || si.ExpireTime != "20270301090000" ||
			!slices.Equal(si.Events, []string{"newInstance:" + o.ID, "refresh:RENEWAL:" + r.ID}) {
			t.Fatalf("the seller's instance = %+v, want active until 20270301090000 after the renewal", si)
		}
		if r = w.order(t, b, r.ID); r.State != order.Completed {
			t.Fatalf("renewal = %s, want completed", r.State)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-9900-19800 {
			t.Fatalf("balance = %d", got)
		}

		// The seller fails every refresh for longer than the policy's hour.
		w.proc.control(t, `{"failActivities":["refreshInstance"]}`)
		r2 := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: instID}))
		w.drive(t, 3*time.Hour)
		n := attemptsWithin(delivery.Renewal)
		want := append([]string{"newInstance", "refreshInstance"}, slices.Repeat([]string{"refreshInstance!"}, n)...)
		w.checkReceived(t, instID, want)
		calls := w.calls(t, instID)
		last := calls[len(calls)-1]
		if last.State != delivery.Exhausted {
			t.Fatalf("the failing refresh is %s, want exhausted", last.State)
		}
		if r2 = w.order(t, b, r2.ID); r2.State != order.Paid {
			t.Fatalf("renewal whose refresh was exhausted = %s, want paid", r2.State)
		}
		if si := w.proc.instance(t, in.SellerInstanceID); si.ExpireTime != "20270301090000" {
			t.Fatalf("the seller's expiry = %s, want unchanged", si.ExpireTime)
		}
		// Fixed, and re-invoked by the seller from its messages.
		w.proc.control(t, `{}`)
		must(t, w.engine.Reinvoke(ctx, last.ID, delivery.Actor{Role: delivery.RoleSeller, ID: w.seller.UserID, SellerID: w.seller.SellerID}, "fixed the refresh"))
		w.drive(t, time.Hour)
		w.checkReceived(t, instID, append(want, "refreshInstance"))
		if r2 = w.order(t, b, r2.ID); r2.State != order.Completed {
			t.Fatalf("renewal after re-invoke = %s, want completed", r2.State)
		}
		if si := w.proc.instance(t, in.SellerInstanceID); si.ExpireTime != "20270401090000" {
			t.Fatalf("the seller's expiry = %s, want 20270401090000", si.ExpireTime)
		}
	})
}

// refundOf is the refund rule of package order, written again here:
// amount × (end − max(now, start)) ÷ (end − start), rounded down, 0 for a
// period over.
func refundOf(amount int64, start, end, now time.Time) int64 {
	if !now.Before(end) {
		return 0
	}
	from := start
	if now.After(start) {
		from = now
	}
	r := new(big.Int).Mul(big.NewInt(amount), big.NewInt(end.Sub(from).Milliseconds()))
	return r.Quo(r, big.NewInt(end.Sub(start).Milliseconds())).Int64()
}

// Unsubscribe → releaseInstance with the UNSUBSCRIBE order's ids, the
// seller releases the instance, and the buyer gets back the unused part:
// of a period under way pro rata to the millisecond, rounded down; of a
// renewal paid in advance all of it.
func TestUnsubscribeRefundsTheUnusedPart(t *testing.T) {
	each(t, opts{}, func(t *testing.T, w *world) {
		b := w.newBuyer(t, 100000)
		// 1 December → 1 January (31 days) for 99.00, renewed in advance
		// 1 January → 1 February for 99.00 more.
		o := mustValue[order.Order](t)(order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: "basic"}))
		instID := o.Lines[0].InstanceID
		w.drive(t, time.Hour)
		r := mustValue[order.Order](t)(order.RenewInstance(ctx, w.db, w.engine, b, order.RenewRequest{InstanceID: instID}))
		w.drive(t, time.Hour)

		// 11 December 14:27:13.5: a little over 10 days of 31 used.
		at := time.Date(2026, 12, 11, 14, 27, 13, 500_000_000, time.UTC)
		w.clock.Set(at)
		jan1, feb1 := time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC), time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC)
		// 20 d 18 h 32 min 46.5 s of the 31 days left: 9900 × 1794766500 ÷
		// 2678400000 = 6633.88…, rounded down; and the whole renewal.
		wantRefund := refundOf(9900, t0, jan1, at) + refundOf(9900, jan1, feb1, at)
		if wantRefund != 6633+9900 {
			t.Fatalf("refundOf = %d, want %d: the test's own rule is wrong", wantRefund, 6633+9900)
		}
		u := mustValue[order.Order](t)(order.UnsubscribeInstance(ctx, w.db, w.engine, b, order.UnsubscribeRequest{InstanceID: instID, IdempotencyKey: "bye"}))
		if u.Type != order.Unsubscribe || u.State != order.Completed || u.Amount != settle.M(wantRefund, "CNY") {
			t.Fatalf("UnsubscribeInstance() = %+v, want a completed UNSUBSCRIBE refunding %d", u, wantRefund)
		}
		in := w.instance(t, b, instID)
		if in.State != order.Released {
			t.Fatalf("instance = %s, want released at once", in.State)
		}
		w.drive(t, time.Hour)
		w.checkReceived(t, instID, []string{"newInstance", "refreshInstance", "releaseInstance"})
		req := decode[protocol.ReleaseInstanceRequest](t, w.attempts(t, instID)[2].Request)
		if req.InstanceID != in.SellerInstanceID || req.OrderID != u.ID || req.OrderLineID != u.Lines[0].ID {
			t.Fatalf("releaseInstance sent %+v, want the instance with order %s line %s", req, u.ID, u.Lines[0].ID)
		}
		si := w.proc.instance(t, in.SellerInstanceID)
		if si.State != "released" || !slices.Equal(si.Events, []string{"newInstance:" + o.ID, "refresh:RENEWAL:" + r.ID, "release:" + u.ID}) {
			t.Fatalf("the seller's instance = %+v, want released by the unsubscription", si)
		}
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != 100000-2*9900+wantRefund {
			t.Fatalf("balance = %d, want %d", got, 100000-2*9900+wantRefund)
		}
		wantCode(t, "UnsubscribeInstance(released)", errOf(order.UnsubscribeInstance(ctx, w.db, w.engine, b,
			order.UnsubscribeRequest{InstanceID: instID})), souk.ECONFLICT)
	})
}
