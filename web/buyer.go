package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/usage"
)

// The buyer centre: my orders and instances, renewal, change of spec,
// unsubscription, balance and its history. Every rule (who sees what,
// prices, refunds) is the order and settle packages'; these pages only
// show their answers and send their forms.

func (s *Server) buyerRoutes() []route {
	return []route{
		{Method: "GET", Path: "/my/orders", Auth: true, handle: s.myOrders},
		{Method: "GET", Path: "/my/orders/{id}", Auth: true, handle: s.myOrder},
		{Method: "GET", Path: "/my/instances", Auth: true, handle: s.myInstances},
		{Method: "GET", Path: "/my/instances/{id}", Auth: true, handle: s.myInstance},
		{Method: "POST", Path: "/my/instances/{id}/renew", Auth: true, handle: s.renew},
		{Method: "POST", Path: "/my/instances/{id}/convert", Auth: true, handle: s.convert},
		{Method: "POST", Path: "/my/instances/{id}/change", Auth: true, handle: s.change},
		{Method: "POST", Path: "/my/instances/{id}/unsubscribe", Auth: true, handle: s.unsubscribe},
		{Method: "GET", Path: "/my/balance", Auth: true, handle: s.myBalance},
		{Method: "GET", Path: "/my/inbox", Auth: true, handle: s.myInbox},
		{Method: "POST", Path: "/my/inbox/{id}/read", Auth: true, handle: s.myMarkRead},
	}
}

// myInbox is the visitor's own notices: for a buyer, what order tells it
// of its purchases and instances.
func (s *Server) myInbox(w http.ResponseWriter, r *http.Request) error {
	return s.inbox(w, r, order.BuyerInbox(actorOf(r).UserID), "/my/inbox")
}

func (s *Server) myMarkRead(w http.ResponseWriter, r *http.Request) error {
	return s.markRead(w, r, order.BuyerInbox(actorOf(r).UserID), "/my/inbox")
}

// productNames looks products' names up once per page.
type productNames struct {
	s     *Server
	by    souk.Actor
	names map[string]string
}

func (p *productNames) name(ctx context.Context, id string) string {
	if n, ok := p.names[id]; ok {
		return n
	}
	n := id
	if v, err := catalog.GetProduct(ctx, p.s.db, p.by, id); err == nil && v.Listed != nil {
		n = v.Listed.Name
	}
	p.names[id] = n
	return n
}

type ordersData struct {
	Orders []order.Order
	Names  map[string]string
	Pager  pager
}

// myOrders lists the buyer's orders, newest first, a page at a time.
func (s *Server) myOrders(w http.ResponseWriter, r *http.Request) error {
	by := actorOf(r)
	os, err := order.MyOrders(r.Context(), s.db, by, order.Page{Limit: pageSize + 1, Before: r.URL.Query().Get("before")})
	if err != nil {
		return err
	}
	d := ordersData{}
	var more bool
	d.Orders, more = pageOf(os)
	names := productNames{s: s, by: by, names: map[string]string{}}
	for _, o := range d.Orders {
		for _, l := range o.Lines {
			names.name(r.Context(), l.ProductID)
		}
	}
	d.Names = names.names
	if len(d.Orders) > 0 {
		d.Pager = newPager(r, "before", more, d.Orders[len(d.Orders)-1].ID)
	}
	return s.show(w, r, "my_orders", d)
}

type orderData struct {
	Order order.Order
	Names map[string]string
}

// myOrder shows one of the buyer's orders with its lines.
func (s *Server) myOrder(w http.ResponseWriter, r *http.Request) error {
	by := actorOf(r)
	o, err := order.GetOrder(r.Context(), s.db, by, r.PathValue("id"))
	if err != nil {
		return err
	}
	names := productNames{s: s, by: by, names: map[string]string{}}
	for _, l := range o.Lines {
		names.name(r.Context(), l.ProductID)
	}
	return s.show(w, r, "my_order", orderData{Order: o, Names: names.names})
}

type instancesData struct {
	Instances []order.Instance
	Names     map[string]string
	Pager     pager
}

// myInstances lists the buyer's instances, newest first, a page at a time.
func (s *Server) myInstances(w http.ResponseWriter, r *http.Request) error {
	by := actorOf(r)
	is, err := order.MyInstances(r.Context(), s.db, by, order.Page{Limit: pageSize + 1, Before: r.URL.Query().Get("before")})
	if err != nil {
		return err
	}
	d := instancesData{}
	var more bool
	d.Instances, more = pageOf(is)
	names := productNames{s: s, by: by, names: map[string]string{}}
	for _, in := range d.Instances {
		names.name(r.Context(), in.ProductID)
	}
	d.Names = names.names
	if len(d.Instances) > 0 {
		d.Pager = newPager(r, "before", more, d.Instances[len(d.Instances)-1].ID)
	}
	return s.show(w, r, "my_instances", d)
}

