// Package payporter serves PayPorter's checkout API (seed 004) on admin-api:
// POST /api/checkout and GET /api/checkout/{checkoutId}, authenticated by the
// X-API-KEY (the key's id) and X-API-SECRET (its secret) headers. It only
// translates: requests become calls of the merchant API's gRPC services on
// admin-api's in-process connection (so authentication, idempotency,
// validation and rate limits run as for /v1), and their answers and errors
// become PayPorter's shapes.
//
// A PayPorter checkout is a checkout session: checkoutId is the session's
// uuid, callback is both its success and its cancel URL, and its return
// method is `post`, so that the hosted page sends the payer back with a form
// POST of checkoutId.
package payporter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// checkoutRequest is PayPorter's create body. amount and
// maxInstallmentCount stay raw, so that their exact text is judged here
// (a float would round 100.505).
type checkoutRequest struct {
	OrderID                string          `json:"orderId"`
	Amount                 json.RawMessage `json:"amount"`
	Currency               string          `json:"currency"`
	Description            string          `json:"description"`
	Callback               string          `json:"callback"`
	CustomerID             string          `json:"customerId"`
	MaxInstallmentCount    json.RawMessage `json:"maxInstallmentCount"`
	InterestPaidByCustomer *bool           `json:"interestPaidByCustomer"`
}

// maxBody bounds a create body: its fields are a few hundred bytes at most.
const maxBody = 64 << 10

// fieldOf maps the core API's parameter names to PayPorter's, for errors.
var fieldOf = map[string]string{
	"order_id":                     "orderId",
	"amount":                       "amount",
	"currency":                     "currency",
	"description":                  "description",
	"success_url":                  "callback",
	"cancel_url":                   "callback",
	"customer":                     "customerId",
	"max_installment_count":        "maxInstallmentCount",
	"installment_interest_paid_by": "interestPaidByCustomer",
	"id":                           "checkoutId",
	"uuid":                         "checkoutId",
}

// field is PayPorter's name of a core parameter ("" stays "", and a name
// PayPorter does not have is kept).
func field(param string) string {
	if f, ok := fieldOf[param]; ok {
		return f
	}
	return param
}

// decodeCreate reads a create body into the session request (on the
// organization's default site: PayPorter requests name none):
// required fields present, amount exact in the currency's minor units,
// maxInstallmentCount a whole number. Everything else is the core's to
// validate. Errors name PayPorter's field.
func decodeCreate(body io.Reader) (*adminv1.CreateCheckoutSessionRequest, error) {
	var in checkoutRequest
	if err := gateway.DecodeForeignBody(body, &in, gateway.BodyCodes{Invalid: "invalid_json", TooLarge: "request_too_large"}); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, value string }{{"orderId", in.OrderID}, {"currency", in.Currency}, {"callback", in.Callback}} {
		if strings.TrimSpace(f.value) == "" {
			return nil, errs.Param(f.name, "parameter_missing", "Missing required field: %s.", f.name)
		}
	}
	cur, err := money.ParseCurrency(in.Currency)
	if err != nil {
		return nil, errs.Param("currency", "parameter_invalid", "%s.", err)
	}
	amount, err := decimalAmount(in.Amount, cur)
	if err != nil {
		return nil, err
	}
	req := &adminv1.CreateCheckoutSessionRequest{
		Amount: proto.Int64(amount), Currency: cur.Code(), Description: in.Description,
		SuccessUrl: in.Callback, CancelUrl: in.Callback, Customer: in.CustomerID, OrderId: in.OrderID,
		InstallmentInterestPaidBy: "merchant", ReturnMethod: "post",
		MaxInstallmentCount: proto.Int32(1),
	}
	if in.InterestPaidByCustomer != nil && *in.InterestPaidByCustomer {
		req.InstallmentInterestPaidBy = "customer"
	}
	if raw := bytes.TrimSpace(in.MaxInstallmentCount); len(raw) > 0 && string(raw) != "null" {
		var n int32
		if err := json.Unmarshal(raw, &n); err != nil || n < 1 || n > money.MaxInstallments {
			return nil, errs.Param("maxInstallmentCount", "parameter_invalid", "maxInstallmentCount must be a whole number from 1 to %d.", money.MaxInstallments)
		}
		req.MaxInstallmentCount = proto.Int32(n)
	}
	return req, nil
}

// decimalAmount converts amount, a JSON number of major units, into minor
// units of cur exactly (money.ParseDecimal): more decimals than the currency
// has is refused, never rounded.
func decimalAmount(raw json.RawMessage, cur money.Currency) (int64, error) {
	text := string(bytes.TrimSpace(raw))
	if text == "" || text == "null" {
		return 0, errs.Param("amount", "parameter_missing", "Missing required field: amount.")
	}
	if text[0] == '"' || text[0] == '{' || text[0] == '[' || text == "true" || text == "false" {
		return 0, errs.Param("amount", "parameter_invalid_type", "amount must be a JSON number, such as 100.50.")
	}
	minor, err := money.ParseDecimal(text, cur)
	switch {
	case errors.Is(err, money.ErrTooManyDecimals):
		return 0, errs.Param("amount", "amount_too_precise", "amount %s has more decimals than %s has (%d); it is not rounded.", text, cur.Code(), cur.Exponent())
	case err != nil:
		return 0, errs.Param("amount", "amount_invalid", "amount must be a positive decimal number such as 100.50, at most %s.", money.FormatDecimal(money.MaxAmount, cur))
	case minor < 1:
		return 0, errs.Param("amount", "amount_invalid", "amount must be at least %s.", money.FormatDecimal(1, cur))
	}
	return minor, nil
}

