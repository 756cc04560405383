package settle_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

var (
	ctx      = context.Background()
	t0       = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	operator = souk.Actor{UserID: "op-1", Role: souk.RoleOperator}
)

func each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Parallel()
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		fn(t, db)
		if err := settle.CheckInvariant(ctx, db); err != nil {
			t.Fatalf("CheckInvariant() = %v", err)
		}
	})
}

func balance(t *testing.T, db *store.DB, account, cur string) int64 {
	t.Helper()
	b, err := settle.Balance(ctx, db.SQL(), account, cur)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(db *store.DB, tr settle.Transaction) error {
	return db.Tx(ctx, func(tx *store.Tx) error { _, err := settle.Post(ctx, tx, tr); return err })
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := souk.ErrorCode(err); got != code {
		t.Fatalf("%s = %v, want code %q", what, err, code)
	}
}

// newBuyer opens a buyer account: top-ups go only to accounts that exist.
func newBuyer(t *testing.T, db *store.DB, email string) string {
	t.Helper()
	u, err := account.Register(ctx, db, account.Registration{Email: email, Name: "Buyer", Password: "a long buyer password"})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestMain(m *testing.M) {
	account.Params = account.TestParams // hash in microseconds
	m.Run()
}

func TestTopUpAndBalances(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		b1 := newBuyer(t, db, "b1@example.com")
		buyer := settle.BuyerBalance(b1)
		if _, err := settle.TopUp(ctx, db, operator, b1, settle.M(10000, "CNY")); err != nil {
			t.Fatal(err)
		}
		if _, err := settle.TopUp(ctx, db, operator, b1, settle.M(550, "CNY")); err != nil {
			t.Fatal(err)
		}
		if _, err := settle.TopUp(ctx, db, operator, b1, settle.M(700, "USD")); err != nil {
			t.Fatal(err)
		}
		if b := balance(t, db, buyer, "CNY"); b != 10550 {
			t.Fatalf("CNY balance = %d, want 10550", b)
		}
		if b := balance(t, db, buyer, "USD"); b != 700 {
			t.Fatalf("USD balance = %d, want 700", b)
		}
		if b := balance(t, db, settle.ExternalTopUp, "CNY"); b != -10550 {
			t.Fatalf("external:topup = %d, want -10550", b)
		}
		if b := balance(t, db, settle.BuyerBalance("nobody"), "CNY"); b != 0 {
			t.Fatalf("unused account = %d, want 0", b)
		}
		all, err := settle.Balances(ctx, db, buyer)
		if err != nil || len(all) != 2 || all[0] != settle.M(10550, "CNY") || all[1] != settle.M(700, "USD") {
			t.Fatalf("Balances() = %v, %v", all, err)
		}
	})
}

func TestTopUpIsForOperatorsAndPositiveAmounts(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		_, err := settle.TopUp(ctx, db, souk.Actor{UserID: "b1", Role: souk.RoleBuyer}, "b1", settle.M(100, "CNY"))
		wantCode(t, "TopUp(by a buyer)", err, souk.EUNAUTHORIZED)
		_, err = settle.TopUp(ctx, db, souk.Actor{UserID: "s1", Role: souk.RoleSeller, SellerID: "s"}, "b1", settle.M(100, "CNY"))
		wantCode(t, "TopUp(by a seller)", err, souk.EUNAUTHORIZED)
		_, err = settle.TopUp(ctx, db, souk.Actor{}, "b1", settle.M(100, "CNY"))
		wantCode(t, "TopUp(anonymous)", err, souk.EUNAUTHENTICATED)
		for _, m := range []settle.Money{settle.M(0, "CNY"), settle.M(-5, "CNY"), settle.M(5, "cny"), settle.M(5, "")} {
			_, err = settle.TopUp(ctx, db, operator, "b1", m)
			wantCode(t, fmt.Sprintf("TopUp(%v)", m), err, souk.EINVALID)
		}
		_, err = settle.TopUp(ctx, db, operator, "", settle.M(5, "CNY"))
		wantCode(t, "TopUp(no buyer)", err, souk.EINVALID)
		_, err = settle.TopUp(ctx, db, operator, "usr_nobody", settle.M(5, "CNY"))
		wantCode(t, "TopUp(no such account)", err, souk.ENOTFOUND)
		seller, err := account.CreateUser(ctx, db, operator, account.Registration{Email: "s@example.com", Name: "S", Password: "a long seller password", Role: souk.RoleSeller, SellerID: "s-1"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = settle.TopUp(ctx, db, operator, seller.ID, settle.M(5, "CNY"))
		wantCode(t, "TopUp(a seller's account)", err, souk.EINVALID)
		if b := balance(t, db, settle.BuyerBalance("b1"), "CNY"); b != 0 {
			t.Fatalf("balance after refused top-ups = %d", b)
		}
	})
}

