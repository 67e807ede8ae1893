package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tillpoint/tillpoint/services/platform/devpg"
	"github.com/tillpoint/tillpoint/services/platform/freeport"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
)

// The soak's topology on loopback: one port block, laid out from its base.
const (
	offPostgres    = 0
	offNATS        = 10 // + node: client ports
	offNATSCluster = 20 // + node: route ports
	offProxy       = 30 // + proxy index (proxyNames)
	offReplicas    = 40 // + service*8 + replica*4 + listener
	portBlock      = 64
	natsNodes      = 3
	replicas       = 2
)

var services = []string{"admin-api", "checkout-runtime", "hooks"}

// Each replica's listeners, in this order from its base port.
const (
	lisHTTP = iota
	lisGRPC
	lisInternal
	lisMetrics
)

// proxies stand where a Kubernetes Service would: one address per
// service listener, spreading connections round-robin over the replicas
// that accept them. The services reach each other (internal gRPC, the test
// provider's callbacks to hooks) and the load reaches them through these.
var proxyNames = []struct {
	name     string
	service  int
	listener int
}{
	{"api", 0, lisHTTP}, {"secure", 1, lisHTTP}, {"webhook", 2, lisHTTP},
	{"admin-grpc", 0, lisGRPC}, {"admin-internal", 0, lisInternal}, {"runtime-internal", 1, lisInternal},
	{"hooks-internal", 2, lisInternal},
}

type ports struct{ base int }

func (p ports) at(off int) int      { return p.base + off }
func (p ports) addr(off int) string { return "127.0.0.1:" + strconv.Itoa(p.at(off)) }
func (p ports) replica(svc, r, lis int) int {
	return offReplicas + svc*8 + r*4 + lis
}
func (p ports) proxy(name string) int {
	for i, pr := range proxyNames {
		if pr.name == name {
			return offProxy + i
		}
	}
	panic("no proxy " + name)
}

// host is the public name of a proxied HTTP listener ("api.localhost:PORT").
func (p ports) host(name string) string {
	return name + ".localhost:" + strconv.Itoa(p.at(p.proxy(name)))
}

// secrets of one soak, made fresh for it.
type secrets struct {
	InternalToken, SecretKey, TestProvider, BankFeed, BankFeedTest, EncryptionKey, AccessToken string
}

func newSecrets() (secrets, error) {
	key, err := secretbox.Generate("chaos1")
	return secrets{InternalToken: ids.Random(48), SecretKey: "sk_test_" + ids.Random(40), TestProvider: ids.Random(48),
		BankFeed: ids.Random(48), BankFeedTest: ids.Random(48), EncryptionKey: key, AccessToken: ids.Random(48)}, err
}

// component is one thing the faults kill -9 and start again.
type component struct {
	name, kind string // kind: service, nats, postgres
	start      func(ctx context.Context) error
	kill       func()
	stop       func()
	ready      func(ctx context.Context) error
}

// stack is the running topology.
type stack struct {
	p              ports
	dir, binDir    string
	logDir         string
	sec            secrets
	orgID, siteID  string
	dbURL, natsURL string
	components     []*component
	proxies        []*proxy
	pg             *devpg.Cluster
	pgTmp          string
	logger         *slog.Logger
}

// repoRoot is the directory that holds go.work, above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.work above the working directory")
		}
		dir = parent
	}
}

// build compiles the three services and the NATS node into binDir.
func build(ctx context.Context, root, binDir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", binDir+"/", "./services/admin-api/cmd/admin-api",
		"./services/checkout-runtime/cmd/checkout-runtime", "./services/hooks/cmd/hooks", "./chaos/cmd/chaos-nats")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	return nil
}

