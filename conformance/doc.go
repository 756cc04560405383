// Package conformance checks a seller's production interfaces against the
// wire protocol (../shared/spec/protocol.md) by calling them the way the
// marketplace does: the debug cases of §9.
//
// Run sends a fixed sequence of debug calls (testFlag 1, order ids fresh
// for every run) to a production URL, signed with protocol.Client, and
// returns a Report with one Result per case:
//
//   - basic: newInstance (synchronous, or 000004 followed by queryInstance
//     polling), the lifecycle interfaces, and the repeats that §7 requires
//     to succeed unchanged;
//   - licence (Config.License): the licence-code interfaces of §3.1;
//   - security: tampered calls — bad signature, stale timestamp, replayed
//     nonce, missing signature — must get 000001, and an unknown activity or
//     a missing field exactly 000002;
//   - kit (Config.Kit): the joint-operation syncs of §4, adds and deletes
//     and their repeats;
//   - transport: every answer HTTP 200 application/json within the timeout
//     (§1), with each call's latency reported.
//
// The same suite serves `souk seller check` on a seller's laptop, the
// pre-review check of a product and the twice-daily dial test, so it is a
// library: the caller chooses what to do with the Report (WriteText,
// WriteJSON, WriteJUnit) and may watch progress through Config.Progress.
//
// A case that needs an instance is skipped, not failed, when newInstance
// gave none: one broken interface yields one failure, not twenty.
package conformance
