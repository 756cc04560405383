package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// An enqueue on one node wakes a dispatcher on another node at once
// (PostgreSQL LISTEN/NOTIFY), though that dispatcher polls only hourly.
func TestEnqueueWakesOtherNodes(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.PostgresURL(t)
	open := func() *store.DB {
		db, err := store.Open(ctx, dsn, souk.SystemClock{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA, dbB := open(), open()
	s := newSink(t, souk.SystemClock{})
	client := protocol.NewClient(protocol.Default, time.Now, 4)
	a := delivery.New(dbA, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{}, delivery.Config{Node: "a"})
	b := delivery.New(dbB, client, targets{"prod-1": s.srv.URL}, delivery.Hooks{}, delivery.Config{Node: "b", Poll: time.Hour})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	time.Sleep(200 * time.Millisecond) // b's first look finds nothing; it now sleeps for an hour
	for i := range 3 {
		start := time.Now()
		err := dbA.Tx(ctx, func(tx *store.Tx) error {
			_, err := a.Enqueue(ctx, tx, newInstanceCall("wake-"+string(rune('a'+i))))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "node b to deliver the call enqueued on node a", 10*time.Second, func() bool { return len(s.got()) == i+1 })
		t.Logf("enqueue on a → delivered by b in %v", time.Since(start))
	}
}
