package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/money"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/routing"
)

// OutboxSchema is where payment events are written.
const OutboxSchema = "runtime"

// Payment statuses.
const (
	StatusRequiresAction = "requires_action"
	StatusProcessing     = "processing"
	StatusSucceeded      = "succeeded"
	StatusFailed         = "failed"
	StatusCanceled       = "canceled"
)

// Limits defend against card testing: attempts per session and per client
// address within a window. They hold whatever the concurrency: the count and
// the insert of an attempt are atomic (store.CreatePaymentWithinLimits).
type Limits struct {
	PerSession, PerIP int
	Window            time.Duration
}

// DefaultLimits allow a payer several honest retries (typos, a second card)
// but stop a script trying card numbers.
var DefaultLimits = Limits{PerSession: 10, PerIP: 30, Window: time.Hour}

// Service runs payments.
type Service struct {
	Store     *store.Store
	Admin     internalapiv1.SessionServiceClient
	Providers *provider.Registry
	Limits    Limits
	// AsyncDelay is when the test provider's "succeeds later" card reports back.
	AsyncDelay time.Duration
	Logger     *slog.Logger
	// Breaker skips a route's accounts that keep failing (nil: none).
	Breaker *routing.Breaker
}

// Billing is the payer's billing details.
type Billing struct {
	Name, Email, Country, PostalCode, Region string
}

// Attempt is one submission of the payment form.
type Attempt struct {
	Checkout *internalapiv1.GetCheckoutResponse
	Method   string // card or bank_transfer
	Billing  Billing
	Card     *provider.Card
	// Token is the provider component's token (Stripe's ConfirmationToken)
	// for a card payment through the site's card provider account.
	Token string
	// ReturnURL is the page's absolute return URL: where a provider's
	// redirect-based next action sends the payer back. The payment's id is
	// added as the payment_id query parameter.
	ReturnURL string
	ClientIP  netip.Addr
	// Installments is the number of installments the payer chose for a
	// card payment (0 or 1: a single payment).
	Installments int
	// MobileMoney is the payer's wallet for a mobile_money attempt, as the
	// page validated it (E.164 phone, the network's code).
	MobileMoney *provider.MobileMoney
}

// Result is where an attempt ended.
type Result struct {
	Payment db.RuntimePayment
	// Session is the session after completion, when the attempt completed it.
	Session *adminv1.CheckoutSession
	// Closed: the session was completed or expired meanwhile; nothing was
	// charged (the authorisation was voided).
	Closed bool
	// ClientSecret is set when the payment requires an action in the
	// provider's script (Stripe.js handleNextAction); then Resume. It is
	// answered to the page, never stored or logged.
	ClientSecret string
	// RedirectURL is set when the payment requires the payer on the
	// provider's page (GoCardless's billing request flow): the page sends
	// the payer there; they come back to the return URL, then Resume.
	RedirectURL string
}

// MethodDirectDebit is the direct-debit payment method (GoCardless).
const MethodDirectDebit = "direct_debit"

// ErrRateLimited is returned when an attempt limit is reached.
var ErrRateLimited = errs.E(errs.RateLimited, "too_many_attempts", "Too many payment attempts; wait before trying again.")

// ErrTotalTooLarge is returned when the tax for the billing address takes the
// total over money.MaxAmount (session creation bounds the worst case, but a
// site's rates may have risen since).
var ErrTotalTooLarge = errs.Param("country", "amount_too_large",
	"With the tax for this billing address the total exceeds the largest amount that can be paid.")

