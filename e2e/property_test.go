package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/settle"
)

// TestRandomLifecycles runs a random sequence of lifecycle operations —
// purchases and trials, renewals and trial conversions, changes of spec
// (basic ⇄ pro, which the seller accepts, and to refseller.DowngradeSKU,
// which it refuses), unsubscriptions, expiry sweeps, the clock moving by
// milliseconds to weeks, the engine delivering what is due, and the
// seller's faults switched on and off through /control (random failures of
// 30 % or 70 % of calls, or of chosen activities) — by three buyers against
// one seller process, then lets the engine drain (the clock moved past
// every policy's deadline, half the time with the faults switched off
// first) and checks the invariants below.
//
// The sequence comes from a seed: SOUK_E2E_SEED=N replays it (the seed is
// logged), SOUK_E2E_OPS=N sets its length (80). The seller's --fail-rate
// draws are seeded from it too, and the engine sends one call at a time,
// so a replay meets the same failures (on both engines).
//
// While running, every operation is checked against a model kept by the
// test, with the rules of package order written again: a purchase, renewal
// or conversion costs price × periods (a trial nothing) and succeeds
// exactly when the buyer can pay and, for a renewal or conversion, the
// instance is active or frozen, has no change pending, and is (for a
// conversion) or is not (for a renewal) a trial; the expiry it sets is the
// periods added to the purchase time, to the current expiry, or to now if
// that passed or for a conversion, in calendar months clamped to the
// month's end (a trial: 7 days); a change succeeds exactly when the
// instance is active, not a trial, with no change pending, with paid time
// left, and the buyer can pay the difference, which is the change rule
// (changeValue) less the refund rule (refundOf) over the model's lines —
// and once the seller applied it, its line replaces the others; an
// unsubscription succeeds exactly when the instance is active or frozen
// with no change pending, and refunds the unused part of the model's
// lines; a refused operation answers ECONFLICT and moves no money.
//
// After draining, for every instance I with calls C1…Ck (its key's calls
// in the order they were enqueued; C1 is its newInstance):
//
//  1. Quiescence: no call is pending, retrying or in flight.
//  2. Provisioning: I is not provisioning. I is failed exactly when C1 is
//     exhausted, and then its NEW (or TRIAL) order is failed, C1 is its
//     only call and the seller has no instance for the order (an injected
//     failure comes before the seller's code). Otherwise C1 succeeded, the
//     order is completed, and the seller holds exactly one instance for
//     the order: I's seller instance.
//  3. The seller's state is the one the succeeded calls make, applied in
//     order: newInstance → active, updateInstanceStatus FREEZE → frozen and
//     UNFREEZE → active, releaseInstance → released; its expiry is the
//     expireTime of the last succeeded refreshInstance ("" if none); and
//     the order lines it recorded are exactly those of the succeeded
//     newInstance, refreshInstance (RENEWAL or TRIAL_TO_FORMAL),
//     upgradeInstance and releaseInstance (with order ids) calls, in order.
//  4. The marketplace's state agrees with the calls enqueued: released ⇒
//     the last call of I is a releaseInstance — carrying I's UNSUBSCRIBE
//     order's ids if the buyer unsubscribed, else none, the grace period
//     having ended (expiry + grace ≤ now); active or frozen ⇒ no
//     releaseInstance was ever enqueued, and the last updateInstanceStatus
//     enqueued (if any) is UNFREEZE for active, FREEZE for frozen; frozen ⇒
//     its expiry has passed; active or frozen ⇒ its spec, expiry and trial
//     flag are the model's, and no change is pending.
//  5. When no call of I is exhausted (the seller was told everything), the
//     seller's state is the marketplace's (active, frozen, released), and
//     after a renewal or conversion the seller's expiry is I's.
//  6. Orders: none stays paid, except a RENEW or TRIAL_TO_FORMAL whose
//     refreshInstance was exhausted on an instance not released (doc.go:
//     the buyer keeps the time paid for, the call is re-invokable). Such an
//     order is completed when its refreshInstance succeeded; when it did
//     not and the instance was released (the refresh superseded, or
//     exhausted and never to be sent again), it is completed with a
//     reason; a superseded refresh leaves no order paid. A CHANGE is
//     completed exactly when its upgradeInstance succeeded.
//
// And overall: the seller's log and the marketplace's messages record the
// same attempts (per activity, as many successes and as many failures),
// the ledger invariant holds, and each buyer's balance is its top-up less
// what its orders took plus what they gave back (checkMoney).
func TestRandomLifecycles(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SOUK_E2E_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SOUK_E2E_SEED=%q: %v", s, err)
		}
		seed = v
	}
	ops := 80
	if s := os.Getenv("SOUK_E2E_OPS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("SOUK_E2E_OPS=%q: want a positive number", s)
		}
		ops = v
	}
	t.Logf("seed %d, %d operations (replay with SOUK_E2E_SEED=%d SOUK_E2E_OPS=%d)", seed, ops, seed, ops)
	each(t, opts{args: []string{"--seed", strconv.FormatUint(seed|1, 10)}, workers: 1}, func(t *testing.T, w *world) {
		r := &run{w: w, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), grace: order.DefaultGrace, stats: map[string]int{}}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("seed %d; operations:\n%s", seed, strings.Join(r.trace, "\n"))
			}
		})
		for range 3 {
			r.buyers = append(r.buyers, w.newBuyer(t, 150000))
		}
		for i := range ops {
			r.op(t, i)
		}
		// Drain: faults off half the time, then past every deadline.
		if r.rng.IntN(2) == 0 {
			r.do(t, "faults {} (drain)", func() { w.proc.control(t, `{}`) })
		}
		w.drive(t, 365*24*time.Hour)
		r.trace = append(r.trace, fmt.Sprintf("drained at %s", w.clock.Now().Format(time.RFC3339)))
		r.check(t)
	})
}

