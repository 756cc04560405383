package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
	"github.com/souk-market/souk/web"
)

// The console's authorisation matrix: every route of the table × every
// role, with the exact status expected — as api/authz_test.go does for
// the JSON API. A route without a row fails the test.

// The roles of the matrix, in the order of its columns.
const (
	mxAnonymous = iota
	mxBuyer     // a buyer with nothing to do with the target
	mxOwner     // a member of the seller that owns what the route acts on
	mxOther     // a member of another seller
	mxOperator
	mxRoles
)

var mxRoleNames = [mxRoles]string{"anonymous", "buyer", "owner", "other seller", "operator"}

// statuses are a route's expected answers, by role: anonymous, buyer,
// owner, other seller, operator. A GET page answers 200, or 303 to the
// log-in page for an anonymous visitor on a page that needs a log-in; a
// form that succeeded answers 303; a refusal is 401 (not logged in), 403
// (the role may not), 404 (another seller's record, which must look like a
// missing one) or 409 (the role may act but the target's state does not
// allow it).
type mxStatuses [mxRoles]int

// target is what one request acts on: the ids its path takes, and the
// members acting as owner or other seller when they are not the world's.
type mxTarget struct {
	seller, product, spec, user string
	order, instance             string
	message, inbox              string
	application, certification  int64
	owner, other                *browser
}

// world is the standing fixtures of the matrix, made once per engine.
type mxWorld struct {
	t   *testing.T
	ctx context.Context
	s   *site
	// as are the role's standing browsers; as[anonymous] is logged out.
	as [mxRoles]*browser
	// seller is owned by as[owner], otherSeller by as[otherSeller]: both
	// certified.
	seller, otherSeller string
	ownerActor          souk.Actor
	// loginEmail is a buyer's, to log in with.
	loginEmail string
	buyerActor souk.Actor
	// listed is a listed product of seller with specs basic, pro and plus
	// (a trial); neverListed one with only its draft application, draft.
	listed, neverListed string
	draft               int64
}

func (w *mxWorld) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// Stages of newSeller.
const (
	mxPendingSeller = iota
	mxApprovedSeller
	mxCertifiedSeller
)

func mxJoin() catalog.JoinApplication {
	n := unique()
	return catalog.JoinApplication{CompanyName: fmt.Sprintf("Seller %d", n), RegistrationNumber: fmt.Sprintf("REG%08d", n),
		ContactName: "Li Lei", ContactEmail: "sales@acme.example", ContactPhone: "+86 21 5555 0100"}
}

func mxCertification() catalog.Certification {
	return catalog.Certification{AccountHolder: "Acme Ltd", Bank: "Bank of Example", AccountNumber: "62220210011234567",
		TaxRegistration: "91310000MA1FL0000X", TaxRate: 600}
}

// newSeller makes a seller at stage whose first member is a new user who
// applied as a buyer, as the seller centre's form does, logged in.
func (w *mxWorld) newSeller(stage int) (string, *browser, souk.Actor) {
	w.t.Helper()
	b := w.s.newUser(souk.RoleBuyer, "")
	var id string
	w.must(w.s.db.Tx(w.ctx, func(tx *store.Tx) error {
		var err error
		if id, err = catalog.ApplyTx(w.ctx, tx, b.User.Actor(), mxJoin()); err != nil {
			return err
		}
		return account.JoinSeller(w.ctx, tx, b.User.ID, id)
	}))
	member := souk.Actor{UserID: b.User.ID, Role: souk.RoleSeller, SellerID: id}
	if stage >= mxApprovedSeller {
		w.must(catalog.ApproveSeller(w.ctx, w.s.db, system, id))
	}
	if stage >= mxCertifiedSeller {
		cert, err := catalog.SubmitCertification(w.ctx, w.s.db, member, mxCertification())
		w.must(err)
		w.must(catalog.ApproveCertification(w.ctx, w.s.db, system, cert))
	}
	return id, b, member
}

func matrixProduct() catalog.Product {
	return catalog.Product{Type: catalog.SaaS, Name: "Matrix", Description: "A product of the matrix.",
		ProductionURL: "https://seller.example/produce", Public: true,
		Specs: []catalog.Spec{
			{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}},
			{Code: "pro", Name: "Pro", Charging: catalog.ChargePeriod, Period: catalog.Year, Price: catalog.Price{Amount: 99000, Currency: "CNY"}},
			{Code: "plus", Name: "Plus", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 19900, Currency: "CNY"}, TrialDays: 7},
		}}
}

