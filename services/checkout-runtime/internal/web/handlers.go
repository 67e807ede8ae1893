// Package web serves the hosted checkout page on MAIN_FRONTEND_DOMAIN: the
// server-rendered page, the form it posts (answered as HTML, or as JSON for
// `Accept: application/json`), the card challenge step and the tax quote.
package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"golang.org/x/text/language"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/country"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/money"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/gocardless"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/provider/stripe"
)

const (
	csrfCookie = "tp_csrf"
	// processingRefresh is how often the processing page reloads itself.
	processingRefresh = 3
	// Field limits of the billing form.
	maxNameLen   = 200
	maxEmailLen  = 254
	maxPostalLen = 20
	maxRegionLen = 10
	// secureTokenPrefix starts a session's secure token (`cst_…`), which
	// opens its page at /c/{token}.
	secureTokenPrefix = "cst"
	// defaultAdminTimeout bounds the page's lookup of the session in
	// admin-api, a read by key that answers in milliseconds: a hung admin-api
	// gets the payer a "try again" page, not a request that never ends.
	defaultAdminTimeout = 5 * time.Second
)

// liveMethods are the payment methods a live session's page offers. Card
// entry is not among them: live card payments need a provider's own
// component or page, so that card numbers never reach our servers (PCI DSS
// SAQ A); until one serves live cards, the page shows no card inputs.
var liveMethods = []string{"bank_transfer"}

// cardFields are the form fields that carry card data.
var cardFields = []string{"card_number", "card_exp", "card_cvc"}

