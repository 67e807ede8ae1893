// Command checkout-runtime serves the hosted checkout page on MAIN_FRONTEND_DOMAIN
// and takes payments through the payment providers.
//
//	checkout-runtime [serve]   run the service
//	checkout-runtime migrate   apply the runtime schema's migrations
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/url"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/grpcapi"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/web"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/app"
	"github.com/tillpoint/tillpoint/services/platform/config"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/logging"
	"github.com/tillpoint/tillpoint/services/platform/outbox"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/gocardless"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/provider/stripe"
	"github.com/tillpoint/tillpoint/services/platform/routing"
)

const name = "checkout-runtime"

func main() {
	app.Main(app.Command{Name: name, Usage: "checkout-runtime [serve | migrate]", Migrations: migrations.Set, Serve: func(ctx context.Context) error {
		cfg, err := loadConfig()
		if err != nil {
			return fmt.Errorf("configuration:\n%w", err)
		}
		return serve(ctx, cfg)
	}})
}

// Config is checkout-runtime's configuration.
type Config struct {
	config.Common
	// AdminInternalAddr is admin-api's internal gRPC listener.
	AdminInternalAddr string
	// TestProviderSecret signs the test provider's callbacks (shared with hooks).
	TestProviderSecret string
	// TestProviderCallbackURL receives them: POST /hooks/test on MAIN_BACKEND_DOMAIN.
	TestProviderCallbackURL string
	// TestProviderAsyncDelay is when the "succeeds later" test card succeeds.
	TestProviderAsyncDelay time.Duration
	// StripeAPIBase is Stripe's API base URL (tests: stripe-mock).
	StripeAPIBase string
	// PaystackAPIBase is Paystack's API base URL (tests: Prism).
	PaystackAPIBase string
	// MobileMoneyTimeout is how long a mobile-money payment may wait for
	// the payer's code or approval before it fails (payment_timeout).
	MobileMoneyTimeout time.Duration
	// GoCardlessAPIBase overrides GoCardless's API base URL for both modes
	// (GOCARDLESS_API_BASE; tests: a server of GoCardless's fixtures).
	// Empty: live accounts use api.gocardless.com, test-mode accounts
	// api-sandbox.gocardless.com.
	GoCardlessAPIBase string
	// Limits are the payment attempts allowed per session and per client
	// address in an hour (card-testing defence).
	Limits payment.Limits
	// PaymentGrace is how long a card payment stays processing untouched
	// before the payment reconciler settles it (PAYMENT_RECONCILE_GRACE).
	PaymentGrace time.Duration
}

