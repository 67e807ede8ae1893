package tillpoint

import (
	"context"
	"iter"
	"net/url"
)

// RefundService is /v1/refunds.
type RefundService struct{ c *Client }

// RefundParams create a refund; a nil Amount refunds all that is left.
type RefundParams struct {
	Payment  string            `json:"payment"`
	Amount   *int64            `json:"amount,omitempty"`
	Reason   string            `json:"reason,omitempty"` // duplicate, fraudulent or requested_by_customer
	Metadata map[string]string `json:"metadata,omitempty"`
}

// RefundListParams filter a list of refunds.
type RefundListParams struct {
	ListParams
	Payment string
}

func (p *RefundListParams) values() url.Values {
	if p == nil {
		return url.Values{}
	}
	v := p.ListParams.values()
	set(v, "payment", p.Payment)
	return v
}

// Create refunds a succeeded payment, in full or in part.
func (s *RefundService) Create(ctx context.Context, p *RefundParams, opts ...RequestOption) (*Refund, error) {
	var out Refund
	return &out, s.c.do(ctx, "POST", "/v1/refunds", nil, p, &out, opts)
}

// Get retrieves a refund.
func (s *RefundService) Get(ctx context.Context, refundID string, opts ...RequestOption) (*Refund, error) {
	var out Refund
	return &out, s.c.do(ctx, "GET", "/v1/refunds/"+id(refundID), nil, nil, &out, opts)
}

// List returns one page of refunds, newest first.
func (s *RefundService) List(ctx context.Context, p *RefundListParams, opts ...RequestOption) (*List[Refund], error) {
	return listPage[Refund](ctx, s.c, "/v1/refunds", p.values(), opts)
}

// All yields every refund that matches p.
func (s *RefundService) All(ctx context.Context, p *RefundListParams, opts ...RequestOption) iter.Seq2[Refund, error] {
	return all[Refund](ctx, s.c, "/v1/refunds", p.values(), opts)
}
