package store

import "strings"

// Engine names a database engine.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// The only words of the schema the engines spell differently. Migrations
// are written with the SQLite words on the left; on PostgreSQL they become
// the words on the right.
var postgresWords = strings.NewReplacer(
	"SERIALKEY", "BIGSERIAL PRIMARY KEY",
	"BLOB", "BYTEA",
)

var sqliteWords = strings.NewReplacer(
	"SERIALKEY", "INTEGER PRIMARY KEY AUTOINCREMENT",
)

// Rewrite returns the SQL of a migration for engine e.
func (e Engine) Rewrite(sql string) string {
	if e == Postgres {
		return postgresWords.Replace(sql)
	}
	return sqliteWords.Replace(sql)
}
