package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/settle"
)

// Orders and instances: buying a spec, renewing and unsubscribing an
// instance, and buyers' balances. The order package decides who may do
// what; these handlers only translate.

// idempotencyHeader carries the key that makes a repeated purchase,
// renewal or unsubscription return the first one's order.
const idempotencyHeader = "Idempotency-Key"

type purchaseRequest struct {
	ProductID string `json:"productId"`
	SpecCode  string `json:"specCode"`
	// Quantity is the number of units of a spec sold by quantity.
	Quantity int `json:"quantity,omitempty"`
	// Periods is how many months or years of a PERIOD spec (0 means 1).
	Periods int `json:"periods,omitempty"`
	// Trial asks for the spec's free trial (a TRIAL order) instead.
	Trial bool `json:"trial,omitempty"`
}

type changeRequest struct {
	// SpecCode is the spec to change to ("" keeps the instance's).
	SpecCode string `json:"specCode,omitempty"`
	// Quantity is the new number of units of a spec sold by quantity.
	Quantity int `json:"quantity,omitempty"`
}

type licenseView struct {
	Code string `json:"code"`
	// State is issued, activated, frozen or released.
	State       string     `json:"state"`
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	EffectiveAt *time.Time `json:"effectiveAt,omitempty"`
}

type renewRequest struct {
	// Periods is how many more months or years (0 means 1).
	Periods int `json:"periods,omitempty"`
}

type orderView struct {
	ID string `json:"id"`
	// Type is NEW, RENEW, UNSUBSCRIBE, …
	Type    string `json:"type"`
	BuyerID string `json:"buyerId"`
	// State is paid, completed or failed.
	State string `json:"state"`
	// Amount is what the order took from the balance; for UNSUBSCRIBE, the
	// refund.
	Amount         moneyView       `json:"amount"`
	IdempotencyKey string          `json:"idempotencyKey,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	Lines          []orderLineView `json:"lines"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
}

type orderLineView struct {
	ID         string    `json:"id"`
	SellerID   string    `json:"sellerId"`
	ProductID  string    `json:"productId"`
	SpecCode   string    `json:"specCode"`
	Quantity   int       `json:"quantity"`
	Periods    int       `json:"periods"`
	UnitPrice  moneyView `json:"unitPrice"`
	Amount     moneyView `json:"amount"`
	InstanceID string    `json:"instanceId,omitempty"`
}