// run is one random run and the test's model of it.
type run struct {
	w      *world
	rng    *rand.Rand
	grace  time.Duration
	buyers []souk.Actor
	insts  []*mInst
	trace  []string
	stats  map[string]int // operations made and refused, by kind
}

// mInst is the model of one instance.
type mInst struct {
	id        string
	buyer     souk.Actor
	spec      string
	price     int64  // of its spec, per period
	newOrder  string // its NEW or TRIAL order
	trial     bool
	expires   time.Time
	lines     []mLine // the lines the refund and change rules count
	refreshed bool    // a refreshInstance was enqueued (renewal, conversion)
	unsub     string  // the UNSUBSCRIBE order
	change    *mChange
}

// mLine is what was paid for a period, at perPeriod a period.
type mLine struct {
	amount, perPeriod int64
	start, end        time.Time
}

// mChange is a change of spec waiting for the seller.
type mChange struct {
	order string
	spec  string
	line  mLine // the CHANGE line: replaces the others once completed
}

var specPrices = map[string]int64{"basic": 9900, "pro": 30000, refseller.DowngradeSKU: 3000}

var faultSettings = []string{
	`{}`,
	`{"failRate":0.3}`,
	`{"failRate":0.7}`,
	`{"failActivities":["newInstance"]}`,
	`{"failActivities":["refreshInstance","updateInstanceStatus","releaseInstance"]}`,
	`{"failActivities":["upgradeInstance"]}`,
}

func (r *run) do(t *testing.T, what string, fn func()) {
	t.Helper()
	r.trace = append(r.trace, fmt.Sprintf("%s  %s", r.w.clock.Now().Format("2006-01-02T15:04:05.000"), what))
	r.stats[strings.Fields(what)[0]]++
	fn()
}

func (r *run) note(format string, args ...any) {
	r.trace[len(r.trace)-1] += "  → " + fmt.Sprintf(format, args...)
}

// op makes operation number i, chosen at random.
func (r *run) op(t *testing.T, i int) {
	t.Helper()
	w := r.w
	switch n := r.rng.IntN(100); {
	case n < 15:
		r.purchase(t, i, false)
	case n < 19:
		r.purchase(t, i, true)
	case n < 31 && len(r.insts) > 0:
		r.extend(t, i, false)
	case n < 35 && len(r.insts) > 0:
		r.extend(t, i, true)
	case n < 43 && len(r.insts) > 0:
		r.changeSpec(t, i)
	case n < 50 && len(r.insts) > 0:
		r.unsubscribe(t)
	case n < 70:
		var d time.Duration
		switch k := r.rng.IntN(10); {
		case k < 3:
			d = time.Duration(r.rng.Int64N(int64(30*time.Minute)/1e6)) * time.Millisecond
		case k < 5:
			d = time.Duration(1+r.rng.Int64N(12*3600)) * time.Second
		default:
			d = time.Duration(3*24*3600+r.rng.Int64N(32*24*3600)) * time.Second
		}
		r.do(t, "advance "+d.String(), func() { w.advance(t, d) })
	case n < 76:
		r.do(t, "deliver what is due", func() { w.step(t) })
	case n < 86:
		r.do(t, "sweep", func() {
			s, err := order.Sweep(ctx, w.db, w.engine, order.SweepConfig{Grace: r.grace})
			if err != nil {
				t.Fatalf("Sweep: %v", err)
			}
			r.note("%+v", s)
		})
	case n < 95:
		f := faultSettings[r.rng.IntN(len(faultSettings))]
		r.do(t, "faults "+f, func() { w.proc.control(t, f) })
	default:
		r.do(t, "drive 10m", func() { w.drive(t, 10*time.Minute) })
	}
}

