package notify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// The outbox schedule, from the brief rather than from the code: attempts
// at 0, then 1 min, 5 min and 30 min after each failure (the last delay
// repeating), five attempts in all.
var wantAttemptOffsets = []time.Duration{0, time.Minute, 6 * time.Minute, 36 * time.Minute, 66 * time.Minute}

func TestSenderRetriesOnScheduleThenGivesUp(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		mailer := &fakeTransport{fail: func(n int) error { return fmt.Errorf("mailbox full (try %d)", n) }}
		s := notify.NewSender(db, notify.SenderConfig{Mailer: mailer})
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: "s", Body: "b", Email: "ops@seller.example"})

		for i, off := range wantAttemptOffsets {
			if off > 0 {
				clock.Set(t0.Add(off - time.Second))
				if n := runDue(t, s); n != 0 {
					t.Fatalf("attempt %d: RunDue a second early = %d, want 0", i+1, n)
				}
				if at, ok, err := s.NextDue(context.Background()); err != nil || !ok || !at.Equal(t0.Add(off)) {
					t.Fatalf("attempt %d: NextDue() = %v, %v, %v; want %v", i+1, at, ok, err, t0.Add(off))
				}
			}
			clock.Set(t0.Add(off))
			if n := runDue(t, s); n != 1 {
				t.Fatalf("attempt %d at +%v: RunDue() = %d, want 1", i+1, off, n)
			}
			r := outbox(t, db)[0]
			if r.Attempts != i+1 || r.LastError != fmt.Sprintf("mailbox full (try %d)", i+1) {
				t.Fatalf("after attempt %d: %+v", i+1, r)
			}
		}
		r := outbox(t, db)[0]
		if r.State != "failed" || !r.SentAt.IsZero() {
			t.Fatalf("after the last attempt: state %s, sent %v; want failed, never sent", r.State, r.SentAt)
		}
		clock.Advance(24 * time.Hour)
		if n := runDue(t, s); n != 0 || len(mailer.sent()) != len(wantAttemptOffsets) {
			t.Fatalf("after giving up: RunDue() = %d, %d sends; want 0, %d", n, len(mailer.sent()), len(wantAttemptOffsets))
		}
		if _, ok, _ := s.NextDue(context.Background()); ok {
			t.Fatal("NextDue() reports a due row after giving up")
		}
	})
}

func TestSenderSendsARowAtMostOnce(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		mailer, sms := &fakeTransport{}, &fakeTransport{}
		s := notify.NewSender(db, notify.SenderConfig{Mailer: mailer, SMS: smsTransport{sms}})
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: "Hello", Body: "world",
			Email: "ops@seller.example", Phone: "+86138"})

		if n := runDue(t, s); n != 2 {
			t.Fatalf("first RunDue() = %d, want 2", n)
		}
		if n := runDue(t, s); n != 0 {
			t.Fatalf("second RunDue() = %d, want 0", n)
		}
		clock.Advance(48 * time.Hour)
		if n := runDue(t, s); n != 0 {
			t.Fatalf("RunDue() two days later = %d, want 0", n)
		}
		if got := mailer.sent(); len(got) != 1 || got[0] != (sent{"ops@seller.example", "Hello", "world"}) {
			t.Fatalf("e-mails = %v", got)
		}
		if got := sms.sent(); len(got) != 1 || got[0] != (sent{"+86138", "", "Hello"}) {
			t.Fatalf("SMS = %v", got)
		}
		for _, r := range outbox(t, db) {
			if r.State != "sent" || r.Attempts != 1 || !r.SentAt.Equal(t0) || r.LastError != "" {
				t.Fatalf("row = %+v, want sent at t0 after one attempt", r)
			}
		}
	})
}

func TestSenderSucceedsOnARetry(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		mailer := &fakeTransport{fail: func(n int) error {
			if n == 1 {
				return errors.New("421 try again later")
			}
			return nil
		}}
		s := notify.NewSender(db, notify.SenderConfig{Mailer: mailer})
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: "s", Email: "ops@seller.example"})
		runDue(t, s)
		clock.Advance(time.Minute)
		runDue(t, s)
		r := outbox(t, db)[0]
		if r.State != "sent" || r.Attempts != 2 || !r.SentAt.Equal(t0.Add(time.Minute)) || r.LastError != "421 try again later" {
			t.Fatalf("row = %+v, want sent on attempt 2 keeping the first error", r)
		}
	})
}

