package pgkit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

// MigrationSet is a schema and the migrations that build it.
type MigrationSet struct {
	// Schema is the PostgreSQL schema the migrations build. Migrate creates
	// it and keeps the set's version in Schema.schema_version. It must be a
	// plain lower-case identifier, e.g. "admin".
	Schema string
	// FS holds the migrations at its root as NNNN_name.sql files, numbered
	// from 1 without gaps. Each is applied once, in order, in its own
	// transaction (unless it contains tern's "---- tern: disable-tx ----"
	// line). Migrations only go up: there are no down sections.
	FS fs.FS
}

// migrationLockKey is the session advisory lock Migrate holds, so that
// replicas starting together apply migrations one at a time. Its value is
// arbitrary but fixed: every version of every service must use the same one.
const migrationLockKey int64 = 0x7469_6c6c_6d69_6772 // "tillmigr"

// unlockTimeout bounds releasing the lock after ctx has ended; if the release
// fails the connection is closed instead, which releases it too.
const unlockTimeout = 5 * time.Second

// schemaName is what Migrate accepts as a schema: an identifier that needs no
// quoting, because tern splices the version table's name into its SQL.
var schemaName = regexp.MustCompile(`\A[a-z_][a-z0-9_]{0,62}\z`)

type migration struct{ name, sql string }

// Migrate brings each set's schema up to its latest migration, in the order
// given. It holds a session advisory lock throughout, so concurrent callers
// on the same database (several replicas starting at once) take turns, and
// the later ones find nothing left to do. Sets already up to date are left
// alone; a database migrated further than a set knows is an error.
func Migrate(ctx context.Context, pool *pgxpool.Pool, sets ...MigrationSet) (err error) {
	loaded := make([][]migration, len(sets))
	seen := make(map[string]bool)
	for i, set := range sets {
		if !schemaName.MatchString(set.Schema) {
			return fmt.Errorf("pgkit: migrate: invalid schema name %q", set.Schema)
		}
		if seen[set.Schema] {
			return fmt.Errorf("pgkit: migrate: schema %q given twice", set.Schema)
		}
		seen[set.Schema] = true
		if loaded[i], err = loadMigrations(set.FS); err != nil {
			return fmt.Errorf("pgkit: migrate schema %s: %w", set.Schema, err)
		}
	}

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgkit: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return fmt.Errorf("pgkit: migrate: take the migration lock: %w", err)
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		if _, uerr := conn.Exec(unlockCtx, "SELECT pg_advisory_unlock($1)", migrationLockKey); uerr != nil {
			// Closing the session releases its locks; the pool then drops it.
			_ = conn.Conn().Close(unlockCtx)
		}
	}()

	for i, set := range sets {
		if err := migrateSchema(ctx, conn, set.Schema, loaded[i]); err != nil {
			return fmt.Errorf("pgkit: migrate schema %s: %w", set.Schema, err)
		}
	}
	return nil
}

func migrateSchema(ctx context.Context, conn *pgxpool.Conn, schema string, migrations []migration) error {
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
		return err
	}
	m, err := migrate.NewMigrator(ctx, conn.Conn(), schema+".schema_version")
	if err != nil {
		return err
	}
	for _, mg := range migrations {
		m.AppendMigration(mg.name, mg.sql, "")
	}
	return m.Migrate(ctx)
}

// loadMigrations reads the NNNN_name.sql files at the root of fsys in order.
// Unlike tern's LoadMigrations it takes the SQL verbatim: no text/template
// expansion of "{{", no down sections.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	if fsys == nil {
		return nil, errors.New("no migrations FS")
	}
	names, err := migrate.FindMigrations(fsys)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("no NNNN_name.sql migrations at the root of its FS")
	}
	migrations := make([]migration, len(names))
	for i, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		migrations[i] = migration{name: name, sql: string(b)}
	}
	return migrations, nil
}
