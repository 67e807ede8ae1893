package tillpoint

import (
	"context"
	"iter"
	"net/url"
)

// PaymentService is /v1/payments.
type PaymentService struct{ c *Client }

// PaymentListParams filter a list of payments.
type PaymentListParams struct {
	ListParams
	CheckoutSession string
	Status          string
	Created         CreatedFilter
}

func (p *PaymentListParams) values() url.Values {
	if p == nil {
		return url.Values{}
	}
	v := p.ListParams.values()
	set(v, "checkout_session", p.CheckoutSession)
	set(v, "status", p.Status)
	p.Created.add(v)
	return v
}

// Get retrieves a payment with its newest refunds.
func (s *PaymentService) Get(ctx context.Context, paymentID string, opts ...RequestOption) (*Payment, error) {
	var out Payment
	return &out, s.c.do(ctx, "GET", "/v1/payments/"+id(paymentID), nil, nil, &out, opts)
}

// Confirm records funds seen on your own bank statement for a bank-transfer
// payment; a nil amount confirms all that is still due.
func (s *PaymentService) Confirm(ctx context.Context, paymentID string, amount *int64, opts ...RequestOption) (*Payment, error) {
	var out Payment
	body := struct {
		Amount *int64 `json:"amount,omitempty"`
	}{amount}
	return &out, s.c.do(ctx, "POST", "/v1/payments/"+id(paymentID)+"/confirm", nil, body, &out, opts)
}

// List returns one page of payments, newest first.
func (s *PaymentService) List(ctx context.Context, p *PaymentListParams, opts ...RequestOption) (*List[Payment], error) {
	return listPage[Payment](ctx, s.c, "/v1/payments", p.values(), opts)
}

// All yields every payment that matches p.
func (s *PaymentService) All(ctx context.Context, p *PaymentListParams, opts ...RequestOption) iter.Seq2[Payment, error] {
	return all[Payment](ctx, s.c, "/v1/payments", p.values(), opts)
}
