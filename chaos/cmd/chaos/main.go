// Command chaos is Tillpoint's chaos soak (`make chaos`): two replicas of
// each service, a three-node NATS JetStream cluster and PostgreSQL on
// loopback, a load of checkouts, and a seeded schedule of kill -9s of any
// component, after which it checks the invariants (docs/chaos.md).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type options struct {
	Duration, Drain  time.Duration
	Rate             float64
	Seed             uint64
	Dir              string
	GapMin, GapMax   time.Duration
	DownMin, DownMax time.Duration
}

func main() {
	var o options
	flag.DurationVar(&o.Duration, "duration", 10*time.Minute, "how long the load and the faults run")
	flag.Float64Var(&o.Rate, "rate", 4, "checkouts started per second")
	flag.Uint64Var(&o.Seed, "seed", 0, "seed of the fault schedule and the load mix (0: a random one, printed)")
	flag.DurationVar(&o.Drain, "drain", 3*time.Minute, "longest wait, after the load, for the system to finish its work")
	flag.StringVar(&o.Dir, "dir", "", "where to keep the logs and the report (default test-artifacts/chaos/<time>-seed-<seed>)")
	flag.DurationVar(&o.GapMin, "gap-min", 3*time.Second, "shortest time between two faults")
	flag.DurationVar(&o.GapMax, "gap-max", 12*time.Second, "longest time between two faults")
	flag.DurationVar(&o.DownMin, "down-min", time.Second, "shortest downtime of a killed component")
	flag.DurationVar(&o.DownMax, "down-max", 8*time.Second, "longest downtime of a killed component")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// run runs one soak and reports whether every check passed; err is for a
// soak that could not run at all.
func run(ctx context.Context, o options, out io.Writer) (bool, error) {
	if o.Seed == 0 {
		o.Seed = rand.Uint64()%1_000_000 + 1
	}
	if o.Dir == "" {
		root, err := repoRoot()
		if err != nil {
			return false, err
		}
		o.Dir = filepath.Join(root, "test-artifacts", "chaos", fmt.Sprintf("%s-seed-%d", time.Now().UTC().Format("20060102-150405"), o.Seed))
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return false, err
	}
	replay := fmt.Sprintf("make chaos CHAOS_FLAGS='-seed %d -duration %s -rate %g'", o.Seed, o.Duration, o.Rate)
	if err := os.WriteFile(filepath.Join(o.Dir, "seed.txt"), []byte(replay+"\n"), 0o644); err != nil {
		return false, err
	}
	logFile, err := os.Create(filepath.Join(o.Dir, "chaos.log"))
	if err != nil {
		return false, err
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, nil))
	logf := func(format string, args ...any) {
		line := fmt.Sprintf("%s %s", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
		fmt.Fprintln(logFile, line)
		fmt.Fprintln(os.Stderr, line)
	}
	logf("chaos: seed %d, %s at %g checkouts/s; logs in %s", o.Seed, o.Duration, o.Rate, o.Dir)

	st, err := startStack(ctx, o.Dir, logger)
	if err != nil {
		return false, err
	}
	defer st.close()
	logf("chaos: stack up: postgres, %d NATS nodes, %d replicas of each service", natsNodes, replicas)

	// Two sources from the seed: the fault schedule's and the load mix's,
	// so that one does not shift the other.
	fr := newFaults(o.Seed, o.GapMin, o.GapMax, o.DownMin, o.DownMax)
	l := newLoader(st, rand.New(rand.NewPCG(o.Seed, 2)))
	start := time.Now()
	r := newReceiver(endpointSpecs(start.Add(o.Duration * 4 / 10)))
	defer r.srv.Close()
	eps, err := createEndpoints(l, r)
	if err != nil {
		return false, err
	}

	loadCtx, stopLoad := context.WithTimeout(ctx, o.Duration)
	defer stopLoad()
	faultsDone := make(chan struct{})
	go func() { fr.run(loadCtx, st.components, logf); close(faultsDone) }()
	l.run(loadCtx, o.Rate)
	<-faultsDone
	logf("chaos: load stopped after %s: %d checkouts; draining", time.Since(start).Round(time.Second), len(l.flows))

	pool, err := pgxpool.New(ctx, st.dbURL)
	if err != nil {
		return false, err
	}
	defer pool.Close()
	nc, err := nats.Connect(st.natsURL)
	if err != nil {
		return false, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false, err
	}
	expiredAtEnd, err := l.expireOpen(ctx, pool)
	if err != nil {
		return false, err
	}
	logf("chaos: %d sessions still open expired by the merchant", expiredAtEnd)
	drainStart := time.Now()
	left, err := drain(ctx, pool, js, o.Drain)
	if err != nil {
		return false, err
	}
	drainedIn := time.Since(drainStart).Round(time.Second)
	logf("chaos: drained in %s", drainedIn)
	if err := writeAttempts(filepath.Join(o.Dir, "requests.jsonl"), l.attempts); err != nil {
		return false, err
	}

	fs := fr.all()
	drained := check{Name: "drained within " + o.Drain.String(), Checked: 1}
	if left != "" {
		drained.fail("still pending: %s", left)
	}
	restarts := check{Name: "every killed component came back", Checked: len(fs)}
	for _, f := range fs {
		if f.Err != "" {
			restarts.fail("%s: %s", f.Component, f.Err)
		}
	}
	sessions, counts, err := checkSessions(ctx, pool, l.flows)
	if err != nil {
		return false, err
	}
	counts["sessions still open at the end, expired by the merchant"] = expiredAtEnd
	evChecks, events, err := checkEvents(ctx, pool, js, counts)
	if err != nil {
		return false, err
	}
	deliveries, err := checkDeliveries(ctx, pool, r, eps, events, counts)
	if err != nil {
		return false, err
	}
	answers := checkAnswers(l.attempts, fs, counts)
	checks := append(append([]check{drained, restarts}, sessions...), evChecks...)
	checks = append(checks, deliveries, answers)

	for _, f := range l.flows {
		counts["checkouts "+f.Kind]++
		if f.Err != "" {
			counts["checkouts given up after "+stepDeadline.String()+" of retries"]++
		}
	}
	for _, f := range fs {
		counts["kills "+f.Component]++
	}
	counts["client retries"] = int(l.retries.Load())
	counts["client requests"] = len(l.attempts)
	p50, p99, n := payToWebhook(l.flows, r)

	var b strings.Builder
	fmt.Fprintf(&b, "# Chaos soak, seed %d\n\n%s of load at %g checkouts/s, %d faults, drained in %s. Replay: `%s`\n\n",
		o.Seed, o.Duration, o.Rate, len(fs), drainedIn, replay)
	fmt.Fprintf(&b, "| check | checked | violations | result |\n|---|---:|---:|---|\n")
	ok := true
	for _, c := range checks {
		res := "PASS"
		if len(c.Violations) > 0 {
			res, ok = "FAIL", false
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", c.Name, c.Checked, len(c.Violations), res)
	}
	fmt.Fprintf(&b, "\n| count | n |\n|---|---:|\n")
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %d |\n", k, counts[k])
	}
	fmt.Fprintf(&b, "\npay (4242) → checkout.session.completed at /fast: p50 %s, p99 %s (%d payments)\n", p50, p99, n)
	for _, c := range checks {
		if len(c.Violations) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s: %d violations\n\n", c.Name, len(c.Violations))
		for i, v := range c.Violations {
			if i == 50 {
				fmt.Fprintf(&b, "- … and %d more\n", len(c.Violations)-50)
				break
			}
			fmt.Fprintf(&b, "- %s\n", v)
		}
	}
	fmt.Fprintf(&b, "\n## Faults\n\n")
	for _, f := range fs {
		fmt.Fprintf(&b, "- %s\n", f)
	}
	fmt.Fprint(out, b.String())
	if err := os.WriteFile(filepath.Join(o.Dir, "report.md"), []byte(b.String()), 0o644); err != nil {
		return false, err
	}
	verdict := "PASS"
	if !ok {
		verdict = "FAIL"
	}
	fmt.Fprintf(out, "\nchaos: %s (seed %d); report and logs in %s\n", verdict, o.Seed, o.Dir)
	return ok, nil
}

// payToWebhook is the latency from the start of each 4242 payment that was
// answered "succeeded" to the arrival of its checkout.session.completed at
// the fast endpoint.
func payToWebhook(flows []*flow, r *receiver) (time.Duration, time.Duration, int) {
	at := map[string]time.Time{}
	r.mu.Lock()
	for _, a := range r.got["/fast"] {
		if a.Type == "checkout.session.completed" {
			at[a.ObjectID] = a.At
		}
	}
	r.mu.Unlock()
	var ds []time.Duration
	for _, f := range flows {
		if t, ok := at[f.SessionID]; ok && f.Kind == kindCard && f.PayAnswer == "succeeded" {
			ds = append(ds, t.Sub(f.PayStart))
		}
	}
	if len(ds) == 0 {
		return 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	q := func(p float64) time.Duration {
		return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(time.Millisecond)
	}
	return q(0.50), q(0.99), len(ds)
}

// writeAttempts keeps every request of the load, one JSON object a line,
// for looking into a failed run.
func writeAttempts(path string, as []attempt) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, a := range as {
		if err := enc.Encode(a); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
