package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// newAccessKey returns a new access key: 32 random bytes in hex.
func newAccessKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// RotateAccessKey gives product productID a new access key and returns it;
// like the first, it is shown only this once. The key it replaces stays
// valid for the grace period (Settings.AccessKeyGrace) after the rotation,
// so the seller can deploy the new key without failing calls. Rotating
// again ends the grace of the key before.
//
// Returns EUNAUTHORIZED unless by is a seller member, and ENOTFOUND if there
// is no such product of by's seller.
func RotateAccessKey(ctx context.Context, db *store.DB, set Settings, by souk.Actor, productID string) (string, error) {
	if err := requireSeller(by, "rotate access keys"); err != nil {
		return "", err
	}
	keys, err := set.keys()
	if err != nil {
		return "", err
	}
	key := newAccessKey()
	err = db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := ownProduct(ctx, tx, by, productID); err != nil {
			return err
		}
		k, err := loadAccessKeys(ctx, tx, productID)
		if err != nil {
			return err
		}
		return rotateAccessKey(ctx, tx, productID, keys.seal([]byte(key), productID), k.current)
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// AccessKeys returns the valid access keys of product productID, current
// first: the current key and, within the grace period after a rotation,
// the previous one. It takes no actor: it is for the marketplace's own use
// (signing production interface calls, verifying answers), never for a
// handler.
//
// Returns ENOTFOUND if there is no such product.
func AccessKeys(ctx context.Context, db *store.DB, set Settings, productID string) ([]string, error) {
	keys, err := set.keys()
	if err != nil {
		return nil, err
	}
	k, err := loadAccessKeys(ctx, db.SQL(), productID)
	if err != nil {
		return nil, err
	}
	cur, err := keys.open(k.current, productID)
	if err != nil {
		return nil, err
	}
	out := []string{string(cur)}
	if k.previous != nil && db.Clock().Now().Before(k.rotatedAt.Add(set.grace())) {
		prev, err := keys.open(k.previous, productID)
		if err != nil {
			return nil, err
		}
		out = append(out, string(prev))
	}
	return out, nil
}