// Pay runs one attempt: record it, authorise with the provider, and carry on
// as the provider answers.
func (s *Service) Pay(ctx context.Context, a Attempt) (Result, error) {
	cs, site := a.Checkout.GetCheckoutSession(), a.Checkout.GetSite()
	if cs.GetStatus() != "open" {
		return Result{Closed: true}, nil
	}
	q := QuoteFor(cs, site.GetTaxRates(), a.Billing.Country, a.Billing.Region)
	if q.Total > money.MaxAmount {
		return Result{}, ErrTotalTooLarge
	}
	if q.Total == 0 && cs.GetMode() == "subscription" {
		return s.setup(ctx, a, q) // a free trial: nothing to charge today
	}
	plan, err := installmentOption(a.Checkout, a.Method, a.Installments, q.Total)
	if err != nil {
		return Result{}, err
	} else if plan.Total > money.MaxAmount {
		return Result{}, ErrTotalTooLarge
	}
	id := ids.New("pay")
	route, err := s.plan(a, plan.Total, id)
	if err != nil {
		return Result{}, err
	}
	var ip *netip.Addr
	if a.ClientIP.IsValid() {
		ip = &a.ClientIP
	}
	first := route.targets[0]
	p, ok, err := s.Store.CreatePaymentWithinLimits(ctx, db.CreatePaymentParams{
		ID: id, SessionID: cs.GetId(), OrganizationID: a.Checkout.GetOrganizationId(), Livemode: cs.GetLivemode(),
		Method: a.Method, Provider: first.Provider, Currency: cs.GetCurrency(), Amount: plan.Total, AmountTax: q.Tax,
		Reference: cs.GetReference(), BillingName: a.Billing.Name, BillingEmail: a.Billing.Email,
		BillingCountry: a.Billing.Country, BillingPostalCode: a.Billing.PostalCode, BillingRegion: a.Billing.Region, ClientIp: ip,
	}, optional(first.AccountID), plan.storedPlan(), store.AttemptLimits{PerSession: s.Limits.PerSession, PerIP: s.Limits.PerIP, Since: time.Now().Add(-s.Limits.Window)})
	if err != nil {
		return Result{}, fmt.Errorf("create payment: %w", err)
	} else if !ok {
		return Result{}, ErrRateLimited
	}
	var save func(provider.Provider, db.RuntimePayment, provider.Result) completion
	if cs.GetMode() == "subscription" {
		// Renewals charge this card off-session, with this tax rate.
		save = func(prov provider.Provider, p db.RuntimePayment, res provider.Result) completion {
			return completion{savedPaymentMethod: s.saveCard(ctx, prov, p, a.Card, res), taxBps: exclusiveBps(q)}
		}
	}
	return s.authorize(ctx, p, route, provider.AuthorizeRequest{PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency,
		Livemode: p.Livemode, Card: a.Card, Token: a.Token, ReturnURL: withPaymentID(a.ReturnURL, p.ID),
		MobileMoney: a.MobileMoney, Email: a.Billing.Email, SaveForOffSession: save != nil}, save)
}

// Challenge finishes a card's authentication step.
func (s *Service) Challenge(ctx context.Context, sessionID, paymentID string, approve bool) (Result, error) {
	p, err := s.Store.GetPayment(ctx, paymentID)
	if store.IsNoRows(err) || (err == nil && p.SessionID != sessionID) {
		return Result{}, errs.NotFoundf("payment_id", "No such payment.")
	} else if err != nil {
		return Result{}, err
	}
	if p.Status != StatusRequiresAction {
		return Result{Payment: p}, nil // answered already (a double click, another tab)
	}
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return Result{}, err
	}
	res, err := prov.CompleteChallenge(ctx, deref(p.ProviderRef), approve)
	if err != nil {
		return Result{}, fmt.Errorf("complete challenge: %w", err)
	}
	done, err := s.completionFor(ctx, p)
	if err != nil {
		return Result{}, err
	}
	return s.afterAuthorize(ctx, prov, p, res, done, nil)
}

// ErrNotResumable refuses a resume of a payment whose provider has no
// next action of its own (the test provider's challenge is a form instead).
var ErrNotResumable = errs.Param("payment_id", "payment_not_resumable", "This payment has no provider action to resume.")

// Resume carries on with a payment after the payer's action in the
// provider's script (Stripe.js handleNextAction): the provider is asked
// where the payment stands, and the state machine continues as after
// Authorize. A payment that moved on already (a double post, a webhook
// first) is answered as it is. A card setup's id (setup_…, a free trial's
// checkout) resumes that setup (resumeSetup).
func (s *Service) Resume(ctx context.Context, sessionID, paymentID string) (Result, error) {
	if ids.HasPrefix(paymentID, SetupPrefix) {
		return s.resumeSetup(ctx, sessionID, paymentID)
	}
	p, err := s.Store.GetPayment(ctx, paymentID)
	if store.IsNoRows(err) || (err == nil && p.SessionID != sessionID) {
		return Result{}, errs.NotFoundf("payment_id", "No such payment.")
	} else if err != nil {
		return Result{}, err
	}
	if p.Status != StatusRequiresAction {
		return Result{Payment: p}, nil
	}
	if p.Provider == provider.NamePaystack {
		// Mobile money: verified, then applied conditionally (paystack.go).
		return s.settleMobileMoney(ctx, p)
	}
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return Result{}, err
	}
	r, ok := prov.(provider.Resumer)
	if !ok {
		return Result{}, ErrNotResumable
	}
	res, err := r.Resume(ctx, deref(p.ProviderRef))
	if err != nil {
		return Result{}, fmt.Errorf("resume: %w", err)
	}
	if res.SavedToken != "" {
		// Authorised after the payer's action: the provider saved the card now.
		s.saveCard(ctx, prov, p, nil, res)
	}
	done, err := s.completionFor(ctx, p)
	if err != nil {
		return Result{}, err
	}
	return s.afterAuthorize(ctx, prov, p, res, done, nil)
}

