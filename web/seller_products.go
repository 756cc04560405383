package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/settle"
)

// The seller centre's products and publish applications: the product
// form (a product and up to a few specs, its sales controls included),
// a product's page with its access key and applications, and each
// application's page with the actions its state allows — all decided by
// catalog, whose refusals are shown on the page.

func init() {
	// field names spec row i's field in the product form.
	funcs["field"] = func(i int, name string) string { return specField(i, name) }
	funcs["percentOf"] = basisPointsAsPercent
}

// specRows is how many spec rows an empty product form shows; a product
// with more specs shows them all, and one more empty row.
const specRows = 4

func specField(i int, name string) string { return fmt.Sprintf("spec%d_%s", i, name) }

// productName is what a seller calls product v: its listed name, else
// the name its open application proposes, else its latest application's.
func (s *Server) productName(r *http.Request, v catalog.ProductView) (string, error) {
	if v.Listed != nil {
		return v.Listed.Name, nil
	}
	if v.Open != nil {
		return v.Open.Snapshot.Name, nil
	}
	as, err := catalog.MyApplicationsPage(r.Context(), s.db, actorOf(r), v.ID, catalog.SellerListPage{Limit: 1})
	if err != nil || len(as) == 0 {
		return v.ID, err
	}
	return as[0].Snapshot.Name, nil
}

// productFormData is the product form: a new product, or a draft.
type productFormData struct {
	Title  string
	Action string // where the form posts
	Intro  string
	Form   form
	Rows   []int
	Types  []catalog.ProductType
	// Kind and ProductID are the draft's, when editing one.
	Kind      catalog.ApplicationKind
	ProductID string
	Cancel    string
}

var (
	productTypes = []catalog.ProductType{catalog.SaaS, catalog.License, catalog.Package}
)

func newProductForm(title, action, cancel string, f form) productFormData {
	n := specRows
	if rows, err := strconv.Atoi(f.Get("rows")); err == nil && rows > n && rows <= 100 {
		n = rows
	}
	d := productFormData{Title: title, Action: action, Cancel: cancel, Form: f, Types: productTypes}
	for i := range n {
		d.Rows = append(d.Rows, i)
	}
	if f.Values == nil {
		d.Form.Values = url.Values{}
	}
	d.Form.Values.Set("rows", strconv.Itoa(n))
	return d
}

// productValues fills the product form from p: to edit a draft.
func productValues(p catalog.Product) url.Values {
	v := url.Values{}
	v.Set("type", string(p.Type))
	v.Set("name", p.Name)
	v.Set("description", p.Description)
	v.Set("production_url", p.ProductionURL)
	if p.Public {
		v.Set("public", "on")
	}
	v.Set("allowed_buyers", strings.Join(p.AllowedBuyers, "\n"))
	for i, s := range p.Specs {
		set := func(name, value string) { v.Set(specField(i, name), value) }
		set("code", s.Code)
		set("name", s.Name)
		set("charging", string(s.Charging))
		set("period", s.Period)
		set("price", amountText(s.Price))
		set("currency", s.Price.Currency)
		if s.TrialDays > 0 {
			set("trial_days", strconv.Itoa(s.TrialDays))
		}
		if q := s.Quantity; q != nil {
			set("qty_unit", q.Unit)
			set("qty_min", strconv.Itoa(q.Min))
			set("qty_max", strconv.Itoa(q.Max))
			set("qty_step", strconv.Itoa(q.Step))
		}
		set("limit_kind", string(s.Limit.Kind))
		if s.Limit.Units > 0 {
			set("limit_units", strconv.Itoa(s.Limit.Units))
		}
		set("allowed_buyers", strings.Join(s.AllowedBuyers, " "))
		set("trial_allow", strings.Join(s.TrialAllowList, " "))
	}
	rows := specRows
	if len(p.Specs) >= specRows {
		rows = len(p.Specs) + 1
	}
	v.Set("rows", strconv.Itoa(rows))
	return v
}

// decimals is how many decimals currency's amounts are typed with: as
// settle shows them (two, or none for a currency without minor units).
func decimals(currency string) int {
	_, frac, ok := strings.Cut(strings.Fields(settle.M(0, currency).String())[0], ".")
	if !ok {
		return 0
	}
	return len(frac)
}

