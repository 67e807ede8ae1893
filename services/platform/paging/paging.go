// Package paging implements the list conventions of docs/design.md §2: newest
// first, limit 1–100 (default 10), cursors starting_after and ending_before
// given as object ids and resolved to the rows' sequence numbers.
package paging

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// Limits of a page.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// Page is a decoded list request. Queries fetch Fetch() rows (one beyond the
// limit, to learn whether more follow), below Before or above After.
type Page struct {
	Limit         int
	Before, After *int64
}

// Fetch is how many rows to ask the database for.
func (p Page) Fetch() int32 { return int32(p.Limit + 1) }

// Parse validates limit and resolves a cursor id to its sequence number with
// seqOf; a cursor the caller cannot see is a 404 like any other id.
func Parse(limit *int32, startingAfter, endingBefore string, seqOf func(id string) (int64, error)) (Page, error) {
	p := Page{Limit: DefaultLimit}
	if limit != nil {
		p.Limit = int(*limit)
	}
	if p.Limit < 1 || p.Limit > MaxLimit {
		return p, errs.Param("limit", "parameter_invalid", "limit must be from 1 to %d.", MaxLimit)
	}
	if startingAfter != "" && endingBefore != "" {
		return p, errs.Param("ending_before", "parameter_invalid", "Give starting_after or ending_before, not both.")
	}
	for _, c := range []struct {
		param, id string
		dst       **int64
	}{{"starting_after", startingAfter, &p.Before}, {"ending_before", endingBefore, &p.After}} {
		if c.id == "" {
			continue
		}
		seq, err := seqOf(c.id)
		if errors.Is(err, pgx.ErrNoRows) {
			return p, errs.NotFoundf(c.param, "No such object: '%s'.", c.id)
		} else if err != nil {
			return p, errs.Wrap(err, "resolve cursor")
		}
		*c.dst = &seq
	}
	return p, nil
}

// Trim drops the look-ahead row and, for ending_before pages (fetched oldest
// first), restores newest-first order.
func Trim[T any](rows []T, p Page) ([]T, bool) {
	more := len(rows) > p.Limit
	if more {
		rows = rows[:p.Limit]
	}
	if p.After != nil {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
	}
	return rows, more
}
