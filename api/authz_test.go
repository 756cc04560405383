package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/api"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// The roles of the authorisation matrix, in the order of its columns.
const (
	anonymous   = iota
	buyer       // a buyer with nothing to do with the target
	owner       // a member of the seller that owns what the route acts on
	otherSeller // a member of another seller
	operator
	nRoles
)

var roleNames = [nRoles]string{"anonymous", "buyer", "owner", "other seller", "operator"}

// statuses are a route's expected answers, by role: anonymous, buyer,
// owner, other seller, operator.
type statuses [nRoles]int

// target is what one request acts on: the ids its path takes, and the
// member of the seller that owns it when that is not the world's seller.
type target struct {
	seller, product, spec, user, token string
	buyer, order, instance             string
	message                            string
	application, certification         int64
	owner                              *client
}

// world is the standing fixtures of the matrix, made once per engine.
type world struct {
	t    *testing.T
	ctx  context.Context
	db   *store.DB
	base string
	set  catalog.Settings
	// as are the role's standing clients; as[anonymous] has no token.
	as [nRoles]*client
	// seller is owned by as[owner], otherSeller by as[otherSeller]: both
	// certified.
	seller, otherSeller string
	ownerActor          souk.Actor
	ownerUser           string
	// loginEmail is a buyer's, to log in with.
	loginEmail string
	// buyerUser is as[buyer]'s user id, buyerActor it as an actor.
	buyerUser  string
	buyerActor souk.Actor
	// orders is the delivery engine purchases enqueue their calls on.
	orders order.Enqueuer
	// listed is a listed product of seller with specs basic and pro;
	// neverListed one with only its draft application, draft.
	listed, neverListed string
	draft               int64
}

// Stages of newSeller.
const (
	pendingSeller = iota
	approvedSeller
	certifiedSeller
)

// newSeller makes a seller at stage whose first member is a new user who
// applied as a buyer, as POST /sellers does.
func (w *world) newSeller(stage int) (string, *client, souk.Actor) {
	t := w.t
	t.Helper()
	c, u := newUser(t, w.db, w.base, souk.RoleBuyer, "")
	var id string
	err := w.db.Tx(w.ctx, func(tx *store.Tx) error {
		var err error
		if id, err = catalog.ApplyTx(w.ctx, tx, u.Actor(), catalog.JoinApplication{CompanyName: fmt.Sprintf("Seller %d", unique()),
			RegistrationNumber: fmt.Sprintf("REG%08d", unique()), ContactName: "Li Lei", ContactEmail: "sales@acme.example", ContactPhone: "+86 21 5555 0100"}); err != nil {
			return err
		}
		return account.JoinSeller(w.ctx, tx, u.ID, id)
	})
	if err != nil {
		t.Fatal(err)
	}
	member := souk.Actor{UserID: u.ID, Role: souk.RoleSeller, SellerID: id}
	if stage >= approvedSeller {
		w.must(catalog.ApproveSeller(w.ctx, w.db, system, id))
	}
	if stage >= certifiedSeller {
		cert, err := catalog.SubmitCertification(w.ctx, w.db, member, catalog.Certification{AccountHolder: "Acme Ltd", Bank: "Bank of Example",
			AccountNumber: "62220210011234567", TaxRegistration: "91310000MA1FL0000X", TaxRate: 600})
		w.must(err)
		w.must(catalog.ApproveCertification(w.ctx, w.db, system, cert))
	}
	return id, c, member
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// newApplication makes a product of the world's seller and brings its
// publish application to state; it returns both ids.
func (w *world) newApplication(state catalog.State) (string, int64) {
	w.t.Helper()
	np, err := catalog.CreateProduct(w.ctx, w.db, w.set, w.ownerActor, catalog.Product{Type: catalog.SaaS, Name: "Matrix",
		Description: "A product of the matrix.", ProductionURL: "https://seller.example/produce", Public: true,
		Specs: []catalog.Spec{
			{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}},
			{Code: "pro", Name: "Pro", Charging: catalog.ChargePeriod, Period: catalog.Year, Price: catalog.Price{Amount: 99000, Currency: "CNY"}},
			{Code: "plus", Name: "Plus", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 19900, Currency: "CNY"}, TrialDays: 7},
		}})
	w.must(err)
	id := np.ApplicationID
	if state == catalog.Draft {
		return np.ProductID, id
	}
	w.must(catalog.SubmitApplication(w.ctx, w.db, w.set, w.ownerActor, id))
	switch state {
	case catalog.Approved:
		w.must(catalog.ApproveApplication(w.ctx, w.db, system, id))
	case catalog.Rejected:
		w.must(catalog.RejectApplication(w.ctx, w.db, system, id, "Not enough."))
	}
	return np.ProductID, id
}

