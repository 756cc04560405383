package usage_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/usage"
)

func TestParseQuantity(t *testing.T) {
	good := map[string]usage.Quantity{
		"1": 10000, "2.5": 25000, "0.0001": 1, "99": 990000, "007.10": 71000,
		"99999999.9999": usage.MaxQuantity, "12345678": 123456780000, "0.5000": 5000,
	}
	for in, want := range good {
		got, err := usage.ParseQuantity(in)
		if err != nil || got != want {
			t.Errorf("ParseQuantity(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0.0000", "-1", "+1", "1.00001", "0.00001", "100000000", "1e3", "1.", ".5",
		"1,5", " 1", "1 ", "abc", "NaN", "Infinity", "0x10", "１", strings.Repeat("9", 40)} {
		if got, err := usage.ParseQuantity(in); err == nil {
			t.Errorf("ParseQuantity(%q) = %d, want an error", in, got)
		}
	}
	if s := usage.Quantity(25000).String(); s != "2.5" {
		t.Errorf("Quantity(25000) = %s, want 2.5", s)
	}
	if s := usage.Quantity(30000).String(); s != "3" {
		t.Errorf("Quantity(30000) = %s, want 3", s)
	}
}

// TestCharge checks the rating rule exactly: price × quantity ÷ 10000,
// rounded half up, with no float anywhere.
func TestCharge(t *testing.T) {
	for _, c := range []struct {
		price int64
		value string
		want  int64
	}{
		{150, "1.5", 225},
		{150, "2", 300},
		{1, "0.5", 1},            // exactly half: up
		{1, "0.4999", 0},         // just below half: down
		{3, "0.0001", 0},         // 0.0003
		{9999, "0.0001", 1},      // 0.9999
		{5000, "0.0001", 1},      // 0.5
		{4999, "0.0001", 0},      // 0.4999
		{12345, "3.3333", 41150}, // 41149.5885
		{10, "0.1", 1},           // 0.1 is exact here, unlike in a float
		{10, "0.3", 3},
		{0, "12.5", 0},
		{100, "99999999.9999", 10_000_000_000},     // 9999999999.99
		{math.MaxInt64, "0.0001", 922337203685478}, // 922337203685477.5807 → up
		{math.MaxInt64, "1", math.MaxInt64},
	} {
		q, err := usage.ParseQuantity(c.value)
		must(t, err)
		got, err := usage.Charge(c.price, q)
		if err != nil || got != c.want {
			t.Errorf("Charge(%d, %s) = %d, %v, want %d", c.price, c.value, got, err, c.want)
		}
	}
	q, _ := usage.ParseQuantity("1.0001")
	if got, err := usage.Charge(math.MaxInt64, q); souk.ErrorCode(err) != souk.EINVALID {
		t.Errorf("Charge(MaxInt64, 1.0001) = %d, %v, want EINVALID", got, err)
	}
}

// rec is a valid record of instance id: an hour of use ending at end.
func rec(id, sn, value string, end time.Time) usage.Record {
	q, err := usage.ParseQuantity(value)
	if err != nil {
		panic(err)
	}
	return usage.Record{InstanceID: id, MeteringSN: sn, Begin: end.Add(-time.Hour), End: end, Quantity: q}
}

// push pushes recs as seller in one transaction, as the open API does.
func (e *env) push(t *testing.T, seller souk.Actor, recs ...usage.Record) ([]usage.Outcome, error) {
	t.Helper()
	rates, err := usage.SellerRates(ctx, e.db, seller.SellerID)
	must(t, err)
	var outs []usage.Outcome
	err = e.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		outs, err = usage.Push(ctx, tx, seller.SellerID, rates, recs)
		return err
	})
	return outs, err
}

