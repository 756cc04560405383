package order

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// Type is the kind of an order (marketplace.md §4).
type Type string

const (
	New           Type = "NEW"
	Trial         Type = "TRIAL"
	TrialToFormal Type = "TRIAL_TO_FORMAL"
	Renew         Type = "RENEW"
	Change        Type = "CHANGE"
	Unsubscribe   Type = "UNSUBSCRIBE"
)

// State is where an order is.
type State string

const (
	Paid      State = "paid"      // paid; what it bought is being delivered
	Completed State = "completed" // delivered
	Failed    State = "failed"    // never delivered; refunded in full
)

// InstanceState is where an instance is.
type InstanceState string

const (
	Provisioning   InstanceState = "provisioning"
	Active         InstanceState = "active"
	Frozen         InstanceState = "frozen"
	Released       InstanceState = "released"
	InstanceFailed InstanceState = "failed"
)

// Order is one purchase (or renewal, change, …) and its lines.
type Order struct {
	ID             string
	Type           Type
	BuyerID        string
	State          State
	Amount         settle.Money
	IdempotencyKey string
	// Reason says why a failed order failed.
	Reason    string
	Lines     []Line
	CreatedAt time.Time
	UpdatedAt time.Time
	// Repeated is set when Purchase found the order of an earlier request
	// with the same idempotency key instead of placing a new one.
	Repeated bool `json:"-"`
}

// Line is one spec of an order and the instance it yields or touches.
type Line struct {
	ID         string
	SellerID   string
	ProductID  string
	SpecCode   string
	Quantity   int
	Periods    int
	UnitPrice  settle.Money
	Amount     settle.Money
	InstanceID string
	// PeriodStart and PeriodEnd are the time the line pays for; zero for
	// a line that pays for no period (ONE_TIME, ON_DEMAND, UNSUBSCRIBE).
	PeriodStart time.Time
	PeriodEnd   time.Time
}

// Instance is what a buyer bought of a SaaS spec, as provisioned by its
// seller.
type Instance struct {
	ID        string
	BuyerID   string
	SellerID  string
	ProductID string
	SpecCode  string
	Quantity  int
	State     InstanceState
	OrderID   string // the order that created it
	// SellerInstanceID, FrontEndURL and AdminURL are the seller's answer
	// to newInstance, once it has given one.
	SellerInstanceID string
	FrontEndURL      string
	AdminURL         string
	ExpiresAt        time.Time // zero: does not expire
	// Kind is "saas" (provisioned by the seller) or "license" (codes
	// issued by the marketplace).
	Kind string
	// Trial is set while the instance is a free trial, until converted.
	Trial bool
	// ReleaseAt is, for a frozen instance, the end of its grace period.
	ReleaseAt time.Time
	// PendingOrderID is the CHANGE order waiting for the seller, if any.
	PendingOrderID string
	ActivatedAt    time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Enqueuer enqueues production interface calls in a transaction:
// *delivery.Engine (which also wakes its dispatcher).
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *store.Tx, c delivery.NewCall) (int64, error)
}

// PurchaseRequest is a buyer's new purchase of one spec.
type PurchaseRequest struct {
	ProductID string
	SpecCode  string
	// Quantity is the number of units of a spec with a linear quantity;
	// 0 or 1 otherwise.
	Quantity int
	// Periods is how many months or years of a PERIOD spec (0 means 1);
	// 0 or 1 otherwise.
	Periods int
	// IdempotencyKey, when set, makes a repeat of the request by the same
	// buyer return the first order instead of buying again.
	IdempotencyKey string
	// Trial asks for the spec's free trial (a TRIAL order) instead of
	// buying it; Periods must then be 0.
	Trial bool
}

// MaxIdempotencyKey is the longest idempotency key accepted.
const MaxIdempotencyKey = 255