// startStack builds and starts everything, migrates and seeds the demo
// organization, and returns once every replica answers /readyz.
func startStack(ctx context.Context, dir string, logger *slog.Logger) (*stack, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	s := &stack{dir: dir, binDir: filepath.Join(dir, "bin"), logDir: filepath.Join(dir, "logs"), logger: logger}
	if err := os.MkdirAll(s.logDir, 0o755); err != nil {
		return nil, err
	}
	if err := build(ctx, root, s.binDir); err != nil {
		return nil, err
	}
	base, err := freeport.Block(portBlock)
	if err != nil {
		return nil, err
	}
	s.p = ports{base}
	if s.sec, err = newSecrets(); err != nil {
		return nil, err
	}
	if err := s.startPostgres(ctx); err != nil {
		return nil, err
	}
	if err := s.startNATS(ctx); err != nil {
		s.close()
		return nil, err
	}
	for i, pr := range proxyNames {
		var backends []string
		for r := range replicas {
			backends = append(backends, s.p.addr(s.p.replica(pr.service, r, pr.listener)))
		}
		px, err := startProxy(s.p.addr(offProxy+i), backends)
		if err != nil {
			s.close()
			return nil, err
		}
		s.proxies = append(s.proxies, px)
	}
	if err := s.migrateAndSeed(ctx); err != nil {
		s.close()
		return nil, err
	}
	for i, svc := range services {
		for r := range replicas {
			s.components = append(s.components, s.serviceComponent(i, svc, r))
		}
	}
	for _, c := range s.components {
		if c.kind != "service" {
			continue
		}
		if err := c.start(ctx); err != nil {
			s.close()
			return nil, err
		}
	}
	for _, c := range s.components {
		if err := c.ready(ctx); err != nil {
			s.close()
			return nil, fmt.Errorf("%s not ready: %w", c.name, err)
		}
	}
	return s, nil
}

func (s *stack) startPostgres(ctx context.Context) error {
	binDir, err := devpg.FindBinaries(ctx, s.logger)
	if err != nil {
		return err
	}
	// As root, PostgreSQL runs as the postgres user, who must enter the
	// directory: a temporary one of its own, mode 0755.
	if s.pgTmp, err = os.MkdirTemp("", "tillpoint-chaos-pg-"); err != nil {
		return err
	}
	if err := os.Chmod(s.pgTmp, 0o755); err != nil {
		return err
	}
	s.pg = &devpg.Cluster{BinDir: binDir, Dir: filepath.Join(s.pgTmp, "data"), Port: s.p.at(offPostgres), Logger: s.logger}
	if err := s.pg.Init(ctx); err != nil {
		return err
	}
	if err := s.pg.Start(ctx); err != nil {
		return err
	}
	if err := s.pg.CreateDatabase(ctx, "tillpoint"); err != nil {
		return err
	}
	s.dbURL = s.pg.URL("tillpoint")
	s.components = append(s.components, &component{name: "postgres", kind: "postgres",
		start: s.pg.Start, // crash recovery; Crash waited for the backends to go
		kill:  s.pg.Crash,
		stop: func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = s.pg.Stop(ctx)
		},
		ready: func(context.Context) error { return nil }, // Start waits until it accepts connections
	})
	return nil
}

