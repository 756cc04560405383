package settle

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/store"
)

// Entry is one line of a ledger transaction: Amount (signed, minor units
// of Currency) added to Account's balance.
type Entry struct {
	Account  string
	Amount   int64
	Currency string
}

// Transaction is a set of entries that move money between accounts. The
// entries of each currency must sum to zero.
type Transaction struct {
	// Memo says what happened, for a person reading the ledger.
	Memo string
	// Ref names what the transaction belongs to: "order:ID",
	// "order:ID:refund", "topup".
	Ref string
	// Actor is who caused it, when a person did ("" for the marketplace).
	Actor   string
	Entries []Entry
}

// Move returns the two entries that move m from account from to account
// to: the common case of a transaction.
func Move(from, to string, m Money) []Entry {
	return []Entry{{Account: from, Amount: -m.Amount, Currency: m.Currency}, {Account: to, Amount: m.Amount, Currency: m.Currency}}
}

// Querier is what Balance reads through: *sql.DB, *sql.Tx or *store.Tx.
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// validate checks t's shape: a memo, named accounts, valid currencies,
// non-zero amounts, and a zero sum per currency.
func (t Transaction) validate() error {
	if strings.TrimSpace(t.Memo) == "" {
		return souk.Errorf(souk.EINVALID, "A ledger transaction needs a memo.")
	}
	if len(t.Entries) < 2 {
		return souk.Errorf(souk.EINVALID, "A ledger transaction needs at least two entries.")
	}
	sums := map[string]int64{}
	for i, e := range t.Entries {
		switch {
		case strings.TrimSpace(e.Account) == "":
			return souk.Errorf(souk.EINVALID, "entries[%d].account: is required.", i)
		case !ValidCurrency(e.Currency):
			return souk.Errorf(souk.EINVALID, "entries[%d].currency: %q is not an ISO 4217 code.", i, e.Currency)
		case e.Amount == 0:
			return souk.Errorf(souk.EINVALID, "entries[%d].amount: must not be zero.", i)
		}
		s, ok := addAmount(sums[e.Currency], e.Amount)
		if !ok {
			return souk.Errorf(souk.EINVALID, "The entries' sum in %s overflows.", e.Currency)
		}
		sums[e.Currency] = s
	}
	for cur, s := range sums {
		if s != 0 {
			return souk.Errorf(souk.EINVALID, "Unbalanced ledger transaction: the %s entries sum to %s, not zero.", cur, Money{s, cur})
		}
	}
	return nil
}

// Shards is how many rows keep the balance of an account that may go
// negative (platform and seller accounts): a transaction updates the one
// its id picks, so concurrent purchases, which all credit
// platform:clearing, do not queue for one row lock. A buyer balance is one
// row, so that its check and debit stay one statement.
const Shards = 16

// Post records t in tx and returns its id. It refuses (EINVALID) a
// transaction whose entries do not sum to zero per currency, and
// (ECONFLICT "Insufficient balance: …") one that would take a buyer's
// balance below zero. Balances are updated in account order, so two
// concurrent transactions never deadlock on them; the check and the
// update of a buyer balance are one statement under its row lock, so two
// concurrent purchases can never spend the same money.
func Post(ctx context.Context, tx *store.Tx, t Transaction) (int64, error) {
	if err := t.validate(); err != nil {
		return 0, err
	}
	now := store.Millis(tx.Now)
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO ledger_transactions (memo, ref, actor, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		t.Memo, t.Ref, t.Actor, now).Scan(&id); err != nil {
		return 0, fmt.Errorf("post ledger transaction: %w", err)
	}

	// One balance change per account and currency, applied in order.
	type key struct{ account, currency string }
	deltas := map[key]int64{}
	for _, e := range t.Entries {
		k := key{e.Account, e.Currency}
		s, ok := addAmount(deltas[k], e.Amount)
		if !ok {
			return 0, souk.Errorf(souk.EINVALID, "The entries of %s overflow.", e.Account)
		}
		deltas[k] = s
	}
	keys := make([]key, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.currency, b.currency))
	})
	for _, k := range keys {
		d := deltas[k]
		if d == 0 {
			continue
		}
		shard := 0
		if !nonNegative(k.account) {
			shard = int(id % Shards)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_balances (account, currency, shard, balance, updated_at) VALUES ($1, $2, $3, 0, $4)
			ON CONFLICT (account, currency, shard) DO NOTHING`, k.account, k.currency, shard, now); err != nil {
			return 0, fmt.Errorf("post ledger transaction: open %s: %w", k.account, err)
		}
		q := `UPDATE ledger_balances SET balance = balance + $1, updated_at = $2 WHERE account = $3 AND currency = $4 AND shard = $5`
		guarded := d < 0 && nonNegative(k.account)
		if guarded {
			q += ` AND balance + $1 >= 0`
		}
		res, err := tx.ExecContext(ctx, q, d, now, k.account, k.currency, shard)
		if err != nil {
			return 0, fmt.Errorf("post ledger transaction: update %s: %w", k.account, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, err
		} else if n == 0 && guarded {
			have, err := Balance(ctx, tx, k.account, k.currency)
			if err != nil {
				return 0, err
			}
			return 0, souk.Errorf(souk.ECONFLICT, "Insufficient balance: %s available, %s needed.", Money{have, k.currency}, Money{-d, k.currency})
		}
	}

	rows := make([]string, len(t.Entries))
	args := make([]any, 0, 5*len(t.Entries))
	for i, e := range t.Entries {
		n := len(args)
		rows[i] = fmt.Sprintf("($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, id, e.Account, e.Currency, e.Amount, now)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_entries (transaction_id, account, currency, amount, created_at) VALUES `+
		strings.Join(rows, ", "), args...); err != nil {
		return 0, fmt.Errorf("post ledger entries: %w", err)
	}
	return id, nil
}

