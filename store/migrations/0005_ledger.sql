-- The double-entry ledger (package settle). Every movement of money is a
-- transaction of entries that sum to zero per currency; an account's
-- balance is the sum of its entries, kept in ledger_balances in the same
-- transaction as the entries so that a debit can be checked against it
-- under a row lock. Amounts are integer minor units of the currency.

CREATE TABLE ledger_transactions (
    id         SERIALKEY,
    memo       TEXT   NOT NULL,
    -- what the transaction belongs to, e.g. order:ID, order:ID:refund, topup
    ref        TEXT   NOT NULL DEFAULT '',
    actor      TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE INDEX ledger_transactions_ref ON ledger_transactions (ref);

CREATE TABLE ledger_entries (
    id             SERIALKEY,
    transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
    account        TEXT   NOT NULL,
    currency       TEXT   NOT NULL,
    -- signed: positive adds to the account's balance, negative takes away
    amount         BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);
CREATE INDEX ledger_entries_account ON ledger_entries (account, currency, id);

-- The running balance of each account and currency: the sum of its
-- entries (CheckInvariant verifies it).
CREATE TABLE ledger_balances (
    account    TEXT   NOT NULL,
    currency   TEXT   NOT NULL,
    balance    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account, currency)
);
