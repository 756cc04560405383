package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
)

// Products: creation, the public catalogue, a seller's own products,
// modification and delisting (each starts an application), access keys,
// and whether a buyer may buy a spec.

// productInput is a product's content as a seller writes it: for a new
// product, and for a draft application.
type productInput struct {
	// Type is saas, license or package.
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// ProductionURL is required for SaaS products: https, and a public
	// host.
	ProductionURL string `json:"productionUrl,omitempty"`
	// Public products are in the catalogue and search; the others are
	// reached by their id only.
	Public bool `json:"public,omitempty"`
	// AllowedBuyers, when not empty, are the only buyer user ids that may
	// buy the product.
	AllowedBuyers []string    `json:"allowedBuyers,omitempty"`
	Specs         []specInput `json:"specs"`
}

type specInput struct {
	// Code is unique in the product, and never reused once delisted.
	Code string `json:"code"`
	Name string `json:"name"`
	// Charging is PERIOD, ONE_TIME or ON_DEMAND.
	Charging string `json:"charging"`
	// Period is month or year, for PERIOD specs only.
	Period string `json:"period,omitempty"`
	// Price is per period, per purchase or per unit of use, by Charging;
	// per unit of Quantity when there is one.
	Price          moneyView     `json:"price"`
	TrialDays      int           `json:"trialDays,omitempty"`
	Quantity       *quantityView `json:"quantity,omitempty"`
	Limit          *limitView    `json:"limit,omitempty"`
	AllowedBuyers  []string      `json:"allowedBuyers,omitempty"`
	TrialAllowList []string      `json:"trialAllowList,omitempty"`
}

// quantityView lets a buyer choose how many units to buy: min to max in
// steps of step.
type quantityView struct {
	Unit string `json:"unit"`
	Min  int    `json:"min"`
	Max  int    `json:"max"`
	Step int    `json:"step"`
}

// limitView is a purchase limit per buyer.
type limitView struct {
	// Kind is once, at_most (Units) or until_expiry.
	Kind  string `json:"kind"`
	Units int    `json:"units,omitempty"`
}

func (in productInput) product() catalog.Product {
	p := catalog.Product{Type: catalog.ProductType(in.Type), Name: in.Name, Description: in.Description,
		ProductionURL: in.ProductionURL, Public: in.Public, AllowedBuyers: in.AllowedBuyers}
	for _, s := range in.Specs {
		spec := catalog.Spec{Code: s.Code, Name: s.Name, Charging: catalog.ChargingMode(s.Charging), Period: s.Period,
			Price:     catalog.Price{Amount: s.Price.Amount, Currency: s.Price.Currency},
			TrialDays: s.TrialDays, AllowedBuyers: s.AllowedBuyers, TrialAllowList: s.TrialAllowList}
		if q := s.Quantity; q != nil {
			spec.Quantity = &catalog.LinearQuantity{Unit: q.Unit, Min: q.Min, Max: q.Max, Step: q.Step}
		}
		if l := s.Limit; l != nil {
			spec.Limit = catalog.PurchaseLimit{Kind: catalog.LimitKind(l.Kind), Units: l.Units}
		}
		p.Specs = append(p.Specs, spec)
	}
	return p
}

// productVersionView is one version of a product's content: the listed
// version, or the one an application proposes. Allow-lists are shown only
// to the seller's members and operators; others see the restricted flags.
type productVersionView struct {
	ID            string     `json:"id"`
	SellerID      string     `json:"sellerId"`
	Type          string     `json:"type"`
	Name          string     `json:"name"`
	Description   string     `json:"description"`
	ProductionURL string     `json:"productionUrl,omitempty"`
	Public        bool       `json:"public"`
	AllowedBuyers []string   `json:"allowedBuyers,omitempty"`
	Restricted    bool       `json:"restricted"`
	Specs         []specView `json:"specs"`
}

