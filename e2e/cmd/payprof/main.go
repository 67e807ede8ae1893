// Command payprof measures the payment path (issue 12): it starts a dev
// stack (`tillpoint-dev run` with its own PostgreSQL and NATS), creates n
// sessions and loads their pages, then pays them through the form contract
// with the 4242 card, c at a time, until every checkout.session.completed
// webhook has arrived. For each phase it prints the statements per payment
// from pg_stat_statements (reset before the phase), the commits and WAL
// flushes per payment from pg_stat_database and pg_stat_wal, and it saves a
// CPU profile of each service taken during the pay phase.
//
//	go run ./e2e/cmd/payprof -n 1500 -c 32 -out /tmp/payprof
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/platform/freeport"
)

// Offsets of the metrics listeners in tillpoint-dev's port block.
const offAdminMetrics, offRuntimeMetrics, offHooksMetrics = 4, 14, 24

// spreadAddrs is the -spread-addrs flag.
var spreadAddrs bool

// stackEnv is the bench's: limits raised so that one key and one address
// carry the whole load (still taken on every request).
var stackEnv = []string{
	"DATABASE_URL=", "NATS_URL=",
	"CHECKOUT_ATTEMPTS_PER_IP=1000000",
	"API_RATE_LIMIT_WRITES_PER_KEY=1000000", "API_RATE_LIMIT_WRITES_PER_KEY_BURST=1000000",
	"API_RATE_LIMIT_WRITES_PER_ADDR=1000000", "API_RATE_LIMIT_WRITES_PER_ADDR_BURST=1000000",
	"API_RATE_LIMIT_READS_PER_KEY=1000000", "API_RATE_LIMIT_READS_PER_KEY_BURST=1000000",
	"WEBHOOK_CONCURRENCY=256", "WEBHOOK_PER_ENDPOINT_CONCURRENCY=64",
}

type stackInfo struct {
	AdminAPIURL string `json:"admin_api_url"`
	SiteID      string `json:"site_id"`
	SecretKey   string `json:"secret_key"`
	DatabaseURL string `json:"database_url"`
}

func main() {
	n := flag.Int("n", 1000, "sessions to pay")
	conc := flag.Int("c", 32, "concurrent payers")
	out := flag.String("out", "", "directory for the profiles and the report (default: a temporary one)")
	profSecs := flag.Int("profile", 8, "seconds of CPU profile per service during the pay phase")
	flag.BoolVar(&spreadAddrs, "spread-addrs", false,
		"pay each session from its own client address (X-Forwarded-For from a trusted 127.0.0.1), as real payers do, "+
			"instead of every payment from 127.0.0.1 (which serialises them on the per-address attempt lock)")
	flag.Parse()
	if spreadAddrs {
		stackEnv = append(stackEnv, "TRUSTED_PROXIES=127.0.0.1/32")
	}
	if err := run(*n, *conc, *out, *profSecs); err != nil {
		log.Fatal(err)
	}
}

