package tillpoint

import (
	"context"
	"iter"
)

// WebhookEndpointService is /v1/webhook_endpoints.
type WebhookEndpointService struct{ c *Client }

// WebhookEndpointParams create an endpoint.
type WebhookEndpointParams struct {
	URL           string   `json:"url"`
	EnabledEvents []string `json:"enabled_events,omitempty"`
	Description   string   `json:"description,omitempty"`
}

// WebhookEndpointUpdateParams change only the fields that are set.
type WebhookEndpointUpdateParams struct {
	URL           *string  `json:"url,omitempty"`
	EnabledEvents []string `json:"enabled_events,omitempty"`
	Description   *string  `json:"description,omitempty"`
	Disabled      *bool    `json:"disabled,omitempty"`
}

const webhookEndpoints = "/v1/webhook_endpoints"

// Create registers an endpoint; the answer carries its signing Secret,
// shown only here.
func (s *WebhookEndpointService) Create(ctx context.Context, p *WebhookEndpointParams, opts ...RequestOption) (*WebhookEndpoint, error) {
	var out WebhookEndpoint
	return &out, s.c.do(ctx, "POST", webhookEndpoints, nil, p, &out, opts)
}

// Get retrieves an endpoint (without its secret).
func (s *WebhookEndpointService) Get(ctx context.Context, endpointID string, opts ...RequestOption) (*WebhookEndpoint, error) {
	var out WebhookEndpoint
	return &out, s.c.do(ctx, "GET", webhookEndpoints+"/"+id(endpointID), nil, nil, &out, opts)
}

// Update changes an endpoint.
func (s *WebhookEndpointService) Update(ctx context.Context, endpointID string, p *WebhookEndpointUpdateParams, opts ...RequestOption) (*WebhookEndpoint, error) {
	var out WebhookEndpoint
	return &out, s.c.do(ctx, "POST", webhookEndpoints+"/"+id(endpointID), nil, p, &out, opts)
}

// Delete deletes an endpoint.
func (s *WebhookEndpointService) Delete(ctx context.Context, endpointID string, opts ...RequestOption) (*Deleted, error) {
	var out Deleted
	return &out, s.c.do(ctx, "DELETE", webhookEndpoints+"/"+id(endpointID), nil, nil, &out, opts)
}

// RotateSecret gives the endpoint a new secret (in the answer); the old one
// keeps signing too for 24 hours.
func (s *WebhookEndpointService) RotateSecret(ctx context.Context, endpointID string, opts ...RequestOption) (*WebhookEndpoint, error) {
	var out WebhookEndpoint
	return &out, s.c.do(ctx, "POST", webhookEndpoints+"/"+id(endpointID)+"/rotate_secret", nil, struct{}{}, &out, opts)
}

// List returns one page of endpoints, newest first.
func (s *WebhookEndpointService) List(ctx context.Context, p *ListParams, opts ...RequestOption) (*List[WebhookEndpoint], error) {
	return listPage[WebhookEndpoint](ctx, s.c, webhookEndpoints, p.orZero().values(), opts)
}

// All yields every endpoint.
func (s *WebhookEndpointService) All(ctx context.Context, p *ListParams, opts ...RequestOption) iter.Seq2[WebhookEndpoint, error] {
	return all[WebhookEndpoint](ctx, s.c, webhookEndpoints, p.orZero().values(), opts)
}
