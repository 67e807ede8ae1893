package web

import (
	"net/http"
	"net/url"
	"strconv"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// CascadeView is the next pricing tier the page offers after a retryable
// decline (seed 002's cascade_line_items): its line items and subtotal, and
// the form that switches the session to it.
type CascadeView struct {
	Tier     int32
	Items    []ItemView
	Subtotal string
	URL      string
	// PaymentID is the declined payment the switch follows.
	PaymentID string
}

// cascadeOffer is the next tier to offer for a session whose latest payment
// is declined, or nil: the session must be open, have a tier after the
// current one, and the decline must be retryable (provider.CascadeRetryable)
// and newer than the one that moved the session to its current tier.
func (h *Handler) cascadeOffer(co *internalapiv1.GetCheckoutResponse, declined db.RuntimePayment, lang string) *CascadeView {
	cs := co.GetCheckoutSession()
	next := cs.GetCascadeTier() + 1
	if cs.GetStatus() != "open" || int(next) > len(cs.GetCascadeLineItems()) || declined.Status != payment.StatusFailed ||
		!provider.CascadeRetryable(deref(declined.FailureCode)) || declined.ID == cs.GetCascadePayment() {
		return nil
	}
	t := cs.GetCascadeLineItems()[next-1]
	v := &CascadeView{Tier: next, Subtotal: formatAmount(t.GetAmountSubtotal(), cs.GetCurrency(), lang), PaymentID: declined.ID,
		URL: "/checkout/" + url.PathEscape(cs.GetId()) + "/cascade"}
	for i, it := range t.GetLineItems() {
		v.Items = append(v.Items, ItemView{Name: it.GetName(), Description: it.GetDescription(), Quantity: it.GetQuantity(), Index: i,
			UnitPrice: formatAmount(it.GetUnitAmount(), cs.GetCurrency(), lang), Total: formatAmount(it.GetAmountTotal(), cs.GetCurrency(), lang)})
	}
	return v
}

// switchCascade moves the session to the tier offered after its latest
// payment's decline, checked again here (the latest payment, its decline,
// the tier posted) and by admin-api (the tier after the current one, the
// session open), then shows the page with the tier's items and totals.
func (h *Handler) switchCascade(w http.ResponseWriter, r *http.Request) {
	defer h.pages.Forget(r.PathValue("id"))
	co, ok := h.postedChange(w, r)
	if !ok {
		return
	}
	cs := co.GetCheckoutSession()
	if cs.GetStatus() != "open" {
		h.closed(w, r, co)
		return
	}
	latest, err := h.Store.LatestPayment(r.Context(), cs.GetId())
	if err != nil && !store.IsNoRows(err) {
		h.fail(w, r, err)
		return
	}
	offer := h.cascadeOffer(co, latest, "en")
	if offer == nil || r.PostForm.Get("tier") != strconv.Itoa(int(offer.Tier)) {
		h.answerError(w, r, co, http.StatusConflict, "cascade_tier_unavailable", "cascade.unavailable", nil)
		return
	}
	ctx, cancel := h.adminContext(r)
	defer cancel()
	_, err = h.Admin.SwitchCascadeTier(ctx, &internalapiv1.SwitchCascadeTierRequest{SessionId: cs.GetId(), Tier: offer.Tier, PaymentId: latest.ID})
	if outage(r, err) {
		h.tryAgain(w, r, co, err)
		return
	} else if e, ok := errs.As(grpcx.DomainError(err)); ok && e.Code == "cascade_tier_unavailable" {
		h.answerError(w, r, co, http.StatusConflict, e.Code, "cascade.unavailable", nil)
		return
	} else if ok && (e.Code == "checkout_session_expired" || e.Code == "checkout_session_not_open") {
		h.closed(w, r, co)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "open", "cascade_tier": offer.Tier})
		return
	}
	http.Redirect(w, r, "/checkout/"+url.PathEscape(cs.GetId()), http.StatusSeeOther)
}
