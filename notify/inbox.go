package notify

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// Message is one in-site message as its recipient reads it.
type Message struct {
	ID        int64
	Recipient string
	Kind      string
	Subject   string
	Body      string
	CreatedAt time.Time
	ReadAt    time.Time // zero while unread
}

// Unread reports whether the recipient has not yet read m.
func (m Message) Unread() bool { return m.ReadAt.IsZero() }

// InboxFilter selects messages of one recipient.
type InboxFilter struct {
	Unread bool
	// BeforeID pages backwards: messages with a smaller id.
	BeforeID int64
	// Limit is the page size: 50 by default, at most 500.
	Limit int
}

// Inbox returns recipient's messages that f selects, newest first.
func Inbox(ctx context.Context, db *store.DB, recipient string, f InboxFilter) ([]Message, error) {
	q := `SELECT id, recipient, kind, subject, body, created_at, read_at FROM notify_inbox WHERE recipient = $1`
	args := []any{recipient}
	if f.Unread {
		q += ` AND read_at IS NULL`
	}
	if f.BeforeID > 0 {
		args = append(args, f.BeforeID)
		q += fmt.Sprintf(` AND id < $%d`, len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	args = append(args, min(limit, 500))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))

	rows, err := db.SQL().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("inbox of %s: %w", recipient, err)
	}
	defer rows.Close()
	var ms []Message
	for rows.Next() {
		var m Message
		var created int64
		var read sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Recipient, &m.Kind, &m.Subject, &m.Body, &created, &read); err != nil {
			return nil, fmt.Errorf("inbox of %s: %w", recipient, err)
		}
		m.CreatedAt = store.FromMillis(created)
		if read.Valid {
			m.ReadAt = store.FromMillis(read.Int64)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inbox of %s: %w", recipient, err)
	}
	return ms, nil
}

// MarkRead marks message id of recipient read. Marking it again keeps the
// first read time. A message of another recipient is ENOTFOUND, exactly as
// a message that does not exist, so ids reveal nothing.
func MarkRead(ctx context.Context, db *store.DB, recipient string, id int64) error {
	res, err := db.SQL().ExecContext(ctx, `UPDATE notify_inbox SET read_at = COALESCE(read_at, $1)
		WHERE id = $2 AND recipient = $3`, store.Millis(db.Clock().Now()), id, recipient)
	if err != nil {
		return fmt.Errorf("mark message %d read: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mark message %d read: %w", id, err)
	} else if n == 0 {
		return souk.Errorf(souk.ENOTFOUND, "Message %d not found.", id)
	}
	return nil
}

// UnreadCount returns how many of recipient's messages are unread.
func UnreadCount(ctx context.Context, db *store.DB, recipient string) (int, error) {
	var n int
	err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM notify_inbox WHERE recipient = $1 AND read_at IS NULL`,
		recipient).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("unread count of %s: %w", recipient, err)
	}
	return n, nil
}