// resolve brings m's pending change up to date with its order.
func (r *run) resolve(t *testing.T, m *mInst) {
	t.Helper()
	if m.change == nil {
		return
	}
	switch o := r.w.order(t, m.buyer, m.change.order); o.State {
	case order.Completed:
		m.lines = []mLine{m.change.line}
		m.spec, m.price = m.change.spec, specPrices[m.change.spec]
		m.change = nil
	case order.Failed:
		m.change = nil
	}
}

// refused checks that a refused operation answered code and moved no money.
func (r *run) refused(t *testing.T, what string, err error, code string, b souk.Actor, before int64, why string) {
	t.Helper()
	wantCode(t, what+" ("+why+")", err, code)
	if after := r.w.balance(t, settle.BuyerBalance(b.UserID)); after != before {
		t.Fatalf("a refused %s moved the balance from %d to %d", what, before, after)
	}
	r.note("refused: %s", why)
	r.stats[what+" refused"]++
}

func (r *run) purchase(t *testing.T, i int, trial bool) {
	t.Helper()
	w := r.w
	b := r.buyers[r.rng.IntN(len(r.buyers))]
	spec, periods := "basic", 1+r.rng.IntN(2)
	if !trial && r.rng.IntN(4) == 0 {
		spec = "pro"
	}
	what := fmt.Sprintf("purchase %s × %d by %s", spec, periods, b.UserID)
	if trial {
		periods, what = 0, fmt.Sprintf("trial of %s by %s", spec, b.UserID)
	}
	r.do(t, what, func() {
		before := w.balance(t, settle.BuyerBalance(b.UserID))
		price := specPrices[spec] * int64(periods)
		now := w.clock.Now()
		o, err := order.Purchase(ctx, w.db, w.engine, b, order.PurchaseRequest{ProductID: w.product, SpecCode: spec, Periods: periods,
			Trial: trial, IdempotencyKey: fmt.Sprintf("op-%d", i)})
		if before < price {
			r.refused(t, "purchase", err, souk.ECONFLICT, b, before, "insufficient balance")
			return
		}
		must(t, err)
		m := &mInst{id: o.Lines[0].InstanceID, buyer: b, spec: spec, price: specPrices[spec], newOrder: o.ID, trial: trial}
		l := o.Lines[0]
		if trial {
			m.expires = now.AddDate(0, 0, 7)
			if o.Type != order.Trial || o.State != order.Paid || o.Amount.Amount != 0 || !l.PeriodStart.IsZero() {
				t.Fatalf("Purchase(trial) = %+v, want a free TRIAL order paying for no period", o)
			}
		} else {
			m.expires = addMonths(now, periods)
			m.lines = []mLine{{amount: price, perPeriod: m.price, start: now, end: m.expires}}
			if o.Type != order.New || o.State != order.Paid || o.Amount.Amount != price || !l.PeriodStart.Equal(now) || !l.PeriodEnd.Equal(m.expires) {
				t.Fatalf("Purchase() = %+v, want a paid NEW order of %d for %v → %v", o, price, now, m.expires)
			}
		}
		if after := w.balance(t, settle.BuyerBalance(b.UserID)); after != before-price {
			t.Fatalf("balance %d → %d after paying %d", before, after, price)
		}
		r.insts = append(r.insts, m)
		r.note("%s", m.id)
	})
}

