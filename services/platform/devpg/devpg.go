// Package devpg runs a project-owned PostgreSQL cluster as a child process,
// for the dev stack (`make run`) and for tests: it finds (or installs) the
// server binaries, creates the data directory with initdb, starts postgres
// on a loopback port of our choosing — never the system server's 5432 — and
// stops it again.
//
// initdb and postgres refuse to run as root. When we are root they run as the
// unprivileged postgres system user, which then owns the data directory.
package devpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// superuser is the role initdb creates; with trust authentication on a
	// loopback-only server it needs no password.
	superuser = "postgres"
	// maxConnections leaves room for several services' pools plus parallel
	// tests, each with its own pool, on one server (PostgreSQL's default is 100).
	maxConnections = 200
	// logFileName is the server's log, inside the data directory, truncated
	// at each Start.
	logFileName = "server.log"
	// tailLines is how much of a log goes into an error: enough for the
	// FATAL line and its context.
	tailLines = 20
	// startTimeout bounds start-up; crash recovery of a dev database after a
	// hard kill can take a few seconds, never a minute.
	startTimeout = 60 * time.Second
	// stopTimeout is how long a fast shutdown may take before we SIGKILL:
	// it only has to disconnect clients and write a checkpoint.
	stopTimeout = 30 * time.Second
	// pollInterval is how often Start tries to connect while the server
	// comes up (usually within a few hundred milliseconds).
	pollInterval = 25 * time.Millisecond
)

// Cluster is a PostgreSQL cluster in Dir served on 127.0.0.1:Port. Set the
// exported fields, then call Init and Start; Stop before exiting. Init, Start
// and Stop must not be called concurrently; URL and CreateDatabase may be.
type Cluster struct {
	// BinDir holds initdb and postgres (see FindBinaries).
	BinDir string
	// Dir is the data directory. Init creates it; its parent directories
	// must be enterable by the postgres user when we are root.
	Dir string
	// Port is the TCP port the server listens on, on 127.0.0.1 only.
	Port int
	// Fast turns off fsync, synchronous commit and full-page writes: much
	// quicker for tests, but a machine crash may lose or corrupt the data.
	Fast bool
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger

	cmd     *exec.Cmd
	exited  chan struct{} // closed once the server process has exited
	waitErr error         // the server's exit status, set before exited is closed
}

// URL returns the superuser connection URL of database dbname on the cluster.
func (c *Cluster) URL(dbname string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, c.Port, url.PathEscape(dbname))
}

// Init creates the cluster with initdb unless Dir already holds one.
func (c *Cluster) Init(ctx context.Context) error {
	dir, err := c.dataDir()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devpg: %w", err)
	}
	cred, err := serverCredential(ctx)
	if err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	// 0755 parents so that the postgres user can reach the data directory
	// when we are root; PostgreSQL itself insists on 0700 for the directory.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("devpg: %w", err)
	}
	if cred != nil {
		if err := checkReachable(dir, cred); err != nil {
			return fmt.Errorf("devpg: %w", err)
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("devpg: %w", err)
		}
	}
	c.logger().Info("creating PostgreSQL cluster", "dir", dir)
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "initdb"), "-D", dir,
		"--auth=trust", "-U", superuser, "--encoding=UTF8", "--locale=C")
	cmd.Dir = "/" // The postgres user may not be able to enter our working directory.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("devpg: initdb %s: %w; its output ends:\n%s", dir, err, tail(out.Bytes(), tailLines))
	}
	return nil
}

// Start runs the postgres server as a child process and returns once it
// accepts connections. If it does not come up (the port is taken, the data
// directory is damaged, …) the error quotes the end of the server log.
//
// The child is put in its own process group, so a Ctrl-C in the terminal
// reaches only us and the server is not told twice to stop, and the kernel
// sends it SIGINT (fast shutdown) should we die without calling Stop.
func (c *Cluster) Start(ctx context.Context) error {
	if c.cmd != nil {
		return errors.New("devpg: cluster already started")
	}
	dir, err := c.dataDir()
	if err != nil {
		return err
	}
	cred, err := serverCredential(ctx)
	if err != nil {
		return fmt.Errorf("devpg: %w", err)
	}
	logPath := filepath.Join(dir, logFileName)
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("devpg: server log: %w", err)
	}
	args := []string{"-D", dir, "-p", strconv.Itoa(c.Port),
		"-c", "listen_addresses=127.0.0.1",
		// No Unix socket: nothing of ours uses one, and socket paths are
		// limited to ~100 bytes, which deep data directories exceed.
		"-c", "unix_socket_directories=",
		"-c", "max_connections=" + strconv.Itoa(maxConnections),
	}
	if c.hasStatStatements() {
		// Loaded at start so that an operator or the bench can read per-statement
		// calls and times (CREATE EXTENSION pg_stat_statements, see
		// EnableStatementStats); its cost is a hash update per statement.
		args = append(args, "-c", "shared_preload_libraries=pg_stat_statements",
			"-c", "pg_stat_statements.track=all")
	} else {
		c.logger().Info("pg_stat_statements not installed with the server; statement statistics unavailable")
	}
	if c.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(c.BinDir, "postgres"), args...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGINT}

	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// Pdeathsig fires when the thread that started the child exits, not
		// the process, and Go may retire idle threads: keep this goroutine
		// on its thread for as long as the server runs.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer logFile.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.waitErr = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("devpg: start postgres: %w", err)
	}
	c.cmd, c.exited = cmd, exited
	c.logger().Info("starting PostgreSQL", "dir", dir, "port", c.Port, "pid", cmd.Process.Pid)

	err = c.waitReady(ctx, dir)
	if err != nil {
		c.kill()
		c.cmd = nil
		return fmt.Errorf("devpg: PostgreSQL on 127.0.0.1:%d did not start: %w; %s ends:\n%s",
			c.Port, err, logPath, readTail(logPath))
	}
	return nil
}

