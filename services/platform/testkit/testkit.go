// Package testkit gives tests a real PostgreSQL and a real NATS JetStream,
// no mocks.
//
// Each test package calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }
//
// The first test that asks for a database starts the server: the one at
// $TILLPOINT_TEST_DATABASE_URL when set (a superuser URL, e.g. the server
// `make test` starts), else a private, non-durable cluster (devpg) in a
// temporary directory on a free loopback port, which Main stops and removes
// after the tests. Each test then gets its own database, cloned from a
// template that has the wanted migrations applied (see NewDatabase).
package testkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/platform/devpg"
	"github.com/tillpoint/tillpoint/services/platform/pgkit"
)

// DatabaseURLEnv names the variable holding a superuser URL of an existing
// server for the tests to use instead of starting their own.
const DatabaseURLEnv = "TILLPOINT_TEST_DATABASE_URL"

const (
	// tmpDirPrefix names the private clusters' directories in os.TempDir().
	tmpDirPrefix = "tillpoint-testpg-"
	// lockFileName is the file in such a directory that its test binary
	// keeps flocked while it runs.
	lockFileName = "lock"
	// startAttempts: a free port found by listening on :0 may be taken by
	// someone else before postgres binds it; a new port is tried then.
	startAttempts = 3
	// setUpTimeout bounds finding (or installing) PostgreSQL and starting
	// it; a first apt-get install of the server can take minutes.
	setUpTimeout = 10 * time.Minute
	// tearDownTimeout bounds dropping the templates and stopping the server.
	tearDownTimeout = time.Minute
)

// state is the per-process test environment: the server, started on first
// use, and the template databases made on it. Guarded by mu.
var state struct {
	mu            sync.Mutex
	inMain        bool // Main is running the tests, and will clean up after them
	started       bool
	startErr      error
	serverURL     string               // superuser URL of the server's maintenance database
	admin         *pgxpool.Pool        // on serverURL; creates and drops databases
	cluster       *devpg.Cluster       // nil when the server is not ours
	tmpDir        string               // holds cluster's data directory
	tmpLock       *os.File             // flocked while tmpDir is in use; see sweepStaleDirs
	templates     map[string]*template // by setsKey
	templateNames []string             // every template database created, to drop
}

// Main runs the tests and then drops the template databases it made and
// stops the private PostgreSQL cluster, if it started one. It returns the
// exit code for os.Exit.
func Main(m *testing.M) int {
	state.mu.Lock()
	state.inMain = true
	state.mu.Unlock()
	code := m.Run()
	stopStripeMock()
	if err := tearDown(); err != nil {
		fmt.Fprintln(os.Stderr, "testkit:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// pgServer returns the admin pool and the server URL, starting the server on
// first use. A failure is kept: every later caller gets the same error.
func pgServer() (*pgxpool.Pool, string, error) {
	state.mu.Lock()
	defer state.mu.Unlock()
	if !state.inMain {
		return nil, "", errors.New("call testkit.Main from the package's TestMain: it cleans up the databases")
	}
	if !state.started {
		state.started = true
		state.startErr = setUp()
	}
	return state.admin, state.serverURL, state.startErr
}

// setUp is called with state.mu held.
func setUp() error {
	ctx, cancel := context.WithTimeout(context.Background(), setUpTimeout)
	defer cancel()
	serverURL := os.Getenv(DatabaseURLEnv)
	if serverURL == "" {
		var err error
		if serverURL, err = startCluster(ctx); err != nil {
			return err
		}
	} else if u, err := url.Parse(serverURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Not wrapping url.Parse's error: it quotes the URL, password and all.
		return fmt.Errorf("%s must be a postgres:// URL", DatabaseURLEnv)
	}
	admin, err := pgkit.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	state.serverURL, state.admin = serverURL, admin
	state.templates = make(map[string]*template)
	return nil
}

// startCluster starts a private cluster and returns its superuser URL.
func startCluster(ctx context.Context) (string, error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "testkit")
	binDir, err := devpg.FindBinaries(ctx, logger)
	if err != nil {
		return "", err
	}
	sweepStaleDirs()
	tmp, err := os.MkdirTemp("", tmpDirPrefix)
	if err != nil {
		return "", fmt.Errorf("directory for PostgreSQL: %w", err)
	}
	state.tmpDir = tmp
	if state.tmpLock, err = lockDir(tmp); err != nil {
		return "", err
	}
	// MkdirTemp makes it 0700; the server may run as the postgres user.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("directory for PostgreSQL: %w", err)
	}
	c := &devpg.Cluster{BinDir: binDir, Dir: filepath.Join(tmp, "data"), Fast: true}
	for attempt := 1; ; attempt++ {
		if c.Port, err = freePort(); err != nil {
			return "", fmt.Errorf("free port for PostgreSQL: %w", err)
		}
		if err = c.Init(ctx); err == nil {
			if err = c.Start(ctx); err == nil {
				break
			}
		}
		if attempt == startAttempts {
			return "", err
		}
	}
	state.cluster = c
	return c.URL("postgres"), nil
}

// lockDir creates dir's lock file and holds an exclusive flock on it for as
// long as the returned file stays open; the kernel drops it if we die. The
// file gets its name only once locked, so a sweeper never sees it unlocked.
func lockDir(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, "lock-")
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, lockFileName)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// sweepStaleDirs removes the private clusters' directories of test binaries
// that died without cleaning up (killed by a timeout, or Ctrl-C during go
// test): those whose lock file nobody holds. Their servers have stopped, or
// are stopping, on their parent's death. Directories without a lock file are
// being set up and are left alone.
func sweepStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tmpDirPrefix+"*")) // Only a bad pattern fails.
	for _, dir := range dirs {
		f, err := os.Open(filepath.Join(dir, lockFileName))
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			_ = os.RemoveAll(dir) // Best effort: a leftover is only wasted space.
		}
		f.Close()
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tearDown drops the templates, then stops and removes the private cluster.
func tearDown() error {
	state.mu.Lock()
	defer state.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), tearDownTimeout)
	defer cancel()
	var errs []error
	if state.admin != nil {
		// On our own cluster, which is about to go, this is wasted work,
		// but harmless; on a shared server it is what keeps it clean.
		for _, name := range state.templateNames {
			errs = append(errs, dropDatabase(ctx, state.admin, name))
		}
		state.admin.Close()
	}
	if state.cluster != nil {
		errs = append(errs, state.cluster.Stop(ctx))
	}
	if state.tmpDir != "" {
		errs = append(errs, os.RemoveAll(state.tmpDir))
		state.tmpLock.Close()
	}
	return errors.Join(errs...)
}

func dropDatabase(ctx context.Context, admin *pgxpool.Pool, name string) error {
	// FORCE ends sessions a test left open (a service binary that is still
	// shutting down, a leaked pool), which would otherwise block the drop.
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// databaseURL returns serverURL with its database replaced by name.
func databaseURL(serverURL, name string) string {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "" // setUp checked that it parses.
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}

// Eventually polls cond every few milliseconds until it holds, failing the
// test if it does not within 10 s: for effects that arrive asynchronously
// (a notification, a message, a goroutine starting).
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(eventuallyWithin); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// eventuallyWithin bounds Eventually's wait.
const eventuallyWithin = 10 * time.Second
