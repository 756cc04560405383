package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
)

// Production interface messages, for a seller (its own) and an operator
// (all): lists with filters, each message's attempts, re-invocation.
//
// The seller centre's pages (/seller/messages) and the operator console's
// (/ops/messages) are one handler each: whose messages a visitor sees is
// decided by who they are (delivery.MessageScope, as for the JSON API), never by
// the path.

func (s *Server) messageRoutes() []route {
	return []route{
		{Method: "GET", Path: "/seller/messages", Auth: true, handle: s.messages},
		{Method: "GET", Path: "/seller/messages/{id}", Auth: true, handle: s.message},
		{Method: "POST", Path: "/seller/messages/{id}/reinvoke", Auth: true, handle: s.reinvoke},
		{Method: "GET", Path: "/ops/messages", Auth: true, handle: s.messages},
		{Method: "GET", Path: "/ops/messages/{id}", Auth: true, handle: s.message},
		{Method: "POST", Path: "/ops/messages/{id}/reinvoke", Auth: true, handle: s.reinvoke},
	}
}

// messagesBase is where the actor's message pages are.
func messagesBase(a souk.Actor) string {
	if a.IsOperator() {
		return "/ops/messages"
	}
	return "/seller/messages"
}

// callStates are the states a call can be in, for the state filter.
var callStates = []delivery.State{delivery.Pending, delivery.InFlight, delivery.Retrying, delivery.Succeeded,
	delivery.Exhausted, delivery.Superseded, delivery.AwaitingDecision}

type messagesData struct {
	Base       string
	AllSites   bool // an operator: the seller column is shown
	Filter     messageFilter
	Error      string
	States     []delivery.State
	Activities []protocol.Activity
	Products   []catalog.ProductView // the seller's own, for the product filter
	// ProductNames are the seller's products' listed names, by id.
	ProductNames map[string]string
	Calls        []*delivery.Call
	// Attention is how many calls need attention (at most pageSize+1),
	// shown above an unfiltered first page: failing calls first (§5).
	Attention int
	Sellers   map[string]string // seller id → company name
	Pager     pager
}

// messageFilter is the list's filter form as typed.
type messageFilter struct {
	State, Product, Activity, From, To string
	Seller                             string // for operators: one seller's
	Problems                           bool
}

// callFilter reads the list's filters from q into a delivery.CallFilter.
// A date that does not parse is EINVALID, said in words.
func callFilter(q url.Values, seller string) (messageFilter, delivery.CallFilter, error) {
	mf := messageFilter{State: q.Get("state"), Product: strings.TrimSpace(q.Get("product")), Activity: q.Get("activity"),
		From: q.Get("from"), To: q.Get("to"), Problems: q.Get("problems") != ""}
	if seller == "" {
		mf.Seller = strings.TrimSpace(q.Get("seller"))
		seller = mf.Seller
	}
	f := delivery.CallFilter{SellerID: seller, ProductID: mf.Product, Activity: protocol.Activity(mf.Activity),
		State: delivery.State(mf.State), Problems: mf.Problems, Limit: pageSize + 1}
	if mf.From != "" {
		t, err := time.Parse("2006-01-02", mf.From)
		if err != nil {
			return mf, f, souk.Errorf(souk.EINVALID, "From: want a date (YYYY-MM-DD), not %q.", mf.From)
		}
		f.From = t
	}
	if mf.To != "" {
		t, err := time.Parse("2006-01-02", mf.To)
		if err != nil {
			return mf, f, souk.Errorf(souk.EINVALID, "To: want a date (YYYY-MM-DD), not %q.", mf.To)
		}
		f.To = t.AddDate(0, 0, 1) // the day itself is included
	}
	if v := q.Get("before"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return mf, f, souk.Errorf(souk.EINVALID, "The page asked for is not valid (%q).", v)
		}
		f.BeforeID = id
	}
	return mf, f, nil
}