// instanceData is an instance's page: what it is, its licence codes, and
// the forms of what its buyer may do with it. Action and Form are the
// form sent, when it failed.
type instanceData struct {
	Instance order.Instance
	Product  *catalog.Product // the listed product, nil if unknown
	Spec     catalog.Spec     // the instance's spec as listed
	// ChangeTo are the specs the instance may be offered to change to:
	// those of its product sold by the same period (order decides).
	ChangeTo []catalog.Spec
	// ChangeNotes says, by spec code, what changing to it at the
	// instance's quantity costs now or refunds (order.ChangePrice), for
	// the changes order would accept.
	ChangeNotes map[string]string
	Licenses    []order.License
	// Refund is what unsubscribing now would refund (order.UnusedPart),
	// when HasRefund.
	Refund    settle.Money
	HasRefund bool
	Balance   settle.Money
	Keys      map[string]string
	Action    string
	Form      form
}

// Val returns the value typed in field of the form of action if that form
// failed, else def.
func (d instanceData) Val(action, field, def string) string {
	if d.Action == action && d.Form.Values != nil {
		return d.Form.Get(field)
	}
	return def
}

// ErrorOf returns the error of the form of action, if it failed.
func (d instanceData) ErrorOf(action string) form {
	if d.Action == action {
		return d.Form
	}
	return form{}
}

// AnyQuantity reports whether a spec the instance may change to is sold
// by quantity.
func (d instanceData) AnyQuantity() bool {
	for _, sp := range d.ChangeTo {
		if sp.Quantity != nil {
			return true
		}
	}
	return false
}

// Periodic reports whether the instance's spec is sold by period.
func (d instanceData) Periodic() bool { return d.Spec.Charging == catalog.ChargePeriod }

// Live reports whether the instance is active or frozen.
func (d instanceData) Live() bool {
	return d.Instance.State == order.Active || d.Instance.State == order.Frozen
}

func (s *Server) instanceData(r *http.Request) (instanceData, error) {
	by := actorOf(r)
	ctx := r.Context()
	in, err := order.GetInstance(ctx, s.db, by, r.PathValue("id"))
	if err != nil {
		return instanceData{}, err
	}
	d := instanceData{Instance: in, Keys: map[string]string{}}
	for _, a := range []string{"renew", "convert", "change", "unsubscribe"} {
		d.Keys[a] = newKey()
	}
	if v, err := catalog.GetProduct(ctx, s.db, by, in.ProductID); err == nil && v.Listed != nil {
		d.Product = v.Listed
		d.Spec, _ = v.Listed.Spec(in.SpecCode)
		for _, sp := range v.Listed.Specs {
			// The same spec is a change only of its quantity, if it has one.
			same := sp.Code == in.SpecCode
			if sp.Charging == catalog.ChargePeriod && sp.Period == d.Spec.Period && !slices.Contains(v.Delisted, sp.Code) &&
				(!same || sp.Quantity != nil) {
				d.ChangeTo = append(d.ChangeTo, sp)
			}
		}
	} else if err != nil && souk.ErrorCode(err) == souk.EINTERNAL {
		return instanceData{}, err
	}
	if in.State == order.Active && !in.Trial && in.Kind != "license" && in.PendingOrderID == "" {
		d.ChangeNotes = map[string]string{}
		for _, sp := range d.ChangeTo {
			if sp.Code == in.SpecCode {
				continue // a change of quantity only: priced once typed
			}
			p, err := order.ChangePrice(ctx, s.db, by, order.ChangeRequest{InstanceID: in.ID, SpecCode: sp.Code})
			switch {
			case err != nil:
			case p.Amount < 0:
				d.ChangeNotes[sp.Code] = "refund " + settle.M(-p.Amount, p.Currency).String()
			default:
				d.ChangeNotes[sp.Code] = "pay " + p.String() + " now"
			}
		}
	}
	if in.Kind == "license" {
		if d.Licenses, err = order.Licenses(ctx, s.db, by, in.ID); err != nil {
			return instanceData{}, err
		}
	}
	if d.Live() {
		if d.Refund, err = order.UnusedPart(ctx, s.db, by, in.ID); err != nil {
			return instanceData{}, err
		}
		d.HasRefund = true
		have, err := settle.Balance(ctx, s.db.SQL(), settle.BuyerBalance(by.UserID), d.Refund.Currency)
		if err != nil {
			return instanceData{}, err
		}
		d.Balance = settle.M(have, d.Refund.Currency)
	}
	return d, nil
}

// myInstance shows one of the buyer's instances with its actions.
func (s *Server) myInstance(w http.ResponseWriter, r *http.Request) error {
	d, err := s.instanceData(r)
	if err != nil {
		return err
	}
	return s.show(w, r, "my_instance", d)
}

