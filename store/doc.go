// Package store is the marketplace's persistence over database/sql, on two
// engines: SQLite (modernc.org/sqlite, pure Go: the embedded default) and
// PostgreSQL (pgx: production and several nodes).
//
// One schema serves both. Migrations are embedded, numbered SQL files
// applied in order at start (or by `souk migrate`) and recorded in
// schema_migrations. Queries use $1-style placeholders, which both engines
// accept; the few words the engines spell differently are rewritten in one
// place (dialect.go). Work happens in transactions through DB.Tx, which
// hands the closure the clock's now, so a whole transaction sees one time.
//
// Domain packages own their queries; this package owns connections,
// transactions, migrations and dialect.
package store