// Balance returns the balance of account in currency: the sum of its
// entries, 0 for an account never used.
func Balance(ctx context.Context, q Querier, account, currency string) (int64, error) {
	var b int64
	err := q.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM ledger_balances WHERE account = $1 AND currency = $2`,
		account, currency).Scan(&b)
	if err != nil {
		return 0, fmt.Errorf("balance of %s: %w", account, err)
	}
	return b, nil
}

// Balances returns every balance of account, by currency (none for an
// account never used).
func Balances(ctx context.Context, db *store.DB, account string) ([]Money, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT CAST(SUM(balance) AS BIGINT), currency FROM ledger_balances WHERE account = $1
		GROUP BY currency ORDER BY currency`, account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Money
	for rows.Next() {
		var m Money
		if err := rows.Scan(&m.Amount, &m.Currency); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// CheckInvariant verifies the whole ledger: every transaction's entries sum
// to zero per currency, all accounts together sum to zero per currency,
// every kept balance equals the sum of its account's entries, and no buyer
// balance is negative. It returns an error describing the first breach, or
// nil. Tests call it after every scenario; an operator tool may too.
func CheckInvariant(ctx context.Context, db *store.DB) error {
	q := db.SQL()
	var txID, sum int64
	var cur string
	err := q.QueryRowContext(ctx, `SELECT transaction_id, currency, CAST(SUM(amount) AS BIGINT) FROM ledger_entries
		GROUP BY transaction_id, currency HAVING SUM(amount) <> 0 ORDER BY transaction_id LIMIT 1`).Scan(&txID, &cur, &sum)
	if err == nil {
		return fmt.Errorf("ledger: transaction %d is unbalanced: its %s entries sum to %d", txID, cur, sum)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger: check transactions: %w", err)
	}
	err = q.QueryRowContext(ctx, `SELECT currency, CAST(SUM(amount) AS BIGINT) FROM ledger_entries
		GROUP BY currency HAVING SUM(amount) <> 0 ORDER BY currency LIMIT 1`).Scan(&cur, &sum)
	if err == nil {
		return fmt.Errorf("ledger: all accounts in %s sum to %d, not zero", cur, sum)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger: check totals: %w", err)
	}
	err = q.QueryRowContext(ctx, `SELECT currency, CAST(SUM(balance) AS BIGINT) FROM ledger_balances
		GROUP BY currency HAVING SUM(balance) <> 0 ORDER BY currency LIMIT 1`).Scan(&cur, &sum)
	if err == nil {
		return fmt.Errorf("ledger: all balances in %s sum to %d, not zero", cur, sum)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger: check balance totals: %w", err)
	}
	var account string
	var kept int64
	err = q.QueryRowContext(ctx, `SELECT b.account, b.currency, b.balance, COALESCE(e.total, 0)
		FROM (SELECT account, currency, CAST(SUM(balance) AS BIGINT) AS balance FROM ledger_balances GROUP BY account, currency) b
		LEFT JOIN (SELECT account, currency, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_entries GROUP BY account, currency) e
		  ON e.account = b.account AND e.currency = b.currency
		WHERE b.balance <> COALESCE(e.total, 0)
		ORDER BY b.account, b.currency LIMIT 1`).Scan(&account, &cur, &kept, &sum)
	if err == nil {
		return fmt.Errorf("ledger: %s keeps a balance of %d %s but its entries sum to %d", account, kept, cur, sum)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger: check balances: %w", err)
	}
	err = q.QueryRowContext(ctx, `SELECT e.account, e.currency FROM ledger_entries e
		LEFT JOIN ledger_balances b ON b.account = e.account AND b.currency = e.currency
		WHERE b.account IS NULL LIMIT 1`).Scan(&account, &cur)
	if err == nil {
		return fmt.Errorf("ledger: %s has %s entries but no kept balance", account, cur)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger: check balances: %w", err)
	}
	err = q.QueryRowContext(ctx, `SELECT account, currency, balance FROM ledger_balances
		WHERE account LIKE 'buyer:%:balance' AND balance < 0 ORDER BY account LIMIT 1`).Scan(&account, &cur, &kept)
	if err == nil {
		return fmt.Errorf("ledger: buyer balance %s is negative: %s", account, Money{kept, cur})
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ledger: check buyer balances: %w", err)
	}
	return nil
}

// TopUp credits buyerID's balance with m, from outside the marketplace
// (external:topup), and returns the ledger transaction's id. Only an
// operator may top up (EUNAUTHORIZED otherwise); m must be positive, in a
// valid currency (EINVALID).
func TopUp(ctx context.Context, db *store.DB, by souk.Actor, buyerID string, m Money) (int64, error) {
	id, _, err := TopUpOnce(ctx, db, by, buyerID, m, "")
	return id, err
}

// MaxTopUpKey is the longest key TopUpOnce takes.
const MaxTopUpKey = 100

// TopUpOnce is TopUp made at most once per key (a form's hidden key, an
// API request's Idempotency-Key): a repeat with a key already used for
// buyerID returns the first top-up's id with repeated set and moves no
// money, even when both arrive at once. An empty key is no key.
func TopUpOnce(ctx context.Context, db *store.DB, by souk.Actor, buyerID string, m Money, key string) (id int64, repeated bool, err error) {
	if len(key) > MaxTopUpKey {
		return 0, false, souk.Errorf(souk.EINVALID, "key: at most %d characters.", MaxTopUpKey)
	}
	if err := checkTopUp(ctx, db, by, buyerID, m); err != nil {
		return 0, false, err // before the key is looked at: a repeat tells nothing to whoever may not top up
	}
	ref := "topup:" + buyerID
	if key != "" {
		ref += ":" + key
	}
	err = db.Tx(ctx, func(tx *store.Tx) error {
		if key != "" {
			// One top-up per key at a time (an SQLite write transaction
			// holds the database already), then the key looked up inside.
			if tx.Engine == store.Postgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, ref); err != nil {
					return err
				}
			}
			var found bool
			var err error
			if id, found, err = firstOf(ctx, tx, ref); err != nil || found {
				repeated = found
				return err
			}
		}
		id, err = Post(ctx, tx, Transaction{
			Memo:    fmt.Sprintf("Top-up of %s for buyer %s", m, buyerID),
			Ref:     ref,
			Actor:   by.UserID,
			Entries: Move(ExternalTopUp, BuyerBalance(buyerID), m),
		})
		return err
	})
	return id, repeated, err
}