var (
	postalRE = regexp.MustCompile(`^[A-Za-z0-9 -]{2,20}$`)
	regionRE = regexp.MustCompile(`^[A-Za-z0-9-]{0,10}$`)
	expRE    = regexp.MustCompile(`^(0?[1-9]|1[0-2]) */ *(20)?([0-9]{2})$|^(0[1-9]|1[0-2])(20)?([0-9]{2})$`)
	tokenRE  = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// Handler serves the hosted page.
type Handler struct {
	Admin  internalapiv1.SessionServiceClient
	Pay    *payment.Service
	Store  *store.Store
	Logger *slog.Logger
	// CSRFKey signs the form tokens.
	CSRFKey []byte
	// CSRFKeysAccepted also verify them: the keys of a secret being
	// rotated, so that a page signed by a replica with the other key still
	// posts.
	CSRFKeysAccepted [][]byte
	// Secure: the page is served over https (HSTS, Secure cookies).
	Secure bool
	// NATS carries the domain events that invalidate cached pages; without
	// it (nil) pages are not cached.
	NATS *nats.Conn
	// AdminTimeout bounds the session lookup in admin-api (0: 5 s).
	AdminTimeout time.Duration
	render       *renderer
	pages        *pageCache
	sub          *nats.Subscription
}

// Routes returns the page's routes.
func (h *Handler) Routes() (http.Handler, error) {
	r, err := newRenderer()
	if err != nil {
		return nil, err
	}
	h.render = r
	h.pages = newPageCache(h.NATS)
	if h.NATS != nil {
		if h.sub, err = h.pages.subscribe(); err != nil {
			return nil, fmt.Errorf("web: subscribe to events: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /checkout/{id}", h.page)
	mux.HandleFunc("GET /c/{token}", h.securePage)
	mux.HandleFunc("POST /checkout/{id}/pay", h.pay)
	mux.HandleFunc("POST /checkout/{id}/challenge", h.challenge)
	mux.HandleFunc("POST /checkout/{id}/resume", h.resume)
	mux.HandleFunc("POST /checkout/{id}/otp", h.otp)
	mux.HandleFunc("GET /checkout/{id}/return", h.resume)
	mux.HandleFunc("GET /checkout/{id}/quote", h.quote)
	mux.HandleFunc("POST /checkout/{id}/quantity", h.quantity)
	mux.HandleFunc("POST /checkout/{id}/promotion_code", h.applyPromotionCode)
	mux.HandleFunc("POST /checkout/{id}/cascade", h.switchCascade)
	mux.HandleFunc("/", h.notFound)
	return mux, nil
}

// Close stops the page cache's event subscription.
func (h *Handler) Close() {
	if h.sub != nil {
		_ = h.sub.Unsubscribe()
	}
}

// notFound answers the page of an unknown session (or path).
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.show(w, r, http.StatusNotFound, &Page{Lang: negotiateLang("", r.Header.Get("Accept-Language")), State: StateNotFound})
}

// sessionID returns the path's session id when it has the shape of one
// (`cs_` and base-62 characters, as ids.New makes them). Anything else —
// invalid UTF-8, a NUL, a slash — is an unknown session, answered before it
// reaches admin-api (protobuf refuses invalid UTF-8) or PostgreSQL.
func sessionID(r *http.Request) (string, bool) {
	id := r.PathValue("id")
	return id, ids.HasPrefix(id, "cs")
}

// checkout loads the session and its site; ok is false when it answered.
// postedChange opens a form post that changes the session's payments or
// totals (a challenge answer, a code, a tier): it forgets the session's
// cached page — the caller forgets it again when done — loads the checkout
// and checks the form's CSRF token, answering the request itself (403 for
// a bad token) when it cannot go on.
func (h *Handler) postedChange(w http.ResponseWriter, r *http.Request) (*internalapiv1.GetCheckoutResponse, bool) {
	h.pages.Forget(r.PathValue("id"))
	co, ok := h.checkout(w, r)
	if !ok {
		return nil, false
	}
	if err := r.ParseForm(); err != nil || !h.validCSRF(r, co.GetCheckoutSession().GetId()) {
		h.answerError(w, r, co, http.StatusForbidden, "csrf", "err.csrf", nil)
		return nil, false
	}
	return co, true
}

func (h *Handler) checkout(w http.ResponseWriter, r *http.Request) (*internalapiv1.GetCheckoutResponse, bool) {
	id, ok := sessionID(r)
	if !ok {
		h.notFound(w, r)
		return nil, false
	}
	ctx, cancel := h.adminContext(r)
	defer cancel()
	co, err := h.Admin.GetCheckout(ctx, &internalapiv1.GetCheckoutRequest{SessionId: id})
	if status.Code(err) == codes.NotFound {
		h.notFound(w, r)
		return nil, false
	} else if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return co, true
}

// adminContext bounds a call to admin-api made for request r.
func (h *Handler) adminContext(r *http.Request) (context.Context, context.CancelFunc) {
	timeout := h.AdminTimeout
	if timeout <= 0 {
		timeout = defaultAdminTimeout
	}
	return context.WithTimeout(r.Context(), timeout)
}

// securePage serves /c/{token}, the page of the session a secure token opens
// (the PaymentKit surface's `secure_token`): admin-api resolves the token,
// then it is the same page as /checkout/{id}, whose forms post there. An
// unknown or malformed token gets the not-found page, like an unknown id.
func (h *Handler) securePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if !ids.HasPrefix(token, secureTokenPrefix) {
		h.notFound(w, r)
		return
	}
	ctx, cancel := h.adminContext(r)
	defer cancel()
	res, err := h.Admin.ResolveSecureToken(ctx, &internalapiv1.ResolveSecureTokenRequest{SecureToken: token})
	if status.Code(err) == codes.NotFound {
		h.notFound(w, r)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	r.SetPathValue("id", res.GetSessionId())
	h.page(w, r)
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	id, ok := sessionID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	attempt := r.URL.Query().Get(attemptParam)
	if v, _, ok := h.pages.get(id, r.Header.Get("Accept-Language"), now); ok && attempt == "" {
		h.showView(w, r, id, v)
		return
	}
	gen := h.pages.generation()
	co, ok := h.checkout(w, r)
	if !ok {
		return
	}
	p := h.basePage(w, r, co)
	if err := h.stateOf(r.Context(), co, p); err != nil {
		h.fail(w, r, err)
		return
	}
	if p.State == StateOpen && attempt != "" {
		if err := h.declinedAttempt(r.Context(), co, attempt, p); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if p.State != StateOpen || p.FormError != "" {
		h.show(w, r, http.StatusOK, p)
		return
	}
	h.fillQuote(p, co)
	// The open view is rendered with the cache's markers in the slots and
	// answered like a cached one, so both paths are the same.
	cs := co.GetCheckoutSession()
	p.Nonce, p.CSRFToken = h.pages.nonceMarker, h.pages.csrfMarker
	page, err := h.render.bytes(p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.pages.cut(page, formTargets(p))
	v.stripe = usesStripe(p)
	until := now.Add(pageCacheTTL)
	if exp := cs.GetExpiresAt().AsTime(); exp.Before(until) {
		until = exp
	}
	h.pages.put(cs.GetId(), cs.GetLocale(), p.Lang, until, v, gen)
	h.showView(w, r, cs.GetId(), v)
}

// attemptParam names, in the page's URL after a declined post, the payment
// that was declined: the page then says why. It carries an id, never text:
// the message is looked up, in the payer's language, from the payment's
// stored failure code.
const attemptParam = "attempt"

// declinedAttempt fills the form as it was posted for the declined payment
// id (its message, billing details and method) when id is the session's
// latest payment and failed; any other id (a stale link, another session's
// payment, junk) shows the plain form.
func (h *Handler) declinedAttempt(ctx context.Context, co *internalapiv1.GetCheckoutResponse, id string, p *Page) error {
	latest, err := h.Store.LatestPayment(ctx, co.GetCheckoutSession().GetId())
	if store.IsNoRows(err) {
		return nil
	} else if err != nil {
		return err
	}
	if latest.ID != id || latest.Status != payment.StatusFailed {
		return nil
	}
	p.FormError = newTranslator(p.Lang).T("decline." + declineKey(deref(latest.FailureCode)))
	withForm(payment.Billing{Name: latest.BillingName, Email: latest.BillingEmail, Country: latest.BillingCountry,
		PostalCode: latest.BillingPostalCode, Region: latest.BillingRegion}, latest.Method)(p)
	h.fillQuote(p, co)
	return nil
}

// stateOf sets the page's state from the session and its latest payment.
func (h *Handler) stateOf(ctx context.Context, co *internalapiv1.GetCheckoutResponse, p *Page) error {
	cs := co.GetCheckoutSession()
	latest, err := h.Store.LatestPayment(ctx, cs.GetId())
	if err != nil && !store.IsNoRows(err) {
		return err
	}
	has := err == nil
	switch {
	case cs.GetStatus() == "expired":
		p.State = StateExpired
	case cs.GetStatus() == "complete" && cs.GetPaymentStatus() == "paid":
		p.State = StatePaid
		p.ContinueURL = successURL(cs, co.GetSite())
		if has && latest.ID == cs.GetPayment() {
			p.Payment = h.paymentView(latest, p)
		}
	case cs.GetStatus() == "complete":
		p.State = StateProcessing
		p.DirectDebit = has && latest.ID == cs.GetPayment() && latest.Method == payment.MethodDirectDebit
		if has && latest.ID == cs.GetPayment() {
			// The processing page names the amount awaited.
			p.Payment = h.paymentView(latest, p)
		}
		if has && latest.ID == cs.GetPayment() && latest.Method == "bank_transfer" {
			p.State = StateBankTransfer
			instructions := co.GetSite().GetBankTransferInstructions()
			p.Bank = BankView{Instructions: instructions, Reference: cs.GetReference(), IBAN: findIBAN(instructions),
				Amount: formatAmount(latest.Amount, cs.GetCurrency(), p.Lang)}
			p.ContinueURL = successURL(cs, co.GetSite())
		} else {
			p.RefreshSeconds = processingRefresh
		}
	case has && latest.Status == payment.StatusRequiresAction && latest.Provider == provider.NameTest:
		// The test provider's challenge is our form; a Stripe payment's
		// next action is in Stripe.js, and a payer who left it pays again.
		p.State = StateChallenge
		p.Payment = h.paymentView(latest, p)
	case has && latest.Status == payment.StatusRequiresAction && latest.Provider == provider.NamePaystack:
		h.mobileMoneyState(p, latest)
	default:
		p.State = StateOpen
		if has {
			p.Cascade = h.cascadeOffer(co, latest, p.Lang)
		}
	}
	return nil
}

func (h *Handler) pay(w http.ResponseWriter, r *http.Request) {
	// Forget the session's cached page before and after changing its payments.
	h.pages.Forget(r.PathValue("id"))
	defer h.pages.Forget(r.PathValue("id"))
	co, ok := h.checkout(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.answerError(w, r, co, http.StatusBadRequest, "", "err.form", nil)
		return
	}
	if f := postedCardField(r, co); f != "" {
		h.refuseCard(w, r, co, f)
		return
	}
	if !h.validCSRF(r, co.GetCheckoutSession().GetId()) {
		h.answerError(w, r, co, http.StatusForbidden, "csrf", "err.csrf", nil)
		return
	}
	cs := co.GetCheckoutSession()
	if cs.GetStatus() != "open" {
		h.closed(w, r, co)
		return
	}
	billing, method, card, fieldErrs := readForm(r, co)
	installments, ok := installmentsOf(r.PostForm)
	if !ok {
		fieldErrs["installments"] = "err.installments"
	}
	if r.PostForm.Get("action") == "update_total" {
		delete(fieldErrs, "card_number")
		delete(fieldErrs, "card_exp")
		delete(fieldErrs, "card_cvc")
		delete(fieldErrs, "confirmation_token")
		h.answerError(w, r, co, http.StatusOK, "", "", nil, withForm(billing, method), withWallet(co, r.PostForm))
		return
	}
	var wallet *provider.MobileMoney
	if method == payment.MethodMobileMoney {
		var bad map[string]string
		wallet, bad = readMobileMoney(r.PostForm, cs.GetCurrency())
		maps.Copy(fieldErrs, bad) // all the form's errors at once
	}
	if len(fieldErrs) > 0 {
		h.answerError(w, r, co, http.StatusBadRequest, "", "", fieldErrs, withForm(billing, method), withWallet(co, r.PostForm))
		return
	}
	fieldErrs, err := h.setCustomFields(r, co)
	if outage(r, err) {
		h.tryAgain(w, r, co, err, withForm(billing, method))
		return
	} else if e, ok := errs.As(grpcx.DomainError(err)); ok && (e.Code == "checkout_session_expired" || e.Code == "checkout_session_not_open") {
		h.closed(w, r, co)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	} else if len(fieldErrs) > 0 {
		h.answerError(w, r, co, http.StatusBadRequest, "", "", fieldErrs, withForm(billing, method))
		return
	}
	a := payment.Attempt{Checkout: co, Method: method, Billing: billing, Card: card, ClientIP: clientIP(r), Installments: installments,
		MobileMoney: wallet}
	if method == "card" && stripeAccount(co) != nil {
		a.Token = strings.TrimSpace(r.PostForm.Get("confirmation_token"))
		a.ReturnURL = h.returnURL(r, cs.GetId())
	} else if method == payment.MethodDirectDebit {
		a.ReturnURL = h.returnURL(r, cs.GetId())
	}
	res, err := h.Pay.Pay(r.Context(), a)
	if errors.Is(err, payment.ErrRateLimited) {
		h.answerError(w, r, co, http.StatusTooManyRequests, "rate_limited", "err.rate_limited", nil, withForm(billing, method))
		return
	} else if errors.Is(err, payment.ErrInstallments) {
		h.answerError(w, r, co, http.StatusBadRequest, "", "", map[string]string{"installments": "err.installments"}, withForm(billing, method))
		return
	} else if errors.Is(err, payment.ErrTotalTooLarge) {
		h.answerError(w, r, co, http.StatusBadRequest, "amount_too_large", "err.total_too_large", nil, withForm(billing, method))
		return
	} else if outage(r, err) || errors.Is(err, stripe.ErrUnavailable) || errors.Is(err, gocardless.ErrUnavailable) || paystack.Retryable(err) {
		h.tryAgain(w, r, co, err, withForm(billing, method))
		return
	} else if providerRefused(err) {
		h.providerFailed(w, r, co, err, withForm(billing, method))
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	h.outcome(w, r, co, res, billing, method)
}

// maxPromotionCodeLen bounds a typed code (admin-api's codes have at most 50
// characters): anything longer is no code, answered without asking.
const maxPromotionCodeLen = 50

// applyPromotionCode applies the code typed in the page's promotion code
// form: admin-api checks it and reserves a redemption. The payer is sent
// back to the page (303), which then shows the discount; a refused code
// gets the form again with the reason in the payer's language.
func (h *Handler) applyPromotionCode(w http.ResponseWriter, r *http.Request) {
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
	code := strings.TrimSpace(r.PostForm.Get("promotion_code"))
	typed := func(p *Page) { p.PromotionCode = code }
	if code == "" || utf8.RuneCountInString(code) > maxPromotionCodeLen {
		h.answerError(w, r, co, http.StatusBadRequest, "", "", map[string]string{"promotion_code": "promo.discount_unknown"}, typed)
		return
	}
	ctx, cancel := h.adminContext(r)
	defer cancel()
	res, err := h.Admin.ApplyPromotionCode(ctx, &internalapiv1.ApplyPromotionCodeRequest{SessionId: cs.GetId(), Code: code})
	if outage(r, err) {
		h.tryAgain(w, r, co, err, typed)
		return
	} else if err != nil {
		e, ok := errs.As(grpcx.DomainError(err))
		switch {
		case ok && (e.Code == "checkout_session_expired" || e.Code == "checkout_session_not_open"):
			h.closed(w, r, co)
		case ok && (e.Kind == errs.Invalid || e.Kind == errs.FailedPrecondition):
			h.answerError(w, r, co, http.StatusBadRequest, "", "", map[string]string{"promotion_code": promoMessage(e.Code)}, typed)
		default:
			h.fail(w, r, err)
		}
		return
	}
	if wantsJSON(r) {
		co.CheckoutSession = res.GetCheckoutSession()
		p := h.basePage(w, r, co)
		h.fillQuote(p, co)
		writeJSON(w, http.StatusOK, map[string]any{"status": "open", "totals": p.Totals})
		return
	}
	http.Redirect(w, r, "/checkout/"+url.PathEscape(cs.GetId()), http.StatusSeeOther)
}

// promoMessage is the message key of admin-api's reason for refusing a
// code (catalog/discount's Code… constants and ApplyPromotionCode's own).
func promoMessage(reason string) string {
	key := "promo." + reason
	if _, ok := catalogs["en"][key]; ok {
		return key
	}
	return "promo.discount_unknown"
}

func (h *Handler) challenge(w http.ResponseWriter, r *http.Request) {
	defer h.pages.Forget(r.PathValue("id"))
	co, ok := h.postedChange(w, r)
	if !ok {
		return
	}
	// A payment id that is not the shape of one is no payment: it must not
	// reach PostgreSQL (invalid UTF-8 or a NUL in a text parameter fails).
	paymentID := r.PostForm.Get("payment_id")
	if !ids.HasPrefix(paymentID, "pay") && !ids.HasPrefix(paymentID, payment.SetupPrefix) {
		h.answerError(w, r, co, http.StatusNotFound, "payment_missing", "err.form", nil)
		return
	}
	res, err := h.Pay.Challenge(r.Context(), co.GetCheckoutSession().GetId(), paymentID, r.PostForm.Get("decision") == "approve")
	if errs.KindOf(err) == errs.NotFound {
		h.answerError(w, r, co, http.StatusNotFound, "payment_missing", "err.form", nil)
		return
	} else if outage(r, err) {
		h.tryAgain(w, r, co, err)
		return
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	h.outcome(w, r, co, res, payment.Billing{}, "card")
}

// resume carries on with a Stripe payment after the payer's action: the
// page's script posts here after Stripe.js handleNextAction (3-D Secure), and
// a redirect-based method brings the payer back with GET …/return?payment_id=.
// The runtime reads the intent and completes and captures, or fails the
// payment. The GET needs no CSRF token: it only asks Stripe where this
// session's payment stands, as its webhook would tell.
func (h *Handler) resume(w http.ResponseWriter, r *http.Request) {
	h.pages.Forget(r.PathValue("id"))
	defer h.pages.Forget(r.PathValue("id"))
	co, ok := h.checkout(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil || (r.Method == http.MethodPost && !h.validCSRF(r, co.GetCheckoutSession().GetId())) {
		h.answerError(w, r, co, http.StatusForbidden, "csrf", "err.csrf", nil)
		return
	}
	paymentID := r.Form.Get("payment_id")
	if !ids.HasPrefix(paymentID, "pay") && !ids.HasPrefix(paymentID, payment.SetupPrefix) {
		h.answerError(w, r, co, http.StatusNotFound, "payment_missing", "err.form", nil)
		return
	}
	res, err := h.Pay.Resume(r.Context(), co.GetCheckoutSession().GetId(), paymentID)
	switch {
	case errs.KindOf(err) == errs.NotFound:
		h.answerError(w, r, co, http.StatusNotFound, "payment_missing", "err.form", nil)
		return
	case errors.Is(err, payment.ErrNotResumable):
		h.answerError(w, r, co, http.StatusBadRequest, "payment_not_resumable", "err.form", nil)
		return
	case outage(r, err) || errors.Is(err, stripe.ErrUnavailable) || errors.Is(err, gocardless.ErrUnavailable) || paystack.Retryable(err):
		h.tryAgain(w, r, co, err)
		return
	case providerRefused(err):
		h.providerFailed(w, r, co, err)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.outcome(w, r, co, res, payment.Billing{}, orDefault(res.Payment.Method, "card"))
}

// absolute makes a path on this host ("/checkout/…") an absolute URL, for
// JSON answers' redirect_url, which clients resolve against no base; an
// absolute URL (a success URL, a provider's page) is returned as it is.
func (h *Handler) absolute(r *http.Request, to string) string {
	if strings.HasPrefix(to, "/") && !strings.HasPrefix(to, "//") {
		return h.scheme() + "://" + r.Host + to
	}
	return to
}

// returnURL is the page's absolute return URL, where a provider's page or
// next action sends the payer back (the runtime adds payment_id).
func (h *Handler) returnURL(r *http.Request, sessionID string) string {
	return h.absolute(r, "/checkout/"+url.PathEscape(sessionID)+"/return")
}

// outcome answers a finished attempt: the next page, or where to go.
func (h *Handler) outcome(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse, res payment.Result, billing payment.Billing, method string) {
	cs := co.GetCheckoutSession()
	pageURL := "/checkout/" + url.PathEscape(cs.GetId())
	switch {
	case res.Payment.Status == payment.StatusRequiresAction && res.ClientSecret != "" && wantsJSON(r):
		// The page's script passes the action in Stripe.js, then posts
		// /resume. The client secret goes only to this page, in this answer.
		writeJSON(w, http.StatusOK, map[string]any{"status": payment.StatusRequiresAction, "client_secret": res.ClientSecret,
			"payment_id": res.Payment.ID})
	case res.Payment.Status == payment.StatusRequiresAction && res.RedirectURL != "":
		// The payer authorises on the provider's page (GoCardless), which
		// sends them back to …/return.
		h.redirect(w, r, payment.StatusRequiresAction, res.RedirectURL)
	case res.Closed:
		h.closed(w, r, co)
	case res.Payment.Status == payment.StatusFailed && !wantsJSON(r):
		// Post/Redirect/Get: the browser lands on the page, which shows
		// the failed attempt's message (see declinedAttempt), and a reload
		// does not post the payment again.
		http.Redirect(w, r, pageURL+"?"+attemptParam+"="+url.QueryEscape(res.Payment.ID), http.StatusSeeOther)
	case res.Payment.Status == payment.StatusFailed:
		code := deref(res.Payment.FailureCode)
		h.answerError(w, r, co, http.StatusPaymentRequired, code, "decline."+declineKey(code), nil, withForm(billing, method))
	case res.Payment.Status == payment.StatusSucceeded && res.Session != nil && res.Session.GetReturnMethod() == returnPost:
		h.returnByPost(w, r, co, res)
	case res.Payment.Status == payment.StatusSucceeded && res.Session != nil:
		h.redirect(w, r, res.Payment.Status, successURL(res.Session, co.GetSite()))
	default: // requires_action, processing (async card, bank transfer): the page shows it
		h.redirect(w, r, res.Payment.Status, pageURL)
	}
}

// A session's return_method `post` sends the payer back to the merchant by
// an auto-submitted form POST carrying returnPostField = the session's UUID
// (PayPorter's callback), instead of a redirect.
const (
	returnPost      = "post"
	returnPostField = "checkoutId"
)

// returnByPost answers a paid attempt of a post-return session: the page
// whose form posts the payer to the success URL. A JSON client (Stripe's
// script) is sent to the session's page, whose paid view has that form (a
// script following redirect_url would GET the success URL); `return`
// describes the POST for other clients.
func (h *Handler) returnByPost(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse, res payment.Result) {
	to := successURL(res.Session, co.GetSite())
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"status": res.Payment.Status, "redirect_url": h.absolute(r, "/checkout/"+url.PathEscape(res.Session.GetId())),
			"return": map[string]any{"url": to, "method": http.MethodPost, "form": map[string]string{returnPostField: res.Session.GetUuid()}}})
		return
	}
	p := h.basePage(w, r, co)
	p.State, p.ContinueURL = StateReturn, to
	h.show(w, r, http.StatusOK, p)
}

func (h *Handler) closed(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusConflict, map[string]any{"status": "closed", "redirect_url": h.absolute(r, "/checkout/"+url.PathEscape(co.GetCheckoutSession().GetId())),
			"error": map[string]string{"code": "checkout_session_closed", "message": newTranslator("en").T("state.closed")}})
		return
	}
	http.Redirect(w, r, "/checkout/"+url.PathEscape(co.GetCheckoutSession().GetId()), http.StatusSeeOther)
}

func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, paymentStatus, to string) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"status": paymentStatus, "redirect_url": h.absolute(r, to)})
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// formState carries what the payer entered back into a re-rendered form.
type formState func(*Page)

