package order

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// LicenseState is where a licence code is.
type LicenseState string

const (
	LicenseIssued    LicenseState = "issued"    // given to the buyer, not yet activated
	LicenseActivated LicenseState = "activated" // activated by the seller's software
	LicenseFrozen    LicenseState = "frozen"    // its instance expired; in the grace period
	LicenseReleased  LicenseState = "released"  // its instance was released
)

// License is one licence code of an instance of a licence product.
type License struct {
	Code        string
	InstanceID  string
	SellerID    string
	ProductID   string
	State       LicenseState
	ActivatedAt time.Time // zero until activated
	EffectiveAt time.Time // the effect time the seller gave on activation
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// licenseAlphabet is what codes are written in: upper case letters and
// digits without the ones read for each other (0/O, 1/I/L).
const licenseAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newLicenseCode returns a random code of five groups of five, e.g.
// 7KQ2M-…: 125 bits, unguessable, easy to type.
func newLicenseCode() string {
	b := make([]byte, 25)
	rand.Read(b)
	var s strings.Builder
	for i, c := range b {
		if i > 0 && i%5 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(licenseAlphabet[int(c)%len(licenseAlphabet)])
	}
	return s.String()
}

// issueLicenses issues n codes for licence instance in, in tx.
func issueLicenses(ctx context.Context, tx *store.Tx, in Instance, n int) error {
	now := store.Millis(tx.Now)
	for range n {
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_licenses (code, instance_id, seller_id, product_id, state, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, newLicenseCode(), in.ID, in.SellerID, in.ProductID, string(LicenseIssued), now); err != nil {
			return fmt.Errorf("issue licence: %w", err)
		}
	}
	return nil
}

// Licenses returns the licence codes of instance id, to its buyer or an
// operator (ENOTFOUND for anyone else).
func Licenses(ctx context.Context, db *store.DB, by souk.Actor, instanceID string) ([]License, error) {
	if _, err := GetInstance(ctx, db, by, instanceID); err != nil {
		return nil, err
	}
	return licensesOf(ctx, db.SQL(), instanceID)
}

func licensesOf(ctx context.Context, q rowsQuerier, instanceID string) ([]License, error) {
	rows, err := q.QueryContext(ctx, `SELECT code, instance_id, seller_id, product_id, state, activated_at, effective_at, created_at, updated_at
		FROM order_licenses WHERE instance_id = $1 ORDER BY created_at, code`, instanceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []License
	for rows.Next() {
		l, err := scanLicense(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func scanLicense(r interface{ Scan(...any) error }) (License, error) {
	var l License
	var activated, effective sql.NullInt64
	var created, updated int64
	if err := r.Scan(&l.Code, &l.InstanceID, &l.SellerID, &l.ProductID, &l.State, &activated, &effective, &created, &updated); err != nil {
		return License{}, err
	}
	if activated.Valid {
		l.ActivatedAt = store.FromMillis(activated.Int64)
	}
	if effective.Valid {
		l.EffectiveAt = store.FromMillis(effective.Int64)
	}
	l.CreatedAt, l.UpdatedAt = store.FromMillis(created), store.FromMillis(updated)
	return l, nil
}

// ActivateLicense activates licence code for the seller sellerID, as the
// seller's software asks through the open API (protocol.md §6), with the
// effect time it gives (zero: now). Only an issued code of one of the
// seller's own products can be activated, once.
//
// Errors: ENOTFOUND (no such code of this seller's — another seller's code
// is not found either), ECONFLICT (already activated, frozen or released:
// the open API's 92020003).
func ActivateLicense(ctx context.Context, db *store.DB, sellerID, code string, effective time.Time) (License, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return License{}, souk.Errorf(souk.EINVALID, "license: is required.")
	}
	var out License
	err := db.Tx(ctx, func(tx *store.Tx) error {
		l, err := scanLicense(tx.QueryRowContext(ctx, `SELECT code, instance_id, seller_id, product_id, state, activated_at, effective_at, created_at, updated_at
			FROM order_licenses WHERE code = $1`, code))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && l.SellerID != sellerID) {
			return souk.Errorf(souk.ENOTFOUND, "Licence %s not found.", code)
		} else if err != nil {
			return err
		}
		// The instance is locked, as by every transaction that moves it
		// (an unsubscription or the sweep releases its codes), and the
		// code read again under that lock: an activation and a release
		// never cross, so the seller is told of every release of a code
		// it activated.
		in, err := lockInstance(ctx, tx, l.InstanceID)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT state FROM order_licenses WHERE code = $1`, code).Scan(&l.State); err != nil {
			return err
		}
		if l.State != LicenseIssued || in.State != Active {
			return souk.Errorf(souk.ECONFLICT, "Licence %s is %s and cannot be activated.", code, l.State)
		}
		if effective.IsZero() {
			effective = tx.Now
		}
		now := store.Millis(tx.Now)
		res, err := tx.ExecContext(ctx, `UPDATE order_licenses SET state = $1, activated_at = $2, effective_at = $3, updated_at = $2
			WHERE code = $4 AND state = $5`, string(LicenseActivated), now, store.Millis(effective), code, string(LicenseIssued))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return souk.Errorf(souk.ECONFLICT, "Licence %s was activated meanwhile.", code)
		}
		l.State, l.ActivatedAt, l.EffectiveAt, l.UpdatedAt = LicenseActivated, tx.Now, effective, tx.Now
		out = l
		return nil
	})
	return out, err
}
