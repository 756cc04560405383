package catalog

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// ProductType is what kind of software a product is.
type ProductType string

const (
	SaaS    ProductType = "saas"    // an online service: instances provisioned by the seller
	License ProductType = "license" // licence-code software
	Package ProductType = "package" // a deployable package
)

// ChargingMode is how a spec is paid for.
type ChargingMode string

const (
	ChargePeriod   ChargingMode = "PERIOD"    // per month or year (Spec.Period)
	ChargeOneTime  ChargingMode = "ONE_TIME"  // once
	ChargeOnDemand ChargingMode = "ON_DEMAND" // per use, billed from usage records
)

// Billing periods of ChargePeriod specs.
const (
	Month = "month"
	Year  = "year"
)

// LimitKind is a purchase limit of a spec.
type LimitKind string

const (
	NoLimit          LimitKind = ""
	LimitOnce        LimitKind = "once"         // one purchase per buyer
	LimitUnits       LimitKind = "at_most"      // at most Units units per buyer
	LimitUntilExpiry LimitKind = "until_expiry" // not again while the buyer's current one lasts
)

// Product is one version of a product: the listed version buyers see, or
// the version a publish application proposes. It is stored whole, as a
// JSON snapshot, so an application shows the reviewer exactly what will be
// listed.
//
// Sales controls (AllowedBuyers, and each spec's allow-lists and limits)
// are part of the product, not settings beside it: changing them on a
// listed product is a change buyers feel, so it goes through review like
// any other modification.
type Product struct {
	ID            string      `json:"id"`
	SellerID      string      `json:"sellerId"`
	Type          ProductType `json:"type"`
	Name          string      `json:"name"`
	Description   string      `json:"description"`
	ProductionURL string      `json:"productionUrl,omitempty"`
	// Public products appear in the catalogue and search; the others are
	// bought only by whoever has their URL (id).
	Public bool `json:"public"`
	// AllowedBuyers, when not empty, are the only buyer user ids that may
	// buy the product. Cleared in the views of anyone but the seller and
	// operators; Restricted says it is set.
	AllowedBuyers []string `json:"allowedBuyers,omitempty"`
	Restricted    bool     `json:"restricted,omitempty"`
	Specs         []Spec   `json:"specs"`
}

// Spec is one SKU of a product.
type Spec struct {
	Code     string       `json:"code"` // unique in the product, never reused once delisted
	Name     string       `json:"name"`
	Charging ChargingMode `json:"charging"`
	Period   string       `json:"period,omitempty"` // Month or Year, for ChargePeriod
	// Price is per period, per purchase or per unit of use, by Charging;
	// per unit of Quantity when there is one.
	Price     Price           `json:"price"`
	TrialDays int             `json:"trialDays,omitempty"` // 0: no trial
	Quantity  *LinearQuantity `json:"quantity,omitempty"`
	Limit     PurchaseLimit   `json:"limit,omitzero"`
	// AllowedBuyers and TrialAllowList restrict who may buy, and who may
	// try; hidden from buyers like Product.AllowedBuyers.
	AllowedBuyers   []string `json:"allowedBuyers,omitempty"`
	Restricted      bool     `json:"restricted,omitempty"`
	TrialAllowList  []string `json:"trialAllowList,omitempty"`
	TrialRestricted bool     `json:"trialRestricted,omitempty"`
}

// Price is an amount of money in integer minor units (fen, cents) of an
// ISO 4217 currency.
type Price struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// LinearQuantity lets a buyer choose how many units (users, seats, GB) to
// buy: Min to Max in steps of Step.
type LinearQuantity struct {
	Unit string `json:"unit"`
	Min  int    `json:"min"`
	Max  int    `json:"max"`
	Step int    `json:"step"`
}

// PurchaseLimit limits how much of a spec one buyer may buy.
type PurchaseLimit struct {
	Kind  LimitKind `json:"kind"`
	Units int       `json:"units,omitempty"` // for LimitUnits
}

