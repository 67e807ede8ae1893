package payment

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/stripe"
)

// FailurePaymentCanceled is the failure code of a payment whose
// PaymentIntent Stripe canceled (expired authorisation, canceled in the
// dashboard) before it succeeded.
const FailurePaymentCanceled = "payment_canceled"

// applyStripe decodes and applies one published Stripe event from src; it
// returns the event id for the log.
func (c *Callbacks) applyStripe(ctx context.Context, src provider.CallbackSource, data []byte) (string, error) {
	var msg stripe.Message
	if err := json.Unmarshal(data, &msg); err != nil || msg.ProviderAccount == "" || msg.Event.ID == "" {
		return msg.Event.ID, fmt.Errorf("%w: not a Stripe event message", provider.ErrInvalidCallback)
	}
	return msg.Event.ID, c.Service.StripeEvent(ctx, src, msg.ProviderAccount, msg.Event)
}

// StripeEvent applies a Stripe event that hooks verified with the webhook
// secret of provider account `account`, in src's mode. It applies only to a
// payment made through that account in that mode, found by the
// PaymentIntent id (and, when the event carries our payment id in metadata,
// that id too); anything else is refused with ErrNotProvidersPayment and
// logged. Stripe delivers at least once and hooks deduplicates by event id,
// but a repeat is harmless anyway.
//
//   - payment_intent.succeeded: a processing or requires_action payment
//     succeeds (Stripe captured it: a pending payment Stripe confirmed),
//     its session completed first, and admin-api is told (Service.settle).
//   - payment_intent.amount_capturable_updated: a processing or
//     requires_action payment is now authorised: the session is completed,
//     then the payment captured (see stripeAuthorized).
//   - payment_intent.payment_failed and payment_intent.canceled: a
//     processing or requires_action payment fails.
//   - charge.refunded: refunds made in Stripe (its dashboard) that we did
//     not make are recorded as succeeded refunds (see stripeRefunded).
//   - charge.dispute.created: logged (an error-level line naming the
//     payment, dispute, reason and amount, for the operator and the
//     merchant); the payment itself is unchanged, as the dispute's outcome
//     is not known yet.
func (s *Service) StripeEvent(ctx context.Context, src provider.CallbackSource, account string, ev stripe.Event) error {
	if ev.PaymentIntentID == "" {
		// A charge without an intent was not made by us.
		return errs.NotFoundf("payment_intent", "The event is not about a PaymentIntent.")
	}
	p, err := s.Store.FindStripePayment(ctx, &ev.PaymentIntentID)
	if store.IsNoRows(err) {
		s.Logger.WarnContext(ctx, "stripe event refused: no payment has this PaymentIntent", "account", account, "mode", src.Mode,
			"event", ev.ID, "type", ev.Type, "payment_intent", ev.PaymentIntentID)
		return ErrNotProvidersPayment
	} else if err != nil {
		return err
	}
	if err := s.checkSource(ctx, src, p); err != nil {
		return err
	}
	if deref(p.ProviderAccount) != account || ev.Livemode != src.Livemode() || (ev.PaymentID != "" && ev.PaymentID != p.ID) {
		s.Logger.WarnContext(ctx, "stripe event refused: not this account's payment", "account", account, "mode", src.Mode,
			"event", ev.ID, "type", ev.Type, "payment", p.ID, "payment_account", deref(p.ProviderAccount), "metadata_payment", ev.PaymentID)
		return ErrNotProvidersPayment
	}
	switch ev.Type {
	case stripe.EventPaymentSucceeded:
		return s.stripeSucceeded(ctx, p, ev)
	case stripe.EventPaymentAuthorized:
		return s.stripeAuthorized(ctx, p, ev)
	case stripe.EventPaymentFailed, stripe.EventPaymentCanceled:
		code, msg := ev.FailureCode, provider.DeclineMessage(ev.FailureCode)
		if ev.Type == stripe.EventPaymentCanceled {
			code, msg = FailurePaymentCanceled, "The payment was canceled before it completed."
		}
		return s.providerFailed(ctx, p, code, msg)
	case stripe.EventChargeRefunded:
		return s.stripeRefunded(ctx, p, ev)
	case stripe.EventDisputeCreated:
		return s.stripeDisputed(ctx, p, ev)
	}
	return errs.Param("type", "callback_type_unknown", "Stripe event type %q is not applied.", ev.Type)
}

