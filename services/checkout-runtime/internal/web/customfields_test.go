package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// fieldsAdmin is adminServer with SetCustomFields as admin-api answers it
// for the site of fieldsCheckout: size is required, seats holds digits.
type fieldsAdmin struct {
	*adminServer
	mu    sync.Mutex
	calls []map[string]string
}

func (s *fieldsAdmin) SetCustomFields(_ context.Context, r *internalapiv1.SetCustomFieldsRequest) (*internalapiv1.SetCustomFieldsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.GetValues())
	refuse := func(key, code string) error {
		return grpcx.ErrorStatus(&errs.Error{Kind: errs.Invalid, Code: code, Param: "custom_fields[" + key + "]", Message: code}).Err()
	}
	switch v := r.GetValues(); {
	case strings.Trim(v["seats"], "0123456789") != "":
		return nil, refuse("seats", "custom_field_not_numeric")
	case v["size"] == "":
		return nil, refuse("size", "custom_field_missing")
	}
	return nil, grpcx.ErrorStatus(&errs.Error{Kind: errs.FailedPrecondition, Code: "checkout_session_not_open", Message: "closed"}).Err()
}

// fieldsCheckout is a live session of a site with three custom fields, the
// first given at creation.
func fieldsCheckout(id string) *internalapiv1.GetCheckoutResponse {
	co := liveCheckout(id, "bank_transfer")
	co.Site.CustomFields = []*adminv1.CustomField{
		{Key: "order_id", Label: map[string]string{"en": "Order", "fr": "Commande"}, Type: "text", Optional: true, MaximumLength: 20},
		{Key: "seats", Label: map[string]string{"en": "Seats", "fr": "Places"}, Type: "numeric", Optional: true, MaximumLength: 3},
		{Key: "size", Label: map[string]string{"en": "Size", "fr": "Taille"}, Type: "dropdown", Options: []*adminv1.CustomFieldOption{
			{Value: "s", Label: map[string]string{"en": "Small", "fr": "Petit"}}, {Value: "l", Label: map[string]string{"en": "Large"}}}},
	}
	co.CheckoutSession.CustomFields, _ = structpb.NewStruct(map[string]any{"order_id": "order_12345"})
	return co
}

// TestCustomFieldsOnThePage: the page asks for the fields the session lacks,
// labelled in its language, and shows the held one as text; the pay post
// sends the typed values to admin-api and shows its refusal next to the
// field, with the values typed kept; unstorable text is refused before.
func TestCustomFieldsOnThePage(t *testing.T) {
	id := ids.New("cs")
	admin := &fieldsAdmin{adminServer: &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{id: fieldsCheckout(id)}}}
	h, routes := newTestHandler(t, promoClient(t, admin))
	h.Store = store.New(testkit.NewDatabase(t, migrations.Set)) // the page looks up the session's payments
	page := do(routes, "GET", "/checkout/"+id, nil, map[string]string{"Accept-Language": "fr"}).Body.String()
	for _, want := range []string{`<legend>Informations complémentaires</legend>`, `id="cf_order_id"><span class="label">Commande</span> <span>order_12345</span>`,
		`<label for="cf_seats">Places <span class="optional">(facultatif)</span></label>`, `name="cf_seats" maxlength="3" inputmode="numeric"`,
		`<label for="cf_size">Taille</label>`, `<select id="cf_size" name="cf_size" required>`, `<option value="s">Petit</option>`,
		`<option value="l">Large</option>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, `name="cf_order_id"`) {
		t.Error("the held field is asked for again")
	}
	checkLabels(t, page)

	post := func(values url.Values, lang string) (int, string) {
		form, hdr := signedForm(h, id, values)
		hdr["Accept-Language"] = lang
		w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
		return w.Code, w.Body.String()
	}
	code, body := post(url.Values{"cf_seats": {"12"}}, "fr")
	if code != http.StatusBadRequest || !strings.Contains(body, `<p class="ferr" id="cf_size-error">Veuillez remplir ce champ.</p>`) ||
		!strings.Contains(body, `aria-invalid="true" aria-describedby="cf_size-error"`) || !strings.Contains(body, `name="cf_seats" maxlength="3" inputmode="numeric" pattern="[0-9]*" value="12"`) ||
		!strings.Contains(body, "Taille\u00a0: Veuillez remplir ce champ.") {
		t.Errorf("required size missing: %d %.3000s", code, body)
	}
	code, body = post(url.Values{"cf_seats": {"two"}, "cf_size": {"l"}}, "en")
	if code != http.StatusBadRequest || !strings.Contains(body, `id="cf_seats-error">Enter digits only.</p>`) ||
		!strings.Contains(body, `<option value="l" selected>Large</option>`) {
		t.Errorf("seats not digits: %d %.4000s", code, body)
	}
	if code, _ = post(url.Values{"cf_seats": {"\xff"}, "cf_size": {"l"}}, "en"); code != http.StatusBadRequest {
		t.Errorf("invalid UTF-8: %d", code)
	}
	// A session closed meanwhile shows the closed page.
	if code, body = post(url.Values{"cf_seats": {"3"}, "cf_size": {"s"}}, "en"); code == http.StatusBadRequest || strings.Contains(body, "ferr") {
		t.Errorf("closed meanwhile: %d %.2000s", code, body)
	}
	admin.mu.Lock()
	defer admin.mu.Unlock()
	if len(admin.calls) != 3 || admin.calls[0]["seats"] != "12" || admin.calls[2]["size"] != "s" {
		t.Errorf("admin-api was sent %v", admin.calls)
	}
	if _, ok := admin.calls[0]["order_id"]; ok {
		t.Errorf("a held value was sent again: %v", admin.calls[0])
	}
}
