// Package delivery is the production-interface engine: it delivers every
// call the marketplace owes a seller, at least once, in order per instance,
// licence or enterprise, under the retry policy of its scenario
// (../shared/spec/protocol.md §8), and records every attempt as a
// production interface message.
//
// Calls are rows (delivery_calls), enqueued by Enqueue inside the caller's
// transaction, so a call exists exactly when the business change that owes
// it was committed. The Engine claims due calls in batches under a lease,
// sends them with protocol.Client, and writes the outcomes back in batches,
// running the caller's hooks (Hooks) in the same transaction as the
// outcome. Attempts are rows too (delivery_attempts): the message log that
// sellers and operators read and re-invoke from.
//
// Ordering: only the oldest unfinished call of a key is eligible. Fairness:
// at most Config.PerSellerInFlight calls of one seller are in flight, and
// claiming goes round-robin across sellers, so a seller that hangs cannot
// hold up the others. Crashes: a claimed call whose lease runs out is
// claimable again; duplicates are bounded by what was in flight.
package delivery