// amountText is p's amount as typed in the form: "99.00" for 9900 CNY.
func amountText(p catalog.Price) string {
	return strings.Fields(settle.M(p.Amount, p.Currency).String())[0]
}

// productFromForm reads the product form. Only the form's own syntax is
// checked here — numbers that are numbers, prices with no more decimals
// than their currency has; every rule of a product is catalog's. Empty
// spec rows are skipped; rows maps the index of each spec read to its
// row, to point the domain's errors at the row typed.
func productFromForm(f url.Values) (catalog.Product, []int, error) {
	p := catalog.Product{Type: catalog.ProductType(f.Get("type")), Name: f.Get("name"), Description: f.Get("description"),
		ProductionURL: f.Get("production_url"), Public: f.Get("public") != "", AllowedBuyers: strings.Fields(f.Get("allowed_buyers"))}
	n, _ := strconv.Atoi(f.Get("rows"))
	n = min(max(n, specRows), 100)
	var rows []int
	for i := range n {
		get := func(name string) string { return strings.TrimSpace(f.Get(specField(i, name))) }
		if get("code") == "" && get("name") == "" && get("price") == "" {
			continue
		}
		row := fmt.Sprintf("Spec row %d, ", i+1)
		s := catalog.Spec{Code: get("code"), Name: get("name"), Charging: catalog.ChargingMode(get("charging")),
			Period: get("period"), Price: catalog.Price{Currency: strings.ToUpper(get("currency"))},
			Limit:         catalog.PurchaseLimit{Kind: catalog.LimitKind(get("limit_kind"))},
			AllowedBuyers: strings.Fields(get("allowed_buyers")), TrialAllowList: strings.Fields(get("trial_allow"))}
		if s.Charging != catalog.ChargePeriod && s.Period != "" {
			// The period select belongs to PERIOD specs; another charging
			// mode leaves it as it was, meaningless.
			s.Period = ""
		}
		var err error
		if s.Price.Amount, err = parseDecimal(row+"price", get("price"), decimals(s.Price.Currency)); err != nil {
			return p, nil, err
		}
		integer := func(name, label string) (int, error) {
			v := get(name)
			if v == "" {
				return 0, nil
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return 0, souk.Errorf(souk.EINVALID, "%s%s: %q is not a whole number.", row, label, v)
			}
			return n, nil
		}
		if s.TrialDays, err = integer("trial_days", "trial days"); err != nil {
			return p, nil, err
		}
		if s.Limit.Units, err = integer("limit_units", "limit units"); err != nil {
			return p, nil, err
		}
		if get("qty_unit") != "" || get("qty_min") != "" || get("qty_max") != "" || get("qty_step") != "" {
			q := &catalog.LinearQuantity{Unit: get("qty_unit")}
			if q.Min, err = integer("qty_min", "quantity min"); err != nil {
				return p, nil, err
			}
			if q.Max, err = integer("qty_max", "quantity max"); err != nil {
				return p, nil, err
			}
			if q.Step, err = integer("qty_step", "quantity step"); err != nil {
				return p, nil, err
			}
			s.Quantity = q
		}
		p.Specs = append(p.Specs, s)
		rows = append(rows, i)
	}
	return p, rows, nil
}

var specErrorRE = regexp.MustCompile(`^specs\[(\d+)\]\.?`)

// pointAtRow rewrites the domain's "specs[1].price.currency: …" as "Spec
// row 3, price.currency: …" when row 3 of the form was the second spec
// read; other errors are returned as they are.
func pointAtRow(err error, rows []int) error {
	if err == nil {
		return nil
	}
	msg := souk.ErrorMessage(err)
	m := specErrorRE.FindStringSubmatch(msg)
	if m == nil || souk.ErrorCode(err) == souk.EINTERNAL {
		return err
	}
	i, _ := strconv.Atoi(m[1])
	if i >= len(rows) {
		return err
	}
	return souk.Errorf(souk.ErrorCode(err), "Spec row %d, %s", rows[i]+1, msg[len(m[0]):])
}

// Products.

type sellerProductsData struct {
	Products []sellerProductRow
	Pager    pager
}

type sellerProductRow struct {
	catalog.ProductView
	Name string
}