func TestSenderWithoutATransportFailsTheRowAtOnce(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := notify.NewSender(db, notify.SenderConfig{})
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: "s", Email: "a@b.example", Phone: "+86138"})
		if n := runDue(t, s); n != 2 {
			t.Fatalf("RunDue() = %d, want 2", n)
		}
		for _, r := range outbox(t, db) {
			if r.State != "failed" || r.Attempts != 1 || !strings.Contains(r.LastError, "configured") {
				t.Fatalf("row = %+v, want failed: no transport configured", r)
			}
		}
	})
}

func TestSenderTakesOverARowWhoseSenderDied(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		mailer := &fakeTransport{}
		s := notify.NewSender(db, notify.SenderConfig{Mailer: mailer, Lease: 5 * time.Minute})
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: "mid-retry", Email: "a@b.example"})
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: "last try", Email: "a@b.example"})
		// Two rows claimed by a sender that then died: one on its second
		// attempt, one on its last.
		lease := store.Millis(t0.Add(5 * time.Minute))
		for subject, attempts := range map[string]int{"mid-retry": 2, "last try": 5} {
			if _, err := db.SQL().Exec(`UPDATE notify_outbox SET state = 'sending', attempts = $1, lease_owner = 'dead', lease_until = $2
				WHERE subject = $3`, attempts, lease, subject); err != nil {
				t.Fatal(err)
			}
		}
		if n := runDue(t, s); n != 0 {
			t.Fatalf("RunDue() while the lease holds = %d, want 0", n)
		}
		clock.Advance(5 * time.Minute)
		if n := runDue(t, s); n != 1 {
			t.Fatalf("RunDue() after the lease = %d, want 1", n)
		}
		rows := outbox(t, db)
		if r := rows[0]; r.State != "sent" || r.Attempts != 3 {
			t.Fatalf("mid-retry row = %+v, want sent on attempt 3", r)
		}
		if r := rows[1]; r.State != "failed" || r.Attempts != 5 || !strings.Contains(r.LastError, "stopped") {
			t.Fatalf("last-try row = %+v, want failed without a sixth attempt", r)
		}
		if got := mailer.sent(); len(got) != 1 || got[0].Subject != "mid-retry" {
			t.Fatalf("sent %v, want only the mid-retry row", got)
		}
	})
}

func TestTwoSendersNeverSendTheSameRow(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		const n = 60
		for i := range n {
			post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: fmt.Sprint(i), Email: "a@b.example"})
		}
		mailer := &fakeTransport{}
		var wg sync.WaitGroup
		for _, node := range []string{"a", "b", "c"} {
			s := notify.NewSender(db, notify.SenderConfig{Mailer: mailer, Node: node, Batch: 4})
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.RunDue(context.Background()); err != nil {
					t.Errorf("RunDue(%s) = %v", node, err)
				}
			}()
		}
		wg.Wait()
		seen := map[string]int{}
		for _, m := range mailer.sent() {
			seen[m.Subject]++
		}
		if len(seen) != n || len(mailer.sent()) != n {
			t.Fatalf("%d sends of %d distinct rows, want each of %d rows once", len(mailer.sent()), len(seen), n)
		}
	})
}

func TestStartedSenderIsWokenByACommit(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		mailer := &fakeTransport{sig: make(chan struct{}, 10)}
		// A poll of an hour: only the wake-up can deliver within the test.
		s := notify.NewSender(db, notify.SenderConfig{Mailer: mailer, Poll: time.Hour})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer s.Stop()
		if err := s.Start(context.Background()); err == nil {
			t.Fatal("second Start() = nil, want an error")
		}
		for i := range 2 {
			post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: fmt.Sprint(i), Email: "a@b.example"})
			select {
			case <-mailer.sig:
			case <-time.After(10 * time.Second):
				t.Fatalf("notice %d not sent within 10 s of its commit", i)
			}
		}
		s.Stop()
		s.Stop() // twice is harmless
		// Stopped: a commit wakes nothing, and nothing panics.
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: "after stop", Email: "a@b.example"})
		if got := len(mailer.sent()); got != 2 {
			t.Fatalf("%d sends, want 2", got)
		}
	})
}
