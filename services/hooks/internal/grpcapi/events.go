// Package grpcapi implements the merchant API's events and webhook endpoints
// in hooks, which owns them. admin-api authenticates the merchant and forwards
// each call here over internal gRPC with the organization and mode in metadata.
package grpcapi

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/paging"
)

// Events implements adminv1.EventServiceServer.
type Events struct {
	adminv1.UnimplementedEventServiceServer
	Store *store.Store
}

// GetEvent returns one of the caller's events.
func (s *Events) GetEvent(ctx context.Context, req *adminv1.GetEventRequest) (*adminv1.GetEventResponse, error) {
	org, live, err := grpcx.PrincipalFromMetadata(ctx)
	if err != nil {
		return nil, err
	}
	row, err := s.Store.GetEvent(ctx, db.GetEventParams{ID: req.GetId(), OrganizationID: org, Livemode: live})
	if store.IsNoRows(err) {
		return nil, errs.NotFoundf("id", "No such event: '%s'.", req.GetId())
	} else if err != nil {
		return nil, err
	}
	ev, err := EventProto(row.Body)
	return &adminv1.GetEventResponse{Event: ev}, err
}

// ListEvents pages through the caller's events.
func (s *Events) ListEvents(ctx context.Context, req *adminv1.ListEventsRequest) (*adminv1.ListEventsResponse, error) {
	org, live, err := grpcx.PrincipalFromMetadata(ctx)
	if err != nil {
		return nil, err
	}
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetEventSeq(ctx, db.GetEventSeqParams{ID: id, OrganizationID: org, Livemode: live})
	})
	if err != nil {
		return nil, err
	}
	params := db.ListEventsParams{OrganizationID: org, Livemode: live, BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()}
	if t := req.GetType(); t != "" {
		params.Type = &t
	}
	if o := req.GetObjectId(); o != "" {
		params.ObjectID = &o
	}
	if c := req.GetCreated(); c != nil {
		params.CreatedGte, params.CreatedGt, params.CreatedLte, params.CreatedLt = timeOf(c.GetGte()), timeOf(c.GetGt()), timeOf(c.GetLte()), timeOf(c.GetLt())
	}
	rows, err := s.Store.ListEvents(ctx, params)
	if err != nil {
		return nil, err
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListEventsResponse{Object: "list", HasMore: more, Url: "/v1/events", Data: make([]*adminv1.Event, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = EventProto(r.Body); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EventProto decodes a stored event body into the API object.
func EventProto(body []byte) (*adminv1.Event, error) {
	var ev adminv1.Event
	if err := protojson.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("stored event: %w", err)
	}
	return &ev, nil
}

func timeOf(ts *timestamppb.Timestamp) *time.Time {
	if ts == nil {
		return nil
	}
	t := ts.AsTime()
	return &t
}