// withWallet keeps what the payer typed in the mobile-money fields.
func withWallet(co *internalapiv1.GetCheckoutResponse, form url.Values) formState {
	return func(p *Page) { fillMobileMoney(p, co, form) }
}

func withForm(b payment.Billing, method string) formState {
	return func(p *Page) {
		p.Billing = BillingView{Name: b.Name, Email: b.Email, Country: b.Country, PostalCode: b.PostalCode, Region: b.Region}
		p.Method = method
	}
}

// answerError re-renders the form with a message (HTML) or answers JSON.
func (h *Handler) answerError(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse, code int, errCode, msgKey string, fields map[string]string, form ...formState) {
	p := h.basePage(w, r, co)
	for _, f := range form {
		f(p)
	}
	p.InstallmentCount, _ = installmentsOf(r.PostForm)
	t := newTranslator(p.Lang)
	if wantsJSON(r) {
		body := map[string]any{"status": "error"}
		if code == http.StatusOK {
			body["status"] = "open"
		}
		if msgKey != "" {
			body["error"] = map[string]string{"code": errCode, "message": t.T(msgKey)}
		}
		if f := firstField(fields); f != "" { // the first in form order, so that the answer is stable
			body["error"] = map[string]string{"code": "invalid_" + f, "param": f, "message": t.T(fields[f])}
		}
		h.fillQuote(p, co)
		body["totals"] = p.Totals
		writeJSON(w, code, body)
		return
	}
	p.State = StateOpen
	if msgKey != "" {
		p.FormError = t.T(msgKey)
	}
	if len(fields) > 0 {
		p.FieldErrors = map[string]string{}
		for f, k := range fields {
			p.FieldErrors[f] = t.T(k)
		}
	}
	h.fillQuote(p, co)
	h.show(w, r, code, p)
}

