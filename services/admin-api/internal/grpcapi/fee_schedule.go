package grpcapi

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/fee"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/site"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// FeeSchedules implements adminv1.FeeScheduleServiceServer.
type FeeSchedules struct {
	adminv1.UnimplementedFeeScheduleServiceServer
	Store *store.Store
}

// GetFeeSchedule answers the caller's schedule in its mode.
func (s *FeeSchedules) GetFeeSchedule(ctx context.Context, _ *adminv1.GetFeeScheduleRequest) (*adminv1.GetFeeScheduleResponse, error) {
	p := auth.FromContext(ctx)
	rows, err := s.Store.ListFeeRules(ctx, db.ListFeeRulesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if err != nil {
		return nil, store.Wrap(err, "list fee rules")
	}
	return &adminv1.GetFeeScheduleResponse{FeeSchedule: FeeScheduleProto(FeeRules(rows), p.Livemode)}, nil
}

// UpdateFeeSchedule replaces the caller's schedule in one transaction.
func (s *FeeSchedules) UpdateFeeSchedule(ctx context.Context, req *adminv1.UpdateFeeScheduleRequest) (*adminv1.UpdateFeeScheduleResponse, error) {
	p := auth.FromContext(ctx)
	rules := fee.FromProto(req.GetRules())
	if err := fee.Validate(rules, site.Methods); err != nil {
		return nil, err
	}
	params := db.CreateFeeRulesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		PaymentMethods: make([]string, len(rules)), Currencies: make([]string, len(rules)),
		PercentBps: make([]int64, len(rules)), FixedAmounts: make([]int64, len(rules))}
	for i, r := range rules {
		params.PaymentMethods[i], params.Currencies[i], params.PercentBps[i], params.FixedAmounts[i] = r.Method, r.Currency, r.PercentBps, r.FixedAmount
	}
	var resp *adminv1.UpdateFeeScheduleResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if err := q.LockOrganization(ctx, p.OrganizationID); err != nil {
			return store.Wrap(err, "lock organization")
		}
		if err := q.DeleteFeeRules(ctx, db.DeleteFeeRulesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode}); err != nil {
			return store.Wrap(err, "delete fee rules")
		}
		if err := q.CreateFeeRules(ctx, params); err != nil {
			return store.Wrap(err, "create fee rules")
		}
		rows, err := q.ListFeeRules(ctx, db.ListFeeRulesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if err != nil {
			return store.Wrap(err, "list fee rules")
		}
		resp = &adminv1.UpdateFeeScheduleResponse{FeeSchedule: FeeScheduleProto(FeeRules(rows), p.Livemode)}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	if err == nil {
		s.Store.Invalidate() // this replica's next completion must see the change
	}
	return resp, err
}

// FeeRules are stored rules as the fee package's.
func FeeRules(rows []db.AdminFeeRule) []fee.Rule {
	out := make([]fee.Rule, len(rows))
	for i, r := range rows {
		out[i] = fee.Rule{Method: r.PaymentMethod, Currency: r.Currency, PercentBps: r.PercentBps, FixedAmount: r.FixedAmount}
	}
	return out
}

// FeeScheduleProto renders rules as the API object.
func FeeScheduleProto(rules []fee.Rule, livemode bool) *adminv1.FeeSchedule {
	out := &adminv1.FeeSchedule{Object: "fee_schedule", Livemode: livemode, Rules: make([]*adminv1.FeeRule, len(rules))}
	for i, r := range rules {
		out.Rules[i] = r.Proto()
	}
	return out
}
