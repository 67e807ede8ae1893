package provider

import (
	"context"
	"errors"
	"testing"
)

func TestBankTransfer(t *testing.T) {
	ctx := context.Background()
	p := NewBankTransfer()
	for _, live := range []bool{false, true} {
		res, err := p.Authorize(ctx, AuthorizeRequest{PaymentID: "pay_42", Amount: 5000, Currency: "ghs", Livemode: live})
		if err != nil {
			t.Fatal(err)
		}
		if want := (Result{Outcome: Pending, Reference: "pay_42"}); res != want {
			t.Errorf("livemode %v: got %+v, want %+v", live, res, want)
		}
	}

	invalid := []AuthorizeRequest{
		{Amount: 5000, Currency: "GHS"},
		{PaymentID: "pay_1", Amount: 0, Currency: "GHS"},
		{PaymentID: "pay_1", Amount: 5000, Currency: "G"},
		{PaymentID: "pay_1", Amount: 5000, Currency: "GHS", Card: &Card{Number: TestCardSuccess}},
	}
	for _, req := range invalid {
		if _, err := p.Authorize(ctx, req); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Authorize(%+v): err = %v, want ErrInvalidRequest", req, err)
		}
	}

	if err := p.Capture(ctx, "pay_42", 5000); err != nil {
		t.Errorf("Capture: %v", err)
	}
	if err := p.Capture(ctx, "pay_42", 5000); err != nil {
		t.Errorf("second Capture: %v", err)
	}
	if err := p.Void(ctx, "pay_42"); err != nil {
		t.Errorf("Void: %v", err)
	}
	if err := p.Capture(ctx, "", 5000); !errors.Is(err, ErrUnknownReference) {
		t.Errorf("Capture of an empty reference: err = %v", err)
	}
	if err := p.Capture(ctx, "pay_42", 0); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("Capture of 0: err = %v", err)
	}
	if err := p.Void(ctx, ""); !errors.Is(err, ErrUnknownReference) {
		t.Errorf("Void of an empty reference: err = %v", err)
	}
	if _, err := p.CompleteChallenge(ctx, "pay_42", true); !errors.Is(err, ErrNoChallenge) {
		t.Errorf("CompleteChallenge: err = %v, want ErrNoChallenge", err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Authorize(cancelled, AuthorizeRequest{PaymentID: "pay_1", Amount: 1, Currency: "GHS"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Authorize: err = %v", err)
	}
	if err := p.Capture(cancelled, "pay_1", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Capture: err = %v", err)
	}
}