// waitReady polls until the server accepts connections, exits, or time runs
// out. It checks the data directory of the server that answers, so that
// another server already on the port is not mistaken for ours.
func (c *Cluster) waitReady(ctx context.Context, dir string) error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		served, err := c.dataDirectoryServed(ctx)
		if err == nil {
			if served != dir {
				return fmt.Errorf("port %d is served by another PostgreSQL (data directory %s)", c.Port, served)
			}
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited (%v)", c.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("not accepting connections after %v (last error: %w)", startTimeout, err)
		case <-tick.C:
		}
	}
}

func (c *Cluster) dataDirectoryServed(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var dir string
	err = conn.QueryRow(ctx, "SELECT current_setting('data_directory')").Scan(&dir)
	return dir, err
}

// Stop asks the server for a fast shutdown (SIGINT: open transactions are
// rolled back, clients disconnected) and waits for it to exit; if it has not
// within 30 s, or ctx ends first, it kills the server's whole process group.
// Stopping a cluster that is not running does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	if c.cmd == nil {
		return nil
	}
	defer func() { c.cmd = nil }()
	_ = c.cmd.Process.Signal(syscall.SIGINT) // Fails only if it has already exited.
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-c.exited:
		if c.waitErr != nil {
			return fmt.Errorf("devpg: postgres exited: %w", c.waitErr)
		}
		return nil
	case <-ctx.Done():
	case <-timer.C:
	}
	c.kill()
	return fmt.Errorf("devpg: postgres did not shut down in time; killed it")
}

// kill SIGKILLs the server's process group (postmaster and backends) and
// waits for the postmaster to be reaped.
func (c *Cluster) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
}

// Crash kills the postmaster alone with SIGKILL, as a crash of the server
// would, and waits until it and its backends (which exit when they notice)
// are gone: until then they hold the shared memory and a start would fail.
// The next Start runs PostgreSQL's crash recovery. For chaos tests; Linux
// only (it reads /proc).
func (c *Cluster) Crash() {
	if c.cmd == nil {
		return
	}
	// Backends start sessions of their own (setsid), so they are found as
	// the postmaster's children rather than by its process group.
	children := childrenOf(c.cmd.Process.Pid)
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
	for deadline := time.Now().Add(stopTimeout); time.Now().Before(deadline); time.Sleep(pollInterval) {
		if !slices.ContainsFunc(children, running) {
			return
		}
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if child, err := strconv.Atoi(e.Name()); err == nil {
			if ppid, _, ok := procStat(child); ok && ppid == pid {
				out = append(out, child)
			}
		}
	}
	return out
}

// running reports whether pid exists and has not exited (a zombie has).
func running(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != "Z"
}

// procStat reads a process's parent and state from /proc/PID/stat
// ("PID (comm) STATE PPID …"; comm may hold spaces and parentheses).
func procStat(pid int) (ppid int, state string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, "", false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0], err == nil
}

// CreateDatabase creates database name unless it exists.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("devpg: create database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("devpg: create database %s: %w", name, err)
	}
	return nil
}

// hasStatStatements reports whether the server installation ships the
// pg_stat_statements module (Debian: part of postgresql-contrib, which the
// server package includes from PostgreSQL 10 on).
func (c *Cluster) hasStatStatements() bool {
	// Debian: /usr/lib/postgresql/N/bin → /usr/lib/postgresql/N/lib.
	for _, dir := range []string{filepath.Join(filepath.Dir(c.BinDir), "lib"), filepath.Join(filepath.Dir(c.BinDir), "lib", "postgresql")} {
		if _, err := os.Stat(filepath.Join(dir, "pg_stat_statements.so")); err == nil {
			return true
		}
	}
	return false
}

// EnableStatementStats creates the pg_stat_statements extension in database
// name, so that its view (and pg_stat_statements_reset) can be queried there.
// It does nothing when the server was started without the module.
func (c *Cluster) EnableStatementStats(ctx context.Context, name string) error {
	if !c.hasStatStatements() {
		return nil
	}
	conn, err := pgx.Connect(ctx, c.URL(name))
	if err != nil {
		return fmt.Errorf("devpg: pg_stat_statements in %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return fmt.Errorf("devpg: pg_stat_statements in %s: %w", name, err)
	}
	return nil
}

func (c *Cluster) dataDir() (string, error) {
	if c.Dir == "" || c.BinDir == "" || c.Port <= 0 {
		return "", errors.New("devpg: Cluster needs BinDir, Dir and Port")
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return "", fmt.Errorf("devpg: %w", err)
	}
	return dir, nil
}

func (c *Cluster) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// readTail returns the last lines of the file at path, or why it cannot.
func readTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return tail(b, tailLines)
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	b = bytes.TrimRight(b, "\n")
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if n--; n == 0 {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}
