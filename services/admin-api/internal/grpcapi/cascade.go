package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// Limits of cascade_line_items: a few fallback prices are what the seed
// shows; more would only lengthen the payer's way to a decline.
const (
	maxCascadeTiers = 5
	maxRouteIDLen   = 100
)

// cascadeTier is the stored form of a fallback pricing tier.
type cascadeTier struct {
	LineItems []session.LineItem `json:"line_items"`
	Subtotal  int64              `json:"amount_subtotal"`
	RouteID   *string            `json:"processor_route_id,omitempty"`
}

// cascadeTiers validates a create request's cascade_line_items: each tier's
// line items are resolved and checked exactly as the session's own (same
// catalog lookups, same rules, in the session's currency), with errors
// naming cascade_line_items[i][…]. Tiers do not combine with discounts: a
// tier's total would need the discount recomputed on a switch.
func (s *Sessions) cascadeTiers(ctx context.Context, p auth.Principal, req *adminv1.CreateCheckoutSessionRequest, n session.New, site session.Site) ([]cascadeTier, error) {
	tiers := req.GetCascadeLineItems()
	switch {
	case len(tiers) == 0:
		return nil, nil
	case len(tiers) > maxCascadeTiers:
		return nil, errs.Param("cascade_line_items", "parameter_invalid", "At most %d cascade tiers.", maxCascadeTiers)
	case req.GetCouponId() != "" || req.GetPromotionCode() != "" || len(req.GetDiscounts()) > 0 || req.GetAllowPromotionCodes():
		return nil, errs.Param("cascade_line_items", "parameter_invalid", "cascade_line_items cannot be combined with a discount or allow_promotion_codes.")
	}
	out := make([]cascadeTier, len(tiers))
	for i, t := range tiers {
		prefix := fmt.Sprintf("cascade_line_items[%d]", i)
		if len(t.GetLineItems()) == 0 {
			return nil, errs.Param(prefix+"[line_items]", "parameter_missing", "Missing required param: %s[line_items].", prefix)
		}
		// The session's own request with the tier's line items: every
		// other parameter is valid already.
		tr := proto.Clone(req).(*adminv1.CreateCheckoutSessionRequest)
		tr.Amount, tr.LineItems, tr.Currency, tr.CascadeLineItems = nil, t.GetLineItems(), n.Currency, nil
		tr.CustomerId, tr.Customer, tr.CustomFields = "", "", nil
		resolved, err := catalog.ResolveSession(ctx, s.Store.Queries, p.OrganizationID, p.Livemode, tr)
		if err != nil {
			return nil, tierError(err, prefix)
		}
		tn, err := session.Validate(resolved.Request, site, p.Livemode, s.Now())
		if err != nil {
			return nil, tierError(err, prefix)
		}
		resolved.Annotate(tn.LineItems)
		out[i] = cascadeTier{LineItems: tn.LineItems, Subtotal: tn.Subtotal}
		if t.ProcessorRouteId != nil {
			id := strings.TrimSpace(t.GetProcessorRouteId())
			if id == "" || utf8.RuneCountInString(id) > maxRouteIDLen {
				return nil, errs.Param(prefix+"[processor_route_id]", "parameter_invalid", "A processor route id is 1 to %d characters, or null.", maxRouteIDLen)
			}
			out[i].RouteID = &id
		}
	}
	return out, nil
}

// tierError renames the line_items parameter of a tier's error to the
// tier's: line_items[0][price_id] becomes
// cascade_line_items[1][line_items][0][price_id], in the message too.
func tierError(err error, prefix string) error {
	e, ok := errs.As(err)
	if !ok || !strings.HasPrefix(e.Param, "line_items") {
		return err
	}
	renamed := *e
	name := prefix + "[line_items]" + strings.TrimPrefix(e.Param, "line_items")
	renamed.Param, renamed.Message, renamed.Err = name, strings.ReplaceAll(e.Message, e.Param, name), nil
	return &renamed
}

// sessionCascade reads a session's stored tiers.
func sessionCascade(s db.AdminCheckoutSession) ([]cascadeTier, error) {
	var tiers []cascadeTier
	if len(s.CascadeLineItems) <= len("[]") { // most sessions: no tiers, no decoding
		return nil, nil
	}
	if err := json.Unmarshal(s.CascadeLineItems, &tiers); err != nil {
		return nil, fmt.Errorf("session %s cascade line items: %w", s.ID, err)
	}
	return tiers, nil
}

// cascadeProto is the API form of a session's tiers.
func cascadeProto(tiers []cascadeTier) []*adminv1.CascadeTier {
	out := make([]*adminv1.CascadeTier, len(tiers))
	for i, t := range tiers {
		out[i] = &adminv1.CascadeTier{LineItems: lineItemsProto(t.LineItems), ProcessorRouteId: t.RouteID, AmountSubtotal: t.Subtotal}
	}
	return out
}
