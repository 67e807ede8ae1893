// Command bench starts the Tillpoint stack (embedded PostgreSQL and NATS) on
// private loopback ports, loads it from this machine for a bounded time with
// fortio's periodic runner, and prints one Markdown table per scenario:
// throughput, p50/p95/p99 latency (HDR histograms), errors, and the ratio to
// a baseline measured the same way in the same run. It writes the tables to
// bench/results/latest.md and exits 1 when a scenario had errors; a missed
// target is reported, not a failure.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	flog "fortio.org/log"
	"github.com/jackc/pgx/v5"
)

// options are the command's flags.
type options struct {
	duration  time.Duration
	threads   int
	payRate   float64
	fanPays   int
	fanOut    int
	stored    int
	out       string
	keepLog   bool
	skipHooks bool
	only      string
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measurement")
	flag.IntVar(&o.threads, "threads", 32, "concurrent callers for the peak-throughput runs (system and baselines alike)")
	flag.Float64Var(&o.payRate, "pay-rate", 100, "payments per second in the pay → webhook scenario")
	flag.IntVar(&o.fanPays, "fanout-payments", 300, "payments in the webhook fan-out scenario")
	flag.IntVar(&o.fanOut, "fanout-endpoints", 10, "webhook endpoints in the fan-out scenario")
	flag.IntVar(&o.stored, "fanout-stored-events", 1000, "stored events delivered to every endpoint in the fan-out scenario's delivery-only row")
	flag.StringVar(&o.out, "out", "bench/results/latest.md", "where to write the tables (relative to the repository root)")
	flag.BoolVar(&o.keepLog, "print-stack-log", false, "print the stack's log at the end")
	flag.BoolVar(&o.skipHooks, "skip-webhooks", false, "skip the two webhook scenarios")
	flag.StringVar(&o.only, "only", "", "run only these scenarios, comma-separated: create, grpc, page, pay, fanout, refund, list (grpc's REST ratio needs create); the tables are printed, not written")
	flag.Parse()
	flog.SetLogLevelQuiet(flog.Error)
	code, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(ctx context.Context, o options) (int, error) {
	began := time.Now()
	only := make(map[string]bool)
	for _, name := range strings.Split(o.only, ",") {
		switch name = strings.TrimSpace(name); name {
		case "":
		case "create", "grpc", "page", "pay", "fanout", "refund", "list":
			only[name] = true
		default:
			return 0, fmt.Errorf("-only: unknown scenario %q (want create, grpc, page, pay, fanout, refund or list)", name)
		}
	}
	gowork, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil || strings.TrimSpace(string(gowork)) == "" {
		return 0, fmt.Errorf("run from inside the go.work workspace: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gowork)))
	dir, err := os.MkdirTemp("", "tillpoint-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	// As root, PostgreSQL runs as the postgres user, who must enter the dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		return 0, err
	}
	fmt.Fprintln(os.Stderr, "bench: building and starting the stack…")
	stk, err := startStack(ctx, root, dir)
	if err != nil {
		return 0, err
	}
	defer func() {
		stk.stop()
		if o.keepLog {
			b, _ := os.ReadFile(stk.log)
			fmt.Fprintf(os.Stderr, "%s", b)
		}
	}()
	st := stk.info
	b := &bench{o: o, st: st, binDir: stk.binDir, api: apiClient{st: st, http: loopbackClient(o.threads)}}

	fmt.Fprintf(os.Stderr, "bench: stack up in %s; measuring %s per run\n", time.Since(began).Round(time.Second), o.duration)
	var tables []table
	for _, sc := range []struct {
		key, name string
		skip      bool
		fn        func(context.Context) (table, error)
	}{
		{"create", "create session", false, b.createREST},
		{"grpc", "create session over gRPC", false, b.createGRPC},
		{"page", "hosted page", false, b.hostedPage},
		{"pay", "pay → webhook", o.skipHooks, b.payToWebhook},
		{"fanout", "webhook fan-out", o.skipHooks, b.webhookFanOut},
		{"refund", "create refund", false, b.refunds},
		// Last: it loads a million sessions.
		{"list", "checkouts list", false, b.checkoutsList},
	} {
		if sc.skip || len(only) > 0 && !only[sc.key] {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s…\n", sc.name)
		t, err := sc.fn(ctx)
		if err != nil {
			t = table{Title: sc.name, Notes: []string{"Not measured: " + err.Error()}}
			t.Rows = append(t.Rows, row{Name: sc.name, P50: -1, P95: -1, P99: -1, Errors: 1})
		}
		tables = append(tables, t)
	}
	tables = append(tables, b.memory(stk.binDir))

	var md strings.Builder
	fmt.Fprintf(&md, "## Tillpoint load benchmarks\n\n%s, %d CPUs, %s per measurement, %d callers for peak runs; loopback only.\n%s\n\n",
		time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), o.duration, o.threads, stackNote)
	failed := false
	for _, t := range tables {
		md.WriteString(t.markdown())
		md.WriteString("\n")
		for _, r := range t.Rows {
			failed = failed || r.Errors > 0
		}
	}
	fmt.Fprintf(&md, "Total run time %s.\n", time.Since(began).Round(time.Second))
	fmt.Print(md.String())
	if len(only) > 0 {
		return exitCode(failed), nil
	}
	outPath := o.out
	if !filepath.IsAbs(outPath) {
		outPath = filepath.Join(root, outPath)
	}
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(outPath, []byte(md.String()), 0o644); err != nil {
		return 0, err
	}
	return exitCode(failed), nil
}

func exitCode(failed bool) int {
	if failed {
		fmt.Fprintln(os.Stderr, "bench: some scenarios had errors")
		return 1
	}
	return 0
}

// bench holds what the scenarios share.
type bench struct {
	o       options
	st      stackInfo
	api     apiClient
	restMax measurement
	// insertMax is scenario 1's INSERT baseline, beside the pay peak in 4.,
	// and insertCPU the CPU it used.
	insertMax measurement
	insertCPU cpuTally
	// grpcMax and grpcNotes are scenario 2's, measured alongside 1.
	grpcMax   measurement
	grpcNotes []string
	binDir    string
}

// settle writes out what the peak runs left dirty (a CHECKPOINT, then the
// kernel's page cache) before a latency run: the peak runs insert some
// 250,000 rows, and the write-back of that debt made a WAL fsync wait up to
// 50 ms now and then during the fixed-rate run that followed, which is the
// previous test's cost, not the fixed rate's.
func settle(ctx context.Context, st stackInfo) error {
	conn, err := pgx.Connect(ctx, st.DatabaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	syscall.Sync()
	return nil
}

// createRounds: the create runs alternate (INSERT, REST, gRPC, then again)
// so that a drift of the machine's speed during the run, which on a shared
// 2-core machine moved single runs by 10 %, weighs on all three alike.
const createRounds = 2

func (b *bench) createREST(ctx context.Context) (table, error) {
	insert, cleanup, err := pgxInsert(ctx, b.st, b.o.threads)
	if err != nil {
		return table{}, err
	}
	defer cleanup()
	create := restCreate(b.api)
	grpcCall, closeConns, err := grpcCreate(b.st, 1)
	if err != nil {
		return table{}, err
	}
	defer closeConns()
	catalog, err := catalogCreate(ctx, b.api)
	if err != nil {
		return table{}, err
	}
	// Warm up connections, caches and the lazy parts (pools).
	for _, c := range []call{create, insert, grpcCall, catalog} {
		load(b.o.threads, 0, time.Second, 0, c)
	}
	var base, peak, grpcPeak, catalogPeak measurement
	var baseCPU, peakCPU, grpcCPU, catalogCPU cpuTally
	for range createRounds {
		base = base.plus(b.loadCPU(&baseCPU, b.o.threads, 0, b.o.duration, 0, insert))
		peak = peak.plus(b.loadCPU(&peakCPU, b.o.threads, 0, b.o.duration, 0, create))
		grpcPeak = grpcPeak.plus(b.loadCPU(&grpcCPU, b.o.threads, 0, b.o.duration, 0, grpcCall))
		catalogPeak = catalogPeak.plus(b.loadCPU(&catalogCPU, b.o.threads, 0, b.o.duration, 0, catalog))
	}
	b.restMax, b.grpcMax, b.insertMax, b.insertCPU = peak, grpcPeak, base, baseCPU
	b.grpcNotes = []string{grpcCPU.note("gRPC create peak")}
	if err := settle(ctx, b.st); err != nil {
		return table{}, err
	}
	load(b.o.threads, 1000, time.Second, 0, create)
	fixed := load(b.o.threads, 1000, b.o.duration, 0, create)
	t := table{Title: "1. Create session (REST, 3 line items, metadata)"}
	t.Rows = append(t.Rows,
		measuredRow("baseline: pgx INSERT of the same row", base, 0, "", nil),
		measuredRow("REST create, peak", peak, base.QPS, "≥ 40 % of baseline", pass(peak.QPS >= 0.4*base.QPS)),
		measuredRow("REST create at 1,000/s", fixed, 0, "p99 ≤ 10 ms", pass(fixed.ms(99) <= 10)),
		measuredRow("REST create from the catalog (3 prices, a 10 % coupon), peak; baseline: REST create", catalogPeak, peak.QPS, "", nil),
	)
	t.Notes = append(errorNotes(base, peak, fixed, catalogPeak),
		fmt.Sprintf("Peak rows: %d alternating rounds of %s each (INSERT, REST, gRPC, catalog), pooled. "+
			"Before the 1,000/s run: CHECKPOINT, sync(2) and 1 s at that rate, so that writing back what the peak runs "+
			"inserted does not stall its WAL fsyncs.", createRounds, b.o.duration),
		baseCPU.note("the baseline"), peakCPU.note("REST create peak"), catalogCPU.note("the catalog create peak"),
		"The catalog row resolves its three prices (one query: prices are not cached) and applies a coupon without a "+
			"redemption limit, which reserves nothing (only a limited coupon or code is reserved, by a conditional UPDATE "+
			"of its row that concurrent creations take in turn): each session records its redemption, counted when paid.")
	return t, nil
}

func (b *bench) createGRPC(ctx context.Context) (table, error) {
	peak, notes := b.grpcMax, b.grpcNotes
	if peak.Hist == nil { // run without scenario 1
		create, closeConns, err := grpcCreate(b.st, 1)
		if err != nil {
			return table{}, err
		}
		defer closeConns()
		load(b.o.threads, 0, time.Second, 0, create)
		var cpu cpuTally
		peak = b.loadCPU(&cpu, b.o.threads, 0, b.o.duration, 0, create)
		notes = []string{cpu.note("gRPC create peak")}
	}
	t := table{Title: "2. Create session over gRPC vs REST"}
	t.Rows = append(t.Rows,
		measuredRow("gRPC create, peak (baseline)", peak, 0, "", nil),
		measuredRow("REST create, peak (from 1.)", b.restMax, peak.QPS, "REST ≥ 80 % of gRPC", pass(b.restMax.QPS >= 0.8*peak.QPS)),
	)
	t.Notes = append(errorNotes(peak), notes...)
	return t, nil
}

func (b *bench) hostedPage(ctx context.Context) (table, error) {
	s, err := b.api.createSession(ctx, createJSON())
	if err != nil {
		return table{}, err
	}
	c := loopbackClient(b.o.threads)
	size, err := pageSize(ctx, c, s.URL)
	if err != nil {
		return table{}, err
	}
	bareURL, stopBare, err := bareServer(size)
	if err != nil {
		return table{}, err
	}
	defer stopBare()
	get, bare := pageGet(c, s.URL), pageGet(c, bareURL)
	load(b.o.threads, 0, time.Second, 0, get)
	load(b.o.threads, 0, time.Second, 0, bare)
	var baseCPU, peakCPU, firstCPU cpuTally
	base := b.loadCPU(&baseCPU, b.o.threads, 0, b.o.duration, 0, bare)
	peak := b.loadCPU(&peakCPU, b.o.threads, 0, b.o.duration, 0, get)
	fixed := load(b.o.threads, 2000, b.o.duration, 0, get)
	urls, err := sessionURLs(ctx, b.api, firstViewSessions)
	if err != nil {
		return table{}, fmt.Errorf("creating %d sessions: %w", firstViewSessions, err)
	}
	first := b.loadCPU(&firstCPU, b.o.threads, 0, 0, int64(len(urls)), firstViews(c, urls))
	cpu := []string{baseCPU.note("the baseline (server in the bench process)"), peakCPU.note("hosted page peak"),
		firstCPU.note("first views")}
	t := table{Title: fmt.Sprintf("3. Hosted page GET /checkout/{id} (%d bytes)", size)}
	t.Rows = append(t.Rows,
		measuredRow(fmt.Sprintf("baseline: bare net/http, %d bytes", size), base, 0, "", nil),
		measuredRow("hosted page, peak", peak, base.QPS, "≥ 30 % of baseline", pass(peak.QPS >= 0.3*base.QPS)),
		measuredRow("hosted page at 2,000/s", fixed, 0, "p99 ≤ 5 ms", pass(fixed.ms(99) <= 5)),
		measuredRow(fmt.Sprintf("first view of each of %d sessions, peak", len(urls)), first, base.QPS, "", nil),
	)
	t.Notes = append(errorNotes(base, peak, fixed, first), cpu...)
	t.Notes = append(t.Notes, "The peak and 2,000/s rows view one session again and again, as reloads do: after the first view "+
		"the runtime answers from its cache of open pages (checkout-runtime/internal/web/pagecache.go). "+
		"The last row opens each session once, so every view loads the session from admin-api and renders it.")
	return t, nil
}

// payThreads are the payers of the webhook scenarios.
const payThreads = 16

// deliveryDeadline bounds the wait for webhooks after the last payment.
const deliveryDeadline = 20 * time.Second

func (b *bench) payToWebhook(ctx context.Context) (table, error) {
	r := newReceiver()
	defer r.srv.Close()
	epID, err := createEndpoint(ctx, b.api, r.srv.URL+"/hook")
	if err != nil {
		return table{}, err
	}
	deleted := false
	defer func() {
		if !deleted {
			_ = deleteEndpoint(context.Background(), b.api, epID)
		}
	}()
	// fortio splits an exact count evenly over its goroutines and gives the
	// remainder to the first one, which would then run alone at its share of
	// the rate: keep the count a multiple of the goroutines.
	n := int(b.o.payRate*b.o.duration.Seconds()+payThreads-1) / payThreads * payThreads
	tr := loopbackClient(16).Transport
	ps, err := preparePayables(ctx, b.api, tr, n)
	if err != nil {
		return table{}, fmt.Errorf("preparing %d sessions: %w", n, err)
	}
	p := newPayer(ps)
	m := load(payThreads, b.o.payRate, 0, int64(n), p.pay)
	waitDeliveries(r, len(p.paid), deliveryDeadline)
	ds := matchDeliveries(p, r, 1)
	// The peak runs after the fixed rate, as the fixed rate ran before the
	// peak existed: what the peak leaves behind (dead rows, autovacuum,
	// write-back) must not weigh on the latency rows. Its endpoint goes
	// first: the peak has its own.
	_ = deleteEndpoint(ctx, b.api, epID)
	deleted = true
	peakRows, peakNotes, err := b.payPeak(ctx)
	if err != nil { // the fixed-rate rows still stand
		peakRows = []row{{Name: "pay (4242), peak", P50: -1, P95: -1, P99: -1, Errors: 1}}
		peakNotes = []string{"Pay peak not measured: " + err.Error()}
	}
	res := row{Name: fmt.Sprintf("pay (4242) → webhook received, %.0f payments/s", b.o.payRate), QPS: m.QPS,
		P50: ms99(ds.hist, 50), P95: ms99(ds.hist, 95), P99: ms99(ds.hist, 99), Errors: m.Errors + int64(ds.lost),
		Target: "p50 ≤ 25 ms, p99 ≤ 100 ms"}
	res.Pass = pass(ds.delivered > 0 && res.P50 <= 25 && res.P99 <= 100)
	t := table{Title: "4. Pay: peak, and pay → webhook received"}
	t.Rows = append(peakRows, res,
		measuredRow(fmt.Sprintf("form POST /pay itself, %.0f payments/s", b.o.payRate), m, 0, "p99 ≤ 50 ms", pass(m.Calls > 0 && m.ms(99) <= 50)))
	t.Notes = append(peakNotes, errorNotes(m)...)
	t.Notes = append(t.Notes, fmt.Sprintf("Payments posted %d, succeeded %d; webhooks received %d; lost (not received within %s) %d; "+
		"duplicates with effect (another webhook-id for the same session) %d; redeliveries of a webhook-id (counted once) %d. "+
		"The errors column counts failed posts plus lost webhooks.",
		m.Calls, len(p.paid), ds.delivered, deliveryDeadline, ds.lost, ds.dupEffect, ds.redeliver))
	return t, nil
}

func (b *bench) webhookFanOut(ctx context.Context) (table, error) {
	stored, storedNotes, err := b.storedFanOut(ctx)
	if err != nil {
		return table{}, err
	}
	r := newReceiver()
	defer r.srv.Close()
	for i := range b.o.fanOut {
		id, err := createEndpoint(ctx, b.api, fmt.Sprintf("%s/fan/%d", r.srv.URL, i))
		if err != nil {
			return table{}, err
		}
		defer func() { _ = deleteEndpoint(context.Background(), b.api, id) }()
	}
	tr := loopbackClient(16).Transport
	fanPays := (b.o.fanPays + payThreads - 1) / payThreads * payThreads
	ps, err := preparePayables(ctx, b.api, tr, fanPays)
	if err != nil {
		return table{}, fmt.Errorf("preparing %d sessions: %w", fanPays, err)
	}
	p := newPayer(ps)
	start := time.Now()
	before := sampleCPU(b.binDir)
	m := load(payThreads, 0, 0, int64(fanPays), p.pay)
	waitDeliveries(r, len(p.paid)*b.o.fanOut, deliveryDeadline)
	var used cpuTally
	used.add(before, sampleCPU(b.binDir))
	cpu := used.note("payments and deliveries")
	ds := matchDeliveries(p, r, b.o.fanOut)
	rate := 0.0
	if ds.delivered > 0 {
		rate = float64(ds.delivered) / ds.end.Sub(start).Seconds()
	}
	res := row{Name: fmt.Sprintf("end to end from payments: %d endpoints, %d payments at full speed", b.o.fanOut, fanPays), QPS: rate,
		P50: ms99(ds.hist, 50), P95: ms99(ds.hist, 95), P99: ms99(ds.hist, 99), Errors: m.Errors + int64(ds.lost)}
	t := table{Title: "5. Webhook fan-out (QPS = deliveries/s)"}
	t.Rows = append(t.Rows, stored, res, measuredRow("form POST /pay itself (end to end row)", m, 0, "", nil))
	t.Notes = append(storedNotes, errorNotes(m)...)
	t.Notes = append(t.Notes, fmt.Sprintf("End to end: deliveries/s = distinct deliveries / (first pay post → last receipt); latency = pay post → receipt. "+
		"Reported without a target: payments bound it. Payments succeeded %d at %.0f/s "+
		"(that rate × %d bounds the delivery rate); deliveries %d of %d; lost %d; duplicates with effect %d; redeliveries %d.",
		len(p.paid), m.QPS, b.o.fanOut, ds.delivered, len(p.paid)*b.o.fanOut, ds.lost, ds.dupEffect, ds.redeliver), cpu)
	return t, nil
}

// memoryLimitKB is the target peak RSS per service process.
const memoryLimitKB = 64 * 1024

func (b *bench) memory(binDir string) table {
	peaks := peakRSS(binDir)
	t := table{Title: "7. Peak RSS (VmHWM) per process during the run"}
	for _, name := range []string{"admin-api", "checkout-runtime", "hooks", "tillpoint-dev"} {
		kb, ok := peaks[name]
		r := row{Name: name, P50: -1, P95: -1, P99: -1}
		switch {
		case !ok:
			r.Name += ": process not found"
			r.Errors = 1
		case name == "tillpoint-dev":
			r.Name += fmt.Sprintf(" (supervisor + embedded NATS): %.1f MB", float64(kb)/1024)
		default:
			r.Name += fmt.Sprintf(": %.1f MB", float64(kb)/1024)
			r.Target = "≤ 64 MB"
			r.Pass = pass(kb <= memoryLimitKB)
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

// loadCPU is load, also adding up the CPU each process used meanwhile.
func (b *bench) loadCPU(tally *cpuTally, threads int, qps float64, d time.Duration, n int64, do call) measurement {
	before := sampleCPU(b.binDir)
	m := load(threads, qps, d, n, do)
	tally.add(before, sampleCPU(b.binDir))
	return m
}

func measuredRow(name string, m measurement, baseQPS float64, target string, ok *bool) row {
	return row{Name: name, QPS: m.QPS, P50: m.ms(50), P95: m.ms(95), P99: m.ms(99), Errors: m.Errors,
		BaselineQPS: baseQPS, Target: target, Pass: ok}
}

func ms99(h interface{ ValueAtQuantile(float64) int64 }, q float64) float64 {
	return float64(h.ValueAtQuantile(q)) / 1000
}

func errorNotes(ms ...measurement) []string {
	var out []string
	for _, m := range ms {
		if m.Errors > 0 {
			out = append(out, fmt.Sprintf("%d of %d calls failed; first: %s", m.Errors, m.Calls, m.FirstErr))
		}
	}
	return out
}
