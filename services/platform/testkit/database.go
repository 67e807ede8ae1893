package testkit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
)

// databaseTimeout bounds creating a template (migrations included), cloning
// it, and dropping a test's database.
const databaseTimeout = 2 * time.Minute

// template is a database with one list of migration sets applied, made once
// per process and cloned for each test that wants that list.
type template struct {
	once sync.Once
	name string
	err  error
}

// NewDatabase returns a pool on a new, empty-but-migrated database of its
// own: a clone of a template database that has exactly sets applied, in that
// order. The pool is closed and the database dropped when t ends.
func NewDatabase(t testing.TB, sets ...pgkit.MigrationSet) *pgxpool.Pool {
	t.Helper()
	dbURL := DatabaseURL(t, sets...)
	ctx, cancel := context.WithTimeout(context.Background(), databaseTimeout)
	defer cancel()
	pool, err := pgkit.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(pool.Close) // Runs before the drop, which was registered first.
	return pool
}

// DatabaseURL is NewDatabase for tests that connect by themselves, such as
// ones that start a service binary: it returns the new database's superuser
// URL. The database is dropped when t ends, disconnecting any session still
// on it.
func DatabaseURL(t testing.TB, sets ...pgkit.MigrationSet) string {
	t.Helper()
	admin, serverURL, err := pgServer()
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	tpl, err := templateFor(admin, serverURL, sets)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), databaseTimeout)
	defer cancel()
	// A random name, not the test's: test binaries of several packages may
	// share one server, and a test may ask for several databases.
	name := "tillpoint_test_" + randomHex(8)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+
		" TEMPLATE "+pgx.Identifier{tpl}.Sanitize()); err != nil {
		t.Fatalf("testkit: clone template %s: %v", tpl, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), databaseTimeout)
		defer cancel()
		if err := dropDatabase(ctx, admin, name); err != nil {
			t.Errorf("testkit: %v", err)
		}
	})
	return databaseURL(serverURL, name)
}

// templateFor returns the template database for sets, creating it on first
// use. Concurrent callers wanting the same sets wait for one creation.
func templateFor(admin *pgxpool.Pool, serverURL string, sets []pgkit.MigrationSet) (string, error) {
	key, err := setsKey(sets)
	if err != nil {
		return "", err
	}
	state.mu.Lock()
	tpl := state.templates[key]
	if tpl == nil {
		tpl = &template{}
		state.templates[key] = tpl
	}
	state.mu.Unlock()
	tpl.once.Do(func() { tpl.name, tpl.err = createTemplate(admin, serverURL, key, sets) })
	return tpl.name, tpl.err
}

func createTemplate(admin *pgxpool.Pool, serverURL, key string, sets []pgkit.MigrationSet) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), databaseTimeout)
	defer cancel()
	// The key shows which sets a template holds; the random part keeps test
	// binaries sharing a server from using (and dropping) each other's.
	name := "tillpoint_tpl_" + key[:12] + "_" + randomHex(4)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create template database: %w", err)
	}
	state.mu.Lock()
	state.templateNames = append(state.templateNames, name) // Main drops it, whatever happens next.
	state.mu.Unlock()

	pool, err := pgkit.Connect(ctx, databaseURL(serverURL, name))
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	err = pgkit.Migrate(ctx, pool, sets...)
	// Cloning fails while any session is connected to the template.
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	// And no stray session (a psql while debugging) may come in later.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return name, nil
}

// setsKey identifies a list of migration sets by content: schema names, file
// names and SQL, in order. (An fs.FS may not be comparable, and two FSes with
// the same files may as well share a template.)
func setsKey(sets []pgkit.MigrationSet) (string, error) {
	h := sha256.New()
	for _, set := range sets {
		fmt.Fprintf(h, "schema %q\n", set.Schema)
		if set.FS == nil {
			continue // pgkit.Migrate reports it.
		}
		entries, err := fs.ReadDir(set.FS, ".")
		if err != nil {
			return "", fmt.Errorf("migrations of schema %s: %w", set.Schema, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, err := fs.ReadFile(set.FS, e.Name())
			if err != nil {
				return "", fmt.Errorf("migrations of schema %s: %w", set.Schema, err)
			}
			fmt.Fprintf(h, "file %q %d\n", e.Name(), len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // Never fails: crypto/rand crashes the program rather than return an error.
	return hex.EncodeToString(b)
}
