package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
)

// quantity serves the quantity form of an adjustable line item: it checks
// the form (CSRF, a whole number within the item's bounds) and has admin-api
// change the quantity, which recomputes the totals; then the payer is sent
// back to the page (303), which shows them. A refused quantity re-renders
// the page with a message next to the item. Works without JavaScript.
func (h *Handler) quantity(w http.ResponseWriter, r *http.Request) {
	// The cached page shows the old quantity: forget it before and after.
	h.pages.Forget(r.PathValue("id"))
	defer h.pages.Forget(r.PathValue("id"))
	co, ok := h.checkout(w, r)
	if !ok {
		return
	}
	cs := co.GetCheckoutSession()
	pageURL := "/checkout/" + url.PathEscape(cs.GetId())
	if cs.GetStatus() != "open" {
		http.Redirect(w, r, pageURL, http.StatusSeeOther) // the page tells the session's state
		return
	}
	if err := r.ParseForm(); err != nil {
		h.answerError(w, r, co, http.StatusBadRequest, "", "err.form", nil)
		return
	}
	if !h.validCSRF(r, cs.GetId()) {
		h.answerError(w, r, co, http.StatusForbidden, "csrf", "err.csrf", nil)
		return
	}
	items := cs.GetLineItems()
	index, err := strconv.Atoi(r.PostForm.Get("line_item"))
	if err != nil || index < 0 || index >= len(items) || !items[index].GetAdjustableQuantity().GetEnabled() {
		h.answerError(w, r, co, http.StatusBadRequest, "", "err.form", nil)
		return
	}
	aq := items[index].GetAdjustableQuantity()
	qty, err := strconv.ParseInt(strings.TrimSpace(r.PostForm.Get("quantity")), 10, 64)
	if err != nil || qty < aq.GetMinimum() || qty > aq.GetMaximum() {
		h.refuseQuantity(w, r, co, index, "err.quantity_range")
		return
	}
	ctx, cancel := h.adminContext(r)
	defer cancel()
	_, err = h.Admin.UpdateLineItemQuantity(ctx, &internalapiv1.UpdateLineItemQuantityRequest{SessionId: cs.GetId(), LineItem: int32(index), Quantity: qty})
	switch status.Code(err) {
	case codes.OK:
	case codes.InvalidArgument:
		// Bounds are checked above; what is left is the session's
		// discount refusing the new subtotal, or a total too large to pay
		// in one payment.
		msg := "err.quantity_total"
		if e, ok := errs.As(grpcx.DomainError(err)); ok && strings.HasPrefix(e.Code, "discount_") {
			msg = "err.quantity_discount"
		}
		h.refuseQuantity(w, r, co, index, msg)
		return
	case codes.FailedPrecondition:
		http.Redirect(w, r, pageURL, http.StatusSeeOther) // completed or expired meanwhile
		return
	default:
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "open"})
		return
	}
	http.Redirect(w, r, pageURL, http.StatusSeeOther)
}

// refuseQuantity re-renders the page with msgKey next to item index's
// quantity form (its bounds are the message's arguments), or answers JSON.
func (h *Handler) refuseQuantity(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse, index int, msgKey string) {
	p := h.basePage(w, r, co)
	it := &p.Items[index]
	msg := newTranslator(p.Lang).T(msgKey, it.Minimum, it.Maximum)
	if wantsJSON(r) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error",
			"error": map[string]string{"code": "invalid_quantity", "param": "quantity", "message": msg}})
		return
	}
	it.QuantityError, it.QuantityPosted = msg, r.PostForm.Get("quantity")
	h.fillQuote(p, co)
	h.show(w, r, http.StatusBadRequest, p)
}
