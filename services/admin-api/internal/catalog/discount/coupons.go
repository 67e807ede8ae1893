package discount

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/paging"
)

// Coupons implements adminv1.CouponServiceServer.
type Coupons struct {
	adminv1.UnimplementedCouponServiceServer
	Store *store.Store
	Now   func() time.Time
}

// CreateCoupon validates and stores a coupon.
func (s *Coupons) CreateCoupon(ctx context.Context, req *adminv1.CreateCouponRequest) (*adminv1.CreateCouponResponse, error) {
	p := auth.FromContext(ctx)
	params, err := validateCoupon(req, p.OrganizationID, p.Livemode, s.Now())
	if err != nil {
		return nil, err
	}
	var resp *adminv1.CreateCouponResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		c, err := q.CreateCoupon(ctx, params)
		if _, dup := store.UniqueViolation(err); dup {
			return &errs.Error{Kind: errs.Conflict, Code: "resource_already_exists", Param: "id",
				Message: "A coupon with id '" + params.ID + "' already exists."}
		} else if err != nil {
			return store.Wrap(err, "create coupon")
		}
		out, err := CouponProto(c, s.Now())
		if err != nil {
			return err
		}
		resp = &adminv1.CreateCouponResponse{Coupon: out}
		return audit.Finish(ctx, tx, resp, http.StatusCreated)
	})
	return resp, err
}

// GetCoupon returns one of the caller's coupons.
func (s *Coupons) GetCoupon(ctx context.Context, req *adminv1.GetCouponRequest) (*adminv1.GetCouponResponse, error) {
	p := auth.FromContext(ctx)
	c, err := getCoupon(ctx, s.Store.Queries, p, req.GetId())
	if err != nil {
		return nil, err
	}
	out, err := CouponProto(c, s.Now())
	return &adminv1.GetCouponResponse{Coupon: out}, err
}

// UpdateCoupon changes a coupon's name and metadata.
func (s *Coupons) UpdateCoupon(ctx context.Context, req *adminv1.UpdateCouponRequest) (*adminv1.UpdateCouponResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.UpdateCouponResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		c, err := getCoupon(ctx, q, p, req.GetId())
		if err != nil {
			return err
		}
		name := c.Name
		if req.Name != nil {
			if name, err = optionalName(req.GetName()); err != nil {
				return err
			}
		}
		meta, err := mergeMetadata(c.Metadata, req.GetMetadata())
		if err != nil {
			return err
		}
		if c, err = q.UpdateCoupon(ctx, db.UpdateCouponParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
			ID: c.ID, Name: name, Metadata: meta}); err != nil {
			return store.Wrap(err, "update coupon")
		}
		out, err := CouponProto(c, s.Now())
		if err != nil {
			return err
		}
		resp = &adminv1.UpdateCouponResponse{Coupon: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// ListCoupons pages through the caller's coupons, newest first.
func (s *Coupons) ListCoupons(ctx context.Context, req *adminv1.ListCouponsRequest) (*adminv1.ListCouponsResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetCouponSeq(ctx, db.GetCouponSeqParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, ID: id})
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListCoupons(ctx, db.ListCouponsParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list coupons")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListCouponsResponse{Object: "list", HasMore: more, Url: "/v1/coupons", Data: make([]*adminv1.Coupon, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = CouponProto(r, s.Now()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteCoupon deletes a coupon: it can no longer be applied, by id or
// through its promotion codes.
func (s *Coupons) DeleteCoupon(ctx context.Context, req *adminv1.DeleteCouponRequest) (*adminv1.DeleteCouponResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.DeleteCouponResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		c, err := q.DeleteCoupon(ctx, db.DeleteCouponParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, ID: req.GetId()})
		if store.IsNoRows(err) {
			return errs.NotFoundf("id", "No such coupon: '%s'.", req.GetId())
		} else if err != nil {
			return store.Wrap(err, "delete coupon")
		}
		out, err := CouponProto(c, s.Now())
		if err != nil {
			return err
		}
		out.Deleted = true
		resp = &adminv1.DeleteCouponResponse{Coupon: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

func getCoupon(ctx context.Context, q *db.Queries, p auth.Principal, id string) (db.AdminCoupon, error) {
	c, err := q.GetCoupon(ctx, db.GetCouponParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, ID: id})
	if store.IsNoRows(err) {
		return c, errs.NotFoundf("id", "No such coupon: '%s'.", id)
	} else if err != nil {
		return c, store.Wrap(err, "get coupon")
	}
	return c, nil
}

// mergeMetadata sets the given keys of stored metadata, removing those
// given "" (Stripe's update rule), and checks the result's limits.
func mergeMetadata(stored []byte, changes map[string]string) ([]byte, error) {
	m := map[string]string{}
	if err := json.Unmarshal(stored, &m); err != nil {
		return nil, err
	}
	for k, v := range changes {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	m, err := session.Metadata(m)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// CouponProto renders a stored coupon; valid is computed at now.
func CouponProto(c db.AdminCoupon, now time.Time) (*adminv1.Coupon, error) {
	meta := map[string]string{}
	if err := json.Unmarshal(c.Metadata, &meta); err != nil {
		return nil, err
	}
	out := &adminv1.Coupon{Id: c.ID, Object: "coupon", Name: c.Name, AmountOff: c.AmountOff, Currency: c.Currency,
		Duration: c.Duration, DurationInMonths: c.DurationInMonths, MaxRedemptions: c.MaxRedemptions, Metadata: meta,
		TimesRedeemed: c.TimesRedeemed, TimesReserved: c.TimesReserved, Livemode: c.Livemode,
		CreatedAt: timestamppb.New(c.CreatedAt), Deleted: c.DeletedAt != nil}
	if c.PercentOff != nil {
		pct := float64(*c.PercentOff) / 100
		out.PercentOff = &pct
	}
	if c.RedeemBy != nil {
		out.RedeemBy = timestamppb.New(*c.RedeemBy)
	}
	if c.AppliesToProducts != nil {
		out.AppliesTo = &adminv1.AppliesTo{Products: c.AppliesToProducts}
	}
	out.Valid = c.DeletedAt == nil && (c.RedeemBy == nil || c.RedeemBy.After(now)) &&
		(c.MaxRedemptions == nil || c.TimesRedeemed+c.TimesReserved < *c.MaxRedemptions)
	return out, nil
}
