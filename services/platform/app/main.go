package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
)

// Command is a service's command line: `serve` (the default), `migrate`,
// `help`, and any extra subcommands.
type Command struct {
	Name string
	// Usage is printed by help, e.g. "admin-api [serve | migrate | …]".
	Usage string
	// Serve loads the configuration and runs the service.
	Serve func(ctx context.Context) error
	// Migrations are applied by `migrate` (with DATABASE_URL alone).
	Migrations pgkit.MigrationSet
	// Extra runs other subcommands; nil means there are none.
	Extra map[string]func(ctx context.Context, args []string, stdout io.Writer) error
}

// Main runs the command with the process's arguments, cancelling its context
// on SIGTERM or Ctrl-C, and exits non-zero with the error on failure.
// gcPercent and memoryLimit are the services' GOGC and GOMEMLIMIT unless
// the environment sets them.
const (
	gcPercent   = 200
	memoryLimit = 32 << 20
)

func Main(c Command) {
	// The services keep a few MB live and allocate fast: collecting at three
	// times the live heap rather than twice cuts GC work by about half, and
	// a soft limit makes the collector work harder as memory nears the
	// budget of a small machine: 32 MiB, three times admin-api's live heap
	// (about 10 MB), which keeps each service's peak RSS, about 29 MB of it
	// its own binary's pages, within 64 MB under load (make bench; at 40 MiB
	// admin-api peaked at 68–70 MB, for 3–5 % more creates at peak).
	// GOGC and GOMEMLIMIT override both.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := c.Run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, c.Name+":", err)
		os.Exit(1)
	}
}

// Run dispatches one command line.
func (c Command) Run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return c.Serve(ctx)
	case "migrate":
		return Migrate(ctx, c.Migrations)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage:", c.Usage)
		return nil
	}
	if extra, ok := c.Extra[cmd]; ok {
		return extra(ctx, args, stdout)
	}
	return fmt.Errorf("unknown command %q (try: %s help)", cmd, c.Name)
}

// Migrate applies migrations to the database at DATABASE_URL.
func Migrate(ctx context.Context, sets ...pgkit.MigrationSet) error {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return errors.New("DATABASE_URL is required")
	}
	pool, err := pgkit.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return pgkit.Migrate(ctx, pool, sets...)
}
