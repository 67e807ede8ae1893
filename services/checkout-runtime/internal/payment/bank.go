package payment

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Receipt is one report of money received for a bank-transfer payment.
type Receipt struct {
	// ID identifies the report (a bank-feed event or an admin
	// confirmation), so that a repeat counts once.
	ID string
	// Livemode is the mode of whoever reports it: the bank feed whose
	// secret verified the callback, or the merchant's API key. Only a
	// payment of that mode takes it.
	Livemode bool
	// Amount in minor units, 1 to money.MaxAmount; 0 means "all that is
	// still due".
	Amount int64
	// Currency must be the payment's; "" means the payment's.
	Currency string
}

// FundsReceived records money received for a bank-transfer payment, once per
// receipt id. When the receipts cover its amount, the payment claims its
// session (completeSession) and succeeds, and the session becomes paid; a
// partial amount is recorded but pays nothing. Money the payment cannot use
// (beyond its amount, after it was settled, canceled or failed, or for a
// session another payment took) is recorded too, as amount_overpaid, never
// dropped, with a payment.overpaid event: the merchant owes it back.
// A payment of the other mode is NotFound; a bad amount is Invalid naming
// "amount".
func (s *Service) FundsReceived(ctx context.Context, r Receipt, paymentID string) (db.RuntimePayment, error) {
	if r.Amount < 0 || r.Amount > money.MaxAmount {
		return db.RuntimePayment{}, errs.Param("amount", "amount_invalid", "amount must be between 1 and %d minor units.", int64(money.MaxAmount))
	}
	var p db.RuntimePayment
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		var err error
		// Locked: the status and the sums read here decide what is written.
		p, err = q.GetPaymentForUpdate(ctx, paymentID)
		if store.IsNoRows(err) {
			return errs.NotFoundf("payment_id", "No such payment: '%s'.", paymentID)
		} else if err != nil {
			return err
		}
		src := provider.CallbackSource{Provider: provider.NameBankTransfer, Mode: provider.ModeTest}
		if r.Livemode {
			src.Mode = provider.ModeLive
		}
		switch {
		case p.Livemode != r.Livemode:
			return s.checkSource(ctx, src, p)
		case p.Method != "bank_transfer" || p.Provider != provider.NameBankTransfer:
			return errs.Param("id", "payment_not_bank_transfer", "Only bank-transfer payments are confirmed by hand.")
		case r.Currency != "" && r.Currency != p.Currency:
			return errs.Param("currency", "currency_mismatch", "The payment is in %s, not %s.", p.Currency, r.Currency)
		}
		due := int64(0)
		if p.Status == StatusProcessing {
			due = max(p.Amount-p.AmountReceived, 0)
		}
		amount := r.Amount
		if amount == 0 {
			if amount = due; amount == 0 {
				return nil // nothing is due: a settled payment
			}
		}
		// Each receipt is at most money.MaxAmount, so this takes some 10^8
		// receipts for one payment; refused rather than overflow.
		if p.AmountReceived > math.MaxInt64-amount {
			return errs.Param("amount", "amount_invalid", "The funds recorded for this payment cannot grow further.")
		}
		if _, err := q.AddBankReceipt(ctx, db.AddBankReceiptParams{ID: r.ID, PaymentID: p.ID, Amount: amount, Currency: p.Currency}); store.IsNoRows(err) {
			return nil // this receipt counted already
		} else if err != nil {
			return fmt.Errorf("add receipt: %w", err)
		}
		over := amount - min(amount, due)
		if p, err = q.AddReceived(ctx, db.AddReceivedParams{ID: p.ID, Amount: amount, Overpaid: over}); err != nil || over == 0 {
			return err
		}
		s.Logger.WarnContext(ctx, "bank-transfer funds beyond what is due; recorded as overpaid",
			"payment", p.ID, "status", p.Status, "amount", amount, "overpaid", over, "amount_overpaid", p.AmountOverpaid)
		return emit(ctx, tx, p, EventPaymentOverpaid)
	})
	if err != nil || (p.Status != StatusProcessing && p.Status != StatusSucceeded) {
		return p, err
	} else if p.AmountReceived < p.Amount {
		return s.partialFunds(ctx, p)
	}
	if p.Status == StatusProcessing {
		// Covered: the session takes this payment first, as for a card's
		// later answer (claimSession). One another payment took (the payer
		// paid by card after the transfer's completion failed), or that
		// expired or is gone, cancels it instead, and all its funds are
		// owed back (payment.overpaid). Unknown (admin-api down): an error,
		// and the funds, recorded, are claimed again at the redelivery.
		c, err := s.claimSession(ctx, p)
		if err != nil || !c.Taken {
			return c.Payment, err
		}
		p = c.Payment
	}
	// Capture, or, when it succeeded already (a repeat after a crash),
	// tell admin-api again, which ignores a result it has.
	return s.settle(ctx, p, true, "")
}

// partialFunds answers a receipt that leaves p, a bank transfer, short of
// its amount: p waits for the rest while its session can still take it
// (complete with p, or open: the pay path's completion was lost). A session
// that another payment took, that expired or that is gone never will (as
// in completeSession, NotFound is gone): p is canceled and what it received
// is owed back now (cancelClosed), rather than held unseen.
func (s *Service) partialFunds(ctx context.Context, p db.RuntimePayment) (db.RuntimePayment, error) {
	if p.Status != StatusProcessing {
		return p, nil
	}
	co, err := s.Admin.GetCheckout(ctx, &internalapiv1.GetCheckoutRequest{SessionId: p.SessionID})
	if err != nil && status.Code(err) != codes.NotFound {
		return p, fmt.Errorf("get session: %w", err)
	}
	if cs := co.GetCheckoutSession(); cs.GetPayment() == p.ID || (cs.GetStatus() == "open" && cs.GetPayment() == "") {
		return p, nil
	}
	return s.cancelClosed(ctx, p)
}
