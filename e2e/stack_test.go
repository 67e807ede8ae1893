// Package e2e tests the whole running system, as merchants and payers use it:
// the stack that `make run` starts (built from this tree, on private ports and
// a private dev directory), driven over HTTP only.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tillpoint/tillpoint/services/platform/devpg"
	"github.com/tillpoint/tillpoint/services/platform/freeport"
	"github.com/tillpoint/tillpoint/services/platform/natsx/natsembed"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack/paystacktest"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// stack is the running system's stack.json.
type stack struct {
	AdminAPIURL        string `json:"admin_api_url"`
	CheckoutURL        string `json:"checkout_url"`
	HooksURL           string `json:"hooks_url"`
	AdminGRPCAddr      string `json:"admin_grpc_addr"`
	SiteID             string `json:"site_id"`
	SecretKey          string `json:"secret_key"`
	DatabaseURL        string `json:"database_url"`
	OrganizationID     string `json:"organization_id"`
	BankFeedSecret     string `json:"bank_feed_secret"`      // live-mode payments only
	BankFeedTestSecret string `json:"bank_feed_test_secret"` // test-mode payments only
	TestProviderSecret string `json:"test_provider_secret"`
	// The Admin Panel and the demo owner's sign-in.
	DashboardURL      string `json:"dashboard_url"`
	DashboardEmail    string `json:"dashboard_email"`
	DashboardPassword string `json:"dashboard_password"`
}

var (
	sys stack
	// binDir holds the stack's binaries (crash tests find processes by it).
	binDir string
	// natsOpts is the NATS server the stack uses, run by the tests so that
	// they can stop it and start it again on the same port and store.
	natsOpts natsembed.Options
	natsSrv  *server.Server
	// pg is the stack's PostgreSQL, also run by the tests, so that they can
	// crash it and start it again (crash recovery) under the running services.
	pg *devpg.Cluster
	// stackPID is the `tillpoint-dev run` process, the services' supervisor.
	stackPID int
	// paystackFake is the scripted Paystack the stack's PAYSTACK_API_BASE
	// reaches through Prism; tests set the state of its transactions.
	paystackFake *paystacktest.Fake
)

// stopNATS and startNATS take the message broker down and up again.
func stopNATS() {
	natsSrv.Shutdown()
	natsSrv.WaitForShutdown()
}

func startNATS() error {
	srv, err := natsembed.Start(natsOpts)
	if err != nil {
		return err
	}
	natsSrv = srv
	return nil
}

// crashPostgres kills PostgreSQL's postmaster (its backends follow), as a
// crash of the database server would; startPostgres starts it again.
func crashPostgres() { pg.Crash() }

func startPostgres() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return pg.Start(ctx)
}

// openPostgres creates and starts the stack's cluster in dir and its database.
func openPostgres(dir string) (dbURL string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := devpg.FindBinaries(ctx, nil)
	if err != nil {
		return "", err
	}
	pg = &devpg.Cluster{BinDir: bin, Dir: filepath.Join(dir, "postgres"), Port: freePortBase()}
	if err := pg.Init(ctx); err != nil {
		return "", err
	}
	if err := pg.Start(ctx); err != nil {
		return "", err
	}
	if err := pg.CreateDatabase(ctx, "tillpoint"); err != nil {
		return "", err
	}
	if err := pg.EnableStatementStats(ctx, "tillpoint"); err != nil {
		return "", err
	}
	return pg.URL("tillpoint"), nil
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode (it builds and runs the whole stack)")
		return 0
	}
	dir, err := os.MkdirTemp("", "tillpoint-e2e-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer os.RemoveAll(dir)
	// As root, PostgreSQL runs as the postgres user, who must enter the dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Println(err)
		return 1
	}
	binDir = dir
	natsOpts = natsembed.Options{Host: "127.0.0.1", Port: freePortBase(), StoreDir: filepath.Join(dir, "nats")}
	if err := startNATS(); err != nil {
		fmt.Println("e2e: nats:", err)
		return 1
	}
	defer func() { natsSrv.Shutdown() }()
	dbURL, err := openPostgres(dir)
	defer func() { _ = pg.Stop(context.Background()) }()
	if err != nil {
		fmt.Println("e2e: postgres:", err)
		return 1
	}
	stop, err := startStack(dir, dbURL)
	if err != nil {
		fmt.Println("e2e:", err)
		return 1
	}
	defer stop()
	return m.Run()
}

