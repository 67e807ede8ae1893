package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/devpg"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/natsx/natsembed"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
)

// defaultPortBase keeps the stack clear of the standard ports (5432, 4222,
// 8080, …) that other servers on a developer machine already use, and below
// Linux's ephemeral range (32768–60999), where the machine's own outgoing
// connections would now and then hold one of its ports.
const defaultPortBase = 27800

// readyTimeout bounds how long a service may take to answer /readyz at start.
const readyTimeout = 60 * time.Second

type stackOptions struct {
	BinDir, Dir          string
	PortBase             int
	DatabaseURL, NATSURL string
}

// ports are laid out from the base: each service gets a block of ten.
type ports struct{ base int }

func (p ports) at(off int) int      { return p.base + off }
func (p ports) addr(off int) string { return "127.0.0.1:" + strconv.Itoa(p.at(off)) }
func (p ports) host(name string, off int) string {
	return name + ".localhost:" + strconv.Itoa(p.at(off))
}

const (
	offAdminHTTP, offAdminGRPC, offAdminInternal, offAdminMetrics = 1, 2, 3, 4
	offRuntimeHTTP, offRuntimeInternal, offRuntimeMetrics         = 11, 13, 14
	offHooksHTTP, offHooksInternal, offHooksMetrics               = 21, 23, 24
	offPostgres, offNATS                                          = 32, 42
)

// serviceOffsets are the listeners of the three services.
var serviceOffsets = []int{offAdminHTTP, offAdminGRPC, offAdminInternal, offAdminMetrics, offRuntimeHTTP,
	offRuntimeInternal, offRuntimeMetrics, offHooksHTTP, offHooksInternal, offHooksMetrics}

// secrets are made once and kept in the dev directory, so that the demo key
// printed by one `make run` keeps working in the next.
type secrets struct {
	InternalToken      string `json:"internal_token"`
	DemoSecretKey      string `json:"demo_secret_key"`
	TestProviderSecret string `json:"test_provider_secret"`
	BankFeedSecret     string `json:"bank_feed_secret"`
	BankFeedTestSecret string `json:"bank_feed_test_secret"`
	// EncryptionKey is admin-api's TILLPOINT_ENCRYPTION_KEY (one key, "dev1").
	EncryptionKey string `json:"encryption_key"`
	// AccessTokenKey is admin-api's ACCESS_TOKEN_SIGNING_KEY.
	AccessTokenKey string `json:"access_token_key"`
	// DashboardPassword is the demo owner's dashboard password.
	DashboardPassword string `json:"dashboard_password"`
}

// demoDashboardEmail is the dev stack's demo owner, seeded by seed-demo.
const demoDashboardEmail = "owner@demo.tillpoint.test"

// stackFile is $TILLPOINT_DEV_DIR/stack.json, read by scripts and tests.
type stackFile struct {
	AdminAPIURL    string `json:"admin_api_url"`
	CheckoutURL    string `json:"checkout_url"`
	HooksURL       string `json:"hooks_url"`
	AdminGRPCAddr  string `json:"admin_grpc_addr"`
	OrganizationID string `json:"organization_id"`
	SiteID         string `json:"site_id"`
	SecretKey      string `json:"secret_key"`
	DatabaseURL    string `json:"database_url"`
	NATSURL        string `json:"nats_url"`
	// The dev stack's provider secrets, so that a developer (or a test) can
	// sign a bank-feed or test-provider callback by hand. The bank feed has
	// one per mode: bank_feed_secret signs for live-mode payments only,
	// bank_feed_test_secret for test-mode ones only.
	BankFeedSecret     string `json:"bank_feed_secret"`
	BankFeedTestSecret string `json:"bank_feed_test_secret"`
	TestProviderSecret string `json:"test_provider_secret"`
	// The Admin Panel and its demo owner's sign-in.
	DashboardURL      string `json:"dashboard_url"`
	DashboardEmail    string `json:"dashboard_email"`
	DashboardPassword string `json:"dashboard_password"`
	PID               int    `json:"pid"`
}

