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
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/freeport"
)

// prismStartTimeout bounds Prism's start: Node loads it and parses the
// specification (Paystack's is half a megabyte) in a few seconds.
const prismStartTimeout = 2 * time.Minute

// Prism starts Stoplight Prism on a free loopback port for spec (a path to
// an OpenAPI file) and returns its base URL; the test's cleanup stops it.
// Every request Prism receives is validated against spec, and a request
// that violates it is answered 422 with the violations (Prism's --errors).
//
// With upstream empty Prism mocks the API from the specification alone.
// Otherwise it is a validating proxy in front of upstream (an
// httptest.Server of the test): the test decides the answers, for states
// the specification has no example of, while Prism still checks each
// request against the provider's own contract before it reaches upstream.
//
// Prism is the pinned @stoplight/prism-cli of tools/prism, installed by
// `make prism-deps`; a missing install fails the test, naming that target.
func Prism(t testing.TB, spec, upstream string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), prismStartTimeout)
	defer cancel()
	base, stop, err := StartPrism(ctx, spec, upstream)
	if err != nil {
		t.Fatalf("prism: %v", err)
	}
	t.Cleanup(stop)
	return base
}

// StartPrism runs Prism as Prism describes until stop is called. For tests
// that start it once per package (TestMain) or outside a test.
func StartPrism(ctx context.Context, spec, upstream string) (base string, stop func(), err error) {
	root, err := repoRoot()
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(root, "tools", "prism", "node_modules", ".bin", "prism")
	if _, err := os.Stat(bin); err != nil {
		return "", nil, fmt.Errorf("%s is not installed: run `make prism-deps`", bin)
	}
	spec, err = filepath.Abs(spec)
	if err != nil {
		return "", nil, err
	}
	port, err := freeport.Block(1)
	if err != nil {
		return "", nil, err
	}
	args := []string{"mock", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "--errors", spec}
	if upstream != "" {
		args = []string{"proxy", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "--errors", spec, upstream}
	}
	cmd := exec.Command(bin, args...)
	// Prism logs every request at info level; its errors still reach stderr.
	cmd.Args = append(cmd.Args, "-v", "error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	base = "http://127.0.0.1:" + strconv.Itoa(port)
	for !prismReady(ctx, base) {
		select {
		case <-ctx.Done():
			stop()
			return "", nil, fmt.Errorf("not answering on %s", base)
		case err := <-exited:
			exited <- err
			return "", nil, errors.Join(errors.New("prism exited"), err)
		case <-time.After(50 * time.Millisecond): // polling a process start
		}
	}
	return base, stop, nil
}

// prismReady reports whether Prism answers HTTP at all (any status: the
// root path is in no specification).
func prismReady(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
