package payment

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// FundsReceived records money received for a bank-transfer payment, once per
// receipt id (a bank-feed event id or an admin confirmation). The payment
// succeeds, and its session becomes paid, when the receipts cover its amount;
// a partial amount is recorded but pays nothing. amount 0 means "all that is
// still due".
func (s *Service) FundsReceived(ctx context.Context, receiptID, paymentID string, amount int64, currency string) (db.RuntimePayment, error) {
	var p db.RuntimePayment
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		var err error
		p, err = q.GetPayment(ctx, paymentID)
		if store.IsNoRows(err) {
			return errs.NotFoundf("payment_id", "No such payment: '%s'.", paymentID)
		} else if err != nil {
			return err
		}
		switch {
		case p.Method != "bank_transfer":
			return errs.Param("id", "payment_not_bank_transfer", "Only bank-transfer payments are confirmed by hand.")
		case currency != "" && currency != p.Currency:
			return errs.Param("currency", "currency_mismatch", "The payment is in %s, not %s.", p.Currency, currency)
		case amount < 0:
			return errs.Param("amount", "amount_invalid", "amount must be positive.")
		}
		if amount == 0 {
			amount = p.Amount - p.AmountReceived
		}
		if amount <= 0 || p.Status != StatusProcessing {
			return nil // nothing is due: a repeat, or a settled payment
		}
		if _, err := q.AddBankReceipt(ctx, db.AddBankReceiptParams{ID: receiptID, PaymentID: p.ID, Amount: amount, Currency: p.Currency}); store.IsNoRows(err) {
			return nil // this receipt counted already
		} else if err != nil {
			return fmt.Errorf("add receipt: %w", err)
		}
		p, err = q.AddReceived(ctx, db.AddReceivedParams{ID: p.ID, AmountReceived: amount})
		return err
	})
	if err != nil || p.AmountReceived < p.Amount {
		return p, err
	}
	return s.AsyncResult(ctx, p.ID, true, "")
}
