package delivery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// enqueueMany enqueues n newInstance calls on distinct keys, spread over
// sellers, in transactions of 500.
func enqueueMany(t testing.TB, db *store.DB, n, sellers int, product string) {
	ctx := context.Background()
	for start := 0; start < n; start += 500 {
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for i := start; i < min(start+500, n); i++ {
				c := newInstanceCall(fmt.Sprintf("%s-k%d", product, i))
				c.SellerID = fmt.Sprintf("%s-seller-%d", product, i%sellers)
				c.ProductID = product
				if _, err := delivery.Enqueue(ctx, tx, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkEngineThroughput(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var db *store.DB
			if engine == "sqlite" {
				db = storetest.OpenSQLite(b, souk.SystemClock{})
			} else {
				db = storetest.OpenPostgres(b, souk.SystemClock{})
			}
			s := newSink(&testing.T{}, souk.SystemClock{})
			defer s.srv.Close()
			enqueueMany(b, db, b.N, 8, "prod-1")
			client := protocol.NewClient(protocol.Default, db.Clock().Now, 16)
			e := delivery.New(db, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{}, delivery.Config{Workers: 64, PerSellerInFlight: 16, Poll: 20 * time.Millisecond})
			b.ResetTimer()
			e.Start(context.Background())
			for len(s.got()) < b.N {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			e.Stop()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
