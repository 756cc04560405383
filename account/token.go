package account

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// TokenPrefix begins every API token, so that Authenticate can tell one
// from a session token and secret scanners can recognise a leaked one.
const TokenPrefix = "souk_pat_"

const (
	// MaxTokenLifetime bounds the expiry of an API token: a token that
	// never expires is a leak waiting to be found.
	MaxTokenLifetime = 366 * 24 * time.Hour

	// When a token was last used is recorded at most this often.
	tokenTouchEvery = time.Minute
)

// Token is a personal API token: it authenticates as its user, in the
// role the user has when it is used. Only the SHA-256 of the secret is
// stored; the secret is returned once, by CreateToken.
type Token struct {
	ID         string
	UserID     string
	Name       string // the owner's label: what the token is for
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time // zero if never used
	RevokedAt  time.Time // zero unless revoked
}

// Active reports whether the token authenticates at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt)
}

// CreateToken creates an API token for by, named name, expiring after
// expiresIn. The returned secret (TokenPrefix and 43 more characters) is
// shown this once.
//
// Returns EINVALID for a missing or overlong name or a lifetime that is
// not positive or beyond MaxTokenLifetime, and EUNAUTHENTICATED if by's
// account is gone or disabled.
func CreateToken(ctx context.Context, db *store.DB, by souk.Actor, name string, expiresIn time.Duration) (string, *Token, error) {
	if err := requireActor(by); err != nil {
		return "", nil, err
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", nil, souk.Errorf(souk.EINVALID, "name: required")
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", nil, souk.Errorf(souk.EINVALID, "name: at most %d characters", maxNameLen)
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", nil, souk.Errorf(souk.EINVALID, "name: must not contain control characters")
	case expiresIn <= 0:
		return "", nil, souk.Errorf(souk.EINVALID, "expires_in: must be positive")
	case expiresIn > MaxTokenLifetime:
		return "", nil, souk.Errorf(souk.EINVALID, "expires_in: at most %d days", int(MaxTokenLifetime/(24*time.Hour)))
	}
	if _, err := activeUser(ctx, db, by.UserID); err != nil {
		return "", nil, err
	}
	secret := newSecret(TokenPrefix)
	t := &Token{ID: newID("tok_"), UserID: by.UserID, Name: name}
	err := db.Tx(ctx, func(tx *store.Tx) error {
		t.CreatedAt = tx.Now.Truncate(time.Millisecond)
		t.ExpiresAt = t.CreatedAt.Add(expiresIn).Truncate(time.Millisecond)
		return insertToken(ctx, tx, t, secretHash(secret))
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// ListTokens returns a user's API tokens, newest first, revoked and
// expired ones included: to the user and to operators.
//
// Returns EUNAUTHORIZED for anyone else.
func ListTokens(ctx context.Context, db *store.DB, by souk.Actor, userID string) ([]*Token, error) {
	if err := requireActor(by); err != nil {
		return nil, err
	}
	if by.UserID != userID && !by.IsOperator() {
		return nil, souk.Errorf(souk.EUNAUTHORIZED, "You may list only your own API tokens.")
	}
	return tokensOfUser(ctx, db.SQL(), userID)
}

// RevokeToken revokes an API token for good: its owner or an operator
// may. Revoking a revoked token does nothing.
//
// Returns ENOTFOUND if there is no such token, or it is someone else's:
// another user learns nothing of it.
func RevokeToken(ctx context.Context, db *store.DB, by souk.Actor, tokenID string) error {
	if err := requireActor(by); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		t, err := tokenByID(ctx, tx, tokenID)
		if err == nil && t.UserID != by.UserID && !by.IsOperator() {
			err = souk.Errorf(souk.ENOTFOUND, "API token %s not found.", tokenID)
		}
		if err != nil || !t.RevokedAt.IsZero() {
			return err
		}
		return revokeToken(ctx, tx, tokenID, tx.Now)
	})
}

func authenticateToken(ctx context.Context, db *store.DB, secret string) (souk.Actor, *User, error) {
	now := db.Clock().Now()
	t, u, err := tokenByHash(ctx, db.SQL(), secretHash(secret))
	if souk.ErrorCode(err) == souk.ENOTFOUND || (err == nil && !t.Active(now)) {
		return souk.Actor{}, nil, souk.Errorf(souk.EUNAUTHENTICATED, "The API token is unknown, revoked or expired.")
	} else if err != nil {
		return souk.Actor{}, nil, err
	}
	if u.Disabled() {
		return souk.Actor{}, nil, accountDisabled()
	}
	if t.LastUsedAt.IsZero() || now.Sub(t.LastUsedAt) >= tokenTouchEvery {
		err := db.Tx(ctx, func(tx *store.Tx) error {
			return touchToken(ctx, tx, t.ID, tx.Now, tx.Now.Add(-tokenTouchEvery))
		})
		if err != nil {
			return souk.Actor{}, nil, err
		}
	}
	return u.Actor(), u, nil
}
