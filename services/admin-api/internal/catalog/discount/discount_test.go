package discount

import (
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// TestPercentHundredths: percent_off is stored exactly in hundredths of a
// percent, whatever the float it came in as; more than 2 decimals, 0 or
// over 100 are refused.
func TestPercentHundredths(t *testing.T) {
	for p, want := range map[float64]int64{0.01: 1, 0.07: 7, 0.29: 29, 12.5: 1250, 33.33: 3333, 57.99: 5799, 99.99: 9999, 100: 10000, 1.1: 110} {
		if got, err := percentHundredths(p); err != nil || got != want {
			t.Errorf("%v: %d %v, want %d", p, got, err, want)
		}
	}
	for _, p := range []float64{0, -1, 100.01, 12.345, 0.001, 1e300} {
		if _, err := percentHundredths(p); err == nil {
			t.Errorf("%v accepted", p)
		}
	}
}

// TestRequested: the discount parameters of a create request, and their
// conflicts, each naming its parameter.
func TestRequested(t *testing.T) {
	for _, c := range []struct {
		name  string
		req   *adminv1.CreateCheckoutSessionRequest
		spec  Spec
		ok    bool
		param string // of the error, "" for none
	}{
		{"none", &adminv1.CreateCheckoutSessionRequest{}, Spec{}, false, ""},
		{"allow only", &adminv1.CreateCheckoutSessionRequest{AllowPromotionCodes: true}, Spec{}, false, ""},
		{"coupon_id", &adminv1.CreateCheckoutSessionRequest{CouponId: "c1"}, Spec{CouponID: "c1", Param: "coupon_id"}, true, ""},
		{"promotion_code text", &adminv1.CreateCheckoutSessionRequest{PromotionCode: " SAVE20 "}, Spec{Code: "SAVE20", Param: "promotion_code"}, true, ""},
		{"discounts coupon", &adminv1.CreateCheckoutSessionRequest{Discounts: []*adminv1.DiscountParams{{Coupon: "c1"}}},
			Spec{CouponID: "c1", Param: "discounts[0][coupon]"}, true, ""},
		{"discounts promotion code", &adminv1.CreateCheckoutSessionRequest{Discounts: []*adminv1.DiscountParams{{PromotionCode: "promo_1"}}},
			Spec{PromotionCodeID: "promo_1", Param: "discounts[0][promotion_code]"}, true, ""},
		{"two discounts", &adminv1.CreateCheckoutSessionRequest{Discounts: []*adminv1.DiscountParams{{Coupon: "a"}, {Coupon: "b"}}}, Spec{}, false, "discounts"},
		{"coupon and code in one", &adminv1.CreateCheckoutSessionRequest{Discounts: []*adminv1.DiscountParams{{Coupon: "a", PromotionCode: "promo_1"}}}, Spec{}, false, "discounts[0][promotion_code]"},
		{"empty discount", &adminv1.CreateCheckoutSessionRequest{Discounts: []*adminv1.DiscountParams{{}}}, Spec{}, false, "discounts[0][coupon]"},
		{"coupon_id and code", &adminv1.CreateCheckoutSessionRequest{CouponId: "c1", PromotionCode: "X"}, Spec{}, false, "promotion_code"},
		{"discount and allow", &adminv1.CreateCheckoutSessionRequest{CouponId: "c1", AllowPromotionCodes: true}, Spec{}, false, "allow_promotion_codes"},
	} {
		spec, ok, err := Requested(c.req)
		if c.param != "" {
			if e, isErr := errs.As(err); !isErr || e.Param != c.param || e.Kind != errs.Invalid {
				t.Errorf("%s: %v, want an error naming %s", c.name, err, c.param)
			}
			continue
		}
		if err != nil || ok != c.ok || spec != c.spec {
			t.Errorf("%s: %+v %v %v, want %+v %v", c.name, spec, ok, err, c.spec, c.ok)
		}
	}
}
