// Package server assembles admin-api's merchant API: the gRPC services behind
// the authentication and idempotency interceptors, served over gRPC and, through
// an in-process connection, as REST by grpc-gateway.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/discount"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/subscription"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/grpcapi"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/openapi"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/provideracct"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/surface/collections"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/surface/paymentkit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/surface/payporter"
	stripesurface "github.com/tillpoint/tillpoint/services/admin-api/internal/surface/stripe"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// API is the merchant API in both forms.
type API struct {
	// GRPC serves the API over gRPC (the key in `authorization` metadata).
	GRPC *grpc.Server
	// REST serves /v1/... (and /api/v1/...), /v1/openapi.json and the
	// foreign API shapes (surface/...: PaymentKit's /api/{account_id}/...).
	REST http.Handler
	// Inline is the same services on an in-process connection, behind the
	// same interceptors, for admin-api's own surfaces (the dashboard calls
	// it with auth.AsUser).
	Inline grpc.ClientConnInterface
	// Renewer renews subscriptions, charging through checkout-runtime: its
	// Run is admin-api's renewal worker, and test clocks' advances use it.
	Renewer *subscription.Renewer

	guard Guard
}

// WithDashboard returns REST with the dashboard mounted at prefix, behind
// the same client-address derivation (its sign-in limits are per address).
func (a *API) WithDashboard(prefix string, dashboard http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", a.guard.guardREST(dashboard))
	mux.Handle(prefix, a.guard.guardREST(dashboard))
	mux.Handle("/", a.REST)
	return mux
}

// Peers are the other services' APIs that admin-api forwards to: payments
// are checkout-runtime's, events and webhook endpoints are hooks'.
type Peers struct {
	Payments         internalapiv1.PaymentServiceClient
	Events           adminv1.EventServiceClient
	WebhookEndpoints adminv1.WebhookEndpointServiceClient
}

// PeersOn returns the peers' clients on connections to checkout-runtime and hooks.
func PeersOn(runtime, hooks grpc.ClientConnInterface) Peers {
	return Peers{Payments: internalapiv1.NewPaymentServiceClient(runtime),
		Events: adminv1.NewEventServiceClient(hooks), WebhookEndpoints: adminv1.NewWebhookEndpointServiceClient(hooks)}
}

// Guard protects the API from floods: who the client is behind the reverse
// proxies, and the rate limits (per replica). The zero value trusts no proxy
// and limits nothing.
type Guard struct {
	TrustedProxies *httpx.TrustedProxies
	Limits         auth.Limits
	// Tokens signs and verifies the access tokens of POST /auth/token (the
	// collections surface); nil turns them off.
	Tokens *auth.Tokens
}

// guardREST gives REST calls their client address, which the rate limits
// in the gRPC chain read (gRPC calls take theirs from the peer).
func (g Guard) guardREST(h http.Handler) http.Handler {
	return httpx.ClientAddrs(g.TrustedProxies)(h)
}

// Accounts is what provider accounts need: the keyring that encrypts their
// credentials, Stripe's API to check keys with, and scheme://MAIN_BACKEND_DOMAIN
// for the webhook URL merchants give their provider.
type Accounts struct {
	Keys       *secretbox.Keyring
	Stripe     provideracct.Stripe
	GoCardless provideracct.GoCardless
	HooksBase  string
}