// newApplication makes a product of the world's seller and brings its
// publish application to state; it returns both ids.
func (w *mxWorld) newApplication(state catalog.State) (string, int64) {
	w.t.Helper()
	np, err := catalog.CreateProduct(w.ctx, w.s.db, w.s.set, w.ownerActor, matrixProduct())
	w.must(err)
	id := np.ApplicationID
	if state == catalog.Draft {
		return np.ProductID, id
	}
	w.must(catalog.SubmitApplication(w.ctx, w.s.db, w.s.set, w.ownerActor, id))
	switch state {
	case catalog.Approved:
		w.must(catalog.ApproveApplication(w.ctx, w.s.db, system, id))
	case catalog.Rejected:
		w.must(catalog.RejectApplication(w.ctx, w.s.db, system, id, "Not enough."))
	case catalog.Withdrawn:
		w.must(catalog.WithdrawApplication(w.ctx, w.s.db, w.ownerActor, id, "Not yet."))
	}
	return np.ProductID, id
}

// standing is the target of the routes that change nothing the next
// request needs.
func (w *mxWorld) standing() mxTarget {
	return mxTarget{seller: w.seller, product: w.listed, spec: "basic", user: w.ownerActor.UserID, application: w.draft}
}

func newMxWorld(t *testing.T, s *site) *mxWorld {
	w := &mxWorld{t: t, ctx: t.Context(), s: s}
	w.as[mxAnonymous] = s.anonymous()
	w.as[mxBuyer] = s.newUser(souk.RoleBuyer, "")
	w.loginEmail = w.as[mxBuyer].User.Email
	w.buyerActor = w.as[mxBuyer].User.Actor()
	w.as[mxOperator] = s.newUser(souk.RoleOperator, "")
	w.seller, w.as[mxOwner], w.ownerActor = w.newSeller(mxCertifiedSeller)
	w.otherSeller, w.as[mxOther], _ = w.newSeller(mxCertifiedSeller)
	w.listed, _ = w.newApplication(catalog.Approved)
	w.neverListed, w.draft = w.newApplication(catalog.Draft)
	return w
}

// freshBrowser is a new user acting in role, for a request that changes
// the actor's own account, session or seller.
func (w *mxWorld) freshBrowser(role int, x mxTarget) *browser {
	switch role {
	case mxBuyer:
		return w.s.newUser(souk.RoleBuyer, "")
	case mxOwner:
		return w.s.newUser(souk.RoleSeller, x.seller)
	case mxOther:
		return w.s.newUser(souk.RoleSeller, w.otherSeller)
	case mxOperator:
		return w.s.newUser(souk.RoleOperator, "")
	}
	return w.s.anonymous()
}

// fill puts x's ids into path: {id} is the id of what the segment before
// names, {code} a spec code.
func mxFill(t *testing.T, path string, x mxTarget) string {
	t.Helper()
	path = strings.TrimSuffix(path, "{$}")
	segs := strings.Split(path, "/")
	for i, s := range segs {
		var v string
		switch {
		case s == "{code}":
			v = x.spec
		case s != "{id}":
			continue
		case segs[i-1] == "sellers":
			v = x.seller
		case segs[i-1] == "products":
			v = x.product
		case segs[i-1] == "orders":
			v = x.order
		case segs[i-1] == "instances":
			v = x.instance
		case segs[i-1] == "messages":
			v = x.message
		case segs[i-1] == "inbox":
			v = x.inbox
		case segs[i-1] == "applications" && x.application != 0:
			v = strconv.FormatInt(x.application, 10)
		case segs[i-1] == "certifications" && x.certification != 0:
			v = strconv.FormatInt(x.certification, 10)
		}
		if v == "" {
			t.Fatalf("%s: the target has no id for %s", path, strings.Join(segs[:i+1], "/"))
		}
		segs[i] = v
	}
	return strings.Join(segs, "/")
}

