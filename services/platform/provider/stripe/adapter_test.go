package stripe

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// TestAdapterAgainstStripeMock runs every provider.Provider call of the
// adapter against stripe-mock: each request is valid and accepted.
func TestAdapterAgainstStripeMock(t *testing.T) {
	rec := &recorder{}
	p, err := Factory(testkit.StripeMock(t), &http.Client{Transport: rec, Timeout: 30 * time.Second})(provider.Credentials{
		AccountID: "pa_1", Provider: provider.NameStripe, SecretKey: testkit.StripeMockKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := p.Authorize(ctx, provider.AuthorizeRequest{PaymentID: "pay_a1", Amount: 1099, Currency: "EUR",
		Token: "ctoken_123", ReturnURL: "https://secure.example.com/checkout/cs_1"})
	if err != nil || res.Reference == "" {
		t.Fatalf("Authorize = %+v, %v", res, err)
	}
	wantForm(t, rec.last(t), map[string]string{"confirmation_token": "ctoken_123", "capture_method": "manual", "amount": "1099", "currency": "eur"})
	if _, err := p.(provider.Resumer).Resume(ctx, res.Reference); err != nil {
		t.Errorf("Resume: %v", err)
	}
	if err := p.Capture(ctx, res.Reference, 1099); err != nil {
		t.Errorf("Capture: %v", err)
	}
	if err := p.Void(ctx, res.Reference); err != nil {
		t.Errorf("Void: %v", err)
	}
	if _, err := p.Refund(ctx, provider.RefundRequest{Reference: res.Reference, RefundID: "re_1", Amount: 500, Currency: "EUR"}); err != nil {
		t.Errorf("Refund: %v", err)
	}
	rec.mu.Lock()
	for _, s := range rec.reqs {
		wantCommon(t, s)
	}
	rec.mu.Unlock()
	if _, err := p.Authorize(ctx, provider.AuthorizeRequest{PaymentID: "pay_a2", Amount: 1099, Currency: "EUR",
		Card: &provider.Card{Number: "4242424242424242"}, Token: "ctoken_1", ReturnURL: "https://x.example/"}); !errors.Is(err, provider.ErrInvalidRequest) {
		t.Errorf("Authorize with card data: err = %v, want ErrInvalidRequest", err)
	}
	if _, err := Factory("", nil)(provider.Credentials{SecretKey: "sk_live_x", Livemode: false}); err == nil {
		t.Error("a live key for a test-mode account was accepted")
	}
}
