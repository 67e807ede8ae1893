package subscription

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/totals"
)

func TestShareRoundsHalfUp(t *testing.T) {
	for _, c := range []struct{ amount, part, whole, want int64 }{
		{1001, 1, 2, 501}, // 500.5 → 501
		{1003, 1, 4, 251}, // 250.75 → 251
		{1001, 1, 4, 250}, // 250.25 → 250
		{1800, 20, 30, 1200},
		{7, 0, 30, 0},
		{7, 30, 30, 7},
		// Products past 2^63 stay exact (128-bit): ⌊(2^63−1) × (2^31−1) ÷ 2^31 + ½⌋.
		{math.MaxInt64, 1<<31 - 1, 1 << 31, 9223372032559808511},
	} {
		if got := share(c.amount, c.part, c.whole); got != c.want {
			t.Errorf("share(%d, %d, %d) = %d, want %d", c.amount, c.part, c.whole, got, c.want)
		}
	}
}

func TestProrate(t *testing.T) {
	start := time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC) // 30 days
	half := start.AddDate(0, 0, 15)
	tea := Item{Price: "price_tea", Product: "prod_tea", Name: "Tea", UnitAmount: 900, Quantity: 2}
	coffee := Item{Price: "price_coffee", Product: "prod_coffee", Name: "Coffee", UnitAmount: 1001, Quantity: 1}
	tenPercent := Coupon{Discount: totals.Discount{PercentOff: 1000}}
	for _, c := range []struct {
		name         string
		old, updated []Item
		coupon       Coupon
		now          time.Time
		want         []Line
	}{
		{"a price change half-way: credit and charge, each half up", []Item{tea}, []Item{coffee}, Coupon{}, half, []Line{
			{Price: "price_tea", Name: "Unused time on Tea", UnitAmount: -900, Quantity: 1, AmountSubtotal: -900, Proration: true},
			{Price: "price_coffee", Name: "Remaining time on Coffee", UnitAmount: 501, Quantity: 1, AmountSubtotal: 501, Proration: true},
		}},
		{"an unchanged item has no line", []Item{tea, coffee}, []Item{tea, {Price: "price_coffee", Name: "Coffee", UnitAmount: 1001, Quantity: 3}}, Coupon{}, half, []Line{
			{Price: "price_coffee", Name: "Unused time on Coffee", UnitAmount: -501, Quantity: 1, AmountSubtotal: -501, Proration: true},
			{Price: "price_coffee", Name: "Remaining time on Coffee", UnitAmount: 1502, Quantity: 1, AmountSubtotal: 1502, Proration: true},
		}},
		{"no change", []Item{tea}, []Item{tea}, Coupon{}, half, nil},
		// 10 %: the tea's 180 halved, −90; the coffee's 100.1 → 100, halved, 50.
		{"a percent-off coupon: each line carries half its item's discount", []Item{tea}, []Item{coffee}, tenPercent, half, []Line{
			{Price: "price_tea", Name: "Unused time on Tea", UnitAmount: -900, Quantity: 1, AmountSubtotal: -900, AmountDiscount: -90, Proration: true},
			{Price: "price_coffee", Name: "Remaining time on Coffee", UnitAmount: 501, Quantity: 1, AmountSubtotal: 501, AmountDiscount: 50, Proration: true},
		}},
		// 3.33 off per period, on the items' invoice alone: all of it on the
		// tea (333, a third left: 111) and on the coffee (333 → 111).
		{"an amount-off coupon: the item's share of it", []Item{tea}, []Item{coffee}, Coupon{Discount: totals.Discount{AmountOff: 333}},
			start.AddDate(0, 0, 20), []Line{
				{Price: "price_tea", Name: "Unused time on Tea", UnitAmount: -600, Quantity: 1, AmountSubtotal: -600, AmountDiscount: -111, Proration: true},
				{Price: "price_coffee", Name: "Remaining time on Coffee", UnitAmount: 334, Quantity: 1, AmountSubtotal: 334, AmountDiscount: 111, Proration: true},
			}},
		{"a coupon limited to another product leaves a line undiscounted", []Item{tea}, []Item{coffee},
			Coupon{Discount: totals.Discount{PercentOff: 1000}, Products: []string{"prod_tea"}}, half, []Line{
				{Price: "price_tea", Name: "Unused time on Tea", UnitAmount: -900, Quantity: 1, AmountSubtotal: -900, AmountDiscount: -90, Proration: true},
				{Price: "price_coffee", Name: "Remaining time on Coffee", UnitAmount: 501, Quantity: 1, AmountSubtotal: 501, Proration: true},
			}},
		{"at the period's end nothing is left", []Item{tea}, []Item{coffee}, Coupon{}, end, nil},
		{"before the period: nothing", []Item{tea}, []Item{coffee}, Coupon{}, start.Add(-time.Second), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Prorate(c.old, c.updated, c.coupon, start, end, c.now); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}
