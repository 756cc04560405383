package sqlitestore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/souk-market/souk/sellerkit"
	"github.com/souk-market/souk/sellerkit/sqlitestore"
)

var _ sellerkit.Store = (*sqlitestore.Store)(nil)

func open(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustGet(t *testing.T, s sellerkit.Store, key string) ([]byte, bool) {
	t.Helper()
	v, ok, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, ok
}

func mustPut(t *testing.T, s sellerkit.Store, key string, value []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, value); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func TestGetMissing(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	v, ok := mustGet(t, s, "nothing/here")
	if ok || v != nil {
		t.Fatalf("Get of a missing key = %q, %v; want nil, false", v, ok)
	}
}

func TestPutGet(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	values := map[string][]byte{
		"newInstance/o1/ol1": []byte(`{"ID":"i-1"}`),
		"binary":             {0, 1, 2, 0xff, 0},
		"unicode/键":          []byte("值"),
		"":                   []byte("empty key"),
	}
	for k, v := range values {
		mustPut(t, s, k, v)
	}
	for k, want := range values {
		got, ok := mustGet(t, s, k)
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("Get(%q) = %q, %v; want %q, true", k, got, ok, want)
		}
	}
}

// An empty value, nil included, is a value: Get reports it present.
func TestPutEmpty(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	mustPut(t, s, "nil", nil)
	mustPut(t, s, "empty", []byte{})
	for _, k := range []string{"nil", "empty"} {
		if v, ok := mustGet(t, s, k); !ok || len(v) != 0 {
			t.Errorf("Get(%q) = %q, %v; want empty, true", k, v, ok)
		}
	}
}

func TestOverwrite(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	mustPut(t, s, "k", []byte("first"))
	mustPut(t, s, "k", []byte("second, longer"))
	mustPut(t, s, "k", []byte("3"))
	if v, ok := mustGet(t, s, "k"); !ok || string(v) != "3" {
		t.Fatalf("Get after overwrites = %q, %v; want \"3\", true", v, ok)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM sellerkit_idempotency`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d rows after overwriting one key, want 1", n)
	}
}

func TestConcurrent(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"))
	ctx := context.Background()
	const workers, ops = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*ops*2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ops {
				own := fmt.Sprintf("w%d/k%d", w, i)
				if err := s.Put(ctx, own, []byte(own)); err != nil {
					errs <- err
					continue
				}
				if v, ok, err := s.Get(ctx, own); err != nil || !ok || string(v) != own {
					errs <- fmt.Errorf("Get(%q) = %q, %v, %v", own, v, ok, err)
				}
				// Everyone also writes and reads one shared key.
				if err := s.Put(ctx, "shared", []byte(own)); err != nil {
					errs <- err
				}
				if _, ok, err := s.Get(ctx, "shared"); err != nil || !ok {
					errs <- fmt.Errorf("Get(shared) = %v, %v", ok, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM sellerkit_idempotency`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != workers*ops+1 {
		t.Fatalf("%d rows, want %d", n, workers*ops+1)
	}
}

func TestReopenPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k", []byte("kept"))
	mustPut(t, s, "k2", []byte("also kept"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	if v, ok := mustGet(t, s, "k"); !ok || string(v) != "kept" {
		t.Fatalf("after reopening, Get = %q, %v; want \"kept\", true", v, ok)
	}
	if v, ok := mustGet(t, s, "k2"); !ok || string(v) != "also kept" {
		t.Fatalf("after reopening, Get = %q, %v; want \"also kept\", true", v, ok)
	}
}

// The path is used as an SQLite URI internally; characters with a meaning
// in URIs must still name the file given, not a prefix of it.
func TestOpenPathWithURICharacters(t *testing.T) {
	for _, name := range []string{"a#b", "100%x", "100%25", "q?x=1", "with space", "semi;colon&amp"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "s.db")
			s, err := sqlitestore.Open(path)
			if err != nil {
				t.Fatalf("Open(%q): %v", path, err)
			}
			mustPut(t, s, "k", []byte("v"))
			s.Close()
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the database is not at %q: %v", path, err)
			}
			s = open(t, path)
			if v, ok := mustGet(t, s, "k"); !ok || string(v) != "v" {
				t.Fatalf("after reopening, Get = %q, %v", v, ok)
			}
		})
	}
}

// The seller's own tables may share the database (DB), and New on an
// existing table keeps its rows.
func TestNewSharesDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := sqlitestore.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE instances (id TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k", []byte("v"))
	s2, err := sqlitestore.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := mustGet(t, s2, "k"); !ok || string(v) != "v" {
		t.Fatalf("Get through a second New = %q, %v", v, ok)
	}
	if s2.DB() != db {
		t.Fatal("DB() is not the database given to New")
	}
}
