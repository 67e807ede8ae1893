package payporter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// seedExample is the example request of seed 004, verbatim.
const seedExample = `{
"orderId": "ORD-12345",
"amount": 100.50,
"currency": "TRY",
"description": "Product purchase",
"callback": "https://example.com/payment-callback",
"maxInstallmentCount": 6,
"interestPaidByCustomer": true
}`

func TestDecodeCreate(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want *adminv1.CreateCheckoutSessionRequest
	}{
		{"seed example", seedExample, &adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(10050), Currency: "TRY",
			Description: "Product purchase", SuccessUrl: "https://example.com/payment-callback", CancelUrl: "https://example.com/payment-callback",
			OrderId: "ORD-12345", MaxInstallmentCount: proto.Int32(6), InstallmentInterestPaidBy: "customer", ReturnMethod: "post"}},
		{"defaults", `{"orderId":"A1","amount":7,"currency":"try","callback":"https://x.example/cb","customerId":"cus_9"}`,
			&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(700), Currency: "TRY",
				SuccessUrl: "https://x.example/cb", CancelUrl: "https://x.example/cb", Customer: "cus_9", OrderId: "A1",
				MaxInstallmentCount: proto.Int32(1), InstallmentInterestPaidBy: "merchant", ReturnMethod: "post"}},
		{"yen has no decimals", `{"orderId":"A1","amount":1500,"currency":"JPY","callback":"https://x.example/cb","interestPaidByCustomer":false,"maxInstallmentCount":null}`,
			&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(1500), Currency: "JPY",
				SuccessUrl: "https://x.example/cb", CancelUrl: "https://x.example/cb", OrderId: "A1",
				MaxInstallmentCount: proto.Int32(1), InstallmentInterestPaidBy: "merchant", ReturnMethod: "post"}},
	} {
		got, err := decodeCreate(strings.NewReader(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if !proto.Equal(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

func TestDecodeCreateRefuses(t *testing.T) {
	const ok = `"orderId":"A1","currency":"TRY","callback":"https://x.example/cb"`
	for _, tc := range []struct {
		body, field, code string
	}{
		{`{` + ok + `,"amount":100.505}`, "amount", "amount_too_precise"},
		{`{` + ok + `,"amount":100.500}`, "amount", "amount_too_precise"},
		{`{` + ok + `,"amount":"100.50"}`, "amount", "parameter_invalid_type"},
		{`{` + ok + `,"amount":-1}`, "amount", "amount_invalid"},
		{`{` + ok + `,"amount":0}`, "amount", "amount_invalid"},
		{`{` + ok + `,"amount":1e2}`, "amount", "amount_invalid"},
		{`{` + ok + `}`, "amount", "parameter_missing"},
		{`{"amount":1,"currency":"TRY","callback":"https://x.example/cb"}`, "orderId", "parameter_missing"},
		{`{"orderId":"A1","amount":1,"callback":"https://x.example/cb"}`, "currency", "parameter_missing"},
		{`{"orderId":"A1","amount":1,"currency":"TRY"}`, "callback", "parameter_missing"},
		{`{"orderId":"A1","amount":1,"currency":"ZZZ","callback":"https://x.example/cb"}`, "currency", "parameter_invalid"},
		{`{` + ok + `,"amount":1,"maxInstallmentCount":13}`, "maxInstallmentCount", "parameter_invalid"},
		{`{` + ok + `,"amount":1,"maxInstallmentCount":0}`, "maxInstallmentCount", "parameter_invalid"},
		{`{` + ok + `,"amount":1,"maxInstallmentCount":2.5}`, "maxInstallmentCount", "parameter_invalid"},
		{`{` + ok + `,"amount":1,"interestPaidByCustomer":"yes"}`, "interestPaidByCustomer", "parameter_invalid_type"},
		{`{` + ok + `,"amount":1,"orderId":5}`, "orderId", "parameter_invalid_type"},
		{`{` + ok + `,"amount":1,"installments":3}`, "installments", "parameter_unknown"},
		{`{` + ok + `,"amount":1}{}`, "", "invalid_json"},
		{``, "", "invalid_json"},
		{`[1]`, "", "parameter_invalid_type"},
	} {
		_, err := decodeCreate(strings.NewReader(tc.body))
		e, isErr := errs.As(err)
		if !isErr || e.Kind != errs.Invalid || e.Param != tc.field || e.Code != tc.code {
			t.Errorf("%s: got %v (param %q code %q), want %s on %q", tc.body, err, paramOf(e), codeOf(e), tc.code, tc.field)
		}
	}
}

func paramOf(e *errs.Error) string {
	if e == nil {
		return ""
	}
	return e.Param
}

func codeOf(e *errs.Error) string {
	if e == nil {
		return ""
	}
	return e.Code
}

// TestFieldNames: the core's parameter names come back as PayPorter's.
func TestFieldNames(t *testing.T) {
	for core, want := range map[string]string{"order_id": "orderId", "success_url": "callback", "cancel_url": "callback",
		"customer": "customerId", "max_installment_count": "maxInstallmentCount", "uuid": "checkoutId", "amount": "amount",
		"": "", "locale": "locale"} {
		if got := field(core); got != want {
			t.Errorf("field(%q) = %q, want %q", core, got, want)
		}
	}
}

func TestEncodePayment(t *testing.T) {
	created := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	session := func(status, paymentStatus string) *adminv1.CheckoutSession {
		return &adminv1.CheckoutSession{Id: "cs_1", Uuid: "123e4567-e89b-42d3-a456-426614174000", OrderId: proto.String("ORD-12345"),
			Status: status, PaymentStatus: paymentStatus, AmountTotal: 10050, Currency: "TRY", Description: proto.String("Product purchase"),
			MaxInstallmentCount: 6, InstallmentInterestPaidBy: "customer",
			CreatedAt: timestamppb.New(created), ExpiresAt: timestamppb.New(created.Add(24 * time.Hour))}
	}
	sixOf := &adminv1.Payment{Id: "pay_1", Status: "succeeded", Amount: 11250, Card: &adminv1.PaymentCard{Brand: "visa", Last4: "4242"},
		Installments: &adminv1.PaymentInstallments{Count: 6, MonthlyInterestBps: 199, InterestPaidBy: "customer",
			AmountInterest: 1200, AmountPerInstallment: 1875, AmountLastInstallment: 1875}}
	paid := session("complete", "paid")
	paid.CompletedAt = timestamppb.New(created.Add(time.Minute))
	declined := &adminv1.Payment{Id: "pay_2", Status: "failed", Amount: 10050, FailureCode: proto.String("card_declined"),
		Installments: &adminv1.PaymentInstallments{Count: 1, InterestPaidBy: "customer", AmountPerInstallment: 10050, AmountLastInstallment: 10050}}
	for _, tc := range []struct {
		name    string
		session *adminv1.CheckoutSession
		latest  *adminv1.Payment
		want    string
	}{
		{"open, no payment", session("open", "unpaid"), nil, `{"checkoutId":"123e4567-e89b-42d3-a456-426614174000","orderId":"ORD-12345",` +
			`"status":"PENDING","amount":100.50,"currency":"TRY","description":"Product purchase","maxInstallmentCount":6,` +
			`"interestPaidByCustomer":true,"installmentCount":1,"installmentAmount":100.50,"lastInstallmentAmount":100.50,` +
			`"interestAmount":0.00,"totalAmount":100.50,"paidAmount":0.00,"createdAt":"2026-11-30T07:00:00Z","expiresAt":"2026-12-01T07:00:00Z"}`},
		{"paid in 6", paid, sixOf, `{"checkoutId":"123e4567-e89b-42d3-a456-426614174000","orderId":"ORD-12345",` +
			`"status":"SUCCESS","amount":100.50,"currency":"TRY","description":"Product purchase","maxInstallmentCount":6,` +
			`"interestPaidByCustomer":true,"installmentCount":6,"installmentAmount":18.75,"lastInstallmentAmount":18.75,` +
			`"interestAmount":12.00,"totalAmount":112.50,"paidAmount":112.50,"paymentId":"pay_1","cardBrand":"visa","cardLastFour":"4242",` +
			`"createdAt":"2026-11-30T07:00:00Z","expiresAt":"2026-12-01T07:00:00Z","completedAt":"2026-11-30T07:01:00Z"}`},
		{"declined", session("open", "unpaid"), declined, `{"checkoutId":"123e4567-e89b-42d3-a456-426614174000","orderId":"ORD-12345",` +
			`"status":"FAILED","amount":100.50,"currency":"TRY","description":"Product purchase","maxInstallmentCount":6,` +
			`"interestPaidByCustomer":true,"installmentCount":1,"installmentAmount":100.50,"lastInstallmentAmount":100.50,` +
			`"interestAmount":0.00,"totalAmount":100.50,"paidAmount":0.00,"paymentId":"pay_2","failureCode":"card_declined",` +
			`"createdAt":"2026-11-30T07:00:00Z","expiresAt":"2026-12-01T07:00:00Z"}`},
	} {
		out, err := encodePayment(tc.session, tc.latest)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, _ := json.Marshal(out)
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		status, paymentStatus, latest, want string
	}{
		{"open", "unpaid", "", StatusPending},
		{"open", "unpaid", "failed", StatusFailed},
		{"open", "unpaid", "requires_action", StatusPending},
		{"complete", "paid", "succeeded", StatusSuccess},
		{"complete", "unpaid", "processing", StatusPending},
		{"complete", "unpaid", "failed", StatusFailed},
		{"expired", "unpaid", "", StatusExpired},
		{"expired", "unpaid", "failed", StatusExpired},
	} {
		var latest *adminv1.Payment
		if tc.latest != "" {
			latest = &adminv1.Payment{Status: tc.latest}
		}
		if got := statusOf(&adminv1.CheckoutSession{Status: tc.status, PaymentStatus: tc.paymentStatus}, latest); got != tc.want {
			t.Errorf("%s/%s with a %q payment: %s, want %s", tc.status, tc.paymentStatus, tc.latest, got, tc.want)
		}
	}
}
