-- Notices to people (package notify): the in-site inbox, and the outbox of
-- e-mails and SMS the sender delivers with retries. Times are Unix
-- milliseconds.

CREATE TABLE notify_inbox (
    id         SERIALKEY,
    -- who reads it: "seller:ID", "user:ID", …
    recipient  TEXT   NOT NULL,
    -- what it is about, for filtering and icons: "delivery.failed", …
    kind       TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);

-- A recipient's messages, newest first.
CREATE INDEX notify_inbox_recipient ON notify_inbox (recipient, id);
-- Unread messages and their count, read on every page of the console.
CREATE INDEX notify_inbox_unread ON notify_inbox (recipient, id) WHERE read_at IS NULL;

CREATE TABLE notify_outbox (
    id          SERIALKEY,
    -- 'email' or 'sms'
    channel     TEXT    NOT NULL,
    -- the e-mail address or phone number, as it was when the notice was
    -- posted
    address     TEXT    NOT NULL,
    recipient   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    -- pending (waiting for an attempt), sending (claimed by a sender
    -- until lease_until), sent, failed (gave up)
    state       TEXT    NOT NULL,
    -- attempts begun, counted when a sender claims the row
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     BIGINT  NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    sent_at     BIGINT
);

-- Claiming: due rows by state and time.
CREATE INDEX notify_outbox_due ON notify_outbox (state, next_at);
