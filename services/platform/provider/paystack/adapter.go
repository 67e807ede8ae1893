package paystack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Adapter is one Paystack account as a provider.Provider (with
// provider.Resumer, provider.OTPSubmitter and provider.AuthorizationFinder)
// for the runtime's state machine.
type Adapter struct {
	c *Client
}

var (
	_ provider.Provider            = (*Adapter)(nil)
	_ provider.Resumer             = (*Adapter)(nil)
	_ provider.OTPSubmitter        = (*Adapter)(nil)
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

// Factory builds adapters for Paystack provider accounts, all against
// baseURL (empty: Paystack's API) with httpClient (nil: the default).
func Factory(baseURL string, httpClient *http.Client) provider.Factory {
	return func(creds provider.Credentials) (provider.Provider, error) {
		a, err := NewAdapter(Config{BaseURL: baseURL, SecretKey: creds.SecretKey, HTTPClient: httpClient})
		if err != nil {
			return nil, err
		}
		if a.c.Livemode() != creds.Livemode {
			return nil, fmt.Errorf("paystack: the account's key is livemode=%t, the account livemode=%t", a.c.Livemode(), creds.Livemode)
		}
		return a, nil
	}
}

// Client returns the adapter's client (hooks' verification uses Verify).
func (a *Adapter) Client() *Client { return a.c }

// Name is provider.NamePaystack.
func (a *Adapter) Name() string { return provider.NamePaystack }

// Authorize charges the payer's wallet (req.MobileMoney, validated again
// here: the page's check is for the payer, this one for us).
func (a *Adapter) Authorize(ctx context.Context, req provider.AuthorizeRequest) (provider.Result, error) {
	switch {
	case req.Card != nil || req.Token != "":
		return provider.Result{}, fmt.Errorf("%w: Paystack takes mobile money here, never a card", provider.ErrInvalidRequest)
	case req.MobileMoney == nil:
		return provider.Result{}, fmt.Errorf("%w: the payer's mobile-money wallet is required", provider.ErrInvalidRequest)
	case req.Livemode != a.c.Livemode():
		return provider.Result{}, fmt.Errorf("%w: a livemode=%t payment on a livemode=%t account", provider.ErrInvalidRequest, req.Livemode, a.c.Livemode())
	}
	cur := strings.ToUpper(req.Currency)
	phone, ferr := ParseWallet(cur, req.MobileMoney.Phone, req.MobileMoney.Network)
	if ferr != nil {
		return provider.Result{}, fmt.Errorf("%w: %v", provider.ErrInvalidRequest, ferr)
	}
	tx, err := a.c.Charge(ctx, Charge{Reference: req.PaymentID, Email: req.Email, Amount: req.Amount, Currency: cur,
		Phone: phone, Network: req.MobileMoney.Network})
	if err != nil {
		return provider.Result{}, err
	}
	if tx.Reference == "" {
		tx.Reference = req.PaymentID
	}
	return Outcome(tx, req.Amount, cur)
}

// SubmitOTP sends the payer's code for a send_otp charge and maps the
// answer as Authorize does. The amount of a success is checked by Resume's
// caller against the payment (the answer carries it; the call does not).
func (a *Adapter) SubmitOTP(ctx context.Context, reference, otp string) (provider.Result, error) {
	tx, err := a.c.SubmitOTP(ctx, reference, otp)
	if err != nil {
		return provider.Result{}, err
	}
	return outcomeOf(tx, reference)
}

// Resume verifies the transaction (GET /transaction/verify) and maps it.
func (a *Adapter) Resume(ctx context.Context, reference string) (provider.Result, error) {
	tx, err := a.c.Verify(ctx, reference)
	if err != nil {
		return provider.Result{}, err
	}
	return outcomeOf(tx, reference)
}

// ErrAwaitingPayer: FindAuthorization found the payment's transaction still
// waiting for the payer (a prompt or a code on their phone), who may yet
// approve it: ask again later.
var ErrAwaitingPayer = errors.New("paystack: the transaction still waits for the payer")

// FindAuthorization verifies the transaction of our payment paymentID,
// which Authorize made with the payment id as its reference. Paystack takes
// mobile money at once, so a successful one is answered Authorized and
// Captured (the reconciler refunds it); a failed, abandoned or reversed one
// holds nothing, nor does a reference Paystack does not know:
// provider.ErrUnknownReference. One still waiting for the payer is
// ErrAwaitingPayer, so that the payment is not failed while the payer can
// still pay it.
func (a *Adapter) FindAuthorization(ctx context.Context, paymentID string) (provider.Result, error) {
	tx, err := a.c.Verify(ctx, paymentID)
	if err != nil {
		return provider.Result{}, err
	}
	res, err := outcomeOf(tx, paymentID)
	switch {
	case err != nil:
		return provider.Result{}, err
	case res.Outcome == provider.Declined:
		return provider.Result{}, fmt.Errorf("%w: Paystack transaction %s is %q: it holds nothing", provider.ErrUnknownReference, paymentID, truncate(tx.Status))
	case res.Outcome == provider.ChallengeRequired:
		return provider.Result{}, fmt.Errorf("%w: %s is %q", ErrAwaitingPayer, paymentID, truncate(tx.Status))
	}
	return res, nil
}

// outcomeOf maps tx where the caller holds the expected amount: the
// Result carries the amount Paystack reports, which the runtime compares
// with the payment's.
func outcomeOf(tx Transaction, reference string) (provider.Result, error) {
	if tx.Reference == "" {
		tx.Reference = reference
	}
	if tx.Reference != reference {
		return provider.Result{}, fmt.Errorf("%w: Paystack answered for %q, not %q", ErrUnavailable, truncate(tx.Reference), reference)
	}
	r, err := Outcome(tx, tx.Amount, tx.Currency)
	r.Amount, r.Currency = tx.Amount, strings.ToUpper(tx.Currency)
	return r, err
}

// CompleteChallenge is the test provider's own form; Paystack's challenge
// is a code (SubmitOTP) or the payer's phone (Resume).
func (a *Adapter) CompleteChallenge(context.Context, string, bool) (provider.Result, error) {
	return provider.Result{}, fmt.Errorf("%w: Paystack's challenge is a code; submit it instead", provider.ErrNoChallenge)
}

// Capture checks that the transaction succeeded for amount: Paystack has
// taken the money already (Result.Captured), so there is nothing to send.
func (a *Adapter) Capture(ctx context.Context, reference string, amount int64) error {
	tx, err := a.c.Verify(ctx, reference)
	if err != nil {
		return err
	}
	switch {
	case tx.Status != StatusSuccess:
		return fmt.Errorf("%w: Paystack transaction %s is %q", provider.ErrNotCapturable, reference, truncate(tx.Status))
	case tx.Amount != amount:
		return fmt.Errorf("%w: Paystack took %d, not %d", provider.ErrCaptureAmount, tx.Amount, amount)
	}
	return nil
}

// Void cannot release a mobile-money payment: Paystack took the money at
// once. The runtime refunds a Captured payment instead.
func (a *Adapter) Void(context.Context, string) error {
	return fmt.Errorf("%w: Paystack captures mobile money at once; refund it", provider.ErrAlreadyCaptured)
}

// Refund refunds part or all of a transaction, once per refund id although
// Paystack takes no idempotency key: a refund Paystack answered before
// (req.ProviderRef) is read back (GET /refund/{id}); a retry of one never
// answered (req.FirstTried set) first looks for it among the account's
// refunds (GET /refund) and adopts it; only otherwise is one made (POST
// /refund).
func (a *Adapter) Refund(ctx context.Context, req provider.RefundRequest) (provider.RefundResult, error) {
	if req.RefundID == "" || req.Amount <= 0 {
		return provider.RefundResult{}, fmt.Errorf("%w: a refund id and a positive amount are required", provider.ErrInvalidRequest)
	}
	re, err := a.refund(ctx, req)
	if err != nil {
		return provider.RefundResult{}, err
	}
	out := provider.RefundResult{Status: provider.RefundPending}
	if re.ID != 0 {
		out.Reference = fmt.Sprint(re.ID)
	}
	switch re.Status {
	case "processed":
		out.Status = provider.RefundSucceeded
	case "failed":
		out.Status, out.FailureReason = provider.RefundFailed, "failed"
	}
	return out, nil
}

// refund reads, finds or makes req's refund (see Refund).
func (a *Adapter) refund(ctx context.Context, req provider.RefundRequest) (Refund, error) {
	if req.ProviderRef != "" {
		return a.c.FetchRefund(ctx, req.ProviderRef)
	}
	if !req.FirstTried.IsZero() {
		re, found, err := a.c.FindRefund(ctx, req.Reference, req.Amount, req.RefundID, req.FirstTried)
		if err != nil || found {
			return re, err
		}
	}
	return a.c.Refund(ctx, req.Reference, req.Amount, strings.ToUpper(req.Currency), req.RefundID)
}
