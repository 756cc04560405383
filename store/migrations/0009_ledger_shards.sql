-- The balances of shared accounts (platform:clearing takes a line of every
-- purchase) are kept in several rows, shards, so that concurrent
-- transactions do not queue for one row lock; an account's balance is the
-- sum of its shards. Accounts that must never go negative (buyer
-- balances) keep one row, shard 0, so that the check and the debit stay
-- one statement under one lock (package settle).

CREATE TABLE ledger_balance_shards (
    account    TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    shard      INTEGER NOT NULL,
    balance    BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (account, currency, shard)
);

INSERT INTO ledger_balance_shards (account, currency, shard, balance, updated_at)
    SELECT account, currency, 0, balance, updated_at FROM ledger_balances;

DROP TABLE ledger_balances;

ALTER TABLE ledger_balance_shards RENAME TO ledger_balances;
