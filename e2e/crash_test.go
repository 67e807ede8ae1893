package e2e

import (
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