func TestPostRefusesUnbalancedAndMalformed(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		for name, tr := range map[string]settle.Transaction{
			"unbalanced": {Memo: "x", Entries: []settle.Entry{{"a", 100, "CNY"}, {"b", -99, "CNY"}}},
			"balanced across currencies only": {Memo: "x", Entries: []settle.Entry{
				{"a", 100, "CNY"}, {"b", -100, "USD"}}},
			"one entry":    {Memo: "x", Entries: []settle.Entry{{"a", 0, "CNY"}}},
			"no entries":   {Memo: "x"},
			"zero amount":  {Memo: "x", Entries: []settle.Entry{{"a", 0, "CNY"}, {"b", 0, "CNY"}}},
			"no memo":      {Entries: settle.Move("a", "b", settle.M(1, "CNY"))},
			"no account":   {Memo: "x", Entries: settle.Move("", "b", settle.M(1, "CNY"))},
			"bad currency": {Memo: "x", Entries: settle.Move("a", "b", settle.M(1, "yuan"))},
			"overflow": {Memo: "x", Entries: []settle.Entry{{"a", 1 << 62, "CNY"}, {"a", 1 << 62, "CNY"},
				{"b", -(1 << 62), "CNY"}, {"b", -(1 << 62), "CNY"}}},
		} {
			wantCode(t, "Post("+name+")", post(db, tr), souk.EINVALID)
		}
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM ledger_entries`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d entries after refused posts (%v)", n, err)
		}
	})
}

func TestBuyerBalanceNeverNegative(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		b1 := newBuyer(t, db, "b1@example.com")
		buyer := settle.BuyerBalance(b1)
		if _, err := settle.TopUp(ctx, db, operator, b1, settle.M(5000, "CNY")); err != nil {
			t.Fatal(err)
		}
		err := post(db, settle.Transaction{Memo: "buy", Ref: "order:1", Entries: settle.Move(buyer, settle.PlatformClearing, settle.M(9900, "CNY"))})
		wantCode(t, "Post(beyond the balance)", err, souk.ECONFLICT)
		if msg := souk.ErrorMessage(err); msg != "Insufficient balance: 50.00 CNY available, 99.00 CNY needed." {
			t.Fatalf("message = %q", msg)
		}
		// Another currency is another balance.
		err = post(db, settle.Transaction{Memo: "buy", Entries: settle.Move(buyer, settle.PlatformClearing, settle.M(1, "USD"))})
		if !strings.Contains(souk.ErrorMessage(err), "0.00 USD available, 0.01 USD needed") {
			t.Fatalf("Post(USD) = %v", err)
		}
		// Exactly the balance is fine; then nothing is left.
		if err := post(db, settle.Transaction{Memo: "buy", Entries: settle.Move(buyer, settle.PlatformClearing, settle.M(5000, "CNY"))}); err != nil {
			t.Fatal(err)
		}
		if b := balance(t, db, buyer, "CNY"); b != 0 {
			t.Fatalf("balance = %d, want 0", b)
		}
		// Other accounts may go negative (external:topup always is).
		if err := post(db, settle.Transaction{Memo: "advance", Entries: settle.Move(settle.SellerPayable("s1"), settle.PlatformRevenue, settle.M(10, "CNY"))}); err != nil {
			t.Fatal(err)
		}
		// A debit and a credit of the same buyer in one transaction net out.
		if err := post(db, settle.Transaction{Memo: "net", Entries: []settle.Entry{
			{buyer, -300, "CNY"}, {buyer, 300, "CNY"}}}); err != nil {
			t.Fatal(err)
		}
	})
}

// Concurrent purchases never spend the same money twice.
func TestConcurrentDebitsNeverOverspend(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		b1 := newBuyer(t, db, "b1@example.com")
		buyer := settle.BuyerBalance(b1)
		if _, err := settle.TopUp(ctx, db, operator, b1, settle.M(1000, "CNY")); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, refused := 0, 0
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := post(db, settle.Transaction{Memo: "buy", Ref: fmt.Sprint("order:", i),
					Entries: settle.Move(buyer, settle.PlatformClearing, settle.M(100, "CNY"))})
				mu.Lock()
				defer mu.Unlock()
				switch souk.ErrorCode(err) {
				case "":
					ok++
				case souk.ECONFLICT:
					refused++
				default:
					t.Errorf("Post() = %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 10 || refused != 10 {
			t.Fatalf("%d debits succeeded and %d were refused, want 10 and 10", ok, refused)
		}
		if b := balance(t, db, buyer, "CNY"); b != 0 {
			t.Fatalf("balance = %d, want 0", b)
		}
	})
}

func TestCheckInvariantFindsTampering(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		b1 := newBuyer(t, db, "b1@example.com")
		if _, err := settle.TopUp(ctx, db, operator, b1, settle.M(1000, "CNY")); err != nil {
			t.Fatal(err)
		}
		if err := settle.CheckInvariant(ctx, db); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().Exec(`UPDATE ledger_balances SET balance = balance + 1 WHERE account = $1`, settle.BuyerBalance(b1)); err != nil {
			t.Fatal(err)
		}
		if err := settle.CheckInvariant(ctx, db); err == nil {
			t.Fatal("CheckInvariant() = nil after a balance was changed behind the ledger's back")
		}
		db.SQL().Exec(`UPDATE ledger_balances SET balance = balance - 1 WHERE account = $1`, settle.BuyerBalance(b1))
		if _, err := db.SQL().Exec(`UPDATE ledger_entries SET amount = amount + 1 WHERE account = $1`, settle.BuyerBalance(b1)); err != nil {
			t.Fatal(err)
		}
		if err := settle.CheckInvariant(ctx, db); err == nil || !strings.Contains(err.Error(), "unbalanced") {
			t.Fatalf("CheckInvariant() = %v after an entry was changed, want unbalanced", err)
		}
		db.SQL().Exec(`UPDATE ledger_entries SET amount = amount - 1 WHERE account = $1`, settle.BuyerBalance(b1))
	})
}

func TestMoney(t *testing.T) {
	for m, want := range map[settle.Money]string{
		settle.M(9900, "CNY"): "99.00 CNY", settle.M(-5, "USD"): "-0.05 USD", settle.M(500, "JPY"): "500 JPY",
		settle.M(0, "EUR"): "0.00 EUR", settle.M(-9223372036854775808, "EUR"): "-92233720368547758.08 EUR",
	} {
		if got := m.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", m, got, want)
		}
	}
	if n, err := settle.MulAmount(9900, 36); n != 356400 || err != nil {
		t.Errorf("MulAmount(9900, 36) = %d, %v", n, err)
	}
	if _, err := settle.MulAmount(1<<40, 1<<30); souk.ErrorCode(err) != souk.EINVALID {
		t.Errorf("MulAmount overflow = %v", err)
	}
}

// A keyed top-up happens once, however often it is sent, even at once.
func TestTopUpOnceByKey(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := newBuyer(t, db, "keyed@example.com")
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids := map[int64]int{}
		for range 6 {
			wg.Go(func() {
				id, _, err := settle.TopUpOnce(ctx, db, operator, b, settle.M(5000, "CNY"), "form-1")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids[id]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(ids) != 1 {
			t.Fatalf("six top-ups with one key made %d ledger transactions", len(ids))
		}
		if _, repeated, err := settle.TopUpOnce(ctx, db, operator, b, settle.M(5000, "CNY"), "form-1"); err != nil || !repeated {
			t.Fatalf("a later repeat = %v, repeated %v; want repeated", err, repeated)
		}
		if _, repeated, err := settle.TopUpOnce(ctx, db, operator, b, settle.M(5000, "CNY"), "form-2"); err != nil || repeated {
			t.Fatalf("another key = %v, repeated %v; want a new top-up", err, repeated)
		}
		if got, _ := settle.Balance(ctx, db.SQL(), settle.BuyerBalance(b), "CNY"); got != 10000 {
			t.Fatalf("balance = %d, want 10000 (two keys, once each)", got)
		}
		if err := settle.CheckInvariant(ctx, db); err != nil {
			t.Fatal(err)
		}
	})
}

// Whoever may not top up learns nothing from a key that was used: the
// refusal comes before the key is looked at.
func TestTopUpOnceRefusesBeforeLookingAtTheKey(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ann := newBuyer(t, db, "ann@example.com")
		if _, _, err := settle.TopUpOnce(ctx, db, operator, ann, settle.M(20000, "CNY"), "k-1"); err != nil {
			t.Fatal(err)
		}
		bob := souk.Actor{UserID: newBuyer(t, db, "bob@example.com"), Role: souk.RoleBuyer}
		if _, repeated, err := settle.TopUpOnce(ctx, db, bob, ann, settle.M(1, "CNY"), "k-1"); souk.ErrorCode(err) != souk.EUNAUTHORIZED || repeated {
			t.Fatalf("a buyer repeating the operator's key = %v (repeated %v), want EUNAUTHORIZED", err, repeated)
		}
	})
}
