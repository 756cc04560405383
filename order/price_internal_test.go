package order

import (
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/catalog"
)

func TestAddMonthsClampsToTheMonthsEnd(t *testing.T) {
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 30, 0, 0, time.UTC) }
	for _, c := range []struct {
		from time.Time
		n    int
		want time.Time
	}{
		{at(2026, 1, 31), 1, at(2026, 2, 28)},
		{at(2028, 1, 31), 1, at(2028, 2, 29)},
		{at(2026, 12, 1), 3, at(2027, 3, 1)},
		{at(2026, 3, 31), 1, at(2026, 4, 30)},
		{at(2026, 8, 31), 6, at(2027, 2, 28)},
		{at(2028, 2, 29), 12, at(2029, 2, 28)},
		{at(2026, 5, 15), 120, at(2036, 5, 15)},
	} {
		if got := addMonths(c.from, c.n); !got.Equal(c.want) {
			t.Errorf("addMonths(%v, %d) = %v, want %v", c.from, c.n, got, c.want)
		}
	}
}

func TestPriceRefusesOverflow(t *testing.T) {
	spec := catalog.Spec{Code: "x", Charging: catalog.ChargePeriod, Period: catalog.Month,
		Price: catalog.Price{Amount: 1 << 60, Currency: "CNY"}}
	if _, err := price(spec, 0, 12, time.Now()); souk.ErrorCode(err) != souk.EINVALID {
		t.Fatalf("price() of an overflowing total = %v, want EINVALID", err)
	}
	spec.Charging, spec.Period = catalog.ChargeOnDemand, ""
	q, err := price(spec, 0, 0, time.Now())
	if err != nil || q.total.Amount != 0 || !q.expires.IsZero() {
		t.Fatalf("price() of an on-demand spec = %+v, %v; want 0, no expiry", q, err)
	}
}
