// Package audit keeps the organization's audit log: who — a dashboard user
// or an API key — did what, to which object, from where.
//
// What is recorded (the rule docs/dashboard.md states): every change to
// configuration (API keys, sites, provider accounts, the fee schedule,
// webhook endpoints, the team) by any actor, and every money-moving or
// delivery action (checkout sessions created or expired, refunds,
// bank-transfer confirmations, webhook resends) made by a dashboard user.
// Reads are never recorded. The same actions by an API key are not: a
// merchant's server creates sessions by the thousand a second, each is its
// own record (and its events), and an audit row apiece would double the
// writes of the hot path.
//
// API calls are recorded by one gRPC interceptor (Log.Unary), inside
// idempotency (a replayed answer is not a second action). A handler that
// writes in a transaction calls Record in it, so the action and its entry
// commit or fail together. Calls forwarded to checkout-runtime or hooks
// (refunds, webhook endpoints) cannot share their transaction: the
// interceptor records them after they succeed; if that insert fails, the
// action stands without an entry and the failure is logged — answering an
// error for a refund that was made would invite the caller to make it again.
// A failed call records nothing. The dashboard's own actions (the team,
// sign-in) are written by the dashboard with Write, in their transaction.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// Actor kinds.
const (
	ActorUser   = "user"
	ActorAPIKey = "api_key"
)

// The actions the dashboard records itself (the API's are in methods).
const (
	ActionSignIn           = "user.sign_in"
	ActionInvite           = "team.invite"
	ActionRevokeInvitation = "team.invitation_revoke"
	ActionJoin             = "team.join"
	ActionRoleChange       = "team.role_change"
	ActionRemoveMember     = "team.member_remove"
	ActionTwoFactorOn      = "user.two_factor_on"
	ActionTwoFactorOff     = "user.two_factor_off"
)

// method is how an API method is recorded.
type method struct {
	action string
	// byUsersOnly: an operation (money, deliveries) recorded when a
	// dashboard user makes it, not an API key.
	byUsersOnly bool
}

// methods maps every mutating method of the merchant API to its action;
// Get* and List* methods are reads and are not here (a test checks that
// every other method is).
var methods = map[string]method{
	adminv1.ApiKeyService_CreateApiKey_FullMethodName:                         {action: "api_key.create"},
	adminv1.ApiKeyService_RevokeApiKey_FullMethodName:                         {action: "api_key.revoke"},
	adminv1.SiteService_CreateSite_FullMethodName:                             {action: "site.create"},
	adminv1.SiteService_UpdateSite_FullMethodName:                             {action: "site.update"},
	adminv1.ProviderAccountService_CreateProviderAccount_FullMethodName:       {action: "provider_account.create"},
	adminv1.ProviderAccountService_UpdateProviderAccount_FullMethodName:       {action: "provider_account.update"},
	adminv1.ProviderAccountService_DeleteProviderAccount_FullMethodName:       {action: "provider_account.delete"},
	adminv1.FeeScheduleService_UpdateFeeSchedule_FullMethodName:               {action: "fee_schedule.update"},
	adminv1.RouteService_CreateRoute_FullMethodName:                           {action: "route.create"},
	adminv1.RouteService_UpdateRoute_FullMethodName:                           {action: "route.update"},
	adminv1.RouteService_DeleteRoute_FullMethodName:                           {action: "route.delete"},
	adminv1.WebhookEndpointService_CreateWebhookEndpoint_FullMethodName:       {action: "webhook_endpoint.create"},
	adminv1.WebhookEndpointService_UpdateWebhookEndpoint_FullMethodName:       {action: "webhook_endpoint.update"},
	adminv1.WebhookEndpointService_DeleteWebhookEndpoint_FullMethodName:       {action: "webhook_endpoint.delete"},
	adminv1.WebhookEndpointService_RotateWebhookEndpointSecret_FullMethodName: {action: "webhook_endpoint.rotate_secret"},
	adminv1.CheckoutSessionService_CreateCheckoutSession_FullMethodName:       {action: "checkout_session.create", byUsersOnly: true},
	adminv1.CheckoutSessionService_ExpireCheckoutSession_FullMethodName:       {action: "checkout_session.expire", byUsersOnly: true},
	adminv1.RefundService_CreateRefund_FullMethodName:                         {action: "refund.create", byUsersOnly: true},
	adminv1.PaymentService_ConfirmPayment_FullMethodName:                      {action: "payment.confirm", byUsersOnly: true},
	adminv1.WebhookEndpointService_ResendEvent_FullMethodName:                 {action: "event.resend", byUsersOnly: true},
	// The catalog: products, prices and discounts are configuration; customers are
	// the merchant's data, made by their servers like sessions.
	adminv1.ProductService_CreateProduct_FullMethodName:             {action: "product.create"},
	adminv1.ProductService_UpdateProduct_FullMethodName:             {action: "product.update"},
	adminv1.PriceService_CreatePrice_FullMethodName:                 {action: "price.create"},
	adminv1.PriceService_UpdatePrice_FullMethodName:                 {action: "price.update"},
	adminv1.CouponService_CreateCoupon_FullMethodName:               {action: "coupon.create"},
	adminv1.CouponService_UpdateCoupon_FullMethodName:               {action: "coupon.update"},
	adminv1.CouponService_DeleteCoupon_FullMethodName:               {action: "coupon.delete"},
	adminv1.PromotionCodeService_CreatePromotionCode_FullMethodName: {action: "promotion_code.create"},
	adminv1.PromotionCodeService_UpdatePromotionCode_FullMethodName: {action: "promotion_code.update"},
	adminv1.CustomerService_CreateCustomer_FullMethodName:           {action: "customer.create", byUsersOnly: true},
	adminv1.CustomerService_UpdateCustomer_FullMethodName:           {action: "customer.update", byUsersOnly: true},
	adminv1.CustomerService_DeleteCustomer_FullMethodName:           {action: "customer.delete", byUsersOnly: true},
	adminv1.SubscriptionService_UpdateSubscription_FullMethodName:   {action: "subscription.update", byUsersOnly: true},
	adminv1.SubscriptionService_CancelSubscription_FullMethodName:   {action: "subscription.cancel", byUsersOnly: true},
	adminv1.InvoiceService_PayInvoice_FullMethodName:                {action: "invoice.pay", byUsersOnly: true},
	adminv1.InvoiceService_VoidInvoice_FullMethodName:               {action: "invoice.void", byUsersOnly: true},
	adminv1.TestClockService_CreateTestClock_FullMethodName:         {action: "test_clock.create"},
	adminv1.TestClockService_AdvanceTestClock_FullMethodName:        {action: "test_clock.advance"},
	// GetNotifySecret reveals a secret but changes nothing: a read.
	adminv1.WebhookEndpointService_GetNotifySecret_FullMethodName: {},
}