// ProviderFor returns the provider that made p: its provider account's
// (ForAccount) when it has one, else the built-in provider by name.
func (s *Service) ProviderFor(ctx context.Context, p db.RuntimePayment) (provider.Provider, error) {
	if p.ProviderAccount != nil {
		prov, err := s.Providers.ForAccount(ctx, *p.ProviderAccount)
		if status.Code(err) == codes.NotFound {
			// Deleted since: nothing can act on the payment through it, so
			// a callback for it is refused (never retried), not delayed.
			return nil, errs.NotFoundf("provider_account", "The provider account %s that made payment %s no longer exists.",
				*p.ProviderAccount, p.ID)
		}
		return prov, err
	}
	if prov := s.lookup(p.Provider); prov != nil {
		return prov, nil
	}
	return nil, fmt.Errorf("no provider %q", p.Provider)
}

// lookup returns the built-in provider name, or nil.
func (s *Service) lookup(name string) provider.Provider {
	prov, ok := s.Providers.Lookup(name)
	if !ok {
		return nil
	}
	return prov
}

// afterAuthorize carries on as the provider answered; done is what a
// subscription checkout's completion adds (zero for others). attempt, when
// not nil, is the attempt that got the answer, logged with it.
func (s *Service) afterAuthorize(ctx context.Context, prov provider.Provider, p db.RuntimePayment, res provider.Result, done completion,
	attempt *db.RecordPaymentAttemptParams) (Result, error) {
	set := db.SetAuthorizationParams{ID: p.ID, ProviderRef: optional(res.Reference), CardBrand: optional(res.Brand), CardLast4: optional(res.Last4),
		NextAction: optional(res.NextAction)}
	if attempt != nil {
		set = withAttempt(set, *attempt)
	}
	switch res.Outcome {
	case provider.Declined:
		set.Status, set.FailureCode, set.FailureMessage = StatusFailed, optional(res.DeclineCode), optional(res.DeclineMessage)
	case provider.ChallengeRequired:
		set.Status = StatusRequiresAction
	case provider.Pending:
		set.Status = StatusProcessing
		if p.Provider == provider.NameTest {
			due := time.Now().Add(s.AsyncDelay)
			set.AsyncDueAt = &due
		}
	default:
		set.Status = StatusProcessing
	}
	stored, err := s.setAuthorization(ctx, set)
	if store.IsNoRows(err) {
		// Settled meanwhile: the reconciler failed it after its grace
		// period, not knowing of this answer. Nothing may capture it now.
		return s.releaseLate(ctx, prov, p, res)
	} else if err != nil {
		return Result{}, err
	}
	p = stored
	if res.Outcome == provider.Declined || res.Outcome == provider.ChallengeRequired {
		return Result{Payment: p, ClientSecret: res.ClientSecret, RedirectURL: res.RedirectURL}, nil
	}

	// Authorised or pending: only now ask admin-api to complete the session.
	// Exactly one payment can win; the others are voided (invariants 1 and 2).
	paid := res.Outcome == provider.Authorized
	c, err := s.completeSession(ctx, prov, p, res, paid, done)
	if err != nil {
		// Unknown: the authorisation is kept for the PaymentReconciler.
		return Result{}, err
	} else if !c.Taken {
		return Result{Payment: c.Payment, Closed: true}, nil
	}
	p = c.Payment
	if paid {
		if res.Captured {
			// The provider took the money already (Stripe: a method that
			// ignores manual capture): nothing to capture.
		} else if err := s.capture(ctx, prov, p, res.Reference); err != nil {
			return Result{}, fmt.Errorf("capture %s: %w", p.ID, err)
		}
		if p, err = s.move(ctx, p, StatusSucceeded, "", "", StatusProcessing); err != nil {
			return Result{}, err
		}
	}
	return Result{Payment: p, Session: c.Session}, nil
}

