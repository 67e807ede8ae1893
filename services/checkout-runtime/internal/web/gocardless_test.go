package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/gocardless"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// ddCheckout is a test-mode session in currency whose site's direct-debit
// account is a GoCardless account.
func ddCheckout(id, currency string) *internalapiv1.GetCheckoutResponse {
	co := liveCheckout(id, "card", "direct_debit")
	co.CheckoutSession.Livemode, co.Site.Livemode, co.CheckoutSession.Currency = false, false, currency
	co.DirectDebitProviderAccount = &internalapiv1.CardProviderAccount{Id: "pa_gc", Provider: provider.NameGoCardless}
	return co
}

// gcFixtures serves the response bodies GoCardless publishes
// (gocardless-pro-go's testdata): a billing request that stays pending, as
// when the payer leaves GoCardless's page, and its cancellation.
func gcFixtures(t *testing.T) *httptest.Server {
	t.Helper()
	body := func(file, key string) []byte {
		raw, err := os.ReadFile("../../../platform/provider/gocardless/testdata/" + file + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var all map[string]struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(raw, &all); err != nil {
			t.Fatal(err)
		}
		return all[key].Body
	}
	cancelled := func() []byte {
		var env map[string]map[string]any
		if err := json.Unmarshal(body("billing_requests", "cancel"), &env); err != nil {
			t.Fatal(err)
		}
		env["billing_requests"]["status"] = "cancelled"
		b, _ := json.Marshal(env)
		return b
	}
	routes := map[string][]byte{
		"POST /billing_requests":                       body("billing_requests", "create"),
		"POST /billing_request_flows":                  body("billing_request_flows", "create"),
		"GET /billing_requests/BRQ123":                 body("billing_requests", "get"),
		"POST /billing_requests/BRQ123/actions/cancel": cancelled(),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestDirectDebitPage: Direct Debit is offered only with the site's
// GoCardless account and a currency GoCardless collects, with GoCardless's
// pay pages allowed as the form's redirect target; paying sends the payer to
// the billing request flow; coming back without authorising shows the form
// again with the reason, the session still open.
func TestDirectDebitPage(t *testing.T) {
	gbp, jpy, none := ids.New("cs"), ids.New("cs"), ids.New("cs")
	noAccount := ddCheckout(none, "GBP")
	noAccount.DirectDebitProviderAccount = nil
	h, routes := newTestHandler(t, adminClient(t, &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{
		gbp: ddCheckout(gbp, "GBP"), jpy: ddCheckout(jpy, "JPY"), none: noAccount}}))
	h.Store = store.New(testkit.NewDatabase(t, migrations.Set))
	srv := gcFixtures(t)
	h.Pay = &payment.Service{Store: h.Store, Admin: h.Admin, Limits: payment.DefaultLimits, Logger: slog.New(slog.DiscardHandler),
		Providers: provider.NewDefaultRegistry().WithAccounts(func(context.Context, string) (provider.Credentials, error) {
			return provider.Credentials{AccountID: "pa_gc", Provider: provider.NameGoCardless, SecretKey: "sandbox_token"}, nil
		}, map[string]provider.Factory{provider.NameGoCardless: gocardless.Factory(srv.URL, nil)})}

	for id, want := range map[string]bool{gbp: true, jpy: false, none: false} {
		w := do(routes, "GET", "/checkout/"+id, nil, nil)
		page, csp := w.Body.String(), w.Header().Get("Content-Security-Policy")
		offered := strings.Contains(page, `value="direct_debit"`) && strings.Contains(page, `id="dd-fields"`)
		allowed := strings.Contains(csp, "form-action 'self' https://pay.gocardless.com https://pay-sandbox.gocardless.com")
		if w.Code != http.StatusOK || offered != want || allowed != want {
			t.Errorf("%s: %d, offered %t, CSP allows GoCardless %t; want %t (CSP %q)", id, w.Code, offered, allowed, want, csp)
		}
	}

	form, hdr := signedForm(h, gbp, url.Values{"method": {"direct_debit"}, "country": {"GB"}, "postal_code": {"SW1A 1AA"}})
	w := do(routes, "POST", "/checkout/"+gbp+"/pay", form, hdr)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "https://monzo.com/abc-123-things" {
		t.Fatalf("pay: %d to %q %.300s", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	p, err := h.Store.LatestPayment(t.Context(), gbp)
	if err != nil || p.Status != payment.StatusRequiresAction || p.Method != "direct_debit" {
		t.Fatalf("payment %+v %v", p, err)
	}
	form, hdr = signedForm(h, jpy, url.Values{"method": {"direct_debit"}})
	if w := do(routes, "POST", "/checkout/"+jpy+"/pay", form, hdr); w.Code != http.StatusBadRequest {
		t.Errorf("direct debit in JPY: %d", w.Code)
	}

	// Back from GoCardless's page without authorising (exit_uri).
	// The payer is sent on to the page (Post/Redirect/Get), which says why.
	w = do(routes, "GET", "/checkout/"+gbp+"/return?payment_id="+p.ID, nil, nil)
	if to := "/checkout/" + gbp + "?attempt=" + p.ID; w.Code != http.StatusSeeOther || w.Header().Get("Location") != to {
		t.Fatalf("return after exit: %d to %q, want 303 to %q", w.Code, w.Header().Get("Location"), to)
	}
	w = do(routes, "GET", w.Header().Get("Location"), nil, nil)
	if page := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(page, "The Direct Debit was not set up") ||
		!strings.Contains(page, `id="pay-form"`) || !strings.Contains(page, `value="direct_debit" checked`) {
		t.Errorf("page after exit: %d %s", w.Code, page)
	}
	if p, _ = h.Store.LatestPayment(t.Context(), gbp); p.Status != payment.StatusFailed || deref(p.FailureCode) != provider.DeclineNotAuthorised {
		t.Errorf("payment after exit: %s %s", p.Status, deref(p.FailureCode))
	}
}
