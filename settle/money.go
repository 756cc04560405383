package settle

import (
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/souk-market/souk"
)

// Money is an exact amount: integer minor units (fen, cents) of an ISO 4217
// currency. It is never a float.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// M returns amount minor units of currency.
func M(amount int64, currency string) Money { return Money{Amount: amount, Currency: currency} }

// zeroDecimalCurrencies have no minor unit; every other currency is shown
// with two decimals.
var zeroDecimalCurrencies = map[string]bool{"JPY": true, "KRW": true, "VND": true, "CLP": true, "ISK": true}

// String shows m for a person: "99.00 CNY", "-0.05 USD", "500 JPY".
func (m Money) String() string {
	if zeroDecimalCurrencies[m.Currency] {
		return fmt.Sprintf("%d %s", m.Amount, m.Currency)
	}
	sign, a := "", m.Amount
	if a < 0 {
		sign = "-"
	}
	u := uint64(a)
	if a < 0 {
		u = uint64(-(a + 1)) + 1 // also right for math.MinInt64
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, u/100, u%100, m.Currency)
}

// ValidCurrency reports whether c looks like an ISO 4217 code: three
// upper-case letters.
func ValidCurrency(c string) bool {
	return len(c) == 3 && strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

// MulAmount returns a × n exactly, or EINVALID if the product does not fit
// in int64 (or a or n is negative): prices are multiplied by quantities and
// periods, never rounded.
func MulAmount(a int64, n int64) (int64, error) {
	if a < 0 || n < 0 {
		return 0, souk.Errorf(souk.EINVALID, "Amounts and multipliers must not be negative.")
	}
	hi, lo := bits.Mul64(uint64(a), uint64(n))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, souk.Errorf(souk.EINVALID, "The amount is too large.")
	}
	return int64(lo), nil
}

// addAmount returns a + b, or false if it overflows.
func addAmount(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}
