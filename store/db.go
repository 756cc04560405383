package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/souk-market/souk"
)

// DB is the marketplace's database.
type DB struct {
	sql    *sql.DB
	engine Engine
	clock  souk.Clock
}

// Open connects to the database named by dsn — a postgres:// or
// postgresql:// URL, or otherwise the path of an SQLite file (an optional
// "sqlite:" prefix is dropped) — and applies the migrations.
func Open(ctx context.Context, dsn string, clock souk.Clock) (*DB, error) {
	db, err := OpenNoMigrate(ctx, dsn, clock)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenNoMigrate is Open without applying the migrations.
func OpenNoMigrate(ctx context.Context, dsn string, clock souk.Clock) (*DB, error) {
	var db *DB
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		s.SetMaxOpenConns(16)
		s.SetMaxIdleConns(16)
		s.SetConnMaxIdleTime(5 * time.Minute)
		db = &DB{sql: s, engine: Postgres, clock: clock}
	} else {
		path := strings.TrimPrefix(dsn, "sqlite:")
		// WAL lets readers proceed during a write; the busy timeout waits
		// out another process's lock rather than failing; immediate
		// transactions take the write lock at BEGIN, so two writers never
		// deadlock upgrading a read lock. One connection: SQLite has one
		// writer anyway, and this process queues for it in Go, not in
		// busy-wait loops.
		s, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		s.SetMaxOpenConns(1)
		db = &DB{sql: s, engine: SQLite, clock: clock}
	}
	if err := db.sql.PingContext(ctx); err != nil {
		db.sql.Close()
		return nil, fmt.Errorf("connect to %s database: %w", db.engine, err)
	}
	return db, nil
}

// Engine says which engine the database runs on.
func (db *DB) Engine() Engine { return db.engine }

// Clock returns the clock transactions take their now from.
func (db *DB) Clock() souk.Clock { return db.clock }

// SQL returns the underlying *sql.DB, for reads outside a transaction.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// Tx is a transaction with the time it runs at.
type Tx struct {
	*sql.Tx
	// Now is the clock's time when the transaction began; everything the
	// transaction stamps uses it.
	Now    time.Time
	Engine Engine

	afterCommit []func()
}

// AfterCommit registers fn to run once the transaction has committed (not
// if it rolls back): the place to wake a worker about rows it just wrote.
func (tx *Tx) AfterCommit(fn func()) { tx.afterCommit = append(tx.afterCommit, fn) }

// Tx runs fn in a transaction and commits it if fn returns nil; otherwise
// (or if fn panics or exits its goroutine) it rolls back. fn's error is
// returned as it is.
func (db *DB) Tx(ctx context.Context, fn func(*Tx) error) (err error) {
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: stx, Now: db.clock.Now(), Engine: db.engine}
	finished := false
	defer func() {
		// fn panicked, or ended its goroutine (runtime.Goexit: t.Fatal in
		// a test): roll back, or the connection — on SQLite the only one —
		// stays taken and everything after waits for it forever.
		if !finished {
			stx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		finished = true
		stx.Rollback()
		return err
	}
	finished = true
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, fn := range tx.afterCommit {
		fn()
	}
	return nil
}

// NotFound maps sql.ErrNoRows to a souk ENOTFOUND error naming what was
// looked for, and passes other errors through.
func NotFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return souk.Errorf(souk.ENOTFOUND, format, args...)
	}
	return err
}

// Millis is the form times are stored in: Unix milliseconds, the same on
// both engines.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// FromMillis reverses Millis, in UTC.
func FromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