// Spec returns the spec of p with the given code.
func (p Product) Spec(code string) (Spec, bool) {
	for _, s := range p.Specs {
		if s.Code == code {
			return s, true
		}
	}
	return Spec{}, false
}

// normalized trims p and derives the Restricted flags from the lists, so
// that what is stored is consistent whatever the caller sent.
func (p Product) normalized() Product {
	p.Name = strings.TrimSpace(p.Name)
	p.Description = strings.TrimSpace(p.Description)
	p.ProductionURL = strings.TrimSpace(p.ProductionURL)
	p.AllowedBuyers = userIDs(p.AllowedBuyers)
	p.Restricted = len(p.AllowedBuyers) > 0
	p.Specs = slices.Clone(p.Specs)
	for i := range p.Specs {
		s := &p.Specs[i]
		s.Code = strings.TrimSpace(s.Code)
		s.Name = strings.TrimSpace(s.Name)
		s.Price.Currency = strings.TrimSpace(s.Price.Currency)
		if s.Quantity != nil {
			q := *s.Quantity
			q.Unit = strings.TrimSpace(q.Unit)
			s.Quantity = &q
		}
		s.AllowedBuyers = userIDs(s.AllowedBuyers)
		s.Restricted = len(s.AllowedBuyers) > 0
		s.TrialAllowList = userIDs(s.TrialAllowList)
		s.TrialRestricted = len(s.TrialAllowList) > 0
	}
	return p
}

