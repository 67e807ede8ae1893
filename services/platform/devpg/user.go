package devpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverUser is the unprivileged account initdb and postgres run as when we
// are root (they refuse to run as root); Debian's postgresql package creates
// it, and so do we when it is missing.
const serverUser = "postgres"

// serverCredential returns the credential to run initdb and postgres with:
// nil when we are not root (they run as us), else the postgres system user's,
// creating that user if needed.
func serverCredential(ctx context.Context) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	if errors.As(err, new(user.UnknownUserError)) {
		cmd := exec.CommandContext(ctx, "useradd", "--system", "--home-dir", "/var/lib/postgresql",
			"--shell", "/bin/false", serverUser)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("create the %s system user to run PostgreSQL as (we are root): %w\n%s", serverUser, err, out.Bytes())
		}
		u, err = user.Lookup(serverUser)
	}
	if err != nil {
		return nil, fmt.Errorf("look up the %s user to run PostgreSQL as (we are root): %w", serverUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("uid of %s: %w", serverUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid of %s: %w", serverUser, err)
	}
	// Empty Groups drops root's supplementary groups in the child.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// checkReachable fails, naming the culprit, when a directory above dir cannot
// be traversed by the server's user; initdb would otherwise fail with a bare
// "Permission denied". It changes no modes: the directories may be a user's
// own (/root is 0700) and are not ours to open up.
func checkReachable(dir string, cred *syscall.Credential) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("check access to %s: %w", dir, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		mode := fi.Mode().Perm()
		var canEnter bool
		switch {
		case st.Uid == cred.Uid:
			canEnter = mode&0o100 != 0
		case st.Gid == cred.Gid:
			canEnter = mode&0o010 != 0
		default:
			canEnter = mode&0o001 != 0
		}
		if !canEnter {
			return fmt.Errorf("the %s user, which runs PostgreSQL because we are root, cannot enter %s (mode %v): "+
				"put the data directory elsewhere or run chmod o+x %s", serverUser, p, mode, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
