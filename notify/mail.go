package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/souk-market/souk"
)

// Mailer sends one plain-text e-mail.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// SMTPMailer sends e-mail through an SMTP relay (submission, usually port
// 587) with the standard library's net/smtp.
type SMTPMailer struct {
	// Addr is the relay's host:port.
	Addr string
	// From is the sender, with or without a name: "Souk <noreply@example.com>".
	From string
	// Username and Password authenticate with AUTH PLAIN; no Username, no
	// AUTH. net/smtp sends them only over TLS or to localhost.
	Username string
	Password string
	// StartTLS requires the relay to offer STARTTLS and upgrades to TLS
	// before authenticating; a relay that does not offer it is an error,
	// never a silent fall-back to clear text.
	StartTLS bool
	// TLSConfig is used for STARTTLS [system roots, the host of Addr].
	TLSConfig *tls.Config
	// Timeout bounds the whole conversation [30 s].
	Timeout time.Duration
	// Clock stamps the Date header [souk.SystemClock].
	Clock souk.Clock
}

// Send delivers one message to one recipient.
func (m SMTPMailer) Send(ctx context.Context, to, subject, body string) error {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("smtp: sender %q: %w", m.From, err)
	}
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("smtp: recipient %q: %w", to, err)
	}
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("smtp: address %q: %w", m.Addr, err)
	}
	clock := m.Clock
	if clock == nil {
		clock = souk.SystemClock{}
	}
	msg := buildMessage(from, rcpt, subject, body, clock.Now(), messageID(from.Address))

	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", m.Addr, err)
	}
	// net/smtp knows no contexts: the deadline bounds every read and
	// write, and cancelling ctx closes the connection under it.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	defer context.AfterFunc(ctx, func() { conn.Close() })()

	fail := func(step string, err error) error {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return fmt.Errorf("smtp %s: %s: %w", m.Addr, step, err)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fail("greeting", err)
	}
	defer c.Close()
	if m.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fail("STARTTLS", errors.New("the server does not offer STARTTLS"))
		}
		cfg := &tls.Config{}
		if m.TLSConfig != nil {
			cfg = m.TLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if err := c.StartTLS(cfg); err != nil {
			return fail("STARTTLS", err)
		}
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fail("AUTH", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fail("MAIL FROM", err)
	}
	if err := c.Rcpt(rcpt.Address); err != nil {
		return fail("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return fail("DATA", err)
	}
	// The relay accepted the message: a failing QUIT must not make the
	// sender try (and deliver) it again.
	c.Quit()
	return nil
}

// buildMessage returns an RFC 5322 message: UTF-8 plain text, quoted-
// printable so that any line length and any script survive 7-bit relays.
func buildMessage(from, to *mail.Address, subject, body string, date time.Time, id string) []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		if !strings.HasPrefix(value, "\r\n") {
			name += ": "
		} else {
			name += ":"
		}
		b.WriteString(name + value + "\r\n")
	}
	header("Date", date.Format(time.RFC1123Z))
	header("From", from.String())
	header("To", to.String())
	header("Subject", encodeSubject(subject))
	header("Message-ID", id)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(body))
	qp.Close()
	return b.Bytes()
}

// encodeSubject makes subject one safe header value. Line breaks (which
// would let a subject forge headers) become spaces. Non-ASCII text becomes
// RFC 2047 encoded-words of at most 75 characters, each folded onto a line
// of its own — the first too, after "Subject:" — because RFC 2047 limits a
// line holding encoded-words to 76 characters.
func encodeSubject(subject string) string {
	s := strings.Join(strings.Fields(subject), " ")
	enc := mime.QEncoding.Encode("UTF-8", s)
	if enc == s {
		return s
	}
	return "\r\n " + strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// messageID returns a new globally unique Message-ID in the domain of the
// sender's address.
func messageID(fromAddr string) string {
	domain := "souk.invalid"
	if _, d, ok := strings.Cut(fromAddr, "@"); ok && d != "" {
		domain = d
	}
	b := make([]byte, 16)
	rand.Read(b)
	return "<" + hex.EncodeToString(b) + "@" + domain + ">"
}
