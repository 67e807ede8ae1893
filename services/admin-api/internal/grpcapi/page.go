package grpcapi

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
)

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timeOf(ts *timestamppb.Timestamp) *time.Time {
	if ts == nil {
		return nil
	}
	t := ts.AsTime()
	return &t
}

// setStatus sets the HTTP status of a REST answer (201 for creations made
// outside a transaction of ours, such as forwarded ones).
func setStatus(ctx context.Context, code int) error {
	return grpc.SetHeader(ctx, metadata.Pairs(idempotency.HTTPCodeHeader, strconv.Itoa(code)))
}
