// Command admin-api serves the merchant API (REST through grpc-gateway, and
// gRPC) on ADMIN_BACKEND_DOMAIN, and internal gRPC for the other services.
//
//	admin-api [serve]                                 run the service
//	admin-api migrate                                 apply the admin schema's migrations
//	admin-api orgs create --name NAME                 make an organization
//	admin-api keys create --org ID --mode test|live   make a secret key (printed once)
//	admin-api users create --email E --org ID --role R  make a dashboard user (password printed when generated)
//	admin-api users reset-two-factor --email E        turn off a user's two-factor sign-in (lost phone and codes)
//	admin-api seed-demo                               the dev stack's demo data (key in DEMO_SECRET_KEY,
//	                                                  dashboard owner in DEMO_DASHBOARD_EMAIL/PASSWORD)
//	admin-api provider-accounts reencrypt             re-seal credentials (and dashboard two-factor secrets)
//	                                                  under the first TILLPOINT_ENCRYPTION_KEY key
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/bootstrap"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/subscription"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/dashboard"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/grpcapi"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/provideracct"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/server"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/sweeper"
	"github.com/tillpoint/tillpoint/services/admin-api/migrations"
	"github.com/tillpoint/tillpoint/services/platform/app"
	"github.com/tillpoint/tillpoint/services/platform/config"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/logging"
	"github.com/tillpoint/tillpoint/services/platform/outbox"
	"github.com/tillpoint/tillpoint/services/platform/pgkit"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

const name = "admin-api"

func main() {
	app.Main(app.Command{
		Name:       name,
		Usage:      "admin-api [serve | migrate | orgs create --name NAME | keys create --org ID --mode test|live [--name NAME] | users create --email EMAIL --org ID --role owner|developer|support|viewer [--password-stdin] | users reset-two-factor --email EMAIL | seed-demo | provider-accounts reencrypt]",
		Migrations: migrations.Set,
		Serve: func(ctx context.Context) error {
			cfg, err := loadConfig()
			if err != nil {
				return fmt.Errorf("configuration:\n%w", err)
			}
			return serve(ctx, cfg)
		},
		Extra: map[string]func(context.Context, []string, io.Writer) error{
			"orgs":              orgsCommand,
			"keys":              keysCommand,
			"users":             usersCommand,
			"provider-accounts": providerAccountsCommand,
			"seed-demo": func(ctx context.Context, _ []string, stdout io.Writer) error {
				return withStore(ctx, func(s *store.Store) error {
					demo, err := bootstrap.SeedDemo(ctx, s, os.Getenv("DEMO_SECRET_KEY"))
					if err != nil {
						return err
					}
					if email := os.Getenv("DEMO_DASHBOARD_EMAIL"); email != "" {
						if _, err := dashboard.SetUser(ctx, s, email, demo.OrganizationID, dashboard.RoleOwner, os.Getenv("DEMO_DASHBOARD_PASSWORD")); err != nil {
							return fmt.Errorf("demo dashboard owner: %w", err)
						}
					}
					return json.NewEncoder(stdout).Encode(demo)
				})
			},
		},
	})
}

// Config is admin-api's configuration.
type Config struct {
	config.Common
	// GRPCAddr serves the merchant API over gRPC.
	GRPCAddr string
	// SweepInterval is how often due sessions are expired.
	SweepInterval time.Duration
	// RenewalInterval is how often due subscription renewals are looked for
	// (SUBSCRIPTION_RENEWAL_INTERVAL).
	RenewalInterval time.Duration
	// RetrySchedule is when a failed renewal is retried, after the renewal
	// date (SUBSCRIPTION_RETRY_SCHEDULE, e.g. "24h,72h,120h").
	RetrySchedule []time.Duration
	// RuntimeInternalAddr and HooksInternalAddr are the internal gRPC
	// listeners of checkout-runtime and hooks.
	RuntimeInternalAddr, HooksInternalAddr string
	// Limits are the merchant API's rate limits, per replica.
	Limits auth.LimitConfig
	// Targets is the policy a session's notify_url must pass: the same
	// variables as hooks (WEBHOOK_ALLOW_PRIVATE_TARGETS, WEBHOOK_DENY_TARGETS),
	// so that what is accepted here is what hooks calls; admin-api's own
	// listeners and the internal addresses it knows are always denied.
	Targets webhook.TargetPolicy
	// Keys encrypt provider accounts' credentials (TILLPOINT_ENCRYPTION_KEY:
	// "id:base64-of-32-bytes[,id:…]"; the first encrypts, all decrypt).
	Keys *secretbox.Keyring
	// StripeAPIBase is Stripe's API (STRIPE_API_BASE; stripe-mock in tests).
	StripeAPIBase string
	// GoCardlessAPIBase overrides GoCardless's API for both modes
	// (GOCARDLESS_API_BASE; empty: each token's own, live or sandbox).
	GoCardlessAPIBase string
	// AccessTokenKey signs the access tokens of POST /auth/token
	// (ACCESS_TOKEN_SIGNING_KEY, at least 32 characters, the same on every
	// replica); unset turns access tokens off.
	AccessTokenKey string
}

