package order

import (
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/settle"
)

// MaxPeriods is the most periods one order buys: ten years of a monthly
// spec (120 months) or of a yearly one (10 years).
var MaxPeriods = map[string]int{catalog.Month: 120, catalog.Year: 10}

// quote is what a purchase costs and how long it lasts.
type quote struct {
	units, periods int
	unit           settle.Money // the spec's price
	total          settle.Money
	expires        time.Time // zero: does not expire
}

// price applies the price rule (doc.go, "Price and expiry") to spec.
func price(spec catalog.Spec, quantity, periods int, now time.Time) (quote, error) {
	q := quote{units: 1, periods: 1, unit: settle.M(spec.Price.Amount, spec.Price.Currency)}
	if spec.Quantity != nil {
		q.units = quantity // catalog.CheckPurchaseTx checked it against the spec
	}
	switch spec.Charging {
	case catalog.ChargePeriod:
		if periods == 0 {
			periods = 1
		}
		max := MaxPeriods[spec.Period]
		if periods < 1 || periods > max {
			return quote{}, souk.Errorf(souk.EINVALID, "periods: spec %s is sold for 1 to %d %ss, not %d.", spec.Code, max, spec.Period, periods)
		}
		q.periods = periods
		months := periods
		if spec.Period == catalog.Year {
			months = 12 * periods
		}
		q.expires = addMonths(now, months)
	default:
		if periods != 0 && periods != 1 {
			return quote{}, souk.Errorf(souk.EINVALID, "periods: spec %s is not sold by period.", spec.Code)
		}
	}
	amount := int64(0)
	if spec.Charging != catalog.ChargeOnDemand {
		var err error
		if amount, err = settle.MulAmount(spec.Price.Amount, int64(q.units)); err != nil {
			return quote{}, err
		}
		if amount, err = settle.MulAmount(amount, int64(q.periods)); err != nil {
			return quote{}, err
		}
	}
	q.total = settle.M(amount, spec.Price.Currency)
	return q, nil
}

// addMonths returns t plus n calendar months, the day clamped to the end of
// a shorter month: 31 January + 1 month is 28 (or 29) February, not 3 March.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// trialQuote is the quote of a free trial of spec: nothing to pay, for the
// spec's trial days from now (catalog.CheckPurchaseTx checked that it has
// a trial); the units as for a purchase.
func trialQuote(spec catalog.Spec, quantity, periods int, now time.Time) (quote, error) {
	if periods != 0 {
		return quote{}, souk.Errorf(souk.EINVALID, "periods: a trial lasts the spec's %d days; do not give periods.", spec.TrialDays)
	}
	q := quote{units: 1, periods: 1, unit: settle.M(spec.Price.Amount, spec.Price.Currency), total: settle.M(0, spec.Price.Currency),
		expires: now.AddDate(0, 0, spec.TrialDays)}
	if spec.Quantity != nil {
		q.units = quantity
	}
	return q, nil
}
