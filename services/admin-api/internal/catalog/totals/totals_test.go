package totals

import (
	"slices"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/money"
)

func lines(amounts ...int64) []Line {
	out := make([]Line, len(amounts))
	for i, a := range amounts {
		out[i] = Line{Amount: a, Eligible: true}
	}
	return out
}

func TestCompute(t *testing.T) {
	for _, tc := range []struct {
		name           string
		lines          []Line
		d              Discount
		tax            Tax
		lineDiscounts  []int64
		discount       int64
		addedTax, incl int64
		total          int64
	}{
		{name: "no discount", lines: lines(1000, 250), lineDiscounts: []int64{0, 0}, total: 1250},
		{name: "20 % of two lines", lines: lines(1000, 250), d: Discount{PercentOff: 2000}, lineDiscounts: []int64{200, 50}, discount: 250, total: 1000},
		// 12.5 % of 5 = 0.625 → 1 (half up, and above half); of 4 = 0.5 → 1 (half up).
		{name: "percent rounds half up per line", lines: lines(5, 4, 3), d: Discount{PercentOff: 1250}, lineDiscounts: []int64{1, 1, 0}, discount: 2, total: 10},
		// Per line, 33.33 % of 3 × 1 = 0 each; of the subtotal 3 it would be 1.
		{name: "per line, not of the subtotal", lines: lines(1, 1, 1), d: Discount{PercentOff: 3333}, lineDiscounts: []int64{0, 0, 0}, discount: 0, total: 3},
		{name: "100 %", lines: lines(999, 1), d: Discount{PercentOff: 10000}, lineDiscounts: []int64{999, 1}, discount: 1000, total: 0},
		{name: "percent only on eligible lines", lines: []Line{{Amount: 1000, Eligible: true}, {Amount: 1000}}, d: Discount{PercentOff: 5000}, lineDiscounts: []int64{500, 0}, discount: 500, total: 1500},
		{name: "amount off in proportion", lines: lines(3000, 1000), d: Discount{AmountOff: 400}, lineDiscounts: []int64{300, 100}, discount: 400, total: 3600},
		// 100 over 3 equal lines: 33 each, one left, remainders tie → the first line.
		{name: "largest remainder, tie to the earlier line", lines: lines(100, 100, 100), d: Discount{AmountOff: 100}, lineDiscounts: []int64{34, 33, 33}, discount: 100, total: 200},
		// 10 over 1/2/7: exact 0.1, 0.2, 0.7·10 → 1, 2, 7 exactly.
		{name: "amount off exact shares", lines: lines(100, 200, 700), d: Discount{AmountOff: 10}, lineDiscounts: []int64{1, 2, 7}, discount: 10, total: 990},
		// 5 over 3/3/4 (sum 10): exact 1.5, 1.5, 2 → floors 1, 1, 2, one left to the first .5.
		{name: "amount off remainder", lines: lines(3, 3, 4), d: Discount{AmountOff: 5}, lineDiscounts: []int64{2, 1, 2}, discount: 5, total: 5},
		// 7 over 1/10: exact 0.636, 6.36 → floors 0, 6, one left to the larger remainder (0.636).
		{name: "amount off larger remainder wins", lines: lines(1, 10), d: Discount{AmountOff: 7}, lineDiscounts: []int64{1, 6}, discount: 7, total: 4},
		{name: "amount off capped at the lines", lines: lines(300, 200), d: Discount{AmountOff: 10_000}, lineDiscounts: []int64{300, 200}, discount: 500, total: 0},
		{name: "amount off only on eligible lines", lines: []Line{{Amount: 500}, {Amount: 300, Eligible: true}}, d: Discount{AmountOff: 1000}, lineDiscounts: []int64{0, 300}, discount: 300, total: 500},
		{name: "nothing eligible", lines: []Line{{Amount: 500}}, d: Discount{AmountOff: 100}, lineDiscounts: []int64{0}, discount: 0, total: 500},
		{name: "zero-amount line gets nothing", lines: lines(0, 50), d: Discount{AmountOff: 20}, lineDiscounts: []int64{0, 20}, discount: 20, total: 30},
		// Tax on the discounted 900: 20 % = 180.
		{name: "exclusive tax after discount", lines: lines(1000), d: Discount{PercentOff: 1000}, tax: Tax{Bps: 2000}, lineDiscounts: []int64{100}, discount: 100, addedTax: 180, total: 1080},
		// 8.25 % of 999 − 333 = 666 → 54.945 → 55.
		{name: "exclusive tax rounds half up", lines: lines(999), d: Discount{AmountOff: 333}, tax: Tax{Bps: 825}, lineDiscounts: []int64{333}, discount: 333, addedTax: 55, total: 721},
		// 1200 − 200 = 1000 includes 20 % VAT: 1000 − 833 = 167, not added.
		{name: "inclusive tax reported only", lines: lines(1200), d: Discount{AmountOff: 200}, tax: Tax{Bps: 2000, Inclusive: true}, lineDiscounts: []int64{200}, discount: 200, incl: 167, total: 1000},
		// A subscription's prorations keep the discount they carry (a
		// credit's negative); the coupon takes 10 % of the 1001 line only.
		{name: "lines with their own discount", lines: []Line{{Amount: 1001, Eligible: true}, {Amount: -900, Discount: -90}, {Amount: 501, Discount: 50}},
			d: Discount{PercentOff: 1000}, tax: Tax{Bps: 2000}, lineDiscounts: []int64{100, -90, 50}, discount: 60, addedTax: 108, total: 650},
		{name: "largest amounts do not overflow", lines: lines(money.MaxAmount-1, 1), d: Discount{AmountOff: money.MaxAmount - 1}, lineDiscounts: []int64{money.MaxAmount - 2, 1}, discount: money.MaxAmount - 1, total: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Compute(tc.lines, tc.d, tc.tax)
			if !slices.Equal(r.LineDiscounts, tc.lineDiscounts) || r.Discount != tc.discount || r.Tax != tc.addedTax ||
				r.IncludedTax != tc.incl || r.Total != tc.total {
				t.Fatalf("got %+v, want line discounts %v, discount %d, tax %d, included %d, total %d",
					r, tc.lineDiscounts, tc.discount, tc.addedTax, tc.incl, tc.total)
			}
			checkInvariants(t, tc.lines, tc.d, r)
		})
	}
}

