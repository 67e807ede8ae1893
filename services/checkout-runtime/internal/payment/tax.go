// Package payment runs payments of checkout sessions: tax from the billing
// address, the attempt limits, and the state machine
// requires_action → processing → succeeded | failed | canceled around a
// provider's authorise, capture and void, with admin-api completing the session.
package payment

import (
	"fmt"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Quote is what a session costs from a billing address.
type Quote struct {
	Subtotal int64
	// Discount is the session's discount (admin-api's catalog/totals),
	// taken off before tax.
	Discount int64
	// Tax is added on top (exclusive rate); IncludedTax is already in the
	// prices (inclusive rate). At most one of them is non-zero.
	Tax, IncludedTax int64
	Total            int64
	// Rate is the applied rate, nil when none applies.
	Rate *adminv1.TaxRate
}

// QuoteFor applies the site's rate for the address to the session's
// subtotal less its discount: the region's own rate, else the country's,
// else none.
func QuoteFor(cs *adminv1.CheckoutSession, rates []*adminv1.TaxRate, country, region string) Quote {
	q := Quote{Subtotal: cs.GetAmountSubtotal(), Discount: cs.GetTotalDetails().GetAmountDiscount()}
	q.Total = q.Subtotal - q.Discount
	q.Rate = rateFor(rates, country, region)
	switch {
	case q.Rate == nil:
	case q.Rate.GetInclusive():
		q.IncludedTax = money.InclusiveTax(q.Total, q.Rate.GetPercentageBps())
	default:
		q.Tax = money.ExclusiveTax(q.Total, q.Rate.GetPercentageBps())
		q.Total += q.Tax
	}
	return q
}

// Label names the applied rate, e.g. "VAT 20%".
func (q Quote) Label() string {
	if q.Rate == nil {
		return ""
	}
	bps := q.Rate.GetPercentageBps()
	if bps%100 == 0 {
		return fmt.Sprintf("%s %d%%", q.Rate.GetDisplayName(), bps/100)
	}
	return fmt.Sprintf("%s %d.%02d%%", q.Rate.GetDisplayName(), bps/100, bps%100)
}

func rateFor(rates []*adminv1.TaxRate, country, region string) *adminv1.TaxRate {
	var countryWide *adminv1.TaxRate
	for _, r := range rates {
		if r.GetCountry() != country {
			continue
		}
		if r.GetRegion() == "" {
			countryWide = r
		} else if r.GetRegion() == region {
			return r
		}
	}
	return countryWide
}