// extend renews an instance, or converts a trial (convert).
func (r *run) extend(t *testing.T, i int, convert bool) {
	t.Helper()
	w := r.w
	m := r.insts[r.rng.IntN(len(r.insts))]
	periods := 1 + r.rng.IntN(2)
	verb := "renew"
	if convert {
		verb = "convert"
	}
	r.do(t, fmt.Sprintf("%s %s × %d", verb, m.id, periods), func() {
		r.resolve(t, m)
		before := w.balance(t, settle.BuyerBalance(m.buyer.UserID))
		in := w.instance(t, m.buyer, m.id)
		price := m.price * int64(periods)
		now := w.clock.Now()
		var o order.Order
		var err error
		if convert {
			o, err = order.ConvertTrial(ctx, w.db, w.engine, m.buyer, order.ConvertRequest{InstanceID: m.id, Periods: periods, IdempotencyKey: fmt.Sprintf("op-%d", i)})
		} else {
			o, err = order.RenewInstance(ctx, w.db, w.engine, m.buyer, order.RenewRequest{InstanceID: m.id, Periods: periods, IdempotencyKey: fmt.Sprintf("op-%d", i)})
		}
		switch {
		case in.State != order.Active && in.State != order.Frozen:
			r.refused(t, verb, err, souk.ECONFLICT, m.buyer, before, string(in.State))
			return
		case m.change != nil:
			r.refused(t, verb, err, souk.ECONFLICT, m.buyer, before, "a change is pending")
			return
		case m.trial != convert:
			r.refused(t, verb, err, souk.ECONFLICT, m.buyer, before, fmt.Sprintf("trial %v", m.trial))
			return
		case before < price:
			r.refused(t, verb, err, souk.ECONFLICT, m.buyer, before, "insufficient balance")
			return
		}
		must(t, err)
		base, typ := m.expires, order.Renew
		if convert || base.Before(now) {
			base = now
		}
		if convert {
			typ = order.TrialToFormal
		}
		expires := addMonths(base, periods)
		l := o.Lines[0]
		if o.Type != typ || o.State != order.Paid || o.Amount.Amount != price || !l.PeriodStart.Equal(base) || !l.PeriodEnd.Equal(expires) {
			t.Fatalf("%s = %+v, want a paid %s of %d for %v → %v", verb, o, typ, price, base, expires)
		}
		if after := w.balance(t, settle.BuyerBalance(m.buyer.UserID)); after != before-price {
			t.Fatalf("balance %d → %d after paying %d", before, after, price)
		}
		if in := w.instance(t, m.buyer, m.id); in.State != order.Active || in.Trial || !in.ExpiresAt.Equal(expires) {
			t.Fatalf("instance after %s = %s (trial %v) until %v, want formal and active until %v", verb, in.State, in.Trial, in.ExpiresAt, expires)
		}
		m.expires, m.refreshed, m.trial = expires, true, false
		m.lines = append(m.lines, mLine{amount: price, perPeriod: m.price, start: base, end: expires})
		r.note("%s (was %s), until %s", o.ID, in.State, expires.Format(time.RFC3339))
	})
}

// changeSpec changes an instance to another spec: basic ⇄ pro, which the
// seller accepts (unless a fault says otherwise), or the spec the seller
// always refuses (refseller.DowngradeSKU).
func (r *run) changeSpec(t *testing.T, i int) {
	t.Helper()
	w := r.w
	m := r.insts[r.rng.IntN(len(r.insts))]
	r.resolve(t, m)
	to := "pro"
	switch {
	case r.rng.IntN(4) == 0:
		to = refseller.DowngradeSKU
	case m.spec == "pro":
		to = "basic"
	}
	r.do(t, fmt.Sprintf("change %s from %s to %s", m.id, m.spec, to), func() {
		before := w.balance(t, settle.BuyerBalance(m.buyer.UserID))
		in := w.instance(t, m.buyer, m.id)
		now := w.clock.Now()
		var old, value int64
		for _, l := range m.lines {
			if l.end.After(now) {
				old += refundOf(l.amount, l.start, l.end, now)
				value += changeValue(l.amount, l.perPeriod, specPrices[to], l.start, l.end, now)
			}
		}
		diff := value - old
		o, err := order.ChangeInstance(ctx, w.db, w.engine, m.buyer, order.ChangeRequest{InstanceID: m.id, SpecCode: to, IdempotencyKey: fmt.Sprintf("op-%d", i)})
		switch {
		case in.State != order.Active:
			r.refused(t, "change", err, souk.ECONFLICT, m.buyer, before, string(in.State))
			return
		case m.trial:
			r.refused(t, "change", err, souk.ECONFLICT, m.buyer, before, "a trial")
			return
		case m.change != nil:
			r.refused(t, "change", err, souk.ECONFLICT, m.buyer, before, "a change is pending")
			return
		case !m.expires.After(now):
			r.refused(t, "change", err, souk.ECONFLICT, m.buyer, before, "no paid time left")
			return
		case diff > before:
			r.refused(t, "change", err, souk.ECONFLICT, m.buyer, before, "insufficient balance")
			return
		}
		must(t, err)
		if o.Type != order.Change || o.State != order.Paid || o.Amount.Amount != diff {
			t.Fatalf("ChangeInstance() = %+v, want a paid CHANGE of %d", o, diff)
		}
		if after, want := w.balance(t, settle.BuyerBalance(m.buyer.UserID)), before-max(diff, 0); after != want {
			t.Fatalf("balance %d → %d, want %d", before, after, want)
		}
		m.change = &mChange{order: o.ID, spec: to, line: mLine{amount: value, perPeriod: specPrices[to], start: now, end: m.expires}}
		r.note("%s of %d", o.ID, diff)
	})
}

