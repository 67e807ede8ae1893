package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/freeport"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// repoRoot is the directory of go.work.
func repoRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOWORK: %v %q", err, out)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// buildStack compiles the four binaries into dir.
func buildStack(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", dir+"/",
		"./services/admin-api/cmd/admin-api", "./services/checkout-runtime/cmd/checkout-runtime",
		"./services/hooks/cmd/hooks", "./services/platform/cmd/tillpoint-dev")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// freePortBase finds a block of 50 free loopback ports.
func freePortBase(t *testing.T) int {
	base, err := freeport.Block(50)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

type runningStack struct {
	cmd   *exec.Cmd
	dir   string
	stack stackFile
	done  chan error
}

// startStack runs `tillpoint-dev run` and waits for its "running" banner.
func startStack(t *testing.T, bin, dir string, base int) *runningStack {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "tillpoint-dev"), "run", "--bin", bin, "--dir", dir, "--port-base", strconv.Itoa(base))
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "NATS_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs, err := os.Create(filepath.Join(bin, "stack.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rs := &runningStack{cmd: cmd, dir: dir, done: make(chan error, 1)}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Tillpoint is running.") {
				ready <- true
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { rs.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-rs.done
		}
	})
	select {
	case <-ready:
	case err := <-rs.done:
		log, _ := os.ReadFile(logs.Name())
		t.Fatalf("tillpoint-dev exited before it was ready: %v\n%s", err, log)
	case <-time.After(3 * time.Minute):
		log, _ := os.ReadFile(logs.Name())
		t.Fatalf("tillpoint-dev not ready after 3 minutes\n%s", log)
	}
	b, err := os.ReadFile(filepath.Join(dir, "stack.json"))
	if err != nil {
		t.Fatalf("stack.json: %v", err)
	}
	if err := json.Unmarshal(b, &rs.stack); err != nil {
		t.Fatal(err)
	}
	return rs
}

// get requests url's path from its host's port on loopback, with Host set to
// host (Go's resolver does not map *.localhost to loopback).
func get(t *testing.T, rawURL, host string) (int, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+u.Port()+u.Path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", rawURL, host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// processesUnder lists the processes whose command line mentions dir.
func processesUnder(dir string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), dir) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return found
}

func TestStackRunsAndStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the whole stack")
	}
	bin := t.TempDir()
	// As root, PostgreSQL runs as the postgres user, who must enter the dir.
	for _, d := range []string{filepath.Dir(bin), bin} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	buildStack(t, bin)
	dir := filepath.Join(bin, "dev")
	base := freePortBase(t)
	rs := startStack(t, bin, dir, base)
	st := rs.stack

	// A second start on the same ports refuses, and leaves the running
	// stack's stack.json alone.
	second := exec.Command(filepath.Join(bin, "tillpoint-dev"), "run", "--bin", bin, "--dir", dir, "--port-base", strconv.Itoa(base))
	if out, err := second.CombinedOutput(); err == nil || !strings.Contains(string(out), "is in use") {
		t.Errorf("second start: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "stack.json")); err != nil {
		t.Errorf("the refused second start removed stack.json: %v", err)
	}

	if st.OrganizationID == "" || st.SiteID == "" || !strings.HasPrefix(st.SecretKey, "sk_test_") {
		t.Fatalf("stack.json lacks the demo data: %+v", st)
	}
	hosts := map[string]string{}
	for name, u := range map[string]string{"admin-api": st.AdminAPIURL, "checkout-runtime": st.CheckoutURL, "hooks": st.HooksURL} {
		parsed, _ := url.Parse(u)
		hosts[name] = parsed.Host
	}
	for name, u := range map[string]string{"admin-api": st.AdminAPIURL, "checkout-runtime": st.CheckoutURL, "hooks": st.HooksURL} {
		if code, body := get(t, u+"/readyz", hosts[name]); code != http.StatusOK {
			t.Errorf("%s /readyz on its own host: %d %s", name, code, body)
		}
		for other, host := range hosts {
			if other == name {
				continue
			}
			code, body := get(t, u+"/readyz", host)
			if code != http.StatusMisdirectedRequest || !strings.Contains(body, hosts[name]) {
				t.Errorf("%s /readyz with Host %s: %d %s; want 421 naming %s", name, host, code, body, hosts[name])
			}
		}
	}

	// `trigger --method bank_transfer` pays by transfer and sends the
	// simulated bank feed's credit: the session ends paid.
	var out strings.Builder
	if err := runTrigger(t.Context(), []string{"--dir", dir, "--method", "bank_transfer"}, &out, io.Discard); err != nil {
		t.Fatalf("trigger --method bank_transfer: %v\n%s", err, out.String())
	}
	id := strings.Fields(strings.TrimPrefix(out.String(), "Created checkout session "))[0]
	testkit.Eventually(t, "the bank transfer settles the session", func() bool {
		var cs struct {
			PaymentStatus string `json:"payment_status"`
		}
		err := newAPIClient(devStack{AdminAPIURL: st.AdminAPIURL, SecretKey: st.SecretKey}).call(t.Context(), http.MethodGet, "/v1/checkout/sessions/"+id, nil, &cs)
		return err == nil && cs.PaymentStatus == "paid"
	})
	if !strings.Contains(out.String(), "Sent the bank feed's credit of €26.49") {
		t.Errorf("trigger's output:\n%s", out.String())
	}

	if err := rs.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-rs.done:
		if err != nil {
			t.Fatalf("tillpoint-dev exited with %v after SIGTERM", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("tillpoint-dev did not stop within a minute of SIGTERM")
	}
	if left := processesUnder(bin); len(left) > 0 {
		t.Fatalf("processes left behind:\n%s", strings.Join(left, "\n"))
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postgres did not shut down cleanly: postmaster.pid %v", err)
	}

	// A second start reuses the demo data and the key.
	again := startStack(t, bin, dir, freePortBase(t))
	if again.stack.SecretKey != st.SecretKey || again.stack.SiteID != st.SiteID {
		t.Fatalf("second start changed the demo data: %+v vs %+v", again.stack, st)
	}
}
