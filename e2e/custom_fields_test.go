package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

var cascadeFormAction = regexp.MustCompile(`<form method="post" action="(/checkout/[^"]+/cascade)">`)

// TestCustomFieldsAndCascadeOnThePage runs seed 002's custom_fields and
// cascade_line_items through the running stack, on a site of its own (the
// demo site's sessions must not gain a required field): a value given at
// creation and read back with expand=custom_fields; the page asks for the
// required field, refuses the pay post without it, then the test card's
// decline offers the cascade tier, one click switches to it, and the payer
// pays the tier's exact total; the paid session holds both values. The page
// and the offer are screenshotted (50-custom-fields, 51-cascade-offer).
func TestCustomFieldsAndCascadeOnThePage(t *testing.T) {
	site := created(t, "/v1/sites", map[string]any{"name": "Fields shop", "default_currency": "EUR", "payment_method_types": []string{"card"},
		"custom_fields": []any{
			map[string]any{"key": "order_id", "label": map[string]string{"en": "Order"}, "type": "text", "optional": true},
			map[string]any{"key": "size", "label": map[string]string{"en": "Size", "fr": "Taille"}, "type": "dropdown",
				"options": []any{map[string]any{"value": "s", "label": map[string]string{"en": "Small"}}, map[string]any{"value": "l", "label": map[string]string{"en": "Large"}}}},
		}})
	s := created(t, "/v1/checkouts/"+site["id"].(string)+"/create", map[string]any{
		"line_items":    []any{map[string]any{"name": "Premium", "unit_amount": 2500, "quantity": 1}},
		"custom_fields": map[string]string{"order_id": "order_12345"},
		"cascade_line_items": []any{map[string]any{"line_items": []any{map[string]any{"name": "Basic", "unit_amount": 450, "quantity": 2}},
			"processor_route_id": nil}},
		"currency": "EUR", "success_url": "https://shop.example/ok?cs={CHECKOUT_SESSION_ID}", "cancel_url": "https://shop.example/cart",
	})
	id := s["id"].(string)
	if s["custom_fields"] != nil {
		t.Fatalf("custom_fields without expand: %v", s["custom_fields"])
	}
	_, got := api(t, "GET", "/v1/checkout/sessions/"+id+"?expand=custom_fields", nil)
	if cf, _ := got["custom_fields"].(map[string]any); cf["order_id"] != "order_12345" {
		t.Fatalf("expanded: %v", got)
	}

	c := newBrowser()
	html, csrf := open(t, c, s["url"].(string))
	action := payFormAction.FindStringSubmatch(html)
	if action == nil || !strings.Contains(html, `<select id="cf_size" name="cf_size" required>`) || strings.Contains(html, `name="cf_order_id"`) {
		t.Fatalf("the page does not ask for size only:\n%s", html)
	}
	payURL := sys.CheckoutURL + action[1]
	// The page as a browser shows it (no console error, no CSP violation).
	shots := screenshotDir(t)
	tab := newTab(t, newChromium(t))
	do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("custom-fields")))
	shot(t, tab, shots, "50-custom-fields.png")
	resp, _, body := post(t, c, payURL, cardForm(csrf, provider.TestCardDeclined), false)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="cf_size-error"`) {
		t.Fatalf("pay without the required field: %d\n%s", resp.StatusCode, body)
	}
	form := cardForm(csrf, provider.TestCardDeclined)
	form.Set("cf_size", "l")
	resp, _, _ = post(t, c, payURL, form, false)
	body = declinedPage(t, c, resp)
	m := cascadeFormAction.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "Basic") || !regexp.MustCompile(`id="cascade-subtotal">€\s?9\.00<`).MatchString(body) {
		t.Fatalf("declined: no cascade offer\n%s", body)
	}
	do(t, tab, "reload after the decline", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("cascade")))
	shot(t, tab, shots, "51-cascade-offer.png")
	resp, _, _ = post(t, c, sys.CheckoutURL+m[1], url.Values{"csrf_token": {csrf}, "tier": {"1"}}, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch: %d", resp.StatusCode)
	}
	html, csrf = open(t, c, sys.CheckoutURL+"/checkout/"+id)
	if !strings.Contains(html, "Basic") || strings.Contains(html, "Premium") || strings.Contains(html, `id="cascade"`) || strings.Contains(html, `name="cf_size"`) {
		t.Fatalf("after the switch:\n%s", html)
	}
	resp, _, _ = post(t, c, payURL, cardForm(csrf, provider.TestCardSuccess), false)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "https://shop.example/ok") {
		t.Fatalf("pay tier 1: %d %s", resp.StatusCode, loc)
	}
	_, got = api(t, "GET", "/v1/checkout/sessions/"+id+"?expand=custom_fields", nil)
	cf, _ := got["custom_fields"].(map[string]any)
	if got["payment_status"] != "paid" || got["amount_total"] != 900.0 || got["cascade_tier"] != 1.0 || cf["order_id"] != "order_12345" || cf["size"] != "l" {
		t.Fatalf("paid session: %v", got)
	}
}
