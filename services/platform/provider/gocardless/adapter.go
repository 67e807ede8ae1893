package gocardless

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// MetadataPayment is the metadata key that carries our payment id (pay_…)
// on the billing request and, through the payment request, on the payment
// GoCardless creates from it; its events carry it in resource_metadata.
const MetadataPayment = "tillpoint_payment"

// MetadataRefund carries our refund id (re_…) on a refund.
const MetadataRefund = "tillpoint_refund"

// currencies are those GoCardless's schemes collect in: Bacs (GBP), SEPA
// (EUR), Autogiro (SEK), Betalingsservice (DKK), BECS (AUD), BECS NZ (NZD),
// PAD (CAD) and ACH (USD).
var currencies = map[string]bool{"GBP": true, "EUR": true, "SEK": true, "DKK": true, "AUD": true, "NZD": true, "CAD": true, "USD": true}

// Supports reports whether GoCardless collects in currency (ISO 4217,
// either case): the page offers Direct Debit only then.
func Supports(currency string) bool { return currencies[strings.ToUpper(currency)] }

// Adapter is one GoCardless account as a provider.Provider (and
// provider.Resumer): Authorize creates a billing request and its flow and
// sends the payer to GoCardless; Resume reads the billing request when the
// payer comes back.
type Adapter struct {
	c *Client
	// mandate, when set, makes every billing request ask for a reusable
	// mandate as well as the payment.
	mandate *MandateRequest
}

var (
	_ provider.Provider = (*Adapter)(nil)
	_ provider.Resumer  = (*Adapter)(nil)
)

// AdapterConfig is Config plus what the account wants of each payment.
type AdapterConfig struct {
	Config
	// ReusableMandate: ask the payer for a mandate the merchant can charge
	// again (a mandate_request beside the payment_request).
	ReusableMandate bool
	// MandateScheme forces the mandate's scheme (bacs, sepa_core, …);
	// empty lets GoCardless choose it from the currency.
	MandateScheme string
}

// NewAdapter returns the adapter for the account cfg describes.
func NewAdapter(cfg AdapterConfig) (*Adapter, error) {
	c, err := New(cfg.Config)
	if err != nil {
		return nil, err
	}
	a := &Adapter{c: c}
	if cfg.ReusableMandate {
		a.mandate = &MandateRequest{Scheme: cfg.MandateScheme}
	}
	return a, nil
}

// BaseURL is the API base for an account's mode: override when set (the
// GOCARDLESS_API_BASE setting, a test server), else LiveBaseURL or
// SandboxBaseURL.
func BaseURL(override string, livemode bool) string {
	switch {
	case override != "":
		return override
	case livemode:
		return LiveBaseURL
	}
	return SandboxBaseURL
}

// TokenLivemode reports the mode of an access token: GoCardless's tokens
// start with live_ or sandbox_.
func TokenLivemode(token string) (live bool, err error) {
	switch {
	case strings.HasPrefix(token, "live_"):
		return true, nil
	case strings.HasPrefix(token, "sandbox_"):
		return false, nil
	}
	return false, errors.New("gocardless: the access token must start with live_ or sandbox_")
}

// Factory builds adapters for GoCardless provider accounts against
// BaseURL(baseURL, the account's mode), with httpClient (nil: the default).
func Factory(baseURL string, httpClient *http.Client) provider.Factory {
	return func(creds provider.Credentials) (provider.Provider, error) {
		live, err := TokenLivemode(creds.SecretKey)
		if err != nil {
			return nil, err
		}
		if live != creds.Livemode {
			return nil, fmt.Errorf("gocardless: the account's token is livemode=%t, the account livemode=%t", live, creds.Livemode)
		}
		return NewAdapter(AdapterConfig{Config: Config{BaseURL: BaseURL(baseURL, live), AccessToken: creds.SecretKey, HTTPClient: httpClient},
			ReusableMandate: creds.ReusableMandate})
	}
}

// Name is provider.NameGoCardless.
func (a *Adapter) Name() string { return provider.NameGoCardless }

// Authorize creates the billing request for the payment (idempotent by our
// payment id) and its flow, and answers ChallengeRequired with the flow's
// authorisation URL: the payer authorises the debit on GoCardless's page,
// which sends them back to req.ReturnURL, leaving or done.
func (a *Adapter) Authorize(ctx context.Context, req provider.AuthorizeRequest) (provider.Result, error) {
	switch {
	case req.Card != nil || req.Token != "":
		return provider.Result{}, fmt.Errorf("%w: GoCardless takes no card data or token", provider.ErrInvalidRequest)
	case req.PaymentID == "" || req.Amount <= 0:
		return provider.Result{}, fmt.Errorf("%w: a payment id and a positive amount are required", provider.ErrInvalidRequest)
	case !Supports(req.Currency):
		return provider.Result{}, fmt.Errorf("%w: GoCardless does not collect %q", provider.ErrInvalidRequest, req.Currency)
	case req.ReturnURL == "":
		return provider.Result{}, fmt.Errorf("%w: a return URL is required", provider.ErrInvalidRequest)
	}
	meta := map[string]string{MetadataPayment: req.PaymentID}
	p := BillingRequestParams{Metadata: meta, PaymentRequest: PaymentRequest{Amount: req.Amount,
		Currency: strings.ToUpper(req.Currency), Description: "Payment " + req.PaymentID, Metadata: meta}}
	if a.mandate != nil {
		m := *a.mandate
		m.Currency, m.Metadata = p.PaymentRequest.Currency, meta
		p.MandateRequest = &m
	}
	br, err := a.c.CreateBillingRequest(ctx, p, req.PaymentID)
	if err != nil {
		return provider.Result{}, err
	}
	if br.Status != BillingRequestPending {
		// A repeat of a payment the payer already authorised (or left).
		return a.settled(ctx, br)
	}
	fp := FlowParams{RedirectURI: req.ReturnURL, ExitURI: req.ReturnURL}
	fp.Links.BillingRequest = br.ID
	flow, err := a.c.CreateFlow(ctx, fp)
	if err != nil {
		return provider.Result{}, err
	}
	if flow.AuthorisationURL == "" {
		return provider.Result{}, fmt.Errorf("%w: billing request flow %s has no authorisation_url", ErrUnavailable, flow.ID)
	}
	return provider.Result{Outcome: provider.ChallengeRequired, Reference: br.ID, RedirectURL: flow.AuthorisationURL}, nil
}