func (s *Server) sellerProducts(w http.ResponseWriter, r *http.Request) error {
	vs, err := catalog.MyProductsPage(r.Context(), s.db, actorOf(r), catalog.SellerListPage{Before: r.URL.Query().Get("before"), Limit: pageSize + 1})
	if err != nil {
		return err
	}
	var d sellerProductsData
	vs, more := pageOf(vs)
	for _, v := range vs {
		name, err := s.productName(r, v)
		if err != nil {
			return err
		}
		d.Products = append(d.Products, sellerProductRow{ProductView: v, Name: name})
	}
	if len(vs) > 0 {
		d.Pager = newPager(r, "before", more, vs[len(vs)-1].ID)
	}
	return s.show(w, r, "seller_products", d)
}

func newProductPage(f form) productFormData {
	d := newProductForm("New product", "/seller/products", "/seller/products", f)
	d.Intro = "A new product is saved as a draft publish application: nothing is listed until you submit it and an operator approves it."
	return d
}

func (s *Server) sellerNewProduct(w http.ResponseWriter, r *http.Request) error {
	v := url.Values{"type": {string(catalog.SaaS)}, "public": {"on"}}
	for i := range specRows {
		v.Set(specField(i, "charging"), string(catalog.ChargePeriod))
		v.Set(specField(i, "period"), catalog.Month)
		v.Set(specField(i, "currency"), "CNY")
	}
	return s.show(w, r, "seller_product_form", newProductPage(form{Values: v}))
}

// sellerCreateProduct creates the product and its draft, and shows the
// access key on the answer itself: it is shown only this once.
func (s *Server) sellerCreateProduct(w http.ResponseWriter, r *http.Request) error {
	p, rows, err := productFromForm(r.PostForm)
	var np catalog.NewProduct
	if err == nil {
		np, err = catalog.CreateProduct(r.Context(), s.db, s.cat, actorOf(r), p)
		err = pointAtRow(err, rows)
	}
	if err != nil {
		return s.formError(w, r, "seller_product_form", err, func(f form) any { return newProductPage(f) })
	}
	return s.showSecret(w, r, secretData{
		Title: "Product created",
		Intro: fmt.Sprintf("Product %s is saved with draft application %d. Your production interface checks the marketplace's calls with this access key.", np.ProductID, np.ApplicationID),
		Items: []secretItem{{Label: "Product id", Value: np.ProductID}, {Label: "Access key", Value: np.AccessKey, Secret: true}},
		Next:  fmt.Sprintf("/seller/applications/%d", np.ApplicationID), NextLabel: "Review and submit the draft",
		Back: "/seller/products/" + np.ProductID, BackLabel: "Go to the product",
	})
}

type sellerProductData struct {
	Product      catalog.ProductView
	Name         string
	Applications []catalog.Application
	Pager        pager
	Error        string
}

// Latest is the product's latest application, on the first page.
func (d sellerProductData) Latest() *catalog.Application {
	if d.Pager.First != "" || len(d.Applications) == 0 {
		return nil
	}
	return &d.Applications[0]
}

func (s *Server) sellerProductData(r *http.Request) (sellerProductData, error) {
	ctx, by := r.Context(), actorOf(r)
	var d sellerProductData
	var err error
	if d.Product, err = catalog.MyProduct(ctx, s.db, by, r.PathValue("id")); err != nil {
		return d, err
	}
	as, err := catalog.MyApplicationsPage(ctx, s.db, by, d.Product.ID, catalog.SellerListPage{Before: r.URL.Query().Get("before"), Limit: pageSize + 1})
	if err != nil {
		return d, err
	}
	var more bool
	d.Applications, more = pageOf(as)
	if len(d.Applications) > 0 {
		d.Pager = newPager(r, "before", more, strconv.FormatInt(d.Applications[len(d.Applications)-1].ID, 10))
	}
	d.Name, err = s.productName(r, d.Product)
	return d, err
}

func (s *Server) sellerProduct(w http.ResponseWriter, r *http.Request) error {
	d, err := s.sellerProductData(r)
	if err != nil {
		return err
	}
	return s.show(w, r, "seller_product", d)
}

// productActionError shows a refused action on the product's page.
func (s *Server) productActionError(w http.ResponseWriter, r *http.Request, err error) error {
	if c := souk.ErrorCode(err); c == souk.EINTERNAL || c == souk.ENOTFOUND || c == souk.EUNAUTHORIZED || c == souk.EUNAUTHENTICATED {
		return err
	}
	r.URL.RawQuery = ""
	d, derr := s.sellerProductData(r)
	if derr != nil {
		return derr
	}
	d.Error = souk.ErrorMessage(err)
	s.render(w, r, souk.HTTPStatus(err), "seller_product", d)
	return nil
}

