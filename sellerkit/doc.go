// Package sellerkit is the SDK a seller imports to serve the marketplace's
// production interfaces (../shared/spec/protocol.md).
//
// A seller implements Seller — one method per interface, embedding
// Unimplemented for the optional ones it does not offer — and mounts
// NewHandler at its production URL. The handler verifies every call's
// signature, refuses stale timestamps and replayed nonces, decodes and
// validates the body, dispatches to the Seller, maps returned errors to
// result codes and writes the answer (signed with Body-Sign when asked).
// It never panics on input and never answers 5xx for a caller's mistake.
//
// Idempotent wraps a Seller so that the repeats the marketplace is allowed
// to send (§7: a retried newInstance, a repeated release, a repeated kit
// add or delete) succeed without reaching the seller's code twice, keeping
// what it needs in a Store (MemoryStore here; an SQLite Store in
// sellerkit/sqlitestore).
//
// The package depends on the standard library and protocol only.
package sellerkit
