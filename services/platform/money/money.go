// Package money holds the rules for amounts: integer minor units, ISO 4217
// currencies with their exponents from golang.org/x/text/currency (JPY has no
// decimals, KWD three), the tax rounding rule, and display formatting.
package money

import (
	"fmt"
	"strings"

	"golang.org/x/text/currency"
)

// MaxAmount is the largest total a session may have, in minor units: ten
// digits before the decimals of a two-decimal currency. Line-item products and
// sums stay far below the int64 limit under the API's item and quantity caps.
const MaxAmount = 99_999_999_999

// Currency is a validated ISO 4217 currency that payments can be taken in.
type Currency struct {
	code     string
	exponent int
	// unit is x/text's data for the currency, used for its symbol; nil
	// when x/text does not know the code or rounds it to other digits than
	// ISO's minor unit (it shows IDR without decimals), where Format shows
	// the code instead.
	unit *currency.Unit
}

// ParseCurrency accepts an ISO 4217 code in any case, if payments can be
// taken in it: test, metal, fund and SDR codes and withdrawn currencies are
// refused (see payable).
func ParseCurrency(code string) (Currency, error) {
	if len(code) != 3 {
		return Currency{}, fmt.Errorf("%q is not a three-letter ISO 4217 currency code", code)
	}
	upper := strings.ToUpper(code)
	c, ok := currencies[upper]
	if !ok {
		if _, err := currency.ParseISO(upper); err == nil {
			return Currency{}, fmt.Errorf("%q is not a currency payments can be made in (test, metal, fund and withdrawn codes are refused)", code)
		}
		return Currency{}, fmt.Errorf("%q is not an ISO 4217 currency code", code)
	}
	return c, nil
}

// currencies are the payable currencies, built once: ParseCurrency runs on
// every session creation and payment.
var currencies = func() map[string]Currency {
	m := make(map[string]Currency, len(payable))
	for code, exp := range payable {
		c := Currency{code: code, exponent: exp}
		if u, err := currency.ParseISO(code); err == nil {
			if scale, _ := currency.Standard.Rounding(u); scale == exp {
				c.unit = &u
			}
		}
		m[code] = c
	}
	return m
}()

// Code is the upper-case ISO 4217 code.
func (c Currency) Code() string { return c.code }

// Exponent is the number of minor-unit digits (2 for EUR, 0 for JPY).
func (c Currency) Exponent() int { return c.exponent }

// bpsDenominator: rates are in basis points, 10,000 to the whole.
const bpsDenominator = 10_000

// ExclusiveTax is the tax added on top of amount at rate bps, rounded half up
// to the minor unit. Rounding rule (stated once, used everywhere): each rate
// applies to the subtotal as a whole, not per line, and halves round up.
func ExclusiveTax(amount, bps int64) int64 {
	return Rate(amount, bps)
}

// Rate is bps basis points of amount (≥ 0), rounded half up to the minor
// unit: the rounding rule of taxes and fees.
func Rate(amount, bps int64) int64 {
	return (amount*bps + bpsDenominator/2) / bpsDenominator
}

// InclusiveTax is the part of amount that is tax when amount already includes
// it at rate bps: amount − amount/(1+rate), rounded half up.
func InclusiveTax(amount, bps int64) int64 {
	net := (amount*bpsDenominator + (bpsDenominator+bps)/2) / (bpsDenominator + bps)
	return amount - net
}