func TestPush(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.buyer(t, 0)
		inst := e.bought(t, b, e.product, "meter", "seller-ins-1")
		periodInst := e.bought(t, e.buyer(t, 9900), e.product, "basic", "seller-ins-2")
		e.clock.Advance(2 * time.Hour)
		end := e.clock.Now().Truncate(time.Second)

		// New records, by the seller's id and by the marketplace's.
		outs, err := e.push(t, e.seller, rec("seller-ins-1", "sn-1", "1.5", end), rec(inst, "sn-2", "2", end))
		must(t, err)
		if len(outs) != 2 || outs[0].Duplicate || outs[1].Duplicate || outs[0].Charge != 225 || outs[1].Charge != 300 ||
			outs[0].InstanceID != inst || outs[1].InstanceID != inst {
			t.Fatalf("Push = %+v, want two new records of %s charged 225 and 300", outs, inst)
		}

		// A repeated metering_sn is accepted and counted once, also within
		// one batch, whatever else it says.
		outs, err = e.push(t, e.seller, rec("seller-ins-1", "sn-1", "7", end), rec("seller-ins-1", "sn-3", "1", end), rec("seller-ins-1", "sn-3", "1", end))
		must(t, err)
		if !outs[0].Duplicate || outs[0].Charge != 0 || outs[1].Duplicate || !outs[2].Duplicate {
			t.Fatalf("Push = %+v, want duplicate, new, duplicate", outs)
		}
		if n := e.count(t, "usage_records"); n != 3 {
			t.Fatalf("%d usage records stored, want 3", n)
		}

		// Whole batches refused, nothing stored: a valid record goes first
		// each time.
		other := e.newSeller(t)
		otherProduct := e.newProduct(t, other)
		otherInst := e.bought(t, e.buyer(t, 0), otherProduct, "meter", "other-ins")
		future := e.clock.Now().Add(2 * time.Minute)
		bad := map[string]usage.Record{
			"another seller's instance":  rec(otherInst, "sn-x", "1", end),
			"another seller's sellerid":  rec("other-ins", "sn-x", "1", end),
			"an unknown instance":        rec("nobody", "sn-x", "1", end),
			"a PERIOD instance":          rec("seller-ins-2", "sn-x", "1", end),
			"a period instance (market)": rec(periodInst, "sn-x", "1", end),
			"begin after end":            {InstanceID: inst, MeteringSN: "sn-x", Begin: end, End: end.Add(-time.Minute), Quantity: 1},
			"begin equal to end":         {InstanceID: inst, MeteringSN: "sn-x", Begin: end, End: end, Quantity: 1},
			"an end in the future":       rec(inst, "sn-x", "1", future),
			"before the instance":        {InstanceID: inst, MeteringSN: "sn-x", Begin: t0.Add(-time.Hour), End: end, Quantity: 1},
			"no metering_sn":             rec(inst, "", "1", end),
			"a long metering_sn":         rec(inst, strings.Repeat("s", 65), "1", end),
			"no instance":                rec("", "sn-x", "1", end),
			"a zero quantity":            {InstanceID: inst, MeteringSN: "sn-x", Begin: end.Add(-time.Hour), End: end},
			"a negative quantity":        {InstanceID: inst, MeteringSN: "sn-x", Begin: end.Add(-time.Hour), End: end, Quantity: -1},
			"a huge quantity":            {InstanceID: inst, MeteringSN: "sn-x", Begin: end.Add(-time.Hour), End: end, Quantity: usage.MaxQuantity + 1},
		}
		for name, r := range bad {
			_, err := e.push(t, e.seller, rec("seller-ins-1", "sn-ok-"+name, "1", end), r)
			if souk.ErrorCode(err) != souk.EINVALID && souk.ErrorCode(err) != souk.ENOTFOUND {
				t.Errorf("Push with %s = %v, want a refusal", name, err)
			} else if msg := souk.ErrorMessage(err); !strings.Contains(msg, "usage_records[1]") {
				t.Errorf("Push with %s: %q does not name the record", name, msg)
			}
		}
		if n := e.count(t, "usage_records"); n != 3 {
			t.Fatalf("%d usage records stored after refused batches, want still 3", n)
		}

		many := make([]usage.Record, usage.MaxRecords+1)
		for i := range many {
			many[i] = rec(inst, fmt.Sprintf("many-%d", i), "1", end)
		}
		_, err = e.push(t, e.seller, many...)
		wantCode(t, "Push of 1001 records", err, souk.EINVALID)
		outs, err = e.push(t, e.seller, many[:usage.MaxRecords]...)
		must(t, err)
		if len(outs) != usage.MaxRecords {
			t.Fatalf("Push of 1000 records = %d outcomes", len(outs))
		}
		_, err = e.push(t, e.seller)
		wantCode(t, "Push of no records", err, souk.EINVALID)
		if len(outs) != usage.MaxRecords {
			t.Fatalf("Push of 1000 records = %d outcomes", len(outs))
		}
	})
}

// TestSellerInstanceIDAmbiguous: a seller that gave two instances the same
// id must name them by the marketplace's ids.
func TestSellerInstanceIDAmbiguous(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a := e.bought(t, e.buyer(t, 0), e.product, "meter", "same")
		e.bought(t, e.buyer(t, 0), e.product, "meter", "same")
		e.clock.Advance(time.Hour)
		end := e.clock.Now().Truncate(time.Second)
		_, err := e.push(t, e.seller, rec("same", "sn-1", "1", end))
		wantCode(t, "Push by an ambiguous id", err, souk.EINVALID)
		outs, err := e.push(t, e.seller, rec(a, "sn-1", "1", end))
		must(t, err)
		if outs[0].InstanceID != a {
			t.Fatalf("Push by the marketplace id = %+v, want instance %s", outs, a)
		}
	})
}

