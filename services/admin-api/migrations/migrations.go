// Package migrations holds the admin schema's migrations, embedded in the binary
// and applied by `admin-api migrate` (and by the dev stack and the tests).
package migrations

import (
	"embed"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
)

//go:embed *.sql
var files embed.FS

// Set is the admin schema and its migrations.
var Set = pgkit.MigrationSet{Schema: "admin", FS: files}
