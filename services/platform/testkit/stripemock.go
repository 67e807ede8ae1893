package testkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/freeport"
)

// StripeMockKey is a test-mode secret key stripe-mock accepts: it checks
// that a key looks like one, not that Stripe issued it.
const StripeMockKey = "sk_test_tillpoint"

// stripeMockStartTimeout bounds building stripe-mock (a first build
// downloads its module) and its start.
const stripeMockStartTimeout = 5 * time.Minute

// stripeMock is the per-process stripe-mock, started on first use and
// stopped by Main.
var stripeMock struct {
	once sync.Once
	url  string
	err  error
	cmd  *exec.Cmd
	dir  string
}

// StripeMock returns the base URL ("http://127.0.0.1:port") of Stripe's
// stripe-mock, which validates every request against Stripe's OpenAPI
// specification and answers with Stripe's fixtures. It is built from the
// version pinned in tools/stripe-mock and started once per test binary, on
// a free loopback port; the package's TestMain must call Main, which stops
// it. stripe-mock is stateless: it proves that a request is a valid Stripe
// request, not what Stripe would do next.
func StripeMock(t testing.TB) string {
	t.Helper()
	state.mu.Lock()
	inMain := state.inMain
	state.mu.Unlock()
	if !inMain {
		t.Fatal("call testkit.Main from the package's TestMain: it stops stripe-mock")
	}
	stripeMock.once.Do(func() { stripeMock.url, stripeMock.err = startStripeMock() })
	if stripeMock.err != nil {
		t.Fatalf("stripe-mock: %v", stripeMock.err)
	}
	return stripeMock.url
}

func startStripeMock() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), stripeMockStartTimeout)
	defer cancel()
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if stripeMock.dir, err = os.MkdirTemp("", "tillpoint-stripe-mock-"); err != nil {
		return "", err
	}
	bin := filepath.Join(stripeMock.dir, "stripe-mock")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/stripe/stripe-mock")
	build.Dir = filepath.Join(root, "tools", "stripe-mock")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	port, err := freeport.Block(1)
	if err != nil {
		return "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	stripeMock.cmd = exec.Command(bin, "-http-addr", addr)
	if err := stripeMock.cmd.Start(); err != nil {
		return "", err
	}
	base := "http://" + addr
	for {
		if stripeMockReady(ctx, base) {
			return base, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("not answering on %s", addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stripeMockReady reports whether stripe-mock answers an authenticated call.
func stripeMockReady(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/balance", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+StripeMockKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stopStripeMock ends stripe-mock if it was started; called by Main.
func stopStripeMock() {
	if stripeMock.cmd != nil && stripeMock.cmd.Process != nil {
		_ = stripeMock.cmd.Process.Kill()
		_ = stripeMock.cmd.Wait()
	}
	if stripeMock.dir != "" {
		_ = os.RemoveAll(stripeMock.dir)
	}
}

// repoRoot is the directory holding go.work, above the working directory
// (a test runs in its package's directory).
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
			return "", errors.New("no go.work above the working directory")
		}
		dir = parent
	}
}
