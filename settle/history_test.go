package settle_test

import (
	"testing"

	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// Entries lists an account's entries newest first, a page at a time, with
// their transactions' memo and ref, and nothing of other accounts.
func TestEntries(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		b1 := newBuyer(t, db, "h1@example.com")
		b2 := newBuyer(t, db, "h2@example.com")
		for _, a := range []int64{100, 200, 300} {
			if _, err := settle.TopUp(ctx, db, operator, b1, settle.M(a, "CNY")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := settle.TopUp(ctx, db, operator, b2, settle.M(999, "USD")); err != nil {
			t.Fatal(err)
		}
		if err := post(db, settle.Transaction{Memo: "pay order", Ref: "order:o-1",
			Entries: settle.Move(settle.BuyerBalance(b1), settle.PlatformClearing, settle.M(150, "CNY"))}); err != nil {
			t.Fatal(err)
		}

		all, err := settle.Entries(ctx, db, settle.BuyerBalance(b1), 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []int64{-150, 300, 200, 100}
		if len(all) != len(want) {
			t.Fatalf("Entries() = %+v, want %d entries", all, len(want))
		}
		for i, e := range all {
			if e.Amount != settle.M(want[i], "CNY") {
				t.Errorf("entry %d = %v, want %d CNY", i, e.Amount, want[i])
			}
			if e.At.IsZero() || e.TransactionID == 0 || e.Memo == "" {
				t.Errorf("entry %d lacks its transaction: %+v", i, e)
			}
		}
		if all[0].Memo != "pay order" || all[0].Ref != "order:o-1" || all[1].Ref != "topup:"+b1 {
			t.Errorf("memos and refs = %+v", all[:2])
		}

		page1, err := settle.Entries(ctx, db, settle.BuyerBalance(b1), 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		page2, err := settle.Entries(ctx, db, settle.BuyerBalance(b1), page1[len(page1)-1].ID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page1) != 2 || len(page2) != 2 || page2[0].ID != all[2].ID || page2[1].ID != all[3].ID {
			t.Fatalf("pages = %+v / %+v", page1, page2)
		}

		none, err := settle.Entries(ctx, db, settle.BuyerBalance("nobody"), 0, 10)
		if err != nil || len(none) != 0 {
			t.Fatalf("Entries(nobody) = %v, %v", none, err)
		}
	})
}
