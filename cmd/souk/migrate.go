package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

func init() {
	commands["migrate"] = command{
		summary: "apply the database migrations not yet applied and print the schema version",
		run:     runMigrate,
	}
}

const migrateSynopsis = `[--database DSN]

Applies the embedded schema migrations that the database has not had yet,
each in its own transaction, and prints how many it applied and the schema
version. Running it again is harmless: it says the schema is up to date.

DSN is a postgres:// (or postgresql://) URL for PostgreSQL, or otherwise the
path of an SQLite file, whose directory is created if needed.`

// migrateConnectTimeout bounds connecting to the database, so that an
// unreachable server fails the command instead of hanging it; applying
// the migrations themselves is not bounded.
const migrateConnectTimeout = 30 * time.Second

// runMigrate is "souk migrate".
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", migrateSynopsis, stderr)
	dsn := databaseFlag(fs)
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "souk migrate: unexpected argument %q\n", rest[0])
		return errUsage
	}
	if strings.TrimSpace(*dsn) == "" {
		fmt.Fprintln(stderr, "souk migrate: --database (or SOUK_DATABASE) must name a database")
		return errUsage
	}
	name := redactDSN(*dsn)

	if path, ok := sqlitePath(*dsn); ok {
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create the directory of %s: %w", path, err)
			}
		}
	}

	openCtx, cancel := context.WithTimeout(ctx, migrateConnectTimeout)
	db, err := store.OpenNoMigrate(openCtx, *dsn, souk.SystemClock{})
	cancel()
	if err != nil {
		return fmt.Errorf("cannot open the database %s: %w", name, err)
	}
	defer db.Close()

	n, err := db.MigrateCount(ctx)
	if err != nil {
		if n > 0 {
			return fmt.Errorf("%s: applied %d migrations, then: %w", name, n, err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	var version int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("%s: read the schema version: %w", name, err)
	}
	if n == 0 {
		fmt.Fprintf(stdout, "schema up to date (version %d)\n", version)
		return nil
	}
	fmt.Fprintf(stdout, "applied %d migrations (schema at version %d)\n", n, version)
	return nil
}

// isPostgresDSN reports whether dsn selects PostgreSQL, the way store.Open
// decides.
func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// sqlitePath returns the file an SQLite DSN names (store.Open drops an
// optional "sqlite:" prefix), and false for PostgreSQL.
func sqlitePath(dsn string) (string, bool) {
	if isPostgresDSN(dsn) {
		return "", false
	}
	return strings.TrimPrefix(dsn, "sqlite:"), true
}

// redactDSN is dsn fit for a message: a PostgreSQL URL without its
// password.
func redactDSN(dsn string) string {
	if !isPostgresDSN(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(an unparsable PostgreSQL URL)"
	}
	return u.Redacted()
}
