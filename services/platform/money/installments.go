package money

// Installments: a total paid in n monthly parts, with interest at a monthly
// rate. Rounding rule (stated once, used by the hosted page, the payment and
// the API):
//
//   - the interest is simple (flat): total × monthly rate × n, rounded half
//     up to the minor unit, once, on the whole total;
//   - the payer pays the total plus that interest when the customer pays the
//     interest, and the plain total when the merchant bears it;
//   - each installment is floor(paid / n); the last installment absorbs the
//     remainder, so the installments always add up to the amount paid.

// MaxInstallments is the largest number of installments a plan may have.
const MaxInstallments = 12

// Plan is an installment plan applied to an amount.
type Plan struct {
	// Count is the number of installments (1: a single payment).
	Count int
	// Interest is the plan's interest on the amount, in minor units. The
	// payer pays it when CustomerPays; otherwise the merchant bears it.
	Interest int64
	// CustomerPays: the interest is added to what the payer pays.
	CustomerPays bool
	// Total is what the payer pays: the amount, plus Interest when CustomerPays.
	Total int64
	// Each is every installment but the last: floor(Total / Count).
	Each int64
	// Last is the last installment: Total − Each × (Count − 1).
	Last int64
}

// InstallmentPlan applies count installments at monthlyBps (basis points a
// month) to amount, by the rounding rule above. count below 1 counts as 1.
// amount ≤ MaxAmount, count ≤ MaxInstallments and monthlyBps ≤ 10,000 keep
// every product far inside int64.
func InstallmentPlan(amount int64, count int, monthlyBps int64, customerPays bool) Plan {
	count = max(count, 1)
	p := Plan{Count: count, CustomerPays: customerPays, Total: amount}
	if count > 1 {
		p.Interest = (amount*monthlyBps*int64(count) + bpsDenominator/2) / bpsDenominator
	}
	if customerPays {
		p.Total += p.Interest
	}
	p.Each = p.Total / int64(count)
	p.Last = p.Total - p.Each*int64(count-1)
	return p
}
