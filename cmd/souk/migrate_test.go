package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// runMigrateCmd runs souk migrate in process with args.
func runMigrateCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = realMain(ctx, append([]string{"migrate"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// wantMigrations returns how many embedded migrations there are and the
// highest version among them.
func wantMigrations(t *testing.T) (n, version int) {
	t.Helper()
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	return len(ms), ms[len(ms)-1].Version
}

// testMigrateTwice runs souk migrate on dsn twice: the first run applies
// every migration, the second finds nothing to do. Then it checks the
// database's schema_migrations itself.
func testMigrateTwice(t *testing.T, dsn string, args ...string) {
	t.Helper()
	n, version := wantMigrations(t)

	code, stdout, stderr := runMigrateCmd(t, args...)
	if code != 0 {
		t.Fatalf("first souk migrate: exit %d, stderr:\n%s", code, stderr)
	}
	if want := fmt.Sprintf("applied %d migrations (schema at version %d)\n", n, version); stdout != want {
		t.Errorf("first souk migrate printed %q, want %q", stdout, want)
	}

	code, stdout, stderr = runMigrateCmd(t, args...)
	if code != 0 {
		t.Fatalf("second souk migrate: exit %d, stderr:\n%s", code, stderr)
	}
	if want := fmt.Sprintf("schema up to date (version %d)\n", version); stdout != want {
		t.Errorf("second souk migrate printed %q, want %q", stdout, want)
	}
	if stderr != "" {
		t.Errorf("souk migrate wrote to stderr:\n%s", stderr)
	}

	// The migrations are really recorded, each once.
	ctx := context.Background()
	db, err := store.OpenNoMigrate(ctx, dsn, souk.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var count, max int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*), MAX(version) FROM schema_migrations`).Scan(&count, &max); err != nil {
		t.Fatal(err)
	}
	if count != n || max != version {
		t.Errorf("schema_migrations holds %d rows up to version %d, want %d up to %d", count, max, n, version)
	}
	// And a migrated database needs nothing more from Open's own Migrate.
	if applied, err := db.MigrateCount(ctx); err != nil || applied != 0 {
		t.Errorf("MigrateCount after souk migrate = %d, %v; want 0, nil", applied, err)
	}
}

func TestMigrateSQLite(t *testing.T) {
	// The file's directory does not exist yet: souk migrate creates it.
	dsn := filepath.Join(t.TempDir(), "new", "dir", "souk.db")
	testMigrateTwice(t, dsn, "--database", dsn)
	if _, err := os.Stat(dsn); err != nil {
		t.Errorf("no SQLite file after souk migrate: %v", err)
	}
}

func TestMigrateSQLitePrefix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "souk.db")
	testMigrateTwice(t, path, "--database", "sqlite:"+path)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("no SQLite file at %s after souk migrate --database sqlite:%s: %v", path, path, err)
	}
}

func TestMigrateDatabaseFromEnvironment(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "env", "souk.db")
	t.Setenv("SOUK_DATABASE", dsn)
	testMigrateTwice(t, dsn)
}

func TestMigrateDefaultDatabase(t *testing.T) {
	t.Setenv("SOUK_DATABASE", "") // restored after the test
	os.Unsetenv("SOUK_DATABASE")
	dir := t.TempDir()
	t.Chdir(dir)
	testMigrateTwice(t, filepath.Join(dir, "souk-data", "souk.db"))
}

func TestMigratePostgres(t *testing.T) {
	dsn := storetest.PostgresURL(t)
	testMigrateTwice(t, dsn, "--database", dsn)
}

func TestMigrateBadDatabase(t *testing.T) {
	// Nothing listens on port 1: the connection is refused at once.
	start := time.Now()
	code, stdout, stderr := runMigrateCmd(t, "--database", "postgres://nobody:s3cret@127.0.0.1:1/x")
	if code == 0 {
		t.Fatalf("souk migrate on an unreachable database exited 0; stdout:\n%s", stdout)
	}
	if stdout != "" {
		t.Errorf("souk migrate printed %q on failure, want nothing on stdout", stdout)
	}
	for _, want := range []string{"souk migrate: cannot open the database postgres://nobody:xxxxx@127.0.0.1:1/x", "connect to postgres database"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "s3cret") {
		t.Errorf("stderr shows the password:\n%s", stderr)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("souk migrate took %v to give up", d)
	}

	code, _, stderr = runMigrateCmd(t, "--database", "postgres://nobody@127.0.0.1:1/x")
	if code == 0 || !strings.Contains(stderr, "cannot open the database postgres://nobody@127.0.0.1:1/x") {
		t.Errorf("without a password: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestMigrateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"extra"},
		{"--database", ""},
		{"--no-such-flag"},
	} {
		code, stdout, stderr := runMigrateCmd(t, args...)
		if code != 2 {
			t.Errorf("souk migrate %q: exit %d, want 2 (usage); stdout %q, stderr:\n%s", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := runMigrateCmd(t, "-h"); code != 0 || !strings.Contains(stderr, "Usage: souk migrate") {
		t.Errorf("souk migrate -h: exit %d, stderr:\n%s", code, stderr)
	}
}