// New builds the API on st; checkoutBase is scheme://MAIN_FRONTEND_DOMAIN;
// targets is the policy of URLs we call (a session's notify_url).
// outer interceptors (metrics) run outside error mapping and see final codes.
func New(ctx context.Context, st *store.Store, logger *slog.Logger, checkoutBase string, targets webhook.TargetPolicy, peers Peers, guard Guard, accounts Accounts, outer ...grpc.UnaryServerInterceptor) (*API, error) {
	if accounts.Keys == nil {
		return nil, errors.New("provider accounts need an encryption keyring")
	}
	sessions := &grpcapi.Sessions{Store: st, CheckoutBase: checkoutBase, Now: time.Now, Targets: targets}
	sites := &grpcapi.Sites{Store: st}
	keys := &grpcapi.APIKeys{Store: st}
	providerAccounts := &grpcapi.ProviderAccounts{Store: st, Keys: accounts.Keys, Stripe: accounts.Stripe,
		GoCardless: accounts.GoCardless, HooksBase: accounts.HooksBase}
	routes := &grpcapi.Routes{Store: st}
	payments := &grpcapi.Payments{Runtime: peers.Payments}
	refunds := &grpcapi.Refunds{Runtime: peers.Payments}
	events := &grpcapi.Events{Hooks: peers.Events}
	endpoints := &grpcapi.WebhookEndpoints{Hooks: peers.WebhookEndpoints}
	feeSchedules := &grpcapi.FeeSchedules{Store: st}
	customers := &catalog.Customers{Store: st}
	products := &catalog.Products{Store: st}
	prices := &catalog.Prices{Store: st}
	coupons := &discount.Coupons{Store: st, Now: time.Now}
	promotionCodes := &discount.PromotionCodes{Store: st, Now: time.Now}
	subscriptions := &subscription.Subscriptions{Store: st, Now: time.Now}
	renewer := &subscription.Renewer{Store: st, Charger: subscription.RuntimeCharger{Payments: peers.Payments}, Logger: logger, Now: time.Now}
	invoices := &subscription.Invoices{Store: st, Renewer: renewer}
	testClocks := &subscription.TestClocks{Store: st, Renewer: renewer}
	authn := &auth.Authenticator{Store: st, Limits: guard.Limits, TrustedProxies: guard.TrustedProxies, Tokens: guard.Tokens}
	chain := grpcx.Chain{Logger: logger, Outer: outer, Inner: []grpc.UnaryServerInterceptor{
		grpcx.SingleMetadata(gateway.MetadataAuthorization, gateway.MetadataIdempotencyKey, auth.MetadataKeyID, auth.MetadataKeySecret),
		authn.Unary,
		auth.AccountScope,
		grpcx.ValidateStrings(),
		(&idempotency.Middleware{Store: st}).Unary,
		// Inside idempotency: a replayed answer is not a second action.
		(&audit.Log{Store: st, Logger: logger}).Unary,
	}}

	// The same services on the gRPC server and on an in-process connection
	// for grpc-gateway, so REST runs the same interceptors.
	public := grpc.NewServer(chain.ServerOptions()...)
	inline := grpcx.NewInlineConn(chain.Unary())
	for _, r := range []grpc.ServiceRegistrar{public, inline} {
		adminv1.RegisterCheckoutSessionServiceServer(r, sessions)
		adminv1.RegisterSiteServiceServer(r, sites)
		adminv1.RegisterApiKeyServiceServer(r, keys)
		adminv1.RegisterProviderAccountServiceServer(r, providerAccounts)
		adminv1.RegisterRouteServiceServer(r, routes)
		adminv1.RegisterPaymentServiceServer(r, payments)
		adminv1.RegisterRefundServiceServer(r, refunds)
		adminv1.RegisterEventServiceServer(r, events)
		adminv1.RegisterWebhookEndpointServiceServer(r, endpoints)
		adminv1.RegisterFeeScheduleServiceServer(r, feeSchedules)
		adminv1.RegisterCustomerServiceServer(r, customers)
		adminv1.RegisterProductServiceServer(r, products)
		adminv1.RegisterPriceServiceServer(r, prices)
		adminv1.RegisterCouponServiceServer(r, coupons)
		adminv1.RegisterPromotionCodeServiceServer(r, promotionCodes)
		adminv1.RegisterSubscriptionServiceServer(r, subscriptions)
		adminv1.RegisterInvoiceServiceServer(r, invoices)
		adminv1.RegisterTestClockServiceServer(r, testClocks)
	}
	if err := inline.Err(); err != nil {
		return nil, err
	}
	gw := gateway.NewServeMux()
	if err := adminv1.RegisterCheckoutSessionServiceHandlerClient(ctx, gw, adminv1.NewCheckoutSessionServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterSiteServiceHandlerClient(ctx, gw, adminv1.NewSiteServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterApiKeyServiceHandlerClient(ctx, gw, adminv1.NewApiKeyServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterProviderAccountServiceHandlerClient(ctx, gw, adminv1.NewProviderAccountServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterRouteServiceHandlerClient(ctx, gw, adminv1.NewRouteServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterPaymentServiceHandlerClient(ctx, gw, adminv1.NewPaymentServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterRefundServiceHandlerClient(ctx, gw, adminv1.NewRefundServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterEventServiceHandlerClient(ctx, gw, adminv1.NewEventServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterWebhookEndpointServiceHandlerClient(ctx, gw, adminv1.NewWebhookEndpointServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterFeeScheduleServiceHandlerClient(ctx, gw, adminv1.NewFeeScheduleServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterCustomerServiceHandlerClient(ctx, gw, adminv1.NewCustomerServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterProductServiceHandlerClient(ctx, gw, adminv1.NewProductServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterPriceServiceHandlerClient(ctx, gw, adminv1.NewPriceServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterCouponServiceHandlerClient(ctx, gw, adminv1.NewCouponServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterPromotionCodeServiceHandlerClient(ctx, gw, adminv1.NewPromotionCodeServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterSubscriptionServiceHandlerClient(ctx, gw, adminv1.NewSubscriptionServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterInvoiceServiceHandlerClient(ctx, gw, adminv1.NewInvoiceServiceClient(inline)); err != nil {
		return nil, err
	}
	if err := adminv1.RegisterTestClockServiceHandlerClient(ctx, gw, adminv1.NewTestClockServiceClient(inline)); err != nil {
		return nil, err
	}
	docs := openapi.LazyDocs()
	mux := http.NewServeMux()
	(&collections.Surface{Conn: inline, Tokens: authn}).Register(mux)
	mux.Handle("GET /v1/openapi.json", openapi.Handler())
	mux.Handle("GET /docs", docs)
	payporter.New(inline, logger).Register(mux) // seed 004's /api/checkout
	mux.Handle("/", gateway.APIPrefix(gw))
	(&paymentkit.Handler{Sessions: adminv1.NewCheckoutSessionServiceClient(inline), CheckoutBase: checkoutBase}).Register(mux) // seed 002's /api/{account_id}/checkout-sessions
	// Stripe's SDKs (a Stripe-Version header) get the Stripe dialect.
	rest := stripesurface.Dialect(stripesurface.New(adminv1.NewCheckoutSessionServiceClient(inline)), mux)
	return &API{GRPC: public, REST: gateway.NoStore(guard.guardREST(rest)), Inline: inline, Renewer: renewer, guard: guard}, nil
}

// NewInternal builds the internal gRPC server for checkout-runtime and hooks,
// behind the shared-token check (tokens: the current token and any accepted
// during a rotation); keys decrypt provider accounts' credentials.
func NewInternal(st *store.Store, logger *slog.Logger, checkoutBase string, tokens []string, keys *secretbox.Keyring, outer ...grpc.UnaryServerInterceptor) *grpc.Server {
	chain := grpcx.Chain{Logger: logger, Outer: outer, Inner: []grpc.UnaryServerInterceptor{grpcx.InternalAuth(tokens...), grpcx.ValidateStrings()}}
	srv := grpc.NewServer(chain.ServerOptions()...)
	internalapiv1.RegisterSessionServiceServer(srv, &grpcapi.InternalSessions{Store: st, CheckoutBase: checkoutBase})
	internalapiv1.RegisterProviderAccountServiceServer(srv, &grpcapi.InternalProviderAccounts{Store: st, Keys: keys})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	return srv
}
