// Package jobs runs the marketplace's periodic work — the expiry sweep,
// usage billing — on one node at a time: each job runs every so often on
// whichever node holds its lease in the database, so that several nodes
// share one PostgreSQL without doing the work twice, and a node that dies
// hands its jobs to another when its leases run out.
//
// The jobs themselves must still be safe to run twice (a lease can expire
// under a job that runs longer than it): the lease saves work, it does not
// make correctness.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/souk-market/souk/store"
)

// Job is one periodic task.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// Runner runs jobs under leases.
type Runner struct {
	db     *store.DB
	node   string
	jobs   []Job
	log    *slog.Logger
	mu     sync.Mutex
	stop   context.CancelFunc
	done   chan struct{}
	lastAt map[string]time.Time
}

// New returns a runner of jobs for this node (a random name if node is "").
func New(db *store.DB, node string, log *slog.Logger, jobs ...Job) *Runner {
	if node == "" {
		b := make([]byte, 4)
		rand.Read(b)
		node = "node-" + hex.EncodeToString(b)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Runner{db: db, node: node, jobs: jobs, log: log, lastAt: map[string]time.Time{}}
}

// RunDue (not safe for concurrent use: one goroutine drives a Runner) runs, once each, the jobs whose time has come (by the database
// clock: Every since this runner last ran them) and whose lease this node
// holds or takes; it returns the names of those it ran. Errors of jobs are
// logged and joined; the others still run.
func (r *Runner) RunDue(ctx context.Context) ([]string, error) {
	var ran []string
	var errs []error
	for _, j := range r.jobs {
		now := r.db.Clock().Now()
		if last, ok := r.lastAt[j.Name]; ok && now.Sub(last) < j.Every {
			continue
		}
		held, err := r.lease(ctx, j, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !held {
			continue
		}
		r.lastAt[j.Name] = now
		started := time.Now()
		if err := j.Run(ctx); err != nil {
			r.log.Error("job failed", "job", j.Name, "node", r.node, "err", err)
			errs = append(errs, err)
		} else {
			r.log.Debug("job ran", "job", j.Name, "node", r.node, "took", time.Since(started))
		}
		ran = append(ran, j.Name)
	}
	return ran, errors.Join(errs...)
}

// lease takes or renews j's lease for this node until now + 2 × j.Every,
// unless another node holds it unexpired; it reports whether this node
// holds it.
func (r *Runner) lease(ctx context.Context, j Job, now time.Time) (bool, error) {
	res, err := r.db.SQL().ExecContext(ctx, `INSERT INTO job_leases (job, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= $4`,
		j.Name, r.node, store.Millis(now.Add(2*j.Every)), store.Millis(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Start runs due jobs every tick (the shortest Every, at most a second)
// until Stop.
func (r *Runner) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		return
	}
	tick := time.Second
	for _, j := range r.jobs {
		tick = min(tick, j.Every)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			if _, err := r.RunDue(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("jobs", "node", r.node, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop stops the runner and waits for a job in progress to end (its
// context is cancelled). Its leases run out by themselves.
func (r *Runner) Stop() {
	r.mu.Lock()
	stop, done := r.stop, r.done
	r.stop = nil
	r.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}
