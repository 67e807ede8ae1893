package grpcapi

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// List limits (DESIGN.md §2).
const (
	defaultLimit = 10
	maxLimit     = 100
)

// page is a decoded list request: rows are fetched one beyond the limit to
// learn whether more follow.
type page struct {
	limit         int
	before, after *int64 // sequence bounds from starting_after / ending_before
}

func (p page) fetch() int32 { return int32(p.limit + 1) }

// parsePage validates limit and resolves a cursor id to its sequence number;
// a cursor the caller cannot see is a 404 like any other id.
func parsePage(limit *int32, startingAfter, endingBefore string, seqOf func(id string) (int64, error)) (page, error) {
	p := page{limit: defaultLimit}
	if limit != nil {
		p.limit = int(*limit)
	}
	if p.limit < 1 || p.limit > maxLimit {
		return p, errs.Param("limit", "parameter_invalid", "limit must be from 1 to %d.", maxLimit)
	}
	if startingAfter != "" && endingBefore != "" {
		return p, errs.Param("ending_before", "parameter_invalid", "Give starting_after or ending_before, not both.")
	}
	for _, c := range []struct {
		param, id string
		dst       **int64
	}{{"starting_after", startingAfter, &p.before}, {"ending_before", endingBefore, &p.after}} {
		if c.id == "" {
			continue
		}
		seq, err := seqOf(c.id)
		if store.IsNoRows(err) {
			return p, errs.NotFoundf(c.param, "No such object: '%s'.", c.id)
		} else if err != nil {
			return p, store.Wrap(err, "resolve cursor")
		}
		*c.dst = &seq
	}
	return p, nil
}

// trimPage drops the look-ahead row and, for ending_before pages (fetched
// oldest first), restores newest-first order.
func trimPage[T any](rows []T, p page) ([]T, bool) {
	more := len(rows) > p.limit
	if more {
		rows = rows[:p.limit]
	}
	if p.after != nil {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	return rows, more
}

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
