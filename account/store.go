package account

// The package's SQL: rows in, the package's types out. No rules here.

import (
	"context"
	"database/sql"
	"time"

	"github.com/souk-market/souk/store"
)

// querier is what both *sql.DB (reads outside a transaction) and
// *store.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type scanner interface{ Scan(dest ...any) error }

// Users.

const userColumns = `u.id, u.email, u.name, u.password_hash, u.role, u.seller_id, u.created_at, u.disabled_at`

func scanUser(row scanner, extra ...any) (*User, error) {
	var u User
	var created int64
	var disabled sql.NullInt64
	dest := append([]any{&u.ID, &u.Email, &u.Name, &u.passwordHash, &u.Role, &u.SellerID, &created, &disabled}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	u.CreatedAt = store.FromMillis(created)
	if disabled.Valid {
		u.DisabledAt = store.FromMillis(disabled.Int64)
	}
	return &u, nil
}

// insertUser inserts u unless its email key is taken, and reports whether
// it did.
func insertUser(ctx context.Context, q querier, u *User, emailKey string) (bool, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO account_users
		(id, email, email_key, name, password_hash, role, seller_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (email_key) DO NOTHING`,
		u.ID, u.Email, emailKey, u.Name, u.passwordHash, u.Role, u.SellerID, store.Millis(u.CreatedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func userByID(ctx context.Context, q querier, id string) (*User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM account_users u WHERE u.id = $1`, id))
	return u, store.NotFound(err, "User %s not found.", id)
}

func userByEmailKey(ctx context.Context, q querier, key string) (*User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM account_users u WHERE u.email_key = $1`, key))
	return u, store.NotFound(err, "No account for %s.", key)
}

// updatePasswordHash replaces the hash old of a user by hash, and reports
// whether old was still the hash.
func updatePasswordHash(ctx context.Context, q querier, userID, old, hash string) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE account_users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`,
		hash, userID, old)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// setDisabled disables a user at *at (keeping an earlier time if already
// disabled), or enables them when at is nil.
func setDisabled(ctx context.Context, q querier, userID string, at *time.Time) error {
	var err error
	if at == nil {
		_, err = q.ExecContext(ctx, `UPDATE account_users SET disabled_at = NULL WHERE id = $1`, userID)
	} else {
		_, err = q.ExecContext(ctx, `UPDATE account_users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL`,
			store.Millis(*at), userID)
	}
	return err
}

// setSellerMember makes a user a member of seller sellerID.
func setSellerMember(ctx context.Context, q querier, userID, sellerID string) error {
	_, err := q.ExecContext(ctx, `UPDATE account_users SET role = 'seller', seller_id = $1 WHERE id = $2`, sellerID, userID)
	return err
}

// Sessions.

func insertSession(ctx context.Context, q querier, s *Session, hash []byte) error {
	_, err := q.ExecContext(ctx, `INSERT INTO account_sessions
		(id, user_id, token_hash, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		s.ID, s.UserID, hash, store.Millis(s.CreatedAt), store.Millis(s.LastSeenAt), store.Millis(s.ExpiresAt))
	return err
}

// sessionByHash returns the session with this token hash and its user.
func sessionByHash(ctx context.Context, q querier, hash []byte) (*Session, *User, error) {
	var s Session
	var created, seen, expires int64
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+`, s.id, s.created_at, s.last_seen_at, s.expires_at
		FROM account_sessions s JOIN account_users u ON u.id = s.user_id
		WHERE s.token_hash = $1`, hash), &s.ID, &created, &seen, &expires)
	if err != nil {
		return nil, nil, store.NotFound(err, "Session not found.")
	}
	s.UserID = u.ID
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = store.FromMillis(created), store.FromMillis(seen), store.FromMillis(expires)
	return &s, u, nil
}

// touchSession records that a session was seen at now, with its new
// expiry, unless another request did so after seenBefore.
func touchSession(ctx context.Context, q querier, id string, now, expires, seenBefore time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE account_sessions SET last_seen_at = $1, expires_at = $2
		WHERE id = $3 AND last_seen_at <= $4`,
		store.Millis(now), store.Millis(expires), id, store.Millis(seenBefore))
	return err
}

func deleteSessionByHash(ctx context.Context, q querier, hash []byte) error {
	_, err := q.ExecContext(ctx, `DELETE FROM account_sessions WHERE token_hash = $1`, hash)
	return err
}

// deleteSessions deletes a user's sessions, except the one with token
// hash keep if keep is not nil.
func deleteSessions(ctx context.Context, q querier, userID string, keep []byte) error {
	var err error
	if keep == nil {
		_, err = q.ExecContext(ctx, `DELETE FROM account_sessions WHERE user_id = $1`, userID)
	} else {
		_, err = q.ExecContext(ctx, `DELETE FROM account_sessions WHERE user_id = $1 AND token_hash <> $2`, userID, keep)
	}
	return err
}

