package grpcapi

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/paging"
	"github.com/tillpoint/tillpoint/services/platform/stripecompat"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// EventTypes are the events an endpoint can ask for (docs/design.md §3).
var EventTypes = webhook.EventTypes

const maxDescriptionLen = 500

// Endpoints implements adminv1.WebhookEndpointServiceServer.
type Endpoints struct {
	adminv1.UnimplementedWebhookEndpointServiceServer
	Store *store.Store
	// Targets is the URL policy endpoints must pass (private addresses
	// only where the operator allows them, never our own listeners).
	Targets webhook.TargetPolicy
	// Wake is signalled when a delivery becomes due now (a resend).
	Wake func()
}

// CreateWebhookEndpoint validates and stores an endpoint with a new secret.
func (s *Endpoints) CreateWebhookEndpoint(ctx context.Context, req *adminv1.CreateWebhookEndpointRequest) (*adminv1.CreateWebhookEndpointResponse, error) {
	org, live, err := grpcx.PrincipalFromMetadata(ctx)
	if err != nil {
		return nil, err
	}
	format, version, err := signatureFormat(req.GetSignatureFormat(), req.GetApiVersion())
	if err != nil {
		return nil, err
	}
	events, err := s.validate(req.GetUrl(), req.GetEnabledEvents(), req.GetDescription(), format, org, live)
	if err != nil {
		return nil, err
	}
	row, err := s.Store.CreateEndpoint(ctx, db.CreateEndpointParams{ID: ids.New("we"), OrganizationID: org, Livemode: live,
		Url: req.GetUrl(), Description: req.GetDescription(), EnabledEvents: events, Secret: webhook.NewSecret(),
		SignatureFormat: format, ApiVersion: version})
	if err != nil {
		return nil, err
	}
	out := EndpointProto(row)
	out.Secret = &row.Secret
	return &adminv1.CreateWebhookEndpointResponse{WebhookEndpoint: out}, nil
}

// GetWebhookEndpoint returns one of the caller's endpoints.
func (s *Endpoints) GetWebhookEndpoint(ctx context.Context, req *adminv1.GetWebhookEndpointRequest) (*adminv1.GetWebhookEndpointResponse, error) {
	row, err := s.get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return &adminv1.GetWebhookEndpointResponse{WebhookEndpoint: EndpointProto(row)}, nil
}

func (s *Endpoints) get(ctx context.Context, id string) (db.HooksEndpoint, error) {
	org, live, err := grpcx.PrincipalFromMetadata(ctx)
	if err != nil {
		return db.HooksEndpoint{}, err
	}
	row, err := s.Store.GetEndpoint(ctx, db.GetEndpointParams{ID: id, OrganizationID: org, Livemode: live})
	if store.IsNoRows(err) {
		return row, errs.NotFoundf("id", "No such webhook endpoint: '%s'.", id)
	}
	return row, err
}

