package collection

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

func i64(n int64) *int64 { return &n }

func session(status, paymentStatus string, total int64, fee, net *int64) *adminv1.CheckoutSession {
	created := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	pay := "pay_1"
	return &adminv1.CheckoutSession{Id: "cs_1", Status: status, PaymentStatus: paymentStatus, AmountTotal: total, Currency: "USD",
		Reference: "TP-AAAA-BBBB", OrderId: &pay, Description: &pay, Url: "https://secure.test/checkout/cs_1",
		CreatedAt: timestamppb.New(created), ExpiresAt: timestamppb.New(created.Add(time.Hour)), ProcessingFee: fee, NetAmount: net}
}

func TestFromSession(t *testing.T) {
	quote := func() (int64, int64, error) { return 104, 2446, nil }
	for _, tc := range []struct {
		name           string
		cs             *adminv1.CheckoutSession
		status, amount string
		fee, net       string
	}{
		{"open: PENDING with the quote", session("open", "unpaid", 2550, nil, nil), StatusPending, "25.50", "1.04", "24.46"},
		{"paid: COMPLETED with the recorded fee", session("complete", "paid", 2550, i64(77), i64(2473)), StatusCompleted, "25.50", "0.77", "24.73"},
		{"complete, unpaid (bank transfer on its way): PENDING", session("complete", "unpaid", 100, i64(0), i64(100)), StatusPending, "1.00", "0.00", "1.00"},
		{"expired: nothing collected", session("expired", "unpaid", 999, nil, nil), StatusExpired, "9.99", "0.00", "0.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fee, net, err := Fees(tc.cs, quote)
			if err != nil {
				t.Fatal(err)
			}
			o, err := FromSession(tc.cs, Status(tc.cs), fee, net)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != tc.status || string(o.Amount) != tc.amount || string(o.Fee) != tc.fee || string(o.NetAmount) != tc.net {
				t.Fatalf("got %s %s %s %s; want %s %s %s %s", o.Status, o.Amount, o.Fee, o.NetAmount, tc.status, tc.amount, tc.fee, tc.net)
			}
			if o.CollectionID != "cs_1" || o.CheckoutURL != tc.cs.GetUrl() || o.ExpiresAt != "2026-11-30T09:00:00Z" || o.Currency != "USD" {
				t.Fatalf("fields: %+v", o)
			}
		})
	}
}

func TestCallback(t *testing.T) {
	paid := session("complete", "paid", 2550, i64(77), i64(2473))
	for _, tc := range []struct {
		typ    string
		cs     *adminv1.CheckoutSession
		status string
	}{
		{"checkout.session.completed", paid, StatusCompleted},
		{"checkout.session.completed", session("complete", "unpaid", 2550, i64(77), i64(2473)), ""}, // still waiting for the money
		{"checkout.session.async_payment_succeeded", paid, StatusCompleted},
		{"checkout.session.async_payment_failed", session("complete", "unpaid", 2550, i64(77), i64(2473)), StatusFailed},
		{"checkout.session.expired", session("expired", "unpaid", 2550, nil, nil), StatusExpired},
		{"payment.succeeded", paid, ""},
	} {
		body, err := Callback(tc.typ, tc.cs)
		if err != nil {
			t.Fatal(err)
		}
		if tc.status == "" {
			if body != nil {
				t.Errorf("%s: a callback %s, want none", tc.typ, body)
			}
			continue
		}
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil || got["status"] != tc.status || got["collectionId"] != "cs_1" {
			t.Errorf("%s: %s, %v; want status %s", tc.typ, body, err, tc.status)
		}
		if tc.status == StatusFailed && (got["fee"] != 0.0 || got["netAmount"] != 0.0) {
			t.Errorf("a failed payment shows a fee: %s", body)
		}
	}
}