func (h *Handler) quote(w http.ResponseWriter, r *http.Request) {
	co, ok := h.checkout(w, r)
	if !ok {
		return
	}
	p := h.basePage(w, r, co)
	p.Billing.Country = strings.ToUpper(r.URL.Query().Get("country"))
	p.Billing.Region = strings.ToUpper(r.URL.Query().Get("region"))
	q := h.fillQuote(p, co)
	out := map[string]any{"subtotal": p.Totals.Subtotal, "tax": p.Totals.Tax,
		"tax_label": p.Totals.TaxLabel, "included_tax": p.Totals.IncludedTax, "total": p.Totals.Total}
	if len(p.Installments) > 0 {
		// The installment options for this address, by count: the
		// script relabels them (#plan-{count}).
		labels := make(map[string]string, len(p.Installments))
		for _, o := range p.Installments {
			labels[strconv.Itoa(o.Count)] = o.Label
		}
		out["plans"] = labels
	}
	if stripeAccount(co) != nil {
		// The Payment Element is told the total for this address, in
		// Stripe's units, so that it matches the PaymentIntent.
		if amount, _, err := stripe.ElementsAmount(q.Total, co.GetCheckoutSession().GetCurrency()); err == nil {
			out["stripe_amount"] = amount
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// readForm validates the form's format; the provider judges the card itself.
func readForm(r *http.Request, co *internalapiv1.GetCheckoutResponse) (payment.Billing, string, *provider.Card, map[string]string) {
	f := r.PostForm
	bad := map[string]string{}
	// Every value is text that may reach PostgreSQL: invalid UTF-8 or a NUL
	// is refused, naming the field, and goes no further.
	get := func(k string) string {
		v := strings.TrimSpace(f.Get(k))
		if !grpcx.Storable(v) {
			bad[k] = "err.characters"
			return ""
		}
		return v
	}
	b := payment.Billing{Name: get("name"), Email: get("email"), PostalCode: strings.ToUpper(get("postal_code")), Region: strings.ToUpper(get("region"))}
	if _, done := bad["name"]; !done && (b.Name == "" || len(b.Name) > maxNameLen) {
		bad["name"] = "err.name"
	}
	if _, done := bad["email"]; !done && !validEmail(b.Email) {
		bad["email"] = "err.email"
	}
	if c, ok := country.Parse(get("country")); ok {
		b.Country = c
	} else if _, done := bad["country"]; !done {
		bad["country"] = "err.country"
	}
	if _, done := bad["postal_code"]; !done && !postalRE.MatchString(b.PostalCode) {
		bad["postal_code"] = "err.postal_code"
	}
	if _, done := bad["region"]; !done && !regionRE.MatchString(b.Region) {
		bad["region"] = "err.region"
	}
	method := get("method")
	if _, done := bad["method"]; !done && !contains(pageMethods(co), method) {
		bad["method"] = "err.method"
	}
	var card *provider.Card
	if _, refused := bad["method"]; method == "card" && !refused && stripeAccount(co) != nil {
		// Stripe's Payment Element made a ConfirmationToken in the browser;
		// without JavaScript there is none.
		if tok := strings.TrimSpace(f.Get("confirmation_token")); !strings.HasPrefix(tok, "ctoken_") || len(tok) > 200 || !tokenRE.MatchString(tok) {
			bad["confirmation_token"] = "err.confirmation_token"
		}
	} else if _, refused := bad["method"]; method == "card" && !refused { // card data is read only where card entry is offered
		number := strings.NewReplacer(" ", "", "-", "").Replace(get("card_number"))
		exp, expOK := parseExpiry(get("card_exp"))
		card = &provider.Card{Number: number, Exp: exp, CVC: get("card_cvc")}
		if len(number) < 12 || len(number) > 19 || strings.Trim(number, "0123456789") != "" {
			bad["card_number"] = "err.card_number"
		}
		if !expOK {
			bad["card_exp"] = "err.card_exp"
		}
		if l := len(card.CVC); l < 3 || l > 4 || strings.Trim(card.CVC, "0123456789") != "" {
			bad["card_cvc"] = "err.card_cvc"
		}
	}
	return b, method, card, bad
}

// parseExpiry reads a card's expiry as payers type it — "12/34",
// "12 / 34", "1/34", "12/2034", "1234" — into the "MM/YY" the providers
// take; ok is false for anything else.
func parseExpiry(s string) (exp string, ok bool) {
	m := expRE.FindStringSubmatch(strings.TrimSpace(s))
	switch {
	case m == nil:
		return "", false
	case len(m[1]) == 1:
		return "0" + m[1] + "/" + m[3], true
	case m[1] != "":
		return m[1] + "/" + m[3], true
	default:
		return m[4] + "/" + m[6], true
	}
}

// basePage fills what every view of a session shows, and the security
// headers and CSRF cookie of the answer.
func (h *Handler) basePage(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse) *Page {
	cs, site := co.GetCheckoutSession(), co.GetSite()
	lang := negotiateLang(cs.GetLocale(), r.Header.Get("Accept-Language"))
	p := &Page{Lang: lang, State: StateOpen, TestMode: !cs.GetLivemode(), CSRFToken: h.csrfToken(w, r, cs.GetId()),
		Site: SiteView{Name: site.GetName(), LogoURL: site.GetBranding().GetLogoUrl(),
			PrimaryColor: orDefault(site.GetBranding().GetPrimaryColor(), "#1f2937"),
			AccentColor:  orDefault(site.GetBranding().GetAccentColor(), "#2563eb")},
		Session: SessionView{ID: cs.GetId(), Reference: cs.GetReference(), Description: cs.GetDescription(), CancelURL: withSessionID(cs.GetCancelUrl(), cs.GetId()),
			Subscription: cs.GetMode() == "subscription"},
		Methods: pageMethods(co), Billing: BillingView{Email: cs.GetCustomerEmail()},
		PayURL: "/checkout/" + url.PathEscape(cs.GetId()) + "/pay", ChallengeURL: "/checkout/" + url.PathEscape(cs.GetId()) + "/challenge",
		QuantityURL: "/checkout/" + url.PathEscape(cs.GetId()) + "/quantity",
	}
	if len(p.Methods) > 0 {
		p.Method = p.Methods[0]
	}
	fillMobileMoney(p, co, nil)
	if cs.GetAllowPromotionCodes() && len(cs.GetDiscounts()) == 0 {
		p.PromoURL = "/checkout/" + url.PathEscape(cs.GetId()) + "/promotion_code"
	}
	if cs.GetReturnMethod() == returnPost {
		p.ReturnPost = &ReturnPost{Field: returnPostField, Value: cs.GetUuid()}
	}
	if acct := stripeAccount(co); acct != nil && contains(p.Methods, "card") {
		// The amount the Payment Element shows and filters methods by: the
		// session's before any tax of the billing address.
		resume := "/checkout/" + url.PathEscape(cs.GetId()) + "/resume"
		charged := cs.GetAmountSubtotal() - cs.GetTotalDetails().GetAmountDiscount()
		if amount, currency, err := stripe.ElementsAmount(charged, cs.GetCurrency()); err == nil {
			p.Stripe = &StripeView{PublishableKey: acct.GetPublishableKey(), Amount: amount, Currency: currency, ResumeURL: resume}
		} else if chargesNothing(cs) {
			// A free trial charges nothing today: the Element saves the
			// card (a SetupIntent, payment.setup), as Stripe Checkout does.
			p.Stripe = &StripeView{PublishableKey: acct.GetPublishableKey(), Currency: strings.ToLower(cs.GetCurrency()),
				ResumeURL: resume, Setup: true}
		}
	}
	p.CustomFields = customFieldsView(co, lang, r)
	for i, it := range cs.GetLineItems() {
		aq := it.GetAdjustableQuantity()
		// Lines show their amount before the discount, which has a row of
		// its own under the subtotal.
		amount := it.GetAmountTotal() + it.GetAmountDiscount()
		name := it.GetName()
		if name == defaultItemName && len(cs.GetLineItems()) == 1 {
			name = newTranslator(lang).T("items.default_name")
		}
		p.Items = append(p.Items, ItemView{Name: name, Description: it.GetDescription(), Quantity: it.GetQuantity(), ImageURL: it.GetImageUrl(),
			UnitPrice: formatAmount(it.GetUnitAmount(), cs.GetCurrency(), lang), Total: formatAmount(amount, cs.GetCurrency(), lang),
			Index: i, Adjustable: aq.GetEnabled(), Minimum: aq.GetMinimum(), Maximum: aq.GetMaximum()})
	}
	return p
}

// defaultItemName is the line item admin-api makes of a session created with
// an amount and no description: the page shows it in the payer's language.
const defaultItemName = "Payment"

// fillQuote computes the totals for the page's billing address and the
// country list with it selected.
func (h *Handler) fillQuote(p *Page, co *internalapiv1.GetCheckoutResponse) payment.Quote {
	cs := co.GetCheckoutSession()
	q := payment.QuoteFor(cs, co.GetSite().GetTaxRates(), p.Billing.Country, p.Billing.Region)
	p.Totals = TotalsView{Subtotal: formatAmount(q.Subtotal, cs.GetCurrency(), p.Lang), Total: formatAmount(q.Total, cs.GetCurrency(), p.Lang), TaxLabel: q.Label()}
	if q.Discount > 0 {
		p.Totals.Discount = "−" + formatAmount(q.Discount, cs.GetCurrency(), p.Lang)
	}
	if q.Tax > 0 {
		p.Totals.Tax = formatAmount(q.Tax, cs.GetCurrency(), p.Lang)
	}
	if q.IncludedTax > 0 {
		p.Totals.IncludedTax = formatAmount(q.IncludedTax, cs.GetCurrency(), p.Lang)
	}
	for _, c := range country.List(language.Make(p.Lang)) {
		p.Countries = append(p.Countries, CountryOption{Code: c.Code, Name: c.Name, Selected: c.Code == p.Billing.Country})
	}
	if opts := payment.InstallmentOptions(co, q.Total); len(opts) > 1 && contains(p.Methods, "card") {
		t := newTranslator(p.Lang)
		p.Installments = make([]InstallmentView, len(opts))
		for i, o := range opts {
			each, last, total := formatAmount(o.Each, cs.GetCurrency(), p.Lang), formatAmount(o.Last, cs.GetCurrency(), p.Lang), formatAmount(o.Total, cs.GetCurrency(), p.Lang)
			label := t.T("installments.uneven", o.Count, o.Count-1, each, last, total)
			switch {
			case o.Count == 1:
				label = t.T("installments.single", total)
			case o.Each == o.Last:
				label = t.T("installments.even", o.Count, each, total)
			}
			p.Installments[i] = InstallmentView{Count: o.Count, Label: label}
		}
	}
	return q
}

// installmentsOf reads the chosen number of installments from the form: 1
// when the field is absent or empty; ok is false for anything but 1 – 12.
// Whether the session offers the count is the payment's to judge.
func installmentsOf(f url.Values) (n int, ok bool) {
	v := strings.TrimSpace(f.Get("installments"))
	if v == "" {
		return 1, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= money.MaxInstallments
}

func (h *Handler) paymentView(pay db.RuntimePayment, p *Page) PaymentView {
	return PaymentView{ID: pay.ID, Brand: brandName(deref(pay.CardBrand), p.Lang), Last4: deref(pay.CardLast4),
		Amount: formatAmount(pay.Amount, pay.Currency, p.Lang)}
}

// brandName is how a payer reads a card brand the provider reports ("visa").
func brandName(brand, lang string) string {
	switch brand {
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex":
		return "American Express"
	}
	return newTranslator(lang).T("payment.brand.card")
}

// show renders p with the page's security headers.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, code int, p *Page) {
	p.Nonce = randomToken(16)
	h.securityHeaders(w, p.Nonce, formTargets(p), usesStripe(p))
	if err := h.render.render(w, code, p); err != nil {
		h.Logger.ErrorContext(r.Context(), "rendering checkout page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// showView answers an open view, filling its slots with a fresh nonce and
// this browser's CSRF token.
func (h *Handler) showView(w http.ResponseWriter, r *http.Request, sessionID string, v *renderedView) {
	nonce, csrf := randomToken(16), h.csrfToken(w, r, sessionID)
	h.securityHeaders(w, nonce, v.formTargets, v.stripe)
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	v.fill(buf, nonce, csrf)
	_ = writePage(w, http.StatusOK, buf.Bytes()) // a write error means the client left
}

// formTargets are the page's CSP form-action sources. Browsers apply
// form-action to the redirect after a post: allow the session's own success
// and cancel origins.
func formTargets(p *Page) string {
	targets := "'self'"
	if contains(p.Methods, payment.MethodDirectDebit) && p.State == StateOpen {
		// The post's 303 to GoCardless's hosted payment pages.
		targets += gocardlessPayOrigins
	}
	for _, u := range []string{p.ContinueURL, p.Session.CancelURL} {
		if o := origin(u); o != "" {
			targets += " " + o
		}
	}
	return targets
}

// gocardlessPayOrigins host GoCardless's billing request flows (live and
// sandbox): where a direct-debit payer is sent to authorise.
const gocardlessPayOrigins = " https://pay.gocardless.com https://pay-sandbox.gocardless.com"

// Stripe's documented CSP sources for Stripe.js and the Payment Element
// (docs.stripe.com/security/guide#content-security-policy): its script and
// frames from js.stripe.com (and its subdomains), 3-D Secure frames from
// hooks.stripe.com, and its API. Nothing wider, and only on pages that load
// Stripe.js.
const (
	stripeScriptSrc  = " https://js.stripe.com https://*.js.stripe.com"
	stripeFrameSrc   = "; frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com"
	stripeConnectSrc = " https://api.stripe.com"
)

// usesStripe reports whether p loads Stripe.js: an open form whose card
// method is the site's Stripe account.
func usesStripe(p *Page) bool {
	return p.Stripe != nil && p.State == StateOpen
}

func (h *Handler) securityHeaders(w http.ResponseWriter, nonce, formTargets string, stripe bool) {
	hdr := w.Header()
	scriptSrc, frameSrc, connectSrc := "", "", ""
	if stripe {
		scriptSrc, frameSrc, connectSrc = stripeScriptSrc, stripeFrameSrc, stripeConnectSrc
	}
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+
		"'"+scriptSrc+frameSrc+"; img-src https: data:; connect-src 'self'"+connectSrc+"; form-action "+formTargets+
		"; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if h.Secure {
		hdr.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if outage(r, err) {
		h.unavailable(w, r, err)
		return
	}
	h.Logger.ErrorContext(r.Context(), "checkout page", "path", r.URL.Path, "err", err)
	if wantsJSON(r) {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"status": "error", "error": map[string]string{"code": "internal", "message": "An internal error occurred."}})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "An internal error occurred. Please try again.", http.StatusInternalServerError)
}

// codeUnavailable is the JSON error code of a "try again" answer.
const codeUnavailable = "temporarily_unavailable"

// unavailable answers 503 with Retry-After when a dependency (admin-api, the
// database) is down or too slow: a "try again" page, or JSON for
// `Accept: application/json`. It is an outage, not a bug: logged as a warning.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.Logger.WarnContext(r.Context(), "checkout page: a dependency is unavailable", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", httpx.RetryAfter)
	lang := negotiateLang("", r.Header.Get("Accept-Language"))
	if wantsJSON(r) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "error",
			"error": map[string]string{"code": codeUnavailable, "message": newTranslator(lang).T("err.unavailable")}})
		return
	}
	p := &Page{Lang: lang, State: StateUnavailable}
	if id, ok := sessionID(r); ok {
		p.PayURL = "/checkout/" + id + "/pay" // the "try again" link goes to the page
	}
	h.show(w, r, http.StatusServiceUnavailable, p)
}