type instanceView struct {
	ID        string `json:"id"`
	BuyerID   string `json:"buyerId"`
	SellerID  string `json:"sellerId"`
	ProductID string `json:"productId"`
	SpecCode  string `json:"specCode"`
	Quantity  int    `json:"quantity"`
	// State is provisioning, active, frozen, released or failed.
	State   string `json:"state"`
	OrderID string `json:"orderId"`
	// SellerInstanceID, FrontEndURL and AdminURL are the seller's, once it
	// has provisioned the instance.
	SellerInstanceID string     `json:"sellerInstanceId,omitempty"`
	FrontEndURL      string     `json:"frontEndUrl,omitempty"`
	AdminURL         string     `json:"adminUrl,omitempty"`
	ExpiresAt        *time.Time `json:"expiresAt,omitempty"`
	ActivatedAt      *time.Time `json:"activatedAt,omitempty"`
	// Kind is saas or license (codes: GET /instances/{id}/licenses).
	Kind string `json:"kind"`
	// Trial is set while the instance is a free trial.
	Trial bool `json:"trial,omitempty"`
	// ReleaseAt is when a frozen instance is released unless renewed.
	ReleaseAt *time.Time `json:"releaseAt,omitempty"`
	// PendingOrderID is a change of spec waiting for the seller.
	PendingOrderID string    `json:"pendingOrderId,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

type topUpRequest struct {
	// Amount is in minor units of Currency, positive.
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

func viewMoney(m settle.Money) moneyView { return moneyView{Amount: m.Amount, Currency: m.Currency} }

func viewOrder(o order.Order) orderView {
	v := orderView{ID: o.ID, Type: string(o.Type), BuyerID: o.BuyerID, State: string(o.State), Amount: viewMoney(o.Amount),
		IdempotencyKey: o.IdempotencyKey, Reason: o.Reason, Lines: make([]orderLineView, len(o.Lines)),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	for i, l := range o.Lines {
		v.Lines[i] = orderLineView{ID: l.ID, SellerID: l.SellerID, ProductID: l.ProductID, SpecCode: l.SpecCode,
			Quantity: l.Quantity, Periods: l.Periods, UnitPrice: viewMoney(l.UnitPrice), Amount: viewMoney(l.Amount), InstanceID: l.InstanceID}
	}
	return v
}

func viewInstance(in order.Instance) instanceView {
	return instanceView{ID: in.ID, BuyerID: in.BuyerID, SellerID: in.SellerID, ProductID: in.ProductID, SpecCode: in.SpecCode,
		Quantity: in.Quantity, State: string(in.State), OrderID: in.OrderID, SellerInstanceID: in.SellerInstanceID,
		FrontEndURL: in.FrontEndURL, AdminURL: in.AdminURL, ExpiresAt: timeOrNil(in.ExpiresAt), ActivatedAt: timeOrNil(in.ActivatedAt),
		Kind: in.Kind, Trial: in.Trial, ReleaseAt: timeOrNil(in.ReleaseAt), PendingOrderID: in.PendingOrderID,
		CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt}
}

// enqueuer is the delivery engine the order routes enqueue calls on; a
// server configured without one cannot place orders.
func (s *Server) enqueuer() (order.Enqueuer, error) {
	if s.orders == nil {
		return nil, errors.New("api: no delivery engine configured (Config.Orders)")
	}
	return s.orders, nil
}

// writeOrder answers a placed order: 201, or 200 for the repeat of an
// earlier request with the same idempotency key.
func writeOrder(w http.ResponseWriter, o order.Order) error {
	status := http.StatusCreated
	if o.Repeated {
		status = http.StatusOK
	}
	return writeJSON(w, status, viewOrder(o))
}

func (s *Server) purchase(w http.ResponseWriter, r *http.Request) error {
	eng, err := s.enqueuer()
	if err != nil {
		return err
	}
	var req purchaseRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	o, err := order.Purchase(r.Context(), s.db, eng, actorOf(r), order.PurchaseRequest{ProductID: req.ProductID, SpecCode: req.SpecCode,
		Quantity: req.Quantity, Periods: req.Periods, Trial: req.Trial, IdempotencyKey: r.Header.Get(idempotencyHeader)})
	if err != nil {
		return err
	}
	return writeOrder(w, o)
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := order.GetOrder(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewOrder(o))
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) error {
	in, err := order.GetInstance(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewInstance(in))
}

// placeFor answers a request that places an order about instance {id}:
// it reads the JSON body into req (nil: none), calls place with the engine
// and the request's Idempotency-Key, and writes the order.
func (s *Server) placeFor(w http.ResponseWriter, r *http.Request, req any,
	place func(eng order.Enqueuer, id, key string) (order.Order, error)) error {
	eng, err := s.enqueuer()
	if err != nil {
		return err
	}
	if req != nil {
		if err := readJSON(w, r, req); err != nil {
			return err
		}
	}
	o, err := place(eng, r.PathValue("id"), r.Header.Get(idempotencyHeader))
	if err != nil {
		return err
	}
	return writeOrder(w, o)
}

func (s *Server) renewInstance(w http.ResponseWriter, r *http.Request) error {
	var req renewRequest
	return s.placeFor(w, r, &req, func(eng order.Enqueuer, id, key string) (order.Order, error) {
		return order.RenewInstance(r.Context(), s.db, eng, actorOf(r), order.RenewRequest{InstanceID: id, Periods: req.Periods, IdempotencyKey: key})
	})
}

func (s *Server) convertTrial(w http.ResponseWriter, r *http.Request) error {
	var req renewRequest
	return s.placeFor(w, r, &req, func(eng order.Enqueuer, id, key string) (order.Order, error) {
		return order.ConvertTrial(r.Context(), s.db, eng, actorOf(r), order.ConvertRequest{InstanceID: id, Periods: req.Periods, IdempotencyKey: key})
	})
}

func (s *Server) changeInstance(w http.ResponseWriter, r *http.Request) error {
	var req changeRequest
	return s.placeFor(w, r, &req, func(eng order.Enqueuer, id, key string) (order.Order, error) {
		return order.ChangeInstance(r.Context(), s.db, eng, actorOf(r), order.ChangeRequest{InstanceID: id,
			SpecCode: req.SpecCode, Quantity: req.Quantity, IdempotencyKey: key})
	})
}

func (s *Server) instanceLicenses(w http.ResponseWriter, r *http.Request) error {
	list, err := order.Licenses(r.Context(), s.db, actorOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]licenseView, len(list))
	for i, l := range list {
		out[i] = licenseView{Code: l.Code, State: string(l.State), ActivatedAt: timeOrNil(l.ActivatedAt), EffectiveAt: timeOrNil(l.EffectiveAt)}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) unsubscribeInstance(w http.ResponseWriter, r *http.Request) error {
	return s.placeFor(w, r, nil, func(eng order.Enqueuer, id, key string) (order.Order, error) {
		return order.UnsubscribeInstance(r.Context(), s.db, eng, actorOf(r), order.UnsubscribeRequest{InstanceID: id, IdempotencyKey: key})
	})
}

// myBalance answers the actor's buyer balance, one entry per currency it
// was ever used in (none for a balance never topped up).
func (s *Server) myBalance(w http.ResponseWriter, r *http.Request) error {
	ms, err := settle.Balances(r.Context(), s.db, settle.BuyerBalance(actorOf(r).UserID))
	if err != nil {
		return err
	}
	out := make([]moneyView, len(ms))
	for i, m := range ms {
		out[i] = viewMoney(m)
	}
	return writeJSON(w, http.StatusOK, out)
}

// topUp credits a buyer's balance and answers its new balance in the
// currency topped up.
func (s *Server) topUp(w http.ResponseWriter, r *http.Request) error {
	var req topUpRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	buyerID := r.PathValue("id")
	if _, _, err := settle.TopUpOnce(r.Context(), s.db, actorOf(r), buyerID, settle.M(req.Amount, req.Currency), r.Header.Get(idempotencyHeader)); err != nil {
		return err
	}
	b, err := settle.Balance(r.Context(), s.db.SQL(), settle.BuyerBalance(buyerID), req.Currency)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, moneyView{Amount: b, Currency: req.Currency})
}

// page reads ?limit= and ?before=.
func page(r *http.Request) (order.Page, error) {
	p := order.Page{Before: r.URL.Query().Get("before")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, souk.Errorf(souk.EINVALID, "limit: want a positive integer, not %q.", v)
		}
		p.Limit = n
	}
	return p, nil
}

func (s *Server) myOrders(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	list, err := order.MyOrders(r.Context(), s.db, actorOf(r), p)
	if err != nil {
		return err
	}
	out := make([]orderView, len(list))
	for i, o := range list {
		out[i] = viewOrder(o)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) myInstances(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	list, err := order.MyInstances(r.Context(), s.db, actorOf(r), p)
	if err != nil {
		return err
	}
	out := make([]instanceView, len(list))
	for i, in := range list {
		out[i] = viewInstance(in)
	}
	return writeJSON(w, http.StatusOK, out)
}