// releaseLate gives back an authorisation that came after its payment was
// settled without it, and answers the payment as it stands.
// One that settled the payment (the reconciler or a webhook found the
// same mobile-money charge first) is the payment's own: kept as it is.
func (s *Service) releaseLate(ctx context.Context, prov provider.Provider, p db.RuntimePayment, res provider.Result) (Result, error) {
	now, err := s.Store.GetPayment(ctx, p.ID)
	if err != nil {
		return Result{}, err
	}
	if (res.Outcome == provider.Authorized || res.Outcome == provider.Pending) && deref(now.ProviderRef) != res.Reference {
		if err := s.release(ctx, prov, p, res); err != nil {
			return Result{}, err
		}
	}
	return Result{Payment: now}, nil
}

// release gives back an authorisation the lost session will not take: a
// void, or a full refund when the provider captured it already (Stripe's
// Cancel refuses a succeeded intent; Paystack's mobile money). The refund's
// id derives from the payment's, so that a retry refunds nothing more: an
// idempotency key, or for Paystack, which takes none, the merchant note it
// first looks for among the refunds made since the payment (FirstTried),
// since any call, this one's earlier try included, may have made it.
func (s *Service) release(ctx context.Context, prov provider.Provider, p db.RuntimePayment, res provider.Result) error {
	if !res.Captured {
		if err := prov.Void(ctx, res.Reference); err != nil {
			return fmt.Errorf("void %s: %w", p.ID, err)
		}
		return nil
	}
	_, err := prov.Refund(ctx, provider.RefundRequest{Reference: res.Reference, RefundID: "release_" + p.ID, Amount: p.Amount,
		Currency: p.Currency, FirstTried: p.CreatedAt})
	if err != nil {
		return fmt.Errorf("refund the captured %s of a closed session: %w", p.ID, err)
	}
	return nil
}

// ErrNotProvidersPayment refuses a provider's result for a payment that this
// provider did not make, or made in the other mode. It is NotFound, as for an
// unknown payment: a callback learns nothing about payments not its own.
var ErrNotProvidersPayment = errs.NotFoundf("payment_id", "No such payment of this provider in this mode.")

// AsyncResult applies a provider's later answer (the test provider's
// callback) from src: only to a payment that src's provider made in src's
// mode; any other is refused with ErrNotProvidersPayment, and logged.
// Repeats are harmless: admin-api is told again, and it ignores a result it
// already has.
func (s *Service) AsyncResult(ctx context.Context, src provider.CallbackSource, paymentID string, succeeded bool, failureCode string) (db.RuntimePayment, error) {
	p, err := s.Store.GetPayment(ctx, paymentID)
	if store.IsNoRows(err) {
		return p, errs.NotFoundf("payment_id", "No such payment: '%s'.", paymentID)
	} else if err != nil {
		return p, err
	}
	if err := s.checkSource(ctx, src, p); err != nil {
		return db.RuntimePayment{}, err
	}
	if succeeded && p.Status == StatusProcessing && p.IdempotencyKey == nil {
		// Its session decides whether this money is taken (invariant 1):
		// the pay path may have failed to complete it with p, and another
		// attempt may have completed it since.
		c, err := s.claimSession(ctx, p)
		if err != nil || !c.Taken {
			return c.Payment, err
		}
		p = c.Payment
	}
	return s.settle(ctx, p, succeeded, failureCode)
}

// checkSource refuses (and logs) a result from src for a payment that src's
// provider did not make in src's mode.
func (s *Service) checkSource(ctx context.Context, src provider.CallbackSource, p db.RuntimePayment) error {
	if p.Provider == src.Provider && p.Livemode == src.Livemode() && (src.Mode == provider.ModeLive || src.Mode == provider.ModeTest) {
		return nil
	}
	s.Logger.WarnContext(ctx, "provider result refused: not this provider's payment in this mode",
		"provider", src.Provider, "mode", src.Mode, "payment", p.ID, "payment_provider", p.Provider, "payment_livemode", p.Livemode)
	return ErrNotProvidersPayment
}