// standing is the target of the routes that change nothing the next
// request needs.
func (w *world) standing() target {
	return target{seller: w.seller, product: w.listed, spec: "basic", user: w.ownerUser, buyer: w.buyerUser, application: w.draft}
}

// newWorld makes the standing fixtures: a user of every role, two
// certified sellers, and products of the first.
func newWorld(t *testing.T, db *store.DB, base string, set catalog.Settings) *world {
	w := &world{t: t, ctx: t.Context(), db: db, base: base, set: set}
	w.as[anonymous] = &client{t: t, base: base}
	var b *account.User
	w.as[buyer], b = newUser(t, db, base, souk.RoleBuyer, "")
	w.loginEmail = b.Email
	w.buyerUser, w.buyerActor = b.ID, b.Actor()
	w.as[operator], _ = newUser(t, db, base, souk.RoleOperator, "")
	w.seller, w.as[owner], w.ownerActor = w.newSeller(certifiedSeller)
	w.ownerUser = w.ownerActor.UserID
	w.otherSeller, w.as[otherSeller], _ = w.newSeller(certifiedSeller)
	w.listed, _ = w.newApplication(catalog.Approved)
	w.neverListed, w.draft = w.newApplication(catalog.Draft)
	return w
}

// freshClient is a new user acting in role, for a request that changes
// the actor's own account or sessions.
func (w *world) freshClient(role int, x target) *client {
	switch role {
	case buyer:
		c, _ := newUser(w.t, w.db, w.base, souk.RoleBuyer, "")
		return c
	case owner:
		c, _ := newUser(w.t, w.db, w.base, souk.RoleSeller, x.seller)
		return c
	case otherSeller:
		c, _ := newUser(w.t, w.db, w.base, souk.RoleSeller, w.otherSeller)
		return c
	case operator:
		c, _ := newUser(w.t, w.db, w.base, souk.RoleOperator, "")
		return c
	}
	return w.as[anonymous]
}

// fill puts x's ids into path: {id} is the id of what the segment before
// names, {code} a spec code.
func fill(t *testing.T, path string, x target) string {
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
		case segs[i-1] == "users":
			v = x.user
		case segs[i-1] == "tokens":
			v = x.token
		case segs[i-1] == "buyers":
			v = x.buyer
		case segs[i-1] == "orders":
			v = x.order
		case segs[i-1] == "instances":
			v = x.instance
		case segs[i-1] == "messages":
			v = x.message
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
	setup func(w *world) target
	// body is the request's body for role; nil sends none.
	body func(w *world, role int) any
	// fresh has each role act as a new user of its kind, because the
	// request changes the actor's own account or sessions.
	fresh bool
	want  statuses
}

func always(v any) func(*world, int) any { return func(*world, int) any { return v } }

