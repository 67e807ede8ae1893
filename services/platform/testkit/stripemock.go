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

// stripeMock is the per-process stripe-mock of StripeMock, started on
// first use and stopped by Main.
var stripeMock struct {
	once sync.Once
	url  string
	err  error
	stop func()
}

// StripeMock returns the base URL ("http://127.0.0.1:port") of Stripe's
// stripe-mock, which validates every request against Stripe's OpenAPI
// specification and answers with Stripe's fixtures. It is started once per
// test binary (see StartStripeMock); the package's TestMain must call Main,
// which stops it. stripe-mock is stateless: it proves that a request is a
// valid Stripe request, not what Stripe would do next.
func StripeMock(t testing.TB) string {
	t.Helper()
	state.mu.Lock()
	inMain := state.inMain
	state.mu.Unlock()
	if !inMain {
		t.Fatal("call testkit.Main from the package's TestMain: it stops stripe-mock")
	}
	stripeMock.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stripeMockStartTimeout)
		defer cancel()
		stripeMock.url, stripeMock.stop, stripeMock.err = StartStripeMock(ctx)
	})
	if stripeMock.err != nil {
		t.Fatalf("stripe-mock: %v", stripeMock.err)
	}
	return stripeMock.url
}

// StartStripeMock builds stripe-mock from the version pinned in
// tools/stripe-mock (below the repository root, found from the working
// directory) and runs it on free loopback ports until stop is called. For
// tests that do not run under Main (the end-to-end stack).
func StartStripeMock(ctx context.Context) (base string, stop func(), err error) {
	root, err := repoRoot()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "tillpoint-stripe-mock-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "stripe-mock")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/stripe/stripe-mock")
	build.Dir = filepath.Join(root, "tools", "stripe-mock")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	port, err := freeport.Block(2)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// Its HTTPS listener too: left alone it takes the fixed port 12112 on
	// every interface, which a second stripe-mock on the machine holds.
	cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:"+strconv.Itoa(port+1))
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	base = "http://" + addr
	for !stripeMockReady(ctx, base) {
		select {
		case <-ctx.Done():
			stop()
			return "", nil, fmt.Errorf("not answering on %s", addr)
		case <-time.After(20 * time.Millisecond): // polling a process start
		}
	}
	return base, stop, nil
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

// stopStripeMock ends StripeMock's stripe-mock if it was started; called by
// Main.
func stopStripeMock() {
	if stripeMock.stop != nil {
		stripeMock.stop()
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