func run(n, conc int, out string, profSecs int) error {
	ctx := context.Background()
	if out == "" {
		var err error
		if out, err = os.MkdirTemp("", "payprof"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	base, err := freeport.Block(50)
	if err != nil {
		return err
	}
	stop, stackPID, st, err := startStack(ctx, root, out, base)
	if err != nil {
		return err
	}
	defer stop()
	db, err := pgx.Connect(ctx, st.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close(ctx)

	tr := loopbackTransport(conc)
	api := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	rcv := newReceiver()
	defer rcv.srv.Close()
	if err := apiDo(ctx, api, st, http.MethodPost, "/v1/webhook_endpoints",
		map[string]any{"url": rcv.srv.URL + "/hook", "enabled_events": []string{"checkout.session.completed"}}, nil); err != nil {
		return err
	}
	// Warm up: a few payments so that caches and pools are as in steady state.
	warm, err := prepare(ctx, api, tr, st, 20, 8)
	if err != nil {
		return err
	}
	if _, err := payAll(ctx, warm, 8); err != nil {
		return err
	}
	waitCount(rcv, 20, time.Minute)

	report := &strings.Builder{}
	fmt.Fprintf(report, "payprof: n=%d c=%d spread-addrs=%v\n\n", n, conc, spreadAddrs)

	// Phase 1: session creation and page view (the pay path starts at the page).
	before, err := snapshot(ctx, db)
	if err != nil {
		return err
	}
	t0 := time.Now()
	ps, err := prepare(ctx, api, tr, st, n, 16)
	if err != nil {
		return err
	}
	fmt.Fprintf(report, "## create + page view: %d in %v\n\n", n, time.Since(t0).Round(time.Millisecond))
	if err := statsReport(ctx, db, before, n, report); err != nil {
		return err
	}

	// Phase 2: pay, until every webhook arrived.
	before, err = snapshot(ctx, db)
	if err != nil {
		return err
	}
	got0 := rcv.count()
	cpu0 := cpuByProcess(stackPID)
	var profWG sync.WaitGroup
	for name, off := range map[string]int{"admin-api": offAdminMetrics, "checkout-runtime": offRuntimeMetrics, "hooks": offHooksMetrics} {
		profWG.Go(func() {
			if err := saveProfile(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", base+off, profSecs),
				filepath.Join(out, name+".cpu.pprof")); err != nil {
				log.Printf("profile %s: %v", name, err)
			}
		})
	}
	t0 = time.Now()
	failed, err := payAll(ctx, ps, conc)
	if err != nil {
		return err
	}
	payDur := time.Since(t0)
	waitCount(rcv, got0+n-failed, 2*time.Minute)
	hookDur := time.Since(t0)
	fmt.Fprintf(report, "## pay: %d paid (%d failed) in %v = %.1f payments/s; all %d webhooks in %v = %.1f/s\n\n",
		n-failed, failed, payDur.Round(time.Millisecond), float64(n-failed)/payDur.Seconds(),
		rcv.count()-got0, hookDur.Round(time.Millisecond), float64(rcv.count()-got0)/hookDur.Seconds())
	cpu1 := cpuByProcess(stackPID)
	fmt.Fprintf(report, "CPU per payment (pay phase, until the last webhook):")
	for _, name := range []string{"postgres", "checkout-runtim", "admin-api", "hooks", "tillpoint-dev"} {
		fmt.Fprintf(report, " %s %.2f ms;", name, float64(cpu1[name]-cpu0[name])/float64(n-failed))
	}
	fmt.Fprintf(report, " (tillpoint-dev runs the embedded NATS)\n\n")
	if err := statsReport(ctx, db, before, n-failed, report); err != nil {
		return err
	}
	profWG.Wait()
	fmt.Print(report.String())
	fmt.Printf("profiles in %s\n", out)
	return os.WriteFile(filepath.Join(out, "report.md"), []byte(report.String()), 0o644)
}

// counters are the database-wide counters read before and after a phase.
type counters struct{ commits, rollbacks, walRecords, walSyncs int64 }

// snapshot resets pg_stat_statements and reads the counters. The cumulative
// statistics are flushed by backends at most once a second when idle, so it
// forces a flush of its own session's first and waits for the others.
func snapshot(ctx context.Context, db *pgx.Conn) (counters, error) {
	time.Sleep(1500 * time.Millisecond) // backends flush pending statistics within 1 s of going idle
	var c counters
	if _, err := db.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		return c, err
	}
	err := db.QueryRow(ctx, `SELECT d.xact_commit, d.xact_rollback, w.wal_records, w.wal_sync
		FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()`).
		Scan(&c.commits, &c.rollbacks, &c.walRecords, &c.walSyncs)
	if err != nil {
		return c, err
	}
	_, err = db.Exec(ctx, "SELECT pg_stat_statements_reset()")
	return c, err
}

// statsReport writes the statements of the phase and the counter deltas per
// payment (each snapshot's own queries are a handful: negligible over n).
func statsReport(ctx context.Context, db *pgx.Conn, before counters, n int, w io.Writer) error {
	time.Sleep(1500 * time.Millisecond)
	if _, err := db.Exec(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		return err
	}
	rows, err := db.Query(ctx, `SELECT calls, total_exec_time, mean_exec_time, rows, regexp_replace(query, '\s+', ' ', 'g')
		FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database() AND query NOT LIKE '%pg_stat%' ORDER BY calls DESC, total_exec_time DESC`)
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Fprintf(w, "| calls/payment | total ms | mean ms | rows/call | statement |\n|---:|---:|---:|---:|---|\n")
	var totalCalls int64
	var totalMs float64
	for rows.Next() {
		var calls, nrows int64
		var total, mean float64
		var q string
		if err := rows.Scan(&calls, &total, &mean, &nrows, &q); err != nil {
			return err
		}
		totalCalls += calls
		totalMs += total
		if float64(calls)/float64(n) < 0.01 {
			continue
		}
		if len(q) > 160 {
			q = q[:160] + "…"
		}
		fmt.Fprintf(w, "| %.2f | %.0f | %.3f | %.2f | `%s` |\n", float64(calls)/float64(n), total, mean,
			float64(nrows)/float64(calls), strings.ReplaceAll(q, "|", "\\|"))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var c counters
	err = db.QueryRow(ctx, `SELECT d.xact_commit, d.xact_rollback, w.wal_records, w.wal_sync
		FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()`).
		Scan(&c.commits, &c.rollbacks, &c.walRecords, &c.walSyncs)
	if err != nil {
		return err
	}
	f := float64(n)
	fmt.Fprintf(w, "\nper payment: %.2f statements (%.2f ms of statement time), %.2f commits, %.2f rollbacks, %.1f WAL records, %.2f WAL syncs\n\n",
		float64(totalCalls)/f, totalMs/f, float64(c.commits-before.commits)/f, float64(c.rollbacks-before.rollbacks)/f,
		float64(c.walRecords-before.walRecords)/f, float64(c.walSyncs-before.walSyncs)/f)
	return nil
}

// payable is a session whose page was loaded: its jar holds tp_csrf and
// token is the form's csrf_token.
type payable struct {
	url    string
	client *http.Client
	token  string
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func prepare(ctx context.Context, api *http.Client, tr http.RoundTripper, st stackInfo, n, conc int) ([]payable, error) {
	body := map[string]any{
		"line_items": []map[string]any{{"name": "Tea", "unit_amount": 450, "quantity": 3}, {"name": "Cup", "unit_amount": 1299, "quantity": 1}},
		"currency":   "EUR", "success_url": "https://shop.example/success", "cancel_url": "https://shop.example/cart",
	}
	out := make([]payable, n)
	err := parallel(n, conc, func(i int) error {
		var s struct {
			URL string `json:"url"`
		}
		if err := apiDo(ctx, api, st, http.MethodPost, "/v1/checkouts/"+st.SiteID+"/create", body, &s); err != nil {
			return err
		}
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(s.URL)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfRE.FindSubmatch(b)
		if resp.StatusCode != http.StatusOK || m == nil {
			return fmt.Errorf("GET %s: %s", s.URL, resp.Status)
		}
		out[i] = payable{url: s.URL, client: c, token: string(m[1])}
		return nil
	})
	return out, err
}

// payAll pays every session, conc at a time, and returns how many failed.
func payAll(ctx context.Context, ps []payable, conc int) (int, error) {
	var failed atomic.Int64
	err := parallel(len(ps), conc, func(i int) error {
		s := ps[i]
		form := url.Values{"csrf_token": {s.token}, "method": {"card"}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"},
			"country": {"FR"}, "postal_code": {"75001"}, "card_number": {"4242424242424242"}, "card_exp": {"12/34"}, "card_cvc": {"123"}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/pay", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if spreadAddrs {
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var res struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(b, &res) != nil || res.Status != "succeeded" {
			if failed.Add(1) <= 3 {
				log.Printf("POST %s/pay: %s %.200s", s.url, resp.Status, b)
			}
		}
		return nil
	})
	return int(failed.Load()), err
}

func parallel(n, conc int, do func(i int) error) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := do(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

func apiDo(ctx context.Context, c *http.Client, st stackInfo, method, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, st.AdminAPIURL+path, strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+st.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s %.300s", method, path, resp.Status, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// receiver counts distinct checkout.session.completed deliveries.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen map[string]bool
}

func newReceiver() *receiver {
	r := &receiver{seen: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.seen[req.Header.Get("webhook-id")] = true
		r.mu.Unlock()
	}))
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func waitCount(r *receiver, want int, max time.Duration) {
	end := time.Now().Add(max)
	for r.count() < want && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond) // polling a counter, not synchronising a test
	}
}

// cpuByProcess sums the CPU time (user + system, in milliseconds) of root
// and its descendants by command name, from /proc: the stack's processes
// only, not those of other stacks on the machine.
func cpuByProcess(root int) map[string]int64 {
	type proc struct {
		name      string
		ppid, cpu int64
	}
	procs := map[int64]proc{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 13 {
			continue
		}
		pid, _ := strconv.ParseInt(strings.TrimSpace(s[:open]), 10, 64)
		ppid, _ := strconv.ParseInt(fields[1], 10, 64)
		ut, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		procs[pid] = proc{s[open+1 : end], ppid, (ut + st) * 10} // USER_HZ is 100 on Linux
	}
	out := map[string]int64{}
	for pid, p := range procs {
		for a := pid; a > 1; a = procs[a].ppid {
			if a == int64(root) {
				out[p.name] += p.cpu
				break
			}
		}
	}
	return out
}

func saveProfile(u, path string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

func loopbackTransport(conns int) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			if strings.HasSuffix(host, ".localhost") || host == "localhost" {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns: conns * 4, MaxIdleConnsPerHost: conns * 4, IdleConnTimeout: time.Minute,
	}
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "", fmt.Errorf("run inside the Tillpoint workspace (go env GOWORK: %v)", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// startStack builds the binaries and runs `tillpoint-dev run` until ready.
func startStack(ctx context.Context, root, dir string, base int) (func(), int, stackInfo, error) {
	var st stackInfo
	binDir := filepath.Join(dir, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", binDir+"/", "./services/admin-api/cmd/admin-api",
		"./services/checkout-runtime/cmd/checkout-runtime", "./services/hooks/cmd/hooks", "./services/platform/cmd/tillpoint-dev")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return nil, 0, st, fmt.Errorf("build: %v\n%s", err, b)
	}
	devDir := filepath.Join(dir, "dev")
	_ = os.RemoveAll(devDir)
	logs, err := os.Create(filepath.Join(dir, "stack.log"))
	if err != nil {
		return nil, 0, st, err
	}
	cmd := exec.Command(filepath.Join(binDir, "tillpoint-dev"), "run", "--bin", binDir, "--dir", devDir, "--port-base", strconv.Itoa(base))
	cmd.Env = append(os.Environ(), stackEnv...)
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, st, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, st, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	ready := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Tillpoint is running.") {
				ready <- struct{}{}
			}
		}
	}()
	select {
	case <-ready:
	case err := <-exited:
		return nil, 0, st, fmt.Errorf("stack exited: %v (log %s)", err, logs.Name())
	case <-time.After(3 * time.Minute):
		stop()
		return nil, 0, st, fmt.Errorf("stack not ready in 3 minutes (log %s)", logs.Name())
	}
	b, err := os.ReadFile(filepath.Join(devDir, "stack.json"))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		stop()
		return nil, 0, st, err
	}
	return stop, cmd.Process.Pid, st, nil
}
