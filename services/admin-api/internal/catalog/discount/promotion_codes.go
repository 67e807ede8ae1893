package discount

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/paging"
)

// codeTakenIndex is the unique index of active codes (migration 0015).
const codeTakenIndex = "promotion_codes_active_code_idx"

// PromotionCodes implements adminv1.PromotionCodeServiceServer.
type PromotionCodes struct {
	adminv1.UnimplementedPromotionCodeServiceServer
	Store *store.Store
	Now   func() time.Time
}

// CreatePromotionCode validates and stores a code for one of the caller's coupons.
func (s *PromotionCodes) CreatePromotionCode(ctx context.Context, req *adminv1.CreatePromotionCodeRequest) (*adminv1.CreatePromotionCodeResponse, error) {
	p := auth.FromContext(ctx)
	params, err := validatePromotionCode(req, p.OrganizationID, p.Livemode, s.Now())
	if err != nil {
		return nil, err
	}
	var resp *adminv1.CreatePromotionCodeResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		c, err := q.GetCoupon(ctx, db.GetCouponParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, ID: params.CouponID})
		if store.IsNoRows(err) {
			return errs.NotFoundf("coupon", "No such coupon: '%s'.", params.CouponID)
		} else if err != nil {
			return store.Wrap(err, "get coupon")
		}
		row, err := q.CreatePromotionCode(ctx, params)
		if err != nil {
			return codeError(err, params.Code)
		}
		out, err := PromotionCodeProto(row, c, s.Now())
		if err != nil {
			return err
		}
		resp = &adminv1.CreatePromotionCodeResponse{PromotionCode: out}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	return resp, err
}

// codeError explains a failed write of a code.
func codeError(err error, code string) error {
	if constraint, dup := store.UniqueViolation(err); dup && constraint == codeTakenIndex {
		return &errs.Error{Kind: errs.Conflict, Code: "resource_already_exists", Param: "code",
			Message: "An active promotion code '" + code + "' already exists."}
	}
	return store.Wrap(err, "write promotion code")
}

// GetPromotionCode returns one of the caller's codes.
func (s *PromotionCodes) GetPromotionCode(ctx context.Context, req *adminv1.GetPromotionCodeRequest) (*adminv1.GetPromotionCodeResponse, error) {
	p := auth.FromContext(ctx)
	row, err := getPromotionCode(ctx, s.Store.Queries, p, req.GetId())
	if err != nil {
		return nil, err
	}
	out, err := s.render(ctx, s.Store.Queries, row)
	return &adminv1.GetPromotionCodeResponse{PromotionCode: out}, err
}

// UpdatePromotionCode turns a code off or on and changes its metadata.
func (s *PromotionCodes) UpdatePromotionCode(ctx context.Context, req *adminv1.UpdatePromotionCodeRequest) (*adminv1.UpdatePromotionCodeResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.UpdatePromotionCodeResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := getPromotionCode(ctx, q, p, req.GetId())
		if err != nil {
			return err
		}
		active := row.Active
		if req.Active != nil {
			active = req.GetActive()
		}
		meta, err := mergeMetadata(row.Metadata, req.GetMetadata())
		if err != nil {
			return err
		}
		row, err = q.UpdatePromotionCode(ctx, db.UpdatePromotionCodeParams{ID: row.ID, OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, Active: active, Metadata: meta})
		if err != nil {
			return codeError(err, row.Code)
		}
		out, err := s.render(ctx, q, row)
		if err != nil {
			return err
		}
		resp = &adminv1.UpdatePromotionCodeResponse{PromotionCode: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// ListPromotionCodes pages through the caller's codes, newest first.
func (s *PromotionCodes) ListPromotionCodes(ctx context.Context, req *adminv1.ListPromotionCodesRequest) (*adminv1.ListPromotionCodesResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetPromotionCodeSeq(ctx, db.GetPromotionCodeSeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListPromotionCodes(ctx, db.ListPromotionCodesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		Code: nonEmpty(req.GetCode()), Coupon: nonEmpty(req.GetCoupon()), Active: pgtype.Bool{Bool: req.GetActive(), Valid: req.Active != nil},
		BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list promotion codes")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListPromotionCodesResponse{Object: "list", HasMore: more, Url: "/v1/promotion_codes",
		Data: make([]*adminv1.PromotionCode, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = s.render(ctx, s.Store.Queries, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// render is PromotionCodeProto with the code's coupon (deleted or not).
func (s *PromotionCodes) render(ctx context.Context, q *db.Queries, row db.AdminPromotionCode) (*adminv1.PromotionCode, error) {
	c, err := q.GetAnyCoupon(ctx, db.GetAnyCouponParams{OrganizationID: row.OrganizationID, Livemode: row.Livemode, ID: row.CouponID})
	if err != nil {
		return nil, store.Wrap(err, "get coupon")
	}
	return PromotionCodeProto(row, c, s.Now())
}

func getPromotionCode(ctx context.Context, q *db.Queries, p auth.Principal, id string) (db.AdminPromotionCode, error) {
	row, err := q.GetPromotionCode(ctx, db.GetPromotionCodeParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if store.IsNoRows(err) {
		return row, errs.NotFoundf("id", "No such promotion code: '%s'.", id)
	} else if err != nil {
		return row, store.Wrap(err, "get promotion code")
	}
	return row, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// PromotionCodeProto renders a stored code with its coupon.
func PromotionCodeProto(p db.AdminPromotionCode, c db.AdminCoupon, now time.Time) (*adminv1.PromotionCode, error) {
	meta := map[string]string{}
	if err := json.Unmarshal(p.Metadata, &meta); err != nil {
		return nil, err
	}
	coupon, err := CouponProto(c, now)
	if err != nil {
		return nil, err
	}
	out := &adminv1.PromotionCode{Id: p.ID, Object: "promotion_code", Code: p.Code, Coupon: coupon, Active: p.Active,
		MaxRedemptions: p.MaxRedemptions, Customer: p.Customer, TimesRedeemed: p.TimesRedeemed, TimesReserved: p.TimesReserved,
		Metadata: meta, Livemode: p.Livemode, CreatedAt: timestamppb.New(p.CreatedAt),
		Restrictions: &adminv1.PromotionCodeRestrictions{FirstTimeTransaction: p.FirstTimeTransaction,
			MinimumAmount: p.MinimumAmount, MinimumAmountCurrency: p.MinimumAmountCurrency}}
	if p.ExpiresAt != nil {
		out.ExpiresAt = timestamppb.New(*p.ExpiresAt)
	}
	return out, nil
}
