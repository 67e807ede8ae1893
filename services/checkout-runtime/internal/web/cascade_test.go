package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// cascadeAdmin is adminServer with SwitchCascadeTier as admin-api does it
// for an open session: the tier's items become the session's.
type cascadeAdmin struct {
	*adminServer
	mu    sync.Mutex
	calls []*internalapiv1.SwitchCascadeTierRequest
}

func (s *cascadeAdmin) SwitchCascadeTier(_ context.Context, r *internalapiv1.SwitchCascadeTierRequest) (*internalapiv1.SwitchCascadeTierResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, proto.Clone(r).(*internalapiv1.SwitchCascadeTierRequest))
	cs := s.sessions[r.GetSessionId()].GetCheckoutSession()
	t := cs.GetCascadeLineItems()[r.GetTier()-1]
	cs.CascadeTier, cs.CascadePayment, cs.LineItems = r.GetTier(), &r.PaymentId, t.GetLineItems()
	cs.AmountSubtotal, cs.AmountTotal, cs.Amount = t.GetAmountSubtotal(), t.GetAmountSubtotal(), t.GetAmountSubtotal()
	return &internalapiv1.SwitchCascadeTierResponse{CheckoutSession: cs}, nil
}

// TestCascadeOfferAndSwitch: the page offers the next tier only after a
// retryable decline newer than the last switch; one click switches the
// session (the page then shows the tier's items and total); a decline that
// was used, a tier that is not the next, no tier left, or a paid session
// switch nothing.
func TestCascadeOfferAndSwitch(t *testing.T) {
	id := ids.New("cs")
	co := liveCheckout(id, "bank_transfer")
	co.CheckoutSession.CascadeLineItems = []*adminv1.CascadeTier{
		{AmountSubtotal: 700, LineItems: []*adminv1.LineItem{{Name: "Standard", UnitAmount: 700, Quantity: 1, AmountTotal: 700}}},
		{AmountSubtotal: 900, LineItems: []*adminv1.LineItem{{Name: "Basic", UnitAmount: 450, Quantity: 2, AmountTotal: 900}}},
	}
	admin := &cascadeAdmin{adminServer: &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{id: co}}}
	h, routes := newTestHandler(t, promoClient(t, admin))
	pool := testkit.NewDatabase(t, migrations.Set)
	h.Store = store.New(pool)
	decline := func(code string) string {
		t.Helper()
		p, err := h.Store.CreatePayment(t.Context(), db.CreatePaymentParams{ID: ids.New("pay"), SessionID: id, OrganizationID: "org_1",
			Livemode: true, Method: "card", Provider: "test", Currency: "EUR", Amount: 1000, Reference: ids.Random(8)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(t.Context(), "UPDATE runtime.payments SET status = 'failed', failure_code = $2 WHERE id = $1", p.ID, code); err != nil {
			t.Fatal(err)
		}
		h.pages.Forget(id)
		return p.ID
	}
	page := func(lang string) string {
		return do(routes, "GET", "/checkout/"+id, nil, map[string]string{"Accept-Language": lang}).Body.String()
	}
	switchTo := func(tier string) *http.Response {
		form, hdr := signedForm(h, id, url.Values{"tier": {tier}})
		return do(routes, "POST", "/checkout/"+id+"/cascade", form, hdr).Result()
	}
	if strings.Contains(page("en"), `id="cascade"`) {
		t.Fatal("an offer before any decline")
	}
	decline("invalid_cvc")
	if strings.Contains(page("en"), `id="cascade"`) {
		t.Fatal("an offer after a payer's mistake (invalid_cvc)")
	}
	if r := switchTo("1"); r.StatusCode != http.StatusConflict {
		t.Errorf("switch after invalid_cvc: %d", r.StatusCode)
	}
	first := decline("card_declined")
	p := page("fr")
	if !strings.Contains(p, `id="cascade"`) || !strings.Contains(p, "Votre paiement a été refusé.") || !strings.Contains(p, "Standard") ||
		!strings.Contains(p, `id="cascade-subtotal">`+formatAmount(700, "EUR", "fr")+`<`) || !strings.Contains(p, `name="tier" value="1"`) {
		t.Fatalf("no offer of tier 1 after card_declined: %.3000s", p[strings.Index(p, "<main"):])
	}
	if r := switchTo("2"); r.StatusCode != http.StatusConflict {
		t.Errorf("skipping to tier 2: %d", r.StatusCode)
	}
	if r := switchTo("1"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/checkout/"+id {
		t.Fatalf("switch to tier 1: %d", r.StatusCode)
	}
	p = page("en")
	if strings.Contains(p, `id="cascade"`) || !strings.Contains(p, `id="total">`+formatAmount(700, "EUR", "en")+`<`) {
		t.Errorf("after the switch: the same decline offers again, or the total is not tier 1's")
	}
	if r := switchTo("2"); r.StatusCode != http.StatusConflict {
		t.Errorf("the used decline switched again: %d", r.StatusCode)
	}
	second := decline("insufficient_funds")
	if r := switchTo("2"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch to tier 2: %d", r.StatusCode)
	}
	// No tier left: declined, and stays so.
	decline("card_declined")
	if strings.Contains(page("en"), `id="cascade"`) {
		t.Error("an offer with no tier left")
	}
	if r := switchTo("3"); r.StatusCode != http.StatusConflict {
		t.Errorf("past the last tier: %d", r.StatusCode)
	}
	// A paid session cannot switch: the payer is shown the paid page, and
	// admin-api is not asked (the two calls below are all).
	co.CheckoutSession.Status, co.CheckoutSession.PaymentStatus = "complete", "paid"
	decline("card_declined")
	co.CheckoutSession.CascadeTier = 1
	switchTo("2")
	admin.mu.Lock()
	defer admin.mu.Unlock()
	if len(admin.calls) != 2 || admin.calls[0].GetPaymentId() != first || admin.calls[0].GetTier() != 1 ||
		admin.calls[1].GetPaymentId() != second || admin.calls[1].GetTier() != 2 {
		t.Errorf("admin-api was asked %v", admin.calls)
	}
}
