package bench_test

import (
	"testing"

	"github.com/souk-market/souk/bench"
	"github.com/souk-market/souk/store/storetest"
)

// A small sweep run on each engine: the due instances, and only they, are
// frozen with a FREEZE call each (Sweep checks both and fails otherwise).
func TestSweepBenchmarkRuns(t *testing.T) {
	run := func(t *testing.T, dsn string) {
		r, err := bench.Sweep(t.Context(), bench.SweepOptions{Database: dsn, Instances: 5000, Due: 300})
		if err != nil {
			t.Fatal(err)
		}
		if r.Frozen != 300 {
			t.Fatalf("frozen %d, want 300", r.Frozen)
		}
		t.Log(r.Line())
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}
