package stripe

import (
	"fmt"
	"strings"

	"github.com/tillpoint/tillpoint/services/platform/money"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// stripeExponent is where Stripe counts a currency in other units than ISO
// 4217's minor unit (which our amounts use). Stripe's "special cases":
//   - ISK: ISO gives it no decimals, but Stripe kept it two-decimal for
//     backwards compatibility and only takes whole krónur, so 5 ISK is 500.
//   - MGA: ISO gives it two decimals; Stripe treats it as zero-decimal.
//
// Other special cases need no conversion here: HUF and TWD are two-decimal
// for charges (Stripe's zero-decimal rule for them is about payouts), and
// Stripe's other zero-decimal currencies (JPY, KRW, CLP, XOF, UGX, …) have no
// decimals in ISO either. Three-decimal currencies keep their exponent but
// Stripe requires the last digit to be 0 (see threeDecimal).
var stripeExponent = map[string]int{"ISK": 2, "MGA": 0}

// threeDecimal are the three-decimal currencies Stripe takes: it requires
// amounts in them to be multiples of 10, to stay compatible with its
// partners.
var threeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}

// toStripe converts amount (our minor units of code) to Stripe's units and
// returns the lower-case currency Stripe expects.
func toStripe(amount int64, code string) (int64, string, error) {
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return 0, "", fmt.Errorf("%w: currency: %v", provider.ErrInvalidRequest, err)
	}
	if amount <= 0 || amount > money.MaxAmount {
		return 0, "", fmt.Errorf("%w: amount must be between 1 and %d, got %d", provider.ErrInvalidRequest, money.MaxAmount, amount)
	}
	c := cur.Code()
	if threeDecimal[c] && amount%10 != 0 {
		return 0, "", fmt.Errorf("%w: Stripe takes %s amounts in multiples of 10 (got %d)", provider.ErrInvalidRequest, c, amount)
	}
	out, ok := rescale(amount, cur.Exponent(), exponentAtStripe(cur))
	if !ok {
		return 0, "", fmt.Errorf("%w: Stripe takes only whole units of %s (got %d minor units)", provider.ErrInvalidRequest, c, amount)
	}
	return out, strings.ToLower(c), nil
}

// maxStripeAmount bounds amounts read from Stripe (far above any real one:
// Stripe takes at most twelve digits), so that rescaling cannot overflow.
const maxStripeAmount = 1_000_000_000_000_000

// fromStripe converts an amount in Stripe's units of currency (any case)
// to our minor units and the upper-case ISO code.
func fromStripe(amount int64, currency string) (int64, string, error) {
	cur, err := money.ParseCurrency(currency)
	if err != nil {
		return 0, "", err
	}
	if amount < 0 || amount > maxStripeAmount {
		return 0, "", fmt.Errorf("amount %d is out of range", amount)
	}
	out, ok := rescale(amount, exponentAtStripe(cur), cur.Exponent())
	if !ok {
		return 0, "", fmt.Errorf("%d in Stripe's units of %s is not a whole number of minor units", amount, cur.Code())
	}
	return out, cur.Code(), nil
}

// exponentAtStripe is the number of decimals Stripe's amounts have in cur.
func exponentAtStripe(cur money.Currency) int {
	if e, ok := stripeExponent[cur.Code()]; ok {
		return e
	}
	return cur.Exponent()
}

// rescale moves amount from one exponent to another; false when that would
// drop a fraction. Amounts are at most money.MaxAmount and exponents differ
// by at most 2, so the product cannot overflow.
func rescale(amount int64, from, to int) (int64, bool) {
	for ; from < to; from++ {
		amount *= 10
	}
	for ; from > to; from-- {
		if amount%10 != 0 {
			return 0, false
		}
		amount /= 10
	}
	return amount, true
}

// ElementsAmount is the amount and lower-case currency to give Stripe.js
// when the page creates the Payment Element for a deferred intent
// (elements({mode: "payment", amount, currency, captureMethod: "manual"})):
// they must match the PaymentIntent Authorize makes, so they are in Stripe's
// units as well.
func ElementsAmount(amount int64, currency string) (int64, string, error) {
	return toStripe(amount, currency)
}
