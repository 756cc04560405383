package notify

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/souk-market/souk/store"
)

// The outbox schedule: after the nth failed attempt the next one waits
// retryDelays[n-1] (the last delay repeats); after maxAttempts attempts the
// row is given up as failed. A notice that cannot go out within about an
// hour is stale, and the inbox still has it.
var retryDelays = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute}

const maxAttempts = 5

// maxErrorLen caps the error text kept on a row: enough to diagnose, small
// enough that a chatty server cannot bloat the table.
const maxErrorLen = 1000

// SenderConfig tunes a Sender. Zero values take the defaults in brackets.
type SenderConfig struct {
	// Mailer sends the e-mails; without one, e-mail rows fail at once
	// (there is nothing to retry with).
	Mailer Mailer
	// SMS sends the SMS; without one, SMS rows fail at once.
	SMS SMSGateway
	// Node names this process in leases [a random id].
	Node string
	// Batch is the most rows claimed in one transaction [32].
	Batch int
	// Lease is how long a claimed row is this node's; it must outlast one
	// send [5 min].
	Lease time.Duration
	// SendTimeout bounds one send, whatever the transport does [2 min].
	SendTimeout time.Duration
	// Poll is the longest the loop sleeps when nothing wakes it [30 s].
	Poll   time.Duration
	Logger *slog.Logger
}

// Sender delivers the outbox: due rows are claimed under a lease, sent
// through the Mailer or SMSGateway, and marked sent, or rescheduled, or
// failed. Start runs it in the background; RunDue is one pass, for tests
// and tools.
type Sender struct {
	db  *store.DB
	cfg SenderConfig
	log *slog.Logger

	wake  chan struct{}
	runMu sync.Mutex // one pass at a time

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewSender returns a Sender over db. Time comes from db's clock.
func NewSender(db *store.DB, cfg SenderConfig) *Sender {
	if cfg.Node == "" {
		b := make([]byte, 4)
		rand.Read(b)
		cfg.Node = "notify-" + hex.EncodeToString(b)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 2 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Sender{db: db, cfg: cfg, log: cfg.Logger.With("node", cfg.Node), wake: make(chan struct{}, 1)}
}

// Post wakes every started Sender of this process after a commit. Waking
// one of another database (tests run several) costs one empty pass; other
// processes find the rows by polling.
var started = struct {
	sync.Mutex
	senders map[*Sender]bool
}{senders: map[*Sender]bool{}}

func wakeSenders() {
	started.Lock()
	defer started.Unlock()
	for s := range started.senders {
		s.Wake()
	}
}

// Wake makes the Sender look for due rows now.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start runs the Sender in the background until Stop or until ctx ends.
func (s *Sender) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return errors.New("notify sender already started")
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	started.Lock()
	started.senders[s] = true
	started.Unlock()
	go s.loop(ctx)
	return nil
}

// Stop stops the Sender and waits for the send in progress, if any, to be
// recorded.
func (s *Sender) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	started.Lock()
	delete(started.senders, s)
	started.Unlock()
	cancel()
	<-done
}

func (s *Sender) loop(ctx context.Context) {
	defer close(s.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
		wait := s.cfg.Poll
		if _, err := s.RunDue(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("notify: send due outbox rows", "err", err)
		} else if at, ok, err := s.NextDue(ctx); err == nil && ok {
			// Sleep until the next retry rather than a whole poll; the
			// floor keeps a row another node holds from spinning us.
			wait = min(wait, max(at.Sub(s.db.Clock().Now()), 100*time.Millisecond))
		}
		timer.Reset(wait)
	}
}

// outboxRow is a claimed row: what to send, and the attempt it is.
type outboxRow struct {
	id       int64
	channel  string
	address  string
	subject  string
	body     string
	attempts int
}

// RunDue attempts every outbox row due now, one after another, records the
// outcomes, and returns how many it attempted. A row that is sent is never
// claimed again, so a second pass sends nothing twice.
func (s *Sender) RunDue(ctx context.Context) (int, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	total := 0
	for {
		rows, err := s.claim(ctx)
		if err != nil || len(rows) == 0 {
			return total, err
		}
		for _, r := range rows {
			sendErr := s.send(ctx, r)
			// Record even when ctx ended (Stop): otherwise the row would
			// wait a whole lease before anyone tried again.
			if err := s.record(context.WithoutCancel(ctx), r, sendErr); err != nil {
				return total, err
			}
			total++
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
		}
	}
}

// NextDue returns when the earliest waiting row is due (or its claim runs
// out), and false if no row waits.
func (s *Sender) NextDue(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	err := s.db.SQL().QueryRowContext(ctx, `SELECT min(CASE WHEN state = 'pending' THEN next_at ELSE lease_until END)
		FROM notify_outbox WHERE state IN ('pending', 'sending')`).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, false, err
	}
	return store.FromMillis(at.Int64), true, nil
}