// ListWebhookEndpoints pages through the caller's endpoints.
func (s *Endpoints) ListWebhookEndpoints(ctx context.Context, req *adminv1.ListWebhookEndpointsRequest) (*adminv1.ListWebhookEndpointsResponse, error) {
	org, live, err := grpcx.PrincipalFromMetadata(ctx)
	if err != nil {
		return nil, err
	}
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetEndpointSeq(ctx, db.GetEndpointSeqParams{ID: id, OrganizationID: org, Livemode: live})
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListEndpoints(ctx, db.ListEndpointsParams{OrganizationID: org, Livemode: live, BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, err
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListWebhookEndpointsResponse{Object: "list", HasMore: more, Url: "/v1/webhook_endpoints", Data: make([]*adminv1.WebhookEndpoint, len(rows))}
	for i, r := range rows {
		out.Data[i] = EndpointProto(r)
	}
	return out, nil
}

// UpdateWebhookEndpoint changes the fields in the update mask.
func (s *Endpoints) UpdateWebhookEndpoint(ctx context.Context, req *adminv1.UpdateWebhookEndpointRequest) (*adminv1.UpdateWebhookEndpointResponse, error) {
	cur, err := s.get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	url, events, desc, reason := cur.Url, cur.EnabledEvents, cur.Description, cur.DisabledReason
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "url":
			url = req.GetUrl()
		case "enabled_events":
			events = req.GetEnabledEvents()
		case "description":
			desc = req.GetDescription()
		case "disabled":
			reason = nil
			if req.GetDisabled() {
				manual := "manual"
				reason = &manual
			}
		case "id":
		default:
			return nil, errs.Param(path, "parameter_unknown", "Received unknown parameter: %s.", path)
		}
	}
	if events, err = s.validate(url, events, desc, cur.SignatureFormat, cur.OrganizationID, cur.Livemode); err != nil {
		return nil, err
	}
	row, err := s.Store.UpdateEndpoint(ctx, db.UpdateEndpointParams{ID: cur.ID, OrganizationID: cur.OrganizationID, Livemode: cur.Livemode,
		Url: url, Description: desc, EnabledEvents: events, DisabledReason: reason})
	if err != nil {
		return nil, err
	}
	return &adminv1.UpdateWebhookEndpointResponse{WebhookEndpoint: EndpointProto(row)}, nil
}

// DeleteWebhookEndpoint removes an endpoint and its pending deliveries.
func (s *Endpoints) DeleteWebhookEndpoint(ctx context.Context, req *adminv1.DeleteWebhookEndpointRequest) (*adminv1.DeleteWebhookEndpointResponse, error) {
	org, live, err := grpcx.PrincipalFromMetadata(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.Store.DeleteEndpoint(ctx, db.DeleteEndpointParams{ID: req.GetId(), OrganizationID: org, Livemode: live})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errs.NotFoundf("id", "No such webhook endpoint: '%s'.", req.GetId())
	}
	return &adminv1.DeleteWebhookEndpointResponse{Id: req.GetId(), Object: "webhook_endpoint", Deleted: true}, nil
}

// RotateWebhookEndpointSecret makes a new secret; the old one signs too for 24 hours.
func (s *Endpoints) RotateWebhookEndpointSecret(ctx context.Context, req *adminv1.RotateWebhookEndpointSecretRequest) (*adminv1.RotateWebhookEndpointSecretResponse, error) {
	cur, err := s.get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	row, err := s.Store.RotateEndpointSecret(ctx, db.RotateEndpointSecretParams{ID: cur.ID, OrganizationID: cur.OrganizationID,
		Livemode: cur.Livemode, Secret: webhook.NewSecret()})
	if err != nil {
		return nil, err
	}
	out := EndpointProto(row)
	out.Secret = &row.Secret
	return &adminv1.RotateWebhookEndpointSecretResponse{WebhookEndpoint: out}, nil
}