// outage reports whether err is a dependency's outage (grpcx.Unavailable)
// while the payer is still waiting: a request the client gave up on is not.
func outage(r *http.Request, err error) bool {
	return grpcx.Unavailable(err) && r.Context().Err() == nil
}

// tryAgain answers an attempt that an outage interrupted: 503 with
// Retry-After, and the form again with what the payer entered and a message
// to try again (or JSON temporarily_unavailable).
func (h *Handler) tryAgain(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse, err error, form ...formState) {
	h.Logger.WarnContext(r.Context(), "checkout page: a dependency is unavailable", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", httpx.RetryAfter)
	h.answerError(w, r, co, http.StatusServiceUnavailable, codeUnavailable, "err.unavailable", nil, form...)
}

// providerRefused reports whether a provider account's call failed in a way
// the payer cannot fix by retrying at once: the account's key was refused,
// the provider refused the request (a token it does not know), or the
// account is not usable here. The payment is already marked failed.
func providerRefused(err error) bool {
	return errors.Is(err, stripe.ErrAuthentication) || errors.Is(err, paystack.ErrAuthentication) || errors.Is(err, provider.ErrInvalidRequest) ||
		errors.Is(err, provider.ErrUnknownReference) || errors.Is(err, provider.ErrNoAccountProvider)
}

// providerFailed answers a providerRefused error: 402 and the form again
// with a message that nothing was charged. The cause is logged for the
// operator (it names no secret: the provider errors never carry one).
func (h *Handler) providerFailed(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse, err error, form ...formState) {
	h.Logger.WarnContext(r.Context(), "checkout page: the payment provider refused the attempt", "path", r.URL.Path, "err", err)
	h.answerError(w, r, co, http.StatusPaymentRequired, "payment_failed", "stripe.failed", nil, form...)
}

// pageMethods are the methods the session's page offers: the session's own,
// and in live mode only those that work there (liveMethods, and card when
// the site's card account is a provider's own component: Stripe); direct
// debit only with the site's GoCardless account and a currency it collects.
func pageMethods(co *internalapiv1.GetCheckoutResponse) []string {
	cs := co.GetCheckoutSession()
	var out []string
	for _, m := range cs.GetPaymentMethodTypes() {
		switch {
		case m != "card" && chargesNothing(cs):
			// Only a card is saved without a payment (payment.setup).
		case m == payment.MethodDirectDebit:
			// Only through the site's GoCardless account, in a currency
			// its schemes collect, in either mode.
			if directDebitAccount(co) != nil && gocardless.Supports(cs.GetCurrency()) {
				out = append(out, m)
			}
		case m == payment.MethodMobileMoney:
			// Only with the site's account, in a currency it serves.
			if mobileMoneyOffered(co) {
				out = append(out, m)
			}
		case !cs.GetLivemode() || contains(liveMethods, m) || (m == "card" && stripeAccount(co) != nil):
			out = append(out, m)
		}
	}
	return out
}

// chargesNothing reports a subscription checkout that charges nothing
// today (its recurring prices are in a free trial): its card is saved, not
// charged.
func chargesNothing(cs *adminv1.CheckoutSession) bool {
	return cs.GetMode() == "subscription" && cs.GetAmountSubtotal()-cs.GetTotalDetails().GetAmountDiscount() == 0
}

// directDebitAccount returns the site's direct-debit account when it is a
// GoCardless account, else nil.
func directDebitAccount(co *internalapiv1.GetCheckoutResponse) *internalapiv1.CardProviderAccount {
	acct := co.GetDirectDebitProviderAccount()
	if acct.GetId() == "" || acct.GetProvider() != provider.NameGoCardless {
		return nil
	}
	return acct
}

// stripeAccount returns the site's card account when it is a Stripe account
// the page can use (it has a publishable key), else nil.
func stripeAccount(co *internalapiv1.GetCheckoutResponse) *internalapiv1.CardProviderAccount {
	acct := co.GetCardProviderAccount()
	if acct.GetId() == "" || acct.GetProvider() != provider.NameStripe || acct.GetPublishableKey() == "" {
		return nil
	}
	return acct
}

// postedCardField returns the first card field posted to a live session's
// page, or to any page whose card method is Stripe's, or "". Only the
// field's presence is looked at: its value is never read into a payment, a
// log line or an error.
func postedCardField(r *http.Request, co *internalapiv1.GetCheckoutResponse) string {
	if !co.GetCheckoutSession().GetLivemode() && stripeAccount(co) == nil {
		return ""
	}
	for _, f := range cardFields {
		if _, ok := r.PostForm[f]; ok {
			return f
		}
	}
	return ""
}

// refuseCard answers a live-mode post that carries card data: 400 naming the
// field, and the form again (without card inputs).
func (h *Handler) refuseCard(w http.ResponseWriter, r *http.Request, co *internalapiv1.GetCheckoutResponse, field string) {
	for _, f := range cardFields { // nothing after this may see the values
		delete(r.PostForm, f)
		delete(r.Form, f)
	}
	if wantsJSON(r) {
		lang := negotiateLang(co.GetCheckoutSession().GetLocale(), r.Header.Get("Accept-Language"))
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "error": map[string]string{
			"code": "card_entry_not_available", "param": field, "message": newTranslator(lang).T("err.card_live")}})
		return
	}
	h.answerError(w, r, co, http.StatusBadRequest, "card_entry_not_available", "err.card_live", nil)
}

