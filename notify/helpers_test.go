package notify_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/store"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// sent is one message a fake transport was asked to send.
type sent struct{ To, Subject, Body string }

// fakeTransport is a Mailer and an SMSGateway that records what it is
// asked to send and fails while fail says so.
type fakeTransport struct {
	mu   sync.Mutex
	got  []sent
	fail func(n int) error // n: 1-based number of the call
	sig  chan struct{}     // receives after each send, when set
}

func (f *fakeTransport) record(to, subject, body string) error {
	f.mu.Lock()
	f.got = append(f.got, sent{to, subject, body})
	n, fail := len(f.got), f.fail
	f.mu.Unlock()
	if f.sig != nil {
		f.sig <- struct{}{}
	}
	if fail != nil {
		return fail(n)
	}
	return nil
}

func (f *fakeTransport) Send(_ context.Context, to, subject, body string) error {
	return f.record(to, subject, body)
}

func (f *fakeTransport) sent() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.got...)
}

// smsTransport adapts a fakeTransport to SMSGateway.
type smsTransport struct{ *fakeTransport }

func (s smsTransport) Send(_ context.Context, phone, text string) error {
	return s.record(phone, "", text)
}

func post(t *testing.T, db *store.DB, n notify.Notice) {
	t.Helper()
	if err := db.Tx(context.Background(), func(tx *store.Tx) error { return notify.Post(context.Background(), tx, n) }); err != nil {
		t.Fatalf("Post() = %v", err)
	}
}

// outboxRow is an outbox row as the tests read it.
type outboxRow struct {
	ID        int64
	Channel   string
	Address   string
	Subject   string
	Body      string
	State     string
	Attempts  int
	NextAt    time.Time
	LastError string
	SentAt    time.Time
}

func outbox(t *testing.T, db *store.DB) []outboxRow {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT id, channel, address, subject, body, state, attempts, next_at, last_error, sent_at
		FROM notify_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var next int64
		var sentAt sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Channel, &r.Address, &r.Subject, &r.Body, &r.State, &r.Attempts, &next, &r.LastError, &sentAt); err != nil {
			t.Fatal(err)
		}
		r.NextAt = store.FromMillis(next)
		if sentAt.Valid {
			r.SentAt = store.FromMillis(sentAt.Int64)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func runDue(t *testing.T, s *notify.Sender) int {
	t.Helper()
	n, err := s.RunDue(context.Background())
	if err != nil {
		t.Fatalf("RunDue() = %d, %v", n, err)
	}
	return n
}
