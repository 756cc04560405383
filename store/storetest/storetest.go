// Package storetest opens real databases for tests: an SQLite file per test
// always, and a PostgreSQL schema per test when SOUK_TEST_POSTGRES_URL is
// set. With SOUK_TEST_REQUIRE containing "postgres", a missing PostgreSQL
// fails the test instead of skipping it, so CI can never pass by skipping.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// Required reports whether SOUK_TEST_REQUIRE names dep (comma-separated).
func Required(dep string) bool {
	for _, d := range strings.Split(os.Getenv("SOUK_TEST_REQUIRE"), ",") {
		if strings.TrimSpace(d) == dep {
			return true
		}
	}
	return false
}

// Each runs fn as a subtest once per available engine ("sqlite", and
// "postgres" when configured), each with a fresh migrated database.
func Each(t *testing.T, clock souk.Clock, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, OpenSQLite(t, clock)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t, clock)) })
}

// OpenSQLite returns a migrated database in a new SQLite file under
// t.TempDir(), closed when the test ends.
func OpenSQLite(t testing.TB, clock souk.Clock) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "souk.db"), clock)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL returns the URL of a new, empty schema in the test
// PostgreSQL database, dropped when the test ends; it skips (or fails, when
// required) if SOUK_TEST_POSTGRES_URL is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("SOUK_TEST_POSTGRES_URL")
	if base == "" {
		if Required("postgres") {
			t.Fatal("SOUK_TEST_REQUIRE=postgres but SOUK_TEST_POSTGRES_URL is not set")
		}
		t.Skip("SOUK_TEST_POSTGRES_URL not set")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("SOUK_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenPostgres returns a migrated database in a new schema of the test
// PostgreSQL database (see PostgresURL).
func OpenPostgres(t testing.TB, clock souk.Clock) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), PostgresURL(t), clock)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