// Default rate limits of the merchant API, per replica.
const (
	// writesPerKey: Stripe allows 100 writes a second per account in live
	// mode; a merchant's checkout creates one session per order.
	writesPerKey, writesPerKeyBurst = 100, 200
	// writesPerAddr: above one key's, so one server using a few keys is not
	// limited sooner than by each key.
	writesPerAddr, writesPerAddrBurst = 200, 400
	// readsPerKey: reads change nothing and are cheap (an index lookup, a
	// page of at most 100); the limit only stops a runaway loop.
	readsPerKey, readsPerKeyBurst = 1000, 2000
	// authFailuresPerAddr, per minute: keys have 192 random bits, so this is
	// not what stops guessing; it bounds the lookups a flood of bad keys
	// costs, and still lets a misconfigured client see its 401s.
	authFailuresPerAddr, authFailuresPerAddrBurst = 60, 60
)

// loadLimits reads the API_RATE_LIMIT_* variables; 0 disables a limit.
func loadLimits(l *config.Loader) auth.LimitConfig {
	return auth.LimitConfig{
		WritesPerKey:        l.RateLimit("API_RATE_LIMIT_WRITES_PER_KEY", time.Second, writesPerKey, writesPerKeyBurst),
		WritesPerAddr:       l.RateLimit("API_RATE_LIMIT_WRITES_PER_ADDR", time.Second, writesPerAddr, writesPerAddrBurst),
		ReadsPerKey:         l.RateLimit("API_RATE_LIMIT_READS_PER_KEY", time.Second, readsPerKey, readsPerKeyBurst),
		AuthFailuresPerAddr: l.RateLimit("API_RATE_LIMIT_AUTH_FAILURES_PER_ADDR", time.Minute, authFailuresPerAddr, authFailuresPerAddrBurst),
		MaxTracked:          l.Int("API_RATE_LIMIT_MAX_TRACKED", ratelimit.DefaultMaxKeys, 100, 10_000_000),
	}
}

func loadConfig() (Config, error) {
	l := config.NewLoader()
	c := Config{
		Common:              config.LoadCommon(l, config.Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"}),
		GRPCAddr:            l.Addr("GRPC_ADDR", ":8081"),
		SweepInterval:       l.Duration("SWEEP_INTERVAL", 5*time.Second),
		RenewalInterval:     l.Duration("SUBSCRIPTION_RENEWAL_INTERVAL", 30*time.Second),
		RetrySchedule:       loadRetrySchedule(l),
		RuntimeInternalAddr: l.Addr("RUNTIME_INTERNAL_ADDR", ""),
		HooksInternalAddr:   l.Addr("HOOKS_INTERNAL_ADDR", ""),
		Limits:              loadLimits(l),
		Keys:                loadKeys(l),
		StripeAPIBase:       loadBaseURL(l, "STRIPE_API_BASE", provideracct.DefaultStripeAPIBase),
		GoCardlessAPIBase:   loadOptionalBaseURL(l, "GOCARDLESS_API_BASE"),
		AccessTokenKey:      l.OptionalSecret("ACCESS_TOKEN_SIGNING_KEY", auth.MinTokenKeyLen),
	}
	c.Targets = webhook.LoadTargetPolicy(l, c.HTTPAddr, c.GRPCAddr, c.InternalGRPCAddr, c.MetricsAddr,
		c.RuntimeInternalAddr, c.HooksInternalAddr)
	return c, l.Err()
}

// loadRetrySchedule reads SUBSCRIPTION_RETRY_SCHEDULE: increasing positive
// durations after the renewal date, comma-separated (at most 10).
func loadRetrySchedule(l *config.Loader) []time.Duration {
	const name, maxRetries = "SUBSCRIPTION_RETRY_SCHEDULE", 10
	raw := strings.TrimSpace(l.String(name, ""))
	if raw == "" {
		return subscription.DefaultRetrySchedule
	}
	var out []time.Duration
	for _, part := range strings.Split(raw, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 || (len(out) > 0 && d <= out[len(out)-1]) {
			l.Fail(name, "want increasing positive durations such as 24h,72h,120h, got %q", raw)
			return nil
		}
		out = append(out, d)
	}
	if len(out) > maxRetries {
		l.Fail(name, "at most %d retries", maxRetries)
	}
	return out
}

// loadKeys reads TILLPOINT_ENCRYPTION_KEY. Its errors never hold the key.
func loadKeys(l *config.Loader) *secretbox.Keyring {
	spec := l.Secret(secretbox.Variable, 1)
	if spec == "" {
		return nil
	}
	keys, err := secretbox.Parse(spec)
	if err != nil {
		l.Fail(secretbox.Variable, "%v (generate a key with: echo k1:$(openssl rand -base64 32))", err)
	}
	return keys
}

// loadBaseURL reads an absolute http(s) URL without a trailing slash.
func loadBaseURL(l *config.Loader, name, def string) string {
	v := strings.TrimRight(l.String(name, def), "/")
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		l.Fail(name, "must be an absolute http(s) URL such as %s, got %q", def, v)
	}
	return v
}