// providerFailed fails a processing or requires_action payment that its
// provider reports failed (code and msg for the payer), and tells admin-api
// (the session's async_payment_failed when it waited for it). A payment
// settled otherwise already is left as it is.
func (s *Service) providerFailed(ctx context.Context, p db.RuntimePayment, code, msg string) error {
	var err error
	if p.Status == StatusProcessing || p.Status == StatusRequiresAction {
		if p, err = s.move(ctx, p, StatusFailed, code, msg, StatusProcessing, StatusRequiresAction); err != nil {
			return err
		}
	}
	if p.Status != StatusFailed {
		return nil // settled otherwise already
	}
	_, err = s.settle(ctx, p, false, code)
	return err
}

// stripeSucceeded: Stripe has the money of a pending payment (processing),
// or of one that was waiting for the payer (requires_action: a payment
// method Stripe captures at once). The session is completed first, as on
// the page (a repeat of the page's or a pending payment's own completion
// answers the same); then the payment succeeds and admin-api is told.
func (s *Service) stripeSucceeded(ctx context.Context, p db.RuntimePayment, ev stripe.Event) error {
	if ev.Currency != p.Currency || ev.AmountReceived != p.Amount {
		s.Logger.ErrorContext(ctx, "stripe payment succeeded with another amount than ours; not applied", "payment", p.ID,
			"amount", p.Amount, "currency", p.Currency, "received", ev.AmountReceived, "received_currency", ev.Currency, "event", ev.ID)
		return errs.Param("amount", "amount_mismatch", "The amount received is not the payment's.")
	}
	return s.providerSucceeded(ctx, p, ev.ID)
}

// providerSucceeded: the provider has the money of a pending payment
// (processing), or of one that was waiting for the payer (requires_action:
// a method the provider captures at once, a direct debit whose payer never
// came back). The session is completed first, as on the page (a repeat of
// the page's or a pending payment's own completion answers the same); then
// the payment succeeds and admin-api is told (async_payment_succeeded for
// a session completed unpaid).
func (s *Service) providerSucceeded(ctx context.Context, p db.RuntimePayment, eventID string) error {
	var err error
	switch p.Status {
	case StatusProcessing, StatusRequiresAction:
		var closed bool
		p, _, closed, err = s.completePaid(ctx, p)
		if err != nil {
			return err
		}
		if closed {
			// The money is at the provider but the session went to another
			// payment or expired: it is refunded in full (release: the
			// refund's id derives from the payment's, so a redelivered
			// event refunds nothing more) and the payment canceled.
			return s.refundClosed(ctx, p, eventID)
		}
		if p, err = s.move(ctx, p, StatusSucceeded, "", "", StatusProcessing, StatusRequiresAction); err != nil {
			return err
		}
	case StatusSucceeded:
	case StatusCanceled:
		if deref(p.FailureCode) == failureSessionClosed {
			return nil // refunded when its session was found closed (refundClosed)
		}
		fallthrough
	default:
		// Taken by the provider while we count the payment failed or
		// canceled: someone must refund or reconcile it.
		s.Logger.ErrorContext(ctx, "the provider took a payment that is not pending here; refund or reconcile it at the provider",
			"payment", p.ID, "status", p.Status, "event", eventID)
		return errs.Param("status", "payment_not_pending", "The payment is %s.", p.Status)
	}
	// p is succeeded: settle captures nothing and tells admin-api.
	_, err = s.settle(ctx, p, true, "")
	return err
}

// refundClosed refunds in full a pending payment whose money the provider
// took after its session went to another payment or expired, and cancels
// it (session_closed): one payment per session (DESIGN §5), and the payer
// is not left charged for a checkout that is not theirs.
func (s *Service) refundClosed(ctx context.Context, p db.RuntimePayment, eventID string) error {
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return fmt.Errorf("provider for %s: %w", p.ID, err)
	}
	if err := s.release(ctx, prov, p, provider.Result{Reference: deref(p.ProviderRef), Captured: true}); err != nil {
		return err
	}
	s.Logger.WarnContext(ctx, "the provider took a payment whose session closed meanwhile; refunded in full",
		"payment", p.ID, "session", p.SessionID, "event", eventID)
	_, err = s.move(ctx, p, StatusCanceled, failureSessionClosed,
		"The checkout was completed or expired before the provider took this payment; it was refunded in full.",
		StatusProcessing, StatusRequiresAction)
	return err
}