// matrixCase is one route's row of the matrix.
type matrixCase struct {
	// setup makes what the request acts on, afresh for each role, when the
	// request changes it; nil is the world's standing target.
	setup func(w *mxWorld) mxTarget
	// query is added to a GET's path.
	query string
	// form is the form sent as role; nil sends an empty one.
	form func(w *mxWorld, x mxTarget, role int) url.Values
	// fresh has each role act as a new user of its kind, because the
	// request changes the actor's own account, session or seller.
	fresh bool
	want  mxStatuses
}

func mxForm(v url.Values) func(*mxWorld, mxTarget, int) url.Values {
	return func(*mxWorld, mxTarget, int) url.Values { return v }
}

// productForm is the seller centre's product form filled in for a SaaS
// product with a monthly and a yearly spec.
func mxProductForm(name string) url.Values {
	return url.Values{"type": {"saas"}, "name": {name}, "description": {"Bookkeeping for small firms."},
		"production_url": {"https://seller.example/produce"}, "public": {"on"}, "rows": {"4"},
		"spec0_code": {"basic"}, "spec0_name": {"Basic"}, "spec0_charging": {"PERIOD"}, "spec0_period": {"month"},
		"spec0_price": {"99.00"}, "spec0_currency": {"CNY"},
		"spec1_code": {"pro"}, "spec1_name": {"Pro"}, "spec1_charging": {"PERIOD"}, "spec1_period": {"year"},
		"spec1_price": {"990.00"}, "spec1_currency": {"CNY"}}
}

func mxJoinForm() url.Values {
	a := mxJoin()
	return url.Values{"company_name": {a.CompanyName}, "registration_number": {a.RegistrationNumber},
		"contact_name": {a.ContactName}, "contact_email": {a.ContactEmail}, "contact_phone": {a.ContactPhone}}
}

func mxCertForm() url.Values {
	return url.Values{"account_holder": {"Acme Ltd"}, "bank": {"Bank of Example"}, "account_number": {"6222 0210 0112 3456 789"},
		"tax_registration": {"91310000MA1FL0000X"}, "tax_rate": {"6"}}
}