// startStack builds the binaries and runs `tillpoint-dev run` until it is ready.
func startStack(dir, dbURL string) (stop func(), err error) {
	root, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil {
		return nil, err
	}
	build := exec.Command("go", "build", "-o", dir+"/", "./services/admin-api/cmd/admin-api",
		"./services/checkout-runtime/cmd/checkout-runtime", "./services/hooks/cmd/hooks", "./services/platform/cmd/tillpoint-dev")
	build.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stripeMockURL, stopStripe, err := testkit.StartStripeMock(ctx)
	if err != nil {
		return nil, fmt.Errorf("stripe-mock: %w", err)
	}
	defer func() {
		if err != nil {
			stopStripe()
		}
	}()
	gcURL, stopGC, err := gcAPI.start()
	if err != nil {
		return nil, fmt.Errorf("gocardless fixtures: %w", err)
	}
	defer func() {
		if err != nil {
			stopGC()
		}
	}()
	paystackURL, fake, stopPaystack, err := paystacktest.StartServer(ctx, paystack.StatusPending, 0)
	if err != nil {
		return nil, fmt.Errorf("paystack behind prism: %w", err)
	}
	paystackFake = fake
	defer func() {
		if err != nil {
			stopPaystack()
		}
	}()
	logPath := filepath.Join(dir, "stack.log")
	logs, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(dir, "tillpoint-dev"), "run", "--bin", dir, "--dir", filepath.Join(dir, "dev"),
		"--port-base", strconv.Itoa(freePortBase()))
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "NATS_URL="+natsSrv.ClientURL(), "TEST_PROVIDER_ASYNC_DELAY=1s", "WEBHOOK_RETRY_SCALE_PERCENT=0",
		// Every test pays from 127.0.0.1; the per-session limit is still tested.
		"CHECKOUT_ATTEMPTS_PER_IP=100000",
		// A card payment left processing by a killed runtime is settled
		// soon (crash_test.go); still far above any pay path's own steps.
		"PAYMENT_RECONCILE_GRACE=5s",
		// Small bounds, so that a slow endpoint would starve the others
		// without the per-endpoint one.
		"WEBHOOK_CONCURRENCY=4", "WEBHOOK_PER_ENDPOINT_CONCURRENCY=2",
		// Every Stripe call of the stack goes to stripe-mock.
		"STRIPE_API_BASE="+stripeMockURL,
		// Every GoCardless call goes to a server of GoCardless's published
		// fixtures (gocardless_test.go).
		"GOCARDLESS_API_BASE="+gcURL,
		// And every Paystack call to Prism, in front of a scripted Paystack.
		"PAYSTACK_API_BASE="+paystackURL)
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stackPID = cmd.Process.Pid
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Tillpoint is running.") {
				ready <- true
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		stopStripe()
		stopPaystack()
		stopGC()
		if os.Getenv("E2E_KEEP_LOGS") != "" {
			b, _ := os.ReadFile(logPath)
			fmt.Printf("%s", b)
		}
	}
	select {
	case <-ready:
	case err := <-exited:
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("stack exited: %v\n%s", err, b)
	case <-time.After(3 * time.Minute):
		stop()
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("stack not ready in 3 minutes\n%s", b)
	}
	b, err := os.ReadFile(filepath.Join(dir, "dev", "stack.json"))
	if err != nil {
		stop()
		return nil, err
	}
	if err := json.Unmarshal(b, &sys); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// freePortBase finds a block of 50 free loopback ports, or ends the run.
func freePortBase() int {
	base, err := freeport.Block(50)
	if err != nil {
		log.Fatal(err)
	}
	return base
}
