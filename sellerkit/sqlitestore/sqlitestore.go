// Package sqlitestore is a sellerkit.Store in an SQLite file, through the
// pure-Go driver modernc.org/sqlite (no cgo). It lives apart from sellerkit
// so that the SDK itself needs nothing beyond the standard library.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a sellerkit.Store in the table sellerkit_idempotency of an SQLite
// database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
}

// Open opens (creating if needed) the SQLite file at path in WAL mode with a
// busy timeout, and returns a Store in it. DB gives the same database to the
// seller for its own tables.
func Open(path string) (*Store, error) {
	db, err := OpenDB(path)
	if err != nil {
		return nil, err
	}
	s, err := New(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// OpenDB opens the SQLite file at path the way Open does: WAL journal,
// 5 s busy timeout, foreign keys on, and one connection, so writers never
// contend for the file's lock inside the process.
func OpenDB(path string) (*sql.DB, error) {
	// The name is an SQLite URI: escape the characters that would end the
	// path or be decoded in it, so "a#b/x.db" is not opened as "a".
	dsn := "file:" + uriPathEscaper.Replace(path) + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

var uriPathEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// New returns a Store in db, creating its table if needed.
func New(db *sql.DB) (*Store, error) {
	_, err := db.Exec(`CREATE TABLE IF NOT EXISTS sellerkit_idempotency (
		key        TEXT PRIMARY KEY,
		value      BLOB NOT NULL,
		updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
	)`)
	if err != nil {
		return nil, fmt.Errorf("create sellerkit_idempotency: %w", err)
	}
	return &Store{db: db}, nil
}

// DB returns the database the Store keeps its table in.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Get implements sellerkit.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM sellerkit_idempotency WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("get %q: %w", key, err)
	}
	return v, true, nil
}

// Put implements sellerkit.Store.
func (s *Store) Put(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{} // the column is NOT NULL; nil is the empty value
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO sellerkit_idempotency (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value,
		updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`, key, value)
	if err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}