// sellerRotateKey gives the product a new access key and shows it, once.
func (s *Server) sellerRotateKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	key, err := catalog.RotateAccessKey(r.Context(), s.db, s.cat, actorOf(r), id)
	if err != nil {
		return s.productActionError(w, r, err)
	}
	return s.showSecret(w, r, secretData{
		Title: "New access key",
		Intro: fmt.Sprintf("Product %s has a new access key. The previous key keeps working for a grace period, while you deploy this one; rotating again ends that grace.", id),
		Items: []secretItem{{Label: "Access key", Value: key, Secret: true}},
		Back:  "/seller/products/" + id, BackLabel: "Back to the product",
	})
}

// sellerModifyProduct starts a modification of a listed product (a draft
// holding the listed version) and opens it in the form.
func (s *Server) sellerModifyProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := catalog.ModifyProduct(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return s.productActionError(w, r, err)
	}
	return s.seeOther(w, r, fmt.Sprintf("/seller/applications/%d/edit", id),
		"A modification was started from the listed version; buyers see the listed version until it is approved.")
}

func (s *Server) sellerDelistSpec(w http.ResponseWriter, r *http.Request) error {
	id, err := catalog.DelistSpec(r.Context(), s.db, actorOf(r), r.PathValue("id"), r.PathValue("code"))
	if err != nil {
		return s.productActionError(w, r, err)
	}
	return s.seeOther(w, r, fmt.Sprintf("/seller/applications/%d", id),
		"A delisting application was drafted; submit it to stop selling the spec, for good, once approved.")
}

// Applications.

type sellerApplicationsData struct {
	Applications []catalog.Application
	Pager        pager
}

// sellerApplications is "My applications": every publish application of
// the seller, newest first.
func (s *Server) sellerApplications(w http.ResponseWriter, r *http.Request) error {
	as, err := catalog.MyApplicationsPage(r.Context(), s.db, actorOf(r), "", catalog.SellerListPage{Before: r.URL.Query().Get("before"), Limit: pageSize + 1})
	if err != nil {
		return err
	}
	var d sellerApplicationsData
	var more bool
	d.Applications, more = pageOf(as)
	if len(d.Applications) > 0 {
		d.Pager = newPager(r, "before", more, strconv.FormatInt(d.Applications[len(d.Applications)-1].ID, 10))
	}
	return s.show(w, r, "seller_applications", d)
}

type sellerApplicationData struct {
	Application catalog.Application
	Reviews     []catalog.Review
	Error       string
	Reason      string // the withdrawal reason typed, kept on an error
}

// applicationID reads path value "id": a value that is not an id names
// nothing (ENOTFOUND, like a missing id).
func applicationID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, souk.Errorf(souk.ENOTFOUND, "Application %s not found.", s)
	}
	return id, nil
}

// sellerApplicationData reads the application as the visitor, and its
// review trail: its seller's trail narrowed to it (as the API's).
func (s *Server) sellerApplicationData(r *http.Request) (sellerApplicationData, error) {
	ctx, by := r.Context(), actorOf(r)
	var d sellerApplicationData
	id, err := applicationID(r)
	if err != nil {
		return d, err
	}
	if d.Application, err = catalog.GetApplication(ctx, s.db, by, id); err != nil {
		return d, err
	}
	rs, err := catalog.Reviews(ctx, s.db, by, d.Application.SellerID)
	if err != nil {
		return d, err
	}
	for _, v := range rs {
		if v.Subject == "application" && v.SubjectID == id {
			d.Reviews = append(d.Reviews, v)
		}
	}
	return d, nil
}

func (s *Server) sellerApplication(w http.ResponseWriter, r *http.Request) error {
	d, err := s.sellerApplicationData(r)
	if err != nil {
		return err
	}
	return s.show(w, r, "seller_application", d)
}

