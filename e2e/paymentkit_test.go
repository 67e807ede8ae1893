package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// paymentKitPath is PaymentKit's route for the demo organization.
func paymentKitPath() string { return "/api/" + sys.OrganizationID + "/checkout-sessions" }

var payFormAction = regexp.MustCompile(`<form id="pay-form" method="post" action="([^"]+)"`)

// TestPaymentKitPayAndReturn: create through PaymentKit's route, open the
// secure-token page, pay through the form, land on success_url; return_url
// is the page's cancel link.
func TestPaymentKitPayAndReturn(t *testing.T) {
	status, s := request(t, sys.SecretKey, "POST", paymentKitPath(), `{
  "line_items": [{"name": "Tea", "unit_amount": 450, "quantity": 3, "currency": "EUR"}],
  "success_url": "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
  "return_url": "https://yoursite.com/cancel",
  "expires_in_hours": 48
}`, "")
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, s)
	}
	id, token := s["id"].(string), s["secure_token"].(string)
	if s["object"] != "checkout_session" || s["account_id"] != sys.OrganizationID || s["url"] != sys.CheckoutURL+"/c/"+token ||
		s["amount_total"] != 1350.0 || s["currency"] != "EUR" || s["return_url"] != "https://yoursite.com/cancel" {
		t.Fatalf("create: %v", s)
	}

	c := newBrowser()
	html, csrf := open(t, c, s["url"].(string))
	if !strings.Contains(html, `href="https://yoursite.com/cancel" id="cancel"`) || !strings.Contains(html, "Tea") {
		t.Fatalf("the secure-token page lacks the items or return_url as its cancel link:\n%s", html)
	}
	action := payFormAction.FindStringSubmatch(html)
	if action == nil || csrf == "" {
		t.Fatalf("no payment form:\n%s", html)
	}
	// A reload (or a second tab) keeps the browser's form token valid.
	open(t, c, s["url"].(string))
	resp, _, _ := post(t, c, sys.CheckoutURL+action[1], cardForm(csrf, provider.TestCardSuccess), false)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Host != "yoursite.com" || loc.Path != "/success" || loc.Query().Get("session_id") != id {
		t.Fatalf("after paying: %d to %v", resp.StatusCode, loc)
	}

	status, got := request(t, sys.SecretKey, "GET", paymentKitPath()+"/"+id, "", "")
	if status != http.StatusOK || got["status"] != "complete" || got["payment_status"] != "paid" || got["secure_token"] != nil ||
		!strings.HasPrefix(got["payment_id"].(string), "pay_") {
		t.Fatalf("retrieve: %d %v", status, got)
	}
	// The token still opens the page, now the receipt.
	if html, _ := open(t, c, s["url"].(string)); !strings.Contains(html, `id="paid"`) {
		t.Errorf("paid page:\n%s", html)
	}
}

// TestPaymentKitWrongTokenIsNotFound: only the session's own token opens it.
func TestPaymentKitWrongTokenIsNotFound(t *testing.T) {
	_, s := request(t, sys.SecretKey, "POST", paymentKitPath(), `{"amount": 1000, "currency": "EUR"}`, "")
	token, _ := s["secure_token"].(string)
	if token == "" {
		t.Fatalf("create: %v", s)
	}
	c := newBrowser()
	for _, wrong := range []string{token[:len(token)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(token, "a")],
		"cst_" + ids.Random(43), s["id"].(string), "cst_"} {
		resp, err := c.Get(sys.CheckoutURL + "/c/" + wrong)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /c/%s: %d, want 404", wrong, resp.StatusCode)
		}
	}
}

// TestPaymentKitRefusesCatalogParameters: a subscription parameter the seed
// does not list is refused, naming it; a processor route that is not the organization's is a 404
// naming it (docs/routing.md); another
// organization's key is a 404.
func TestPaymentKitRefusesCatalogParameters(t *testing.T) {
	urls := `"success_url": "https://yoursite.com/success", "return_url": "https://yoursite.com/cancel"`
	price := `"line_items": [{"price_id": "price_xyz", "quantity": 1}]`
	for _, tc := range []struct{ body, param string }{
		{`{` + price + `, "params_for_sub": {"custom_fields": {"tier": "enterprise"}, "trial_period_days": 7}, ` + urls + `}`, "params_for_sub[trial_period_days]"},
	} {
		status, body := request(t, sys.SecretKey, "POST", paymentKitPath(), tc.body, "")
		wantAPIError(t, tc.param, status, body, http.StatusBadRequest, tc.param, "parameter_unsupported")
	}
	status, body := request(t, sys.SecretKey, "POST", paymentKitPath(),
		`{"processor_route_id": "proute_dev_x7k9m2n4", "amount": 1000, "currency": "EUR", `+urls+`}`, "")
	wantAPIError(t, "processor_route_id", status, body, http.StatusNotFound, "processor_route_id", "resource_missing")
	status, body = request(t, otherOrgKey(t), "POST", paymentKitPath(), `{"amount": 1000, "currency": "EUR"}`, "")
	wantAPIError(t, "another organization's key", status, body, http.StatusNotFound, "account_id", "resource_missing")
}