// checkInvariants holds for every input: the line discounts add up, stay
// within their lines, and the total is subtotal − discount + tax.
func checkInvariants(t *testing.T, ls []Line, d Discount, r Result) {
	t.Helper()
	var sum, subtotal, eligible int64
	for i, l := range ls {
		subtotal += l.Amount
		ld := r.LineDiscounts[i]
		if l.Discount != 0 { // carried as it is
			if ld != l.Discount {
				t.Fatalf("line %d (%+v) discounted by %d", i, l, ld)
			}
			sum += ld
			continue
		}
		if ld < 0 || ld > l.Amount || (!l.Eligible && ld != 0) {
			t.Fatalf("line %d (%+v) discounted by %d", i, l, ld)
		}
		if l.Eligible {
			eligible += l.Amount
		}
		sum += ld
	}
	switch {
	case sum != r.Discount:
		t.Fatalf("line discounts add up to %d, discount is %d", sum, r.Discount)
	case r.Subtotal != subtotal:
		t.Fatalf("subtotal %d, lines add up to %d", r.Subtotal, subtotal)
	case r.Discount < 0 || r.Discount > r.Subtotal:
		t.Fatalf("discount %d outside 0..%d", r.Discount, r.Subtotal)
	case r.Total != r.Subtotal-r.Discount+r.Tax || r.Total < 0:
		t.Fatalf("total %d is not %d − %d + %d", r.Total, r.Subtotal, r.Discount, r.Tax)
	case d.AmountOff > 0 && d.PercentOff == 0 && r.Discount != min(d.AmountOff, eligible):
		t.Fatalf("amount off %d over eligible %d took %d", d.AmountOff, eligible, r.Discount)
	}
}

func FuzzCompute(f *testing.F) {
	f.Add(int64(1000), int64(250), int64(7), uint8(0b111), int64(2000), int64(0), int64(825), false)
	f.Add(int64(3), int64(3), int64(4), uint8(0b011), int64(0), int64(5), int64(2000), true)
	f.Add(int64(money.MaxAmount/3), int64(money.MaxAmount/3), int64(money.MaxAmount/3), uint8(0b101), int64(0), int64(money.MaxAmount), int64(0), false)
	f.Fuzz(func(t *testing.T, a, b, c int64, eligible uint8, percent, amountOff, bps int64, inclusive bool) {
		ls := []Line{{Amount: a}, {Amount: b}, {Amount: c}}
		for i := range ls {
			// Inputs as session validation lets them through: amounts ≥ 0,
			// the subtotal within money.MaxAmount.
			ls[i].Amount = abs(ls[i].Amount) % (money.MaxAmount/3 + 1)
			ls[i].Eligible = eligible&(1<<i) != 0
		}
		d := Discount{}
		if percent != 0 {
			d.PercentOff = abs(percent)%PercentDenominator + 1
		} else {
			d.AmountOff = abs(amountOff) % (money.MaxAmount + 1)
		}
		r := Compute(ls, d, Tax{Bps: abs(bps) % 10_000, Inclusive: inclusive})
		checkInvariants(t, ls, d, r)
	})
}

func abs(v int64) int64 {
	if v < 0 {
		return -(v + 1) // no overflow on MinInt64
	}
	return v
}
