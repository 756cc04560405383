package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/settle"
)

// The storefront: the catalogue, product pages and buying.

type catalogueData struct {
	Query    string
	Type     string
	Types    []catalog.ProductType
	Products []catalog.Product
	Pager    pager
}

func (s *Server) storefrontRoutes() []route {
	return []route{
		{Method: "GET", Path: "/products/{id}", handle: s.productPage},
		{Method: "GET", Path: "/products/{id}/buy", Auth: true, handle: s.buyPage},
		{Method: "POST", Path: "/products/{id}/buy", Auth: true, handle: s.buy},
	}
}

func init() {
	funcs["charging"] = chargingLabel
	funcs["maxPeriods"] = func(sp catalog.Spec) int { return order.MaxPeriods[sp.Period] }
}

// chargingLabel says how a spec is paid for: "per month", "one time", …
// and per what unit when it is sold by quantity.
func chargingLabel(sp catalog.Spec) string {
	var l string
	switch sp.Charging {
	case catalog.ChargePeriod:
		l = "per " + sp.Period
	case catalog.ChargeOneTime:
		l = "one time"
	case catalog.ChargeOnDemand:
		l = "per use"
	default:
		l = strings.ToLower(string(sp.Charging))
	}
	if sp.Quantity != nil && sp.Quantity.Unit != "" {
		l += ", per " + strings.TrimSuffix(sp.Quantity.Unit, "s")
	}
	return l
}

// catalogue lists the publicly listed products, searched by text and
// filtered by type, a page at a time.
func (s *Server) catalogue(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := catalogueData{Query: q.Get("q"), Type: q.Get("type"), Types: []catalog.ProductType{catalog.SaaS, catalog.License, catalog.Package}}
	ps, err := catalog.ListProducts(r.Context(), s.db, catalog.Filter{Type: catalog.ProductType(d.Type), Text: d.Query,
		Limit: pageSize + 1, After: q.Get("after")})
	if err != nil {
		return err
	}
	var more bool
	d.Products, more = pageOf(ps)
	if len(d.Products) > 0 {
		d.Pager = newPager(r, "after", more, d.Products[len(d.Products)-1].ID)
	}
	return s.show(w, r, "catalogue", d)
}

// specRow is one spec on the product page with what the visitor may do
// with it (Offer: nil unless the visitor is a buyer).
type specRow struct {
	Spec  catalog.Spec
	Offer *catalog.Offer
}

type productData struct {
	View  catalog.ProductView
	Specs []specRow
	// Buyer is set for a logged-in buyer (who sees Offers); Other for a
	// logged-in user of another role.
	Buyer, Other bool
}

// productPage shows a listed product: its description, every spec on sale
// with its price and charging, and for a logged-in buyer what they may buy
// (catalog.Offers: a restricted spec shows the refusal with the seller's
// contact instead of a buy form).
func (s *Server) productPage(w http.ResponseWriter, r *http.Request) error {
	by := actorOf(r)
	v, err := catalog.GetProduct(r.Context(), s.db, by, r.PathValue("id"))
	if err != nil {
		return err
	}
	if v.Listed == nil {
		return souk.Errorf(souk.ENOTFOUND, "Product %s is not on sale yet.", v.ID)
	}
	d := productData{View: v, Buyer: by.Role == souk.RoleBuyer, Other: by.UserID != "" && by.Role != souk.RoleBuyer}
	offers := map[string]catalog.Offer{}
	if d.Buyer {
		os, err := catalog.Offers(r.Context(), s.db, by, v.ID, order.HistoryOf(s.db))
		if err != nil {
			return err
		}
		for _, o := range os {
			offers[o.SpecCode] = o
		}
	}
	for _, sp := range v.Listed.Specs {
		if slices.Contains(v.Delisted, sp.Code) {
			continue
		}
		row := specRow{Spec: sp}
		if o, ok := offers[sp.Code]; ok {
			row.Offer = &o
		}
		d.Specs = append(d.Specs, row)
	}
	return s.show(w, r, "product", d)
}

// buyData is the confirmation of a purchase: what is bought, its price
// (order.Quote: the price rule is order's), the balance and what is left
// of it after, and the idempotency key of the confirmation.
type buyData struct {
	View    catalog.ProductView
	Spec    catalog.Spec
	Form    form
	Key     string
	Trial   bool
	Price   settle.Money
	Expires time.Time
	Balance settle.Money
	After   settle.Money
	// Short is set when the balance does not cover the price.
	Short bool
	// Quoted is set when the purchase could be priced; when not, Form.Error
	// says why.
	Quoted bool
}

