package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/money"
	"github.com/tillpoint/tillpoint/services/platform/paging"
)

// Price types.
const (
	TypeOneTime   = "one_time"
	TypeRecurring = "recurring"
)

// maxNicknameLen bounds a price's nickname (the merchant's own label).
const maxNicknameLen = 250

// maxIntervalCount is the most intervals between two charges of a
// recurring price: one year in all (Stripe's rule).
var maxIntervalCount = map[string]int32{"day": 365, "week": 52, "month": 12, "year": 1}

// intervals lists the recurring intervals in the order messages name them.
var intervals = []string{"day", "week", "month", "year"}

// Prices implements adminv1.PriceServiceServer.
type Prices struct {
	adminv1.UnimplementedPriceServiceServer
	Store *store.Store
}

// CreatePrice validates and stores a price for one of the caller's products.
func (s *Prices) CreatePrice(ctx context.Context, req *adminv1.CreatePriceRequest) (*adminv1.CreatePriceResponse, error) {
	p := auth.FromContext(ctx)
	params, err := validatePrice(req)
	if err != nil {
		return nil, err
	}
	params.ID, params.OrganizationID, params.Livemode = ids.New("price"), p.OrganizationID, p.Livemode
	var resp *adminv1.CreatePriceResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		// The product must be the caller's, in the caller's mode; the
		// composite foreign key says so again.
		if _, err := q.GetProduct(ctx, db.GetProductParams{ID: params.ProductID, OrganizationID: p.OrganizationID, Livemode: p.Livemode}); err != nil {
			return productErr(err, "product", params.ProductID)
		}
		row, err := q.CreatePrice(ctx, params)
		if err != nil {
			return store.Wrap(err, "create price")
		}
		out, err := PriceProto(row)
		if err != nil {
			return err
		}
		resp = &adminv1.CreatePriceResponse{Price: out}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	return resp, err
}

// validatePrice checks a create request and returns the row to insert
// (without its id and tenant).
func validatePrice(req *adminv1.CreatePriceRequest) (db.CreatePriceParams, error) {
	out := db.CreatePriceParams{ProductID: strings.TrimSpace(req.GetProduct()), Active: req.Active == nil || req.GetActive()}
	if out.ProductID == "" {
		return out, errs.Missing("product")
	}
	if strings.TrimSpace(req.GetCurrency()) == "" {
		return out, errs.Missing("currency")
	}
	cur, err := money.ParseCurrency(req.GetCurrency())
	if err != nil {
		return out, errs.Param("currency", "parameter_invalid", "%s.", err.Error())
	}
	out.Currency = cur.Code()
	if req.UnitAmount == nil {
		return out, errs.Missing("unit_amount")
	}
	if a := req.GetUnitAmount(); a < 0 || a > money.MaxAmount {
		return out, errs.Param("unit_amount", "amount_invalid", "unit_amount must be a whole number of minor units from 0 to %d.", int64(money.MaxAmount))
	}
	out.UnitAmount = req.GetUnitAmount()
	switch out.Type = req.GetType(); out.Type {
	case "":
		out.Type = TypeOneTime
		if req.GetRecurring() != nil {
			out.Type = TypeRecurring
		}
	case TypeOneTime, TypeRecurring:
	default:
		return out, errs.Param("type", "parameter_invalid", "type must be %s or %s.", TypeOneTime, TypeRecurring)
	}
	rec := req.GetRecurring()
	switch {
	case out.Type == TypeOneTime && rec != nil:
		return out, errs.Param("recurring", "parameter_invalid", "A one_time price has no recurring; leave it out or give type=recurring.")
	case out.Type == TypeRecurring && rec == nil:
		return out, errs.Missing("recurring")
	case out.Type == TypeRecurring:
		interval := rec.GetInterval()
		most, ok := maxIntervalCount[interval]
		if !ok {
			return out, errs.Param("recurring[interval]", "parameter_invalid", "recurring[interval] must be one of %s.", strings.Join(intervals, ", "))
		}
		count := rec.GetIntervalCount()
		if count == 0 {
			count = 1
		}
		if count < 1 || count > most {
			return out, errs.Param("recurring[interval_count]", "parameter_invalid",
				"recurring[interval_count] must be from 1 to %d for a %s interval (at most one year between charges).", most, interval)
		}
		out.RecurringInterval, out.RecurringIntervalCount = &interval, &count
	}
	if out.Nickname, err = optionalText("nickname", req.GetNickname(), maxNicknameLen); err != nil {
		return out, err
	}
	if out.Metadata, err = encodeMetadata(req.GetMetadata()); err != nil {
		return out, err
	}
	return out, nil
}