// instanceAction runs action on the instance of the request with the
// form's idempotency key, then goes back to the instance with notice(the
// order placed); a refusal shows the instance page again with the form
// as typed and the domain's message.
func (s *Server) instanceAction(w http.ResponseWriter, r *http.Request, action string,
	do func(eng Engine, id, key string) (order.Order, error), notice func(order.Order) string) error {
	eng, err := s.requireEngine()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	o, err := do(eng, id, r.PostForm.Get("key"))
	if err != nil {
		if souk.ErrorCode(err) == souk.EINTERNAL {
			return err
		}
		d, derr := s.instanceData(r)
		if derr != nil {
			return derr
		}
		d.Action, d.Form = action, form{Values: r.PostForm, Error: souk.ErrorMessage(err)}
		if k := r.PostForm.Get("key"); k != "" {
			d.Keys[action] = k // nothing was placed under it
		}
		s.render(w, r, souk.HTTPStatus(err), "my_instance", d)
		return nil
	}
	n := notice(o)
	if o.Repeated {
		n = "Order " + o.ID + " was placed already; it was not placed twice."
	}
	return s.seeOther(w, r, "/my/instances/"+id, n)
}

func (s *Server) renew(w http.ResponseWriter, r *http.Request) error {
	return s.instanceAction(w, r, "renew", func(eng Engine, id, key string) (order.Order, error) {
		n, err := atoi(r.PostForm, "periods")
		if err != nil {
			return order.Order{}, err
		}
		return order.RenewInstance(r.Context(), s.db, eng, actorOf(r), order.RenewRequest{InstanceID: id, Periods: n, IdempotencyKey: key})
	}, func(o order.Order) string {
		return "Renewed: order " + o.ID + ", " + o.Amount.String() + " paid from your balance."
	})
}

func (s *Server) convert(w http.ResponseWriter, r *http.Request) error {
	return s.instanceAction(w, r, "convert", func(eng Engine, id, key string) (order.Order, error) {
		n, err := atoi(r.PostForm, "periods")
		if err != nil {
			return order.Order{}, err
		}
		return order.ConvertTrial(r.Context(), s.db, eng, actorOf(r), order.ConvertRequest{InstanceID: id, Periods: n, IdempotencyKey: key})
	}, func(o order.Order) string {
		return "Your trial is now a formal purchase: order " + o.ID + ", " + o.Amount.String() + " paid from your balance."
	})
}

func (s *Server) change(w http.ResponseWriter, r *http.Request) error {
	return s.instanceAction(w, r, "change", func(eng Engine, id, key string) (order.Order, error) {
		n, err := atoi(r.PostForm, "quantity")
		if err != nil {
			return order.Order{}, err
		}
		return order.ChangeInstance(r.Context(), s.db, eng, actorOf(r), order.ChangeRequest{InstanceID: id,
			SpecCode: r.PostForm.Get("spec"), Quantity: n, IdempotencyKey: key})
	}, func(o order.Order) string {
		msg := "Change requested: order " + o.ID + "; the seller applies it shortly."
		switch {
		case o.Amount.Amount > 0:
			msg += " " + o.Amount.String() + " was paid from your balance."
		case o.Amount.Amount < 0:
			msg += " " + settle.M(-o.Amount.Amount, o.Amount.Currency).String() + " will be refunded once it is applied."
		}
		return msg
	})
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	return s.instanceAction(w, r, "unsubscribe", func(eng Engine, id, key string) (order.Order, error) {
		return order.UnsubscribeInstance(r.Context(), s.db, eng, actorOf(r), order.UnsubscribeRequest{InstanceID: id, IdempotencyKey: key})
	}, func(o order.Order) string {
		return "Unsubscribed: " + o.Amount.String() + " (the unused part) was refunded to your balance."
	})
}

type balanceData struct {
	Balances []settle.Money
	// Owed is pay-per-use charges not yet taken from the balance.
	Owed    []settle.Money
	Entries []settle.EntryRecord
	Pager   pager
}

// myBalance shows the visitor's own balances and the entries of their
// balance account, newest first, a page at a time.
func (s *Server) myBalance(w http.ResponseWriter, r *http.Request) error {
	acct := settle.BuyerBalance(actorOf(r).UserID)
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		var err error
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			return souk.Errorf(souk.EINVALID, "before: %q is not an entry id.", v)
		}
	}
	var d balanceData
	var err error
	if d.Balances, err = settle.Balances(r.Context(), s.db, acct); err != nil {
		return err
	}
	if d.Owed, err = usage.OwedTotals(r.Context(), s.db, actorOf(r).UserID); err != nil {
		return err
	}
	es, err := settle.Entries(r.Context(), s.db, acct, before, pageSize+1)
	if err != nil {
		return err
	}
	var more bool
	d.Entries, more = pageOf(es)
	if len(d.Entries) > 0 {
		d.Pager = newPager(r, "before", more, strconv.FormatInt(d.Entries[len(d.Entries)-1].ID, 10))
	}
	return s.show(w, r, "my_balance", d)
}

func init() {
	funcs["addMoney"] = func(a, b settle.Money) settle.Money { return settle.M(a.Amount+b.Amount, a.Currency) }
	// refOrder returns the order id of a ledger ref "order:ID" or
	// "order:ID:…", "" for another ref.
	funcs["refOrder"] = func(ref string) string {
		rest, ok := strings.CutPrefix(ref, "order:")
		if !ok {
			return ""
		}
		id, _, _ := strings.Cut(rest, ":")
		return id
	}
}