// activate makes instance id active, as the seller's successful answer to
// newInstance would through the engine's hooks.
func mxActivate(t *testing.T, db *store.DB, id string) {
	t.Helper()
	body := fmt.Sprintf(`{"resultCode":"000000","resultMsg":"success","instanceId":"seller-%s","appInfo":{"frontEndUrl":"https://seller.example/app","adminUrl":"https://seller.example/admin"}}`, id)
	err := db.Tx(t.Context(), func(tx *store.Tx) error {
		return order.Hooks().Succeeded(t.Context(), tx, &delivery.Call{Activity: protocol.NewInstance, Key: id},
			&protocol.Outcome{Kind: protocol.OutcomeSuccess, Activity: protocol.NewInstance, ResponseBody: []byte(body)})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuthorisationMatrix sends every route of the console's table as
// every role and checks the exact status. A route without a row, or a row
// without a route, fails the test.
func TestAuthorisationMatrix(t *testing.T) {
	sellerAt := func(stage int) func(w *mxWorld) mxTarget {
		return func(w *mxWorld) mxTarget {
			x := w.standing()
			x.seller, x.owner, _ = w.newSeller(stage)
			return x
		}
	}
	// ownSellers gives owner and other seller each a new seller at stage,
	// for a route that acts on the visitor's own seller.
	ownSellers := func(stage int) func(w *mxWorld) mxTarget {
		return func(w *mxWorld) mxTarget {
			x := w.standing()
			x.seller, x.owner, _ = w.newSeller(stage)
			_, x.other, _ = w.newSeller(stage)
			return x
		}
	}
	pendingCertification := func(w *mxWorld) mxTarget {
		x := w.standing()
		var member souk.Actor
		x.seller, x.owner, member = w.newSeller(mxApprovedSeller)
		id, err := catalog.SubmitCertification(w.ctx, w.s.db, member, mxCertification())
		w.must(err)
		x.certification = id
		return x
	}
	application := func(state catalog.State) func(w *mxWorld) mxTarget {
		return func(w *mxWorld) mxTarget {
			x := w.standing()
			x.product, x.application = w.newApplication(state)
			return x
		}
	}
	newListed := func(w *mxWorld) mxTarget {
		x := w.standing()
		x.product, _ = w.newApplication(catalog.Approved)
		x.spec = "pro"
		return x
	}
	neverListed := func(w *mxWorld) mxTarget {
		x := w.standing()
		x.product = w.neverListed
		return x
	}
	funded := func(w *mxWorld, n int64) {
		_, err := settle.TopUp(w.ctx, w.s.db, system, w.buyerActor.UserID, settle.M(n*9900, "CNY"))
		w.must(err)
	}
	toBuy := func(w *mxWorld) mxTarget {
		funded(w, 1)
		return w.standing()
	}
	// bought is an order of the world's buyer for the listed basic spec,
	// its instance active when active is set, with a month more paid for
	// on the balance.
	bought := func(active bool) func(w *mxWorld) mxTarget {
		return func(w *mxWorld) mxTarget {
			funded(w, 2)
			o, err := order.Purchase(w.ctx, w.s.db, w.s.engine, w.buyerActor, order.PurchaseRequest{ProductID: w.listed, SpecCode: "basic"})
			w.must(err)
			x := w.standing()
			x.order, x.instance = o.ID, o.Lines[0].InstanceID
			if active {
				mxActivate(w.t, w.s.db, x.instance)
			}
			return x
		}
	}
	trial := func(w *mxWorld) mxTarget {
		o, err := order.Purchase(w.ctx, w.s.db, w.s.engine, w.buyerActor, order.PurchaseRequest{ProductID: w.listed, SpecCode: "plus", Trial: true})
		w.must(err)
		funded(w, 3)
		x := w.standing()
		x.order, x.instance = o.ID, o.Lines[0].InstanceID
		mxActivate(w.t, w.s.db, x.instance)
		return x
	}
	// call is a production interface call to the world's seller, exhausted
	// when it is to be re-invoked.
	call := func(exhausted bool) func(w *mxWorld) mxTarget {
		return func(w *mxWorld) mxTarget {
			x := w.standing()
			w.must(w.s.db.Tx(w.ctx, func(tx *store.Tx) error {
				id, err := delivery.Enqueue(w.ctx, tx, delivery.NewCall{SellerID: w.seller, ProductID: w.listed, Key: fmt.Sprintf("k-%d", unique()),
					Policy: delivery.Once, Request: &protocol.ReleaseInstanceRequest{InstanceID: "i-1"}})
				x.message = strconv.FormatInt(id, 10)
				if err == nil && exhausted {
					_, err = tx.ExecContext(w.ctx, `UPDATE delivery_calls SET state = 'exhausted', attempts = 1 WHERE id = $1`, id)
				}
				return err
			}))
			return x
		}
	}
	// inboxNotice is an unread notice in the world's seller's inbox,
	// buyerNotice one in the world's buyer's.
	var noticeIn func(w *mxWorld, recipient string) mxTarget
	inboxNotice := func(w *mxWorld) mxTarget { return noticeIn(w, "seller:"+w.seller) }
	buyerNotice := func(w *mxWorld) mxTarget { return noticeIn(w, order.BuyerInbox(w.buyerActor.UserID)) }
	noticeIn = func(w *mxWorld, recipient string) mxTarget {
		x := w.standing()
		subject := fmt.Sprintf("Notice %d", unique())
		w.must(w.s.db.Tx(w.ctx, func(tx *store.Tx) error {
			return notify.Post(w.ctx, tx, notify.Notice{Recipient: recipient, Kind: "test", Subject: subject, Body: "Read me."})
		}))
		ms, err := notify.Inbox(w.ctx, w.s.db, recipient, notify.InboxFilter{Limit: 10})
		w.must(err)
		for _, m := range ms {
			if m.Subject == subject {
				x.inbox = strconv.FormatInt(m.ID, 10)
			}
		}
		if x.inbox == "" {
			w.t.Fatal("the notice posted is not in the inbox")
		}
		return x
	}
	// ownerCredential is a new open API credential of the world's seller,
	// as the form that revokes it.
	ownerCredential := func(w *mxWorld, _ mxTarget, _ int) url.Values {
		c, err := sellerapi.CreateCredential(w.ctx, w.s.db, w.s.set.Keys, w.ownerActor, "ci")
		w.must(err)
		return url.Values{"key_id": {c.KeyID}}
	}
	register := func(*mxWorld, mxTarget, int) url.Values {
		return url.Values{"email": {fmt.Sprintf("new%d@example.com", unique())}, "name": {"New"}, "password": {password}}
	}
	product := func(*mxWorld, mxTarget, int) url.Values { return mxProductForm(fmt.Sprintf("Matrix %d", unique())) }
	reason := mxForm(url.Values{"reason": {"Not enough."}})
	buyForm := func(spec string) func(*mxWorld, mxTarget, int) url.Values {
		return func(*mxWorld, mxTarget, int) url.Values {
			return url.Values{"spec": {spec}, "periods": {"1"}, "key": {fmt.Sprintf("key-%d", unique())}}
		}
	}
	keyed := func(v url.Values) func(*mxWorld, mxTarget, int) url.Values {
		return func(*mxWorld, mxTarget, int) url.Values {
			out := url.Values{"key": {fmt.Sprintf("key-%d", unique())}}
			for k, vs := range v {
				out[k] = vs
			}
			return out
		}
	}

	// Each row's statuses are for: anonymous, buyer, owner, other seller,
	// operator.
	cases := map[string]matrixCase{
		"GET /{$}":   {want: mxStatuses{200, 200, 200, 200, 200}},
		"GET /login": {want: mxStatuses{200, 200, 200, 200, 200}},
		"POST /login": {fresh: true, form: func(w *mxWorld, _ mxTarget, _ int) url.Values {
			return url.Values{"email": {w.loginEmail}, "password": {password}}
		}, want: mxStatuses{303, 303, 303, 303, 303}},
		"POST /logout":       {fresh: true, want: mxStatuses{303, 303, 303, 303, 303}},
		"GET /register":      {want: mxStatuses{200, 200, 200, 200, 200}},
		"POST /register":     {fresh: true, form: register, want: mxStatuses{303, 303, 303, 303, 303}},
		"GET /static/":       {want: mxStatuses{200, 200, 200, 200, 200}},
		"GET /products/{id}": {want: mxStatuses{200, 200, 200, 200, 200}},

		// Only buyers buy; the confirmation is priced for buyers only.
		"GET /products/{id}/buy":  {query: "?spec=basic&periods=1", want: mxStatuses{303, 200, 403, 403, 403}},
		"POST /products/{id}/buy": {setup: toBuy, form: buyForm("basic"), want: mxStatuses{401, 303, 403, 403, 403}},

		// The buyer centre: a buyer's orders and instances are theirs (and
		// operators' to look at); only their buyer acts on them. A seller
		// member is told another's instance does not exist.
		"GET /my/orders":                      {want: mxStatuses{303, 200, 403, 403, 403}},
		"GET /my/orders/{id}":                 {setup: bought(false), want: mxStatuses{303, 200, 404, 404, 200}},
		"GET /my/instances":                   {want: mxStatuses{303, 200, 403, 403, 403}},
		"GET /my/instances/{id}":              {setup: bought(false), want: mxStatuses{303, 200, 404, 404, 200}},
		"POST /my/instances/{id}/renew":       {setup: bought(true), form: keyed(url.Values{"periods": {"1"}}), want: mxStatuses{401, 303, 404, 404, 403}},
		"POST /my/instances/{id}/convert":     {setup: trial, form: keyed(url.Values{"periods": {"1"}}), want: mxStatuses{401, 303, 404, 404, 403}},
		"POST /my/instances/{id}/change":      {setup: bought(true), form: keyed(url.Values{"spec": {"plus"}}), want: mxStatuses{401, 303, 404, 404, 403}},
		"POST /my/instances/{id}/unsubscribe": {setup: bought(true), form: keyed(nil), want: mxStatuses{401, 303, 404, 404, 403}},
		// Anyone logged in has a balance (an empty one but a buyer's).
		"GET /my/balance": {want: mxStatuses{303, 200, 200, 200, 200}},

		// The seller centre: its members only, each on its own seller (the
		// routes without an id act on the visitor's own seller, so the other
		// seller succeeds on its own); another seller's record is "not
		// found". The home shows anyone else the join form, which buyers
		// only may send; the empty product form is shown to anyone logged in,
		// creating a product is refused to all but members.
		"GET /seller":                                    {want: mxStatuses{303, 200, 200, 200, 200}},
		"POST /seller/apply":                             {fresh: true, form: func(*mxWorld, mxTarget, int) url.Values { return mxJoinForm() }, want: mxStatuses{401, 303, 409, 409, 403}},
		"POST /seller/certification":                     {setup: ownSellers(mxApprovedSeller), form: mxForm(mxCertForm()), want: mxStatuses{401, 403, 303, 303, 403}},
		"GET /seller/products":                           {want: mxStatuses{303, 403, 200, 200, 403}},
		"GET /seller/products/new":                       {want: mxStatuses{303, 200, 200, 200, 200}},
		"POST /seller/products":                          {form: product, want: mxStatuses{401, 403, 303, 303, 403}},
		"GET /seller/products/{id}":                      {setup: neverListed, want: mxStatuses{303, 403, 200, 404, 403}},
		"POST /seller/products/{id}/rotate-key":          {want: mxStatuses{401, 403, 303, 404, 403}},
		"POST /seller/products/{id}/modify":              {setup: newListed, want: mxStatuses{401, 403, 303, 404, 403}},
		"POST /seller/products/{id}/specs/{code}/delist": {setup: newListed, want: mxStatuses{401, 403, 303, 404, 403}},

		"GET /seller/applications":                {want: mxStatuses{303, 403, 200, 200, 403}},
		"GET /seller/applications/{id}":           {want: mxStatuses{303, 403, 200, 404, 200}},
		"GET /seller/applications/{id}/edit":      {want: mxStatuses{303, 403, 200, 404, 200}},
		"POST /seller/applications/{id}/edit":     {setup: application(catalog.Draft), form: product, want: mxStatuses{401, 403, 303, 404, 403}},
		"POST /seller/applications/{id}/submit":   {setup: application(catalog.Draft), want: mxStatuses{401, 403, 303, 404, 403}},
		"POST /seller/applications/{id}/withdraw": {setup: application(catalog.Submitted), form: mxForm(url.Values{"reason": {"Not yet."}}), want: mxStatuses{401, 403, 303, 404, 403}},
		"POST /seller/applications/{id}/revise":   {setup: application(catalog.Rejected), want: mxStatuses{401, 403, 303, 404, 403}},
		"POST /seller/applications/{id}/discard":  {setup: application(catalog.Draft), want: mxStatuses{401, 403, 303, 404, 403}},

		"GET /seller/inbox":            {want: mxStatuses{303, 403, 200, 200, 403}},
		"GET /my/inbox":                {want: mxStatuses{303, 200, 200, 200, 200}},
		"POST /my/inbox/{id}/read":     {setup: buyerNotice, want: mxStatuses{401, 303, 404, 404, 404}},
		"POST /seller/inbox/{id}/read": {setup: inboxNotice, want: mxStatuses{401, 403, 303, 404, 403}},

		"GET /seller/api-credentials":         {want: mxStatuses{303, 403, 200, 200, 403}},
		"POST /seller/api-credentials":        {form: mxForm(url.Values{"name": {"ci"}}), want: mxStatuses{401, 403, 303, 303, 403}},
		"GET /seller/secret":                  {want: mxStatuses{303, 200, 200, 200, 200}},
		"POST /seller/api-credentials/revoke": {form: ownerCredential, want: mxStatuses{401, 403, 303, 404, 403}},

		// Production interface messages: a seller's own, and all for
		// operators, whichever of the two paths they are asked at.
		"GET /seller/messages":                {want: mxStatuses{303, 403, 200, 200, 200}},
		"GET /seller/messages/{id}":           {setup: call(false), want: mxStatuses{303, 403, 200, 404, 200}},
		"POST /seller/messages/{id}/reinvoke": {setup: call(true), form: mxForm(url.Values{"reason": {"fixed"}}), want: mxStatuses{401, 403, 303, 404, 303}},
		"GET /ops/messages":                   {want: mxStatuses{303, 403, 200, 200, 200}},
		"GET /ops/messages/{id}":              {setup: call(false), want: mxStatuses{303, 403, 200, 404, 200}},
		"POST /ops/messages/{id}/reinvoke":    {setup: call(true), form: mxForm(url.Values{"reason": {"fixed"}}), want: mxStatuses{401, 403, 303, 404, 303}},

		// The operator console: operators only.
		"GET /ops":                                     {want: mxStatuses{303, 403, 403, 403, 200}},
		"GET /ops/review":                              {want: mxStatuses{303, 403, 403, 403, 200}},
		"GET /ops/review/applications/{id}":            {setup: application(catalog.Submitted), want: mxStatuses{303, 403, 403, 403, 200}},
		"POST /ops/review/sellers/{id}/approve":        {setup: sellerAt(mxPendingSeller), want: mxStatuses{401, 403, 403, 403, 303}},
		"POST /ops/review/sellers/{id}/reject":         {setup: sellerAt(mxPendingSeller), form: reason, want: mxStatuses{401, 403, 403, 403, 303}},
		"POST /ops/review/certifications/{id}/approve": {setup: pendingCertification, want: mxStatuses{401, 403, 403, 403, 303}},
		"POST /ops/review/certifications/{id}/reject":  {setup: pendingCertification, form: reason, want: mxStatuses{401, 403, 403, 403, 303}},
		"POST /ops/review/applications/{id}/approve":   {setup: application(catalog.Submitted), want: mxStatuses{401, 403, 403, 403, 303}},
		"POST /ops/review/applications/{id}/reject":    {setup: application(catalog.Submitted), form: reason, want: mxStatuses{401, 403, 403, 403, 303}},
		"GET /ops/top-up":                              {want: mxStatuses{303, 403, 403, 403, 200}},
		"POST /ops/top-up": {form: func(w *mxWorld, _ mxTarget, _ int) url.Values {
			return url.Values{"email": {w.loginEmail}, "amount": {"10.00"}, "currency": {"CNY"}}
		}, want: mxStatuses{401, 403, 403, 403, 303}},
	}

	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		w := newMxWorld(t, s)
		srv := web.New(web.Config{DB: db, Catalog: s.set, Engine: s.engine})
		routes := append(web.Routes(srv), web.RouteInfo{Method: "GET", Path: "/static/"})
		seen := map[string]bool{}
		for _, rt := range routes {
			key := rt.Method + " " + rt.Path
			seen[key] = true
			tc, ok := cases[key]
			if !ok {
				t.Errorf("%s has no row in the authorisation matrix: add one", key)
				continue
			}
			if rt.Auth {
				want := http.StatusUnauthorized
				if rt.Method == http.MethodGet {
					want = http.StatusSeeOther
				}
				if tc.want[mxAnonymous] != want {
					t.Errorf("%s requires log-in, but its row expects %d for anonymous", key, tc.want[mxAnonymous])
				}
			}
			t.Run(key, func(t *testing.T) {
				w.t = t
				for role := range mxRoles {
					x := w.standing()
					if tc.setup != nil {
						x = tc.setup(w)
					}
					b := w.as[role]
					switch {
					case tc.fresh:
						b = w.freshBrowser(role, x)
					case role == mxOwner && x.owner != nil:
						b = x.owner
					case role == mxOther && x.other != nil:
						b = x.other
					}
					bb := *b
					bb.t = t
					path := mxFill(t, rt.Path, x)
					if rt.Path == "/static/" {
						path = "/static/souk.css"
					}
					var p page
					if rt.Method == http.MethodGet {
						p = bb.get(path + tc.query)
					} else {
						var f url.Values
						if tc.form != nil {
							f = tc.form(w, x, role)
						}
						p = bb.post(path, f)
					}
					if p.Status != tc.want[role] {
						t.Errorf("%s %s as %s = %d, want %d%s", rt.Method, path, mxRoleNames[role], p.Status, tc.want[role], pageGist(p))
						continue
					}
					// A page that needs a log-in sends an anonymous visitor
					// to the log-in form, which comes back here.
					if rt.Auth && role == mxAnonymous && rt.Method == http.MethodGet &&
						p.Location != "/login?next="+url.QueryEscape(path+tc.query) {
						t.Errorf("%s %s as anonymous goes to %q, want the log-in page coming back", rt.Method, path, p.Location)
					}
				}
			})
		}
		for key := range cases {
			if !seen[key] {
				t.Errorf("the matrix has a row for %s, which is not a route", key)
			}
		}
	})
}

// pageGist is what a failed row shows of the answer: where it redirects,
// or the error's message.
func pageGist(p page) string {
	if p.Location != "" {
		return " (to " + p.Location + ")"
	}
	body := p.Body
	if i := strings.Index(body, `class="error"`); i >= 0 {
		body = body[i:]
	} else if i := strings.Index(body, "<main>"); i >= 0 {
		body = body[i:]
	}
	if len(body) > 300 {
		body = body[:300]
	}
	return ": " + strings.Join(strings.Fields(body), " ")
}
