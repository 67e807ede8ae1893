package payment

import (
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// TestQuoteTaxesTheDiscountedAmount: tax is computed after the session's
// discount, on subtotal − discount (docs/discounts.md).
func TestQuoteTaxesTheDiscountedAmount(t *testing.T) {
	rates := []*adminv1.TaxRate{
		{Country: "US", PercentageBps: 825, DisplayName: "Sales tax"},
		{Country: "FR", PercentageBps: 2000, Inclusive: true, DisplayName: "TVA"},
	}
	cs := &adminv1.CheckoutSession{AmountSubtotal: 999, TotalDetails: &adminv1.TotalDetails{AmountDiscount: 333}}
	for _, c := range []struct {
		country            string
		tax, included, tot int64
	}{
		{"US", 55, 0, 721},  // 8.25 % of 666 = 54.945 → 55
		{"FR", 0, 111, 666}, // 666 − 666/1.2 = 111, already in the price
		{"DE", 0, 0, 666},
	} {
		q := QuoteFor(cs, rates, c.country, "")
		if q.Subtotal != 999 || q.Discount != 333 || q.Tax != c.tax || q.IncludedTax != c.included || q.Total != c.tot {
			t.Errorf("%s: %+v, want tax %d, included %d, total %d", c.country, q, c.tax, c.included, c.tot)
		}
	}
}