func (r *run) unsubscribe(t *testing.T) {
	t.Helper()
	w := r.w
	m := r.insts[r.rng.IntN(len(r.insts))]
	r.do(t, "unsubscribe "+m.id, func() {
		r.resolve(t, m)
		before := w.balance(t, settle.BuyerBalance(m.buyer.UserID))
		in := w.instance(t, m.buyer, m.id)
		now := w.clock.Now()
		o, err := order.UnsubscribeInstance(ctx, w.db, w.engine, m.buyer, order.UnsubscribeRequest{InstanceID: m.id})
		switch {
		case in.State != order.Active && in.State != order.Frozen:
			r.refused(t, "unsubscription", err, souk.ECONFLICT, m.buyer, before, string(in.State))
			return
		case m.change != nil:
			r.refused(t, "unsubscription", err, souk.ECONFLICT, m.buyer, before, "a change is pending")
			return
		}
		must(t, err)
		var refund int64
		for _, l := range m.lines {
			refund += refundOf(l.amount, l.start, l.end, now)
		}
		if o.Type != order.Unsubscribe || o.State != order.Completed || o.Amount.Amount != refund {
			t.Fatalf("UnsubscribeInstance() = %+v, want a completed UNSUBSCRIBE refunding %d", o, refund)
		}
		if after := w.balance(t, settle.BuyerBalance(m.buyer.UserID)); after != before+refund {
			t.Fatalf("balance %d → %d after a refund of %d", before, after, refund)
		}
		m.unsub = o.ID
		r.note("%s refunds %d", o.ID, refund)
	})
}

