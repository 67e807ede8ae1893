package provider

import (
	"context"
	"fmt"
)

// BankTransfer is the bank-transfer provider. Nothing is authorised or moved
// by us: the payer is shown instructions with the session reference, and the
// payment is confirmed later by a signed funds.received callback from the
// bank feed or by an admin. It works in test and live mode.
type BankTransfer struct{}

// NewBankTransfer returns the bank-transfer provider.
func NewBankTransfer() *BankTransfer { return &BankTransfer{} }

// Name returns "bank_transfer".
func (*BankTransfer) Name() string { return NameBankTransfer }

// Authorize always answers Pending, with the payment id as the reference. A
// card in the request is refused: card data has no business here.
func (*BankTransfer) Authorize(ctx context.Context, req AuthorizeRequest) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := checkRequest(req); err != nil {
		return Result{}, err
	}
	if req.Card != nil {
		return Result{}, fmt.Errorf("%w: bank transfers take no card", ErrInvalidRequest)
	}
	return Result{Outcome: Pending, Reference: req.PaymentID}, nil
}

// CompleteChallenge fails: bank transfers have no challenge.
func (*BankTransfer) CompleteChallenge(ctx context.Context, reference string, _ bool) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	return Result{}, fmt.Errorf("%w: bank transfers have none", ErrNoChallenge)
}

// Capture succeeds without doing anything: the payer moves the money.
func (*BankTransfer) Capture(ctx context.Context, reference string, amount int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if reference == "" {
		return fmt.Errorf("%w: empty reference", ErrUnknownReference)
	}
	if amount <= 0 {
		return fmt.Errorf("%w: capture amount must be positive, got %d", ErrInvalidRequest, amount)
	}
	return nil
}

// Void succeeds without doing anything: nothing is held.
func (*BankTransfer) Void(ctx context.Context, reference string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if reference == "" {
		return fmt.Errorf("%w: empty reference", ErrUnknownReference)
	}
	return nil
}

// Refund records a refund as sent: the merchant sends the money back to the
// payer from its own bank account (we hold no funds and move none), so the
// refund succeeds at once, with the refund id as its reference.
func (*BankTransfer) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	if err := ctx.Err(); err != nil {
		return RefundResult{}, err
	}
	if err := checkRefund(req); err != nil {
		return RefundResult{}, err
	}
	return RefundResult{Status: RefundSucceeded, Reference: req.RefundID}, nil
}
