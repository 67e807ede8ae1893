package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// adjustableCheckout is an open test-mode session whose first item's
// quantity the payer may change from 1 to 5; the second is fixed.
func adjustableCheckout(id string) *internalapiv1.GetCheckoutResponse {
	one, five := int64(1), int64(5)
	co := liveCheckout(id, "card")
	co.CheckoutSession.Livemode = false
	co.CheckoutSession.LineItems = []*adminv1.LineItem{
		{Name: "Tea", UnitAmount: 450, Quantity: 2, AmountTotal: 900,
			AdjustableQuantity: &adminv1.AdjustableQuantity{Enabled: true, Minimum: &one, Maximum: &five}},
		{Name: "Cup", UnitAmount: 1299, Quantity: 1, AmountTotal: 1299},
	}
	return co
}

// TestQuantityForm: the form posts a new quantity for admin-api to apply
// and sends the payer back to the page (303); a quantity out of bounds (or
// not a whole number) is refused on the page, next to the item, without
// asking admin-api; so are a bad CSRF token and an item that is not
// adjustable.
func TestQuantityForm(t *testing.T) {
	id := ids.New("cs")
	admin := &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{id: adjustableCheckout(id)}}
	h, routes := newTestHandler(t, adminClient(t, admin))
	target := "/checkout/" + id + "/quantity"
	form := func(item, qty string) (url.Values, map[string]string) {
		cookie := strings.Repeat("c", 24)
		return url.Values{"csrf_token": {h.sign(cookie, id)}, "line_item": {item}, "quantity": {qty}},
			map[string]string{"Cookie": csrfCookie + "=" + cookie}
	}

	f, hdr := form("0", "4")
	w := do(routes, "POST", target, f, hdr)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/checkout/"+id {
		t.Fatalf("quantity 4: %d %q %s", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	if len(admin.changes) != 1 || admin.changes[0].GetSessionId() != id || admin.changes[0].GetLineItem() != 0 || admin.changes[0].GetQuantity() != 4 {
		t.Fatalf("admin-api was asked %v", admin.changes)
	}

	for _, c := range []struct{ qty, lang, want string }{
		{"6", "en", "Choose a quantity from 1 to 5."}, {"0", "en", "Choose a quantity from 1 to 5."},
		{"2.5", "en", "Choose a quantity from 1 to 5."}, {"", "fr", "Choisissez une quantité de 1 à 5."},
	} {
		f, hdr := form("0", c.qty)
		hdr["Accept-Language"] = c.lang
		w := do(routes, "POST", target, f, hdr)
		page := w.Body.String()
		if w.Code != http.StatusBadRequest || !strings.Contains(page, c.want) || !strings.Contains(page, `aria-invalid="true" aria-describedby="quantity-0-error"`) ||
			(c.qty != "" && !strings.Contains(page, `step="1" value="`+c.qty+`"`)) {
			t.Errorf("quantity %q: %d %.400q", c.qty, w.Code, page)
		}
	}
	f, hdr = form("1", "2") // the cup's quantity is fixed
	if w := do(routes, "POST", target, f, hdr); w.Code != http.StatusBadRequest {
		t.Errorf("fixed item: %d", w.Code)
	}
	f, _ = form("0", "3")
	if w := do(routes, "POST", target, f, map[string]string{"Cookie": csrfCookie + "=" + strings.Repeat("d", 24)}); w.Code != http.StatusForbidden {
		t.Errorf("bad CSRF token: %d", w.Code)
	}
	if len(admin.changes) != 1 {
		t.Errorf("refused forms reached admin-api: %v", admin.changes)
	}

	// admin-api's own refusal (a total too large to pay) is shown too.
	admin.changeErr = status.Error(codes.InvalidArgument, "amount_too_large")
	f, hdr = form("0", "5")
	if w := do(routes, "POST", target, f, hdr); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Body.String(), "With this quantity the total is more than can be paid in one payment.") {
		t.Errorf("admin-api's refusal: %d %.300q", w.Code, w.Body.String())
	}
}

// TestQuantityFormRendered: only adjustable items get the form, posting to
// the quantity route with the CSRF token and the item's bounds.
func TestQuantityFormRendered(t *testing.T) {
	id := ids.New("cs")
	h, _ := newTestHandler(t, adminClient(t, nil))
	co := adjustableCheckout(id)
	p := h.basePage(httptest.NewRecorder(), httptest.NewRequest("GET", "/checkout/"+id, nil), co)
	h.fillQuote(p, co)
	page, err := h.render.bytes(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{`action="/checkout/` + id + `/quantity"`, `name="line_item" value="0"`,
		`id="quantity-0" name="quantity" type="number" inputmode="numeric" min="1" max="5" step="1" value="2"`} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(s, `name="line_item" value="1"`) {
		t.Errorf("the fixed item has a quantity form")
	}
}