// capture takes p's money at its provider. When the provider reports its
// fee (Stripe), the fee is recorded before p moves to succeeded, so that the
// payment.succeeded event carries it; failing to record it is logged, not an
// error, as the money is taken either way.
func (s *Service) capture(ctx context.Context, prov provider.Provider, p db.RuntimePayment, ref string) error {
	fc, ok := prov.(provider.FeeCapturer)
	if !ok {
		return prov.Capture(ctx, ref, p.Amount)
	}
	fee, err := fc.CaptureWithFee(ctx, ref, p.Amount, p.Currency)
	if err != nil || fee.Currency == "" {
		return err
	}
	if err := s.Store.SetFee(ctx, db.SetFeeParams{ID: p.ID, Fee: fee.Amount, FeeCurrency: &fee.Currency}); err != nil {
		s.Logger.ErrorContext(ctx, "recording the provider's fee", "payment", p.ID, "err", err)
	}
	return nil
}

// settle applies a provider's final answer to p: capture and success, or
// failure, then tells admin-api.
func (s *Service) settle(ctx context.Context, p db.RuntimePayment, succeeded bool, failureCode string) (db.RuntimePayment, error) {
	var err error
	if p.Status == StatusProcessing {
		if succeeded {
			prov, perr := s.ProviderFor(ctx, p)
			if perr != nil {
				return p, perr
			}
			if err := s.capture(ctx, prov, p, deref(p.ProviderRef)); err != nil {
				return p, fmt.Errorf("capture %s: %w", p.ID, err)
			}
			p, err = s.move(ctx, p, StatusSucceeded, "", "", StatusProcessing)
			if isSecondCapture(err) {
				p, err = s.refundSecondCapture(ctx, prov, p)
			}
		} else {
			p, err = s.move(ctx, p, StatusFailed, failureCode, provider.DeclineMessage(failureCode), StatusProcessing)
		}
		if err != nil {
			return p, err
		}
	}
	if p.Status != StatusSucceeded && p.Status != StatusFailed {
		return p, nil
	}
	var done completion
	if p.Status == StatusSucceeded {
		if done, err = s.completionFor(ctx, p); err != nil {
			return p, err
		}
	}
	_, err = s.Admin.RecordAsyncPayment(ctx, &internalapiv1.RecordAsyncPaymentRequest{SessionId: p.SessionID, PaymentId: p.ID,
		Succeeded: p.Status == StatusSucceeded, SavedPaymentMethod: done.savedPaymentMethod, TaxBps: done.taxBps})
	if status.Code(err) == codes.FailedPrecondition {
		// The session did not wait for this payment (it was not the one
		// that completed it): nothing to record.
		return p, nil
	}
	return p, err
}

// isSecondCapture reports a move to succeeded that the database refused
// because another payment of the session succeeded (payments_one_captured).
func isSecondCapture(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.ConstraintName == "payments_one_captured"
}

// refundSecondCapture gives back the money of p, captured though another
// payment of its session succeeded: a state that only a capture made
// without the session's word leaves (async callbacks before claimSession).
// p is refunded in full and canceled, and it is logged as an error, so
// that its callback is acknowledged, not redelivered forever.
func (s *Service) refundSecondCapture(ctx context.Context, prov provider.Provider, p db.RuntimePayment) (db.RuntimePayment, error) {
	s.Logger.ErrorContext(ctx, "a second payment of the session was captured: refunding it in full",
		"payment", p.ID, "session", p.SessionID, "amount", p.Amount, "currency", p.Currency)
	return s.loseSession(ctx, prov, p, provider.Result{Reference: deref(p.ProviderRef), Captured: true})
}

// setAuthorization stores the provider's answer, with a payment.failed event
// when it is a decline.
func (s *Service) setAuthorization(ctx context.Context, set db.SetAuthorizationParams) (db.RuntimePayment, error) {
	if set.Status != StatusFailed {
		// No event goes with it: the update alone is atomic, and as one
		// autocommit statement it saves the BEGIN and COMMIT round trips on
		// every payment's path (docs/perf/payment-path.md).
		p, err := s.Store.Queries.SetAuthorization(ctx, set)
		if err != nil {
			return p, fmt.Errorf("store authorization: %w", err)
		}
		return p, nil
	}
	var p db.RuntimePayment
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		var err error
		if p, err = q.SetAuthorization(ctx, set); err != nil {
			return fmt.Errorf("store authorization: %w", err)
		}
		if p.Status == StatusFailed {
			return emit(ctx, tx, p, "payment.failed")
		}
		return nil
	})
	return p, err
}