func (s *stack) startNATS(ctx context.Context) error {
	var urls []string
	for n := range natsNodes {
		urls = append(urls, "nats://"+s.p.addr(offNATS+n))
	}
	s.natsURL = strings.Join(urls, ",")
	var nodes []*component
	for n := range natsNodes {
		var routes []string
		for o := range natsNodes {
			if o != n {
				routes = append(routes, "nats-route://"+s.p.addr(offNATSCluster+o))
			}
		}
		name := fmt.Sprintf("nats-%d", n+1)
		pr := &proc{name: name, path: filepath.Join(s.binDir, "chaos-nats"), logDir: s.logDir, args: []string{
			"-name", name, "-port", strconv.Itoa(s.p.at(offNATS + n)), "-cluster-port", strconv.Itoa(s.p.at(offNATSCluster + n)),
			"-routes", strings.Join(routes, ","), "-store", filepath.Join(s.dir, "nats", name)}}
		url := urls[n]
		c := &component{name: name, kind: "nats", start: pr.start, kill: pr.kill, stop: pr.stop,
			ready: func(ctx context.Context) error { return natsReady(ctx, url) }}
		if err := c.start(ctx); err != nil {
			return err
		}
		nodes = append(nodes, c)
		s.components = append(s.components, c)
	}
	for _, c := range nodes {
		if err := c.ready(ctx); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return nil
}

// natsReady waits until the node at url accepts a client and answers for
// JetStream (the cluster has a meta leader).
func natsReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		nc, err := nats.Connect(url, nats.Timeout(time.Second))
		if err == nil {
			js, _ := jetstream.New(nc)
			actx, acancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = js.AccountInfo(actx)
			acancel()
			nc.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("nats %s not ready: %v", url, last)
}

// env is what every replica of every service is given; HTTP and the other
// listeners are the replica's own.
func (s *stack) env() []string {
	return []string{
		"ADMIN_BACKEND_DOMAIN=" + s.p.host("api"),
		"MAIN_FRONTEND_DOMAIN=" + s.p.host("secure"),
		"MAIN_BACKEND_DOMAIN=" + s.p.host("webhook"),
		"PUBLIC_SCHEME=http",
		"DATABASE_URL=" + s.dbURL,
		"NATS_URL=" + s.natsURL,
		natsx.ReplicasVariable + "=" + strconv.Itoa(natsNodes),
		"INTERNAL_TOKEN=" + s.sec.InternalToken,
		"TEST_PROVIDER_SECRET=" + s.sec.TestProvider,
		"BANK_FEED_SECRET=" + s.sec.BankFeed,
		"BANK_FEED_TEST_SECRET=" + s.sec.BankFeedTest,
		"ADMIN_INTERNAL_ADDR=" + s.p.addr(s.p.proxy("admin-internal")),
		"RUNTIME_INTERNAL_ADDR=" + s.p.addr(s.p.proxy("runtime-internal")),
		"HOOKS_INTERNAL_ADDR=" + s.p.addr(s.p.proxy("hooks-internal")),
		// The soak's webhook endpoints are on this machine, in test mode.
		"WEBHOOK_ALLOW_PRIVATE_TARGETS=test",
		"TRUSTED_PROXIES=127.0.0.1/32",
		// One key and a few addresses carry the whole load.
		"API_RATE_LIMIT_WRITES_PER_KEY=100000", "API_RATE_LIMIT_WRITES_PER_KEY_BURST=100000",
		"API_RATE_LIMIT_WRITES_PER_ADDR=100000", "API_RATE_LIMIT_WRITES_PER_ADDR_BURST=100000",
		"API_RATE_LIMIT_READS_PER_KEY=100000", "API_RATE_LIMIT_READS_PER_KEY_BURST=100000",
		"CHECKOUT_ATTEMPTS_PER_SESSION=1000",
		// Retries of failed deliveries at 1 % of the production schedule
		// (5 s → 50 ms, 5 min → 3 s, 30 min → 18 s, …), and the test
		// provider's "succeeds later" card after 2 s.
		"WEBHOOK_RETRY_SCALE_PERCENT=1",
		"TEST_PROVIDER_ASYNC_DELAY=2s",
		// A card payment cut off by a kill is settled by the reconciler
		// after this grace (docs/design.md §5): short, so the drain sees it.
		"PAYMENT_RECONCILE_GRACE=5s",
		secretbox.Variable + "=" + s.sec.EncryptionKey,
		"ACCESS_TOKEN_SIGNING_KEY=" + s.sec.AccessToken,
	}
}

func (s *stack) migrateAndSeed(ctx context.Context) error {
	for _, svc := range services {
		if _, err := s.runOnce(ctx, svc, nil, "migrate"); err != nil {
			return err
		}
	}
	out, err := s.runOnce(ctx, "admin-api", []string{"DEMO_SECRET_KEY=" + s.sec.SecretKey}, "seed-demo")
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
	s.orgID, s.siteID = demo.OrganizationID, demo.SiteID
	return nil
}

func (s *stack) runOnce(ctx context.Context, svc string, extra []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, svc), args...)
	cmd.Env = append(append(os.Environ(), s.env()...), extra...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %v: %w\n%s", svc, args, err, stderr.String())
	}
	return out, nil
}

