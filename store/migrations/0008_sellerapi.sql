-- The seller → marketplace open API (package sellerapi) and pay-per-use
-- usage (package usage). Times are Unix milliseconds; amounts integer
-- minor units of currency.

-- A seller's open API credentials: the key id names the credential in
-- every call (X-Souk-Key); the secret signs the calls (HMAC), so it must
-- be recoverable: it is kept sealed with the marketplace key
-- (catalog.Keyring, bound to the key id), never in clear.
CREATE TABLE sellerapi_credentials (
    key_id     TEXT    PRIMARY KEY,
    seller_id  TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    secret     BLOB    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    -- NULL while the credential is valid
    revoked_at BIGINT,
    revoked_by TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX sellerapi_credentials_seller ON sellerapi_credentials (seller_id, created_at);

-- Usage records pushed by sellers for their pay-per-use (ON_DEMAND)
-- instances, each rated into a charge when accepted, and billed later.
CREATE TABLE usage_records (
    id           SERIALKEY,
    seller_id    TEXT    NOT NULL,
    -- the seller's unique id of the record: counted once per seller
    metering_sn  TEXT    NOT NULL,
    -- the marketplace's instance (order_instances.id), its buyer and spec
    instance_id  TEXT    NOT NULL,
    buyer_id     TEXT    NOT NULL,
    product_id   TEXT    NOT NULL,
    spec_code    TEXT    NOT NULL,
    -- the metered period, and when the seller says it recorded it (NULL:
    -- not said)
    begin_at     BIGINT  NOT NULL,
    end_at       BIGINT  NOT NULL,
    recorded_at  BIGINT,
    -- the usage in ten-thousandths of a unit (usage_value × 10000, exact)
    quantity     BIGINT  NOT NULL,
    -- the rate (the spec's price per unit) and the charge it gave
    unit_price   BIGINT  NOT NULL,
    currency     TEXT    NOT NULL,
    charge       BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    -- NULL while owed; then when it was billed and the ledger transaction
    -- (NULL for a charge of zero, which moves no money)
    billed_at    BIGINT,
    ledger_tx    BIGINT,
    -- the attempts to bill it that the buyer's balance could not cover,
    -- and the last refusal
    bill_failures INTEGER NOT NULL DEFAULT 0,
    bill_error   TEXT    NOT NULL DEFAULT ''
);

CREATE UNIQUE INDEX usage_records_sn ON usage_records (seller_id, metering_sn);
-- Billing reads only what is owed.
CREATE INDEX usage_records_owed ON usage_records (instance_id, id) WHERE billed_at IS NULL;
CREATE INDEX usage_records_instance ON usage_records (instance_id, id);

-- A usage record names the instance by the id the seller gave it
-- (newInstance's instanceId); this finds it without a scan.
CREATE INDEX order_instances_seller_instance ON order_instances (seller_id, seller_instance_id);