// applicationAction runs act on the application in the path and goes to
// the page it returns, with notice; a refusal is shown on the
// application's page.
func (s *Server) applicationAction(w http.ResponseWriter, r *http.Request, act func(id int64) (string, error), notice string) error {
	id, err := applicationID(r)
	if err != nil {
		return err
	}
	next, err := act(id)
	if err == nil {
		if next == "" {
			next = fmt.Sprintf("/seller/applications/%d", id)
		}
		return s.seeOther(w, r, next, notice)
	}
	if c := souk.ErrorCode(err); c == souk.EINTERNAL || c == souk.ENOTFOUND || c == souk.EUNAUTHORIZED || c == souk.EUNAUTHENTICATED {
		return err
	}
	d, derr := s.sellerApplicationData(r)
	if derr != nil {
		return derr
	}
	d.Error, d.Reason = souk.ErrorMessage(err), r.PostForm.Get("reason")
	s.render(w, r, souk.HTTPStatus(err), "seller_application", d)
	return nil
}

func (s *Server) sellerSubmitApplication(w http.ResponseWriter, r *http.Request) error {
	return s.applicationAction(w, r, func(id int64) (string, error) {
		return "", catalog.SubmitApplication(r.Context(), s.db, s.cat, actorOf(r), id)
	}, "The application was submitted for review.")
}

func (s *Server) sellerWithdrawApplication(w http.ResponseWriter, r *http.Request) error {
	return s.applicationAction(w, r, func(id int64) (string, error) {
		return "", catalog.WithdrawApplication(r.Context(), s.db, actorOf(r), id, r.PostForm.Get("reason"))
	}, "The application was withdrawn from review; revise it to submit it again.")
}

// sellerReviseApplication starts a new draft from a rejected or withdrawn
// application — the product's latest record, catalog insists — and opens
// it in the form, filled from that record.
func (s *Server) sellerReviseApplication(w http.ResponseWriter, r *http.Request) error {
	return s.applicationAction(w, r, func(id int64) (string, error) {
		draft, err := catalog.ReviseRejected(r.Context(), s.db, actorOf(r), id)
		return fmt.Sprintf("/seller/applications/%d/edit", draft), err
	}, "A new draft was started from the latest record; change what was asked, then submit it.")
}

func (s *Server) sellerDiscardDraft(w http.ResponseWriter, r *http.Request) error {
	return s.applicationAction(w, r, func(id int64) (string, error) {
		return "/seller/applications", catalog.DiscardDraft(r.Context(), s.db, actorOf(r), id)
	}, "The draft was discarded.")
}

func editDraftPage(a catalog.Application, f form) productFormData {
	d := newProductForm(fmt.Sprintf("Edit draft application %d", a.ID), fmt.Sprintf("/seller/applications/%d/edit", a.ID),
		fmt.Sprintf("/seller/applications/%d", a.ID), f)
	d.Kind, d.ProductID = a.Kind, a.ProductID
	switch {
	case a.RevisedFrom != 0:
		d.Intro = fmt.Sprintf("This draft revises application %d: it starts from that record. Saving keeps it a draft; submit it from its page.", a.RevisedFrom)
	case a.Kind == catalog.KindModify:
		d.Intro = "This modification starts from the listed version. Buyers keep seeing the listed version until it is approved; listed specs cannot be removed (delist them instead)."
	default:
		d.Intro = "Saving keeps it a draft; submit it from its page."
	}
	return d
}

func (s *Server) sellerEditDraft(w http.ResponseWriter, r *http.Request) error {
	id, err := applicationID(r)
	if err != nil {
		return err
	}
	a, err := catalog.GetApplication(r.Context(), s.db, actorOf(r), id)
	if err != nil {
		return err
	}
	return s.show(w, r, "seller_product_form", editDraftPage(a, form{Values: productValues(a.Snapshot)}))
}

func (s *Server) sellerUpdateDraft(w http.ResponseWriter, r *http.Request) error {
	ctx, by := r.Context(), actorOf(r)
	id, err := applicationID(r)
	if err != nil {
		return err
	}
	a, err := catalog.GetApplication(ctx, s.db, by, id)
	if err != nil {
		return err
	}
	p, rows, err := productFromForm(r.PostForm)
	if err == nil {
		err = pointAtRow(catalog.UpdateDraft(ctx, s.db, s.cat, by, id, p), rows)
	}
	if err != nil {
		return s.formError(w, r, "seller_product_form", err, func(f form) any { return editDraftPage(a, f) })
	}
	return s.seeOther(w, r, fmt.Sprintf("/seller/applications/%d", id), "The draft was saved.")
}