// Status words of ApiPaymentResponse.
const (
	StatusSuccess = "SUCCESS"
	StatusFailed  = "FAILED"
	StatusPending = "PENDING"
	StatusExpired = "EXPIRED"
)

// statusOf is PayPorter's status of a session, given its latest payment
// (nil when there is none): SUCCESS once paid; EXPIRED when it expired
// unpaid; FAILED when its latest payment failed (an open session may still
// be paid with another attempt, and then becomes SUCCESS) or an
// asynchronous payment failed; PENDING otherwise (open, or a payment still
// processing).
func statusOf(cs *adminv1.CheckoutSession, latest *adminv1.Payment) string {
	switch {
	case cs.GetPaymentStatus() == "paid":
		return StatusSuccess
	case cs.GetStatus() == "expired":
		return StatusExpired
	case latest != nil && (latest.GetStatus() == "failed" || latest.GetStatus() == "canceled"):
		return StatusFailed
	}
	return StatusPending
}

// paymentResponse is PayPorter's ApiPaymentResponse. Amounts are decimal
// numbers of major units, exact to the currency's exponent.
type paymentResponse struct {
	CheckoutID             string      `json:"checkoutId"`
	OrderID                string      `json:"orderId"`
	Status                 string      `json:"status"`
	Amount                 json.Number `json:"amount"`
	Currency               string      `json:"currency"`
	Description            string      `json:"description,omitempty"`
	CustomerID             string      `json:"customerId,omitempty"`
	MaxInstallmentCount    int32       `json:"maxInstallmentCount"`
	InterestPaidByCustomer bool        `json:"interestPaidByCustomer"`
	// InstallmentCount and the amounts below are the plan of the latest
	// payment; 1 and the plain amount before any.
	InstallmentCount      int32       `json:"installmentCount"`
	InstallmentAmount     json.Number `json:"installmentAmount"`
	LastInstallmentAmount json.Number `json:"lastInstallmentAmount"`
	InterestAmount        json.Number `json:"interestAmount"`
	TotalAmount           json.Number `json:"totalAmount"`
	PaidAmount            json.Number `json:"paidAmount"`
	PaymentID             string      `json:"paymentId,omitempty"`
	CardBrand             string      `json:"cardBrand,omitempty"`
	CardLastFour          string      `json:"cardLastFour,omitempty"`
	FailureCode           string      `json:"failureCode,omitempty"`
	FailureMessage        string      `json:"failureMessage,omitempty"`
	CreatedAt             string      `json:"createdAt"`
	ExpiresAt             string      `json:"expiresAt"`
	CompletedAt           string      `json:"completedAt,omitempty"`
}

// encodePayment renders a session and its latest payment (or nil) as an
// ApiPaymentResponse.
func encodePayment(cs *adminv1.CheckoutSession, latest *adminv1.Payment) (paymentResponse, error) {
	cur, err := money.ParseCurrency(cs.GetCurrency())
	if err != nil {
		return paymentResponse{}, fmt.Errorf("session %s: %w", cs.GetId(), err)
	}
	dec := func(minor int64) json.Number { return json.Number(money.FormatDecimal(minor, cur)) }
	out := paymentResponse{
		CheckoutID: cs.GetUuid(), OrderID: cs.GetOrderId(), Status: statusOf(cs, latest),
		Amount: dec(cs.GetAmountTotal()), Currency: cs.GetCurrency(), Description: cs.GetDescription(), CustomerID: cs.GetCustomer(),
		MaxInstallmentCount: cs.GetMaxInstallmentCount(), InterestPaidByCustomer: cs.GetInstallmentInterestPaidBy() == "customer",
		InstallmentCount: 1, InstallmentAmount: dec(cs.GetAmountTotal()), LastInstallmentAmount: dec(cs.GetAmountTotal()),
		InterestAmount: dec(0), TotalAmount: dec(cs.GetAmountTotal()), PaidAmount: dec(0),
		CreatedAt: timestamp(cs.GetCreatedAt().AsTime()), ExpiresAt: timestamp(cs.GetExpiresAt().AsTime()),
	}
	if latest != nil {
		out.PaymentID, out.TotalAmount = latest.GetId(), dec(latest.GetAmount())
		out.InstallmentAmount, out.LastInstallmentAmount = out.TotalAmount, out.TotalAmount
		if in := latest.GetInstallments(); in != nil {
			out.InstallmentCount = max(in.GetCount(), 1)
			out.InstallmentAmount, out.LastInstallmentAmount = dec(in.GetAmountPerInstallment()), dec(in.GetAmountLastInstallment())
			out.InterestAmount = dec(in.GetAmountInterest())
		}
		out.CardBrand, out.CardLastFour = latest.GetCard().GetBrand(), latest.GetCard().GetLast4()
		out.FailureCode, out.FailureMessage = latest.GetFailureCode(), latest.GetFailureMessage()
	}
	if out.Status == StatusSuccess {
		out.PaidAmount = out.TotalAmount
	}
	if cs.GetCompletedAt() != nil {
		out.CompletedAt = timestamp(cs.GetCompletedAt().AsTime())
	}
	return out, nil
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
