// Command hooks receives payment-provider callbacks on MAIN_BACKEND_DOMAIN
// and delivers signed webhooks to merchants.
//
//	hooks [serve]   run the service
//	hooks migrate   apply the hooks schema's migrations
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/hooks/internal/callback"
	"github.com/tillpoint/tillpoint/services/hooks/internal/delivery"
	"github.com/tillpoint/tillpoint/services/hooks/internal/grpcapi"
	"github.com/tillpoint/tillpoint/services/hooks/internal/store"
	"github.com/tillpoint/tillpoint/services/hooks/migrations"
	"github.com/tillpoint/tillpoint/services/platform/app"
	"github.com/tillpoint/tillpoint/services/platform/config"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/logging"
	"github.com/tillpoint/tillpoint/services/platform/outbox"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

const name = "hooks"

func main() {
	app.Main(app.Command{Name: name, Usage: "hooks [serve | migrate]", Migrations: migrations.Set, Serve: func(ctx context.Context) error {
		cfg, err := loadConfig()
		if err != nil {
			return fmt.Errorf("configuration:\n%w", err)
		}
		return serve(ctx, cfg)
	}})
}

// Config is hooks's configuration.
type Config struct {
	config.Common
	// TestProviderSecret verifies the test provider's callbacks (test mode
	// only). BankFeedSecret verifies the live bank feed (live-mode payments
	// only); BankFeedTestSecret, when set, the test or simulated feed
	// (test-mode payments only).
	TestProviderSecret, BankFeedSecret, BankFeedTestSecret string
	// Targets is the policy of the URLs webhooks and notify_url callbacks
	// go to: where private addresses are allowed (WEBHOOK_ALLOW_PRIVATE_TARGETS:
	// test mode, or some organizations; only for development or an
	// operator's own shop, as it opens the door to SSRF), and the listeners
	// never called (this service's own, and WEBHOOK_DENY_TARGETS).
	Targets webhook.TargetPolicy
	// AdminInternalAddr is admin-api's internal gRPC listener, which holds
	// the provider accounts' webhook secrets (Stripe callbacks).
	AdminInternalAddr string
	// RetryScale shrinks the retry schedule (tests only).
	RetryScale float64
	// DeliveryConcurrency and PerEndpointConcurrency bound attempts in flight.
	DeliveryConcurrency, PerEndpointConcurrency int
}

