package web

import (
	"net/http"
	"net/url"
	"strings"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
)

// mobileMoneyRefresh is how often the "approve on your phone" page reloads
// itself (each reload asks Paystack where the payment stands): operators'
// prompts are answered within seconds to a minute.
const mobileMoneyRefresh = 5

// maxPhoneLen bounds the typed phone number (E.164 has 15 digits; spaces,
// a + and brackets fit in 24).
const maxPhoneLen = 24

// MobileMoneyView is the mobile-money part of the payment form, and of the
// code and wait views.
type MobileMoneyView struct {
	Networks []paystack.Network // the session's currency's operators
	Network  string             // the chosen one
	Phone    string             // as typed
	// NextAction of a waiting payment: provider.NextActionOTP or
	// provider.NextActionApproveOnPhone.
	NextAction string
	// OTPURL is the code form's action; WaitURL what the wait view reloads
	// (the return URL, which asks Paystack, then shows the page again).
	OTPURL, WaitURL string
}

// mobileMoneyOffered reports whether the session's page may offer mobile
// money: the site has an account for it and the currency is one Paystack
// serves by mobile money.
func mobileMoneyOffered(co *internalapiv1.GetCheckoutResponse) bool {
	return co.GetSite().GetProviderAccounts()[payment.MethodMobileMoney] != "" && paystack.Supports(co.GetCheckoutSession().GetCurrency())
}

// fillMobileMoney adds the form's networks when mobile money is offered.
func fillMobileMoney(p *Page, co *internalapiv1.GetCheckoutResponse, form url.Values) {
	if !contains(p.Methods, payment.MethodMobileMoney) {
		return
	}
	p.MobileMoney = &MobileMoneyView{Networks: paystack.Networks(co.GetCheckoutSession().GetCurrency())}
	if form != nil {
		p.MobileMoney.Network, p.MobileMoney.Phone = form.Get("network"), truncateRunes(form.Get("phone"), maxPhoneLen)
	}
}

// readMobileMoney reads and validates the wallet fields; the errors map
// field names to message keys (err.mm_<code>).
func readMobileMoney(f url.Values, currency string) (*provider.MobileMoney, map[string]string) {
	phone := strings.TrimSpace(f.Get("phone"))
	if len(phone) > maxPhoneLen {
		return nil, map[string]string{"phone": "err.mm_" + paystack.CodePhoneInvalid}
	}
	e164, ferr := paystack.ParseWallet(currency, phone, f.Get("network"))
	if ferr != nil {
		return nil, map[string]string{ferr.Param: "err.mm_" + ferr.Code}
	}
	return &provider.MobileMoney{Phone: e164, Network: f.Get("network")}, nil
}

// mobileMoneyState shows a waiting mobile-money payment: the code form, or
// the wait for the phone prompt, which reloads itself through the return
// URL (no JavaScript needed).
func (h *Handler) mobileMoneyState(p *Page, latest db.RuntimePayment) {
	sid := url.PathEscape(p.Session.ID)
	p.State = StateMobileMoney
	p.Payment = h.paymentView(latest, p)
	p.MobileMoney = &MobileMoneyView{NextAction: deref(latest.NextAction), OTPURL: "/checkout/" + sid + "/otp",
		WaitURL: "/checkout/" + sid + "/return?payment_id=" + url.QueryEscape(latest.ID)}
	if p.MobileMoney.NextAction != provider.NextActionOTP {
		p.MobileMoney.NextAction = provider.NextActionApproveOnPhone
		p.RefreshSeconds = mobileMoneyRefresh
	}
}

// otp posts the code the payer received for a send_otp charge.
func (h *Handler) otp(w http.ResponseWriter, r *http.Request) {
	defer h.pages.Forget(r.PathValue("id"))
	co, ok := h.postedChange(w, r)
	if !ok {
		return
	}
	paymentID := r.PostForm.Get("payment_id")
	if !ids.HasPrefix(paymentID, "pay") {
		h.answerError(w, r, co, http.StatusNotFound, "payment_missing", "err.form", nil)
		return
	}
	code := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("otp")), " ", "")
	if code == "" || len(code) > 12 || strings.Trim(code, "0123456789") != "" {
		h.otpAgain(w, r, co, paymentID)
		return
	}
	res, err := h.Pay.SubmitOTP(r.Context(), co.GetCheckoutSession().GetId(), paymentID, code)
	switch {
	case errs.KindOf(err) == errs.NotFound:
		h.answerError(w, r, co, http.StatusNotFound, "payment_missing", "err.form", nil)
		return
	case outage(r, err) || paystack.Retryable(err):
		h.tryAgain(w, r, co, err)
		return
	case providerRefused(err):
		h.providerFailed(w, r, co, err)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.outcome(w, r, co, res, payment.Billing{}, payment.MethodMobileMoney)
}

// otpAgain shows the code form again with the field's error (400).
func (h *Handler) otpAgain(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse, paymentID string) {
	latest, err := h.Store.GetPayment(r.Context(), paymentID)
	if err != nil || latest.SessionID != co.GetCheckoutSession().GetId() || latest.Status != payment.StatusRequiresAction {
		h.answerError(w, r, co, http.StatusNotFound, "payment_missing", "err.form", nil)
		return
	}
	p := h.basePage(w, r, co)
	h.mobileMoneyState(p, latest)
	p.FieldErrors = map[string]string{"otp": newTranslator(p.Lang).T("err.otp")}
	h.show(w, r, http.StatusBadRequest, p)
}

// truncateRunes keeps at most n bytes of s, on a rune boundary.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
