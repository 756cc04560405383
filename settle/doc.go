// Package settle is the marketplace's money: the double-entry ledger every
// payment, refund and top-up is written to (and, later, the sellers'
// statements of ../shared/spec/marketplace.md §8).
//
// # Money rules (the one place they are written)
//
//   - Money is exact: int64 minor units (fen, cents) of an ISO 4217
//     currency (Money). Never a float, never rounded. A price times a
//     quantity times a number of periods is an exact integer product
//     (MulAmount), refused (EINVALID) if it would overflow.
//   - Every movement is a ledger Transaction whose Entries sum to zero in
//     each currency; Post refuses anything else with EINVALID. Currencies
//     are never converted.
//   - An account is a string: "buyer:ID:balance" (BuyerBalance),
//     "seller:ID:payable" (SellerPayable), "platform:clearing",
//     "platform:revenue", "external:topup". An entry's signed amount is
//     added to its account's balance; an account's balance is the sum of
//     its entries.
//   - A buyer's balance never goes negative: a debit beyond it is refused
//     with ECONFLICT "Insufficient balance: X available, Y needed." The
//     check and the debit are one UPDATE under the balance row's lock, so
//     concurrent purchases cannot overspend.
//   - A top-up (TopUp, operators only) moves money from external:topup to
//     the buyer's balance: external:topup is minus everything ever topped up.
//   - A purchase moves its price from the buyer's balance to
//     platform:clearing, in the order's own transaction (package order); a
//     refund moves it back. Clearing holds paid money until settlement
//     moves it to the seller's payable and the platform's revenue.
//   - The invariant (CheckInvariant): every transaction sums to zero per
//     currency, all accounts together sum to zero per currency, each kept
//     balance (ledger_balances: one row for a buyer balance, Shards rows
//     summed for the accounts every purchase touches) equals the sum of its
//     entries, and no buyer balance is negative.
//
// Post runs inside the caller's store.Tx: the business change (an order, a
// refund) and its money move commit together or not at all.
package settle