func runStack(ctx context.Context, o stackOptions, stdout, stderr io.Writer) (err error) {
	logger := slog.New(slog.NewTextHandler(stderr, nil)).With("component", "tillpoint-dev")
	p := ports{o.PortBase}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	// A stack already running on these ports keeps its stack.json.
	if err := checkPortsFree(o, p); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(o.Dir, "stack.json"))
	sec, err := loadSecrets(filepath.Join(o.Dir, "secrets.json"))
	if err != nil {
		return err
	}

	// Cleanups run in reverse order on every exit path, PostgreSQL last.
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	dbURL := o.DatabaseURL
	if dbURL == "" {
		binDir, err := devpg.FindBinaries(ctx, logger)
		if err != nil {
			return err
		}
		cluster := &devpg.Cluster{BinDir: binDir, Dir: filepath.Join(o.Dir, "postgres"), Port: p.at(offPostgres), Logger: logger}
		if err := cluster.Init(ctx); err != nil {
			return err
		}
		if err := cluster.Start(ctx); err != nil {
			return err
		}
		cleanups = append(cleanups, func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := cluster.Stop(stopCtx); err != nil {
				logger.Error("stopping postgres", "err", err)
			}
		})
		if err := cluster.CreateDatabase(ctx, "tillpoint"); err != nil {
			return err
		}
		if err := cluster.EnableStatementStats(ctx, "tillpoint"); err != nil {
			return err
		}
		dbURL = cluster.URL("tillpoint")
		logger.Info("postgres started", "dir", cluster.Dir, "port", cluster.Port)
	}

	natsURL := o.NATSURL
	if natsURL == "" {
		srv, err := natsembed.Start(natsembed.Options{Host: "127.0.0.1", Port: p.at(offNATS), StoreDir: filepath.Join(o.Dir, "nats")})
		if err != nil {
			return err
		}
		cleanups = append(cleanups, func() { srv.Shutdown(); srv.WaitForShutdown() })
		natsURL = srv.ClientURL()
		logger.Info("nats started", "url", natsURL)
	}

	env := serviceEnv(p, dbURL, natsURL, sec)
	for _, svc := range []string{"admin-api", "checkout-runtime", "hooks"} {
		if _, err := runOnce(ctx, o.BinDir, svc, env.common, "migrate"); err != nil {
			return err
		}
	}
	out, err := runOnce(ctx, o.BinDir, "admin-api", append(env.common, "DEMO_SECRET_KEY="+sec.DemoSecretKey,
		"DEMO_DASHBOARD_EMAIL="+demoDashboardEmail, "DEMO_DASHBOARD_PASSWORD="+sec.DashboardPassword), "seed-demo")
	if err != nil {
		return err
	}
	var demo struct {
		OrganizationID string `json:"organization_id"`
		SiteID         string `json:"site_id"`
	}
	if err := json.Unmarshal(out, &demo); err != nil {
		return fmt.Errorf("seed-demo printed %q: %w", out, err)
	}

	exited := make(chan error, 3)
	var sups []*supervisor
	cleanups = append(cleanups, func() { stopAll(sups) })
	for _, svc := range []struct {
		name string
		env  []string
	}{{"admin-api", env.admin}, {"checkout-runtime", env.runtime}, {"hooks", env.hooks}} {
		sup, err := superviseService(o.BinDir, svc.name, svc.env, stderr, logger, exited)
		if err != nil {
			return err
		}
		sups = append(sups, sup)
	}

	for _, h := range []struct{ name, host, addr string }{
		{"admin-api", p.host("api", offAdminHTTP), p.addr(offAdminHTTP)},
		{"checkout-runtime", p.host("secure", offRuntimeHTTP), p.addr(offRuntimeHTTP)},
		{"hooks", p.host("webhook", offHooksHTTP), p.addr(offHooksHTTP)},
	} {
		if err := waitReady(ctx, h.addr, h.host, exited); err != nil {
			return fmt.Errorf("%s did not become ready: %w", h.name, err)
		}
	}

	st := stackFile{
		AdminAPIURL:    "http://" + p.host("api", offAdminHTTP),
		CheckoutURL:    "http://" + p.host("secure", offRuntimeHTTP),
		HooksURL:       "http://" + p.host("webhook", offHooksHTTP),
		AdminGRPCAddr:  p.addr(offAdminGRPC),
		OrganizationID: demo.OrganizationID,
		SiteID:         demo.SiteID,
		SecretKey:      sec.DemoSecretKey,
		DatabaseURL:    dbURL,
		NATSURL:        natsURL,
		BankFeedSecret: sec.BankFeedSecret, BankFeedTestSecret: sec.BankFeedTestSecret, TestProviderSecret: sec.TestProviderSecret,
		DashboardURL:   "http://" + p.host("api", offAdminHTTP) + "/dashboard/",
		DashboardEmail: demoDashboardEmail, DashboardPassword: sec.DashboardPassword,
		PID: os.Getpid(),
	}
	if err := writeJSON(filepath.Join(o.Dir, "stack.json"), st, 0o600); err != nil {
		return err
	}
	printBanner(stdout, st, o.Dir)

	select {
	case <-ctx.Done():
		logger.Info("stopping")
		return nil
	case err := <-exited:
		return fmt.Errorf("a service could not stay up: %w", err)
	}
}