// firstField returns the field of fields that comes first on the form (then
// any other, sorted), or "".
func firstField(fields map[string]string) string {
	for _, f := range formFields {
		if _, ok := fields[f]; ok {
			return f
		}
	}
	rest := slices.Sorted(maps.Keys(fields))
	if len(rest) > 0 {
		return rest[0]
	}
	return ""
}

// storable reports whether s can be sent over gRPC (valid UTF-8) and stored
// in a PostgreSQL text column (no NUL).
// csrfToken returns the form token for this browser and session, setting the
// browser's random cookie when it has none: a double-submit token bound to
// the session by an HMAC, so a token from another page does not work here.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request, sessionID string) string {
	c, err := r.Cookie(csrfCookie)
	value := ""
	if err == nil && len(c.Value) >= 22 {
		value = c.Value
	} else {
		value = randomToken(24)
		// Path "/": the page is served at /checkout/{id} and at
		// /c/{secure_token}, and a reload of either must find the cookie.
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: value, Path: "/", HttpOnly: true,
			Secure: h.Secure, SameSite: http.SameSiteLaxMode})
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: value})
	}
	return h.sign(value, sessionID)
}

func (h *Handler) sign(cookie, sessionID string) string {
	return signCSRF(h.CSRFKey, cookie, sessionID)
}

