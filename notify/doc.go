// Package notify tells people what the marketplace needs them to know: in
// the in-site inbox, by e-mail (SMTP) and by SMS (an HTTP gateway).
//
// Post records a Notice inside the caller's transaction: one inbox row
// (notify_inbox) and one outbox row (notify_outbox) per external channel the
// recipient has. So a notice exists exactly when the change it reports was
// committed, and a rolled-back change tells no one anything. The inbox is
// read with Inbox, MarkRead and UnreadCount; a recipient is a string such as
// "seller:ID" or "user:ID", and the caller has checked who may read it.
//
// A Sender delivers the outbox. It claims due rows under a lease
// (PostgreSQL: FOR UPDATE SKIP LOCKED, so several nodes share the work),
// counts the attempt, sends through a Mailer (SMTPMailer) or an SMSGateway
// (HTTPSMS), and records the outcome: sent, or pending again after 1 min,
// 5 min, then every 30 min, or failed after 5 attempts. A commit that
// queued rows wakes the Senders of the process (tx.AfterCommit); polling
// only covers retries and other nodes. Time comes from the database's
// clock, so tests run the schedule on a fake clock with RunDue.
//
// Delivery semantics: a row recorded as sent is never sent again, and two
// senders never hold the same row at once. A send whose outcome is lost —
// the process dies mid-send, or the relay accepts the message but the
// answer never arrives — counts as a failed attempt and is tried again
// after its lease; e-mail and SMS themselves offer nothing stronger, and a
// rare duplicate notice is better than a lost one.
//
// Hooks connects the package to the delivery engine (delivery.Hooks.Failed):
// each failing production-interface call gives its seller one notice when
// it starts failing and one when its policy gives up or it awaits a
// decision (marketplace spec §5, protocol spec §8), written by
// DeliveryFailureNotice. Where a seller's notices go comes from Recipients,
// which the catalogue provides.
package notify
