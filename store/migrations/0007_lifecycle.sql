-- The rest of an instance's life (package order): trials, expiry and the
-- grace period, changes of spec, and licence codes. Times are Unix
-- milliseconds.

-- saas: provisioned by the seller through newInstance; license: licence
-- codes issued by the marketplace, activated by the seller's software.
ALTER TABLE order_instances ADD COLUMN kind TEXT NOT NULL DEFAULT 'saas';
-- 1 while the instance is a trial (until converted by TRIAL_TO_FORMAL).
ALTER TABLE order_instances ADD COLUMN trial INTEGER NOT NULL DEFAULT 0;
-- When a frozen instance is released unless renewed: the end of its grace
-- period. NULL unless frozen.
ALTER TABLE order_instances ADD COLUMN release_at BIGINT;
-- The CHANGE order waiting for the seller (changeInstanceCheck, then
-- upgradeInstance); NULL when none is. One change at a time.
ALTER TABLE order_instances ADD COLUMN pending_order_id TEXT;
-- When a line's remaining time was taken over by a completed change of
-- spec: from then on it has no unused part (the CHANGE line has it).
ALTER TABLE order_lines ADD COLUMN superseded_at BIGINT;

-- The expiry sweep finds what is due through these, so that its cost grows
-- with what is due, not with what exists: active instances by expiry
-- (order_instances_expiry, 0006) and frozen ones by the end of grace.
CREATE INDEX order_instances_grace ON order_instances (state, release_at);

-- Licence codes of licence products: issued when bought, one per unit.
CREATE TABLE order_licenses (
    -- the code itself, as given to the buyer and sent to the seller
    code           TEXT    PRIMARY KEY,
    instance_id    TEXT    NOT NULL REFERENCES order_instances (id),
    seller_id      TEXT    NOT NULL,
    product_id     TEXT    NOT NULL,
    -- issued (not yet activated), activated, frozen, released
    state          TEXT    NOT NULL,
    -- when the seller's software activated it, and the effect time it gave
    activated_at   BIGINT,
    effective_at   BIGINT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

CREATE INDEX order_licenses_instance ON order_licenses (instance_id);

-- Periodic jobs (package jobs) run on one node at a time: the holder of a
-- job's lease until it expires.
CREATE TABLE job_leases (
    job        TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