func loadConfig() (Config, error) {
	l := config.NewLoader()
	c := Config{Common: config.LoadCommon(l, config.Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"})}
	c.TestProviderSecret = l.Secret("TEST_PROVIDER_SECRET", 32)
	c.BankFeedSecret = l.Secret("BANK_FEED_SECRET", 32)
	c.BankFeedTestSecret = l.OptionalSecret("BANK_FEED_TEST_SECRET", 32)
	if c.BankFeedTestSecret != "" && c.BankFeedTestSecret == c.BankFeedSecret {
		// The secret that verifies a callback is what tells its mode.
		l.Fail("BANK_FEED_TEST_SECRET", "must differ from BANK_FEED_SECRET: the secret decides the mode of the payments a callback may settle")
	}
	c.AdminInternalAddr = l.Addr("ADMIN_INTERNAL_ADDR", "")
	c.Targets = webhook.LoadTargetPolicy(l, c.HTTPAddr, c.InternalGRPCAddr, c.MetricsAddr)
	c.RetryScale = float64(l.Int("WEBHOOK_RETRY_SCALE_PERCENT", 100, 0, 100)) / 100
	c.DeliveryConcurrency = l.Int("WEBHOOK_CONCURRENCY", 64, 1, 10000)
	c.PerEndpointConcurrency = l.Int("WEBHOOK_PER_ENDPOINT_CONCURRENCY", 8, 1, 1000)
	return c, l.Err()
}

func serve(ctx context.Context, cfg Config) error {
	logger := logging.New(os.Stderr, cfg.LogLevel, name)
	base, err := app.Open(ctx, name, cfg.Common, logger)
	if err != nil {
		return err
	}
	defer base.Close()

	internalChain := grpcx.Chain{Logger: logger, Outer: []grpc.UnaryServerInterceptor{base.GRPCMetrics.UnaryInterceptor()}, Inner: []grpc.UnaryServerInterceptor{grpcx.InternalAuth(cfg.InternalTokens()...), grpcx.ValidateStrings()}}
	internal := grpc.NewServer(internalChain.ServerOptions()...)
	healthpb.RegisterHealthServer(internal, health.NewServer())
	st := store.New(base.Pool)
	worker := &delivery.Worker{Store: st, Logger: logger, Concurrency: cfg.DeliveryConcurrency, PerEndpoint: cfg.PerEndpointConcurrency,
		RetryScale: cfg.RetryScale, Clients: delivery.NewClients(cfg.Targets, cfg.DeliveryConcurrency)}
	consumer := &delivery.Consumer{JS: base.JS, Store: st, Logger: logger, Worker: worker, Targets: cfg.Targets}
	adminv1.RegisterEventServiceServer(internal, &grpcapi.Events{Store: st})
	adminv1.RegisterWebhookEndpointServiceServer(internal, &grpcapi.Endpoints{Store: st, Targets: cfg.Targets, Wake: worker.Wake})

	adminConn, err := grpc.NewClient(cfg.AdminInternalAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcx.InternalToken(cfg.InternalToken)), grpc.WithUnaryInterceptor(grpcx.PropagateRequestID()))
	if err != nil {
		return fmt.Errorf("admin-api client: %w", err)
	}
	defer adminConn.Close()

	callbacks := &callback.Handler{Pool: base.Pool, Logger: logger, Now: time.Now, Secrets: callbackSecrets(cfg)}
	stripeHooks := &callback.StripeHandler{Pool: base.Pool, Logger: logger, Now: time.Now,
		Accounts: internalapiv1.NewProviderAccountServiceClient(adminConn)}
	gocardlessHooks := &callback.GoCardlessHandler{Pool: base.Pool, Logger: logger,
		Accounts: internalapiv1.NewProviderAccountServiceClient(adminConn)}
	paystackHooks := &callback.PaystackHandler{Pool: base.Pool, Logger: logger,
		Accounts: internalapiv1.NewProviderAccountServiceClient(adminConn)}
	routes := http.NewServeMux()
	routes.Handle("POST /hooks/{provider}", callbacks)
	routes.Handle("POST /hooks/stripe/{account}", stripeHooks)
	routes.Handle("POST /hooks/paystack/{account}", paystackHooks)
	routes.Handle("POST /hooks/gocardless/{account}", gocardlessHooks)

	relay := &outbox.Relay{Pool: base.Pool, JS: base.JS, Schema: migrations.Set.Schema, Logger: logger}
	if err := outbox.RegisterBacklog(base.Metrics, base.Pool, relay.Schema); err != nil {
		return err
	}
	return base.Run(ctx, app.Parts{
		Public:   routes,
		Internal: internal,
		Workers: map[string]func(context.Context) error{"outbox relay": relay.Run, "event consumer": consumer.Run,
			"webhook worker": worker.Run, "event purge": func(ctx context.Context) error { return purgeEvents(ctx, st, logger) }},
	})
}

// callbackSecrets maps each provider to its callback secrets per mode. The
// test provider has no live secret: it is test mode only.
func callbackSecrets(cfg Config) map[string]provider.ModeSecrets {
	bank := provider.ModeSecrets{Live: [][]byte{[]byte(cfg.BankFeedSecret)}}
	if cfg.BankFeedTestSecret != "" {
		bank.Test = [][]byte{[]byte(cfg.BankFeedTestSecret)}
	}
	return map[string]provider.ModeSecrets{
		provider.NameTest:         {Test: [][]byte{[]byte(cfg.TestProviderSecret)}},
		provider.NameBankTransfer: bank,
	}
}

// purgeEvents deletes events past their 30 days, hourly.
func purgeEvents(ctx context.Context, st *store.Store, logger *slog.Logger) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := st.PurgeEvents(ctx); err != nil && ctx.Err() == nil {
			logger.ErrorContext(ctx, "purging events", "err", err)
		} else if n > 0 {
			logger.InfoContext(ctx, "purged events older than 30 days", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
