package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/notify"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// smtpServer is a real SMTP server on 127.0.0.1 (emersion/go-smtp) that
// requires AUTH PLAIN and records the messages it accepts.
type smtpServer struct {
	Addr string

	mu       sync.Mutex
	messages []received
	// rejectRcpt, when set, refuses every recipient with it.
	rejectRcpt *smtp.SMTPError
	rcptTries  int
	tls        bool // whether the last session ran over TLS
}

type received struct {
	From string
	To   []string
	Data []byte
}

const smtpUser, smtpPassword = "souk", "s3cret"

// newSMTPServer starts a server; with tlsConfig it offers STARTTLS,
// otherwise it allows AUTH in clear (net/smtp only sends credentials in
// clear to localhost).
func newSMTPServer(t *testing.T, tlsConfig *tls.Config) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: s, conn: c}, nil
	}))
	srv.Domain = "mx.test"
	srv.TLSConfig = tlsConfig
	srv.AllowInsecureAuth = tlsConfig == nil
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...)
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	auth bool
	msg  received
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != smtpUser || password != smtpPassword {
			return errors.New("invalid username or password")
		}
		ss.auth = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.auth {
		return smtp.ErrAuthRequired
	}
	ss.msg = received{From: from}
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	ss.srv.rcptTries++
	if ss.srv.rejectRcpt != nil {
		return ss.srv.rejectRcpt
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.msg.Data = b
	_, isTLS := ss.conn.TLSConnectionState()
	ss.srv.mu.Lock()
	ss.srv.messages = append(ss.srv.messages, ss.msg)
	ss.srv.tls = isTLS
	ss.srv.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.msg = received{} }
func (ss *smtpSession) Logout() error { return nil }

// selfSigned returns a server TLS config for 127.0.0.1 and a client one
// that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func TestSMTPMailerSendsAnRFC5322Message(t *testing.T) {
	srv := newSMTPServer(t, nil)
	date := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	m := notify.SMTPMailer{Addr: srv.Addr, From: "Souk 市场 <noreply@souk.example>", Username: smtpUser, Password: smtpPassword,
		Clock: souk.NewFakeClock(date)}
	subject := "newInstance 调用失败 — action needed for product 云主机 with a rather long subject line that must be folded"
	body := "您好，\n\nThe call failed.\nA line that is longer than seventy-six characters, so quoted-printable must soft-break it here.\n" +
		"=equals= and trailing space \n.\n.leading dot\n"
	if err := m.Send(context.Background(), "Seller Ops <ops@seller.example>", subject, body); err != nil {
		t.Fatalf("Send() = %v", err)
	}

	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	if got[0].From != "noreply@souk.example" || len(got[0].To) != 1 || got[0].To[0] != "ops@seller.example" {
		t.Fatalf("envelope = %s → %v", got[0].From, got[0].To)
	}
	raw := string(got[0].Data)
	for _, line := range strings.Split(raw, "\r\n") {
		// RFC 5322 asks for at most 78 characters, RFC 2047 for at most
		// 76 on a line with encoded-words.
		if len(line) > 78 || (strings.Contains(line, "=?") && len(line) > 76) {
			t.Errorf("line too long (%d characters): %q", len(line), line)
		}
	}
	t.Logf("received:\n%s", raw)
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	h := msg.Header
	dec := new(mime.WordDecoder)
	gotSubject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || gotSubject != subject {
		t.Errorf("Subject = %q (%v), want %q", gotSubject, err, subject)
	}
	if !strings.HasPrefix(h.Get("Subject"), "=?UTF-8?q?") {
		t.Errorf("raw Subject %q is not RFC 2047 Q-encoded", h.Get("Subject"))
	}
	if d, err := h.Date(); err != nil || !d.Equal(date) {
		t.Errorf("Date = %v (%v), want %v", d, err, date)
	}
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Name != "Souk 市场" || from.Address != "noreply@souk.example" {
		t.Errorf("From = %q → %+v, %v", h.Get("From"), from, err)
	}
	if to, err := mail.ParseAddress(h.Get("To")); err != nil || to.Name != "Seller Ops" || to.Address != "ops@seller.example" {
		t.Errorf("To = %q → %+v, %v", h.Get("To"), to, err)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@souk.example>") || len(id) < 30 {
		t.Errorf("Message-ID = %q", id)
	}
	for k, want := range map[string]string{
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=UTF-8",
		"Content-Transfer-Encoding": "quoted-printable",
	} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	decoded, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(body, "\n", "\r\n")
	// Quoted-printable encodes the trailing space, so it survives.
	if string(decoded) != want {
		t.Errorf("decoded body:\n%q\nwant\n%q", decoded, want)
	}
}

func TestSMTPMailerUpgradesWithStartTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	srv := newSMTPServer(t, serverTLS)
	m := notify.SMTPMailer{Addr: srv.Addr, From: "noreply@souk.example", Username: smtpUser, Password: smtpPassword,
		StartTLS: true, TLSConfig: clientTLS}
	if err := m.Send(context.Background(), "ops@seller.example", "over TLS", "hello"); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.messages) != 1 || !srv.tls {
		t.Fatalf("received %d messages, over TLS %v; want 1 over TLS", len(srv.messages), srv.tls)
	}
}

func TestSMTPMailerRefusesToSendInClearWhenStartTLSIsRequired(t *testing.T) {
	srv := newSMTPServer(t, nil) // offers no STARTTLS
	m := notify.SMTPMailer{Addr: srv.Addr, From: "noreply@souk.example", Username: smtpUser, Password: smtpPassword, StartTLS: true}
	err := m.Send(context.Background(), "ops@seller.example", "s", "b")
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send() = %v, want a STARTTLS error", err)
	}
	if n := len(srv.received()); n != 0 {
		t.Fatalf("server received %d messages, want 0", n)
	}
}

func TestSMTPMailerReportsBadCredentialsAndAddresses(t *testing.T) {
	srv := newSMTPServer(t, nil)
	bad := notify.SMTPMailer{Addr: srv.Addr, From: "noreply@souk.example", Username: smtpUser, Password: "wrong"}
	if err := bad.Send(context.Background(), "ops@seller.example", "s", "b"); err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Fatalf("Send() with a wrong password = %v, want an AUTH error", err)
	}
	good := notify.SMTPMailer{Addr: srv.Addr, From: "noreply@souk.example", Username: smtpUser, Password: smtpPassword}
	for _, to := range []string{"not an address", "a@b.example\r\nBcc: evil@x.example"} {
		if err := good.Send(context.Background(), to, "s", "b"); err == nil {
			t.Fatalf("Send(to %q) = nil, want an error", to)
		}
	}
	// A subject cannot smuggle in a header.
	if err := good.Send(context.Background(), "ops@seller.example", "hi\r\nBcc: evil@x.example", "b"); err != nil {
		t.Fatal(err)
	}
	msg, _ := mail.ReadMessage(strings.NewReader(string(srv.received()[0].Data)))
	if msg.Header.Get("Bcc") != "" || msg.Header.Get("Subject") != "hi Bcc: evil@x.example" {
		t.Fatalf("headers = %v", msg.Header)
	}
}

func TestSMTPMailerGivesUpOnAServerThatHangs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept, never greet
		}
	}()
	m := notify.SMTPMailer{Addr: l.Addr().String(), From: "noreply@souk.example", Timeout: 200 * time.Millisecond}
	start := time.Now()
	err = m.Send(context.Background(), "ops@seller.example", "s", "b")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Send() = %v after %v, want an error within the timeout", err, time.Since(start))
	}
}

// A relay that refuses the recipient: each attempt's error is on the row,
// the row is retried on the schedule, then failed.
func TestRejectedRecipientIsRetriedThenFailed(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		srv := newSMTPServer(t, nil)
		srv.rejectRcpt = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
		s := notify.NewSender(db, notify.SenderConfig{Mailer: notify.SMTPMailer{
			Addr: srv.Addr, From: "noreply@souk.example", Username: smtpUser, Password: smtpPassword}})
		post(t, db, notify.Notice{Recipient: "seller:1", Kind: "k", Subject: "s", Body: "b", Email: "nobody@seller.example"})

		for i, off := range wantAttemptOffsets {
			clock.Set(t0.Add(off))
			if n := runDue(t, s); n != 1 {
				t.Fatalf("attempt %d: RunDue() = %d, want 1", i+1, n)
			}
			r := outbox(t, db)[0]
			if !strings.Contains(r.LastError, "550") || !strings.Contains(r.LastError, "No such user here") ||
				!strings.Contains(r.LastError, "RCPT TO") {
				t.Fatalf("attempt %d: last_error = %q, want the 550 refusal", i+1, r.LastError)
			}
			wantState, wantNext := "pending", t0.Add(off)
			if i+1 < len(wantAttemptOffsets) {
				wantNext = t0.Add(wantAttemptOffsets[i+1])
			} else {
				wantState = "failed"
			}
			if r.State != wantState || r.Attempts != i+1 || (wantState == "pending" && !r.NextAt.Equal(wantNext)) {
				t.Fatalf("attempt %d: row = %+v, want %s next at %v", i+1, r, wantState, wantNext)
			}
		}
		clock.Advance(24 * time.Hour)
		runDue(t, s)
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if srv.rcptTries != len(wantAttemptOffsets) || len(srv.messages) != 0 {
			t.Fatalf("server saw %d RCPT and %d messages, want %d and 0", srv.rcptTries, len(srv.messages), len(wantAttemptOffsets))
		}
	})
}