func deleteExpiredSessions(ctx context.Context, q querier, userID string, now time.Time) error {
	_, err := q.ExecContext(ctx, `DELETE FROM account_sessions WHERE user_id = $1 AND expires_at <= $2`,
		userID, store.Millis(now))
	return err
}

// Failed log-ins.

// recentFailures returns the times of the latest failed log-ins for key
// after since, newest first, at most limit of them.
func recentFailures(ctx context.Context, q querier, key string, since time.Time, limit int) ([]time.Time, error) {
	rows, err := q.QueryContext(ctx, `SELECT at FROM account_login_failures
		WHERE email_key = $1 AND at > $2 ORDER BY at DESC LIMIT $3`,
		key, store.Millis(since), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, err
		}
		ts = append(ts, store.FromMillis(at))
	}
	return ts, rows.Err()
}

// insertFailure records a failed log-in for key at at, and deletes those
// for key at or before forgetUntil.
func insertFailure(ctx context.Context, q querier, key string, at, forgetUntil time.Time) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM account_login_failures WHERE email_key = $1 AND at <= $2`,
		key, store.Millis(forgetUntil)); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `INSERT INTO account_login_failures (email_key, at) VALUES ($1, $2)`,
		key, store.Millis(at))
	return err
}

func clearFailures(ctx context.Context, q querier, key string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM account_login_failures WHERE email_key = $1`, key)
	return err
}

// API tokens.

const tokenColumns = `t.id, t.user_id, t.name, t.created_at, t.expires_at, t.last_used_at, t.revoked_at`

func scanToken(row scanner, extra ...any) (*Token, error) {
	var t Token
	var created, expires int64
	var used, revoked sql.NullInt64
	dest := append([]any{&t.ID, &t.UserID, &t.Name, &created, &expires, &used, &revoked}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = store.FromMillis(created), store.FromMillis(expires)
	if used.Valid {
		t.LastUsedAt = store.FromMillis(used.Int64)
	}
	if revoked.Valid {
		t.RevokedAt = store.FromMillis(revoked.Int64)
	}
	return &t, nil
}

func insertToken(ctx context.Context, q querier, t *Token, hash []byte) error {
	_, err := q.ExecContext(ctx, `INSERT INTO account_tokens
		(id, user_id, name, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.UserID, t.Name, hash, store.Millis(t.CreatedAt), store.Millis(t.ExpiresAt))
	return err
}

func tokenByID(ctx context.Context, q querier, id string) (*Token, error) {
	t, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM account_tokens t WHERE t.id = $1`, id))
	return t, store.NotFound(err, "API token %s not found.", id)
}

// tokenByHash returns the token with this secret hash and its user.
func tokenByHash(ctx context.Context, q querier, hash []byte) (*Token, *User, error) {
	// The token's columns come first; the user's are scanned into a row
	// of their own afterwards.
	var u User
	var uCreated int64
	var uDisabled sql.NullInt64
	t, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenColumns+`,
		u.email, u.name, u.password_hash, u.role, u.seller_id, u.created_at, u.disabled_at
		FROM account_tokens t JOIN account_users u ON u.id = t.user_id
		WHERE t.token_hash = $1`, hash),
		&u.Email, &u.Name, &u.passwordHash, &u.Role, &u.SellerID, &uCreated, &uDisabled)
	if err != nil {
		return nil, nil, store.NotFound(err, "API token not found.")
	}
	u.ID = t.UserID
	u.CreatedAt = store.FromMillis(uCreated)
	if uDisabled.Valid {
		u.DisabledAt = store.FromMillis(uDisabled.Int64)
	}
	return t, &u, nil
}

func tokensOfUser(ctx context.Context, q querier, userID string) ([]*Token, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+tokenColumns+` FROM account_tokens t
		WHERE t.user_id = $1 ORDER BY t.created_at DESC, t.id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []*Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

func revokeToken(ctx context.Context, q querier, id string, at time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE account_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
		store.Millis(at), id)
	return err
}

func revokeUserTokens(ctx context.Context, q querier, userID string, at time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE account_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`,
		store.Millis(at), userID)
	return err
}

// touchToken records that a token was used at now, unless that was
// already recorded after usedBefore.
func touchToken(ctx context.Context, q querier, id string, now, usedBefore time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE account_tokens SET last_used_at = $1
		WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`,
		store.Millis(now), id, store.Millis(usedBefore))
	return err
}
