package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/freeport"
)

// stackInfo is the part of the running stack's stack.json the benchmark uses.
type stackInfo struct {
	AdminAPIURL    string `json:"admin_api_url"`
	CheckoutURL    string `json:"checkout_url"`
	HooksURL       string `json:"hooks_url"`
	AdminGRPCAddr  string `json:"admin_grpc_addr"`
	OrganizationID string `json:"organization_id"`
	SiteID         string `json:"site_id"`
	SecretKey      string `json:"secret_key"`
	DatabaseURL    string `json:"database_url"`
	// The Admin Panel and its demo owner's sign-in.
	DashboardURL      string `json:"dashboard_url"`
	DashboardEmail    string `json:"dashboard_email"`
	DashboardPassword string `json:"dashboard_password"`
}

// stackEnv raises the limits that would otherwise turn a load from one API
// key into 429s (the benchmark creates thousands of sessions a second with
// one key, far above the production default of 100 writes a second per
// key), and sizes the webhook workers for the fan-out.
// The limits are raised, not switched off, so that every request still
// pays for taking its tokens, as in production.
var stackEnv = []string{
	"DATABASE_URL=", "NATS_URL=",
	"API_RATE_LIMIT_WRITES_PER_KEY=" + benchRateLimit, "API_RATE_LIMIT_WRITES_PER_KEY_BURST=" + benchRateLimit,
	"API_RATE_LIMIT_WRITES_PER_ADDR=" + benchRateLimit, "API_RATE_LIMIT_WRITES_PER_ADDR_BURST=" + benchRateLimit,
	"API_RATE_LIMIT_READS_PER_KEY=" + benchRateLimit, "API_RATE_LIMIT_READS_PER_KEY_BURST=" + benchRateLimit,
	"WEBHOOK_CONCURRENCY=256", "WEBHOOK_PER_ENDPOINT_CONCURRENCY=64",
}

// benchRateLimit is far above what two cores can serve.
const benchRateLimit = "1000000"

// stackNote says in the report which limits stackEnv raised.
const stackNote = "The stack runs with the merchant API's write and read rate limits raised to " +
	"1,000,000/s (API_RATE_LIMIT_WRITES_PER_KEY, _WRITES_PER_ADDR, _READS_PER_KEY; still taken on every request): " +
	"one key carries the whole load. Each payment comes from its own client address (X-Forwarded-For in " +
	"198.18.0.0/15 from 127.0.0.1, which the dev stack trusts), under the default attempt limits."

// runningStack is the stack started by startStack.
type runningStack struct {
	info   stackInfo
	binDir string
	cmd    *exec.Cmd
	exited chan error
	log    string
}

// startStack builds the binaries into dir/bin and runs `tillpoint-dev run`
// on a free port block with the embedded PostgreSQL and NATS, until ready.
func startStack(ctx context.Context, root, dir string) (*runningStack, error) {
	binDir := filepath.Join(dir, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", binDir+"/", "./services/admin-api/cmd/admin-api",
		"./services/checkout-runtime/cmd/checkout-runtime", "./services/hooks/cmd/hooks", "./services/platform/cmd/tillpoint-dev")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	logPath := filepath.Join(dir, "stack.log")
	logs, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	devDir := filepath.Join(dir, "dev")
	base, err := freeport.Block(50)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(binDir, "tillpoint-dev"), "run", "--bin", binDir, "--dir", devDir,
		"--port-base", strconv.Itoa(base))
	cmd.Env = append(os.Environ(), stackEnv...)
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &runningStack{binDir: binDir, cmd: cmd, exited: make(chan error, 1), log: logPath}
	ready := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Tillpoint is running.") {
				ready <- struct{}{}
			}
		}
	}()
	go func() { s.exited <- cmd.Wait() }()
	select {
	case <-ready:
	case err := <-s.exited:
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("stack exited: %v\n%s", err, tail(b))
	case <-time.After(3 * time.Minute):
		s.stop()
		return nil, fmt.Errorf("stack not ready in 3 minutes (log %s)", logPath)
	}
	b, err := os.ReadFile(filepath.Join(devDir, "stack.json"))
	if err == nil {
		err = json.Unmarshal(b, &s.info)
	}
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// stop ends the stack with SIGTERM and waits for it.
func (s *runningStack) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func tail(b []byte) []byte {
	if len(b) > 4000 {
		return b[len(b)-4000:]
	}
	return b
}

// loopbackClient dials *.localhost on 127.0.0.1, as browsers do, and keeps
// enough idle connections for conns concurrent callers.
func loopbackClient(conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			if strings.HasSuffix(host, ".localhost") || host == "localhost" {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
