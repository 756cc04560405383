package jobs_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/jobs"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

var ctx = context.Background()

// Two nodes on one database: a job runs on the node holding its lease,
// every Every, and passes to the other node when the holder stops renewing.
func TestOneNodeAtATimeAndHandOver(t *testing.T) {
	clock := souk.NewFakeClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		var ranA, ranB atomic.Int64
		name := "sweep-" + t.Name()
		a := jobs.New(db, "a", nil, jobs.Job{Name: name, Every: time.Minute, Run: func(context.Context) error { ranA.Add(1); return nil }})
		b := jobs.New(db, "b", nil, jobs.Job{Name: name, Every: time.Minute, Run: func(context.Context) error { ranB.Add(1); return nil }})

		run := func(r *jobs.Runner) []string {
			t.Helper()
			ran, err := r.RunDue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return ran
		}
		if got := run(a); !slices.Equal(got, []string{name}) {
			t.Fatalf("a ran %v, want the job", got)
		}
		if got := run(b); len(got) != 0 {
			t.Fatalf("b ran %v while a holds the lease", got)
		}
		if got := run(a); len(got) != 0 {
			t.Fatalf("a ran %v again before a minute passed", got)
		}
		clock.Advance(time.Minute)
		run(a)
		run(b)
		if ranA.Load() != 2 || ranB.Load() != 0 {
			t.Fatalf("runs a=%d b=%d, want 2 and 0", ranA.Load(), ranB.Load())
		}
		// a stops; its lease (2 × Every from its last run) runs out.
		clock.Advance(time.Minute)
		if got := run(b); len(got) != 0 {
			t.Fatalf("b ran %v before a's lease ran out", got)
		}
		clock.Advance(time.Minute)
		if got := run(b); !slices.Equal(got, []string{name}) {
			t.Fatalf("b ran %v after a's lease ran out, want the job", got)
		}
	})
}

// A failing job is reported and does not stop the others.
func TestFailingJobDoesNotStopOthers(t *testing.T) {
	clock := souk.NewFakeClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		boom := errors.New("boom")
		var ok atomic.Bool
		r := jobs.New(db, "", nil,
			jobs.Job{Name: "bad-" + t.Name(), Every: time.Second, Run: func(context.Context) error { return boom }},
			jobs.Job{Name: "good-" + t.Name(), Every: time.Second, Run: func(context.Context) error { ok.Store(true); return nil }})
		ran, err := r.RunDue(ctx)
		if !errors.Is(err, boom) || len(ran) != 2 || !ok.Load() {
			t.Fatalf("RunDue() = %v, %v (good ran: %v); want both run and boom reported", ran, err, ok.Load())
		}
	})
}

// Start and Stop run jobs on a ticker and wait for the one in progress.
func TestStartStop(t *testing.T) {
	db := storetest.OpenSQLite(t, souk.SystemClock{})
	ran := make(chan struct{}, 10)
	r := jobs.New(db, "", nil, jobs.Job{Name: "tick", Every: 10 * time.Millisecond, Run: func(context.Context) error {
		select {
		case ran <- struct{}{}:
		default:
		}
		return nil
	}})
	r.Start()
	for range 2 {
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("the job did not run")
		}
	}
	r.Stop()
	r.Stop() // twice is fine
}