// move changes a payment's status from one of from, with its event when the
// payment ends in success or failure.
func (s *Service) move(ctx context.Context, p db.RuntimePayment, to, code, msg string, from ...string) (db.RuntimePayment, error) {
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		moved, err := q.SetStatus(ctx, db.SetStatusParams{ID: p.ID, Status: to, FailureCode: optional(code),
			FailureMessage: optional(msg), FromStatuses: from, ProcessingFee: p.ProcessingFee, NetAmount: p.NetAmount})
		if store.IsNoRows(err) {
			// Someone else moved it first: report where it is now.
			p, err = q.GetPayment(ctx, p.ID)
			return err
		} else if err != nil {
			return fmt.Errorf("move payment to %s: %w", to, err)
		}
		p = moved
		switch to {
		case StatusSucceeded:
			return emit(ctx, tx, p, "payment.succeeded")
		case StatusFailed:
			return emit(ctx, tx, p, "payment.failed")
		}
		return nil
	})
	return p, err
}

// fail marks a payment failed after an error; best effort, for the record.
func (s *Service) fail(ctx context.Context, p db.RuntimePayment, code, msg string) {
	if _, err := s.move(context.WithoutCancel(ctx), p, StatusFailed, code, msg, StatusProcessing, StatusRequiresAction); err != nil {
		s.Logger.ErrorContext(ctx, "marking payment failed", "payment", p.ID, "err", err)
	}
}

// emit writes a payment event to the outbox in the caller's transaction.
// Payments that succeed or fail have no refunds yet: Proto(p) is whole.
func emit(ctx context.Context, tx pgx.Tx, p db.RuntimePayment, typ string) error {
	return emitPaymentObject(ctx, tx, p, Proto(p), typ)
}

// Proto renders a payment as the API object, without its refunds (see
// PaymentObject). The fee is what the provider reported at capture (0 for
// charge one.
func Proto(p db.RuntimePayment) *adminv1.Payment {
	out := &adminv1.Payment{Id: p.ID, Object: "payment", CheckoutSession: p.SessionID, Status: p.Status, Method: p.Method,
		Amount: p.Amount, AmountTax: p.AmountTax, AmountReceived: p.AmountReceived, AmountOverpaid: p.AmountOverpaid, Currency: p.Currency,
		FailureCode: p.FailureCode, FailureMessage: p.FailureMessage, Livemode: p.Livemode, CreatedAt: timestamppb.New(p.CreatedAt),
		Provider: p.Provider, AmountRefunded: p.AmountRefunded, Fee: p.Fee, FeeCurrency: deref(p.FeeCurrency), UpdatedAt: timestamppb.New(p.UpdatedAt),
		Refunds: []*adminv1.Refund{}, ProcessingFee: p.ProcessingFee, NetAmount: p.NetAmount}
	if p.PaymentMethodID != nil {
		// Off-session: its session_id column holds the invoice it pays.
		out.Invoice, out.CheckoutSession = &p.SessionID, ""
	}
	if p.Method == "card" {
		plan := money.InstallmentPlan(p.Amount, int(p.InstallmentCount), 0, false) // splits the amount as it was charged
		out.Installments = &adminv1.PaymentInstallments{Count: p.InstallmentCount, MonthlyInterestBps: p.InstallmentMonthlyBps,
			InterestPaidBy: p.InstallmentInterestPaidBy, AmountInterest: p.InstallmentInterest,
			AmountPerInstallment: plan.Each, AmountLastInstallment: plan.Last}
	}
	if p.CardLast4 != nil {
		out.Card = &adminv1.PaymentCard{Brand: deref(p.CardBrand), Last4: *p.CardLast4}
	}
	if p.DisputeID != nil {
		out.Dispute = &adminv1.PaymentDispute{Id: *p.DisputeID, Reason: deref(p.DisputeReason), Status: deref(p.DisputeStatus)}
		if p.DisputeAmount != nil {
			out.Dispute.Amount = *p.DisputeAmount
		}
		if p.DisputedAt != nil {
			out.Dispute.CreatedAt = timestamppb.New(*p.DisputedAt)
		}
	}
	return out
}

// withPaymentID adds payment_id=id to the URL raw ("" stays "").
func withPaymentID(raw, id string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("payment_id", id)
	u.RawQuery = q.Encode()
	return u.String()
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