type specView struct {
	Code            string        `json:"code"`
	Name            string        `json:"name"`
	Charging        string        `json:"charging"`
	Period          string        `json:"period,omitempty"`
	Price           moneyView     `json:"price"`
	TrialDays       int           `json:"trialDays,omitempty"`
	Quantity        *quantityView `json:"quantity,omitempty"`
	Limit           *limitView    `json:"limit,omitempty"`
	AllowedBuyers   []string      `json:"allowedBuyers,omitempty"`
	Restricted      bool          `json:"restricted"`
	TrialAllowList  []string      `json:"trialAllowList,omitempty"`
	TrialRestricted bool          `json:"trialRestricted"`
}

func viewVersion(p catalog.Product) productVersionView {
	v := productVersionView{ID: p.ID, SellerID: p.SellerID, Type: string(p.Type), Name: p.Name, Description: p.Description,
		ProductionURL: p.ProductionURL, Public: p.Public, AllowedBuyers: p.AllowedBuyers, Restricted: p.Restricted,
		Specs: make([]specView, len(p.Specs))}
	for i, s := range p.Specs {
		sv := specView{Code: s.Code, Name: s.Name, Charging: string(s.Charging), Period: s.Period,
			Price: moneyView{Amount: s.Price.Amount, Currency: s.Price.Currency}, TrialDays: s.TrialDays,
			AllowedBuyers: s.AllowedBuyers, Restricted: s.Restricted, TrialAllowList: s.TrialAllowList, TrialRestricted: s.TrialRestricted}
		if q := s.Quantity; q != nil {
			sv.Quantity = &quantityView{Unit: q.Unit, Min: q.Min, Max: q.Max, Step: q.Step}
		}
		if s.Limit.Kind != catalog.NoLimit {
			sv.Limit = &limitView{Kind: string(s.Limit.Kind), Units: s.Limit.Units}
		}
		v.Specs[i] = sv
	}
	return v
}

// sellerCardView is what a product page shows of its seller.
type sellerCardView struct {
	CompanyName string      `json:"companyName"`
	Contact     contactView `json:"contact"`
}

// productView is a product as its viewer may see it.
type productView struct {
	ID       string         `json:"id"`
	SellerID string         `json:"sellerId"`
	Seller   sellerCardView `json:"seller"`
	// Listed is what buyers see and buy; absent until the product's first
	// publish application is approved.
	Listed   *productVersionView `json:"listed,omitempty"`
	ListedAt *time.Time          `json:"listedAt,omitempty"`
	// Delisted are the codes of the specs taken off sale, for good.
	Delisted []string `json:"delisted,omitempty"`
	// Open is the product's draft or submitted application, shown to its
	// seller's members and operators.
	Open      *applicationView `json:"open,omitempty"`
	CreatedAt time.Time        `json:"createdAt"`
}

func viewProduct(v catalog.ProductView) productView {
	out := productView{ID: v.ID, SellerID: v.SellerID,
		Seller:   sellerCardView{CompanyName: v.Seller.CompanyName, Contact: viewContact(v.Seller.Contact)},
		ListedAt: timeOrNil(v.ListedAt), Delisted: v.Delisted, CreatedAt: v.CreatedAt}
	if v.Listed != nil {
		l := viewVersion(*v.Listed)
		out.Listed = &l
	}
	if v.Open != nil {
		a := viewApplication(*v.Open)
		out.Open = &a
	}
	return out
}

// newProductView answers the creation of a product.
type newProductView struct {
	Product productView `json:"product"`
	// Application is the draft publish application holding the product:
	// nothing is listed until it is submitted and approved.
	Application applicationView `json:"application"`
	// AccessKey signs the product's production interface calls. It is
	// shown this once: only its encrypted form is kept.
	AccessKey string `json:"accessKey"`
}

func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) error {
	var req productInput
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	ctx, by := r.Context(), actorOf(r)
	np, err := catalog.CreateProduct(ctx, s.db, s.cat, by, req.product())
	if err != nil {
		return err
	}
	v, err := catalog.GetProduct(ctx, s.db, by, np.ProductID)
	if err != nil {
		return err
	}
	a, err := catalog.GetApplication(ctx, s.db, by, np.ApplicationID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newProductView{Product: viewProduct(v), Application: viewApplication(a), AccessKey: np.AccessKey})
}

