package notify_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

func TestPostWritesInboxAndOneOutboxRowPerChannel(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "test", Subject: "Both", Body: "body 1",
			Email: "ops@seller.example", Phone: "+8613800000000"})
		post(t, db, notify.Notice{Recipient: "seller:2", Kind: "test", Subject: "Inbox only", Body: "body 2"})
		post(t, db, notify.Notice{Recipient: "user:3", Kind: "test", Subject: "Mail only", Body: "body 3", Email: "u@example.com"})

		ms, err := notify.Inbox(ctx, db, "seller:1", notify.InboxFilter{})
		if err != nil || len(ms) != 1 {
			t.Fatalf("Inbox(seller:1) = %v, %v; want one message", ms, err)
		}
		m := ms[0]
		if m.Recipient != "seller:1" || m.Kind != "test" || m.Subject != "Both" || m.Body != "body 1" ||
			!m.CreatedAt.Equal(t0) || !m.Unread() {
			t.Fatalf("message = %+v", m)
		}

		rows := outbox(t, db)
		got := ""
		for _, r := range rows {
			got += fmt.Sprintf("%s %s %q %q %s %d %v|", r.Channel, r.Address, r.Subject, r.Body, r.State, r.Attempts, r.NextAt.Equal(t0))
		}
		want := `email ops@seller.example "Both" "body 1" pending 0 true|` +
			`sms +8613800000000 "" "Both" pending 0 true|` +
			`email u@example.com "Mail only" "body 3" pending 0 true|`
		if got != want {
			t.Fatalf("outbox:\n got %s\nwant %s", got, want)
		}
	})
}

func TestPostIsPartOfTheCallersTransaction(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := notify.Post(ctx, tx, notify.Notice{Recipient: "seller:1", Kind: "test", Subject: "s", Email: "a@b.example"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx() = %v, want boom", err)
		}
		if n, _ := notify.UnreadCount(ctx, db, "seller:1"); n != 0 {
			t.Fatalf("UnreadCount after rollback = %d, want 0", n)
		}
		if rows := outbox(t, db); len(rows) != 0 {
			t.Fatalf("outbox after rollback = %v, want empty", rows)
		}
	})
}

func TestPostRejectsIncompleteNotices(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		for _, n := range []notify.Notice{
			{Kind: "k", Subject: "s"},
			{Recipient: "seller:1", Subject: "s"},
			{Recipient: "seller:1", Kind: "k", Subject: "  "},
		} {
			err := db.Tx(context.Background(), func(tx *store.Tx) error { return notify.Post(context.Background(), tx, n) })
			if souk.ErrorCode(err) != souk.EINVALID {
				t.Errorf("Post(%+v) = %v, want EINVALID", n, err)
			}
		}
	})
}

func TestPostShortensTheSMSText(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		long := ""
		for range 400 {
			long += "长"
		}
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: long, Phone: "+86138"})
		r := outbox(t, db)[0]
		if n := len([]rune(r.Body)); n != 300 || []rune(r.Body)[299] != '…' {
			t.Fatalf("SMS text has %d runes ending in %q, want 300 ending in …", n, []rune(r.Body)[n-1])
		}
	})
}

func TestInboxPagesFiltersAndMarksRead(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock.Set(t0)
		for i := 1; i <= 5; i++ {
			post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: fmt.Sprintf("m%d", i)})
			clock.Advance(time.Minute)
		}
		post(t, db, notify.Notice{Recipient: "seller:2", Kind: "k", Subject: "other"})

		subjects := func(ms []notify.Message) string {
			s := ""
			for _, m := range ms {
				s += m.Subject + " "
			}
			return s
		}
		all, err := notify.Inbox(ctx, db, "seller:1", notify.InboxFilter{})
		if err != nil || subjects(all) != "m5 m4 m3 m2 m1 " {
			t.Fatalf("Inbox() = %q, %v; want newest first, only seller:1's", subjects(all), err)
		}
		page, _ := notify.Inbox(ctx, db, "seller:1", notify.InboxFilter{Limit: 2})
		next, _ := notify.Inbox(ctx, db, "seller:1", notify.InboxFilter{Limit: 2, BeforeID: page[1].ID})
		if subjects(page)+"| "+subjects(next) != "m5 m4 | m3 m2 " {
			t.Fatalf("pages = %q | %q", subjects(page), subjects(next))
		}

		readAt := clock.Advance(time.Hour)
		m4 := all[1]
		if err := notify.MarkRead(ctx, db, "seller:1", m4.ID); err != nil {
			t.Fatalf("MarkRead() = %v", err)
		}
		clock.Advance(time.Hour)
		if err := notify.MarkRead(ctx, db, "seller:1", m4.ID); err != nil {
			t.Fatalf("MarkRead() again = %v", err)
		}
		unread, _ := notify.Inbox(ctx, db, "seller:1", notify.InboxFilter{Unread: true})
		if subjects(unread) != "m5 m3 m2 m1 " {
			t.Fatalf("unread = %q, want m4 gone", subjects(unread))
		}
		if n, err := notify.UnreadCount(ctx, db, "seller:1"); n != 4 || err != nil {
			t.Fatalf("UnreadCount() = %d, %v; want 4", n, err)
		}
		all, _ = notify.Inbox(ctx, db, "seller:1", notify.InboxFilter{})
		if got := all[1].ReadAt; !got.Equal(readAt) {
			t.Fatalf("m4 read at %v, want the first MarkRead's time %v", got, readAt)
		}

		// Another recipient's message looks exactly like a missing one.
		other, _ := notify.Inbox(ctx, db, "seller:2", notify.InboxFilter{})
		for _, id := range []int64{other[0].ID, 9999} {
			if err := notify.MarkRead(ctx, db, "seller:1", id); souk.ErrorCode(err) != souk.ENOTFOUND {
				t.Fatalf("MarkRead(seller:1, %d) = %v, want ENOTFOUND", id, err)
			}
		}
		if n, _ := notify.UnreadCount(ctx, db, "seller:2"); n != 1 {
			t.Fatalf("seller:2 unread = %d, want 1: seller:1 must not mark it read", n)
		}
	})
}