// Actions lists every action name, sorted: the page's filter offers them.
func Actions() []string {
	out := []string{ActionSignIn, ActionInvite, ActionRevokeInvitation, ActionJoin, ActionRoleChange, ActionRemoveMember,
		ActionTwoFactorOn, ActionTwoFactorOff}
	for _, m := range methods {
		if m.action != "" {
			out = append(out, m.action)
		}
	}
	slices.Sort(out)
	return out
}

// Recorded reports whether a call of the method by p is recorded, and as
// which action.
func Recorded(fullMethod string, p auth.Principal) (string, bool) {
	m := methods[fullMethod]
	if m.action == "" || (m.byUsersOnly && p.UserID == "") {
		return "", false
	}
	return m.action, true
}

// Entry is one line of the log, before it is written.
type Entry struct {
	OrganizationID string
	// Livemode is the mode acted in; nil outside modes (the team).
	Livemode *bool
	// UserID, or else KeyID, is the actor; UserEmail is shown for a user.
	UserID, UserEmail, KeyID string
	Action                   string
	// TargetID is the object acted on, "" for none.
	TargetID string
	// ClientAddr is where the call came from, "" when unknown.
	ClientAddr string
	// Detail is a few non-secret facts (never a secret, never card data).
	Detail map[string]any
}

// Write inserts e with q (the caller's transaction's queries).
func Write(ctx context.Context, q *db.Queries, e Entry) error {
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	kind, actor := ActorAPIKey, e.KeyID
	if e.UserID != "" {
		kind, actor = ActorUser, e.UserID
	}
	if err := q.InsertAuditEntry(ctx, db.InsertAuditEntryParams{ID: ids.New("aud"), OrganizationID: e.OrganizationID,
		Livemode: livemode(e.Livemode), ActorKind: kind, ActorID: actor, ActorEmail: nonEmpty(e.UserEmail), Action: e.Action,
		TargetID: nonEmpty(e.TargetID), ClientAddr: nonEmpty(e.ClientAddr), Detail: detail}); err != nil {
		return store.Wrap(err, "write audit entry")
	}
	return nil
}