// completePaid asks admin-api to complete p's session with p, paid, as
// the page does after an authorisation (used for payments a provider
// settled later: Stripe's events, mobile money); closed reports a session that
// another payment completed or that expired. admin-api answers a repeat for
// the same payment as the first call (the page's own, or a pending
// payment's unpaid completion, which RecordAsyncPayment then marks paid).
// It returns p with the session's processing fee, which p's next move
// stores, and the completed session.
func (s *Service) completePaid(ctx context.Context, p db.RuntimePayment) (_ db.RuntimePayment, cs *adminv1.CheckoutSession, closed bool, err error) {
	resp, err := s.Admin.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{SessionId: p.SessionID, PaymentId: p.ID,
		Paid: true, AmountTax: p.AmountTax, AmountTotal: p.Amount, PaymentMethod: p.Method,
		OrganizationId: p.OrganizationID, Livemode: p.Livemode, Currency: p.Currency})
	if status.Code(err) == codes.FailedPrecondition {
		return p, nil, true, nil
	} else if err != nil {
		return p, nil, false, fmt.Errorf("complete session: %w", err)
	}
	return withProcessingFee(p, resp.GetCheckoutSession()), resp.GetCheckoutSession(), false, nil
}

// stripeAuthorized: Stripe authorised a payment that is pending
// (processing) or was waiting for the payer (requires_action: the payer
// finished 3-D Secure but the page never came back). As on the page, the
// session is completed first and only then the payment captured; a session
// that closed meanwhile gets the authorisation canceled (invariants 1 and 2).
// Completing is safe to repeat: admin-api answers a retry for the same
// payment as the first call (the page's, or a pending payment's unpaid
// completion), and Capture is idempotent for the same amount, so racing the
// page's own resume captures once.
func (s *Service) stripeAuthorized(ctx context.Context, p db.RuntimePayment, ev stripe.Event) error {
	if p.Status != StatusProcessing && p.Status != StatusRequiresAction {
		s.Logger.InfoContext(ctx, "stripe authorisation not applied: the payment is not pending", "payment", p.ID, "status", p.Status, "event", ev.ID)
		return nil
	}
	if ev.Currency != p.Currency || ev.Amount != p.Amount {
		s.Logger.ErrorContext(ctx, "stripe authorised another amount than ours; not applied", "payment", p.ID,
			"amount", p.Amount, "currency", p.Currency, "authorised", ev.Amount, "authorised_currency", ev.Currency, "event", ev.ID)
		return errs.Param("amount", "amount_mismatch", "The amount authorised is not the payment's.")
	}
	// The account that made the payment captures it (credentials over
	// admin-api's internal gRPC; an outage is retried).
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return fmt.Errorf("provider for %s: %w", p.ID, err)
	}
	p, _, closed, err := s.completePaid(ctx, p)
	if err != nil {
		return err
	}
	if closed {
		if err := prov.Void(ctx, deref(p.ProviderRef)); err != nil {
			return fmt.Errorf("void %s: %w", p.ID, err)
		}
		_, err = s.move(ctx, p, StatusCanceled, "session_closed", "The checkout was completed or expired before this payment; nothing was charged.",
			StatusProcessing, StatusRequiresAction)
		return err
	}
	if p.Status == StatusRequiresAction {
		if p, err = s.move(ctx, p, StatusProcessing, "", "", StatusRequiresAction); err != nil {
			return err
		}
	}
	// Captures a processing payment, then tells admin-api (which marks a
	// pending payment's unpaid session paid).
	_, err = s.settle(ctx, p, true, "")
	return err
}

