// Command tillpoint-dev runs the whole Tillpoint stack on one machine for
// development (`make run`): a project-managed PostgreSQL cluster and an
// in-process NATS JetStream server when no DATABASE_URL / NATS_URL is given,
// the migrations, a demo organization, site and test key, and the three
// services on their own hostnames (api.localhost, secure.localhost,
// webhook.localhost). Ctrl-C or SIGTERM stops everything, PostgreSQL included.
// `listen` and `trigger`, run beside it, print the stack's webhooks and pay a
// test session from a terminal, like `stripe listen` and `stripe trigger`.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	// If whoever started us dies without stopping us (make killed hard), stop too.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tillpoint-dev:", err)
		os.Exit(1)
	}
}

// usage is what `tillpoint-dev help` prints; each command's --help lists its flags.
const usage = `usage:
  tillpoint-dev run     [--bin DIR] [--dir DIR] [--port-base N]
  tillpoint-dev listen  [--dir DIR] [--events TYPE,TYPE] [--forward-to URL] [--json]
  tillpoint-dev trigger [--dir DIR] [--card NUMBER] [--method card|bank_transfer] [--amount N] [--currency EUR]
  tillpoint-dev help
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "run":
	case "listen":
		return runListen(ctx, args[1:], stdout, stderr)
	case "trigger":
		return runTrigger(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		if cmd == "" {
			return fmt.Errorf("no command given")
		}
		return fmt.Errorf("unknown command %q", cmd)
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := stackOptions{}
	fs.StringVar(&opts.BinDir, "bin", "bin", "directory with the admin-api, checkout-runtime and hooks binaries")
	fs.StringVar(&opts.Dir, "dir", envOr("TILLPOINT_DEV_DIR", ".dev"), "dev directory: database, NATS store, secrets, stack.json ($TILLPOINT_DEV_DIR)")
	fs.IntVar(&opts.PortBase, "port-base", envInt("TILLPOINT_DEV_PORT_BASE", defaultPortBase), "first of the ports the stack listens on ($TILLPOINT_DEV_PORT_BASE)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	opts.DatabaseURL = os.Getenv("DATABASE_URL")
	opts.NATSURL = os.Getenv("NATS_URL")
	var err error
	if opts.Dir, err = filepath.Abs(opts.Dir); err != nil {
		return err
	}
	if opts.BinDir, err = filepath.Abs(opts.BinDir); err != nil {
		return err
	}
	return runStack(ctx, opts, stdout, stderr)
}
