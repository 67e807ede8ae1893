package paystack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Transaction statuses Paystack answers in data.status (charge, submit_otp,
// verify). Paystack documents more for other channels (send_pin,
// send_birthday, open_url…); mobile money uses these.
const (
	StatusSuccess    = "success"
	StatusFailed     = "failed"
	StatusSendOTP    = "send_otp"
	StatusPayOffline = "pay_offline"
	StatusPending    = "pending"
	StatusOngoing    = "ongoing"
	StatusAbandoned  = "abandoned"
	StatusReversed   = "reversed"
	StatusProcessing = "processing"
	StatusQueued     = "queued"
)

// Transaction is the part of Paystack's transaction (a charge's, an OTP
// submission's or a verification's data) that we read.
type Transaction struct {
	Status          string `json:"status"`
	Reference       string `json:"reference"`
	Amount          int64  `json:"amount"`   // minor units (pesewas, cents)
	Currency        string `json:"currency"` // ISO 4217
	GatewayResponse string `json:"gateway_response"`
	Message         string `json:"message"`
	DisplayText     string `json:"display_text"`
	Channel         string `json:"channel"`
}

// Charge is one mobile-money charge.
type Charge struct {
	Reference string // our payment id: Paystack's unique reference
	Email     string
	Amount    int64  // minor units
	Currency  string // GHS or KES
	Phone     string // E.164, from ParseWallet
	Network   string // Paystack's operator code
}

// chargeRequest is POST /charge's body (Paystack's ChargeCreate with
// MobileMoney).
type chargeRequest struct {
	Email       string            `json:"email"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Reference   string            `json:"reference"`
	MobileMoney mobileMoney       `json:"mobile_money"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

type mobileMoney struct {
	Phone    string `json:"phone"`
	Provider string `json:"provider"`
}

// Charge starts a mobile-money charge (POST /charge). A charge Paystack
// refuses at once comes back as a failed Transaction, not an error.
func (c *Client) Charge(ctx context.Context, ch Charge) (Transaction, error) {
	switch {
	case !validReference(ch.Reference):
		return Transaction{}, fmt.Errorf("%w: the reference must be 1 to 100 letters, digits, -, ., = or _", provider.ErrInvalidRequest)
	case ch.Amount <= 0:
		return Transaction{}, fmt.Errorf("%w: amount must be positive, got %d", provider.ErrInvalidRequest, ch.Amount)
	case !Supports(ch.Currency):
		return Transaction{}, fmt.Errorf("%w: mobile money is not offered in %q", provider.ErrInvalidRequest, ch.Currency)
	case ch.Email == "":
		return Transaction{}, fmt.Errorf("%w: Paystack requires the payer's email", provider.ErrInvalidRequest)
	}
	var tx Transaction
	env, err := c.call(ctx, "POST", "/charge", chargeRequest{Email: ch.Email, Amount: ch.Amount, Currency: ch.Currency,
		Reference: ch.Reference, MobileMoney: mobileMoney{Phone: paystackPhone(ch.Currency, ch.Phone), Provider: ch.Network},
		Metadata: map[string]string{"payment_id": ch.Reference}}, &tx)
	return withMessage(tx, env), err
}

// SubmitOTP sends the code the payer received (POST /charge/submit_otp).
func (c *Client) SubmitOTP(ctx context.Context, reference, otp string) (Transaction, error) {
	if !validReference(reference) {
		return Transaction{}, fmt.Errorf("%w: bad reference", provider.ErrUnknownReference)
	}
	if otp == "" || len(otp) > 12 || strings.Trim(otp, "0123456789") != "" {
		return Transaction{}, fmt.Errorf("%w: the code must be up to 12 digits", provider.ErrInvalidRequest)
	}
	var tx Transaction
	env, err := c.call(ctx, "POST", "/charge/submit_otp", map[string]string{"otp": otp, "reference": reference}, &tx)
	return withMessage(tx, env), err
}

// Verify reads a transaction's status (GET /transaction/verify/{reference}):
// the only source a payment is settled from (a webhook's body is not).
func (c *Client) Verify(ctx context.Context, reference string) (Transaction, error) {
	if !validReference(reference) {
		return Transaction{}, fmt.Errorf("%w: bad reference", provider.ErrUnknownReference)
	}
	var tx Transaction
	env, err := c.call(ctx, "GET", "/transaction/verify/"+url.PathEscape(reference), nil, &tx)
	if errors.Is(err, provider.ErrInvalidRequest) && transactionNotFound(env) {
		// Paystack answers an unknown reference 400, not the 404 its
		// specification lists (which call maps already).
		err = fmt.Errorf("%w: Paystack has no transaction %s: %s", provider.ErrUnknownReference, reference, truncate(env.Message))
	}
	return withMessage(tx, env), err
}

// transactionNotFound reports whether Paystack's refusal says it has no
// transaction with the reference: code transaction_not_found, or, in the
// older answers without a code, the message "Transaction reference not
// found".
func transactionNotFound(env envelope) bool {
	return env.Code == "transaction_not_found" || strings.Contains(strings.ToLower(env.Message), "reference not found")
}

// withMessage fills tx.Message from the envelope when data had none, so a
// failed charge keeps Paystack's reason.
func withMessage(tx Transaction, env envelope) Transaction {
	if tx.Message == "" && !env.Status {
		tx.Message = env.Message
	}
	return tx
}

// validReference: Paystack allows letters, digits, -, ., = (and our ids
// have _); 100 characters is Paystack's bound.
func validReference(ref string) bool {
	if ref == "" || len(ref) > 100 {
		return false
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-.=_", c) >= 0) {
			return false
		}
	}
	return true
}

// Outcome maps a transaction onto the provider package's Result. want is
// the amount and currency we asked for: a success for another amount is
// an error, never an authorisation.
func Outcome(tx Transaction, wantAmount int64, wantCurrency string) (provider.Result, error) {
	r := provider.Result{Reference: tx.Reference, DisplayText: tx.DisplayText}
	switch tx.Status {
	case StatusSuccess:
		if tx.Amount != wantAmount || (tx.Currency != "" && !strings.EqualFold(tx.Currency, wantCurrency)) {
			return provider.Result{}, fmt.Errorf("paystack: transaction %s succeeded for %d %s, not %d %s",
				tx.Reference, tx.Amount, tx.Currency, wantAmount, wantCurrency)
		}
		r.Outcome, r.Captured = provider.Authorized, true
	case StatusFailed, StatusAbandoned, StatusReversed:
		r.Outcome = provider.Declined
		r.DeclineCode = DeclineCode(tx.GatewayResponse + " " + tx.Message)
		r.DeclineMessage = provider.DeclineMessage(r.DeclineCode)
	case StatusSendOTP:
		r.Outcome, r.NextAction = provider.ChallengeRequired, provider.NextActionOTP
	case StatusPayOffline, StatusPending, StatusOngoing, StatusProcessing, StatusQueued:
		// The payer still has to approve on the phone: an action of the
		// payer's (the session stays open and the page waits), not a
		// Pending result, which would complete the session unpaid.
		r.Outcome, r.NextAction = provider.ChallengeRequired, provider.NextActionApproveOnPhone
	default:
		// A status this adapter does not know (send_pin, open_url…: other
		// channels): not a decline we may show, nor a success.
		return provider.Result{}, fmt.Errorf("%w: transaction %s has status %q, which mobile money does not use",
			ErrUnavailable, tx.Reference, truncate(tx.Status))
	}
	return r, nil
}

// declineWords map Paystack's free-text reasons (gateway_response,
// message) onto our stable decline codes, first match wins.
var declineWords = []struct{ word, code string }{
	{"insufficient", provider.DeclineInsufficientFunds},
	{"not enough", provider.DeclineInsufficientFunds},
	{"timed out", provider.DeclinePaymentTimeout},
	{"timeout", provider.DeclinePaymentTimeout},
	{"expired", provider.DeclinePaymentTimeout},
	{"otp", provider.DeclineAuthenticationFailed},
	{"token", provider.DeclineAuthenticationFailed},
	{"invalid pin", provider.DeclineAuthenticationFailed},
	{"incorrect pin", provider.DeclineAuthenticationFailed},
}

// DeclineCode maps Paystack's reason text onto a stable code; anything it
// does not recognise is mobile_money_declined.
func DeclineCode(reason string) string {
	reason = strings.ToLower(reason)
	for _, w := range declineWords {
		if strings.Contains(reason, w.word) {
			return w.code
		}
	}
	return provider.DeclineMobileMoneyDeclined
}
