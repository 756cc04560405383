-- The delivery engine: calls to sellers' production interfaces, the
-- attempts made for them (the production interface message log), and
-- re-invocations. Times are Unix milliseconds.

CREATE TABLE delivery_calls (
    id            SERIALKEY,
    seller_id     TEXT    NOT NULL,
    product_id    TEXT    NOT NULL,
    -- the instance, licence or enterprise the call concerns: calls of one
    -- key are delivered in id order
    order_key     TEXT    NOT NULL,
    activity      TEXT    NOT NULL,
    body          BLOB    NOT NULL,
    policy        TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    -- set when newInstance answered 000004: the instance being polled with
    -- queryInstance until it is ready
    poll_id       TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- attempts made before the current policy stage began (a re-invocation
    -- starts a new stage: a fresh schedule and deadline)
    stage_start   INTEGER NOT NULL DEFAULT 0,
    next_at       BIGINT  NOT NULL,
    first_at      BIGINT,
    deadline      BIGINT,
    lease_owner   TEXT,
    lease_until   BIGINT,
    last_outcome  TEXT    NOT NULL DEFAULT '',
    last_code     TEXT    NOT NULL DEFAULT '',
    last_error    TEXT    NOT NULL DEFAULT '',
    notified_stage INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    finished_at   BIGINT
);

-- No index leads with the state: every claim and every result moves calls
-- between states, and such an index, holding every waiting call of every
-- seller, made those writes the slowest part of the engine (measured: with
-- one seller's backlog hanging, claims slowed the healthy sellers by 15 %).
-- Queries by state go seller by seller through delivery_calls_seller_due.
-- Per-key ordering: is there an older unfinished call of this key? The
-- state is in the index so that the check reads only this index, never the
-- far larger set of all unfinished calls.
CREATE INDEX delivery_calls_key ON delivery_calls (order_key, state, id);
-- The seller's and operator's message lists.
CREATE INDEX delivery_calls_seller ON delivery_calls (seller_id, state, id);
-- Claiming one seller's due calls.
CREATE INDEX delivery_calls_seller_due ON delivery_calls (seller_id, state, next_at, id);

-- Every seller that has ever had a call: claiming visits each in turn, so
-- its cost grows with the sellers, not with the calls waiting.
CREATE TABLE delivery_sellers (
    seller_id TEXT PRIMARY KEY
);

CREATE TABLE delivery_attempts (
    id           SERIALKEY,
    call_id      BIGINT  NOT NULL REFERENCES delivery_calls (id),
    n            INTEGER NOT NULL,
    node         TEXT    NOT NULL,
    activity     TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    latency_ms   BIGINT  NOT NULL,
    url          TEXT    NOT NULL,
    request      BLOB    NOT NULL,
    http_status  INTEGER NOT NULL,
    outcome      TEXT    NOT NULL,
    result_code  TEXT    NOT NULL,
    result_msg   TEXT    NOT NULL,
    response     BLOB    NOT NULL,
    error        TEXT    NOT NULL,
    -- what happens next, in words: "retry at …", "exhausted", "succeeded"
    next         TEXT    NOT NULL
);

CREATE INDEX delivery_attempts_call ON delivery_attempts (call_id, n);

CREATE TABLE delivery_reinvocations (
    id       SERIALKEY,
    call_id  BIGINT NOT NULL REFERENCES delivery_calls (id),
    actor    TEXT   NOT NULL,
    reason   TEXT   NOT NULL,
    at       BIGINT NOT NULL
);
