package notify

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// Notice is something to tell one person or organisation: always in the
// in-site inbox, and by e-mail and SMS when the recipient has them.
type Notice struct {
	// Recipient is whose inbox it lands in: "seller:ID", "user:ID", …
	Recipient string
	// Kind says what it is about, for filtering: "delivery.failed", …
	Kind    string
	Subject string
	Body    string
	// Email and Phone are where to send it besides the inbox; empty means
	// the recipient has no such channel.
	Email string
	Phone string
}

// The external channels of the outbox.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// smsMaxRunes caps the SMS text: gateways split long texts into several
// billed messages, and the inbox and e-mail carry the details anyway.
const smsMaxRunes = 300

// Post records n in the caller's transaction: the inbox message, and one
// outbox row per external channel the recipient has. The e-mail and SMS go
// out only if tx commits — the same transactional outbox as delivery's
// calls — and a running Sender is woken after the commit.
//
// Addresses are not checked here: a bad one fails its outbox row, it does
// not fail the caller's transaction (often the delivery engine's record of
// an attempt).
func Post(ctx context.Context, tx *store.Tx, n Notice) error {
	if strings.TrimSpace(n.Recipient) == "" || strings.TrimSpace(n.Kind) == "" || strings.TrimSpace(n.Subject) == "" {
		return souk.Errorf(souk.EINVALID, "A notice needs a recipient, a kind and a subject.")
	}
	now := store.Millis(tx.Now)
	_, err := tx.ExecContext(ctx, `INSERT INTO notify_inbox (recipient, kind, subject, body, created_at)
		VALUES ($1, $2, $3, $4, $5)`, n.Recipient, n.Kind, n.Subject, n.Body, now)
	if err != nil {
		return fmt.Errorf("post notice to %s: %w", n.Recipient, err)
	}
	queue := func(channel, address, subject, body string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notify_outbox
			(channel, address, recipient, kind, subject, body, state, next_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)`,
			channel, address, n.Recipient, n.Kind, subject, body, now)
		if err != nil {
			return fmt.Errorf("queue %s notice to %s: %w", channel, n.Recipient, err)
		}
		return nil
	}
	queued := false
	if email := strings.TrimSpace(n.Email); email != "" {
		if err := queue(ChannelEmail, email, n.Subject, n.Body); err != nil {
			return err
		}
		queued = true
	}
	if phone := strings.TrimSpace(n.Phone); phone != "" {
		// An SMS is the subject alone: short, and it points to the inbox.
		if err := queue(ChannelSMS, phone, "", truncate(n.Subject, smsMaxRunes)); err != nil {
			return err
		}
		queued = true
	}
	if queued {
		tx.AfterCommit(wakeSenders)
	}
	return nil
}

// truncate shortens s to at most max runes, marking the cut.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
