package subscription

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// maxClockNameLen is Stripe's limit on a test clock's name.
const maxClockNameLen = 300

// errLiveClock refuses test clocks to live keys.
var errLiveClock = errs.E(errs.Invalid, "livemode_unsupported", "Test clocks are test mode only: use a test key (sk_test_…).")

// TestClocks implements adminv1.TestClockServiceServer.
type TestClocks struct {
	adminv1.UnimplementedTestClockServiceServer
	Store *store.Store
	// Renewer runs what a clock's advance makes due.
	Renewer *Renewer
}

// CreateTestClock creates a test clock at frozen_time.
func (s *TestClocks) CreateTestClock(ctx context.Context, req *adminv1.CreateTestClockRequest) (*adminv1.CreateTestClockResponse, error) {
	p := auth.FromContext(ctx)
	if p.Livemode {
		return nil, errLiveClock
	}
	at, err := frozenTime(req.GetFrozenTime())
	if err != nil {
		return nil, err
	}
	var name *string
	if n := strings.TrimSpace(req.GetName()); n != "" {
		if utf8.RuneCountInString(n) > maxClockNameLen {
			return nil, errs.Param("name", "parameter_invalid", "name is limited to %d characters.", maxClockNameLen)
		}
		name = &n
	}
	var resp *adminv1.CreateTestClockResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.CreateTestClock(ctx, db.CreateTestClockParams{ID: ids.New("clock"), OrganizationID: p.OrganizationID, Name: name, FrozenTime: at})
		if err != nil {
			return store.Wrap(err, "create test clock")
		}
		resp = &adminv1.CreateTestClockResponse{TestClock: clockProto(row)}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	return resp, err
}

// GetTestClock returns one of the caller's test clocks.
func (s *TestClocks) GetTestClock(ctx context.Context, req *adminv1.GetTestClockRequest) (*adminv1.GetTestClockResponse, error) {
	p := auth.FromContext(ctx)
	if p.Livemode {
		return nil, errs.NotFoundf("id", "No such test clock: '%s'.", req.GetId())
	}
	row, err := s.Store.GetTestClock(ctx, db.GetTestClockParams{ID: req.GetId(), OrganizationID: p.OrganizationID})
	if err != nil {
		return nil, notFound(err, "test clock", req.GetId())
	}
	return &adminv1.GetTestClockResponse{TestClock: clockProto(row)}, nil
}

// AdvanceTestClock moves a clock forward, then runs what became due for
// its subscriptions before answering. Advances of one clock take turns.
func (s *TestClocks) AdvanceTestClock(ctx context.Context, req *adminv1.AdvanceTestClockRequest) (*adminv1.AdvanceTestClockResponse, error) {
	p := auth.FromContext(ctx)
	if p.Livemode {
		return nil, errs.NotFoundf("id", "No such test clock: '%s'.", req.GetId())
	}
	at, err := frozenTime(req.GetFrozenTime())
	if err != nil {
		return nil, err
	}
	var row db.AdminTestClock
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		cur, err := q.LockTestClock(ctx, db.LockTestClockParams{ID: req.GetId(), OrganizationID: p.OrganizationID})
		if err != nil {
			return notFound(err, "test clock", req.GetId())
		}
		if !at.After(cur.FrozenTime) {
			return errs.Param("frozen_time", "parameter_invalid", "frozen_time must be after the clock's current time, %s.", cur.FrozenTime.UTC().Format(time.RFC3339))
		}
		if row, err = q.SetTestClockTime(ctx, db.SetTestClockTimeParams{ID: cur.ID, FrozenTime: at}); err != nil {
			return store.Wrap(err, "advance test clock")
		}
		return audit.Record(ctx, tx, &adminv1.AdvanceTestClockResponse{TestClock: clockProto(row)})
	})
	if err != nil {
		return nil, err
	}
	// Not in that transaction: each renewal commits on its own, as the
	// worker's do. A failure here is an internal error, which frees the
	// Idempotency-Key: a retry (or the next advance) runs what is left.
	if _, err := s.Renewer.RunDue(ctx, at, &row.ID); err != nil {
		return nil, err
	}
	return &adminv1.AdvanceTestClockResponse{TestClock: clockProto(row)}, nil
}

// frozenTime checks a clock time: given, in whole seconds (as every
// timestamp of the API).
func frozenTime(ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, errs.Missing("frozen_time")
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, errs.Param("frozen_time", "parameter_invalid", "frozen_time is not a valid time.")
	}
	return ts.AsTime().UTC().Truncate(time.Second), nil
}

func clockProto(c db.AdminTestClock) *adminv1.TestClock {
	return &adminv1.TestClock{Id: c.ID, Object: "test_helpers.test_clock", FrozenTime: timestamppb.New(c.FrozenTime),
		Name: c.Name, Status: "ready", Livemode: false, CreatedAt: timestamppb.New(c.CreatedAt)}
}