// TestAuthorisationMatrix sends every route of the table as every role
// and checks the exact status: allowed is the route's success status,
// denied is 401 (not logged in), 403 (the role may not) or 404 (another
// seller's record, which must look like a missing one); 409 where the role
// may act but the target's state does not allow it. A route without a row
// fails the test.
func TestAuthorisationMatrix(t *testing.T) {
	pendingSellerTarget := func(stage int) func(w *world) target {
		return func(w *world) target {
			x := w.standing()
			x.seller, x.owner, _ = w.newSeller(stage)
			return x
		}
	}
	pendingCertification := func(w *world) target {
		x := w.standing()
		var member souk.Actor
		x.seller, x.owner, member = w.newSeller(approvedSeller)
		id, err := catalog.SubmitCertification(w.ctx, w.db, member, catalog.Certification{AccountHolder: "Acme Ltd", Bank: "Bank of Example",
			AccountNumber: "62220210011234567", TaxRegistration: "91310000MA1FL0000X", TaxRate: 600})
		w.must(err)
		x.certification = id
		return x
	}
	application := func(state catalog.State) func(w *world) target {
		return func(w *world) target {
			x := w.standing()
			_, x.application = w.newApplication(state)
			return x
		}
	}
	newListed := func(w *world) target {
		x := w.standing()
		x.product, _ = w.newApplication(catalog.Approved)
		x.spec = "pro"
		return x
	}
	neverListed := func(w *world) target {
		x := w.standing()
		x.product = w.neverListed
		return x
	}
	newBuyer := func(disabled bool) func(w *world) target {
		return func(w *world) target {
			x := w.standing()
			_, u := newUser(w.t, w.db, w.base, souk.RoleBuyer, "")
			x.user = u.ID
			if disabled {
				w.must(account.DisableUser(w.ctx, w.db, system, u.ID))
			}
			return x
		}
	}
	ownerToken := func(w *world) target {
		x := w.standing()
		_, tok, err := account.CreateToken(w.ctx, w.db, w.ownerActor, "ci", 24*time.Hour)
		w.must(err)
		x.token = tok.ID
		return x
	}
	// ownerCredential is a new open API credential of the world's seller,
	// as the body that revokes it.
	ownerCredential := func(w *world, _ int) any {
		c, err := sellerapi.CreateCredential(w.ctx, w.db, w.set.Keys, w.ownerActor, "ci")
		w.must(err)
		return map[string]any{"keyId": c.KeyID}
	}
	register := func(*world, int) any {
		return map[string]any{"email": fmt.Sprintf("new%d@example.com", unique()), "name": "New", "password": password}
	}
	createUser := func(_ *world, role int) any {
		b := map[string]any{"email": fmt.Sprintf("added%d@example.com", unique()), "name": "Added", "password": password}
		if role == operator {
			b["role"] = souk.RoleBuyer // a member adds members of its own seller by default; an operator says which role
		}
		return b
	}
	join := func(*world, int) any { return joinBody() }
	product := func(*world, int) any { return productBody("Matrix") }
	reject := always(map[string]any{"reason": "Not enough."})
	// funded tops the world's buyer up with n months of the listed basic
	// spec.
	funded := func(w *world, n int64) {
		_, err := settle.TopUp(w.ctx, w.db, system, w.buyerUser, settle.M(n*9900, "CNY"))
		w.must(err)
	}
	toBuy := func(w *world) target {
		funded(w, 1)
		return w.standing()
	}
	// bought is an order of the world's buyer for the listed basic spec,
	// its instance active when active is set, with a month more paid for
	// on the balance.
	bought := func(active bool) func(w *world) target {
		return func(w *world) target {
			funded(w, 2)
			o, err := order.Purchase(w.ctx, w.db, w.orders, w.buyerActor, order.PurchaseRequest{ProductID: w.listed, SpecCode: "basic"})
			w.must(err)
			x := w.standing()
			x.order, x.instance = o.ID, o.Lines[0].InstanceID
			if active {
				activate(w.t, w.db, x.instance)
			}
			return x
		}
	}

	trial := func(w *world) target {
		o, err := order.Purchase(w.ctx, w.db, w.orders, w.buyerActor, order.PurchaseRequest{ProductID: w.listed, SpecCode: "plus", Trial: true})
		w.must(err)
		funded(w, 1)
		x := w.standing()
		x.order, x.instance = o.ID, o.Lines[0].InstanceID
		activate(w.t, w.db, x.instance)
		return x
	}
	// call is a production interface call to the world's seller, exhausted
	// when it is to be re-invoked.
	call := func(exhausted bool) func(w *world) target {
		return func(w *world) target {
			x := w.standing()
			w.must(w.db.Tx(w.ctx, func(tx *store.Tx) error {
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

	// Each row's statuses are for: anonymous, buyer, owner, other seller,
	// operator.
	cases := map[string]matrixCase{
		"POST /api/v1/auth/register":      {body: register, want: statuses{201, 201, 201, 201, 201}},
		"POST /api/v1/auth/login":         {body: func(w *world, _ int) any { return map[string]any{"email": w.loginEmail, "password": password} }, want: statuses{200, 200, 200, 200, 200}},
		"POST /api/v1/auth/logout":        {fresh: true, want: statuses{204, 204, 204, 204, 204}},
		"GET /api/v1/me":                  {want: statuses{401, 200, 200, 200, 200}},
		"POST /api/v1/me/password":        {fresh: true, body: always(map[string]any{"current": password, "new": "another long passphrase"}), want: statuses{401, 204, 204, 204, 204}},
		"POST /api/v1/users":              {body: createUser, want: statuses{401, 403, 201, 201, 201}},
		"GET /api/v1/users/{id}":          {want: statuses{401, 404, 200, 404, 200}},
		"POST /api/v1/users/{id}/disable": {setup: newBuyer(false), want: statuses{401, 403, 403, 403, 204}},
		"POST /api/v1/users/{id}/enable":  {setup: newBuyer(true), want: statuses{401, 403, 403, 403, 204}},
		"GET /api/v1/tokens":              {want: statuses{401, 200, 200, 200, 200}},
		"POST /api/v1/tokens":             {body: always(map[string]any{"name": "ci", "expiresInDays": 30}), want: statuses{401, 201, 201, 201, 201}},
		"DELETE /api/v1/tokens/{id}":      {setup: ownerToken, want: statuses{401, 404, 204, 404, 204}},

		// A buyer applies; members of an approved seller have applied
		// already; operators never apply.
		"POST /api/v1/sellers":                  {fresh: true, body: join, want: statuses{401, 201, 409, 409, 403}},
		"GET /api/v1/sellers/{id}":              {want: statuses{401, 403, 200, 404, 200}},
		"GET /api/v1/sellers/{id}/applications": {want: statuses{401, 403, 200, 404, 200}},
		"POST /api/v1/sellers/{id}/approve":     {setup: pendingSellerTarget(pendingSeller), want: statuses{401, 403, 403, 403, 204}},
		"POST /api/v1/sellers/{id}/reject":      {setup: pendingSellerTarget(pendingSeller), body: reject, want: statuses{401, 403, 403, 403, 204}},
		"GET /api/v1/sellers/{id}/reviews":      {want: statuses{401, 403, 200, 404, 200}},
		"GET /api/v1/review/sellers":            {want: statuses{401, 403, 403, 403, 200}},

		"POST /api/v1/sellers/{id}/certifications": {setup: pendingSellerTarget(approvedSeller), body: always(certBody()), want: statuses{401, 403, 201, 404, 403}},
		"GET /api/v1/sellers/{id}/certifications":  {want: statuses{401, 403, 200, 404, 200}},
		"POST /api/v1/certifications/{id}/approve": {setup: pendingCertification, want: statuses{401, 403, 403, 403, 204}},
		"POST /api/v1/certifications/{id}/reject":  {setup: pendingCertification, body: reject, want: statuses{401, 403, 403, 403, 204}},
		"GET /api/v1/review/certifications":        {want: statuses{401, 403, 403, 403, 200}},

		// Products: any seller member creates its own; a product never
		// listed is seen by its seller and operators only.
		"POST /api/v1/products":                              {body: product, want: statuses{401, 403, 201, 201, 403}},
		"GET /api/v1/products":                               {want: statuses{200, 200, 200, 200, 200}},
		"GET /api/v1/products/{id}":                          {setup: neverListed, want: statuses{404, 404, 200, 404, 200}},
		"GET /api/v1/my/products":                            {want: statuses{401, 403, 200, 200, 403}},
		"POST /api/v1/products/{id}/modifications":           {setup: newListed, want: statuses{401, 403, 201, 404, 403}},
		"POST /api/v1/products/{id}/specs/{code}/delist":     {setup: newListed, want: statuses{401, 403, 201, 404, 403}},
		"POST /api/v1/products/{id}/access-key/rotate":       {want: statuses{401, 403, 200, 404, 403}},
		"GET /api/v1/products/{id}/offers":                   {want: statuses{401, 200, 403, 403, 403}},
		"GET /api/v1/products/{id}/specs/{code}/purchasable": {want: statuses{401, 200, 403, 403, 403}},

		"GET /api/v1/my/applications":             {want: statuses{401, 403, 200, 200, 403}},
		"GET /api/v1/applications/{id}":           {want: statuses{401, 403, 200, 404, 200}},
		"PUT /api/v1/applications/{id}":           {setup: application(catalog.Draft), body: product, want: statuses{401, 403, 200, 404, 403}},
		"DELETE /api/v1/applications/{id}":        {setup: application(catalog.Draft), want: statuses{401, 403, 204, 404, 403}},
		"POST /api/v1/applications/{id}/submit":   {setup: application(catalog.Draft), want: statuses{401, 403, 204, 404, 403}},
		"POST /api/v1/applications/{id}/withdraw": {setup: application(catalog.Submitted), body: always(map[string]any{}), want: statuses{401, 403, 204, 404, 403}},
		"POST /api/v1/applications/{id}/revise":   {setup: application(catalog.Rejected), want: statuses{401, 403, 201, 404, 403}},
		"POST /api/v1/applications/{id}/approve":  {setup: application(catalog.Submitted), want: statuses{401, 403, 403, 403, 204}},
		"POST /api/v1/applications/{id}/reject":   {setup: application(catalog.Submitted), body: reject, want: statuses{401, 403, 403, 403, 204}},
		"GET /api/v1/review/applications":         {want: statuses{401, 403, 403, 403, 200}},
		"GET /api/v1/applications/{id}/reviews":   {want: statuses{401, 403, 200, 404, 200}},

		// Orders: only buyers buy, renew and unsubscribe; a buyer's orders
		// and instances are theirs and operators'; top-ups are operators'.
		"POST /api/v1/orders":                     {setup: toBuy, body: func(w *world, _ int) any { return map[string]any{"productId": w.listed, "specCode": "basic"} }, want: statuses{401, 201, 403, 403, 403}},
		"GET /api/v1/orders/{id}":                 {setup: bought(false), want: statuses{401, 200, 404, 404, 200}},
		"GET /api/v1/instances/{id}":              {setup: bought(false), want: statuses{401, 200, 404, 404, 200}},
		"POST /api/v1/instances/{id}/renew":       {setup: bought(true), body: always(map[string]any{"periods": 1}), want: statuses{401, 201, 403, 403, 403}},
		"POST /api/v1/instances/{id}/unsubscribe": {setup: bought(true), want: statuses{401, 201, 403, 403, 403}},
		"POST /api/v1/instances/{id}/convert":     {setup: trial, body: always(map[string]any{"periods": 1}), want: statuses{401, 201, 403, 403, 403}},
		"POST /api/v1/instances/{id}/change":      {setup: bought(true), body: always(map[string]any{"specCode": "plus"}), want: statuses{401, 201, 403, 403, 403}},
		"GET /api/v1/instances/{id}/licenses":     {setup: bought(false), want: statuses{401, 200, 404, 404, 200}},
		"GET /api/v1/my/orders":                   {want: statuses{401, 200, 403, 403, 403}},
		"GET /api/v1/my/instances":                {want: statuses{401, 200, 403, 403, 403}},
		"GET /api/v1/me/balance":                  {want: statuses{401, 200, 200, 200, 200}},
		"POST /api/v1/buyers/{id}/top-up":         {body: always(map[string]any{"amount": 100, "currency": "CNY"}), want: statuses{401, 403, 403, 403, 200}},

		// Production interface messages: the seller's own, and all for
		// operators.
		"GET /api/v1/messages":                {want: statuses{401, 403, 200, 200, 200}},
		"GET /api/v1/messages/{id}":           {setup: call(false), want: statuses{401, 403, 200, 404, 200}},
		"POST /api/v1/messages/{id}/reinvoke": {setup: call(true), body: always(map[string]any{"reason": "fixed"}), want: statuses{401, 403, 204, 404, 204}},

		// Open API credentials: a seller's members manage their own seller's.
		"GET /api/v1/my/api-credentials":         {want: statuses{401, 403, 200, 200, 403}},
		"POST /api/v1/my/api-credentials":        {body: always(map[string]any{"name": "ci"}), want: statuses{401, 403, 201, 201, 403}},
		"POST /api/v1/my/api-credentials/revoke": {body: ownerCredential, want: statuses{401, 403, 204, 404, 403}},
	}

	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		srv, base, eng := newOrdersAPI(t, db)
		w := newWorld(t, db, base, testSettings(t))
		w.orders = eng

		routes := api.Routes(srv)
		seen := map[string]bool{}
		for _, rt := range routes {
			key := rt.Method + " " + rt.Path
			seen[key] = true
			tc, ok := cases[key]
			if !ok {
				t.Errorf("%s has no row in the authorisation matrix: add one", key)
				continue
			}
			if rt.Auth && tc.want[anonymous] != http.StatusUnauthorized {
				t.Errorf("%s requires log-in, but its row expects %d for anonymous", key, tc.want[anonymous])
			}
			t.Run(key, func(t *testing.T) {
				w.t = t
				for role := range nRoles {
					x := w.standing()
					if tc.setup != nil {
						x = tc.setup(w)
					}
					c := w.as[role]
					switch {
					case tc.fresh:
						c = w.freshClient(role, x)
					case role == owner && x.owner != nil:
						c = x.owner
					}
					var body any
					if tc.body != nil {
						body = tc.body(w, role)
					}
					cc := *c
					cc.t = t
					path := fill(t, rt.Path, x)
					st, b := cc.do(rt.Method, path, body)
					if st != tc.want[role] {
						t.Errorf("%s %s as %s = %d %q, want %d", rt.Method, path, roleNames[role], st, message(b), tc.want[role])
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