type envSet struct{ common, admin, runtime, hooks []string }

func serviceEnv(p ports, dbURL, natsURL string, sec secrets) envSet {
	common := []string{
		"ADMIN_BACKEND_DOMAIN=" + p.host("api", offAdminHTTP),
		"MAIN_FRONTEND_DOMAIN=" + p.host("secure", offRuntimeHTTP),
		"MAIN_BACKEND_DOMAIN=" + p.host("webhook", offHooksHTTP),
		"PUBLIC_SCHEME=http",
		"DATABASE_URL=" + dbURL,
		"NATS_URL=" + natsURL,
		"INTERNAL_TOKEN=" + sec.InternalToken,
		"TEST_PROVIDER_SECRET=" + sec.TestProviderSecret,
		"BANK_FEED_SECRET=" + sec.BankFeedSecret,
		"BANK_FEED_TEST_SECRET=" + sec.BankFeedTestSecret,
		"ADMIN_INTERNAL_ADDR=" + p.addr(offAdminInternal),
		"RUNTIME_INTERNAL_ADDR=" + p.addr(offRuntimeInternal),
		"HOOKS_INTERNAL_ADDR=" + p.addr(offHooksInternal),
		// The dev stack lets test-mode webhooks reach merchant servers on
		// this machine, but never the stack's own listeners.
		"WEBHOOK_ALLOW_PRIVATE_TARGETS=test",
		"WEBHOOK_DENY_TARGETS=" + strings.Join(stackListeners(p, dbURL, natsURL), ","),
		// The services listen on 127.0.0.1 only; trusting it as a proxy lets
		// a local TLS proxy (or a test) name the client in X-Forwarded-For.
		"TRUSTED_PROXIES=" + envOr("TRUSTED_PROXIES", "127.0.0.1/32"),
	}
	with := func(kv ...string) []string { return append(append([]string{}, common...), kv...) }
	return envSet{
		common: common,
		// Only admin-api decrypts provider credentials. A key set in the
		// environment wins, so that a developer can try a rotation.
		admin: with(secretbox.Variable+"="+envOr(secretbox.Variable, sec.EncryptionKey),
			"ACCESS_TOKEN_SIGNING_KEY="+sec.AccessTokenKey,
			"HTTP_ADDR="+p.addr(offAdminHTTP), "GRPC_ADDR="+p.addr(offAdminGRPC),
			"INTERNAL_GRPC_ADDR="+p.addr(offAdminInternal), "METRICS_ADDR="+p.addr(offAdminMetrics)),
		runtime: with("HTTP_ADDR="+p.addr(offRuntimeHTTP), "INTERNAL_GRPC_ADDR="+p.addr(offRuntimeInternal),
			"METRICS_ADDR="+p.addr(offRuntimeMetrics)),
		hooks: with("HTTP_ADDR="+p.addr(offHooksHTTP), "INTERNAL_GRPC_ADDR="+p.addr(offHooksInternal),
			"METRICS_ADDR="+p.addr(offHooksMetrics)),
	}
}

// stackListeners are every listener of the stack (host:port): the services',
// and PostgreSQL's and NATS's, embedded or given by URL.
func stackListeners(p ports, dbURL, natsURL string) []string {
	var out []string
	for _, off := range serviceOffsets {
		out = append(out, p.addr(off))
	}
	for _, raw := range []string{dbURL, natsURL} {
		// A URL with several hosts, or in keyword form, is left out: its
		// listeners are not this stack's to guess.
		if u, err := url.Parse(raw); err == nil && u.Port() != "" {
			if _, _, err := net.SplitHostPort(u.Host); err == nil {
				out = append(out, u.Host)
			}
		}
	}
	return out
}