// newKey returns a fresh idempotency key for a form.
func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// atoi reads a whole-number field of a form; empty is 0.
func atoi(v url.Values, field string) (int, error) {
	s := strings.TrimSpace(v.Get(field))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, souk.Errorf(souk.EINVALID, "%s: %q is not a whole number.", field, s)
	}
	return n, nil
}

// purchaseOf reads a purchase request from a buy form's values.
func purchaseOf(productID string, v url.Values) (order.PurchaseRequest, error) {
	req := order.PurchaseRequest{ProductID: productID, SpecCode: v.Get("spec"), Trial: v.Get("trial") != "",
		IdempotencyKey: v.Get("key")}
	var err error
	if req.Quantity, err = atoi(v, "quantity"); err != nil {
		return req, err
	}
	if req.Periods, err = atoi(v, "periods"); err != nil {
		return req, err
	}
	return req, nil
}

// confirmation builds the confirmation of the purchase the form values
// describe. A purchase that cannot be priced (refused, restricted, a bad
// quantity) gives a page with the domain's message in Form.Error; only an
// internal error is returned.
func (s *Server) confirmation(r *http.Request, values url.Values) (buyData, int, error) {
	by := actorOf(r)
	v, err := catalog.GetProduct(r.Context(), s.db, by, r.PathValue("id"))
	if err != nil {
		return buyData{}, 0, err
	}
	if v.Listed == nil {
		return buyData{}, 0, souk.Errorf(souk.ENOTFOUND, "Product %s is not on sale yet.", v.ID)
	}
	d := buyData{View: v, Form: form{Values: values}, Key: values.Get("key")}
	if d.Key == "" {
		d.Key = newKey()
	}
	d.Spec, _ = v.Listed.Spec(values.Get("spec"))
	req, err := purchaseOf(v.ID, values)
	d.Trial = req.Trial
	if err == nil {
		d.Price, d.Expires, err = order.Quote(r.Context(), s.db, by, req)
	}
	if err != nil {
		if souk.ErrorCode(err) == souk.EINTERNAL {
			return buyData{}, 0, err
		}
		d.Form.Error = souk.ErrorMessage(err)
		return d, souk.HTTPStatus(err), nil
	}
	d.Quoted = true
	have, err := settle.Balance(r.Context(), s.db.SQL(), settle.BuyerBalance(by.UserID), d.Price.Currency)
	if err != nil {
		return buyData{}, 0, err
	}
	d.Balance = settle.M(have, d.Price.Currency)
	d.After = settle.M(have-d.Price.Amount, d.Price.Currency)
	d.Short = d.After.Amount < 0
	return d, http.StatusOK, nil
}

// buyPage confirms a purchase before it is placed.
func (s *Server) buyPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	q.Del("key") // a fresh key for every confirmation shown
	d, status, err := s.confirmation(r, q)
	if err != nil {
		return err
	}
	s.render(w, r, status, "buy", d)
	return nil
}

// buy places the purchase confirmed (order.Purchase, with the
// confirmation's idempotency key: a double submit buys once) and goes to
// the instance bought.
func (s *Server) buy(w http.ResponseWriter, r *http.Request) error {
	eng, err := s.requireEngine()
	if err != nil {
		return err
	}
	req, err := purchaseOf(r.PathValue("id"), r.PostForm)
	var o order.Order
	if err == nil {
		o, err = order.Purchase(r.Context(), s.db, eng, actorOf(r), req)
	}
	if err != nil {
		if souk.ErrorCode(err) == souk.EINTERNAL {
			return err
		}
		d, _, cerr := s.confirmation(r, r.PostForm)
		if cerr != nil {
			return cerr
		}
		d.Form.Error = souk.ErrorMessage(err)
		s.render(w, r, souk.HTTPStatus(err), "buy", d)
		return nil
	}
	notice := "Thank you: order " + o.ID + " is placed (" + o.Amount.String() + ")."
	if o.Repeated {
		notice = "Order " + o.ID + " was placed already; it was not placed twice."
	}
	if len(o.Lines) > 0 && o.Lines[0].InstanceID != "" {
		return s.seeOther(w, r, "/my/instances/"+o.Lines[0].InstanceID, notice)
	}
	return s.seeOther(w, r, "/my/orders/"+o.ID, notice)
}
