package provider

import (
	"context"
	"errors"
	"testing"
)

// The test provider refunds captured money only, never more than was
// captured, and a repeated refund id moves nothing more.
func TestTestRefund(t *testing.T) {
	ctx := context.Background()
	p, _ := newTestProvider(t)
	res, err := p.Authorize(ctx, cardReq(TestCardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	ref := res.Reference
	if _, err := p.Refund(ctx, RefundRequest{Reference: ref, RefundID: "re_0", Amount: 100}); !errors.Is(err, ErrNotRefundable) {
		t.Fatalf("refund before capture: %v, want ErrNotRefundable", err)
	}
	if err := p.Capture(ctx, ref, 5000); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Refund(ctx, RefundRequest{Reference: ref, RefundID: "re_1", Amount: 3000}); err != nil || got.Status != RefundSucceeded || got.Reference == "" {
		t.Fatalf("first refund: %+v %v", got, err)
	}
	// A retry of re_1 succeeds and takes nothing more: 2000 are still left.
	if _, err := p.Refund(ctx, RefundRequest{Reference: ref, RefundID: "re_1", Amount: 3000}); err != nil {
		t.Fatalf("retried refund: %v", err)
	}
	if _, err := p.Refund(ctx, RefundRequest{Reference: ref, RefundID: "re_1", Amount: 10}); !errors.Is(err, ErrRefundAmount) {
		t.Fatalf("refund id reused with another amount: %v", err)
	}
	if _, err := p.Refund(ctx, RefundRequest{Reference: ref, RefundID: "re_2", Amount: 2001}); !errors.Is(err, ErrRefundAmount) {
		t.Fatalf("over-refund: %v, want ErrRefundAmount", err)
	}
	if _, err := p.Refund(ctx, RefundRequest{Reference: ref, RefundID: "re_2", Amount: 2000}); err != nil {
		t.Fatalf("refund of the rest: %v", err)
	}
	if _, err := p.Refund(ctx, RefundRequest{Reference: ref, RefundID: "re_3", Amount: 1}); !errors.Is(err, ErrRefundAmount) {
		t.Fatalf("refund beyond the capture: %v", err)
	}
	for _, bad := range []RefundRequest{{RefundID: "re_4", Amount: 1}, {Reference: ref, Amount: 1}, {Reference: ref, RefundID: "re_4"}} {
		if _, err := p.Refund(ctx, bad); err == nil {
			t.Errorf("Refund(%+v) succeeded", bad)
		}
	}

	// Another process (a fresh provider) carries on a reference it did not
	// issue: an authorisation the runtime captured is refundable, still
	// within its amount.
	other, _ := newTestProvider(t)
	res2, err := p.Authorize(ctx, cardReq(TestCardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Refund(ctx, RefundRequest{Reference: res2.Reference, RefundID: "re_5", Amount: 5001}); !errors.Is(err, ErrRefundAmount) {
		t.Fatalf("recalled over-refund: %v", err)
	}
	if _, err := other.Refund(ctx, RefundRequest{Reference: res2.Reference, RefundID: "re_5", Amount: 5000}); err != nil {
		t.Fatalf("recalled refund: %v", err)
	}
}

// A bank-transfer refund is recorded as sent by the merchant: it succeeds at once.
func TestBankTransferRefund(t *testing.T) {
	ctx := context.Background()
	p := NewBankTransfer()
	got, err := p.Refund(ctx, RefundRequest{Reference: "pay_1", RefundID: "re_1", Amount: 500})
	if err != nil || got.Status != RefundSucceeded || got.Reference != "re_1" {
		t.Fatalf("Refund: %+v %v", got, err)
	}
	if _, err := p.Refund(ctx, RefundRequest{Reference: "pay_1", RefundID: "re_1", Amount: 0}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("Refund of 0: %v", err)
	}
}
