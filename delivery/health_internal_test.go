package delivery

import "testing"

// Nearest-rank percentiles over latencies grouped with their counts equal
// those over the attempts one by one.
func TestRankOverGroupedLatencies(t *testing.T) {
	// 100 attempts: 50 of 10 ms, 40 of 20 ms, 9 of 300 ms, 1 of 5000 ms.
	ls := []latencyCount{{10, 50}, {20, 40}, {300, 9}, {5000, 1}}
	for p, want := range map[int]int64{1: 10, 50: 10, 51: 20, 90: 20, 91: 300, 95: 300, 99: 300, 100: 5000} {
		if got := rank(ls, 100, p); got != want {
			t.Errorf("p%d = %d ms, want %d", p, got, want)
		}
	}
	if got := rank([]latencyCount{{7, 1}}, 1, 95); got != 7 {
		t.Errorf("p95 of one attempt = %d, want 7", got)
	}
}
