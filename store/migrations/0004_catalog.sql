-- The catalogue (package catalog): sellers and their join applications,
-- business information certifications, products with their listed version,
-- publish applications, delisted specs and the review audit trail. Times
-- are Unix milliseconds. Product contents are JSON snapshots (TEXT): the
-- listed version on the product, the proposed version on each application.

CREATE TABLE catalog_sellers (
    id                  TEXT    PRIMARY KEY,
    -- pending, approved, rejected: the state of the latest join application
    state               TEXT    NOT NULL,
    -- copied from the latest join application
    company_name        TEXT    NOT NULL,
    registration_number TEXT    NOT NULL,
    contact_name        TEXT    NOT NULL,
    contact_email       TEXT    NOT NULL,
    contact_phone       TEXT    NOT NULL,
    -- the user who applied: the seller's first member
    first_member        TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);

CREATE INDEX catalog_sellers_first_member ON catalog_sellers (first_member);
CREATE INDEX catalog_sellers_registration ON catalog_sellers (registration_number);

-- Every join application, kept after review: a rejected seller's
-- re-application is a new row.
CREATE TABLE catalog_seller_applications (
    id                  SERIALKEY,
    seller_id           TEXT    NOT NULL REFERENCES catalog_sellers (id),
    applicant           TEXT    NOT NULL,
    company_name        TEXT    NOT NULL,
    registration_number TEXT    NOT NULL,
    contact_name        TEXT    NOT NULL,
    contact_email       TEXT    NOT NULL,
    contact_phone       TEXT    NOT NULL,
    state               TEXT    NOT NULL,
    reason              TEXT    NOT NULL DEFAULT '',
    submitted_at        BIGINT  NOT NULL,
    reviewed_by         TEXT    NOT NULL DEFAULT '',
    reviewed_at         BIGINT
);

-- At most one application under review per seller.
CREATE UNIQUE INDEX catalog_seller_applications_pending ON catalog_seller_applications (seller_id) WHERE state = 'pending';
CREATE INDEX catalog_seller_applications_seller ON catalog_seller_applications (seller_id, id);
CREATE INDEX catalog_seller_applications_state ON catalog_seller_applications (state, id);

-- Business information certifications. The account number is kept in
-- plain text for now (settlement reads it); reads mask it for anyone but
-- the seller's members.
CREATE TABLE catalog_certifications (
    id               SERIALKEY,
    seller_id        TEXT    NOT NULL REFERENCES catalog_sellers (id),
    account_holder   TEXT    NOT NULL,
    bank             TEXT    NOT NULL,
    account_number   TEXT    NOT NULL,
    tax_registration TEXT    NOT NULL,
    -- basis points: 600 = 6 %
    tax_rate         INTEGER NOT NULL,
    state            TEXT    NOT NULL,
    reason           TEXT    NOT NULL DEFAULT '',
    submitted_by     TEXT    NOT NULL,
    submitted_at     BIGINT  NOT NULL,
    reviewed_by      TEXT    NOT NULL DEFAULT '',
    reviewed_at      BIGINT
);

CREATE UNIQUE INDEX catalog_certifications_pending ON catalog_certifications (seller_id) WHERE state = 'pending';
CREATE INDEX catalog_certifications_seller ON catalog_certifications (seller_id, state, id);
CREATE INDEX catalog_certifications_state ON catalog_certifications (state, id);

CREATE TABLE catalog_products (
    id                    TEXT    PRIMARY KEY,
    seller_id             TEXT    NOT NULL REFERENCES catalog_sellers (id),
    -- the listed version (JSON), what buyers see; NULL until the first
    -- approved application
    listed                TEXT,
    listed_at             BIGINT,
    -- copied from the listed version for the catalogue's queries
    type                  TEXT    NOT NULL DEFAULT '',
    public                INTEGER NOT NULL DEFAULT 0,
    -- lower-cased name and description, for text search
    search                TEXT    NOT NULL DEFAULT '',
    -- the access key, AES-GCM under the marketplace key; the previous one
    -- stays valid for a grace period after access_key_rotated_at
    access_key            BLOB    NOT NULL,
    previous_access_key   BLOB,
    access_key_rotated_at BIGINT,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL
);

CREATE INDEX catalog_products_seller ON catalog_products (seller_id, id);
CREATE INDEX catalog_products_catalogue ON catalog_products (public, type, id) WHERE listed IS NOT NULL;

-- Publish applications: publish (a new product), modify (a listed one),
-- delist_spec (one spec, final).
CREATE TABLE catalog_applications (
    id           SERIALKEY,
    product_id   TEXT    NOT NULL REFERENCES catalog_products (id),
    seller_id    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    -- for delist_spec: the spec taken off sale
    spec_code    TEXT    NOT NULL DEFAULT '',
    -- the product as it will be listed once approved (JSON)
    snapshot     TEXT    NOT NULL,
    -- draft, submitted, approved, rejected, withdrawn
    state        TEXT    NOT NULL,
    reason       TEXT    NOT NULL DEFAULT '',
    -- the rejected or withdrawn application this one revises
    revised_from BIGINT,
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    submitted_at BIGINT,
    reviewed_by  TEXT    NOT NULL DEFAULT '',
    reviewed_at  BIGINT
);

-- One open (draft or submitted) application per product.
CREATE UNIQUE INDEX catalog_applications_open ON catalog_applications (product_id) WHERE state IN ('draft', 'submitted');
CREATE INDEX catalog_applications_product ON catalog_applications (product_id, id);
CREATE INDEX catalog_applications_seller ON catalog_applications (seller_id, id);
CREATE INDEX catalog_applications_state ON catalog_applications (state, id);

-- Specs taken off sale by an approved delist_spec application: never to
-- be sold again under that code.
CREATE TABLE catalog_delisted_specs (
    product_id     TEXT   NOT NULL REFERENCES catalog_products (id),
    spec_code      TEXT   NOT NULL,
    application_id BIGINT NOT NULL,
    delisted_at    BIGINT NOT NULL,
    PRIMARY KEY (product_id, spec_code)
);

-- The audit trail: every approval, rejection and withdrawal of a join
-- application, a certification or a publish application.
CREATE TABLE catalog_reviews (
    id         SERIALKEY,
    -- seller (a join application), certification, application
    subject    TEXT   NOT NULL,
    subject_id BIGINT NOT NULL,
    seller_id  TEXT   NOT NULL,
    -- approve, reject, withdraw
    action     TEXT   NOT NULL,
    actor      TEXT   NOT NULL,
    actor_role TEXT   NOT NULL,
    reason     TEXT   NOT NULL DEFAULT '',
    at         BIGINT NOT NULL
);

CREATE INDEX catalog_reviews_seller ON catalog_reviews (seller_id, id);
CREATE INDEX catalog_reviews_subject ON catalog_reviews (subject, subject_id, id);
