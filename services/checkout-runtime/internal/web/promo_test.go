package web

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// promoAdmin is adminServer with ApplyPromotionCode as admin-api answers it:
// "SAVE10" takes 100 off the session; "OLD" is refused as expired; anything
// else is unknown.
type promoAdmin struct {
	*adminServer
	mu      sync.Mutex
	applied []string
}

func (s *promoAdmin) ApplyPromotionCode(_ context.Context, r *internalapiv1.ApplyPromotionCodeRequest) (*internalapiv1.ApplyPromotionCodeResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applied = append(s.applied, r.GetCode())
	refuse := func(code, msg string) error {
		return grpcx.ErrorStatus(&errs.Error{Kind: errs.Invalid, Code: code, Param: "promotion_code", Message: msg}).Err()
	}
	switch r.GetCode() {
	case "SAVE10":
		co := s.sessions[r.GetSessionId()]
		cs := co.GetCheckoutSession()
		cs.TotalDetails = &adminv1.TotalDetails{AmountDiscount: 100}
		cs.AmountTotal, cs.Amount = 900, 900
		cs.Discounts = []*adminv1.SessionDiscount{{Coupon: "coupon_1"}}
		cs.LineItems[0].AmountDiscount, cs.LineItems[0].AmountTotal = 100, 900
		return &internalapiv1.ApplyPromotionCodeResponse{CheckoutSession: cs}, nil
	case "OLD":
		return nil, refuse("discount_expired", "This promotion code has expired.")
	}
	return nil, refuse("discount_unknown", "The promotion code is not valid.")
}

// promoClient serves srv on loopback and returns a client of it.
func promoClient(t *testing.T, srv internalapiv1.SessionServiceServer) internalapiv1.SessionServiceClient {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	internalapiv1.RegisterSessionServiceServer(g, srv)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return internalapiv1.NewSessionServiceClient(cc)
}

// TestPromotionCodeForm: a session that allows codes shows the field; a
// refused code comes back with the reason in the payer's language and the
// code typed; an accepted one sends the payer back to the page, which shows
// the discount and no longer offers the field.
func TestPromotionCodeForm(t *testing.T) {
	id := ids.New("cs")
	co := liveCheckout(id, "bank_transfer")
	co.CheckoutSession.AllowPromotionCodes = true
	admin := &promoAdmin{adminServer: &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{id: co}}}
	h, routes := newTestHandler(t, promoClient(t, admin))
	h.Store = store.New(testkit.NewDatabase(t, migrations.Set)) // the page looks up the session's payments
	page := do(routes, "GET", "/checkout/"+id, nil, nil).Body.String()
	if !strings.Contains(page, `action="/checkout/`+id+`/promotion_code"`) || !strings.Contains(page, `name="promotion_code"`) {
		t.Fatalf("no promotion code form: %.2000s", page)
	}
	post := func(code, lang string) (int, string, http.Header) {
		form, hdr := signedForm(h, id, url.Values{"promotion_code": {code}})
		hdr["Accept-Language"] = lang
		w := do(routes, "POST", "/checkout/"+id+"/promotion_code", form, hdr)
		return w.Code, w.Body.String(), w.Header()
	}
	for _, c := range []struct{ code, lang, want string }{
		{"OLD", "en", "This promotion code has expired."},
		{"OLD", "fr", "Ce code promotionnel a expiré."},
		{"NOPE", "en", "This promotion code is not valid."},
		{"", "en", "This promotion code is not valid."},
		{strings.Repeat("A", 51), "en", "This promotion code is not valid."},
	} {
		code, body, _ := post(c.code, c.lang)
		if code != http.StatusBadRequest || !strings.Contains(body, html(c.want)) || !strings.Contains(body, `aria-invalid="true" aria-describedby="promotion_code-error"`) ||
			!strings.Contains(body, `value="`+c.code+`"`) {
			t.Errorf("%q (%s): %d %.3000s", c.code, c.lang, code, body)
		}
	}
	// Only codes of the right shape reached admin-api.
	if got := strings.Join(admin.applied, ","); got != "OLD,OLD,NOPE" {
		t.Errorf("admin-api was asked %q", got)
	}
	// Without a valid CSRF token nothing is asked.
	w := do(routes, "POST", "/checkout/"+id+"/promotion_code", url.Values{"promotion_code": {"SAVE10"}}, nil)
	if w.Code != http.StatusForbidden || len(admin.applied) != 3 {
		t.Errorf("no CSRF token: %d, %d calls", w.Code, len(admin.applied))
	}
	code, _, hdr := post("SAVE10", "en")
	if code != http.StatusSeeOther || hdr.Get("Location") != "/checkout/"+id {
		t.Fatalf("accepted code: %d %v", code, hdr)
	}
	page = do(routes, "GET", "/checkout/"+id, nil, nil).Body.String()
	if !strings.Contains(page, `id="discount">−`+formatAmount(100, "EUR", "en")+`<`) || !strings.Contains(page, `id="total">`+formatAmount(900, "EUR", "en")+`<`) ||
		!strings.Contains(page, `id="subtotal">`+formatAmount(1000, "EUR", "en")+`<`) ||
		strings.Contains(page, `name="promotion_code"`) {
		i := strings.Index(page, `id="subtotal"`)
		t.Errorf("page after the code: %s", page[i:min(len(page), i+1500)])
	}
}