func livemode(live *bool) pgtype.Bool {
	if live == nil {
		return pgtype.Bool{}
	}
	return pgtype.Bool{Bool: *live, Valid: true}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// pending is the entry of the call in progress, until it is written.
type pending struct {
	action  string
	p       auth.Principal
	req     proto.Message
	written bool
}

func (pe *pending) entry(resp proto.Message) Entry {
	live := pe.p.Livemode
	e := Entry{OrganizationID: pe.p.OrganizationID, Livemode: &live, UserID: pe.p.UserID, UserEmail: pe.p.UserEmail,
		KeyID: pe.p.KeyID, Action: pe.action, TargetID: targetID(pe.req, resp), Detail: requestDetail(pe.req)}
	if pe.p.ClientAddr.IsValid() {
		e.ClientAddr = pe.p.ClientAddr.String()
	}
	return e
}

type ctxKey struct{}

// Pending reports whether the call in ctx is to be recorded: a handler
// that could skip its transaction (session creation) must then take one,
// and call Record in it.
func Pending(ctx context.Context) bool {
	_, ok := ctx.Value(ctxKey{}).(*pending)
	return ok
}

// Record writes the entry of the call in ctx, whose answer is resp, in the
// handler's transaction tx; a call that is not recorded writes nothing. A
// handler that retries its transaction calls it in each attempt: only the
// committed attempt's entry stays.
func Record(ctx context.Context, tx pgx.Tx, resp proto.Message) error {
	pe, ok := ctx.Value(ctxKey{}).(*pending)
	if !ok || tx == nil {
		return nil // nil tx: not in a transaction; the interceptor records after
	}
	if err := Write(ctx, db.New(tx), pe.entry(resp)); err != nil {
		return err
	}
	pe.written = true
	return nil
}

// Log is the interceptor that records the API's calls.
type Log struct {
	Store  *store.Store
	Logger *slog.Logger
}

// Unary records a successful recorded call: in the handler's transaction
// when it called Record, else after it returned.
func (l *Log) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	p := auth.FromContext(ctx)
	action, ok := Recorded(info.FullMethod, p)
	msg, isMsg := req.(proto.Message)
	if !ok || !isMsg {
		return handler(ctx, req)
	}
	pe := &pending{action: action, p: p, req: msg}
	resp, err := handler(context.WithValue(ctx, ctxKey{}, pe), req)
	if err != nil || pe.written {
		return resp, err
	}
	// A call forwarded to another service: it is done, so record it now.
	out, _ := resp.(proto.Message)
	if werr := Write(context.WithoutCancel(ctx), l.Store.Queries, pe.entry(out)); werr != nil {
		l.Logger.ErrorContext(ctx, "audit: entry lost", "action", action, "organization", p.OrganizationID, "err", werr)
	}
	return resp, err
}

// targetID is the object a call acted on: the request's id (an update,
// revocation, deletion, expiry or resend), else the id of the object the
// response carries (a creation).
func targetID(req, resp proto.Message) string {
	if id := stringField(req.ProtoReflect(), "id"); id != "" {
		return id
	}
	if resp == nil {
		return ""
	}
	r := resp.ProtoReflect()
	if id := stringField(r, "id"); id != "" {
		return id
	}
	fields := r.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() && r.Has(f) {
			if id := stringField(r.Get(f).Message(), "id"); id != "" {
				return id
			}
		}
	}
	return ""
}

func stringField(m protoreflect.Message, name protoreflect.Name) string {
	f := m.Descriptor().Fields().ByName(name)
	if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() {
		return ""
	}
	return m.Get(f).String()
}

// shownValues are the request fields whose values the detail keeps: they
// say what was done (how much, in which currency, which payment or site,
// which role) and none is a secret. Every other field is named only.
var shownValues = map[protoreflect.Name]bool{
	"amount": true, "currency": true, "payment": true, "site_id": true, "reason": true,
	"disabled": true, "status": true, "webhook_endpoint": true, "default_currency": true,
}

// requestDetail names the parameters a request set, with the values of
// shownValues: what changed, never what a secret or a card number was.
func requestDetail(req proto.Message) map[string]any {
	m := req.ProtoReflect()
	names := []string{}
	values := map[string]any{}
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		names = append(names, string(f.Name()))
		if shownValues[f.Name()] && !f.IsList() && !f.IsMap() && f.Kind() != protoreflect.MessageKind {
			values[string(f.Name())] = scalar(f, v)
		}
		return true
	})
	slices.Sort(names)
	detail := map[string]any{"fields": names}
	for k, v := range values {
		detail[k] = v
	}
	return detail
}

func scalar(f protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch f.Kind() {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BoolKind:
		return v.Bool()
	case protoreflect.EnumKind:
		return fmt.Sprint(v.Enum())
	default:
		return v.Interface()
	}
}

// Finish ends a write handler's transaction tx with its answer resp: the
// call's audit entry and its idempotent response commit with the handler's
// writes, or not at all. It sets the answer's HTTP status to httpCode.
func Finish(ctx context.Context, tx pgx.Tx, resp proto.Message, httpCode int) error {
	if err := Record(ctx, tx, resp); err != nil {
		return err
	}
	return idempotency.Save(ctx, tx, resp, httpCode)
}