func signCSRF(key []byte, cookie, sessionID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(cookie + "|" + sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF checks the posted token against the current key and those
// accepted during a rotation.
func (h *Handler) validCSRF(r *http.Request, sessionID string) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil {
		return false
	}
	got := []byte(r.PostForm.Get("csrf_token"))
	for _, key := range append([][]byte{h.CSRFKey}, h.CSRFKeysAccepted...) {
		if hmac.Equal(got, []byte(signCSRF(key, c.Value, sessionID))) {
			return true
		}
	}
	return false
}

// withSessionID fills the session id (URL-encoded) in for the
// {CHECKOUT_SESSION_ID} placeholder of a success or cancel URL.
func withSessionID(raw, id string) string {
	return strings.ReplaceAll(raw, "{CHECKOUT_SESSION_ID}", url.QueryEscape(id))
}

// successURL is where a paid session sends the payer: its success URL with the
// session id filled in (URL-encoded) and, unless the site turned it off, the
// payment id as transaction_id (not for a post return: it posts to the URL
// as the merchant gave it).
func successURL(cs *adminv1.CheckoutSession, site *adminv1.Site) string {
	raw := withSessionID(cs.GetSuccessUrl(), cs.GetId())
	if !site.GetAppendTransactionId() || cs.GetPayment() == "" || cs.GetReturnMethod() == returnPost {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("transaction_id", cs.GetPayment())
	u.RawQuery = q.Encode()
	return u.String()
}

// clientIP is the payer's address for the attempt limits: the one
// httpx.ClientAddrs derived behind trusted proxies, else the TCP peer.
func clientIP(r *http.Request) netip.Addr { return httpx.ClientAddr(r) }

func declineKey(code string) string {
	switch code {
	case provider.DeclineCardDeclined, provider.DeclineInsufficientFunds, provider.DeclineAuthenticationFailed,
		provider.DeclineTestCardUnknown, provider.DeclineInvalidNumber, provider.DeclineExpiredCard,
		provider.DeclineInvalidExpiry, provider.DeclineInvalidCVC, provider.DeclineNotAuthorised, provider.DeclineDirectDebitFailed,
		provider.DeclineMobileMoneyDeclined, provider.DeclinePaymentTimeout:
		return code
	}
	return "generic"
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return len(s) <= maxEmailLen && at > 0 && strings.Contains(s[at:], ".") && !strings.ContainsAny(s, " <>\"")
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// scheme is the page's public URL scheme.
func (h *Handler) scheme() string {
	if h.Secure {
		return "https"
	}
	return "http"
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
