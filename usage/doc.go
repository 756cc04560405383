// Package usage is pay-per-use (../shared/spec/marketplace.md §4): the usage
// records sellers push through the open API (protocol.md §6) for their
// ON_DEMAND instances, rated into charges, and billed to the buyers'
// balances.
//
// # Records
//
// Push stores a batch of records inside the caller's transaction, all of
// them or none: one record for an instance that is not a pay-per-use
// instance of the pushing seller's, a malformed value or time, or a batch
// of more than MaxRecords, refuses the whole batch (EINVALID, naming the
// record) and stores nothing. A record names its instance by the id the
// seller answered to newInstance (order_instances.seller_instance_id) or,
// when that is unambiguous, by the marketplace's own instance id. Usage is
// accepted for instances that are active, frozen or released (a seller may
// report the last usage of a released instance), never before the
// instance was created, never ending in the future (beyond the clock
// window of the open API), and always with begin < end.
//
// The instance is read from order_instances inside the push's transaction
// (package order has no reader that runs in a caller's transaction), and
// the spec's charging mode and price from the catalogue before it
// (SellerRates: the catalogue reads outside transactions).
//
// Each metering_sn is counted once per seller: a record whose metering_sn
// the seller pushed before (in an earlier batch or earlier in the same
// one) is accepted and reported as a duplicate, and not stored or charged
// again — whatever else it says (the first record wins). A unique index on
// (seller, metering_sn) makes this hold for concurrent pushes too.
//
// # Values and rating (the rule, in one place)
//
// A usage value is a decimal > 0 with at most 4 decimals and at most 8
// integer digits (KooGallery's Double(12,4)), parsed from its text exactly
// — never through a float — into a Quantity of ten-thousandths of a unit.
// Its charge, in minor units of the spec's currency, is
//
//	charge = round_half_up(price × quantity ÷ 10000)
//
// where price is the spec's listed price per unit of use (catalog.Spec.Price
// of the instance's ON_DEMAND spec, as listed when the record is pushed),
// computed exactly with big integers; a charge that does not fit in int64
// is refused. Each record is rated on its own, so the sum of the charges
// of a period is the sum of its rounded records. A charge may round to 0;
// it is billed without moving money.
//
// # Billing (the rule)
//
// Bill moves every instance's owed charges to the ledger, one database
// transaction per instance (so one buyer's trouble never holds up
// another's): oldest first, it takes charges while the buyer's balance in
// their currency covers them, posts their sum in one ledger transaction
// (buyer balance → platform:clearing, ref "usage:INSTANCE"), and marks
// them billed with that transaction. The first charge the balance cannot
// cover, and every later one of that instance and currency, stays owed:
// its failure is counted and the reason kept on the record, and the next
// Bill tries again (after a top-up it succeeds). The ledger never goes
// negative: settle.Post refuses a debit beyond the balance under the
// balance row's lock, and if a concurrent purchase spent the money
// between the reading and the posting, the instance's transaction rolls
// back whole and its charges stay owed until the next Bill. The owed
// records are locked as they are read (PostgreSQL), so two Bills at once —
// a job whose lease ran out under it, and another node's — charge each
// record once.
//
// A released instance takes no usage that ends after its release (the
// buyer unsubscribed then): the seller reports what was used before.
package usage
