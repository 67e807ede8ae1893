// Package migrations holds the hooks schema's migrations, embedded in the binary
// and applied by `hooks migrate` (and by the dev stack and the tests).
package migrations

import (
	"embed"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
)

//go:embed *.sql
var files embed.FS

// Set is the hooks schema and its migrations.
var Set = pgkit.MigrationSet{Schema: "hooks", FS: files}
