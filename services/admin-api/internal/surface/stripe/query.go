package stripe

import (
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/stripecompat"
)

// unsupportedList names the list filters of Stripe's that Tillpoint lacks.
var unsupportedList = map[string]string{
	"customer":         "Stripe customers belong to the catalog, which Tillpoint does not have yet",
	"customer_details": "filter on the payer's email is not supported",
	"payment_link":     "payment links are not supported",
	"subscription":     "subscriptions are not supported yet",
}

// expandOnly checks that f holds nothing but expand[]=path.
func expandOnly(f form, path string) (bool, error) {
	l := list{name: "expand"}
	for _, p := range f.params {
		if p.path[0] != "expand" {
			return false, unknown(p)
		}
		if err := l.add(p); err != nil {
			return false, err
		}
	}
	return expandLineItems(l, path)
}

// listRequest translates the list parameters: limit, starting_after,
// ending_before and status keep their names; payment_intent → payment;
// created (Unix seconds, exact or [gt|gte|lt|lte]) → created as timestamps.
// expand reports `expand[]=data.line_items`.
func listRequest(f form) (req *adminv1.ListCheckoutSessionsRequest, expand bool, err error) {
	req = &adminv1.ListCheckoutSessionsRequest{}
	expands := list{name: "expand"}
	for _, p := range f.params {
		name := p.path[0]
		if reason, ok := unsupportedList[name]; ok {
			return nil, false, errs.Param(p.name, codeUnsupported, "Tillpoint does not support the %s filter: %s.", name, reason)
		}
		if len(p.path) > 1 && name != "created" && name != "expand" {
			return nil, false, unknown(p)
		}
		switch name {
		case "limit":
			n, err := strconv.ParseInt(p.value, 10, 32)
			if err != nil {
				return nil, false, errs.Param("limit", codeInvalidInteger, "Invalid integer: %s.", p.value)
			}
			req.Limit = proto.Int32(int32(n))
		case "starting_after":
			req.StartingAfter = p.value
		case "ending_before":
			req.EndingBefore = p.value
		case "status":
			req.Status = p.value
		case "payment_intent":
			req.Payment = p.value
		case "created":
			if err := addCreated(req, p); err != nil {
				return nil, false, err
			}
		case "expand":
			if err := expands.add(p); err != nil {
				return nil, false, err
			}
		default:
			return nil, false, unknown(p)
		}
	}
	expand, err = expandLineItems(expands, "data.line_items")
	return req, expand, err
}

// addCreated sets one bound of the creation time range; created=T alone
// means the whole second T.
func addCreated(req *adminv1.ListCheckoutSessionsRequest, p param) error {
	sec, err := strconv.ParseInt(p.value, 10, 64)
	if err != nil || len(p.path) > 2 {
		return errs.Param(p.name, codeInvalidInteger, "Invalid integer: %s (created is a Unix time in seconds).", p.value)
	}
	if req.Created == nil {
		req.Created = &adminv1.TimeRange{}
	}
	c, t := req.Created, &timestamppb.Timestamp{Seconds: sec}
	if len(p.path) == 1 {
		c.Gte, c.Lt = t, &timestamppb.Timestamp{Seconds: sec + 1}
		return nil
	}
	switch p.path[1] {
	case "gt":
		c.Gt = t
	case "gte":
		c.Gte = t
	case "lt":
		c.Lt = t
	case "lte":
		c.Lte = t
	default:
		return unknown(p)
	}
	return nil
}

// lineItemPage is a page of a session's line items (at most 100, so paged
// in memory).
type lineItemPage struct {
	limit                       int
	startingAfter, endingBefore string
}

// defaultLineItemLimit is Stripe's default page size.
const defaultLineItemLimit = 10

func lineItemPageOf(f form) (lineItemPage, error) {
	pg := lineItemPage{limit: defaultLineItemLimit}
	for _, p := range f.params {
		if len(p.path) > 1 {
			return pg, unknown(p)
		}
		switch p.path[0] {
		case "limit":
			n, err := strconv.Atoi(p.value)
			if err != nil || n < 1 || n > 100 {
				return pg, errs.Param("limit", codeInvalidInteger, "limit must be an integer from 1 to 100.")
			}
			pg.limit = n
		case "starting_after":
			pg.startingAfter = p.value
		case "ending_before":
			pg.endingBefore = p.value
		default:
			return pg, unknown(p)
		}
	}
	if pg.startingAfter != "" && pg.endingBefore != "" {
		return pg, errs.Param("ending_before", codeInvalid, "Give starting_after or ending_before, not both.")
	}
	return pg, nil
}

// apply cuts the page out of all the line items, in their order.
func (pg lineItemPage) apply(all []*stripecompat.LineItem) ([]*stripecompat.LineItem, bool, error) {
	find := func(param, id string) (int, error) {
		for i, it := range all {
			if it.ID == id {
				return i, nil
			}
		}
		return 0, errs.NotFoundf(param, "No such line item: '%s'.", id)
	}
	from, to := 0, len(all)
	switch {
	case pg.startingAfter != "":
		i, err := find("starting_after", pg.startingAfter)
		if err != nil {
			return nil, false, err
		}
		from = i + 1
		to = min(to, from+pg.limit)
		return all[from:to], to < len(all), nil
	case pg.endingBefore != "":
		i, err := find("ending_before", pg.endingBefore)
		if err != nil {
			return nil, false, err
		}
		from = max(0, i-pg.limit)
		return all[from:i], from > 0, nil
	}
	to = min(to, pg.limit)
	return all[:to], to < len(all), nil
}