// loadOptionalBaseURL is loadBaseURL for a setting whose absence means the
// default of each use (GOCARDLESS_API_BASE: the token's mode's API).
func loadOptionalBaseURL(l *config.Loader, name string) string {
	if l.String(name, "") == "" {
		return ""
	}
	return loadBaseURL(l, name, "https://…")
}

// withStore connects with DATABASE_URL alone, for the one-off commands.
func withStore(ctx context.Context, fn func(*store.Store) error) error {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return errors.New("DATABASE_URL is required")
	}
	pool, err := pgkit.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(store.New(pool))
}

func orgsCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("orgs create", flag.ContinueOnError)
	orgName := fs.String("name", "", "organization name")
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: admin-api orgs create --name NAME")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return withStore(ctx, func(s *store.Store) error {
		org, err := bootstrap.CreateOrganization(ctx, s, *orgName)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, org.ID)
		return nil
	})
}

// providerAccountsCommand re-seals every account's credentials under the
// first key of TILLPOINT_ENCRYPTION_KEY, after a rotation, so that the old
// keys can be removed.
func providerAccountsCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "reencrypt" {
		return errors.New("usage: admin-api provider-accounts reencrypt")
	}
	l := config.NewLoader()
	keys := loadKeys(l)
	if err := l.Err(); err != nil {
		return err
	}
	return withStore(ctx, func(s *store.Store) error {
		n, err := grpcapi.ReencryptProviderAccounts(ctx, s, keys)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d provider accounts re-encrypted under key %q\n", n, keys.PrimaryID())
		// The dashboard's two-factor secrets are sealed under the same keys.
		if n, err = dashboard.ReencryptTwoFactorSecrets(ctx, s, keys); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d dashboard users' two-factor secrets re-encrypted under key %q\n", n, keys.PrimaryID())
		return nil
	})
}

// usersCommand makes a dashboard user (the first owner of a deployment) or
// resets an existing user's password and role in the organization. The
// password is read from stdin with --password-stdin (so it is not in the
// shell history or the process list), else generated and printed once.
func usersCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "reset-two-factor" {
		return resetTwoFactorCommand(ctx, args[1:], stdout)
	}
	const usage = "usage: admin-api users create --email EMAIL --org ID --role owner|developer|support|viewer [--password-stdin]\n" +
		"       admin-api users reset-two-factor --email EMAIL"
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	email := fs.String("email", "", "the user's email (their sign-in name)")
	org := fs.String("org", "", "organization id (org_…)")
	roleName := fs.String("role", "", "owner, developer, support or viewer")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	if len(args) == 0 || args[0] != "create" {
		return errors.New(usage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	role, ok := dashboard.ParseRole(*roleName)
	if !ok || *email == "" || *org == "" {
		return errors.New(usage)
	}
	password, generated := "", false
	if *fromStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		password, generated = dashboard.GeneratePassword(), true
	}
	return withStore(ctx, func(s *store.Store) error {
		user, err := dashboard.SetUser(ctx, s, *email, *org, role, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s (%s) is %s of %s\n", user.ID, user.Email, role, *org)
		if generated {
			fmt.Fprintf(stdout, "password: %s\n(shown once; sign in at /dashboard/login)\n", password)
		}
		return nil
	})
}

// resetTwoFactorCommand turns off a user's two-factor sign-in, for a
// person who lost both their phone and their recovery codes; they sign in
// with their password and may set it up again.
func resetTwoFactorCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("users reset-two-factor", flag.ContinueOnError)
	email := fs.String("email", "", "the user's email")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("usage: admin-api users reset-two-factor --email EMAIL")
	}
	return withStore(ctx, func(s *store.Store) error {
		if err := dashboard.ResetTwoFactor(ctx, s, *email); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "two-factor sign-in of %s is off; their recovery codes are deleted\n", dashboard.NormalizeEmail(*email))
		return nil
	})
}

func keysCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	org := fs.String("org", "", "organization id (org_…)")
	mode := fs.String("mode", "test", "test or live")
	keyName := fs.String("name", "", "label")
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: admin-api keys create --org ID --mode test|live [--name NAME]")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *mode != "test" && *mode != "live" {
		return fmt.Errorf("--mode must be test or live, not %q", *mode)
	}
	return withStore(ctx, func(s *store.Store) error {
		_, secret, err := bootstrap.CreateKey(ctx, s, *org, *mode == "live", *keyName)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		return nil
	})
}

func serve(ctx context.Context, cfg Config) error {
	logger := logging.New(os.Stderr, cfg.LogLevel, name)
	base, err := app.Open(ctx, name, cfg.Common, logger)
	if err != nil {
		return err
	}
	defer base.Close()
	st := store.New(base.Pool)
	checkoutBase := cfg.PublicURL(cfg.MainFrontendDomain)
	dial := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(grpcx.InternalToken(cfg.InternalToken)), grpc.WithUnaryInterceptor(grpcx.PropagateRequestID()))
	}
	runtimeConn, err := dial(cfg.RuntimeInternalAddr)
	if err != nil {
		return err
	}
	defer runtimeConn.Close()
	hooksConn, err := dial(cfg.HooksInternalAddr)
	if err != nil {
		return err
	}
	defer hooksConn.Close()
	guard := server.Guard{TrustedProxies: httpx.NewTrustedProxies(cfg.TrustedProxies), Limits: auth.NewLimits(cfg.Limits)}
	if cfg.AccessTokenKey != "" {
		guard.Tokens = &auth.Tokens{Key: []byte(cfg.AccessTokenKey)}
	}
	accounts := server.Accounts{Keys: cfg.Keys, Stripe: provideracct.Stripe{Base: cfg.StripeAPIBase},
		GoCardless: provideracct.GoCardless{Base: cfg.GoCardlessAPIBase},
		HooksBase:  cfg.PublicURL(cfg.MainBackendDomain)}
	api, err := server.New(ctx, st, logger, checkoutBase, cfg.Targets, server.PeersOn(runtimeConn, hooksConn), guard, accounts, base.GRPCMetrics.UnaryInterceptor())
	if err != nil {
		return err
	}

	dash := &dashboard.Handler{Store: st, Conn: api.Inline, Logger: logger, Keys: cfg.Keys,
		Secure:      strings.HasPrefix(cfg.PublicURL(cfg.AdminBackendDomain), "https://"),
		LoginLimits: dashboard.NewLoginLimits()}
	if err := dash.Init(ctx); err != nil {
		return err
	}

	internal := server.NewInternal(st, logger, checkoutBase, cfg.InternalTokens(), cfg.Keys, base.GRPCMetrics.UnaryInterceptor())

	relay := &outbox.Relay{Pool: base.Pool, JS: base.JS, Schema: grpcapi.OutboxSchema, Logger: logger}
	if err := outbox.RegisterBacklog(base.Metrics, base.Pool, relay.Schema); err != nil {
		return err
	}
	sweep := &sweeper.Sweeper{Store: st, CheckoutBase: checkoutBase, Interval: cfg.SweepInterval, Logger: logger}
	api.Renewer.Interval, api.Renewer.Schedule = cfg.RenewalInterval, cfg.RetrySchedule
	return base.Run(ctx, app.Parts{
		Public:   api.WithDashboard(dashboard.Prefix, dash),
		Internal: internal,
		GRPC:     map[string]*grpc.Server{cfg.GRPCAddr: api.GRPC},
		Workers: map[string]func(context.Context) error{"outbox relay": relay.Run, "sweeper": sweep.Run, "subscription renewals": api.Renewer.Run,
			"dashboard sessions": dash.SweepSessions,
			"cache listener":     func(ctx context.Context) error { return st.Listen(ctx, logger) },
			"session batcher":    func(ctx context.Context) error { return st.RunBatchers(ctx, logger) }},
	})
}
