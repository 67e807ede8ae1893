// Package migrations holds the runtime schema's migrations, embedded in the binary
// and applied by `checkout-runtime migrate` (and by the dev stack and the tests).
package migrations

import (
	"embed"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
)

//go:embed *.sql
var files embed.FS

// Set is the runtime schema and its migrations.
var Set = pgkit.MigrationSet{Schema: "runtime", FS: files}
