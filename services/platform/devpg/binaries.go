package devpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// debianBinGlob is where Debian and Ubuntu install each major version's
// server binaries; they are not on PATH there.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// ErrNoBinaries is returned (wrapped) by FindBinaries when no PostgreSQL
// server is installed and it may not install one.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

// FindBinaries returns the directory holding the PostgreSQL server binaries
// (initdb and postgres). It looks, in order, at `pg_config --bindir`, at the
// directory of an initdb on PATH, and at the newest /usr/lib/postgresql/*/bin.
// When none has them and we run as root, it installs Debian's postgresql
// package with apt-get and looks again; otherwise the error says what to
// install. A nil logger discards the progress messages.
func FindBinaries(ctx context.Context, logger *slog.Logger) (string, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dir, ok := findBinDir(ctx, debianBinGlob); ok {
		return dir, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w in PATH or %s: install the PostgreSQL server "+
			"(Debian/Ubuntu: sudo apt-get install postgresql), or point DATABASE_URL "+
			"(TILLPOINT_TEST_DATABASE_URL for tests) at an existing server", ErrNoBinaries, debianBinGlob)
	}
	logger.Info("PostgreSQL server not found; installing Debian's postgresql package with apt-get")
	if err := aptInstallPostgres(ctx); err != nil {
		return "", err
	}
	if dir, ok := findBinDir(ctx, debianBinGlob); ok {
		return dir, nil
	}
	return "", fmt.Errorf("%w, even after installing the postgresql package", ErrNoBinaries)
}

// findBinDir looks on PATH, then in the directories matching glob, newest
// major version first.
func findBinDir(ctx context.Context, glob string) (string, bool) {
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasServerBinaries(dir) {
			return dir, true
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		// Follow links such as /usr/local/bin/initdb → /usr/lib/postgresql/15/bin/initdb
		// so that initdb and postgres come from the same installation.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if dir := filepath.Dir(p); hasServerBinaries(dir) {
			return dir, true
		}
	}
	dirs, _ := filepath.Glob(glob) // The only possible error is a bad pattern.
	// Newest first, compared numerically: 16 is newer than 9.6.
	slices.SortFunc(dirs, func(a, b string) int { return slices.Compare(versionOf(b), versionOf(a)) })
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, true
		}
	}
	return "", false
}

// versionOf returns the numeric parts of the version directory above bin,
// e.g. [9 6] for /usr/lib/postgresql/9.6/bin.
func versionOf(binDir string) []int {
	var v []int
	for part := range strings.SplitSeq(filepath.Base(filepath.Dir(binDir)), ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			break
		}
		v = append(v, n)
	}
	return v
}

func hasServerBinaries(dir string) bool {
	if dir == "" {
		return false
	}
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

func aptInstallPostgres(ctx context.Context) error {
	for _, args := range [][]string{
		{"update"},
		{"install", "-y", "--no-install-recommends", "postgresql"},
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, tail(out.Bytes(), tailLines))
		}
	}
	return nil
}