// ListEndpointDeliveries pages through an endpoint's deliveries.
func (s *Endpoints) ListEndpointDeliveries(ctx context.Context, req *adminv1.ListEndpointDeliveriesRequest) (*adminv1.ListEndpointDeliveriesResponse, error) {
	ep, err := s.get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetDeliverySeq(ctx, db.GetDeliverySeqParams{ID: id, EndpointID: ep.ID})
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListEndpointDeliveries(ctx, db.ListEndpointDeliveriesParams{EndpointID: ep.ID, BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, err
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListEndpointDeliveriesResponse{Object: "list", HasMore: more, Url: "/v1/webhook_endpoints/" + ep.ID + "/deliveries"}
	for _, r := range rows {
		d, err := s.deliveryProto(ctx, r.HooksDelivery, r.EventType)
		if err != nil {
			return nil, err
		}
		out.Data = append(out.Data, d)
	}
	return out, nil
}

// ListEventDeliveries lists the deliveries of one of the caller's events.
func (s *Endpoints) ListEventDeliveries(ctx context.Context, req *adminv1.ListEventDeliveriesRequest) (*adminv1.ListEventDeliveriesResponse, error) {
	org, live, err := grpcx.PrincipalFromMetadata(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.GetEvent(ctx, db.GetEventParams{ID: req.GetId(), OrganizationID: org, Livemode: live}); store.IsNoRows(err) {
		return nil, errs.NotFoundf("id", "No such event: '%s'.", req.GetId())
	} else if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListEventDeliveries(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	out := &adminv1.ListEventDeliveriesResponse{Object: "list", Url: "/v1/events/" + req.GetId() + "/deliveries"}
	for _, r := range rows {
		d, err := s.deliveryProto(ctx, r.HooksDelivery, r.EventType)
		if err != nil {
			return nil, err
		}
		out.Data = append(out.Data, d)
	}
	return out, nil
}

// GetNotifySecret returns the caller's notify_url signing secret.
func (s *Endpoints) GetNotifySecret(ctx context.Context, _ *adminv1.GetNotifySecretRequest) (*adminv1.GetNotifySecretResponse, error) {
	org, live, err := grpcx.PrincipalFromMetadata(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := s.Store.EnsureNotifySecret(ctx, db.EnsureNotifySecretParams{OrganizationID: org, Livemode: live, Secret: webhook.NewSecret()})
	if err != nil {
		return nil, err
	}
	return &adminv1.GetNotifySecretResponse{NotifySecret: &adminv1.NotifySecret{Object: "notify_secret", Secret: secret, Livemode: live}}, nil
}

// ResendEvent makes an event's delivery to an endpoint due now.
func (s *Endpoints) ResendEvent(ctx context.Context, req *adminv1.ResendEventRequest) (*adminv1.ResendEventResponse, error) {
	org, live, err := grpcx.PrincipalFromMetadata(ctx)
	if err != nil {
		return nil, err
	}
	ev, err := s.Store.GetEvent(ctx, db.GetEventParams{ID: req.GetId(), OrganizationID: org, Livemode: live})
	if store.IsNoRows(err) {
		return nil, errs.NotFoundf("id", "No such event: '%s'.", req.GetId())
	} else if err != nil {
		return nil, err
	}
	if req.GetWebhookEndpoint() == "" {
		return nil, errs.Missing("webhook_endpoint")
	}
	ep, err := s.Store.GetEndpoint(ctx, db.GetEndpointParams{ID: req.GetWebhookEndpoint(), OrganizationID: org, Livemode: live})
	if store.IsNoRows(err) {
		return nil, errs.NotFoundf("webhook_endpoint", "No such webhook endpoint: '%s'.", req.GetWebhookEndpoint())
	} else if err != nil {
		return nil, err
	}
	d, err := s.Store.ResendDelivery(ctx, db.ResendDeliveryParams{ID: ids.New("msg"), EndpointID: ep.ID, EventID: ev.ID})
	if err != nil {
		return nil, err
	}
	if s.Wake != nil {
		s.Wake()
	}
	out, err := s.deliveryProto(ctx, d, ev.Type)
	return &adminv1.ResendEventResponse{Delivery: out}, err
}

func (s *Endpoints) validate(url string, events []string, desc, format, org string, live bool) ([]string, error) {
	if url == "" {
		return nil, errs.Missing("url")
	}
	if err := s.Targets.CheckURL(url, org, live); err != nil {
		return nil, errs.Param("url", "url_invalid", "%s", err.Error())
	}
	if utf8.RuneCountInString(desc) > maxDescriptionLen {
		return nil, errs.Param("description", "parameter_invalid", "At most %d characters.", maxDescriptionLen)
	}
	if len(events) == 0 && format == FormatStripe {
		return stripeEventTypes(), nil
	}
	if len(events) == 0 {
		return []string{"*"}, nil
	}
	var out []string
	for i, e := range events {
		if e != "*" && !slices.Contains(EventTypes, e) {
			return nil, errs.Param("enabled_events["+strconv.Itoa(i)+"]", "parameter_invalid", "Unknown event type %q; known: %s.", e, strings.Join(EventTypes, ", "))
		}
		if format == FormatStripe && !slices.Contains(stripeEventTypes(), e) {
			return nil, errs.Param("enabled_events["+strconv.Itoa(i)+"]", "parameter_invalid",
				"An endpoint with signature_format stripe receives only checkout.session.*, customer.subscription.* and invoice.* events (Stripe has no shape for %q).", e)
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *Endpoints) deliveryProto(ctx context.Context, d db.HooksDelivery, eventType string) (*adminv1.Delivery, error) {
	out := &adminv1.Delivery{Id: d.ID, Object: "webhook_delivery", WebhookEndpoint: d.EndpointID, Event: d.EventID, EventType: eventType,
		Status: d.Status, AttemptCount: d.AttemptCount, CreatedAt: timestamppb.New(d.CreatedAt)}
	if d.Status == "pending" && d.NextAttemptAt != nil {
		// An attempt in flight: the next one, if any, is not before its lease ends.
		next := *d.NextAttemptAt
		if d.LeasedUntil != nil && d.LeasedUntil.After(next) {
			next = *d.LeasedUntil
		}
		out.NextAttemptAt = timestamppb.New(next)
	}
	attempts, err := s.Store.ListAttempts(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range attempts {
		out.Attempts = append(out.Attempts, &adminv1.DeliveryAttempt{AttemptedAt: timestamppb.New(a.AttemptedAt), StatusCode: a.StatusCode,
			LatencyMs: a.LatencyMs, Error: a.Error, ResponseExcerpt: a.ResponseExcerpt})
	}
	return out, nil
}

// EndpointProto renders an endpoint without its secret.
func EndpointProto(r db.HooksEndpoint) *adminv1.WebhookEndpoint {
	st := "enabled"
	if r.DisabledReason != nil {
		st = "disabled"
	}
	return &adminv1.WebhookEndpoint{Id: r.ID, Object: "webhook_endpoint", Url: r.Url, EnabledEvents: r.EnabledEvents,
		Description: r.Description, Status: st, DisabledReason: r.DisabledReason, Livemode: r.Livemode, CreatedAt: timestamppb.New(r.CreatedAt),
		SignatureFormat: r.SignatureFormat, ApiVersion: r.ApiVersion}
}

// The signature formats of endpoints.
const (
	// FormatStandard is Standard Webhooks with Tillpoint's event JSON.
	FormatStandard = "standard"
	// FormatStripe is Stripe's Stripe-Signature header and event shape.
	FormatStripe = stripecompat.SignatureFormat
)

// stripeEventTypes are the event types Stripe has a shape for: the
// checkout session's, the subscription's and the invoice's.
func stripeEventTypes() []string {
	return slices.DeleteFunc(slices.Clone(EventTypes), func(t string) bool {
		return !strings.HasPrefix(t, "checkout.session.") && !strings.HasPrefix(t, "customer.subscription.") && !strings.HasPrefix(t, "invoice.")
	})
}

// signatureFormat checks an endpoint's signature format and Stripe API
// version: the version only with the stripe format, defaulting to
// stripecompat.APIVersion there.
func signatureFormat(format, version string) (string, *string, error) {
	switch format {
	case "", FormatStandard:
		if version != "" {
			return "", nil, errs.Param("api_version", "parameter_invalid", "api_version is for endpoints with signature_format stripe.")
		}
		return FormatStandard, nil, nil
	case FormatStripe:
		if version == "" {
			version = stripecompat.APIVersion
		}
		if !stripecompat.ValidAPIVersion(version) {
			return "", nil, errs.Param("api_version", "parameter_invalid", "api_version must be a Stripe API version such as %s.", stripecompat.APIVersion)
		}
		return FormatStripe, &version, nil
	}
	return "", nil, errs.Param("signature_format", "parameter_invalid", "signature_format must be standard or stripe.")
}
