package grpcapi

import (
	"context"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
)

// finish ends a write handler's transaction tx with its answer resp: the
// call's audit entry and its idempotent response commit with the handler's
// writes, or not at all. It sets the answer's HTTP status to httpCode.
func finish(ctx context.Context, tx pgx.Tx, resp proto.Message, httpCode int) error {
	if err := audit.Record(ctx, tx, resp); err != nil {
		return err
	}
	return idempotency.Save(ctx, tx, resp, httpCode)
}
