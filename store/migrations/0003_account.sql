-- Accounts (package account): users, their log-in sessions, their API
-- tokens, and recent failed log-ins for the lockout. Sessions and tokens
-- are stored only as the SHA-256 of the secret the holder was shown once.
-- Times are Unix milliseconds.

CREATE TABLE account_users (
    id            TEXT   PRIMARY KEY,
    -- as the user typed it (trimmed), for display and mail
    email         TEXT   NOT NULL,
    -- lower-cased: addresses are unique whatever their case
    email_key     TEXT   NOT NULL UNIQUE,
    name          TEXT   NOT NULL,
    -- argon2id in the PHC string format, parameters included
    password_hash TEXT   NOT NULL,
    -- buyer, seller or operator
    role          TEXT   NOT NULL,
    -- the seller company of a seller member; '' for other roles
    seller_id     TEXT   NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    -- set while the account is disabled
    disabled_at   BIGINT
);

-- A seller's members.
CREATE INDEX account_users_seller ON account_users (seller_id, created_at);

CREATE TABLE account_sessions (
    id           TEXT   PRIMARY KEY,
    user_id      TEXT   NOT NULL REFERENCES account_users (id),
    token_hash   BLOB   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    -- moved forward at most once an hour as the session is used
    last_seen_at BIGINT NOT NULL,
    -- the sliding expiry, never later than the absolute one
    expires_at   BIGINT NOT NULL
);

CREATE INDEX account_sessions_user ON account_sessions (user_id, expires_at);

CREATE TABLE account_tokens (
    id           TEXT   PRIMARY KEY,
    user_id      TEXT   NOT NULL REFERENCES account_users (id),
    name         TEXT   NOT NULL,
    token_hash   BLOB   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    -- moved forward at most once a minute as the token is used
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE INDEX account_tokens_user ON account_tokens (user_id, created_at);

-- Failed log-ins of the last few minutes, per lower-cased e-mail address
-- (known or not, so the lockout tells nothing about who has an account).
CREATE TABLE account_login_failures (
    id        SERIALKEY,
    email_key TEXT   NOT NULL,
    at        BIGINT NOT NULL
);

CREATE INDEX account_login_failures_email ON account_login_failures (email_key, at);