// GetPrice returns one of the caller's prices.
func (s *Prices) GetPrice(ctx context.Context, req *adminv1.GetPriceRequest) (*adminv1.GetPriceResponse, error) {
	p := auth.FromContext(ctx)
	row, err := s.Store.GetPrice(ctx, db.GetPriceParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if err != nil {
		return nil, priceErr(err, "id", req.GetId())
	}
	out, err := PriceProto(row)
	return &adminv1.GetPriceResponse{Price: out}, err
}

// priceErr translates a failed price lookup: no row is a 404 naming param.
func priceErr(err error, param, id string) error {
	if store.IsNoRows(err) {
		return errs.NotFoundf(param, "No such price: '%s'.", id)
	}
	return store.Wrap(err, "get price")
}

// immutablePriceFields are the UpdatePriceRequest fields that exist only to
// be refused with a message saying what to do instead.
var immutablePriceFields = []string{"product", "currency", "unit_amount", "type", "recurring"}

// UpdatePrice changes active, nickname or metadata; every other field of a
// price is immutable.
func (s *Prices) UpdatePrice(ctx context.Context, req *adminv1.UpdatePriceRequest) (*adminv1.UpdatePriceResponse, error) {
	p := auth.FromContext(ctx)
	for _, path := range req.GetUpdateMask().GetPaths() {
		top, _, _ := strings.Cut(path, ".")
		if slices.Contains(immutablePriceFields, top) {
			return nil, errs.Param(paramName(path), "parameter_immutable",
				"A price's %s cannot change. Create a new price and archive this one with active=false.", top)
		}
	}
	paths, err := updateMask(req.GetUpdateMask().GetPaths(), "active", "nickname", "metadata")
	if err != nil {
		return nil, err
	}
	var resp *adminv1.UpdatePriceResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.LockPrice(ctx, db.LockPriceParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if err != nil {
			return priceErr(err, "id", req.GetId())
		}
		params := db.UpdatePriceParams{ID: row.ID, OrganizationID: p.OrganizationID, Livemode: p.Livemode,
			Active: row.Active, Nickname: row.Nickname, Metadata: row.Metadata}
		for _, path := range paths {
			switch path {
			case "active":
				params.Active = req.GetActive()
			case "nickname":
				if params.Nickname, err = optionalText("nickname", req.GetNickname(), maxNicknameLen); err != nil {
					return err
				}
			case "metadata":
				merged, err := mergeMetadata(row.Metadata, req.GetMetadata())
				if err != nil {
					return err
				}
				if params.Metadata, err = json.Marshal(merged); err != nil {
					return err
				}
			}
		}
		updated, err := q.UpdatePrice(ctx, params)
		if err != nil {
			return store.Wrap(err, "update price")
		}
		out, err := PriceProto(updated)
		if err != nil {
			return err
		}
		resp = &adminv1.UpdatePriceResponse{Price: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// ListPrices pages through the caller's prices, newest first.
func (s *Prices) ListPrices(ctx context.Context, req *adminv1.ListPricesRequest) (*adminv1.ListPricesResponse, error) {
	p := auth.FromContext(ctx)
	if t := req.GetType(); t != "" && t != TypeOneTime && t != TypeRecurring {
		return nil, errs.Param("type", "parameter_invalid", "type must be %s or %s.", TypeOneTime, TypeRecurring)
	}
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetPriceSeq(ctx, db.GetPriceSeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	params := db.ListPricesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, Active: optionalBool(req.Active),
		BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()}
	if v := req.GetProduct(); v != "" {
		params.ProductID = &v
	}
	if v := req.GetType(); v != "" {
		params.Type = &v
	}
	rows, err := s.Store.ListPrices(ctx, params)
	if err != nil {
		return nil, store.Wrap(err, "list prices")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListPricesResponse{Object: "list", HasMore: more, Url: "/v1/prices", Data: make([]*adminv1.Price, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = PriceProto(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PriceProto renders a stored price as the API object.
func PriceProto(r db.AdminPrice) (*adminv1.Price, error) {
	meta, err := decodeMetadata(r.Metadata)
	if err != nil {
		return nil, fmt.Errorf("price %s: %w", r.ID, err)
	}
	out := &adminv1.Price{Id: r.ID, Object: "price", Product: r.ProductID, Currency: r.Currency, UnitAmount: r.UnitAmount,
		Type: r.Type, Active: r.Active, Nickname: r.Nickname, Metadata: meta, Livemode: r.Livemode, CreatedAt: timestamppb.New(r.CreatedAt)}
	if r.RecurringInterval != nil && r.RecurringIntervalCount != nil {
		out.Recurring = &adminv1.Recurring{Interval: *r.RecurringInterval, IntervalCount: *r.RecurringIntervalCount}
	}
	return out, nil
}
