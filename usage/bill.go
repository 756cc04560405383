package usage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// billBatch caps the owed records one instance's transaction bills; the
// rest wait for the next Bill.
const billBatch = 5000

// BillReport says what one Bill did.
type BillReport struct {
	Instances int // instances with owed charges looked at
	Billed    int // records billed
	Owed      int // records left owed: the buyer's balance did not cover them
	Failed    int // instances whose transaction failed (their charges stay owed)
}

// Bill moves every instance's owed charges recorded at or before now to
// the ledger, one transaction per instance, by the rule in doc.go. A
// failure of one instance (a database error, money spent concurrently) is
// counted in Failed and logged in the returned error, joined, while the
// others go on; its charges stay owed.
func Bill(ctx context.Context, db *store.DB, now time.Time) (BillReport, error) {
	var rep BillReport
	rows, err := db.SQL().QueryContext(ctx, `SELECT DISTINCT instance_id FROM usage_records
		WHERE billed_at IS NULL AND created_at <= $1 ORDER BY instance_id`, store.Millis(now))
	if err != nil {
		return rep, fmt.Errorf("bill usage: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return rep, fmt.Errorf("bill usage: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("bill usage: %w", err)
	}
	var errs []string
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		rep.Instances++
		var billed, owed int
		err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			billed, owed, err = billInstance(ctx, tx, id, now)
			return err
		})
		if err != nil {
			rep.Failed++
			errs = append(errs, fmt.Sprintf("instance %s: %v", id, err))
			continue
		}
		rep.Billed += billed
		rep.Owed += owed
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("bill usage: %s", strings.Join(errs, "; "))
	}
	return rep, nil
}

type owedCharge struct {
	id       int64
	buyerID  string
	charge   int64
	currency string
}

// billInstance bills the owed charges of instance id in tx.
func billInstance(ctx context.Context, tx *store.Tx, id string, now time.Time) (billed, owed int, err error) {
	// The records are locked as they are read (on PostgreSQL; an SQLite
	// write transaction holds the database): a second Bill running at the
	// same time — a job whose lease ran out under it — waits, then finds
	// them billed, so no charge is posted twice.
	lock := ""
	if tx.Engine == store.Postgres {
		lock = " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, buyer_id, charge, currency FROM usage_records
		WHERE instance_id = $1 AND billed_at IS NULL AND created_at <= $2 ORDER BY id LIMIT `+fmt.Sprint(billBatch)+lock, id, store.Millis(now))
	if err != nil {
		return 0, 0, err
	}
	var all []owedCharge
	for rows.Next() {
		var c owedCharge
		if err := rows.Scan(&c.id, &c.buyerID, &c.charge, &c.currency); err != nil {
			rows.Close()
			return 0, 0, err
		}
		all = append(all, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	// By buyer and currency (one buyer per instance, in practice), in
	// order of first appearance so the oldest are billed first.
	type group struct {
		buyerID, currency string
		charges           []owedCharge
	}
	var groups []*group
	index := map[[2]string]*group{}
	for _, c := range all {
		k := [2]string{c.buyerID, c.currency}
		g, ok := index[k]
		if !ok {
			g = &group{buyerID: c.buyerID, currency: c.currency}
			index[k] = g
			groups = append(groups, g)
		}
		g.charges = append(g.charges, c)
	}
	for _, g := range groups {
		account := settle.BuyerBalance(g.buyerID)
		have, err := settle.Balance(ctx, tx, account, g.currency)
		if err != nil {
			return 0, 0, err
		}
		var total int64
		n := 0
		for _, c := range g.charges {
			t, ok := checkedAdd(total, c.charge)
			if !ok || t > have {
				break
			}
			total, n = t, n+1
		}
		take, left := g.charges[:n], g.charges[n:]
		var txID any
		if total > 0 {
			ledgerID, err := settle.Post(ctx, tx, settle.Transaction{
				Memo:    fmt.Sprintf("Pay-per-use charges of instance %s: %d records", id, len(take)),
				Ref:     "usage:" + id,
				Entries: settle.Move(account, settle.PlatformClearing, settle.M(total, g.currency)),
			})
			if err != nil {
				return 0, 0, err
			}
			txID = ledgerID
		}
		if n, err := updateIDs(ctx, tx, take, `UPDATE usage_records SET billed_at = $1, ledger_tx = $2 WHERE billed_at IS NULL AND id IN `,
			store.Millis(tx.Now), txID); err != nil {
			return 0, 0, err
		} else if n != len(take) {
			// Never expected under the lock; if it happens, the posting
			// must not stand.
			return 0, 0, fmt.Errorf("instance %s: %d of %d charges were billed meanwhile", id, len(take)-n, len(take))
		}
		if len(left) > 0 {
			var owedTotal int64
			for _, c := range left {
				owedTotal, _ = checkedAdd(owedTotal, c.charge)
			}
			why := souk.Errorf(souk.ECONFLICT, "Insufficient balance: %s available, %s owed.",
				settle.M(have-total, g.currency), settle.M(owedTotal, g.currency)).Message
			if _, err := updateIDs(ctx, tx, left, `UPDATE usage_records SET bill_failures = bill_failures + 1, bill_error = $1 WHERE billed_at IS NULL AND id IN `,
				why); err != nil {
				return 0, 0, err
			}
		}
		billed += len(take)
		owed += len(left)
	}
	return billed, owed, nil
}

// updateIDs runs query (ending in "id IN ") for the ids of cs, in chunks,
// with args before the ids, and returns how many rows it changed.
func updateIDs(ctx context.Context, tx *store.Tx, cs []owedCharge, query string, args ...any) (int, error) {
	const chunk = 500
	changed := 0
	for len(cs) > 0 {
		n := min(chunk, len(cs))
		ph := make([]string, n)
		all := append([]any(nil), args...)
		for i, c := range cs[:n] {
			all = append(all, c.id)
			ph[i] = fmt.Sprintf("$%d", len(all))
		}
		res, err := tx.ExecContext(ctx, query+"("+strings.Join(ph, ", ")+")", all...)
		if err != nil {
			return 0, fmt.Errorf("update usage records: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		changed += int(k)
		cs = cs[n:]
	}
	return changed, nil
}
