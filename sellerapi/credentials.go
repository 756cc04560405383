package sellerapi

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/store"
)

// Credential is one of a seller's API credentials for the open API. Its
// secret is shown once, when created (NewCredential).
type Credential struct {
	KeyID     string
	SellerID  string
	Name      string
	CreatedBy string
	CreatedAt time.Time
	// RevokedAt is zero while the credential is valid.
	RevokedAt time.Time
	RevokedBy string
}

// Revoked reports whether c can no longer sign calls.
func (c Credential) Revoked() bool { return !c.RevokedAt.IsZero() }

// NewCredential is a credential just created, with its secret: the only
// time the secret is shown.
type NewCredential struct {
	Credential
	Secret string
}

// MaxCredentials is the most valid credentials a seller may hold at once:
// enough to rotate (create the new one, deploy it, revoke the old one)
// across a few systems.
const MaxCredentials = 10

// MaxNameLength caps a credential's name.
const MaxNameLength = 100

// requireSellerMember is the rule that only a seller's members manage its
// credentials.
func requireSellerMember(by souk.Actor, doing string) error {
	if by.UserID == "" {
		return souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to %s.", doing)
	}
	if by.Role != souk.RoleSeller || by.SellerID == "" {
		return souk.Errorf(souk.EUNAUTHORIZED, "Only a seller's members can %s.", doing)
	}
	return nil
}

// sealOwner binds a sealed secret to its credential: a sealed value copied
// to another row does not open there.
func sealOwner(keyID string) string { return "sellerapi:" + keyID }

// CreateCredential creates an API credential for by's seller, named name
// (for the seller's own reference), and returns it with its secret, sealed
// at rest with keys.
//
// Errors: EUNAUTHENTICATED, EUNAUTHORIZED (not a seller member), EINVALID
// (a name too long), ECONFLICT (MaxCredentials valid ones already),
// EINTERNAL without keys.
func CreateCredential(ctx context.Context, db *store.DB, keys *catalog.Keyring, by souk.Actor, name string) (NewCredential, error) {
	if err := requireSellerMember(by, "create API credentials"); err != nil {
		return NewCredential{}, err
	}
	name = strings.TrimSpace(name)
	if len(name) > MaxNameLength {
		return NewCredential{}, souk.Errorf(souk.EINVALID, "name: at most %d characters.", MaxNameLength)
	}
	if keys == nil {
		return NewCredential{}, errors.New("sellerapi: no marketplace key configured to seal API secrets")
	}
	var out NewCredential
	err := db.Tx(ctx, func(tx *store.Tx) error {
		if tx.Engine == store.Postgres {
			// One creation per seller at a time, so the count below holds
			// until the insert commits (an SQLite write transaction holds
			// the database already).
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('sellerapi:' || $1))`, by.SellerID); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sellerapi_credentials WHERE seller_id = $1 AND revoked_at IS NULL`,
			by.SellerID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxCredentials {
			return souk.Errorf(souk.ECONFLICT, "Your seller has %d valid API credentials, the most allowed: revoke one first.", n)
		}
		b := make([]byte, 10)
		rand.Read(b)
		out = NewCredential{
			Credential: Credential{KeyID: "sk_" + hex.EncodeToString(b), SellerID: by.SellerID, Name: name,
				CreatedBy: by.UserID, CreatedAt: tx.Now},
			Secret: rand.Text() + rand.Text(),
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sellerapi_credentials (key_id, seller_id, name, secret, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, out.KeyID, out.SellerID, out.Name,
			keys.Seal([]byte(out.Secret), sealOwner(out.KeyID)), out.CreatedBy, store.Millis(tx.Now))
		return err
	})
	if err != nil {
		return NewCredential{}, err
	}
	return out, nil
}

// ListCredentials returns the credentials of by's seller, newest first,
// revoked ones included, without their secrets.
//
// Errors: EUNAUTHENTICATED, EUNAUTHORIZED (not a seller member).
func ListCredentials(ctx context.Context, db *store.DB, by souk.Actor) ([]Credential, error) {
	if err := requireSellerMember(by, "list API credentials"); err != nil {
		return nil, err
	}
	rows, err := db.SQL().QueryContext(ctx, `SELECT `+credentialColumns+` FROM sellerapi_credentials
		WHERE seller_id = $1 ORDER BY created_at DESC, key_id DESC`, by.SellerID)
	if err != nil {
		return nil, fmt.Errorf("list API credentials: %w", err)
	}
	defer rows.Close()
	out := []Credential{}
	for rows.Next() {
		c, _, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("list API credentials: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeCredential revokes credential keyID of by's seller at once: calls
// signed with it are refused from then on. Revoking a revoked credential
// changes nothing.
//
// Errors: EUNAUTHENTICATED, EUNAUTHORIZED (not a seller member), ENOTFOUND
// (no such credential of by's seller — another seller's is not found
// either).
func RevokeCredential(ctx context.Context, db *store.DB, by souk.Actor, keyID string) error {
	if err := requireSellerMember(by, "revoke API credentials"); err != nil {
		return err
	}
	keyID = strings.TrimSpace(keyID)
	return db.Tx(ctx, func(tx *store.Tx) error {
		c, _, err := scanCredential(tx.QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM sellerapi_credentials WHERE key_id = $1`, keyID))
		if errors.Is(err, sql.ErrNoRows) || err == nil && c.SellerID != by.SellerID {
			return souk.Errorf(souk.ENOTFOUND, "API credential %s not found.", keyID)
		} else if err != nil {
			return err
		}
		if c.Revoked() {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE sellerapi_credentials SET revoked_at = $1, revoked_by = $2 WHERE key_id = $3 AND revoked_at IS NULL`,
			store.Millis(tx.Now), by.UserID, keyID)
		return err
	})
}

const credentialColumns = `key_id, seller_id, name, created_by, created_at, revoked_at, revoked_by, secret`

func scanCredential(r interface{ Scan(...any) error }) (Credential, []byte, error) {
	var c Credential
	var created int64
	var revoked sql.NullInt64
	var sealed []byte
	if err := r.Scan(&c.KeyID, &c.SellerID, &c.Name, &c.CreatedBy, &created, &revoked, &c.RevokedBy, &sealed); err != nil {
		return Credential{}, nil, err
	}
	c.CreatedAt = store.FromMillis(created)
	if revoked.Valid {
		c.RevokedAt = store.FromMillis(revoked.Int64)
	}
	return c, sealed, nil
}

// credentialOf returns credential keyID and its secret, for verifying a
// call: ENOTFOUND for an unknown key id.
func credentialOf(ctx context.Context, db *store.DB, keys *catalog.Keyring, keyID string) (Credential, string, error) {
	c, sealed, err := scanCredential(db.SQL().QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM sellerapi_credentials WHERE key_id = $1`, keyID))
	if err != nil {
		return Credential{}, "", store.NotFound(err, "Unknown API key %.64q.", keyID)
	}
	if keys == nil {
		return Credential{}, "", errors.New("sellerapi: no marketplace key configured to open API secrets")
	}
	secret, err := keys.Open(sealed, sealOwner(keyID))
	if err != nil {
		return Credential{}, "", fmt.Errorf("sellerapi: secret of %s: %w", keyID, err)
	}
	return c, string(secret), nil
}