// Purchase places a NEW order of one spec for buyer by, in one
// transaction: the catalogue's sales controls (catalog.CheckPurchaseTx,
// with History), the price (doc.go), the debit of the buyer's balance to
// platform clearing, the order, its line, the instance (provisioning) and
// the newInstance call to the seller (policy NewPurchase). If any step
// fails nothing is kept: no money moves, no call is enqueued.
//
// A request repeating an earlier one's IdempotencyKey (same buyer) returns
// the earlier order, with Repeated set, and does nothing else — whatever
// the rest of the request says.
//
// Errors: EUNAUTHENTICATED, EUNAUTHORIZED (not a buyer, or a restricted
// product or spec), ENOTFOUND (no such listed product or spec), EINVALID
// (quantity, periods, a licence product), ECONFLICT (a delisted spec, a
// purchase limit, "Insufficient balance: …").
func Purchase(ctx context.Context, db *store.DB, eng Enqueuer, by souk.Actor, req PurchaseRequest) (Order, error) {
	if len(req.IdempotencyKey) > MaxIdempotencyKey {
		return Order{}, souk.Errorf(souk.EINVALID, "Idempotency-Key: at most %d characters.", MaxIdempotencyKey)
	}
	req, v, err := checkPurchase(ctx, db, by, req)
	if err != nil {
		return Order{}, err
	}
	if o, found, err := repeatOf(ctx, db, by.UserID, req.IdempotencyKey); err != nil || found {
		return o, err
	}
	var orderID string
	return placeOnce(ctx, db, by.UserID, req.IdempotencyKey, &orderID, func(tx *store.Tx) error {
		q, err := quotePurchase(ctx, tx, by, v, req)
		if err != nil {
			return err
		}
		orderID, err = placeNew(ctx, tx, eng, by.UserID, v, req, q)
		return err
	})
}

// checkPurchase checks a purchase request of by and reads its listed
// product — before any transaction, as the catalogue reads; the
// transaction checks again (quotePurchase).
func checkPurchase(ctx context.Context, db *store.DB, by souk.Actor, req PurchaseRequest) (PurchaseRequest, catalog.ProductView, error) {
	if err := requireBuyer(by, "buy"); err != nil {
		return req, catalog.ProductView{}, err
	}
	req.ProductID, req.SpecCode = strings.TrimSpace(req.ProductID), strings.TrimSpace(req.SpecCode)
	switch {
	case req.ProductID == "":
		return req, catalog.ProductView{}, souk.Errorf(souk.EINVALID, "productId: is required.")
	case req.SpecCode == "":
		return req, catalog.ProductView{}, souk.Errorf(souk.EINVALID, "specCode: is required.")
	case req.Quantity < 0:
		return req, catalog.ProductView{}, souk.Errorf(souk.EINVALID, "quantity: must not be negative.")
	case req.Periods < 0:
		return req, catalog.ProductView{}, souk.Errorf(souk.EINVALID, "periods: must not be negative.")
	}
	v, err := catalog.GetProduct(ctx, db, by, req.ProductID)
	if err != nil {
		return req, catalog.ProductView{}, err
	}
	if v.Listed == nil {
		return req, catalog.ProductView{}, souk.Errorf(souk.ENOTFOUND, "Product %s not found.", req.ProductID)
	}
	return req, v, nil
}

// quotePurchase checks, in tx, the catalogue's sales controls for req
// (with the buyer's purchase history) and prices it: the price rule, or
// the free trial.
func quotePurchase(ctx context.Context, tx *store.Tx, by souk.Actor, v catalog.ProductView, req PurchaseRequest) (quote, error) {
	if err := catalog.CheckPurchaseTx(ctx, tx, by, req.ProductID, req.SpecCode, catalog.PurchaseCheck{
		Quantity: req.Quantity, Trial: req.Trial, History: History(tx, tx.Now)}); err != nil {
		return quote{}, err
	}
	spec, ok := v.Listed.Spec(req.SpecCode)
	if !ok {
		return quote{}, souk.Errorf(souk.ECONFLICT, "Product %s changed while you were buying; please try again.", req.ProductID)
	}
	if req.Trial {
		return trialQuote(spec, req.Quantity, req.Periods, tx.Now)
	}
	return price(spec, req.Quantity, req.Periods, tx.Now)
}

