package session

import (
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// ChangeQuantity sets the quantity of line item i, which must be adjustable,
// within its bounds, and returns the new subtotal: Σ unit_amount × quantity,
// exact in minor units (no rounding is involved). maxTaxBps is the site's
// highest exclusive tax rate: the subtotal with that tax must stay payable
// in one payment (money.MaxAmount), as on creation.
func ChangeQuantity(items []LineItem, i int, quantity, maxTaxBps int64) (int64, error) {
	if i < 0 || i >= len(items) {
		return 0, errs.Param("line_item", "parameter_invalid", "The session has no line item %d.", i)
	}
	a := items[i].Adjustable
	if a == nil {
		return 0, errs.Param("line_item", "quantity_not_adjustable", "Line item %d's quantity cannot be changed.", i)
	}
	if quantity < a.Minimum || quantity > a.Maximum {
		return 0, errs.Param("quantity", "quantity_out_of_range", "quantity must be from %d to %d.", a.Minimum, a.Maximum)
	}
	items[i].Quantity = quantity
	// Both factors are capped (unit ≤ money.MaxAmount, quantity ≤ 10,000),
	// so no product overflows; the sum is checked as it grows.
	items[i].AmountTotal = items[i].UnitAmount * quantity
	var subtotal int64
	for _, it := range items {
		// Before any discount: a discounted line's amount_total is less
		// (the caller prices the discount again, discount.Reprice).
		subtotal += it.UnitAmount * it.Quantity
		if subtotal > money.MaxAmount {
			return 0, errs.Param("quantity", "amount_too_large", "With this quantity the total is more than %d minor units.", int64(money.MaxAmount))
		}
	}
	if subtotal < 1 {
		return 0, errs.Param("quantity", "amount_invalid", "The line items must add up to at least 1 minor unit.")
	}
	if subtotal+money.ExclusiveTax(subtotal, maxTaxBps) > money.MaxAmount {
		return 0, errs.Param("quantity", "amount_too_large", "With this quantity and the site's highest tax rate the total could exceed %d minor units.", int64(money.MaxAmount))
	}
	return subtotal, nil
}
