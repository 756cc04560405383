package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestMigrationsAreNumberedAndApplyOnce(t *testing.T) {
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("Migrations() = %v, want a first migration numbered 1", ms)
	}
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		// Open already migrated: a second run applies nothing.
		n, err := db.MigrateCount(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("MigrateCount() = %d, %v; want 0, nil", n, err)
		}
		var applied int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil || applied != len(ms) {
			t.Fatalf("schema_migrations has %d rows (%v), want %d", applied, err, len(ms))
		}
	})
}

func TestTxCommitsRollsBackAndCarriesNow(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		insert := func(tx *store.Tx, seller string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO delivery_calls
				(seller_id, product_id, order_key, activity, body, policy, state, next_at, created_at, updated_at)
				VALUES ($1, 'p', 'k', 'newInstance', $2, 'once', 'pending', $3, $3, $3)`, seller, []byte(`{}`), store.Millis(tx.Now))
			return err
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			if !tx.Now.Equal(t0) {
				t.Errorf("tx.Now = %v, want %v", tx.Now, t0)
			}
			return insert(tx, "kept")
		}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := insert(tx, "dropped"); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("Tx() = %v, want %v", err, boom)
		}
		func() {
			defer func() { recover() }()
			db.Tx(ctx, func(tx *store.Tx) error {
				insert(tx, "panicked")
				panic("boom")
			})
		}()
		var sellers []string
		rows, err := db.SQL().Query(`SELECT seller_id FROM delivery_calls ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			rows.Scan(&s)
			sellers = append(sellers, s)
		}
		if len(sellers) != 1 || sellers[0] != "kept" {
			t.Fatalf("rows after commit, rollback and panic = %v, want [kept]", sellers)
		}
		var created int64
		db.SQL().QueryRow(`SELECT created_at FROM delivery_calls`).Scan(&created)
		if !store.FromMillis(created).Equal(t0) {
			t.Fatalf("created_at = %v, want %v", store.FromMillis(created), t0)
		}
	})
}

func TestNotFoundMapsNoRows(t *testing.T) {
	storetest.Each(t, souk.SystemClock{}, func(t *testing.T, db *store.DB) {
		var x int
		err := db.SQL().QueryRow(`SELECT id FROM delivery_calls WHERE id = $1`, 42).Scan(&x)
		err = store.NotFound(err, "call %d not found", 42)
		if souk.ErrorCode(err) != souk.ENOTFOUND || souk.ErrorMessage(err) != "call 42 not found" {
			t.Fatalf("NotFound() = %v, want ENOTFOUND call 42 not found", err)
		}
	})
}

// A transaction whose function never returns — t.Fatal inside it ends the
// goroutine — is rolled back, so the next one does not wait forever for
// SQLite's one connection.
func TestTxEndedByGoexitIsRolledBack(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		done := make(chan struct{})
		go func() {
			defer close(done)
			db.Tx(ctx, func(tx *store.Tx) error {
				tx.ExecContext(ctx, `INSERT INTO delivery_sellers (seller_id) VALUES ('ghost')`)
				runtime.Goexit()
				return nil
			})
		}()
		<-done
		finished := make(chan error, 1)
		go func() {
			finished <- db.Tx(ctx, func(tx *store.Tx) error {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM delivery_sellers`).Scan(&n); err != nil {
					return err
				}
				if n != 0 {
					return fmt.Errorf("the ended transaction's row is there: %d rows", n)
				}
				return nil
			})
		}()
		select {
		case err := <-finished:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the next transaction waited 10 s: the ended one still holds the connection")
		}
	})
}
