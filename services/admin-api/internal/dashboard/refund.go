package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// refundReasons are the reasons the form offers (the API's, Stripe's).
var refundReasons = []string{"requested_by_customer", "duplicate", "fraudulent"}

// refundForm is the refund form of one payment, as typed, and its problem.
type refundForm struct {
	Payment, Amount, Reason, Error string
}

// refundable reports whether a payment can still be refunded from the page:
// it succeeded and not all of it was given back.
func refundable(p *adminv1.Payment) bool {
	return p.GetStatus() == "succeeded" && p.GetAmountRefunded() < p.GetAmount()
}

// refundPayment refunds a payment of the session through the API's refund
// service: all that is left, or the amount typed (a decimal in the
// payment's currency, converted exactly).
func (h *Handler) refundPayment(w http.ResponseWriter, r *http.Request, v visit) {
	sessionID, paymentID := r.PathValue("id"), r.PathValue("payment")
	dv, err := h.loadDetail(r, v, sessionID)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	// The payment must be one of this session's: a payment id from elsewhere
	// is a 404 like any other.
	i := slices.IndexFunc(dv.Payments, func(p *adminv1.Payment) bool { return p.GetId() == paymentID })
	if i < 0 {
		h.errorPage(w, r, &v, http.StatusNotFound)
		return
	}
	pay := dv.Payments[i]
	form := refundForm{Payment: paymentID, Amount: strings.TrimSpace(r.PostForm.Get("amount")), Reason: r.PostForm.Get("reason")}
	req := &adminv1.CreateRefundRequest{Payment: paymentID}
	if slices.Contains(refundReasons, form.Reason) {
		req.Reason = form.Reason
	}
	tr := translator(pageLang(r))
	if form.Amount != "" {
		cur, err := money.ParseCurrency(pay.GetCurrency())
		amount, aerr := parseAmount(form.Amount, cur)
		if err != nil || aerr != nil || amount < 1 {
			form.Error = tr.T("err.amount", cur.Exponent(), cur.Code())
		}
		req.Amount = proto.Int64(amount)
	}
	if form.Error == "" {
		ctx := metadata.AppendToOutgoingContext(v.principal(r.Context()), idempotency.KeyHeader, r.PostForm.Get("idempotency_key"))
		_, err = h.refunds.CreateRefund(ctx, req)
		if e := apiError(err); e != nil {
			form.Error = e.Message
		} else if err != nil {
			h.fail(w, r, &v, err)
			return
		}
	}
	if form.Error != "" {
		dv.Refund = form
		h.render(w, r, http.StatusBadRequest, "checkout", &v, "checkouts", dv)
		return
	}
	http.Redirect(w, r, Prefix+"/checkouts/"+url.PathEscape(sessionID)+"?notice=refunded", http.StatusSeeOther)
}

// resendDelivery sends an event of the session again to one of the
// endpoints it was delivered to, as the same message (its webhook-id), so a
// receiver that had it already can tell.
func (h *Handler) resendDelivery(w http.ResponseWriter, r *http.Request, v visit) {
	sessionID, eventID, endpoint := r.PathValue("id"), r.PathValue("event"), r.PostForm.Get("endpoint")
	dv, err := h.loadDetail(r, v, sessionID)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	// Only an event of this session, to an endpoint it went to.
	known := slices.ContainsFunc(dv.Events, func(ev eventView) bool {
		return ev.Event.GetId() == eventID && slices.ContainsFunc(ev.Deliveries, func(d *adminv1.Delivery) bool {
			return d.GetWebhookEndpoint() == endpoint
		})
	})
	if !known {
		h.errorPage(w, r, &v, http.StatusNotFound)
		return
	}
	if _, err := h.hooks.ResendEvent(v.principal(r.Context()), &adminv1.ResendEventRequest{Id: eventID, WebhookEndpoint: endpoint}); err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/checkouts/"+url.PathEscape(sessionID)+"?notice=resent", http.StatusSeeOther)
}