func (s *stack) serviceComponent(i int, svc string, r int) *component {
	at := func(lis int) string { return s.p.addr(s.p.replica(i, r, lis)) }
	env := append(s.env(), "HTTP_ADDR="+at(lisHTTP), "INTERNAL_GRPC_ADDR="+at(lisInternal), "METRICS_ADDR="+at(lisMetrics))
	if svc == "admin-api" {
		env = append(env, "GRPC_ADDR="+at(lisGRPC))
	}
	name := fmt.Sprintf("%s-%d", svc, r+1)
	pr := &proc{name: name, path: filepath.Join(s.binDir, svc), args: []string{"serve"}, env: env, logDir: s.logDir}
	host := s.p.host(proxyNames[i].name)
	return &component{name: name, kind: "service", start: pr.start, kill: pr.kill, stop: pr.stop,
		ready: func(ctx context.Context) error { return httpReady(ctx, at(lisHTTP), host) }}
}

// httpReady polls a replica's /readyz (with its public Host) until 200.
func httpReady(ctx context.Context, addr, host string) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
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
			return fmt.Errorf("%s /readyz: %w", addr, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// close stops everything, services first, PostgreSQL last, and copies
// PostgreSQL's log into the run's logs.
func (s *stack) close() {
	var wg sync.WaitGroup
	for _, c := range s.components {
		if c.kind == "service" {
			wg.Go(c.stop)
		}
	}
	wg.Wait()
	for _, c := range s.components {
		if c.kind == "nats" {
			wg.Go(c.stop)
		}
	}
	wg.Wait()
	for _, px := range s.proxies {
		px.close()
	}
	if s.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = s.pg.Stop(ctx)
		cancel()
		if b, err := os.ReadFile(filepath.Join(s.pg.Dir, "server.log")); err == nil {
			_ = os.WriteFile(filepath.Join(s.logDir, "postgres.log"), b, 0o644)
		}
	}
	// The logs stay; the binaries and the stores are large and of no use
	// to a replay, which builds and starts afresh.
	for _, d := range []string{s.pgTmp, s.binDir, filepath.Join(s.dir, "nats")} {
		if d != "" {
			_ = os.RemoveAll(d)
		}
	}
}

// proc is one child process, restarted by the faults; its output goes to
// logDir/name.log, appended across restarts.
type proc struct {
	name, path string
	args, env  []string
	logDir     string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *proc) start(context.Context) error {
	logf, err := os.OpenFile(filepath.Join(p.logDir, p.name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== chaos: start %s at %s\n", p.name, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group; the kernel kills it should the soak die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return nil
}

// kill sends SIGKILL and waits for the process to be reaped.
func (p *proc) kill() { p.signal(syscall.SIGKILL, 0) }

// stop sends SIGTERM, and SIGKILL after 20 s.
func (p *proc) stop() { p.signal(syscall.SIGTERM, 20*time.Second) }

func (p *proc) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-done:
			return
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-done
}

// proxy forwards each TCP connection to the next backend that accepts it,
// round-robin: a killed replica refuses, and the next one takes it.
type proxy struct {
	ln       net.Listener
	backends []string
	next     atomic.Uint64
}

func startProxy(addr string, backends []string) (*proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	px := &proxy{ln: ln, backends: backends}
	go px.serve()
	return px, nil
}

func (px *proxy) serve() {
	for {
		c, err := px.ln.Accept()
		if err != nil {
			return
		}
		go px.forward(c)
	}
}

func (px *proxy) forward(c net.Conn) {
	defer c.Close()
	start := px.next.Add(1)
	var b net.Conn
	var err error
	for i := range uint64(len(px.backends)) {
		if b, err = net.DialTimeout("tcp", px.backends[(start+i)%uint64(len(px.backends))], 2*time.Second); err == nil {
			break
		}
	}
	if err != nil {
		return // every replica refused: the client sees the connection close
	}
	defer b.Close()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(b, c)
	go cp(c, b)
	<-done
	<-done
}

func (px *proxy) close() { _ = px.ln.Close() }
