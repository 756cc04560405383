package catalog

import (
	"context"
	"fmt"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
)

// Targets tells the delivery engine where a product's production interface
// calls go and how they are signed: the listed version's production URL
// and the product's current access key. It implements delivery.Targets.
// Like AccessKeys it is for the marketplace's own use, never a handler's.
type Targets struct {
	DB       *store.DB
	Settings Settings
}

// system is the marketplace itself reading a product for delivery.
var system = souk.Actor{UserID: "system", Role: souk.RoleOperator}

// Target returns where calls of productID go. Returns ENOTFOUND for an
// unknown product, and an error for a product that is not listed (its
// production URL has not been reviewed) or has no production URL.
func (t Targets) Target(ctx context.Context, sellerID, productID string) (protocol.Target, error) {
	p, err := GetProduct(ctx, t.DB, system, productID)
	if err != nil {
		return protocol.Target{}, err
	}
	if p.SellerID != sellerID {
		return protocol.Target{}, fmt.Errorf("product %s belongs to seller %s, not %s", productID, p.SellerID, sellerID)
	}
	if p.Listed == nil || p.Listed.ProductionURL == "" {
		return protocol.Target{}, fmt.Errorf("product %s has no listed production URL", productID)
	}
	keys, err := AccessKeys(ctx, t.DB, t.Settings, productID)
	if err != nil {
		return protocol.Target{}, err
	}
	return protocol.Target{URL: p.Listed.ProductionURL, AccessKey: keys[0]}, nil
}

// SellerContact returns the contact a seller gave when it applied, read in
// tx: for the marketplace's own notices to the seller (the delivery
// engine's failure notices run inside its transaction), never a handler's.
// Returns ENOTFOUND if there is no such seller.
func SellerContact(ctx context.Context, tx *store.Tx, sellerID string) (Contact, error) {
	s, err := loadSeller(ctx, tx, sellerID)
	if err != nil {
		return Contact{}, err
	}
	return s.Contact, nil
}
