package refseller

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// schema is the seller's own data model, created at start. It lives in the
// same SQLite file as sellerkit's idempotency table (seller.db), so one file
// is the whole state of the seller: copy it and you have copied the seller.
//
// Times the seller stamps itself are dbTime strings in UTC: fixed width, so
// they sort and compare as text. Times from the marketplace (expire_time)
// are kept as they came, yyyyMMddHHmmss in UTC.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS instances (
		id            TEXT PRIMARY KEY,
		order_id      TEXT NOT NULL,
		order_line_id TEXT NOT NULL,
		business_id   TEXT NOT NULL,
		test_flag     INTEGER NOT NULL DEFAULT 0,
		state         TEXT NOT NULL CHECK (state IN ('provisioning', 'active', 'frozen', 'released')),
		ready_at      TEXT NOT NULL,            -- provisioning ends (newInstance + Config.Async)
		expire_time   TEXT NOT NULL DEFAULT '', -- from refreshInstance
		product_id    TEXT NOT NULL DEFAULT '', -- from refreshInstance, when it says
		user_name     TEXT NOT NULL,            -- the buyer's first account in the app
		password      TEXT NOT NULL,
		created_at    TEXT NOT NULL,
		updated_at    TEXT NOT NULL,
		UNIQUE (order_id, order_line_id)        -- one instance per purchase (§7)
	)`,
	// Every order line that touched an instance: the purchase, upgrades,
	// renewals, the unsubscription that released it.
	`CREATE TABLE IF NOT EXISTS instance_orders (
		instance_id   TEXT NOT NULL REFERENCES instances (id),
		order_id      TEXT NOT NULL,
		order_line_id TEXT NOT NULL,
		event         TEXT NOT NULL,
		created_at    TEXT NOT NULL,
		PRIMARY KEY (instance_id, order_id, order_line_id, event)
	)`,
	`CREATE TABLE IF NOT EXISTS order_notices (
		order_id      TEXT NOT NULL,
		order_line_id TEXT NOT NULL,
		test_flag     INTEGER NOT NULL DEFAULT 0,
		received_at   TEXT NOT NULL,
		PRIMARY KEY (order_id, order_line_id)
	)`,
	`CREATE TABLE IF NOT EXISTS licences (
		code          TEXT PRIMARY KEY,
		state         TEXT NOT NULL CHECK (state IN ('active', 'frozen', 'released')),
		test_flag     INTEGER NOT NULL DEFAULT 0, -- 1: a debug licence (license.go)
		expire_time   TEXT NOT NULL DEFAULT '',
		order_id      TEXT NOT NULL DEFAULT '',
		order_line_id TEXT NOT NULL DEFAULT '',
		product_id    TEXT NOT NULL DEFAULT '',
		created_at    TEXT NOT NULL,
		updated_at    TEXT NOT NULL
	)`,
	// Kit data is kept per instance: one enterprise may use several
	// instances, and unbinding one must not touch the others.
	`CREATE TABLE IF NOT EXISTS tenants (
		instance_id   TEXT NOT NULL,
		tenant_id     TEXT NOT NULL,
		tenant_code   TEXT NOT NULL,
		name          TEXT NOT NULL,
		domain_name   TEXT NOT NULL,
		order_id      TEXT NOT NULL,
		created_at    TEXT NOT NULL,
		updated_at    TEXT NOT NULL,
		PRIMARY KEY (instance_id, tenant_id)
	)`,
	`CREATE TABLE IF NOT EXISTS apps (
		instance_id   TEXT NOT NULL,
		tenant_id     TEXT NOT NULL,
		app_id        TEXT NOT NULL,
		client_id     TEXT NOT NULL,
		client_secret TEXT NOT NULL, -- RSA-encrypted as received: this seller holds no private key
		created_at    TEXT NOT NULL,
		updated_at    TEXT NOT NULL,
		PRIMARY KEY (instance_id, tenant_id, app_id)
	)`,
	// user_key is userName@tenantCode, the key §4 recommends.
	`CREATE TABLE IF NOT EXISTS users (
		instance_id   TEXT NOT NULL,
		app_id        TEXT NOT NULL,
		user_key      TEXT NOT NULL,
		tenant_id     TEXT NOT NULL,
		user_name     TEXT NOT NULL,
		name          TEXT NOT NULL,
		org_code      TEXT NOT NULL,
		role          TEXT NOT NULL,
		enable        TEXT NOT NULL,
		position      TEXT NOT NULL,
		employee_code TEXT NOT NULL,
		mobile        TEXT NOT NULL,
		email         TEXT NOT NULL,
		created_at    TEXT NOT NULL,
		updated_at    TEXT NOT NULL,
		PRIMARY KEY (instance_id, app_id, user_key)
	)`,
	`CREATE TABLE IF NOT EXISTS orgs (
		instance_id   TEXT NOT NULL,
		tenant_id     TEXT NOT NULL,
		org_code      TEXT NOT NULL,
		org_name      TEXT NOT NULL,
		parent_code   TEXT NOT NULL,
		created_at    TEXT NOT NULL,
		updated_at    TEXT NOT NULL,
		PRIMARY KEY (instance_id, tenant_id, org_code)
	)`,
}

func createSchema(ctx context.Context, db *sql.DB) error {
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	return nil
}

// dbTimeLayout formats the times the seller stamps itself.
const dbTimeLayout = "2006-01-02T15:04:05.000Z"

func dbTime(t time.Time) string { return t.UTC().Format(dbTimeLayout) }

func parseDBTime(s string) (time.Time, error) { return time.Parse(dbTimeLayout, s) }

// inList returns "?, ?, …" for n values and the values as arguments.
func inList(values []string) (string, []any) {
	args := make([]any, len(values))
	ph := make([]byte, 0, 3*len(values))
	for i, v := range values {
		if i > 0 {
			ph = append(ph, ", "...)
		}
		ph = append(ph, '?')
		args[i] = v
	}
	return string(ph), args
}
