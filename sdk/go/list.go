package tillpoint

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// List is one page of a list answer, newest first.
type List[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

// ListParams are the cursor parameters every list takes.
type ListParams struct {
	// Limit is the page size, 1–100 (the API's default is 10).
	Limit int
	// StartingAfter returns objects older than this id (the next page).
	StartingAfter string
	// EndingBefore returns objects newer than this id (the previous page).
	EndingBefore string
}

func (p ListParams) values() url.Values {
	v := url.Values{}
	if p.Limit != 0 {
		v.Set("limit", strconv.Itoa(p.Limit))
	}
	set(v, "starting_after", p.StartingAfter)
	set(v, "ending_before", p.EndingBefore)
	return v
}

// CreatedFilter bounds created_at; zero bounds are left out.
type CreatedFilter struct {
	GTE, GT, LTE, LT time.Time
}

func (f CreatedFilter) add(v url.Values) {
	for op, t := range map[string]time.Time{"gte": f.GTE, "gt": f.GT, "lte": f.LTE, "lt": f.LT} {
		if !t.IsZero() {
			v.Set("created["+op+"]", t.UTC().Format(time.RFC3339))
		}
	}
}

func set(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

// identified is an object with an id, for pagination.
type identified interface{ objectID() string }

// listPage fetches one page.
func listPage[T any](ctx context.Context, c *Client, path string, q url.Values, opts []RequestOption) (*List[T], error) {
	var l List[T]
	if err := c.do(ctx, "GET", path, q, nil, &l, opts); err != nil {
		return nil, err
	}
	return &l, nil
}

// all yields every object of a list from q's position on, fetching the
// next page (starting_after the last object) while the API has more. An
// error ends the sequence with (zero, err). Iterating with ending_before
// set walks towards newer objects instead.
func all[T identified](ctx context.Context, c *Client, path string, q url.Values, opts []RequestOption) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		backwards := q.Get("ending_before") != ""
		for {
			page, err := listPage[T](ctx, c, path, q, opts)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, o := range page.Data {
				if !yield(o, nil) {
					return
				}
			}
			if !page.HasMore || len(page.Data) == 0 {
				return
			}
			if backwards {
				q.Set("ending_before", page.Data[0].objectID())
			} else {
				q.Set("starting_after", page.Data[len(page.Data)-1].objectID())
			}
		}
	}
}

func (p *ListParams) orZero() ListParams {
	if p == nil {
		return ListParams{}
	}
	return *p
}