// Resume reads the billing request when the payer is back from GoCardless's
// page: fulfilled (its payment created) or being fulfilled is Pending, as a
// direct debit is collected days later and reported by webhooks; still
// pending means the payer left the page: the billing request is cancelled,
// so that it can no longer be finished, and the payment is declined.
func (a *Adapter) Resume(ctx context.Context, reference string) (provider.Result, error) {
	br, err := a.c.GetBillingRequest(ctx, reference)
	if err != nil {
		return provider.Result{}, err
	}
	if br.Status == BillingRequestPending {
		cancelled, err := a.c.CancelBillingRequest(ctx, br.ID)
		if errors.Is(err, provider.ErrInvalidRequest) {
			// Finished meanwhile (invalid_state): read it again.
			cancelled, err = a.c.GetBillingRequest(ctx, br.ID)
		}
		if err != nil {
			return provider.Result{}, err
		}
		br = cancelled
	}
	return a.settled(ctx, br)
}

// settled maps a billing request the payer is done with.
func (a *Adapter) settled(_ context.Context, br BillingRequest) (provider.Result, error) {
	switch br.Status {
	case BillingRequestFulfilled, BillingRequestFulfilling, BillingRequestReady:
		// The payment's id once it exists: its events name it. Until then
		// the billing request's, whose fulfilled event names the payment.
		ref := br.ID
		if br.Links.PaymentRequestPayment != "" {
			ref = br.Links.PaymentRequestPayment
		}
		return provider.Result{Outcome: provider.Pending, Reference: ref}, nil
	case BillingRequestCancelled:
		return provider.Result{Outcome: provider.Declined, Reference: br.ID, DeclineCode: provider.DeclineNotAuthorised,
			DeclineMessage: provider.DeclineMessage(provider.DeclineNotAuthorised)}, nil
	}
	return provider.Result{}, fmt.Errorf("%w: billing request %s is %q", provider.ErrNotCapturable, br.ID, br.Status)
}

// CompleteChallenge is the test provider's own form; a direct debit is
// authorised on GoCardless's page, then Resume.
func (a *Adapter) CompleteChallenge(context.Context, string, bool) (provider.Result, error) {
	return provider.Result{}, fmt.Errorf("%w: a direct debit is authorised on GoCardless's page; resume instead", provider.ErrNoChallenge)
}

// Capture does nothing: GoCardless collects a direct debit by itself once
// the payment exists, and its events say when the money arrived.
func (a *Adapter) Capture(context.Context, string, int64) error { return nil }

// Void cancels what reference names: a billing request (BRQ…) the payer has
// not finished, or a payment (PM…) not yet submitted to the bank. A payment
// that is cancelled or failed already is left as it is; one submitted is
// ErrAlreadyCaptured (only a refund gives the money back).
func (a *Adapter) Void(ctx context.Context, reference string) error {
	if strings.HasPrefix(reference, "BRQ") {
		br, err := a.c.GetBillingRequest(ctx, reference)
		if err != nil || br.Status == BillingRequestCancelled {
			return err
		}
		if br.Links.PaymentRequestPayment == "" {
			_, err = a.c.CancelBillingRequest(ctx, reference)
			return err
		}
		reference = br.Links.PaymentRequestPayment
	}
	p, err := a.c.GetPayment(ctx, reference)
	if err != nil {
		return err
	}
	switch p.Status {
	case "cancelled", "customer_approval_denied", "failed":
		return nil
	}
	_, err = a.c.CancelPayment(ctx, reference)
	return err
}

// Refund refunds part or all of a payment (PM…), idempotent by our refund
// id. GoCardless's refund is pending until it is paid to the payer.
func (a *Adapter) Refund(ctx context.Context, req provider.RefundRequest) (provider.RefundResult, error) {
	if req.Reference == "" || req.RefundID == "" || req.Amount <= 0 {
		return provider.RefundResult{}, fmt.Errorf("%w: a payment reference, a refund id and a positive amount are required", provider.ErrInvalidRequest)
	}
	if !strings.HasPrefix(req.Reference, "PM") {
		// A billing request not fulfilled made no payment.
		return provider.RefundResult{}, fmt.Errorf("%w: %s is not a GoCardless payment", provider.ErrNotRefundable, req.Reference)
	}
	p := RefundParams{Amount: req.Amount, Metadata: map[string]string{MetadataRefund: req.RefundID}}
	p.Links.Payment = req.Reference
	re, err := a.c.CreateRefund(ctx, p, req.RefundID)
	if err != nil {
		return provider.RefundResult{}, err
	}
	out := provider.RefundResult{Reference: re.ID, Status: provider.RefundPending}
	switch re.Status {
	case "paid":
		out.Status = provider.RefundSucceeded
	case "cancelled", "bounced":
		out.Status, out.FailureReason = provider.RefundFailed, "refund_"+re.Status
	}
	return out, nil
}