// due is the claim condition: waiting rows whose time has come, and rows
// whose claimer died (its lease ran out) — the attempt it began counts.
const due = `((state = 'pending' AND next_at <= $1) OR (state = 'sending' AND lease_until <= $1 AND attempts < $2))`

// claim takes up to Batch due rows for this node, counting the attempt.
// Counting at claim bounds the attempts even if a send crashes the process
// every time.
func (s *Sender) claim(ctx context.Context) ([]outboxRow, error) {
	var out []outboxRow
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		now := store.Millis(tx.Now)
		// A claimer that died during the last allowed attempt: give up.
		if _, err := tx.ExecContext(ctx, `UPDATE notify_outbox
			SET state = 'failed', lease_owner = NULL, lease_until = NULL,
			    last_error = 'the sender stopped during the last attempt'
			WHERE state = 'sending' AND lease_until <= $1 AND attempts >= $2`, now, maxAttempts); err != nil {
			return err
		}
		// On PostgreSQL, SKIP LOCKED lets nodes claim side by side, and the
		// outer condition re-checks rows another node claimed meanwhile.
		lock := ""
		if tx.Engine == store.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.QueryContext(ctx, `UPDATE notify_outbox
			SET state = 'sending', attempts = attempts + 1, lease_owner = $3, lease_until = $4
			WHERE id IN (SELECT id FROM notify_outbox WHERE `+due+` ORDER BY next_at, id LIMIT $5`+lock+`)
			  AND `+due+`
			RETURNING id, channel, address, subject, body, attempts`,
			now, maxAttempts, s.cfg.Node, now+s.cfg.Lease.Milliseconds(), s.cfg.Batch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r outboxRow
			if err := rows.Scan(&r.id, &r.channel, &r.address, &r.subject, &r.body, &r.attempts); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim outbox rows: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// permanent marks an error no retry can cure.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// unconfigured is the error of a channel the marketplace has no transport
// for: expected (a development marketplace sends no e-mail or SMS), so the
// row fails quietly, with the reason kept on it, instead of being logged
// as a failure.
type unconfigured string

func (e unconfigured) Error() string { return string(e) }

func (s *Sender) send(ctx context.Context, r outboxRow) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()
	switch r.channel {
	case ChannelEmail:
		if s.cfg.Mailer == nil {
			return permanent{unconfigured("no e-mail transport is configured")}
		}
		return s.cfg.Mailer.Send(ctx, r.address, r.subject, r.body)
	case ChannelSMS:
		if s.cfg.SMS == nil {
			return permanent{unconfigured("no SMS gateway is configured")}
		}
		return s.cfg.SMS.Send(ctx, r.address, r.body)
	}
	return permanent{fmt.Errorf("unknown channel %q", r.channel)}
}

// record writes the outcome of r's attempt: sent, or pending again at the
// next time of the schedule, or failed for good.
func (s *Sender) record(ctx context.Context, r outboxRow, sendErr error) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		now := tx.Now
		state, nextAt := "sent", now
		var sentAt, lastErr any // NULL leaves last_error as it was
		if sendErr == nil {
			sentAt = store.Millis(now)
		} else {
			lastErr = errorText(sendErr)
			var p permanent
			if r.attempts >= maxAttempts || errors.As(sendErr, &p) {
				state = "failed"
			} else {
				state = "pending"
				nextAt = now.Add(retryDelays[min(r.attempts, len(retryDelays))-1])
			}
			level := slog.LevelWarn
			if errors.As(sendErr, new(unconfigured)) {
				level = slog.LevelDebug
			}
			s.log.Log(ctx, level, "notify: send failed", "row", r.id, "channel", r.channel, "attempt", r.attempts, "state", state, "err", sendErr)
		}
		res, err := tx.ExecContext(ctx, `UPDATE notify_outbox
			SET state = $1, next_at = $2, sent_at = $3, last_error = COALESCE($4, last_error),
			    lease_owner = NULL, lease_until = NULL
			WHERE id = $5 AND state = 'sending' AND lease_owner = $6`,
			state, store.Millis(nextAt), sentAt, lastErr, r.id, s.cfg.Node)
		if err != nil {
			return fmt.Errorf("record outbox row %d: %w", r.id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// The lease ran out mid-send and another node claimed the
			// row: the outcome is theirs to record.
			s.log.Warn("notify: outbox lease lost before the outcome was recorded", "row", r.id)
		}
		return nil
	})
}

// errorText is err as stored: valid UTF-8 (PostgreSQL refuses anything
// else, and a server's reply may be anything) and capped.
func errorText(err error) string {
	t := strings.ToValidUTF8(err.Error(), "?")
	if len(t) > maxErrorLen {
		t = strings.ToValidUTF8(t[:maxErrorLen], "") + "…"
	}
	return t
}