// checkPortsFree fails early, naming the port, rather than letting a service
// die later with a bare "address already in use".
func checkPortsFree(o stackOptions, p ports) error {
	offs := append([]int{}, serviceOffsets...)
	if o.DatabaseURL == "" {
		offs = append(offs, offPostgres)
	}
	if o.NATSURL == "" {
		offs = append(offs, offNATS)
	}
	for _, off := range offs {
		ln, err := net.Listen("tcp", p.addr(off))
		if err != nil {
			return fmt.Errorf("port %d is in use (is another `make run` running?); choose other ports with TILLPOINT_DEV_PORT_BASE: %w", p.at(off), err)
		}
		ln.Close()
	}
	return nil
}

// loadSecrets reads the dev directory's secrets, making any that are
// missing (all of them on the first run, new ones after an upgrade).
func loadSecrets(path string) (secrets, error) {
	var s secrets
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("%s is damaged (delete it to make new secrets): %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return s, err
	}
	before := s
	for _, f := range []struct {
		v    *string
		make func() string
	}{
		{&s.InternalToken, func() string { return ids.Random(48) }},
		{&s.DemoSecretKey, func() string { return "sk_test_" + ids.Random(40) }},
		{&s.TestProviderSecret, func() string { return ids.Random(48) }},
		{&s.BankFeedSecret, func() string { return ids.Random(48) }},
		{&s.BankFeedTestSecret, func() string { return ids.Random(48) }},
		{&s.EncryptionKey, newEncryptionKey},
		{&s.AccessTokenKey, func() string { return ids.Random(48) }},
		{&s.DashboardPassword, func() string { return ids.Random(24) }},
	} {
		if *f.v == "" {
			*f.v = f.make()
		}
	}
	if s == before {
		return s, nil
	}
	return s, writeJSON(path, s, 0o600)
}

// newEncryptionKey makes the dev stack's TILLPOINT_ENCRYPTION_KEY.
func newEncryptionKey() string {
	k, err := secretbox.Generate("dev1")
	if err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return k
}

func writeJSON(path string, v any, mode os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// waitReady polls /readyz (dialing loopback with the service's Host, since Go's
// resolver does not map *.localhost) until it answers 200.
func waitReady(ctx context.Context, addr, host string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
		req.Host = host
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-exited:
			return err
		case <-tick.C:
		}
	}
}

func printBanner(w io.Writer, st stackFile, dir string) {
	admin, err := url.Parse(st.AdminAPIURL)
	if err != nil {
		admin = &url.URL{}
	}
	fmt.Fprintf(w, `
Tillpoint is running.

  merchant API (admin-api)        %s
  hosted checkout (runtime)       %s
  provider callbacks (hooks)      %s
  merchant API over gRPC          %s

  demo organization %s, site %s
  test secret key   %s
  details in        %s

Admin Panel (dashboard)

  %s
  email      %s
  password   %s

Create a checkout session:

  curl -s %s/v1/checkouts/%s/create \
    -H "Authorization: Bearer %s" \
    -H "Content-Type: application/json" \
    -d '{"amount": 5000, "currency": "EUR", "success_url": "http://localhost:8000/success?session_id={CHECKOUT_SESSION_ID}", "cancel_url": "http://localhost:8000/cart"}'

Then open the "url" it returns. Ctrl-C stops everything.

Browsers and curl find the *.localhost names by themselves; a client that does not
(getent hosts %s fails) can call 127.0.0.1 with the name as the Host header:

  curl -s -H "Host: %s" http://127.0.0.1:%s/readyz
`, st.AdminAPIURL, st.CheckoutURL, st.HooksURL, st.AdminGRPCAddr, st.OrganizationID, st.SiteID,
		st.SecretKey, filepath.Join(dir, "stack.json"), st.DashboardURL, st.DashboardEmail, st.DashboardPassword,
		st.AdminAPIURL, st.SiteID, st.SecretKey, admin.Hostname(), admin.Host, admin.Port())
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 && n < 65000 {
		return n
	}
	return def
}
