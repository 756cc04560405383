-- The open API's replay protection (package sellerapi), shared by every
-- marketplace node on the database: each nonce a credential used in a call
-- whose signature verified, and when (Unix milliseconds, the accepting
-- node's clock). A second use of a key's nonce anywhere hits the unique
-- index and is refused. A call's ts is within ±window of the node that
-- accepted it, so no node accepts a replay of it once seen_at + 2 × window
-- has passed; rows older than that are deleted as calls come in.
CREATE TABLE sellerapi_nonces (
    key_id  TEXT   NOT NULL,
    nonce   TEXT   NOT NULL,
    seen_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX sellerapi_nonces_key_nonce ON sellerapi_nonces (key_id, nonce);
-- The purge deletes by age.
CREATE INDEX sellerapi_nonces_seen ON sellerapi_nonces (seen_at);
