package delivery

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/souk-market/souk/store"
)

// Metrics are the engine's Prometheus metrics. Queue depth is read from the
// database when scraped, so every node reports the same truth.
type Metrics struct {
	attempts *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	lag      prometheus.Histogram
}

// NewMetrics registers the engine's metrics with reg.
func NewMetrics(reg prometheus.Registerer, db *store.DB) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "souk_delivery_attempts_total",
			Help: "Production-interface attempts by outcome and seller.",
		}, []string{"outcome", "seller"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "souk_delivery_attempt_duration_seconds",
			Help:    "Time from sending a call to having its answer, by activity.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 60},
		}, []string{"activity"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "souk_delivery_lag_seconds",
			Help:    "Time from a call being due (next_at) to its attempt starting.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	reg.MustRegister(m.attempts, m.latency, m.lag, &depthCollector{db: db})
	return m
}

func (m *Metrics) observe(c *Call, r result) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(string(r.outcome.Kind), c.SellerID).Inc()
	m.latency.WithLabelValues(string(c.Activity)).Observe(r.outcome.Latency.Seconds())
	if lag := r.started.Sub(c.NextAt); lag >= 0 {
		m.lag.Observe(lag.Seconds())
	}
}

var depthDesc = prometheus.NewDesc("souk_delivery_calls", "Calls not yet finished, and finished calls that need attention, by state.", []string{"state"}, nil)

// depthCollector counts calls by state at scrape time. Succeeded and
// superseded calls are not counted: they only grow.
type depthCollector struct{ db *store.DB }

func (d *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc }

func (d *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := map[State]float64{Pending: 0, InFlight: 0, Retrying: 0, Exhausted: 0, AwaitingDecision: 0}
	// Seller by seller, through the index (seller_id, state, …): no index
	// leads with the state (see the migration).
	rows, err := d.db.SQL().QueryContext(ctx, `SELECT c.state, count(*) FROM delivery_sellers s
		JOIN delivery_calls c ON c.seller_id = s.seller_id
		WHERE c.state IN ('pending', 'in_flight', 'retrying', 'exhausted', 'awaiting_decision') GROUP BY c.state`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(depthDesc, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n float64
		if rows.Scan(&s, &n) == nil {
			counts[State(s)] = n
		}
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, n, string(s))
	}
}
