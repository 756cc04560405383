package catalog

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// Sales controls: who may buy what, checked in one place (checkPurchase)
// for the order package to call when a buyer places a new purchase.

// PurchaseHistory is what purchase limits need to know of a buyer's past
// purchases of a spec. The order package implements it.
type PurchaseHistory interface {
	// Purchases returns how many of buyerID's orders of the spec count
	// toward its purchase limits — every purchase except unsubscribed ones
	// (a failed purchase is unsubscribed) — and the units they bought.
	Purchases(ctx context.Context, buyerID, productID, specCode string) (orders, units int, err error)
	// ActiveUntil returns when buyerID's latest unexpired instance or
	// licence of the spec expires, or the zero time if it has none.
	ActiveUntil(ctx context.Context, buyerID, productID, specCode string) (time.Time, error)
}

// PurchaseCheck describes the purchase being checked.
type PurchaseCheck struct {
	// Quantity is the number of units of a spec with a linear quantity; 0
	// or 1 for other specs.
	Quantity int
	// Trial is set for a trial order.
	Trial bool
	// History is required for a spec with a purchase limit.
	History PurchaseHistory
}

// CheckPurchase reports whether buyer may buy spec specCode of product
// productID now: a new purchase or a trial (NEW and TRIAL orders; a
// renewal, a trial's conversion or a change of spec is not a new purchase
// and is not checked here). A product not publicly listed is bought by its
// id like any other.
//
// Returns EUNAUTHORIZED unless buyer is a buyer, or if the product, the
// spec or its trial is restricted to buyers that do not include this one
// (the message gives the seller's contact); ENOTFOUND if the product is not
// listed or has no such spec; EINVALID for a quantity the spec does not
// sell or a trial of a spec without one; and ECONFLICT if the spec was
// delisted or a purchase limit is reached.
func CheckPurchase(ctx context.Context, db *store.DB, buyer souk.Actor, productID, specCode string, opts PurchaseCheck) error {
	return checkPurchaseIn(ctx, db.SQL(), db.Clock().Now(), buyer, productID, specCode, opts)
}

// CheckPurchaseTx is CheckPurchase inside the order's own transaction, so
// that the check and the order it allows are one.
func CheckPurchaseTx(ctx context.Context, tx *store.Tx, buyer souk.Actor, productID, specCode string, opts PurchaseCheck) error {
	return checkPurchaseIn(ctx, tx, tx.Now, buyer, productID, specCode, opts)
}

func checkPurchaseIn(ctx context.Context, q querier, now time.Time, buyer souk.Actor, productID, specCode string, opts PurchaseCheck) error {
	if buyer.UserID == "" {
		return souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to buy.")
	}
	if buyer.Role != souk.RoleBuyer {
		return souk.Errorf(souk.EUNAUTHORIZED, "Only buyer accounts can buy.")
	}
	v, err := loadProduct(ctx, q, productID)
	if err != nil {
		return err
	}
	if v.Listed == nil {
		return productNotFound(productID)
	}
	return checkPurchase(ctx, v, buyer.UserID, specCode, opts, now)
}

// checkPurchase holds every sales control, on the listed version of v. It
// reads nothing but opts.History.
func checkPurchase(ctx context.Context, v ProductView, buyerID, specCode string, opts PurchaseCheck, now time.Time) error {
	p := v.Listed
	spec, ok := p.Spec(specCode)
	if !ok {
		if slices.Contains(v.Delisted, specCode) {
			return souk.Errorf(souk.ECONFLICT, "Spec %s of product %s has been delisted and is no longer sold.", specCode, p.ID)
		}
		return souk.Errorf(souk.ENOTFOUND, "Product %s has no spec %s.", p.ID, specCode)
	}
	contact := v.Seller.Contact.String()
	if p.Restricted && !slices.Contains(p.AllowedBuyers, buyerID) {
		return souk.Errorf(souk.EUNAUTHORIZED, "This product is sold only to authorised buyers — contact the seller: %s", contact)
	}
	if spec.Restricted && !slices.Contains(spec.AllowedBuyers, buyerID) {
		return souk.Errorf(souk.EUNAUTHORIZED, "This spec is sold only to authorised buyers — contact the seller: %s", contact)
	}
	if opts.Trial {
		if spec.TrialDays == 0 {
			return invalid("trial", "spec %s has no trial.", specCode)
		}
		if spec.TrialRestricted && !slices.Contains(spec.TrialAllowList, buyerID) {
			return souk.Errorf(souk.EUNAUTHORIZED, "The trial of this spec is offered only to authorised buyers — contact the seller: %s", contact)
		}
	}
	units, err := quantity(spec, opts.Quantity)
	if err != nil {
		return err
	}
	return checkLimit(ctx, p.ID, spec, buyerID, units, opts.History, now)
}

