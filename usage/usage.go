package usage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
)

// MaxRecords is the most records one push may carry (protocol.md §6).
const MaxRecords = 1000

// MaxIDLength caps an instance id and a metering_sn.
const MaxIDLength = 64

// Skew is how far in the future a record's end may lie: the open API's
// clock window.
const Skew = 60 * time.Second

// Quantity is an amount of use in ten-thousandths of a unit: usage_value
// 1.5 is Quantity 15000. It is exact; never a float.
type Quantity int64

// QuantityScale is the number of Quantity in one unit of use.
const QuantityScale = 10_000

// MaxQuantity is the largest usage value accepted, 99,999,999.9999.
const MaxQuantity Quantity = 99_999_999_9999

// String writes q as a decimal with the decimals it needs: "1.5", "3".
func (q Quantity) String() string {
	s := fmt.Sprintf("%d.%04d", q/QuantityScale, q%QuantityScale)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// ParseQuantity parses a usage value: digits, optionally a point and 1 to
// 4 more digits, greater than zero and at most MaxQuantity. No sign, no
// exponent, no spaces: the text is the value, exactly.
func ParseQuantity(s string) (Quantity, error) {
	intPart, frac, hasPoint := strings.Cut(s, ".")
	switch {
	case s == "":
		return 0, errors.New("is required")
	case intPart == "" || !digits(intPart) || hasPoint && (frac == "" || !digits(frac)):
		return 0, fmt.Errorf("%.30q is not a decimal number (digits, optionally a point and up to 4 decimals)", s)
	case len(frac) > 4:
		return 0, fmt.Errorf("%.30q has more than 4 decimals", s)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > 8 {
		return 0, fmt.Errorf("%.30q is too large: at most %s", s, MaxQuantity)
	}
	var q int64
	for _, c := range intPart {
		q = q*10 + int64(c-'0')
	}
	frac += strings.Repeat("0", 4-len(frac))
	for _, c := range frac {
		q = q*10 + int64(c-'0')
	}
	if q == 0 {
		return 0, fmt.Errorf("%.30q: must be greater than 0", s)
	}
	return Quantity(q), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// Charge rates q units of use at price minor units per unit (doc.go):
// round_half_up(price × q ÷ 10000), exactly. It returns EINVALID for a
// negative price or a charge beyond int64.
func Charge(price int64, q Quantity) (int64, error) {
	if price < 0 || q < 0 {
		return 0, souk.Errorf(souk.EINVALID, "A price and a quantity of use must not be negative.")
	}
	n := new(big.Int).Mul(big.NewInt(price), big.NewInt(int64(q)))
	n.Add(n, big.NewInt(QuantityScale/2))
	n.Quo(n, big.NewInt(QuantityScale))
	if !n.IsInt64() {
		return 0, souk.Errorf(souk.EINVALID, "The charge of %s units at %d is too large.", q, price)
	}
	return n.Int64(), nil
}

// Record is one usage record of a push.
type Record struct {
	// InstanceID names the instance as the seller knows it (its
	// newInstance instanceId) or by the marketplace's id.
	InstanceID string
	// MeteringSN is the seller's unique id of the record.
	MeteringSN string
	// Begin and End are the metered period; Recorded when the seller
	// recorded it (zero: not said).
	Begin, End, Recorded time.Time
	Quantity             Quantity
}

// Outcome is what became of one record of a push.
type Outcome struct {
	MeteringSN string
	// InstanceID is the marketplace's id of the record's instance.
	InstanceID string
	// Duplicate is set when the metering_sn was pushed before: nothing was
	// stored or charged.
	Duplicate bool
	// Charge is the record's charge (zero for a duplicate), in Currency.
	Charge   int64
	Currency string
}

// Rates are the specs of a seller's products, read from the catalogue
// before the push's transaction (the catalogue reads outside one), by
// product id and spec code.
type Rates map[[2]string]catalog.Spec

// SellerRates reads the specs of every product of seller sellerID, as
// listed.
func SellerRates(ctx context.Context, db *store.DB, sellerID string) (Rates, error) {
	as := souk.Actor{UserID: "usage:" + sellerID, Role: souk.RoleSeller, SellerID: sellerID}
	ps, err := catalog.MyProducts(ctx, db, as)
	if err != nil {
		return nil, fmt.Errorf("rates of seller %s: %w", sellerID, err)
	}
	r := Rates{}
	for _, p := range ps {
		if p.Listed == nil {
			continue
		}
		for _, s := range p.Listed.Specs {
			r[[2]string{p.ID, s.Code}] = s
		}
	}
	return r, nil
}

// instance is what a push needs of an instance.
type instance struct {
	id, buyerID, productID, specCode, state string
	created                                 time.Time
	// released is when a released instance ended (the buyer unsubscribed):
	// no usage after it is the buyer's.
	released time.Time
	spec     catalog.Spec
}

// Push stores the records pushed by seller sellerID, in tx, rated with
// rates (SellerRates), and returns each one's outcome in order. It refuses
// the whole batch — EINVALID naming the first record at fault — for no
// record or more than MaxRecords, a missing or too long instance id or
// metering_sn, a value that is not > 0 with at most 4 decimals, begin not
// before end, an end in the future, usage before the instance was created,
// or an instance that is not a pay-per-use instance of the seller's
// (another seller's is not found, as a missing one). The caller's
// transaction must then roll back; Push has written nothing before it
// checked every record.
func Push(ctx context.Context, tx *store.Tx, sellerID string, rates Rates, recs []Record) ([]Outcome, error) {
	switch {
	case len(recs) == 0:
		return nil, souk.Errorf(souk.EINVALID, "usage_records: at least one record is required.")
	case len(recs) > MaxRecords:
		return nil, souk.Errorf(souk.EINVALID, "usage_records: %d records, at most %d a push.", len(recs), MaxRecords)
	}
	instances := map[string]*instance{}
	resolved := make([]*instance, len(recs))
	charges := make([]int64, len(recs))
	for i, r := range recs {
		bad := func(format string, args ...any) error {
			return souk.Errorf(souk.EINVALID, "usage_records[%d] (metering_sn %.64q): %s The batch was refused; nothing was stored.", i, r.MeteringSN, fmt.Sprintf(format, args...))
		}
		switch {
		case strings.TrimSpace(r.MeteringSN) == "":
			return nil, bad("metering_sn is required.")
		case len(r.MeteringSN) > MaxIDLength:
			return nil, bad("metering_sn is longer than %d characters.", MaxIDLength)
		case strings.TrimSpace(r.InstanceID) == "":
			return nil, bad("instance_id is required.")
		case len(r.InstanceID) > MaxIDLength:
			return nil, bad("instance_id is longer than %d characters.", MaxIDLength)
		case r.Quantity <= 0 || r.Quantity > MaxQuantity:
			return nil, bad("usage_value must be greater than 0 and at most %s.", MaxQuantity)
		case r.Begin.IsZero() || r.End.IsZero():
			return nil, bad("begin_time and end_time are required.")
		case !r.Begin.Before(r.End):
			return nil, bad("begin_time %s is not before end_time %s.", r.Begin.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339))
		case r.End.After(tx.Now.Add(Skew)):
			return nil, bad("end_time %s is in the future.", r.End.UTC().Format(time.RFC3339))
		}
		in, ok := instances[r.InstanceID]
		if !ok {
			var err error
			if in, err = resolve(ctx, tx, sellerID, r.InstanceID, rates); err != nil {
				var e *souk.Error
				if errors.As(err, &e) {
					return nil, bad("%s", e.Message)
				}
				return nil, err
			}
			instances[r.InstanceID] = in
		}
		if !in.released.IsZero() && r.End.After(in.released) {
			return nil, bad("end_time %s is after instance %s was released (%s): usage after that is not the buyer's.",
				r.End.UTC().Format(time.RFC3339), r.InstanceID, in.released.UTC().Format(time.RFC3339))
		}
		if r.Begin.Before(in.created.Truncate(time.Second)) {
			return nil, bad("begin_time %s is before instance %s was created (%s).", r.Begin.UTC().Format(time.RFC3339), r.InstanceID, in.created.Format(time.RFC3339))
		}
		c, err := Charge(in.spec.Price.Amount, r.Quantity)
		if err != nil {
			return nil, bad("%s", souk.ErrorMessage(err))
		}
		resolved[i], charges[i] = in, c
	}

	now := store.Millis(tx.Now)
	out := make([]Outcome, len(recs))
	for i, r := range recs {
		in := resolved[i]
		var recorded any
		if !r.Recorded.IsZero() {
			recorded = store.Millis(r.Recorded)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO usage_records (seller_id, metering_sn, instance_id, buyer_id, product_id, spec_code,
			begin_at, end_at, recorded_at, quantity, unit_price, currency, charge, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (seller_id, metering_sn) DO NOTHING`,
			sellerID, r.MeteringSN, in.id, in.buyerID, in.productID, in.specCode, store.Millis(r.Begin), store.Millis(r.End), recorded,
			int64(r.Quantity), in.spec.Price.Amount, in.spec.Price.Currency, charges[i], now)
		if err != nil {
			return nil, fmt.Errorf("store usage record %s: %w", r.MeteringSN, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		out[i] = Outcome{MeteringSN: r.MeteringSN, InstanceID: in.id, Duplicate: n == 0, Currency: in.spec.Price.Currency}
		if n == 1 {
			out[i].Charge = charges[i]
		}
	}
	return out, nil
}

// resolve finds the pay-per-use instance of seller sellerID that id names:
// its seller instance id or, failing that, the marketplace's id.
func resolve(ctx context.Context, tx *store.Tx, sellerID, id string, rates Rates) (*instance, error) {
	// FOR SHARE on PostgreSQL: an unsubscription (which locks the row to
	// release it) waits for the push, or the push sees its release — never
	// a record after a release that committed meanwhile. (An SQLite write
	// transaction holds the database already.)
	lock := ""
	if tx.Engine == store.Postgres {
		lock = " FOR SHARE"
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, buyer_id, product_id, spec_code, state, created_at, seller_instance_id = $2,
		COALESCE(unsubscribed_at, updated_at)
		FROM order_instances WHERE seller_id = $1 AND (seller_instance_id = $2 OR id = $2)`+lock, sellerID, id)
	if err != nil {
		return nil, fmt.Errorf("find instance %s: %w", id, err)
	}
	defer rows.Close()
	var bySeller, byMarket []*instance
	for rows.Next() {
		var in instance
		var created, ended int64
		var sellers bool
		if err := rows.Scan(&in.id, &in.buyerID, &in.productID, &in.specCode, &in.state, &created, &sellers, &ended); err != nil {
			return nil, fmt.Errorf("find instance %s: %w", id, err)
		}
		in.created = store.FromMillis(created)
		if in.state == "released" {
			in.released = store.FromMillis(ended)
		}
		if sellers {
			bySeller = append(bySeller, &in)
		} else {
			byMarket = append(byMarket, &in)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find instance %s: %w", id, err)
	}
	var in *instance
	switch {
	case len(bySeller) == 1:
		in = bySeller[0]
	case len(bySeller) > 1:
		return nil, souk.Errorf(souk.EINVALID, "instance_id %s names %d of your instances; send the marketplace's instance id instead.", id, len(bySeller))
	case len(byMarket) == 1:
		in = byMarket[0]
	default:
		return nil, souk.Errorf(souk.ENOTFOUND, "instance %s is not an instance of yours.", id)
	}
	spec, ok := rates[[2]string{in.productID, in.specCode}]
	if !ok || spec.Charging != catalog.ChargeOnDemand {
		mode := "unknown"
		if ok {
			mode = string(spec.Charging)
		}
		return nil, souk.Errorf(souk.EINVALID, "instance %s is not pay-per-use (spec %s is charged %s); usage is only for ON_DEMAND specs.", id, in.specCode, mode)
	}
	switch in.state {
	case "active", "frozen", "released":
	default:
		return nil, souk.Errorf(souk.EINVALID, "instance %s is %s; usage is accepted once it is active.", id, in.state)
	}
	in.spec = spec
	return in, nil
}

// Owed is a record's charge not yet billed.
type Owed struct {
	ID         int64
	MeteringSN string
	InstanceID string
	BuyerID    string
	Charge     int64
	Currency   string
	Failures   int
	Error      string
}

// OwedBy returns the charges of buyerID not yet billed, oldest first (at
// most 1000).
func OwedBy(ctx context.Context, db *store.DB, buyerID string) ([]Owed, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT id, metering_sn, instance_id, buyer_id, charge, currency, bill_failures, bill_error
		FROM usage_records WHERE buyer_id = $1 AND billed_at IS NULL ORDER BY id LIMIT 1000`, buyerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Owed
	for rows.Next() {
		var o Owed
		if err := rows.Scan(&o.ID, &o.MeteringSN, &o.InstanceID, &o.BuyerID, &o.Charge, &o.Currency, &o.Failures, &o.Error); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// checkedAdd adds b to a, reporting overflow.
func checkedAdd(a, b int64) (int64, bool) {
	if b > 0 && a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}

// OwedTotals returns what buyerID owes for usage not yet billed, one
// amount per currency: charges waiting for the next Bill, or for a
// balance that covers them.
func OwedTotals(ctx context.Context, db *store.DB, buyerID string) ([]settle.Money, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT currency, CAST(SUM(charge) AS BIGINT) FROM usage_records
		WHERE buyer_id = $1 AND billed_at IS NULL GROUP BY currency HAVING SUM(charge) > 0 ORDER BY currency`, buyerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []settle.Money
	for rows.Next() {
		var m settle.Money
		if err := rows.Scan(&m.Currency, &m.Amount); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