func TestBill(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.buyer(t, 300)
		inst := e.bought(t, b, e.product, "meter", "seller-ins-1")
		free := e.bought(t, b, e.product, "free", "seller-ins-free")
		e.clock.Advance(3 * time.Hour)
		end := e.clock.Now().Truncate(time.Second)
		// 225 + 150 + 1 owed; 300 on the balance covers the first only.
		_, err := e.push(t, e.seller, rec("seller-ins-1", "a", "1.5", end), rec("seller-ins-1", "b", "1", end), rec("seller-ins-1", "c", "0.0067", end),
			rec("seller-ins-free", "d", "1000", end))
		must(t, err)

		rep, err := usage.Bill(ctx, e.db, e.clock.Now())
		must(t, err)
		if rep.Instances != 2 || rep.Billed != 2 || rep.Owed != 2 || rep.Failed != 0 {
			t.Fatalf("Bill = %+v, want 2 instances, 2 billed (225 and the free one), 2 owed", rep)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 75 {
			t.Fatalf("buyer balance = %d, want 300 - 225 = 75", got)
		}
		if got := e.balance(t, settle.PlatformClearing); got != 225 {
			t.Fatalf("clearing = %d, want 225", got)
		}
		owed, err := usage.OwedBy(ctx, e.db, b.UserID)
		must(t, err)
		if len(owed) != 2 || owed[0].MeteringSN != "b" || owed[0].Failures != 1 || !strings.Contains(owed[0].Error, "Insufficient balance") {
			t.Fatalf("owed = %+v, want b and c, each failed once for the balance", owed)
		}
		if err := settle.CheckInvariant(ctx, e.db); err != nil {
			t.Fatal(err)
		}

		// Nothing covered yet: owed again, no money moves.
		rep, err = usage.Bill(ctx, e.db, e.clock.Now())
		must(t, err)
		if rep.Billed != 0 || rep.Owed != 2 {
			t.Fatalf("second Bill = %+v, want nothing billed, 2 owed", rep)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 75 {
			t.Fatalf("buyer balance = %d, want still 75", got)
		}

		// After a top-up, the rest.
		e.topUp(t, b, 100)
		rep, err = usage.Bill(ctx, e.db, e.clock.Now())
		must(t, err)
		if rep.Billed != 2 || rep.Owed != 0 {
			t.Fatalf("Bill after a top-up = %+v, want 2 billed", rep)
		}
		if got := e.balance(t, settle.BuyerBalance(b.UserID)); got != 175-151 {
			t.Fatalf("buyer balance = %d, want 175 - 151 = 24", got)
		}
		if owed, _ := usage.OwedBy(ctx, e.db, b.UserID); len(owed) != 0 {
			t.Fatalf("owed after billing = %+v, want none", owed)
		}
		var refs int
		must(t, e.db.SQL().QueryRow(`SELECT count(*) FROM ledger_transactions WHERE ref = $1`, "usage:"+inst).Scan(&refs))
		if refs != 2 {
			t.Fatalf("%d ledger transactions usage:%s, want 2", refs, inst)
		}
		must(t, e.db.SQL().QueryRow(`SELECT count(*) FROM ledger_transactions WHERE ref = $1`, "usage:"+free).Scan(&refs))
		if refs != 0 {
			t.Fatalf("%d ledger transactions for the free instance, want none", refs)
		}

		// A charge is never billed twice; a later record is billed later.
		rep, err = usage.Bill(ctx, e.db, e.clock.Now())
		must(t, err)
		if rep.Instances != 0 || rep.Billed != 0 {
			t.Fatalf("Bill with nothing owed = %+v", rep)
		}
		e.clock.Advance(time.Minute)
		_, err = e.push(t, e.seller, rec("seller-ins-1", "e", "0.1", e.clock.Now().Truncate(time.Second)))
		must(t, err)
		rep, err = usage.Bill(ctx, e.db, e.clock.Now().Add(-time.Second))
		must(t, err)
		if rep.Billed != 0 {
			t.Fatalf("Bill up to before the record = %+v, want nothing", rep)
		}
		rep, err = usage.Bill(ctx, e.db, e.clock.Now())
		must(t, err)
		if rep.Billed != 1 || e.balance(t, settle.BuyerBalance(b.UserID)) != 24-15 {
			t.Fatalf("Bill = %+v, balance %d, want 1 billed, 9 left", rep, e.balance(t, settle.BuyerBalance(b.UserID)))
		}
	})
}

// TestConcurrentPushes: the same metering_sn pushed by many at once is
// stored and charged once, on either engine.
func TestConcurrentPushes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.bought(t, e.buyer(t, 0), e.product, "meter", "seller-ins-1")
		e.clock.Advance(time.Hour)
		end := e.clock.Now().Truncate(time.Second)
		const n = 8
		news := make(chan bool, n)
		errs := make(chan error, n)
		for i := range n {
			go func() {
				outs, err := e.push(t, e.seller, rec("seller-ins-1", "same", "1", end), rec("seller-ins-1", fmt.Sprintf("own-%d", i), "1", end))
				if err != nil {
					errs <- err
					return
				}
				news <- !outs[0].Duplicate
				errs <- nil
			}()
		}
		firsts := 0
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		close(news)
		for isNew := range news {
			if isNew {
				firsts++
			}
		}
		if firsts != 1 || e.count(t, "usage_records") != n+1 {
			t.Fatalf("%d pushes counted the shared record as new, %d records stored; want 1 and %d", firsts, e.count(t, "usage_records"), n+1)
		}
	})
}
