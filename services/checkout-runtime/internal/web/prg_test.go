package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// testCardCheckout is an open test-mode session offering card and bank
// transfer.
func testCardCheckout(id string) *internalapiv1.GetCheckoutResponse {
	co := liveCheckout(id, "card", "bank_transfer")
	co.CheckoutSession.Livemode, co.Site.Livemode = false, false
	return co
}

// testCardHandler serves the sessions, paid through the real payment service
// and store.
func testCardHandler(t *testing.T, cos ...*internalapiv1.GetCheckoutResponse) (*Handler, http.Handler) {
	t.Helper()
	sessions := map[string]*internalapiv1.GetCheckoutResponse{}
	for _, co := range cos {
		sessions[co.GetCheckoutSession().GetId()] = co
	}
	h, routes := newTestHandler(t, adminClient(t, &adminServer{sessions: sessions}))
	h.Store = store.New(testkit.NewDatabase(t, migrations.Set))
	h.Pay = &payment.Service{Store: h.Store, Admin: h.Admin, Limits: payment.DefaultLimits, Logger: slog.New(slog.DiscardHandler),
		Providers: provider.NewDefaultRegistry()}
	return h, routes
}

// TestDeclinedPostRedirects: a declined card post answers 303 to the page
// with the attempt's id (Post/Redirect/Get), so a reload does not pay again;
// that page says why, in the payer's language, with the billing details and
// method kept; an id that is not the session's failed attempt shows the
// plain form. The card is typed as payers type it (spaced, "MM / YY").
func TestDeclinedPostRedirects(t *testing.T) {
	id := ids.New("cs")
	h, routes := testCardHandler(t, testCardCheckout(id))
	form, hdr := signedForm(h, id, url.Values{"method": {"card"}, "card_number": {"4000 0000 0000 0002"},
		"card_exp": {"12 / 34"}, "card_cvc": {"123"}})
	w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/checkout/"+id+"?attempt=pay_") {
		t.Fatalf("declined post: %d to %q", w.Code, loc)
	}
	latest, err := h.Store.LatestPayment(t.Context(), id)
	if err != nil || latest.Status != payment.StatusFailed || loc != "/checkout/"+id+"?attempt="+latest.ID {
		t.Fatalf("payment %+v %v, redirected to %q", latest, err, loc)
	}
	for lang, want := range map[string]string{"en": "Your card was declined.", "es": "Tu tarjeta fue rechazada."} {
		w = do(routes, "GET", loc, nil, map[string]string{"Accept-Language": lang})
		page := w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(page, want) || !strings.Contains(page, `value="Ada Lovelace"`) ||
			!strings.Contains(page, `value="card" checked`) || !strings.Contains(page, `id="errors"`) {
			t.Errorf("%s page after the decline: %d %s", lang, w.Code, page)
		}
	}
	for _, other := range []string{"pay_someoneelse", "<b>hi</b>"} {
		w = do(routes, "GET", "/checkout/"+id+"?attempt="+url.QueryEscape(other), nil, nil)
		if page := w.Body.String(); w.Code != http.StatusOK || strings.Contains(page, `id="errors"`) || strings.Contains(page, "hi</b>") {
			t.Errorf("attempt %q: %d, shows an error or the text", other, w.Code)
		}
	}

	// A script asking for JSON gets the decline itself.
	hdr["Accept"] = "application/json"
	w = do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != http.StatusPaymentRequired || err != nil || body.Error.Code != provider.DeclineCardDeclined {
		t.Errorf("JSON decline: %d %s", w.Code, w.Body.String())
	}
}

// TestJSONRedirectIsAbsolute: redirect_url in a JSON answer is an absolute
// URL on the page's host, not a path a client must resolve.
func TestJSONRedirectIsAbsolute(t *testing.T) {
	id := ids.New("cs")
	h, routes := testCardHandler(t, testCardCheckout(id))
	form, hdr := signedForm(h, id, nil) // a bank transfer: the page shows the instructions
	hdr["Accept"] = "application/json"
	w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
	var body struct {
		RedirectURL string `json:"redirect_url"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusOK || body.RedirectURL != "http://example.com/checkout/"+id {
		t.Errorf("pay by transfer: %d %s", w.Code, w.Body.String())
	}
}

// TestCardFormsTheServerTakes: the card number spaced or not and the expiry
// as payers type it are accepted; a malformed expiry is a 400 naming it.
func TestCardFormsTheServerTakes(t *testing.T) {
	id := ids.New("cs")
	h, routes := testCardHandler(t, testCardCheckout(id))
	form, hdr := signedForm(h, id, url.Values{"method": {"card"}, "card_number": {"4242 4242 4242 4242"}, "card_exp": {"1 / 2034"}, "card_cvc": {"123"}})
	hdr["Accept"] = "application/json"
	form.Set("card_exp", "13 / 34")
	if w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"param":"card_exp"`) {
		t.Errorf("expiry 13 / 34: %d %s", w.Code, w.Body.String())
	}
	form.Set("card_exp", "1 / 2034")
	if w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"succeeded"`) {
		t.Errorf("spaced number, expiry 1 / 2034: %d %s", w.Code, w.Body.String())
	}
}

// TestDefaultItemNameTranslated: the line item admin-api names "Payment"
// (a session made of an amount) is shown in the payer's language, with the
// amount by that language's pattern.
func TestDefaultItemNameTranslated(t *testing.T) {
	id := ids.New("cs")
	co := testCardCheckout(id)
	co.CheckoutSession.LineItems[0].Name = defaultItemName
	_, routes := testCardHandler(t, co)
	for lang, want := range map[string]string{"en": ">Payment<", "fr": ">Paiement<", "es": ">Pago<"} {
		page := do(routes, "GET", "/checkout/"+id, nil, map[string]string{"Accept-Language": lang}).Body.String()
		if !strings.Contains(page, want) || (lang != "en" && !strings.Contains(page, "10,00\u00a0€")) {
			t.Errorf("%s page lacks %s or 10,00 €", lang, want)
		}
	}
}