// quantity returns the units a purchase of q buys, or EINVALID if spec does
// not sell that many.
func quantity(spec Spec, q int) (int, error) {
	lq := spec.Quantity
	if lq == nil {
		if q != 0 && q != 1 {
			return 0, invalid("quantity", "spec %s is sold one at a time, not %d.", spec.Code, q)
		}
		return 1, nil
	}
	if q < lq.Min || q > lq.Max || (q-lq.Min)%lq.Step != 0 {
		return 0, invalid("quantity", "spec %s sells %d to %d %s in steps of %d, not %d.", spec.Code, lq.Min, lq.Max, lq.Unit, lq.Step, q)
	}
	return q, nil
}

// checkLimit applies spec's purchase limit. Unsubscribed purchases do not
// count (PurchaseHistory leaves them out); ON_DEMAND specs have no limits:
// their buyers pay for use, not for units.
func checkLimit(ctx context.Context, productID string, spec Spec, buyerID string, units int, h PurchaseHistory, now time.Time) error {
	if spec.Limit.Kind == NoLimit || spec.Charging == ChargeOnDemand {
		return nil
	}
	if h == nil {
		return errors.New("catalog: checking a purchase limit needs a PurchaseHistory")
	}
	switch spec.Limit.Kind {
	case LimitOnce:
		orders, _, err := h.Purchases(ctx, buyerID, productID, spec.Code)
		if err != nil {
			return err
		}
		if orders > 0 {
			return souk.Errorf(souk.ECONFLICT, "Spec %s can be bought once per buyer, and you have bought it already.", spec.Code)
		}
	case LimitUnits:
		_, had, err := h.Purchases(ctx, buyerID, productID, spec.Code)
		if err != nil {
			return err
		}
		if had+units > spec.Limit.Units {
			return souk.Errorf(souk.ECONFLICT, "Spec %s is limited to %d units per buyer; you have %d, so you can buy at most %d more.",
				spec.Code, spec.Limit.Units, had, max(0, spec.Limit.Units-had))
		}
	case LimitUntilExpiry:
		until, err := h.ActiveUntil(ctx, buyerID, productID, spec.Code)
		if err != nil {
			return err
		}
		if until.After(now) {
			return souk.Errorf(souk.ECONFLICT, "You have spec %s until %s; buy it again once that expires, or renew it.", spec.Code, until.UTC().Format(time.DateTime+" MST"))
		}
	}
	return nil
}

// Offer is what a buyer may do with one spec of a product: buy it now, and
// try it; when not, why (the same refusal CheckPurchase gives).
type Offer struct {
	SpecCode     string
	Buyable      bool
	Refusal      string // why not, when not Buyable
	Trial        bool   // the spec has a trial
	Triable      bool
	TrialRefusal string
}

// Offers returns, for every spec on sale of a listed product, whether buyer
// may buy it (at its smallest quantity) and try it now: "what a given
// buyer may buy", for the product page. The checks are CheckPurchase's
// own. Returns ENOTFOUND if the product is not listed, EUNAUTHORIZED
// unless buyer is a buyer.
func Offers(ctx context.Context, db *store.DB, buyer souk.Actor, productID string, history PurchaseHistory) ([]Offer, error) {
	if buyer.UserID == "" {
		return nil, souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to buy.")
	}
	if buyer.Role != souk.RoleBuyer {
		return nil, souk.Errorf(souk.EUNAUTHORIZED, "Only buyer accounts can buy.")
	}
	v, err := loadProduct(ctx, db.SQL(), productID)
	if err != nil {
		return nil, err
	}
	if v.Listed == nil {
		return nil, productNotFound(productID)
	}
	now := db.Clock().Now()
	var offers []Offer
	for _, s := range v.Listed.Specs {
		if slices.Contains(v.Delisted, s.Code) {
			continue
		}
		qty := 1
		if s.Quantity != nil {
			qty = s.Quantity.Min
		}
		o := Offer{SpecCode: s.Code, Trial: s.TrialDays > 0}
		if err := checkPurchase(ctx, v, buyer.UserID, s.Code, PurchaseCheck{Quantity: qty, History: history}, now); err != nil {
			o.Refusal = souk.ErrorMessage(err)
		} else {
			o.Buyable = true
		}
		if o.Trial {
			if err := checkPurchase(ctx, v, buyer.UserID, s.Code, PurchaseCheck{Quantity: qty, Trial: true, History: history}, now); err != nil {
				o.TrialRefusal = souk.ErrorMessage(err)
			} else {
				o.Triable = true
			}
		}
		offers = append(offers, o)
	}
	return offers, nil
}
