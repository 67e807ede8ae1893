package session

import (
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

func TestChangeQuantity(t *testing.T) {
	items := func() []LineItem {
		return []LineItem{
			{Name: "Tea", UnitAmount: 450, Quantity: 3, AmountTotal: 1350, Adjustable: &Adjustable{Minimum: 1, Maximum: 5}},
			{Name: "Cup", UnitAmount: 1299, Quantity: 1, AmountTotal: 1299},
		}
	}
	got := items()
	subtotal, err := ChangeQuantity(got, 0, 5, 0)
	if err != nil || subtotal != 5*450+1299 || got[0].Quantity != 5 || got[0].AmountTotal != 2250 || got[1].AmountTotal != 1299 {
		t.Fatalf("change to 5: %d %v %+v", subtotal, err, got)
	}
	huge := []LineItem{{UnitAmount: money.MaxAmount / 2, Quantity: 1, AmountTotal: money.MaxAmount / 2, Adjustable: &Adjustable{Minimum: 1, Maximum: 3}}}
	for _, c := range []struct {
		name     string
		items    []LineItem
		i        int
		quantity int64
		taxBps   int64
		param    string
		code     string
	}{
		{"above the maximum", items(), 0, 6, 0, "quantity", "quantity_out_of_range"},
		{"below the minimum", items(), 0, 0, 0, "quantity", "quantity_out_of_range"},
		{"not adjustable", items(), 1, 2, 0, "line_item", "quantity_not_adjustable"},
		{"no such item", items(), 2, 1, 0, "line_item", "parameter_invalid"},
		{"negative index", items(), -1, 1, 0, "line_item", "parameter_invalid"},
		{"over the maximum amount", huge, 0, 3, 0, "quantity", "amount_too_large"},
		{"over the maximum with tax", huge, 0, 2, 2000, "quantity", "amount_too_large"},
	} {
		before := c.items[0]
		_, err := ChangeQuantity(c.items, c.i, c.quantity, c.taxBps)
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.Invalid || e.Param != c.param || e.Code != c.code {
			t.Errorf("%s: %v, want %s naming %s", c.name, err, c.code, c.param)
		}
		if c.code == "quantity_out_of_range" && c.items[0] != before {
			t.Errorf("%s: the refused change was applied: %+v", c.name, c.items[0])
		}
	}
}
