package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// completedSessions returns the ids of the sessions whose completion the
// receiver accepted, and checks each delivery's signature.
func (r *receiver) completedSessions(t *testing.T, secret string) map[string]bool {
	out := map[string]bool{}
	for _, ev := range r.accepted(t, secret, "checkout.session.completed") {
		out[ev["data"].(map[string]any)["object"].(map[string]any)["id"].(string)] = true
	}
	return out
}

// servicePID finds the running process of one of the stack's services.
func servicePID(t *testing.T, name string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.HasPrefix(string(cmdline), filepath.Join(binDir, name)+"\x00serve") {
			return pid
		}
	}
	t.Fatalf("no %s process", name)
	return 0
}

func TestWebhooksSurviveAHooksCrash(t *testing.T) {
	// The receiver holds the first delivery open, so that hooks is killed
	// with it in flight; it accepts everything after.
	inFlight, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	r := newReceiver(t, 0)
	accept := r.srv.Config.Handler
	r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			close(inFlight)
			<-release
			io.Copy(io.Discard, req.Body)
			return // the connection is gone with hooks: nothing is recorded
		}
		accept.ServeHTTP(w, req)
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	_, secret := createEndpoint(t, r.srv.URL, "checkout.session.completed")

	want := map[string]bool{paySession(t): true}
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("the first delivery never started")
	}
	old := servicePID(t, "hooks")
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range 3 { // sessions complete while hooks is down or restarting
		want[paySession(t)] = true
	}
	close(release)
	eventually(t, "every completion to be delivered after the crash", 90*time.Second, func() bool {
		got := r.completedSessions(t, secret)
		for id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
	if pid := servicePID(t, "hooks"); pid == old {
		t.Fatal("hooks was not restarted")
	}
}

func TestWebhooksSurviveANATSOutage(t *testing.T) {
	r := newReceiver(t, 0)
	_, secret := createEndpoint(t, r.srv.URL, "checkout.session.completed")
	stopNATS()
	restarted := false
	defer func() {
		if !restarted {
			_ = startNATS()
		}
	}()
	// Payments do not need the broker: sessions complete, their events wait
	// in the outboxes.
	want := map[string]bool{}
	for range 3 {
		want[paySession(t)] = true
	}
	if got := r.completedSessions(t, secret); len(got) != 0 {
		t.Fatalf("deliveries arrived with NATS down: %v", got)
	}
	if err := startNATS(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	eventually(t, "the outbox to catch up and every webhook to arrive", 90*time.Second, func() bool {
		got := r.completedSessions(t, secret)
		for id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
}

// TestCardPaymentSurvivesARuntimeCrash kills checkout-runtime in the middle
// of a card payment: authorised and recorded, its session being completed.
// The test holds the session's row locked, so that admin-api's
// CompleteSession waits, and kills the runtime once the authorisation is
// recorded. The restarted runtime's payment reconciler settles the payment
// from the session: the session ends paid by it, and it is captured
// (succeeded), once.
func TestCardPaymentSurvivesARuntimeCrash(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, sys.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	s := newSession(t, nil)
	id := s["id"].(string)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))

	lock, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, "SELECT 1 FROM admin.checkout_sessions WHERE id = $1 FOR UPDATE", id); err != nil {
		t.Fatal(err)
	}
	paid := make(chan struct{})
	go func() { // answered by no one: the runtime dies under it
		defer close(paid)
		req, _ := http.NewRequest("POST", s["url"].(string)+"/pay", strings.NewReader(cardForm(csrf, provider.TestCardSuccess).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	watch, err := pgx.Connect(ctx, sys.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx)
	var payID string
	eventually(t, "the authorisation to be recorded", 30*time.Second, func() bool {
		err := watch.QueryRow(ctx, `SELECT id FROM runtime.payments
			WHERE session_id = $1 AND status = 'processing' AND provider_ref IS NOT NULL`, id).Scan(&payID)
		return err == nil
	})
	old := servicePID(t, "checkout-runtime")
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-paid
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	var status string
	eventually(t, "the payment to be settled after the crash", 90*time.Second, func() bool {
		err := watch.QueryRow(ctx, "SELECT status FROM runtime.payments WHERE id = $1", payID).Scan(&status)
		return err == nil && status != "processing"
	})
	if status != "succeeded" {
		t.Fatalf("payment %s ended %s, want succeeded", payID, status)
	}
	var sessionStatus, paymentStatus, sessionPayment string
	var succeeded int
	if err := watch.QueryRow(ctx, `SELECT cs.status, cs.payment_status, coalesce(cs.payment_id, ''),
		(SELECT count(*) FROM runtime.payments p WHERE p.session_id = cs.id AND p.status = 'succeeded')
		FROM admin.checkout_sessions cs WHERE cs.id = $1`, id).Scan(&sessionStatus, &paymentStatus, &sessionPayment, &succeeded); err != nil {
		t.Fatal(err)
	}
	if sessionStatus != "complete" || paymentStatus != "paid" || sessionPayment != payID || succeeded != 1 {
		t.Fatalf("session %s %s by %q, %d succeeded payments; want complete, paid by %s, 1", sessionStatus, paymentStatus, sessionPayment, succeeded, payID)
	}
	if pid := servicePID(t, "checkout-runtime"); pid == old {
		t.Fatal("checkout-runtime was not restarted")
	}
}
