package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// Notify signals channel to every process listening on the database
// (Listen) once tx commits. On PostgreSQL it is NOTIFY, which the server
// delivers at commit and merges within a transaction; SQLite has one node,
// whose own wake-up (Tx.AfterCommit) is enough, so there it does nothing.
func (tx *Tx) Notify(ctx context.Context, channel string) error {
	if tx.Engine != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, channel); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// Listen calls fn each time another process commits a Notify on channel,
// until ctx ends; it reconnects after a lost connection. On SQLite it just
// waits for ctx. It holds one connection of the pool while it runs.
func (db *DB) Listen(ctx context.Context, channel string, fn func()) {
	if db.engine != Postgres {
		<-ctx.Done()
		return
	}
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, channel, fn)
		if ctx.Err() != nil {
			return
		}
		_ = err // the caller polls meanwhile; try again shortly
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		fn() // a notification may have been missed while disconnected
	}
}

func (db *DB) listenOnce(ctx context.Context, channel string, fn func()) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pg := driverConn.(*stdlib.Conn).Conn()
		if _, err := pg.Exec(ctx, "LISTEN "+quoteIdent(channel)); err != nil {
			return err
		}
		for {
			if _, err := pg.WaitForNotification(ctx); err != nil {
				return err
			}
			fn()
		}
	})
}

func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
