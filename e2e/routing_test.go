package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// TestRoutingCascadeThroughTheStack: a site's default card route over two
// test-provider accounts; the test card 4000 0000 0000 0119 fails on the
// first with processing_error and succeeds on the second. The payment
// records both attempts, the session is paid once, through the second.
func TestRoutingCascadeThroughTheStack(t *testing.T) {
	code, site := api(t, "POST", "/v1/sites", map[string]any{"name": "Routed shop", "default_currency": "EUR",
		"payment_method_types": []string{"card"},
		"default_success_url":  "https://shop.example/success", "default_cancel_url": "https://shop.example/cart"})
	if code != http.StatusCreated {
		t.Fatalf("site: %d %v", code, site)
	}
	var accounts []string
	for range 2 {
		code, a := api(t, "POST", "/v1/provider_accounts", map[string]any{"provider": "test", "name": "Test acquirer"})
		if code != http.StatusCreated {
			t.Fatalf("account: %d %v", code, a)
		}
		accounts = append(accounts, a["id"].(string))
	}
	code, rt := api(t, "POST", "/v1/routes", map[string]any{"site": site["id"], "payment_method": "card", "type": "priority",
		"default": true, "accounts": []map[string]any{{"provider_account": accounts[0]}, {"provider_account": accounts[1]}}})
	if code != http.StatusCreated {
		t.Fatalf("route: %d %v", code, rt)
	}
	code, s := api(t, "POST", "/v1/checkouts/"+site["id"].(string)+"/create", map[string]any{
		"line_items": []map[string]any{{"name": "Tea", "unit_amount": 450, "quantity": 3}}, "currency": "EUR"})
	if code != http.StatusCreated {
		t.Fatalf("session: %d %v", code, s)
	}
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	_, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardProcessingError), true)
	if out["status"] != "succeeded" {
		t.Fatalf("pay: %v", out)
	}
	got := session(t, s["id"].(string))
	if got["status"] != "complete" || got["payment_status"] != "paid" {
		t.Fatalf("session: %v", got)
	}
	_, pay := api(t, "GET", "/v1/payments/"+got["payment"].(string), nil)
	attempts, _ := pay["attempts"].([]any)
	if pay["status"] != "succeeded" || len(attempts) != 2 {
		t.Fatalf("payment: %v", pay)
	}
	first, second := attempts[0].(map[string]any), attempts[1].(map[string]any)
	if first["provider_account"] != accounts[0] || first["outcome"] != "declined" || first["decline_code"] != "processing_error" ||
		first["retryable"] != true || first["route"] != rt["id"] {
		t.Errorf("first attempt: %v", first)
	}
	if second["provider_account"] != accounts[1] || second["outcome"] != "authorized" || second["retryable"] == true {
		t.Errorf("second attempt: %v", second)
	}
	// The Admin Panel's checkout page lists both attempts.
	c, _ = dashUser(t, sys.OrganizationID, "support")
	status, page := dashGet(t, c, "/dashboard/checkouts/"+s["id"].(string))
	table := attemptsTable.FindString(page)
	if status != http.StatusOK || table == "" || !strings.Contains(table, accounts[0]) || !strings.Contains(table, accounts[1]) ||
		!strings.Contains(table, "processing_error") || !strings.Contains(table, "authorized") {
		t.Errorf("checkout page: %d, attempts table %q", status, table)
	}
}

var attemptsTable = regexp.MustCompile(`(?s)<table class="list attempts" id="attempts-pay_[^"]+">.*?</table>`)