// stripeRefunded records the refunds made in Stripe that we did not make.
// Stripe's charge.refunded carries the charge's total refunded so far, not
// each refund: under the payment's lock, the part of that total beyond what
// our own refunds (pending or succeeded) account for is a refund made in
// Stripe, recorded as succeeded with payment.refunded and refund.succeeded
// events. Its idempotency key is the charge and the total, so a repeated or
// reordered report never counts twice; a report whose total our refunds
// already cover (our own refunds, older reports) changes nothing.
func (s *Service) stripeRefunded(ctx context.Context, p db.RuntimePayment, ev stripe.Event) error {
	if ev.Currency != p.Currency || ev.AmountRefunded > p.Amount {
		s.Logger.ErrorContext(ctx, "stripe refund report does not fit the payment; not applied", "payment", p.ID,
			"amount", p.Amount, "currency", p.Currency, "refunded", ev.AmountRefunded, "refunded_currency", ev.Currency, "event", ev.ID)
		return errs.Param("amount_refunded", "amount_mismatch", "The refunded amount does not fit the payment.")
	}
	if p.Status != StatusSucceeded {
		s.Logger.ErrorContext(ctx, "stripe refunded a payment that has not succeeded here", "payment", p.ID, "status", p.Status, "event", ev.ID)
		return errs.Param("status", "payment_not_refundable", "The payment is %s.", p.Status)
	}
	return s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		p, err := q.GetPaymentForUpdate(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("lock payment: %w", err)
		}
		reserved, err := q.ReservedForRefunds(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("sum refunds: %w", err)
		}
		extra := ev.AmountRefunded - reserved
		if extra <= 0 {
			return nil
		}
		meta, _ := json.Marshal(map[string]string{"stripe_charge": ev.ChargeID})
		key := "stripe:" + ev.ChargeID + ":" + strconv.FormatInt(ev.AmountRefunded, 10)
		ref, err := q.AddProviderRefund(ctx, db.AddProviderRefundParams{ID: ids.New("re"), PaymentID: p.ID, OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, Amount: extra, Currency: p.Currency, Metadata: meta, IdempotencyKey: &key})
		if store.IsNoRows(err) {
			return nil // recorded already
		} else if err != nil {
			return fmt.Errorf("record stripe refund: %w", err)
		}
		if p, err = q.AddRefunded(ctx, db.AddRefundedParams{ID: p.ID, Amount: extra}); err != nil {
			return fmt.Errorf("count refund: %w", err)
		}
		s.Logger.InfoContext(ctx, "refund made in stripe recorded", "payment", p.ID, "refund", ref.ID, "amount", extra, "event", ev.ID)
		if err := emitRefund(ctx, tx, ref, EventRefundSucceeded); err != nil {
			return err
		}
		obj, err := PaymentObject(ctx, q, p)
		if err != nil {
			return err
		}
		return emitPaymentObject(ctx, tx, p, obj, EventPaymentRefunded)
	})
}

// stripeDisputed records a dispute the payer's bank opened on p, once per
// dispute id, with a payment.disputed event: the money may still stay, and
// the provider's dashboard is where the merchant answers it, but the
// merchant must hear of it at once. It is logged at error level too, for
// the operator.
func (s *Service) stripeDisputed(ctx context.Context, p db.RuntimePayment, ev stripe.Event) error {
	if ev.Dispute == nil || ev.Dispute.ID == "" {
		return errs.Param("dispute", "dispute_missing", "A dispute event without its dispute.")
	}
	return s.recordDispute(ctx, p, ev.ID, ev.Dispute.ID, ev.Dispute.Reason, ev.Dispute.Status, ev.Amount, ev.Currency)
}

// recordDispute records a dispute the payer's bank opened on p, once per
// dispute id, with a payment.disputed event (see stripeDisputed).
func (s *Service) recordDispute(ctx context.Context, p db.RuntimePayment, eventID, disputeID, reason, status string, amount int64, currency string) error {
	s.Logger.ErrorContext(ctx, "dispute opened on a payment", "provider", p.Provider, "payment", p.ID, "organization", p.OrganizationID,
		"livemode", p.Livemode, "dispute", disputeID, "reason", reason, "status", status,
		"amount", amount, "currency", currency, "event", eventID)
	return s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		disputed, err := q.SetDispute(ctx, db.SetDisputeParams{ID: p.ID, DisputeID: &disputeID,
			DisputeReason: &reason, DisputeStatus: &status, DisputeAmount: &amount})
		if store.IsNoRows(err) {
			return nil // this dispute is recorded already
		} else if err != nil {
			return fmt.Errorf("record dispute: %w", err)
		}
		obj, err := PaymentObject(ctx, q, disputed)
		if err != nil {
			return err
		}
		return emitPaymentObject(ctx, tx, disputed, obj, EventPaymentDisputed)
	})
}
