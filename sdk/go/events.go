package tillpoint

import (
	"context"
	"iter"
	"net/url"
)

// EventService is /v1/events (kept 30 days).
type EventService struct{ c *Client }

// EventListParams filter a list of events.
type EventListParams struct {
	ListParams
	Type     string // e.g. checkout.session.completed
	ObjectID string // only the events of this object
	Created  CreatedFilter
}

func (p *EventListParams) values() url.Values {
	if p == nil {
		return url.Values{}
	}
	v := p.ListParams.values()
	set(v, "type", p.Type)
	set(v, "object_id", p.ObjectID)
	p.Created.add(v)
	return v
}

// Get retrieves an event.
func (s *EventService) Get(ctx context.Context, eventID string, opts ...RequestOption) (*Event, error) {
	var out Event
	return &out, s.c.do(ctx, "GET", "/v1/events/"+id(eventID), nil, nil, &out, opts)
}

// List returns one page of events, newest first.
func (s *EventService) List(ctx context.Context, p *EventListParams, opts ...RequestOption) (*List[Event], error) {
	return listPage[Event](ctx, s.c, "/v1/events", p.values(), opts)
}

// All yields every event that matches p.
func (s *EventService) All(ctx context.Context, p *EventListParams, opts ...RequestOption) iter.Seq2[Event, error] {
	return all[Event](ctx, s.c, "/v1/events", p.values(), opts)
}