// listProducts is the public catalogue: ?type=saas|license|package, ?q=
// text in the name or description, ?limit= (50 by default, at most 200)
// and ?after= the last id of the previous page.
func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := catalog.Filter{Type: catalog.ProductType(q.Get("type")), Text: q.Get("q"), After: q.Get("after")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return souk.Errorf(souk.EINVALID, "limit: want an integer, not %q.", l)
		}
		f.Limit = n
	}
	ps, err := catalog.ListProducts(r.Context(), s.db, f)
	if err != nil {
		return err
	}
	out := make([]productVersionView, len(ps))
	for i, p := range ps {
		out[i] = viewVersion(p)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) error {
	v, err := catalog.GetProduct(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewProduct(v))
}

func (s *Server) myProducts(w http.ResponseWriter, r *http.Request) error {
	vs, err := catalog.MyProducts(r.Context(), s.db, actorOf(r))
	if err != nil {
		return err
	}
	out := make([]productView, len(vs))
	for i, v := range vs {
		out[i] = viewProduct(v)
	}
	return writeJSON(w, http.StatusOK, out)
}

// modifyProduct starts a modification of a listed product: a draft
// application holding the listed version, to edit (PUT) and submit.
func (s *Server) modifyProduct(w http.ResponseWriter, r *http.Request) error {
	ctx, by := r.Context(), actorOf(r)
	id, err := catalog.ModifyProduct(ctx, s.db, by, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeApplication(ctx, w, by, id, http.StatusCreated)
}

// delistSpec starts the delisting of a spec: a draft application, to
// submit.
func (s *Server) delistSpec(w http.ResponseWriter, r *http.Request) error {
	ctx, by := r.Context(), actorOf(r)
	id, err := catalog.DelistSpec(ctx, s.db, by, r.PathValue("id"), r.PathValue("code"))
	if err != nil {
		return err
	}
	return s.writeApplication(ctx, w, by, id, http.StatusCreated)
}

type accessKeyView struct {
	// AccessKey is the product's new access key, shown this once. The one
	// it replaces stays valid for a grace period, for the seller to deploy
	// the new one.
	AccessKey string `json:"accessKey"`
}

func (s *Server) rotateAccessKey(w http.ResponseWriter, r *http.Request) error {
	key, err := catalog.RotateAccessKey(r.Context(), s.db, s.cat, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, accessKeyView{AccessKey: key})
}

type purchasableView struct {
	// Allowed is always true: a purchase that is not allowed is answered
	// with the error that says why.
	Allowed bool `json:"allowed"`
}

// purchasable asks the catalogue's sales controls whether the buyer may buy
// the spec now: ?quantity= units, for a spec with a linear quantity, and
// ?trial=true for a trial.
func (s *Server) purchasable(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	check := catalog.PurchaseCheck{History: order.HistoryOf(s.db)}
	if v := q.Get("quantity"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return souk.Errorf(souk.EINVALID, "quantity: want an integer, not %q.", v)
		}
		check.Quantity = n
	}
	if v := q.Get("trial"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return souk.Errorf(souk.EINVALID, "trial: want true or false, not %q.", v)
		}
		check.Trial = b
	}
	if err := catalog.CheckPurchase(r.Context(), s.db, actorOf(r), r.PathValue("id"), r.PathValue("code"), check); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, purchasableView{Allowed: true})
}

type offerView struct {
	SpecCode     string `json:"specCode"`
	Buyable      bool   `json:"buyable"`
	Refusal      string `json:"refusal,omitempty"`
	Trial        bool   `json:"trial"`
	Triable      bool   `json:"triable"`
	TrialRefusal string `json:"trialRefusal,omitempty"`
}

func (s *Server) offers(w http.ResponseWriter, r *http.Request) error {
	list, err := catalog.Offers(r.Context(), s.db, actorOf(r), r.PathValue("id"), order.HistoryOf(s.db))
	if err != nil {
		return err
	}
	out := make([]offerView, len(list))
	for i, o := range list {
		out[i] = offerView{SpecCode: o.SpecCode, Buyable: o.Buyable, Refusal: o.Refusal, Trial: o.Trial, Triable: o.Triable, TrialRefusal: o.TrialRefusal}
	}
	return writeJSON(w, http.StatusOK, out)
}
