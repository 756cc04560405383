package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/store"
)

// SweepOptions sets the expiry sweep benchmark.
type SweepOptions struct {
	// Database is a postgres:// URL (a fresh schema, dropped afterwards),
	// or "" for a fresh SQLite file.
	Database string
	// Instances exist; Due of them are past their expiry.
	Instances, Due int
	Out            io.Writer // progress; nil: none
}

// SweepResult is what the sweep benchmark measured.
type SweepResult struct {
	Instances, Due int
	// Idle is a sweep with nothing due over all the instances; Swept the
	// sweep that froze the Due ones (and enqueued a FREEZE call each).
	Idle, Swept time.Duration
	Frozen      int
}

// Line is the result's one-line summary.
func (r SweepResult) Line() string {
	return fmt.Sprintf("instances=%d due=%d sweep_ms=%s per_due_us=%.1f idle_sweep_ms=%s",
		r.Instances, r.Due, ms(r.Swept), float64(r.Swept.Microseconds())/float64(max(r.Due, 1)), ms(r.Idle))
}

// Sweep measures order.Sweep over o.Instances active instances of which
// o.Due are past their expiry: the instances are written straight into the
// table in one statement (the sweep does not care how they were bought),
// then a sweep with nothing due is timed, then the clock is moved past the
// Due ones' expiry and the sweep that freezes them is timed. The sweep
// finds what is due through an index on (state, expiry), so its time
// should follow Due, not Instances: run with different Instances and the
// same Due to see it.
func Sweep(ctx context.Context, o SweepOptions) (SweepResult, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	dsn := o.Database
	if dsn == "" {
		dir, err := os.MkdirTemp("", "souk-bench-sweep-")
		if err != nil {
			return SweepResult{}, err
		}
		defer os.RemoveAll(dir)
		dsn = filepath.Join(dir, "souk.db")
	} else {
		url, drop, err := freshSchema(ctx, dsn)
		if err != nil {
			return SweepResult{}, err
		}
		defer drop()
		dsn = url
	}
	t0 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := souk.NewFakeClock(t0)
	db, err := store.Open(ctx, dsn, clock)
	if err != nil {
		return SweepResult{}, err
	}
	defer db.Close()

	fmt.Fprintf(out, "writing %d instances (%d of them due at %s) on %s…\n", o.Instances, o.Due, t0.Add(time.Hour).Format(time.RFC3339), db.Engine())
	started := time.Now()
	now := store.Millis(t0)
	err = db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, type, buyer_id, state, amount, currency, created_at, updated_at)
			VALUES ('ord-bench', 'NEW', 'buyer-bench', 'completed', 0, 'CNY', $1, $1)`, now); err != nil {
			return err
		}
		// Due instances expire an hour after t0; the others from a day on,
		// spread over a year.
		_, err := tx.ExecContext(ctx, `WITH RECURSIVE s(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n + 1 FROM s WHERE n < CAST($1 AS BIGINT))
			INSERT INTO order_instances (id, buyer_id, seller_id, product_id, spec_code, quantity, state, order_id,
				seller_instance_id, expires_at, activated_at, created_at, updated_at)
			SELECT 'inst-' || n, 'buyer-bench', 'seller-' || (n % 100), 'prod-bench', 'basic', 1, 'active', 'ord-bench',
				'si-' || n, CASE WHEN n <= CAST($2 AS BIGINT) THEN CAST($3 AS BIGINT) + 3600000 ELSE CAST($3 AS BIGINT) + 86400000 + (n % 31536000) * 1000 END,
				CAST($3 AS BIGINT), CAST($3 AS BIGINT), CAST($3 AS BIGINT)
			FROM s`, o.Instances, o.Due, now)
		return err
	})
	if err != nil {
		return SweepResult{}, fmt.Errorf("write instances: %w", err)
	}
	if db.Engine() == store.Postgres {
		if _, err := db.SQL().ExecContext(ctx, `ANALYZE order_instances`); err != nil {
			return SweepResult{}, err
		}
	}
	fmt.Fprintf(out, "written in %s\n", time.Since(started).Round(time.Millisecond))

	r := SweepResult{Instances: o.Instances, Due: o.Due}
	eng := enqueueOnly{}
	started = time.Now()
	if s, err := order.Sweep(ctx, db, eng, order.SweepConfig{}); err != nil {
		return r, err
	} else if s != (order.Swept{}) {
		return r, fmt.Errorf("the idle sweep moved %+v", s)
	}
	r.Idle = time.Since(started)

	clock.Set(t0.Add(2 * time.Hour))
	started = time.Now()
	s, err := order.Sweep(ctx, db, eng, order.SweepConfig{})
	if err != nil {
		return r, err
	}
	r.Swept, r.Frozen = time.Since(started), s.Frozen
	if s.Frozen != o.Due || s.Released != 0 {
		return r, fmt.Errorf("the sweep moved %+v, want %d frozen", s, o.Due)
	}
	var calls int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM delivery_calls WHERE activity = 'updateInstanceStatus'`).Scan(&calls); err != nil {
		return r, err
	}
	if calls != o.Due {
		return r, fmt.Errorf("%d FREEZE calls enqueued, want %d", calls, o.Due)
	}
	return r, nil
}

// enqueueOnly enqueues calls without an engine to wake: the benchmark
// measures the sweep, not the delivery.
type enqueueOnly struct{}

func (enqueueOnly) Enqueue(ctx context.Context, tx *store.Tx, c delivery.NewCall) (int64, error) {
	return delivery.Enqueue(ctx, tx, c)
}
