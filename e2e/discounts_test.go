package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

var promoFormAction = regexp.MustCompile(`<form id="promo-form" method="post" action="([^"]+)"`)

// TestPromotionCodeOnThePagePaidByCard: the payer types a code on the hosted
// page (a wrong one is refused on the page), pays the discounted total by
// test card, and the code's one redemption is counted: the next checkout
// with it is refused.
func TestPromotionCodeOnThePagePaidByCard(t *testing.T) {
	status, coupon := api(t, "POST", "/v1/coupons", map[string]any{"percent_off": 10, "name": "Ten off"})
	if status != http.StatusCreated {
		t.Fatalf("coupon: %d %v", status, coupon)
	}
	status, promo := api(t, "POST", "/v1/promotion_codes", map[string]any{"coupon": coupon["id"], "code": "PAGE10", "max_redemptions": 1})
	if status != http.StatusCreated {
		t.Fatalf("promotion code: %d %v", status, promo)
	}
	s := newSession(t, map[string]any{"allow_promotion_codes": true})
	c := newBrowser()
	html, csrf := open(t, c, s["url"].(string))
	action := promoFormAction.FindStringSubmatch(html)
	if action == nil || csrf == "" {
		t.Fatalf("no promotion code form:\n%s", html)
	}
	form := url.Values{"csrf_token": {csrf}, "promotion_code": {"NOPE"}}
	if resp, _, body := post(t, c, sys.CheckoutURL+action[1], form, false); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "This promotion code is not valid.") {
		t.Fatalf("wrong code: %d\n%s", resp.StatusCode, body)
	}
	form.Set("promotion_code", "page10")
	if resp, _, _ := post(t, c, sys.CheckoutURL+action[1], form, false); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("code: %d", resp.StatusCode)
	}
	html, csrf = open(t, c, s["url"].(string))
	if !strings.Contains(html, `id="discount-row"`) || strings.Contains(html, `id="promo-form"`) {
		t.Fatalf("page after the code:\n%s", html)
	}
	resp, _, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %d", resp.StatusCode)
	}
	// 10 % per line of 1350 and 1299: 135 + 130 (129.9); FR's VAT is included.
	got := session(t, s["id"].(string))
	details, _ := got["total_details"].(map[string]any)
	if got["payment_status"] != "paid" || got["amount_subtotal"] != 2649.0 || details["amount_discount"] != 265.0 || got["amount_total"] != 2384.0 {
		t.Fatalf("session after paying: %v", got)
	}
	_, promo = api(t, "GET", "/v1/promotion_codes/"+promo["id"].(string), nil)
	if promo["times_redeemed"] != 1.0 || promo["times_reserved"] != 0.0 {
		t.Fatalf("promotion code after paying: %v", promo)
	}
	status, refused := api(t, "POST", "/v1/checkouts/"+sys.SiteID+"/create", map[string]any{"amount": 1000, "currency": "EUR", "promotion_code": "PAGE10"})
	wantAPIError(t, "used-up code", status, refused, http.StatusBadRequest, "promotion_code", "discount_used_up")
}

// TestPaymentKitSeedDiscounts: seed 002's examples, a promotion code by
// its text and a coupon by id, on PaymentKit's route.
func TestPaymentKitSeedDiscounts(t *testing.T) {
	if status, c := api(t, "POST", "/v1/coupons", map[string]any{"id": "coupon_dev_abc123", "amount_off": 500, "currency": "EUR"}); status != http.StatusCreated {
		t.Fatalf("coupon: %d %v", status, c)
	}
	if status, p := api(t, "POST", "/v1/promotion_codes", map[string]any{"coupon": "coupon_dev_abc123", "code": "SAVE20"}); status != http.StatusCreated {
		t.Fatalf("promotion code: %d %v", status, p)
	}
	items := `"line_items": [{"name": "Tea", "unit_amount": 450, "quantity": 3, "currency": "EUR"}], "success_url": "https://yoursite.com/success", "return_url": "https://yoursite.com/cancel"`
	for _, body := range []string{`{"promotion_code": "SAVE20", ` + items + `}`, `{"coupon_id": "coupon_dev_abc123", ` + items + `}`} {
		status, s := request(t, sys.SecretKey, "POST", paymentKitPath(), body, "")
		if status != http.StatusCreated || s["amount_subtotal"] != 1350.0 || s["amount_total"] != 850.0 {
			t.Errorf("%s: %d %v", body, status, s)
		}
	}
}
