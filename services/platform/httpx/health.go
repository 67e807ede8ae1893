package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Check is one readiness check, such as a PostgreSQL ping or "NATS is
// connected". Probe must return promptly once its context is done.
type Check struct {
	Name  string
	Probe func(context.Context) error
	// Degrades marks a dependency the service can serve without for a
	// while (NATS: the outboxes hold the events): its failure is named
	// under "degraded" in a 200 answer instead of making the service
	// unready, so that an orchestrator does not take every replica out of
	// service for an outage they ride through.
	Degrades bool
}

// DefaultCheckTimeout bounds the readiness checks when NewHealth is given no
// timeout: shorter than an orchestrator's usual probe timeout (1 s in
// Kubernetes), so that a slow dependency is reported rather than hanging.
const DefaultCheckTimeout = 800 * time.Millisecond

// Health serves /healthz (the process is alive) and /readyz (it can serve:
// every check passes and shutdown has not begun).
type Health struct {
	log      *slog.Logger
	timeout  time.Duration
	checks   []Check
	stopping atomic.Bool
}

// NewHealth returns a Health running checks, each bounded by timeout
// (DefaultCheckTimeout when zero or less). Failures are logged with their
// error; responses name only the failed checks.
func NewHealth(log *slog.Logger, timeout time.Duration, checks ...Check) *Health {
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	return &Health{log: log, timeout: timeout, checks: append([]Check(nil), checks...)}
}

// BeginShutdown makes /readyz answer 503 from now on, so that load
// balancers stop sending new requests while in-flight ones finish.
func (h *Health) BeginShutdown() { h.stopping.Store(true) }

// Register adds GET /healthz and GET /readyz to mux.
func (h *Health) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", h.ServeLive)
	mux.HandleFunc("GET /readyz", h.ServeReady)
}

// ServeLive answers 200 {"status":"ok"} while the process can answer at all.
func (h *Health) ServeLive(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyBody is the /readyz response.
type readyBody struct {
	Status   string   `json:"status"`
	Failed   []string `json:"failed,omitempty"`
	Degraded []string `json:"degraded,omitempty"`
}

// ServeReady runs the checks concurrently and answers 200 {"status":"ok"}
// when all pass, else 503 {"status":"unavailable","failed":[names…]}; a
// failed check that only degrades the service is named in a 200 answer,
// {"status":"degraded","degraded":[names…]}. Once shutdown has begun it
// answers 503 {"status":"shutting_down"}.
func (h *Health) ServeReady(w http.ResponseWriter, r *http.Request) {
	if h.stopping.Load() {
		WriteJSON(w, http.StatusServiceUnavailable, readyBody{Status: "shutting_down"})
		return
	}
	var failed, degraded []string
	for _, c := range h.failedChecks(r.Context()) {
		if c.Degrades {
			degraded = append(degraded, c.Name)
		} else {
			failed = append(failed, c.Name)
		}
	}
	switch {
	case len(failed) > 0:
		WriteJSON(w, http.StatusServiceUnavailable, readyBody{Status: "unavailable", Failed: failed, Degraded: degraded})
	case len(degraded) > 0:
		WriteJSON(w, http.StatusOK, readyBody{Status: "degraded", Degraded: degraded})
	default:
		WriteJSON(w, http.StatusOK, readyBody{Status: "ok"})
	}
}

// failedChecks runs every check and returns those that failed, in the
// order the checks were given.
func (h *Health) failedChecks(ctx context.Context) []Check {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	errs := make([]error, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Go(func() { errs[i] = c.Probe(ctx) })
	}
	wg.Wait()
	var failed []Check
	for i, err := range errs {
		if err != nil {
			h.log.WarnContext(ctx, "readiness check failed", "check", h.checks[i].Name, "error", err)
			failed = append(failed, h.checks[i])
		}
	}
	return failed
}