// addMonths is the expiry rule of package order, written again: n
// calendar months later at the same time of day, the day clamped to the
// target month's last day.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	total := int(m) - 1 + n
	y, m = y+total/12, time.Month(total%12+1)
	if last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day(); d > last {
		d = last
	}
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// check checks the invariants of TestRandomLifecycles after draining.
func (r *run) check(t *testing.T) {
	t.Helper()
	w := r.w
	now := w.clock.Now()
	sellerByOrder := map[string][]*sellerInstance{}
	sellerInsts := w.proc.instances(t)
	for _, si := range sellerInsts {
		sellerByOrder[si.OrderID] = append(sellerByOrder[si.OrderID], si)
	}
	ordersByID := map[string]order.Order{}
	for _, b := range r.buyers {
		for _, o := range w.ordersOf(t, b) {
			ordersByID[o.ID] = o
		}
	}
	// Which call settles each order: a RENEW's or TRIAL_TO_FORMAL's
	// refreshInstance, a CHANGE's upgradeInstance.
	refreshOf := map[string]*delivery.Call{}
	upgradeOf := map[string]*delivery.Call{}
	counts := map[string]int{}
	released := map[string]bool{} // instance id → released

	for _, m := range r.insts {
		r.resolve(t, m)
		in := w.instance(t, m.buyer, m.id)
		released[m.id] = in.State == order.Released
		calls := w.calls(t, m.id)
		fail := func(format string, args ...any) {
			t.Helper()
			var cs []string
			for _, c := range calls {
				cs = append(cs, fmt.Sprintf("#%d %s %s %s", c.ID, c.Activity, c.State, c.Body))
			}
			t.Fatalf("instance %s (%s, expires %v): %s\ncalls:\n  %s", m.id, in.State, in.ExpiresAt, fmt.Sprintf(format, args...), strings.Join(cs, "\n  "))
		}
		exhausted := false
		for _, c := range calls {
			switch c.State {
			case delivery.Pending, delivery.Retrying, delivery.InFlight:
				fail("call %d (%s) is still %s after draining", c.ID, c.Activity, c.State)
			case delivery.Exhausted:
				exhausted = true
			}
			switch c.Activity {
			case protocol.RefreshInstance:
				refreshOf[decode[protocol.RefreshInstanceRequest](t, c.Body).OrderID] = c
			case protocol.UpgradeInstance:
				upgradeOf[decode[protocol.UpgradeInstanceRequest](t, c.Body).OrderID] = c
			}
		}
		if len(calls) == 0 || calls[0].Activity != protocol.NewInstance {
			fail("the first call is not newInstance")
		}
		c1 := calls[0]
		newOrder := ordersByID[m.newOrder]

		// 2. Provisioning.
		switch {
		case in.State == order.Provisioning:
			fail("still provisioning after draining")
		case in.State == order.InstanceFailed:
			if c1.State != delivery.Exhausted || newOrder.State != order.Failed || len(calls) != 1 || len(sellerByOrder[m.newOrder]) != 0 {
				fail("failed, but newInstance is %s, the order %s, %d calls, %d seller instances", c1.State, newOrder.State, len(calls), len(sellerByOrder[m.newOrder]))
			}
			counts["failed"]++
			continue
		case c1.State != delivery.Succeeded || newOrder.State != order.Completed:
			fail("%s, but newInstance is %s and the NEW order %s", in.State, c1.State, newOrder.State)
		}
		sis := sellerByOrder[m.newOrder]
		if len(sis) != 1 || sis[0].ID != in.SellerInstanceID {
			fail("the seller holds %d instances for order %s, want exactly %s", len(sis), m.newOrder, in.SellerInstanceID)
		}
		si := sis[0]

		// 3. The seller's state is what the succeeded calls made it.
		state, expire := "", ""
		var events []string
		var lastStatus, lastRelease *delivery.Call
		for _, c := range calls {
			switch c.Activity {
			case protocol.UpdateInstanceStatus:
				lastStatus = c
			case protocol.ReleaseInstance:
				lastRelease = c
			}
			if c.State != delivery.Succeeded {
				continue
			}
			switch c.Activity {
			case protocol.NewInstance:
				state = "active"
				events = append(events, "newInstance:"+m.newOrder)
			case protocol.RefreshInstance:
				req := decode[protocol.RefreshInstanceRequest](t, c.Body)
				expire = req.ExpireTime
				events = append(events, "refresh:"+req.Scene+":"+req.OrderID)
			case protocol.UpgradeInstance:
				events = append(events, "upgrade:"+decode[protocol.UpgradeInstanceRequest](t, c.Body).OrderID)
			case protocol.UpdateInstanceStatus:
				if decode[protocol.UpdateInstanceStatusRequest](t, c.Body).Status == protocol.StatusFreeze {
					state = "frozen"
				} else {
					state = "active"
				}
			case protocol.ReleaseInstance:
				state = "released"
				if req := decode[protocol.ReleaseInstanceRequest](t, c.Body); req.OrderID != "" {
					events = append(events, "release:"+req.OrderID)
				}
			}
		}
		if si.State != state || si.ExpireTime != expire || strings.Join(si.Events, " ") != strings.Join(events, " ") {
			fail("the seller has it %s until %q with %v; the succeeded calls make it %s until %q with %v", si.State, si.ExpireTime, si.Events, state, expire, events)
		}

		// 4. The marketplace's state agrees with the calls enqueued.
		last := calls[len(calls)-1]
		switch in.State {
		case order.Released:
			if last.Activity != protocol.ReleaseInstance {
				fail("released, but the last call is %s", last.Activity)
			}
			req := decode[protocol.ReleaseInstanceRequest](t, last.Body)
			if m.unsub != "" {
				u := ordersByID[m.unsub]
				if req.OrderID != u.ID || req.OrderLineID != u.Lines[0].ID {
					fail("unsubscribed by %s, but the release carries order %q", u.ID, req.OrderID)
				}
				counts["unsubscribed"]++
			} else {
				if req.OrderID != "" || in.ExpiresAt.Add(r.grace).After(now) {
					fail("released without an unsubscription before the end of grace (release order %q)", req.OrderID)
				}
				counts["released after grace"]++
			}
		case order.Active, order.Frozen:
			if lastRelease != nil {
				fail("%s, but releaseInstance was enqueued (call %d)", in.State, lastRelease.ID)
			}
			want := protocol.StatusUnfreeze
			if in.State == order.Frozen {
				want = protocol.StatusFreeze
				if in.ExpiresAt.After(now) {
					fail("frozen before its expiry")
				}
			}
			if lastStatus != nil && decode[protocol.UpdateInstanceStatusRequest](t, lastStatus.Body).Status != want {
				fail("%s, but the last status call says otherwise", in.State)
			} else if lastStatus == nil && in.State == order.Frozen {
				fail("frozen without a FREEZE call")
			}
			if !in.ExpiresAt.Equal(m.expires) || in.SpecCode != m.spec || in.Trial != m.trial || in.PendingOrderID != "" {
				fail("%s until %v (trial %v, pending %q), the model says %s until %v (trial %v)",
					in.SpecCode, in.ExpiresAt, in.Trial, in.PendingOrderID, m.spec, m.expires, m.trial)
			}
			counts[string(in.State)]++
		default:
			fail("unexpected state")
		}

		// 5. Told everything, the seller agrees.
		if !exhausted {
			if si.State != string(in.State) {
				fail("no call exhausted, yet the seller has it %s", si.State)
			}
			if m.refreshed && in.State != order.Released && si.ExpireTime != protocol.FormatTime(in.ExpiresAt) {
				fail("no call exhausted, yet the seller has it until %s", si.ExpireTime)
			}
		} else {
			counts["with an exhausted call"]++
		}
	}

	// 6. Orders.
	for _, o := range ordersByID {
		extension := o.Type == order.Renew || o.Type == order.TrialToFormal
		switch {
		case o.State != order.Paid:
		case extension && refreshOf[o.ID] != nil && refreshOf[o.ID].State == delivery.Exhausted && !released[o.Lines[0].InstanceID]:
			counts["renewals left paid"]++
		default:
			t.Fatalf("order %s (%s) is still paid after draining", o.ID, o.Type)
		}
		switch {
		case extension:
			c := refreshOf[o.ID]
			if c == nil {
				t.Fatalf("%s order %s has no refreshInstance", o.Type, o.ID)
			}
			switch rel := released[o.Lines[0].InstanceID]; {
			case c.State == delivery.Succeeded:
				if o.State != order.Completed {
					t.Fatalf("%s order %s is %s, its refreshInstance succeeded", o.Type, o.ID, o.State)
				}
			case c.State == delivery.Superseded && !rel:
				t.Fatalf("%s order %s: its refreshInstance was superseded, but the instance is not released", o.Type, o.ID)
			case rel:
				if o.State != order.Completed || o.Reason == "" {
					t.Fatalf("%s order %s is %s (reason %q), its refreshInstance %s and the instance released: want completed with a reason", o.Type, o.ID, o.State, o.Reason, c.State)
				}
				counts["renewals closed by a release ("+string(c.State)+")"]++
			case o.State != order.Paid:
				t.Fatalf("%s order %s is %s, its refreshInstance %s", o.Type, o.ID, o.State, c.State)
			}
		case o.Type == order.Change:
			c := upgradeOf[o.ID]
			if (o.State == order.Completed) != (c != nil && c.State == delivery.Succeeded) {
				t.Fatalf("change %s is %s, its upgradeInstance %v", o.ID, o.State, c)
			}
			counts["changes "+string(o.State)]++
		}
	}

	// Both sides saw the same attempts.
	seen := map[string]int{}
	for _, a := range w.proc.received(t) {
		seen[a]++
	}
	for _, s := range w.sent(t, "") {
		seen[s]--
	}
	for a, n := range seen {
		if n != 0 {
			t.Fatalf("the seller logged %+d more %q than the marketplace recorded", n, a)
		}
	}
	b, _ := json.Marshal(counts)
	ops, _ := json.Marshal(r.stats)
	t.Logf("operations %s; %d instances at the end: %s; %d attempts", ops, len(r.insts), b, len(w.proc.received(t)))
}