func loadConfig() (Config, error) {
	l := config.NewLoader()
	c := Config{Common: config.LoadCommon(l, config.Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"})}
	c.AdminInternalAddr = l.Addr("ADMIN_INTERNAL_ADDR", "")
	c.TestProviderSecret = l.Secret("TEST_PROVIDER_SECRET", 32)
	c.TestProviderCallbackURL = l.String("TEST_PROVIDER_CALLBACK_URL", c.PublicURL(c.MainBackendDomain)+"/hooks/test")
	c.TestProviderAsyncDelay = l.Duration("TEST_PROVIDER_ASYNC_DELAY", 5*time.Second)
	c.StripeAPIBase = l.String("STRIPE_API_BASE", stripe.DefaultBaseURL)
	c.GoCardlessAPIBase = l.String("GOCARDLESS_API_BASE", "")
	if u, err := url.Parse(c.GoCardlessAPIBase); c.GoCardlessAPIBase != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
		l.Fail("GOCARDLESS_API_BASE", "must be an absolute http(s) URL")
	}
	if u, err := url.Parse(c.StripeAPIBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		l.Fail("STRIPE_API_BASE", "must be an absolute http(s) URL")
	}
	c.PaystackAPIBase = l.String("PAYSTACK_API_BASE", paystack.DefaultBaseURL)
	// Operators' prompts expire within a few minutes; five leaves the payer
	// time to find the phone.
	c.MobileMoneyTimeout = l.Duration("MOBILE_MONEY_TIMEOUT", 5*time.Minute)
	if u, err := url.Parse(c.PaystackAPIBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		l.Fail("PAYSTACK_API_BASE", "must be an absolute http(s) URL")
	}
	c.Limits = payment.DefaultLimits
	c.Limits.PerSession = l.Int("CHECKOUT_ATTEMPTS_PER_SESSION", c.Limits.PerSession, 1, 1_000_000)
	c.Limits.PerIP = l.Int("CHECKOUT_ATTEMPTS_PER_IP", c.Limits.PerIP, 1, 1_000_000)
	c.PaymentGrace = l.Duration("PAYMENT_RECONCILE_GRACE", payment.DefaultPaymentGrace)
	if c.PaymentGrace <= 0 {
		l.Fail("PAYMENT_RECONCILE_GRACE", "must be positive")
	}
	return c, l.Err()
}

func serve(ctx context.Context, cfg Config) error {
	logger := logging.New(os.Stderr, cfg.LogLevel, name)
	base, err := app.Open(ctx, name, cfg.Common, logger)
	if err != nil {
		return err
	}
	defer base.Close()

	adminConn, err := grpc.NewClient(cfg.AdminInternalAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcx.InternalToken(cfg.InternalToken)), grpc.WithUnaryInterceptor(grpcx.PropagateRequestID()))
	if err != nil {
		return err
	}
	defer adminConn.Close()
	st := store.New(base.Pool)
	// Merchants' own provider accounts (Stripe): credentials come from
	// admin-api when a payment needs them, and are never logged.
	// Test-provider accounts (routes in test mode) share the built-in one.
	providers := provider.NewDefaultRegistry()
	builtinTest, _ := providers.Lookup(provider.NameTest)
	providers.WithAccounts(
		provider.GRPCCredentials(internalapiv1.NewProviderAccountServiceClient(adminConn)),
		map[string]provider.Factory{provider.NameStripe: stripe.Factory(cfg.StripeAPIBase, nil),
			provider.NameGoCardless: gocardless.Factory(cfg.GoCardlessAPIBase, nil),
			provider.NamePaystack:   paystack.Factory(cfg.PaystackAPIBase, nil),
			provider.NameTest:       provider.TestAccountFactory(builtinTest)})
	// Routes' circuit breaker: in memory, per replica (docs/routing.md).
	breaker, err := routing.NewBreaker(routing.DefaultBreaker, nil, base.Metrics)
	if err != nil {
		return err
	}
	pay := &payment.Service{Store: st, Admin: internalapiv1.NewSessionServiceClient(adminConn), Providers: providers,
		Limits: cfg.Limits, AsyncDelay: cfg.TestProviderAsyncDelay, Logger: logger, Breaker: breaker}
	page := &web.Handler{Admin: pay.Admin, Pay: pay, Store: st, Logger: logger, Secure: cfg.PublicScheme == "https",
		CSRFKey: derive(cfg.InternalToken, "checkout-csrf"), NATS: base.NC}
	for _, tok := range cfg.InternalTokensAccepted {
		page.CSRFKeysAccepted = append(page.CSRFKeysAccepted, derive(tok, "checkout-csrf"))
	}
	routes, err := page.Routes()
	if err != nil {
		return err
	}
	defer page.Close()

	internalChain := grpcx.Chain{Logger: logger, Outer: []grpc.UnaryServerInterceptor{base.GRPCMetrics.UnaryInterceptor()},
		Inner: []grpc.UnaryServerInterceptor{grpcx.InternalAuth(cfg.InternalTokens()...), grpcx.ValidateStrings()}}
	internal := grpc.NewServer(internalChain.ServerOptions()...)
	healthpb.RegisterHealthServer(internal, health.NewServer())
	internalapiv1.RegisterPaymentServiceServer(internal, &grpcapi.Payments{Service: pay})

	relay := &outbox.Relay{Pool: base.Pool, JS: base.JS, Schema: migrations.Set.Schema, Logger: logger}
	if err := outbox.RegisterBacklog(base.Metrics, base.Pool, relay.Schema); err != nil {
		return err
	}
	sim := &payment.Simulator{Store: st, Secret: []byte(cfg.TestProviderSecret), CallbackURL: cfg.TestProviderCallbackURL,
		Client: httpx.LocalhostClient(15 * time.Second), Interval: 500 * time.Millisecond, Logger: logger}
	callbacks := &payment.Callbacks{JS: base.JS, Service: pay, Logger: logger}
	// A refund pending for 2 minutes has outlived its request (which gives
	// the provider 30 s): ask the provider again.
	refunds := &payment.RefundReconciler{Service: pay, Interval: 30 * time.Second, StaleAfter: 2 * time.Minute}
	// A card or mobile-money payment processing untouched for PaymentGrace was left by
	// its request (a crash): settle it from its session's state.
	stuck := &payment.PaymentReconciler{Service: pay, Interval: min(cfg.PaymentGrace/2, 30*time.Second), Grace: cfg.PaymentGrace,
		MobileMoneyTimeout: cfg.MobileMoneyTimeout}
	momo := &payment.MobileMoneyTimeouts{Service: pay, Interval: 30 * time.Second, Timeout: cfg.MobileMoneyTimeout}
	return base.Run(ctx, app.Parts{
		// The attempt limits per client address see the payer's address
		// behind the trusted proxies (TRUSTED_PROXIES).
		Public:   httpx.ClientAddrs(httpx.NewTrustedProxies(cfg.TrustedProxies))(routes),
		Internal: internal,
		Workers: map[string]func(context.Context) error{"outbox relay": relay.Run, "test provider": sim.Run,
			"provider callbacks": callbacks.Run, "refund reconciler": refunds.Run, "mobile money timeouts": momo.Run,
			"payment reconciler": stuck.Run},
	})
}

// derive makes a purpose-specific key from a secret, so that one secret can
// serve several uses without one use's values being valid for another.
func derive(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