// messages lists the production interface messages the visitor may see,
// filtered, newest first, a page at a time.
func (s *Server) messages(w http.ResponseWriter, r *http.Request) error {
	a := actorOf(r)
	seller, err := delivery.MessageScope(a)
	if err != nil {
		return err
	}
	ctx := r.Context()
	mf, f, ferr := callFilter(r.URL.Query(), seller)
	d := messagesData{Base: messagesBase(a), AllSites: seller == "", Filter: mf, States: callStates, Activities: protocol.Activities}
	if seller != "" {
		if d.Products, err = catalog.MyProducts(ctx, s.db, a); err != nil {
			return err
		}
		d.ProductNames = map[string]string{}
		for _, p := range d.Products {
			if p.Listed != nil {
				d.ProductNames[p.ID] = p.Listed.Name
			}
		}
	}
	if ferr != nil {
		d.Error = souk.ErrorMessage(ferr)
		s.render(w, r, souk.HTTPStatus(ferr), "messages", d)
		return nil
	}
	calls, err := delivery.ListCalls(ctx, s.db, f)
	if err != nil {
		return err
	}
	if mf == (messageFilter{}) && f.BeforeID == 0 {
		problems, err := delivery.ListCalls(ctx, s.db, delivery.CallFilter{SellerID: seller, Problems: true, Limit: pageSize + 1})
		if err != nil {
			return err
		}
		d.Attention = len(problems)
	}
	var more bool
	d.Calls, more = pageOf(calls)
	if len(d.Calls) > 0 {
		d.Pager = newPager(r, "before", more, strconv.FormatInt(d.Calls[len(d.Calls)-1].ID, 10))
	}
	if d.AllSites {
		ids := make([]string, 0, len(d.Calls))
		for _, c := range d.Calls {
			ids = append(ids, c.SellerID)
		}
		d.Sellers = s.sellerNames(r, ids)
	}
	return s.show(w, r, "messages", d)
}

// sellerNames returns the company names of sellers ids, as the visitor
// may see them; a seller it may not read keeps its id.
func (s *Server) sellerNames(r *http.Request, ids []string) map[string]string {
	names := map[string]string{}
	for _, id := range ids {
		if _, ok := names[id]; ok {
			continue
		}
		names[id] = id
		if sl, err := catalog.GetSeller(r.Context(), s.db, actorOf(r), id); err == nil {
			names[id] = sl.CompanyName
		}
	}
	return names
}

type messageData struct {
	Base          string
	AllSites      bool
	SellerName    string
	ProductName   string
	Call          *delivery.Call
	Request       string
	Attempts      []attemptRow
	Reinvocations []delivery.Reinvocation
	// Reinvokable: failed, so a re-invocation may be asked for (retrying,
	// exhausted or awaiting a decision); the engine decides.
	Reinvokable bool
	Form        form
}

type attemptRow struct {
	delivery.Attempt
	RequestText, ResponseText string
}

// pretty returns b indented if it is JSON, else as it is.
func pretty(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") == nil {
		return out.String()
	}
	return string(b)
}

// loadMessage reads message {id} as the visitor may see it.
func (s *Server) loadMessage(r *http.Request) (messageData, error) {
	a := actorOf(r)
	seller, err := delivery.MessageScope(a)
	if err != nil {
		return messageData{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return messageData{}, souk.Errorf(souk.ENOTFOUND, "Message %s not found.", r.PathValue("id"))
	}
	m, err := delivery.GetMessage(r.Context(), s.db, id, seller)
	if err != nil {
		return messageData{}, err
	}
	d := messageData{Base: messagesBase(a), AllSites: seller == "", Call: m.Call, Request: pretty(m.Call.Body),
		Reinvocations: m.Reinvocations,
		Reinvokable: m.Call.State == delivery.Exhausted || m.Call.State == delivery.AwaitingDecision ||
			m.Call.State == delivery.Retrying}
	if d.AllSites {
		d.SellerName = s.sellerNames(r, []string{m.Call.SellerID})[m.Call.SellerID]
	}
	names := productNames{s: s, by: a, names: map[string]string{}}
	d.ProductName = names.name(r.Context(), m.Call.ProductID)
	for _, at := range m.Attempts {
		d.Attempts = append(d.Attempts, attemptRow{Attempt: at, RequestText: pretty(at.Request), ResponseText: pretty(at.Response)})
	}
	return d, nil
}

// message shows one call with every attempt and re-invocation.
func (s *Server) message(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadMessage(r)
	if err != nil {
		return err
	}
	return s.show(w, r, "message", d)
}

// reinvoke re-invokes the call with the reason typed; the engine decides
// whether it may be (state, who, the order's hooks).
func (s *Server) reinvoke(w http.ResponseWriter, r *http.Request) error {
	d, err := s.loadMessage(r)
	if err != nil {
		return err
	}
	eng, err := s.requireEngine()
	if err != nil {
		return err
	}
	who, err := delivery.ReinvokerOf(actorOf(r))
	if err != nil {
		return err
	}
	if err := eng.Reinvoke(r.Context(), d.Call.ID, who, r.PostForm.Get("reason")); err != nil {
		return s.formError(w, r, "message", err, func(f form) any { d.Form = f; return d })
	}
	return s.seeOther(w, r, d.Base+"/"+strconv.FormatInt(d.Call.ID, 10),
		"Call "+strconv.FormatInt(d.Call.ID, 10)+" was re-invoked: it will be sent again shortly.")
}

func init() {
	funcs["ms"] = func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }
	// words spells a state or an outcome for people: "awaiting decision".
	funcs["words"] = func(v any) string { return strings.ReplaceAll(fmt.Sprint(v), "_", " ") }
}
