package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Adapter is one Stripe account as a provider.Provider (and
// provider.Resumer, provider.LaggingFinder), for the runtime's state
// machine: Authorize confirms the page's ConfirmationToken, Void cancels the
// intent, Resume reads it after Stripe.js handleNextAction; SetupCard saves
// a card without a payment.
type Adapter struct {
	c *Client
}

var (
	_ provider.Provider            = (*Adapter)(nil)
	_ provider.Resumer             = (*Adapter)(nil)
	_ provider.AuthorizationFinder = (*Adapter)(nil)
)

// NewAdapter returns the adapter for the account cfg describes.
func NewAdapter(cfg Config) (*Adapter, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &Adapter{c: c}, nil
}

// Factory builds adapters for Stripe provider accounts, all against baseURL
// (empty: Stripe's API) with httpClient (nil: stripe-go's default).
func Factory(baseURL string, httpClient *http.Client) provider.Factory {
	return func(creds provider.Credentials) (provider.Provider, error) {
		a, err := NewAdapter(Config{BaseURL: baseURL, SecretKey: creds.SecretKey, HTTPClient: httpClient})
		if err != nil {
			return nil, err
		}
		if a.c.Livemode() != creds.Livemode {
			return nil, fmt.Errorf("stripe: the account's key is livemode=%t, the account livemode=%t", a.c.Livemode(), creds.Livemode)
		}
		return a, nil
	}
}

// Name is provider.NameStripe.
func (a *Adapter) Name() string { return provider.NameStripe }

// Authorize creates and confirms the PaymentIntent (Client.Authorize) from
// req.Token, the page's ConfirmationToken.
func (a *Adapter) Authorize(ctx context.Context, req provider.AuthorizeRequest) (provider.Result, error) {
	if req.Card != nil {
		return provider.Result{}, fmt.Errorf("%w: Stripe takes a confirmation token, never card data", provider.ErrInvalidRequest)
	}
	res, err := a.c.Authorize(ctx, Intent{PaymentID: req.PaymentID, Amount: req.Amount, Currency: req.Currency,
		ConfirmationToken: req.Token, ReturnURL: req.ReturnURL, Livemode: req.Livemode,
		SaveForOffSession: req.SaveForOffSession, Email: req.Email})
	if err != nil {
		return provider.Result{}, err
	}
	return toProvider(res), nil
}

// AuthorizeSaved charges, off-session, a card an earlier Authorize with
// SaveForOffSession saved (its Result.SavedToken), for a subscription's
// renewal; it is captured like any authorisation.
func (a *Adapter) AuthorizeSaved(ctx context.Context, req provider.AuthorizeRequest, token string) (provider.Result, error) {
	res, err := a.c.ChargeSaved(ctx, SavedCharge{PaymentID: req.PaymentID, Amount: req.Amount, Currency: req.Currency,
		Livemode: req.Livemode, Token: token})
	if err != nil {
		return provider.Result{}, err
	}
	return toProvider(res), nil
}

// SetupCard saves the card of req.Token, the page's ConfirmationToken,
// without a payment (Client.SetupCard): a checkout that charges nothing
// today, a subscription's free trial.
func (a *Adapter) SetupCard(ctx context.Context, req provider.SetupRequest) (provider.Result, error) {
	if req.Card != nil {
		return provider.Result{}, fmt.Errorf("%w: Stripe takes a confirmation token, never card data", provider.ErrInvalidRequest)
	}
	res, err := a.c.SetupCard(ctx, Setup{SetupID: req.SetupID, ConfirmationToken: req.Token, ReturnURL: req.ReturnURL,
		Livemode: req.Livemode, Email: req.Email})
	if err != nil {
		return provider.Result{}, err
	}
	return toProvider(res), nil
}

// Resume reads the intent after the payer's next action: a PaymentIntent,
// or the SetupIntent (seti_…) of SetupCard.
func (a *Adapter) Resume(ctx context.Context, reference string) (provider.Result, error) {
	resume := a.c.Resume
	if strings.HasPrefix(reference, "seti_") {
		resume = a.c.ResumeSetup
	}
	res, err := resume(ctx, reference)
	if err != nil {
		return provider.Result{}, err
	}
	return toProvider(res), nil
}

// FindLag is how long Stripe's search may take to show an intent: normally
// a minute, up to an hour during an outage at Stripe (see FindIntent).
func (a *Adapter) FindLag() time.Duration { return time.Hour }

// FindAuthorization finds the intent Authorize made for our payment
// paymentID (Client.FindIntent: Stripe's search, eventually consistent).
func (a *Adapter) FindAuthorization(ctx context.Context, paymentID string) (provider.Result, error) {
	res, err := a.c.FindIntent(ctx, paymentID)
	if err != nil {
		return provider.Result{}, err
	}
	return toProvider(res), nil
}

// CompleteChallenge is the test provider's own challenge form; a Stripe
// intent's next action is passed in Stripe.js, then Resume.
func (a *Adapter) CompleteChallenge(context.Context, string, bool) (provider.Result, error) {
	return provider.Result{}, fmt.Errorf("%w: Stripe's next action is passed in Stripe.js; resume instead", provider.ErrNoChallenge)
}

// Capture captures amount (our minor units) of the intent. The interface
// carries no currency, so the intent is read for it first: one more call,
// on a path that runs once per paid session.
func (a *Adapter) Capture(ctx context.Context, reference string, amount int64) error {
	pi, err := a.c.retrieve(ctx, reference)
	if err != nil {
		return err
	}
	_, err = a.c.CaptureWithFee(ctx, reference, amount, string(pi.Currency))
	return err
}

// CaptureWithFee is Capture reporting Stripe's fee (provider.FeeCapturer):
// the caller gives the currency, so the intent is not read first.
func (a *Adapter) CaptureWithFee(ctx context.Context, reference string, amount int64, currency string) (provider.Fee, error) {
	return a.c.CaptureWithFee(ctx, reference, amount, currency)
}

// Void cancels the intent (Client.Cancel).
func (a *Adapter) Void(ctx context.Context, reference string) error {
	return a.c.Cancel(ctx, reference)
}

// Refund refunds part or all of a captured intent (Client.Refund).
func (a *Adapter) Refund(ctx context.Context, req provider.RefundRequest) (provider.RefundResult, error) {
	if req.Currency == "" {
		return provider.RefundResult{}, errors.New("stripe: refund: the currency is required")
	}
	re, err := a.c.Refund(ctx, req.Reference, req.Amount, req.Currency, req.RefundID)
	if err != nil {
		return provider.RefundResult{}, err
	}
	out := provider.RefundResult{Reference: re.ID, Status: provider.RefundPending}
	switch re.Status {
	case RefundSucceeded:
		out.Status = provider.RefundSucceeded
	case RefundFailed:
		out.Status, out.FailureReason = provider.RefundFailed, orDefault(re.FailureReason, "failed")
	}
	return out, nil
}

// toProvider maps the library's Result onto provider's.
func toProvider(r Result) provider.Result {
	return provider.Result{Outcome: r.Outcome, Reference: r.IntentID, Brand: r.Brand, Last4: r.Last4,
		DeclineCode: r.DeclineCode, DeclineMessage: r.DeclineMessage, ClientSecret: r.ClientSecret, Captured: r.Captured,
		SavedToken: r.SavedToken}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