// userIDs trims, drops empties and duplicates, and sorts.
func userIDs(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// publicView returns p as buyers see it: without the allow-lists, which
// name other buyers, but with the Restricted flags.
func (p Product) publicView() Product {
	p.AllowedBuyers = nil
	p.Specs = slices.Clone(p.Specs)
	for i := range p.Specs {
		p.Specs[i].AllowedBuyers = nil
		p.Specs[i].TrialAllowList = nil
	}
	return p
}

var (
	specCodeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// validate checks every field of a normalized p. Errors are EINVALID and
// name the field.
func (p Product) validate(set Settings) error {
	switch p.Type {
	case SaaS, License, Package:
	default:
		return invalid("type", "must be saas, license or package, not %q.", p.Type)
	}
	if err := text("name", p.Name, 100); err != nil {
		return err
	}
	if err := text("description", p.Description, 20000); err != nil {
		return err
	}
	// The marketplace calls SaaS products' production interfaces for every
	// purchase; licence and package products may work offline.
	if p.ProductionURL == "" {
		if p.Type == SaaS {
			return invalid("productionUrl", "is required for a SaaS product.")
		}
	} else if err := CheckProductionURL(p.ProductionURL, set.AllowPrivateURLs); err != nil {
		return err
	}
	if err := checkUserIDs("allowedBuyers", p.AllowedBuyers); err != nil {
		return err
	}
	if len(p.Specs) == 0 {
		return invalid("specs", "a product needs at least one spec.")
	}
	if len(p.Specs) > 100 {
		return invalid("specs", "a product has at most 100 specs, not %d.", len(p.Specs))
	}
	seen := map[string]int{}
	for i, s := range p.Specs {
		field := fmt.Sprintf("specs[%d]", i)
		if err := s.validate(field); err != nil {
			return err
		}
		if j, dup := seen[s.Code]; dup {
			return invalid(field+".code", "%q is the code of specs[%d] too.", s.Code, j)
		}
		seen[s.Code] = i
	}
	return nil
}

func (s Spec) validate(field string) error {
	if !specCodeRE.MatchString(s.Code) {
		return invalid(field+".code", "must be 1 to 64 letters, digits, '-' or '_', not %q.", s.Code)
	}
	if err := text(field+".name", s.Name, 100); err != nil {
		return err
	}
	switch s.Charging {
	case ChargePeriod:
		if s.Period != Month && s.Period != Year {
			return invalid(field+".period", "must be month or year for a PERIOD spec, not %q.", s.Period)
		}
	case ChargeOneTime, ChargeOnDemand:
		if s.Period != "" {
			return invalid(field+".period", "applies only to PERIOD specs.")
		}
	default:
		return invalid(field+".charging", "must be PERIOD, ONE_TIME or ON_DEMAND, not %q.", s.Charging)
	}
	if s.Price.Amount < 0 {
		return invalid(field+".price.amount", "must not be negative.")
	}
	if !currencyRE.MatchString(s.Price.Currency) {
		return invalid(field+".price.currency", "must be an ISO 4217 code such as CNY, not %q.", s.Price.Currency)
	}
	if s.TrialDays < 0 || s.TrialDays > 365 {
		return invalid(field+".trialDays", "must be 0 (no trial) to 365, not %d.", s.TrialDays)
	}
	if s.TrialDays > 0 && s.Charging == ChargeOnDemand {
		return invalid(field+".trialDays", "an ON_DEMAND spec has no trial: its buyers pay only for what they use.")
	}
	if q := s.Quantity; q != nil {
		if err := text(field+".quantity.unit", q.Unit, 32); err != nil {
			return err
		}
		if q.Min < 1 {
			return invalid(field+".quantity.min", "must be at least 1, not %d.", q.Min)
		}
		if q.Max < q.Min {
			return invalid(field+".quantity.max", "must be at least min (%d), not %d.", q.Min, q.Max)
		}
		if q.Step < 1 {
			return invalid(field+".quantity.step", "must be at least 1, not %d.", q.Step)
		}
	}
	switch s.Limit.Kind {
	case NoLimit, LimitOnce, LimitUntilExpiry:
		if s.Limit.Units != 0 {
			return invalid(field+".limit.units", "applies only to an at_most limit.")
		}
	case LimitUnits:
		if s.Limit.Units < 1 {
			return invalid(field+".limit.units", "must be at least 1, not %d.", s.Limit.Units)
		}
	default:
		return invalid(field+".limit.kind", "must be once, at_most or until_expiry (or empty), not %q.", s.Limit.Kind)
	}
	if s.Limit.Kind != NoLimit && s.Charging == ChargeOnDemand {
		return invalid(field+".limit", "purchase limits do not apply to ON_DEMAND specs.")
	}
	if err := checkUserIDs(field+".allowedBuyers", s.AllowedBuyers); err != nil {
		return err
	}
	if len(s.TrialAllowList) > 0 && s.TrialDays == 0 {
		return invalid(field+".trialAllowList", "only a spec with a trial can have a trial allow-list.")
	}
	return checkUserIDs(field+".trialAllowList", s.TrialAllowList)
}

func checkUserIDs(field string, ids []string) error {
	if len(ids) > 1000 {
		return invalid(field, "names at most 1000 buyers, not %d.", len(ids))
	}
	for i, id := range ids {
		if err := optionalText(fmt.Sprintf("%s[%d]", field, i), id, 64); err != nil {
			return err
		}
	}
	return nil
}

// NewProduct is what CreateProduct returns.
type NewProduct struct {
	ProductID     string
	ApplicationID int64 // the draft publish application holding p
	// AccessKey signs the production interface calls. It is shown only
	// here and by RotateAccessKey: only its encrypted form is stored.
	AccessKey string
}

// CreateProduct creates a product of by's seller with its access key, and a
// draft publish application holding p. Nothing is listed until that
// application is submitted and approved. p's ID and SellerID are ignored.
//
// Returns EUNAUTHORIZED unless by is a seller member, EINVALID for a
// missing or malformed field, and ECONFLICT if the seller is not approved.
func CreateProduct(ctx context.Context, db *store.DB, set Settings, by souk.Actor, p Product) (NewProduct, error) {
	if err := requireSeller(by, "create products"); err != nil {
		return NewProduct{}, err
	}
	p = p.normalized()
	if err := p.validate(set); err != nil {
		return NewProduct{}, err
	}
	keys, err := set.keys()
	if err != nil {
		return NewProduct{}, err
	}
	var out NewProduct
	err = db.Tx(ctx, func(tx *store.Tx) error {
		s, err := loadSeller(ctx, tx, by.SellerID)
		if err != nil {
			return err
		}
		if err := s.mayPrepareDrafts(); err != nil {
			return err
		}
		out.ProductID = newID("p", tx.Now)
		out.AccessKey = newAccessKey()
		if err := insertProduct(ctx, tx, out.ProductID, s.ID, keys.seal([]byte(out.AccessKey), out.ProductID)); err != nil {
			return err
		}
		p.ID, p.SellerID = out.ProductID, s.ID
		out.ApplicationID, err = insertApplication(ctx, tx, Application{
			ProductID: p.ID, SellerID: s.ID, Kind: KindPublish, Snapshot: p, State: Draft, CreatedBy: by.UserID,
		})
		return err
	})
	if err != nil {
		return NewProduct{}, err
	}
	return out, nil
}

// ProductView is a product as one viewer sees it.
type ProductView struct {
	ID       string
	SellerID string
	Seller   SellerCard
	// Listed is the listed version, what buyers see and buy; nil until the
	// first publish application is approved. For viewers other than the
	// seller's members and operators, its allow-lists are cleared.
	Listed   *Product
	ListedAt time.Time
	// Delisted are the codes of specs taken off sale, for good.
	Delisted []string
	// Open is the product's draft or submitted application: seen by the
	// seller's members and operators only.
	Open      *Application
	CreatedAt time.Time
}

// SellerCard is what a product page shows of its seller.
type SellerCard struct {
	CompanyName string
	Contact     Contact
}

// GetProduct returns product id as viewer sees it: the listed version for
// anyone (signed in or not), and for the seller's members and operators
// also a product never listed and the open application.
//
// Returns ENOTFOUND if there is no such product, or if it has never been
// listed and viewer is not its seller's member or an operator.
func GetProduct(ctx context.Context, db *store.DB, viewer souk.Actor, id string) (ProductView, error) {
	v, err := loadProduct(ctx, db.SQL(), id)
	if err != nil {
		return ProductView{}, err
	}
	if !viewer.IsOperator() && !viewer.IsSellerMember(v.SellerID) {
		if v.Listed == nil {
			return ProductView{}, productNotFound(id)
		}
		l := v.Listed.publicView()
		v.Listed = &l
		return v, nil
	}
	open, found, err := openApplication(ctx, db.SQL(), id)
	if err != nil {
		return ProductView{}, err
	}
	if found {
		v.Open = &open
	}
	return v, nil
}

// MyProducts returns the products of by's seller, newest first, each with
// its open application.
//
// Returns EUNAUTHORIZED unless by is a seller member.
func MyProducts(ctx context.Context, db *store.DB, by souk.Actor) ([]ProductView, error) {
	if err := requireSeller(by, "list their products"); err != nil {
		return nil, err
	}
	vs, err := listProducts(ctx, db.SQL(), `p.seller_id = $1 ORDER BY p.id DESC`, by.SellerID)
	if err != nil {
		return nil, err
	}
	open, err := listApplications(ctx, db.SQL(), `seller_id = $1 AND state IN ('draft', 'submitted')`, by.SellerID)
	if err != nil {
		return nil, err
	}
	for i := range vs {
		if vs[i].Delisted, err = delistedSpecs(ctx, db.SQL(), vs[i].ID); err != nil {
			return nil, err
		}
		for j := range open {
			if open[j].ProductID == vs[i].ID {
				vs[i].Open = &open[j]
			}
		}
	}
	return vs, nil
}

func productNotFound(id string) error {
	return souk.Errorf(souk.ENOTFOUND, "Product %s not found.", id)
}
