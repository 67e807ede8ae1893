// Package totals computes a checkout's money: subtotal → discount → tax →
// total, over line items, in exact integer minor units. No I/O.
//
// The rules, which docs/discounts.md repeats for merchants:
//
//   - The subtotal is Σ line amounts (unit amount × quantity).
//   - A percent_off discount is applied to each eligible line on its own and
//     rounded half up to the minor unit: line discount =
//     ⌊(amount × p + 5000) / 10000⌋, p in hundredths of a percent
//     (1 – 10000). The total discount is the sum of the line discounts, so it
//     can differ by a few minor units from the percentage of the subtotal;
//     Stripe rounds per line in the same way.
//   - An amount_off discount is capped at the eligible lines' sum and spread
//     over them in proportion to their amounts by the largest-remainder
//     method: each line gets ⌊D × amount / eligible⌋, and the minor units left
//     go one each to the lines with the largest remainders (ties: the earlier
//     line). No line is discounted below zero.
//   - Tax comes after the discount, on subtotal − discount, with the rule of
//     the session's tax (platform/money: an exclusive rate is added, rounded
//     half up; an inclusive rate is already in the prices and only reported).
//   - total = subtotal − discount + exclusive tax, never negative.
package totals

import (
	"math/bits"

	"github.com/tillpoint/tillpoint/services/platform/money"
)

// PercentDenominator is 100 % in the hundredths of a percent of
// Discount.PercentOff: 2 decimals, enough for 12.34 % and exact in integers.
const PercentDenominator = 10_000

// Line is one line item's amount and whether the discount applies to it.
type Line struct {
	// Amount is unit amount × quantity, ≥ 0.
	Amount int64
	// Eligible says the discount applies (applies_to.products).
	Eligible bool
	// Discount is a discount the line already carries, taken off as it is
	// (a subscription's proration, discounted when it was made: negative
	// on a credit). Such a line is not Eligible.
	Discount int64
}

// Discount is a coupon's reduction: PercentOff or AmountOff, not both (a
// zero Discount takes nothing off).
type Discount struct {
	// PercentOff in hundredths of a percent, 0 – PercentDenominator.
	PercentOff int64
	// AmountOff in minor units of the session's currency, ≥ 0.
	AmountOff int64
}

// Tax is the rate applied after the discount.
type Tax struct {
	// Bps is the rate in basis points; 0 for none.
	Bps int64
	// Inclusive rates are already in the prices: reported, not added.
	Inclusive bool
}

// Result is the computed totals.
type Result struct {
	Subtotal int64
	// LineDiscounts[i] is what the discount takes off line i; they add up
	// to Discount.
	LineDiscounts []int64
	Discount      int64
	// Tax is the exclusive tax added to the total; IncludedTax the part of
	// the total that is inclusive tax. At most one is non-zero.
	Tax, IncludedTax int64
	Total            int64
}

// Compute applies d and then tax to lines.
func Compute(lines []Line, d Discount, tax Tax) Result {
	r := Result{LineDiscounts: make([]int64, len(lines))}
	var eligible int64
	for _, l := range lines {
		r.Subtotal += l.Amount
		if l.Eligible {
			eligible += l.Amount
		}
	}
	switch {
	case d.PercentOff > 0:
		p := min(d.PercentOff, PercentDenominator)
		for i, l := range lines {
			if l.Eligible {
				r.LineDiscounts[i] = (l.Amount*p + PercentDenominator/2) / PercentDenominator
			}
		}
	case d.AmountOff > 0 && eligible > 0:
		spread(lines, min(d.AmountOff, eligible), eligible, r.LineDiscounts)
	}
	for i, l := range lines {
		r.LineDiscounts[i] += l.Discount
		r.Discount += r.LineDiscounts[i]
	}
	net := r.Subtotal - r.Discount
	switch {
	case tax.Bps <= 0:
	case tax.Inclusive:
		r.IncludedTax = money.InclusiveTax(net, tax.Bps)
	default:
		r.Tax = money.ExclusiveTax(net, tax.Bps)
	}
	r.Total = net + r.Tax
	return r
}

// spread shares d (≤ eligible) among the eligible lines by largest remainder.
func spread(lines []Line, d, eligible int64, out []int64) {
	rem := make([]uint64, len(lines))
	left := d
	for i, l := range lines {
		if !l.Eligible || l.Amount == 0 {
			continue
		}
		// d × amount can pass 2^63 (both up to ~10^11): 128-bit product.
		hi, lo := bits.Mul64(uint64(d), uint64(l.Amount))
		q, r := bits.Div64(hi, lo, uint64(eligible))
		out[i], rem[i] = int64(q), r
		left -= int64(q)
	}
	// left < number of eligible lines: hand out one unit each, largest
	// remainder first, the earlier line on a tie.
	for ; left > 0; left-- {
		best := -1
		for i := range lines {
			if rem[i] > 0 && (best < 0 || rem[i] > rem[best]) {
				best = i
			}
		}
		out[best]++
		rem[best] = 0
	}
}
