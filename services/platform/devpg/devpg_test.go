package devpg

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

// helperDirEnv makes the test binary a helper process that starts a cluster
// in that directory and then waits to be killed (see TestServerDiesWithUs).
const helperDirEnv = "DEVPG_TEST_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		os.Exit(runHelper(dir))
	}
	os.Exit(m.Run())
}

func runHelper(dir string) int {
	ctx := context.Background()
	port, _ := strconv.Atoi(os.Getenv("DEVPG_TEST_HELPER_PORT"))
	binDir, err := FindBinaries(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	c := &Cluster{BinDir: binDir, Dir: dir, Port: port, Fast: true}
	if err := c.Init(ctx); err != nil {
		fmt.Println(err)
		return 1
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("ready")
	select {} // Until killed.
}

func TestFindBinDirPrefersNewestCompleteVersion(t *testing.T) {
	t.Setenv("PATH", "") // Hide pg_config and initdb on PATH.
	root := t.TempDir()
	for ver, names := range map[string][]string{
		"9.6": {"initdb", "postgres"},
		"14":  {"initdb", "postgres"},
		"15":  {"initdb", "postgres"},
		"16":  {"initdb"}, // Client-only or half-removed: no server.
	} {
		bin := filepath.Join(root, ver, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/false\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, ok := findBinDir(context.Background(), filepath.Join(root, "*", "bin"))
	if want := filepath.Join(root, "15", "bin"); !ok || got != want {
		t.Fatalf("findBinDir = %q, %v; want %q", got, ok, want)
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"", 3, ""},
		{"only\n", 1, "only"},
	} {
		if got := tail([]byte(tc.in), tc.n); got != tc.want {
			t.Errorf("tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestClusterLifecycle(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Init(ctx); err != nil { // An existing cluster is kept.
		t.Fatalf("second Init: %v", err)
	}
	startCluster(t, c)

	for range 2 { // Idempotent.
		if err := c.CreateDatabase(ctx, "app-db"); err != nil {
			t.Fatal(err)
		}
	}
	conn := connect(t, c.URL("app-db"))
	var fsync, maxConns, listen string
	if err := conn.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('max_connections'), current_setting('listen_addresses')").
		Scan(&fsync, &maxConns, &listen); err != nil {
		t.Fatal(err)
	}
	if fsync != "off" || maxConns != "200" || listen != "127.0.0.1" {
		t.Errorf("fsync=%s max_connections=%s listen_addresses=%s; want off, 200, 127.0.0.1", fsync, maxConns, listen)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := pgx.Connect(ctx, c.URL("app-db")); err == nil {
		t.Fatal("server still accepts connections after Stop")
	}

	// A restart keeps the data.
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	startCluster(t, c)
	var v int
	if err := connect(t, c.URL("app-db")).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: v=%d err=%v; want 42", v, err)
	}
}

func TestCrashThenStartRecovers(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	// Durable commits, as the chaos soak runs it: a Fast cluster's
	// commits are written asynchronously and a crash may lose the last.
	c.Fast = false
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	startCluster(t, c)
	conn := connect(t, c.URL("postgres"))
	if _, err := conn.Exec(ctx, "CREATE TABLE committed (v int); INSERT INTO committed VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	c.Crash()
	if _, err := pgx.Connect(ctx, c.URL("postgres")); err == nil {
		t.Fatal("server still accepts connections after Crash")
	}
	// No wait between: Crash returns once the backends are gone too.
	if err := c.Start(ctx); err != nil {
		t.Fatalf("Start after Crash: %v", err)
	}
	var v int
	if err := connect(t, c.URL("postgres")).QueryRow(ctx, "SELECT v FROM committed").Scan(&v); err != nil || v != 7 {
		t.Fatalf("after crash recovery: v=%d err=%v; want 7", v, err)
	}
}

func TestStartFailsClearlyWhenPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := newTestCluster(t)
	c.Port = ln.Addr().(*net.TCPAddr).Port
	if err := c.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	err = c.Start(context.Background())
	if err == nil {
		_ = c.Stop(context.Background())
		t.Fatal("Start succeeded on a port in use")
	}
	t.Log(err)
	for _, want := range []string{strconv.Itoa(c.Port), "Address already in use", logFileName} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestStartRefusesAnotherServersPort(t *testing.T) {
	ctx := context.Background()
	a := newTestCluster(t)
	if err := a.Init(ctx); err != nil {
		t.Fatal(err)
	}
	startCluster(t, a)
	b := newTestCluster(t)
	b.Port = a.Port
	if err := b.Init(ctx); err != nil {
		t.Fatal(err)
	}
	err := b.Start(ctx)
	if err == nil {
		_ = b.Stop(ctx)
		t.Fatal("Start succeeded on the port of another cluster")
	}
	t.Log(err)
	// Which one depends on whether b's server fails to bind before we reach a's.
	if msg := err.Error(); !strings.Contains(msg, "served by another PostgreSQL") && !strings.Contains(msg, "Address already in use") {
		t.Errorf("error %q explains neither that the port is another server's nor that it is in use", msg)
	}
	// The other cluster is untouched.
	connect(t, a.URL("postgres"))
}

// TestServerDiesWithUs proves that the server does not outlive a process that
// dies without calling Stop (Pdeathsig).
func TestServerDiesWithUs(t *testing.T) {
	c := newTestCluster(t)
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperDirEnv+"="+c.Dir, "DEVPG_TEST_HELPER_PORT="+strconv.Itoa(c.Port))
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = helper.Process.Kill(); _ = helper.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("helper: %q", line)
	}
	pidFile, err := os.ReadFile(filepath.Join(c.Dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(pidfd)

	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// A pidfd becomes readable when its process exits.
	deadline := time.Now().Add(stopTimeout + 5*time.Second)
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		// A negative timeout would wait forever, hence max.
		n, err := unix.Poll(fds, max(0, int(time.Until(deadline).Milliseconds())))
		if err == unix.EINTR {
			// Go's runtime signals (preemption, SIGCHLD) interrupt poll.
			continue
		}
		if err != nil || n != 1 {
			t.Fatalf("postgres (pid %d) still running after its parent was killed (poll: %d, %v)", pid, n, err)
		}
		return
	}
}

func TestInitExplainsUnreachableDirectoryWhenRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user")
	}
	c := newTestCluster(t)
	private := filepath.Join(filepath.Dir(c.Dir), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	c.Dir = filepath.Join(private, "data")
	err := c.Init(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot enter "+private) {
		t.Fatalf("Init = %v; want an error naming %s", err, private)
	}
}

// newTestCluster returns a cluster in a fresh directory that the postgres
// user can reach, on a free port.
func newTestCluster(t *testing.T) *Cluster {
	t.Helper()
	binDir, err := FindBinaries(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// t.TempDir makes 0700 directories, which the postgres user cannot
	// enter when we are root.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &Cluster{BinDir: binDir, Dir: filepath.Join(dir, "data"), Port: freePort(t), Fast: true}
}

func startCluster(t *testing.T, c *Cluster) {
	t.Helper()
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestStatementStats: the cluster loads pg_stat_statements at start and
// EnableStatementStats makes its view readable, so that the statements of a
// run can be counted (issue 12).
func TestStatementStats(t *testing.T) {
	ctx := context.Background()
	c := newTestCluster(t)
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	startCluster(t, c)
	if !c.hasStatStatements() {
		t.Fatalf("pg_stat_statements.so not found beside %s: the Debian server package ships it", c.BinDir)
	}
	if err := c.CreateDatabase(ctx, "stats"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // Idempotent.
		if err := c.EnableStatementStats(ctx, "stats"); err != nil {
			t.Fatal(err)
		}
	}
	conn := connect(t, c.URL("stats"))
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := conn.Exec(ctx, "SELECT 1 AS statement_stats_probe"); err != nil {
			t.Fatal(err)
		}
	}
	var calls int64
	if err := conn.QueryRow(ctx, "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%statement_stats_probe%' AND query NOT LIKE '%pg_stat_statements%'").Scan(&calls); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Fatalf("pg_stat_statements counted %d calls of the probe; want 3", calls)
	}
}
