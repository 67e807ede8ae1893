package grpcapi

import (
	"context"
	"time"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
)

// Events and WebhookEndpoints are owned by hooks: admin-api authenticates the
// merchant (and applies idempotency), then forwards the call to hooks' copy of
// the service over internal gRPC, naming the organization and mode.

// Events forwards adminv1.EventService to hooks.
type Events struct {
	adminv1.UnimplementedEventServiceServer
	Hooks adminv1.EventServiceClient
}

// WebhookEndpoints forwards adminv1.WebhookEndpointService to hooks.
type WebhookEndpoints struct {
	adminv1.UnimplementedWebhookEndpointServiceServer
	Hooks adminv1.WebhookEndpointServiceClient
}

// forwardTimeout bounds a forwarded call when the merchant set no deadline
// of their own: a hung hooks then costs a merchant a 503 after 10 s, not a
// request that never ends. Every forwarded call is one or two statements.
const forwardTimeout = 10 * time.Second

// forward calls hooks as the caller and turns its errors back into ours.
func forward[Req, Resp any](ctx context.Context, call func(context.Context, Req) (Resp, error), req Req) (Resp, error) {
	p := auth.FromContext(ctx)
	ctx, cancel := withForwardTimeout(ctx)
	defer cancel()
	resp, err := call(grpcx.ForPrincipal(ctx, p.OrganizationID, p.Livemode), req)
	return resp, grpcx.DomainError(err)
}

// ListEvents forwards.
func (s *Events) ListEvents(ctx context.Context, req *adminv1.ListEventsRequest) (*adminv1.ListEventsResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.ListEventsRequest) (*adminv1.ListEventsResponse, error) {
		return s.Hooks.ListEvents(c, r)
	}, req)
}

// GetEvent forwards.
func (s *Events) GetEvent(ctx context.Context, req *adminv1.GetEventRequest) (*adminv1.GetEventResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.GetEventRequest) (*adminv1.GetEventResponse, error) {
		return s.Hooks.GetEvent(c, r)
	}, req)
}

// CreateWebhookEndpoint forwards.
func (s *WebhookEndpoints) CreateWebhookEndpoint(ctx context.Context, req *adminv1.CreateWebhookEndpointRequest) (*adminv1.CreateWebhookEndpointResponse, error) {
	resp, err := forward(ctx, func(c context.Context, r *adminv1.CreateWebhookEndpointRequest) (*adminv1.CreateWebhookEndpointResponse, error) {
		return s.Hooks.CreateWebhookEndpoint(c, r)
	}, req)
	if err == nil {
		err = setStatus(ctx, 201)
	}
	return resp, err
}

// GetWebhookEndpoint forwards.
func (s *WebhookEndpoints) GetWebhookEndpoint(ctx context.Context, req *adminv1.GetWebhookEndpointRequest) (*adminv1.GetWebhookEndpointResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.GetWebhookEndpointRequest) (*adminv1.GetWebhookEndpointResponse, error) {
		return s.Hooks.GetWebhookEndpoint(c, r)
	}, req)
}

// ListWebhookEndpoints forwards.
func (s *WebhookEndpoints) ListWebhookEndpoints(ctx context.Context, req *adminv1.ListWebhookEndpointsRequest) (*adminv1.ListWebhookEndpointsResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.ListWebhookEndpointsRequest) (*adminv1.ListWebhookEndpointsResponse, error) {
		return s.Hooks.ListWebhookEndpoints(c, r)
	}, req)
}

// UpdateWebhookEndpoint forwards.
func (s *WebhookEndpoints) UpdateWebhookEndpoint(ctx context.Context, req *adminv1.UpdateWebhookEndpointRequest) (*adminv1.UpdateWebhookEndpointResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.UpdateWebhookEndpointRequest) (*adminv1.UpdateWebhookEndpointResponse, error) {
		return s.Hooks.UpdateWebhookEndpoint(c, r)
	}, req)
}

// DeleteWebhookEndpoint forwards.
func (s *WebhookEndpoints) DeleteWebhookEndpoint(ctx context.Context, req *adminv1.DeleteWebhookEndpointRequest) (*adminv1.DeleteWebhookEndpointResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.DeleteWebhookEndpointRequest) (*adminv1.DeleteWebhookEndpointResponse, error) {
		return s.Hooks.DeleteWebhookEndpoint(c, r)
	}, req)
}

// RotateWebhookEndpointSecret forwards.
func (s *WebhookEndpoints) RotateWebhookEndpointSecret(ctx context.Context, req *adminv1.RotateWebhookEndpointSecretRequest) (*adminv1.RotateWebhookEndpointSecretResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.RotateWebhookEndpointSecretRequest) (*adminv1.RotateWebhookEndpointSecretResponse, error) {
		return s.Hooks.RotateWebhookEndpointSecret(c, r)
	}, req)
}

// ListEndpointDeliveries forwards.
func (s *WebhookEndpoints) ListEndpointDeliveries(ctx context.Context, req *adminv1.ListEndpointDeliveriesRequest) (*adminv1.ListEndpointDeliveriesResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.ListEndpointDeliveriesRequest) (*adminv1.ListEndpointDeliveriesResponse, error) {
		return s.Hooks.ListEndpointDeliveries(c, r)
	}, req)
}

// ListEventDeliveries forwards.
func (s *WebhookEndpoints) ListEventDeliveries(ctx context.Context, req *adminv1.ListEventDeliveriesRequest) (*adminv1.ListEventDeliveriesResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.ListEventDeliveriesRequest) (*adminv1.ListEventDeliveriesResponse, error) {
		return s.Hooks.ListEventDeliveries(c, r)
	}, req)
}

// ResendEvent forwards.
func (s *WebhookEndpoints) ResendEvent(ctx context.Context, req *adminv1.ResendEventRequest) (*adminv1.ResendEventResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.ResendEventRequest) (*adminv1.ResendEventResponse, error) {
		return s.Hooks.ResendEvent(c, r)
	}, req)
}

// GetNotifySecret forwards.
func (s *WebhookEndpoints) GetNotifySecret(ctx context.Context, req *adminv1.GetNotifySecretRequest) (*adminv1.GetNotifySecretResponse, error) {
	return forward(ctx, func(c context.Context, r *adminv1.GetNotifySecretRequest) (*adminv1.GetNotifySecretResponse, error) {
		return s.Hooks.GetNotifySecret(c, r)
	}, req)
}