// placeNew writes a NEW (or TRIAL) order whose price q was quoted, with
// its instance, and starts the instance's life: for a SaaS product the
// newInstance call; for a licence product its codes, one per unit, and an
// instance active at once (the seller learns of them when its software
// activates one).
func placeNew(ctx context.Context, tx *store.Tx, eng Enqueuer, buyerID string, v catalog.ProductView, req PurchaseRequest, q quote) (string, error) {
	typ, kind := New, kindOf(v.Listed.Type)
	if req.Trial {
		typ = Trial
	}
	instID := newID("inst-", tx.Now)
	r := record{typ: typ, buyerID: buyerID, state: Paid, idempotencyKey: req.IdempotencyKey, amount: q.total, pay: q.total,
		memo: fmt.Sprintf("%s %s × %d × %d", req.ProductID, req.SpecCode, q.units, q.periods),
		line: lineRecord{sellerID: v.SellerID, productID: req.ProductID, specCode: req.SpecCode, units: q.units, periods: q.periods,
			unit: q.unit, amount: q.total, instanceID: instID}}
	if !q.expires.IsZero() && !req.Trial {
		r.line.start, r.line.end = tx.Now, q.expires
	}
	state := Provisioning
	if kind == kindLicense {
		r.state, state = Completed, Active
	}
	orderID, lineID, err := r.write(ctx, tx)
	if err != nil {
		return "", err
	}
	now := store.Millis(tx.Now)
	var expires, activated any
	if !q.expires.IsZero() {
		expires = store.Millis(q.expires)
	}
	if state == Active {
		activated = now
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO order_instances
		(id, buyer_id, seller_id, product_id, spec_code, quantity, state, order_id, expires_at, activated_at, kind, trial, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
		instID, buyerID, v.SellerID, req.ProductID, req.SpecCode, q.units, string(state), orderID, expires, activated, kind, boolInt(req.Trial), now); err != nil {
		return "", fmt.Errorf("insert instance: %w", err)
	}
	if kind == kindLicense {
		return orderID, issueLicenses(ctx, tx, Instance{ID: instID, SellerID: v.SellerID, ProductID: req.ProductID}, q.units)
	}
	_, err = eng.Enqueue(ctx, tx, delivery.NewCall{
		SellerID: v.SellerID, ProductID: req.ProductID, Key: instID, Policy: delivery.NewPurchase,
		Request: &protocol.NewInstanceRequest{BusinessID: newID("biz-", tx.Now), OrderID: orderID, OrderLineID: lineID},
	})
	return orderID, err
}

// GetOrder returns order id with its lines. A buyer sees their own orders,
// an operator every order; anyone else gets ENOTFOUND, as for a missing one.
func GetOrder(ctx context.Context, db *store.DB, by souk.Actor, id string) (Order, error) {
	if by.UserID == "" {
		return Order{}, souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to see orders.")
	}
	o, err := loadOrder(ctx, db.SQL(), id)
	if err != nil {
		return Order{}, err
	}
	if !by.IsOperator() && o.BuyerID != by.UserID {
		return Order{}, souk.Errorf(souk.ENOTFOUND, "Order %s not found.", id)
	}
	return o, nil
}

// GetInstance returns instance id, to its buyer or an operator (ENOTFOUND
// for anyone else).
func GetInstance(ctx context.Context, db *store.DB, by souk.Actor, id string) (Instance, error) {
	if by.UserID == "" {
		return Instance{}, souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to see instances.")
	}
	in, err := loadInstance(ctx, db.SQL(), id)
	if err != nil {
		return Instance{}, err
	}
	if !by.IsOperator() && in.BuyerID != by.UserID {
		return Instance{}, souk.Errorf(souk.ENOTFOUND, "Instance %s not found.", id)
	}
	return in, nil
}

type rowsQuerier interface {
	Querier
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func byKey(ctx context.Context, q rowsQuerier, buyerID, key string) (Order, bool, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM orders WHERE buyer_id = $1 AND idempotency_key = $2`, buyerID, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, false, nil
	} else if err != nil {
		return Order{}, false, err
	}
	o, err := loadOrder(ctx, q, id)
	o.Repeated = true
	return o, err == nil, err
}

func loadOrder(ctx context.Context, q rowsQuerier, id string) (Order, error) {
	var o Order
	var key sql.NullString
	var created, updated int64
	err := q.QueryRowContext(ctx, `SELECT id, type, buyer_id, state, amount, currency, idempotency_key, reason, created_at, updated_at
		FROM orders WHERE id = $1`, id).Scan(&o.ID, &o.Type, &o.BuyerID, &o.State, &o.Amount.Amount, &o.Amount.Currency,
		&key, &o.Reason, &created, &updated)
	if err != nil {
		return Order{}, store.NotFound(err, "Order %s not found.", id)
	}
	o.IdempotencyKey, o.CreatedAt, o.UpdatedAt = key.String, store.FromMillis(created), store.FromMillis(updated)
	rows, err := q.QueryContext(ctx, `SELECT id, seller_id, product_id, spec_code, quantity, periods, unit_price, amount, currency, instance_id,
		period_start, period_end FROM order_lines WHERE order_id = $1 ORDER BY id`, id)
	if err != nil {
		return Order{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var l Line
		var start, end sql.NullInt64
		if err := rows.Scan(&l.ID, &l.SellerID, &l.ProductID, &l.SpecCode, &l.Quantity, &l.Periods,
			&l.UnitPrice.Amount, &l.Amount.Amount, &l.Amount.Currency, &l.InstanceID, &start, &end); err != nil {
			return Order{}, err
		}
		if start.Valid && end.Valid {
			l.PeriodStart, l.PeriodEnd = store.FromMillis(start.Int64), store.FromMillis(end.Int64)
		}
		l.UnitPrice.Currency = l.Amount.Currency
		o.Lines = append(o.Lines, l)
	}
	return o, rows.Err()
}

func loadInstance(ctx context.Context, q Querier, id string) (Instance, error) {
	return scanInstance(ctx, q, id, "")
}

// lockInstance loads instance id in tx and locks its row until tx ends:
// every transaction that decides from an instance's state and then changes
// it or moves money for it takes this lock first, so two of them (two
// unsubscriptions, a renewal and the sweep's release, a change and a
// renewal) run one after the other, the second seeing what the first
// did. (On SQLite a write transaction holds the whole database already.)
func lockInstance(ctx context.Context, tx *store.Tx, id string) (Instance, error) {
	if tx.Engine == store.SQLite {
		return scanInstance(ctx, tx, id, "")
	}
	return scanInstance(ctx, tx, id, " FOR UPDATE")
}

func scanInstance(ctx context.Context, q Querier, id, lock string) (Instance, error) {
	var in Instance
	var expires, activated, releaseAt sql.NullInt64
	var pending sql.NullString
	var created, updated int64
	err := q.QueryRowContext(ctx, `SELECT id, buyer_id, seller_id, product_id, spec_code, quantity, state, order_id,
		seller_instance_id, front_end_url, admin_url, expires_at, activated_at, kind, trial, release_at, pending_order_id, created_at, updated_at
		FROM order_instances WHERE id = $1`+lock, id).Scan(&in.ID, &in.BuyerID, &in.SellerID, &in.ProductID, &in.SpecCode,
		&in.Quantity, &in.State, &in.OrderID, &in.SellerInstanceID, &in.FrontEndURL, &in.AdminURL, &expires, &activated,
		&in.Kind, &in.Trial, &releaseAt, &pending, &created, &updated)
	if err != nil {
		return Instance{}, store.NotFound(err, "Instance %s not found.", id)
	}
	if releaseAt.Valid {
		in.ReleaseAt = store.FromMillis(releaseAt.Int64)
	}
	in.PendingOrderID = pending.String
	if expires.Valid {
		in.ExpiresAt = store.FromMillis(expires.Int64)
	}
	if activated.Valid {
		in.ActivatedAt = store.FromMillis(activated.Int64)
	}
	in.CreatedAt, in.UpdatedAt = store.FromMillis(created), store.FromMillis(updated)
	return in, nil
}

// newID returns a new id: the prefix, the time in milliseconds and random
// bits, in hex, so that ids sort by creation and cannot be guessed.
func newID(prefix string, now time.Time) string {
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("%s%012x%s", prefix, now.UnixMilli(), hex.EncodeToString(b))
}

// The kinds of instance.
const (
	kindSaaS    = "saas"
	kindLicense = "license"
)

func kindOf(t catalog.ProductType) string {
	if t == catalog.License {
		return kindLicense
	}
	return kindSaaS
}

// boolInt is b as the 0 or 1 of an INTEGER column.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isNotFound(err error) bool { return souk.ErrorCode(err) == souk.ENOTFOUND }

// requireBuyer is the rule that only a signed-in buyer account may do what
// verb says (buy, renew, unsubscribe, list its orders).
func requireBuyer(by souk.Actor, verb string) error {
	if by.UserID == "" {
		return souk.Errorf(souk.EUNAUTHENTICATED, "Sign in to %s.", verb)
	}
	if by.Role != souk.RoleBuyer {
		return souk.Errorf(souk.EUNAUTHORIZED, "Only buyer accounts can %s.", verb)
	}
	return nil
}
