package settle

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/souk-market/souk/store"
)

// EntryRecord is one ledger entry of an account as its history shows it:
// the amount it added to (or, negative, took from) the balance, and the
// transaction's memo and ref.
type EntryRecord struct {
	ID            int64
	TransactionID int64
	Amount        Money
	Memo          string
	Ref           string
	At            time.Time
}

// Entries returns the entries of account, newest first: at most limit
// (50 if not positive, at most 200) of those with an id below before (0:
// from the newest). Who may read which account is the caller's decision.
func Entries(ctx context.Context, db *store.DB, account string, before int64, limit int) ([]EntryRecord, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 200)
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := db.SQL().QueryContext(ctx, `SELECT e.id, e.transaction_id, e.amount, e.currency, t.memo, t.ref, e.created_at
		FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
		WHERE e.account = $1 AND e.id < $2 ORDER BY e.id DESC LIMIT $3`, account, before, limit)
	if err != nil {
		return nil, fmt.Errorf("entries of %s: %w", account, err)
	}
	defer rows.Close()
	var out []EntryRecord
	for rows.Next() {
		var e EntryRecord
		var at int64
		if err := rows.Scan(&e.ID, &e.TransactionID, &e.Amount.Amount, &e.Amount.Currency, &e.Memo, &e.Ref, &at); err != nil {
			return nil, err
		}
		e.At = store.FromMillis(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
