package subscription

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// declinePaymentMethodMissing is the failure of a renewal whose saved
// payment method the runtime does not know (another mode's, or lost).
const declinePaymentMethodMissing = "payment_method_missing"

// RuntimeCharger charges through checkout-runtime's internal
// PaymentService, where every payment is made.
type RuntimeCharger struct {
	Payments internalapiv1.PaymentServiceClient
}

// ChargeOffSession asks the runtime to charge; a payment method it does
// not find is a failed attempt (dunning retries, then cancels), any other
// error is left to the caller's retry.
func (c RuntimeCharger) ChargeOffSession(ctx context.Context, req ChargeRequest) (ChargeResult, error) {
	resp, err := c.Payments.ChargeOffSession(ctx, &internalapiv1.ChargeOffSessionRequest{OrganizationId: req.OrganizationID,
		Livemode: req.Livemode, PaymentMethod: req.PaymentMethod, InvoiceId: req.InvoiceID, IdempotencyKey: req.IdempotencyKey,
		Amount: req.Amount, AmountTax: req.AmountTax, Currency: req.Currency})
	if status.Code(err) == codes.NotFound {
		return ChargeResult{DeclineCode: declinePaymentMethodMissing}, nil
	} else if err != nil {
		return ChargeResult{}, err
	}
	p := resp.GetPayment()
	return ChargeResult{PaymentID: p.GetId(), Succeeded: p.GetStatus() == "succeeded", DeclineCode: p.GetFailureCode()}, nil
}