// firstOf returns the first ledger transaction with ref, if any.
func firstOf(ctx context.Context, q Querier, ref string) (int64, bool, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM ledger_transactions WHERE ref = $1 ORDER BY id LIMIT 1`, ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// checkTopUp is who may top up what: an operator, a positive amount in a
// valid currency, an existing buyer account.
func checkTopUp(ctx context.Context, db *store.DB, by souk.Actor, buyerID string, m Money) error {
	if by.UserID == "" {
		return souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to top up a balance.")
	}
	if !by.IsOperator() {
		return souk.Errorf(souk.EUNAUTHORIZED, "Only operators can top up a buyer's balance.")
	}
	if strings.TrimSpace(buyerID) == "" {
		return souk.Errorf(souk.EINVALID, "buyerId: is required.")
	}
	if m.Amount <= 0 {
		return souk.Errorf(souk.EINVALID, "amount: must be positive, not %d.", m.Amount)
	}
	if !ValidCurrency(m.Currency) {
		return souk.Errorf(souk.EINVALID, "currency: %q is not an ISO 4217 code.", m.Currency)
	}
	// Money goes only to an account somebody owns: a mistyped id would
	// otherwise strand it.
	u, err := account.GetUser(ctx, db, by, buyerID)
	if err != nil {
		return err
	}
	if u.Role != souk.RoleBuyer {
		return souk.Errorf(souk.EINVALID, "buyerId: %s is a %s account, not a buyer.", buyerID, u.Role)
	}
	return nil
}
