-- Orders, their lines and the instances they yield (package order). Times
-- are Unix milliseconds; amounts integer minor units of currency.

CREATE TABLE orders (
    id              TEXT    PRIMARY KEY,
    -- NEW, TRIAL, TRIAL_TO_FORMAL, RENEW, CHANGE, UNSUBSCRIBE
    type            TEXT    NOT NULL,
    buyer_id        TEXT    NOT NULL,
    -- paid (money taken, service being delivered), completed (delivered),
    -- failed (never delivered; refunded in full)
    state           TEXT    NOT NULL,
    amount          BIGINT  NOT NULL,
    currency        TEXT    NOT NULL,
    -- the buyer's Idempotency-Key; NULL when none was given
    idempotency_key TEXT,
    -- the ledger transactions of the payment and of the refund
    payment_tx      BIGINT,
    refund_tx       BIGINT,
    reason          TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

-- A retried request never buys twice.
CREATE UNIQUE INDEX orders_idempotency ON orders (buyer_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX orders_buyer ON orders (buyer_id, created_at);

CREATE TABLE order_lines (
    id          TEXT    PRIMARY KEY,
    order_id    TEXT    NOT NULL REFERENCES orders (id),
    seller_id   TEXT    NOT NULL,
    product_id  TEXT    NOT NULL,
    spec_code   TEXT    NOT NULL,
    -- units bought (1 for a spec without a linear quantity)
    quantity    INTEGER NOT NULL,
    -- periods bought (months or years of a PERIOD spec; 1 otherwise)
    periods     INTEGER NOT NULL,
    unit_price  BIGINT  NOT NULL,
    amount      BIGINT  NOT NULL,
    currency    TEXT    NOT NULL,
    -- the instance the line yields or touches
    instance_id TEXT    NOT NULL,
    -- the time the line pays for, [period_start, period_end): NULL for a
    -- line that pays for no period (ONE_TIME, ON_DEMAND, UNSUBSCRIBE)
    period_start BIGINT,
    period_end   BIGINT,
    created_at  BIGINT  NOT NULL
);

CREATE INDEX order_lines_order ON order_lines (order_id);
CREATE INDEX order_lines_instance ON order_lines (instance_id);

CREATE TABLE order_instances (
    id                 TEXT    PRIMARY KEY,
    buyer_id           TEXT    NOT NULL,
    seller_id          TEXT    NOT NULL,
    product_id         TEXT    NOT NULL,
    spec_code          TEXT    NOT NULL,
    quantity           INTEGER NOT NULL,
    -- provisioning, active, frozen, released, failed
    state              TEXT    NOT NULL,
    -- the order that created it
    order_id           TEXT    NOT NULL REFERENCES orders (id),
    -- what the seller answered: its instance id and how the buyer reaches it
    seller_instance_id TEXT    NOT NULL DEFAULT '',
    front_end_url      TEXT    NOT NULL DEFAULT '',
    admin_url          TEXT    NOT NULL DEFAULT '',
    -- NULL for an instance that does not expire (ONE_TIME, ON_DEMAND)
    expires_at         BIGINT,
    activated_at       BIGINT,
    -- set when the buyer unsubscribed (the instance is then released)
    unsubscribed_at    BIGINT,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

CREATE INDEX order_instances_buyer_spec ON order_instances (buyer_id, product_id, spec_code);
CREATE INDEX order_instances_buyer ON order_instances (buyer_id, created_at);
CREATE INDEX order_instances_expiry ON order_instances (state, expires_at);
