// Package e2e holds the end-to-end tests of an instance's lifecycle: the
// marketplace (store, ledger, orders, the delivery engine) runs in the
// test process, and the seller is `souk seller run` (package refseller)
// running as a real process, reached over HTTP and signed calls exactly as
// a production seller would be. The package has no code of its own
// besides this comment; everything is in its _test.go files.
//
// # What runs where
//
// Each test (and each of its subtests, one per database engine through
// storetest.Each: SQLite always, PostgreSQL when SOUK_TEST_POSTGRES_URL is
// set) builds a fresh marketplace — a certified seller, a listed product, a
// few buyers with topped-up balances — and starts its own seller process:
//
//	souk seller run --addr 127.0.0.1:0 --key KEY --data DIR [--async D] [--fail-activities A,B]
//	    [--market URL --api-key ID --api-secret SECRET]
//
// The souk binary is built once per test run (go build ../cmd/souk), on
// first use. The seller's address is read from the first line it prints
// ("souk seller listening on http://127.0.0.1:PORT/produce"); the product
// is created as a draft first (which yields the access key the process
// needs), and its production URL is set to that address before the draft
// is submitted and approved. The process is killed when the test ends.
// Faults are switched at run time through the seller's POST /control.
//
// With opts.openAPI (the licence tests) the seller also calls the
// marketplace back: the harness serves the marketplace's HTTP API in the
// test process (api.New(…).Handler(), which mounts the open API of package
// sellerapi, on an httptest server), creates an API credential for the
// seller (sellerapi.CreateCredential, as a seller member), and starts the
// process with --market at that server and the credential's key id and
// secret. The buyer's entering a licence code in the seller's software is
// a POST /activate {"license": code} on the seller process, which
// activates the code by a signed call to the open API and records it.
//
// # Two clocks
//
// The marketplace runs on a souk.FakeClock: the store's transactions, the
// delivery engine's schedule (retry delays, policy deadlines, polling),
// the instances' expiries and the refund rule all read it, and tests move
// it by hours or months in an instant, driving the engine step by step
// with Engine.RunDue and Engine.NextDue as the order tests do.
//
// The seller process cannot share that clock: it checks each call's
// signature timestamp against its own wall clock (±60 s), and it must not
// be weakened for a test. So the engine's protocol.Client is given the
// wall clock (protocol.NewClient(profile, time.Now, …)): every attempt is
// signed with the real time, whenever on the fake timeline the engine makes
// it, while everything the marketplace decides and records is on the fake
// clock. Times that travel in call bodies (refreshInstance's expireTime)
// are the marketplace's, on the fake timeline; the seller stores them as
// given and never compares them with its clock.
//
// The other way round, the seller's calls to the open API are signed with
// its wall clock, and the open API checks their ts within ±60 s of the
// marketplace's clock, the fake one; it must not be weakened either. So
// with opts.openAPI the fake clock starts at the wall clock (to the
// second) instead of t0: set so before the world is built and caught up
// again once it is (building souk and starting the seller take real time;
// the clock only ever moves forward), and world.start records it. The
// tests make their open API calls right away, before they first move the
// fake clock (world.checkNearWallClock fails the test, rather than the
// call, when the clocks are more than 30 s apart); everything after
// (renewal, expiry, grace) moves the fake clock on from there as usual,
// with expiries computed from world.start (addMonths), not fixed dates.
//
// Driving: Engine.RunDue makes every attempt due now, then the clock moves
// to the next attempt due and the engine runs again, until nothing waits
// (or a horizon passes). delivery.Engine.NextDue reports when a call can
// be sent: a call queued behind an older unfinished call of its key waits
// for that one, not for its own time. When it names a time already reached
// (a call enqueued during the step), the harness steps once more; if that
// claims nothing, the test fails rather than spin (it once reported queued
// calls as due now: TestRegressionNextDueSkipsQueuedCalls).
//
// The one place wall time still matters is asynchronous provisioning: a
// seller run with --async D makes an instance ready D of its own (wall)
// time after newInstance. The async test therefore paces the fake clock:
// before each fake-clock step it sleeps a little real time, so that the
// queryInstance polls (2 s apart on the fake clock) see the instance
// become ready well within the new-purchase deadline.
//
// # What the seller received
//
// The reference seller has no endpoint listing the calls it received. It
// does log each one, after verification and fault injection, as a line
// "msg=call activity=… result=…" on stderr; the harness sends the
// process's stderr to a file (written synchronously, before the answer
// goes out) and reads those lines, in order, as the record of what the
// seller received. The lines do not name the instance, so per instance the
// tests use the marketplace's side too: the production interface messages
// of the delivery engine (delivery.ListCalls and delivery.GetMessage, every
// attempt with its outcome, in order per instance key), and the seller's
// own resulting state, read from its SQLite file (DIR/seller.db: each
// instance's state and expiry, and the order lines that touched it).
// Tests that have one instance check that the seller's log and the
// marketplace's attempts are the same sequence; the property test, with
// many instances, checks that they agree in number per activity and
// result, and checks each instance through the messages and seller.db.
//
// # After every test
//
// The ledger invariant holds (settle.CheckInvariant), and every buyer's
// balance equals what the rules of package order say, computed from the
// orders alone: the top-ups, less every order's amount taken when it was
// placed, plus the full amount of every failed order, plus the refund of
// every unsubscription, plus the difference given back by every completed
// change to a cheaper spec; the platform's clearing account holds what
// buyers paid less what they got back. Each test checks its exact figures
// too, from the rules written again in the tests (refundOf, changeValue,
// addMonths), not read back from package order.
//
// # The tests
//
// One per path of an instance's life, each checking the calls the seller
// received, in order, its resulting state, the marketplace's orders and
// instance, and the money: purchase → active; async purchase → polling →
// active; an async seller never ready → failed, refunded, released; a
// seller failing newInstance for the 3 h policy → failed and refunded;
// renewal (and a renewal whose refresh is exhausted, then re-invoked);
// unsubscription with the refund of the unused part; expiry → freeze →
// renewal in grace → unfreeze; expiry → release at the end of grace; trial
// → TRIAL_TO_FORMAL; change of spec accepted, and refused (by a fault and
// by the seller itself); licence codes issued → activated by the seller's
// software through the open API (a second activation refused, 92020003)
// → renewed → frozen → released, each activated code told to the seller
// and a code never activated never sent to it.
// TestRandomLifecycles runs seeded random sequences of all of these
// against a seller failing at random and checks the invariants listed in
// its comment. The TestRegression tests (regression_test.go) pin bugs the
// suite found: a re-invocation of the newInstance of a refunded purchase,
// or of the upgradeInstance of a refunded change, is refused (ECONFLICT)
// and nothing reaches the seller; a renewal whose refresh a release
// superseded is completed with a reason, not left paid; NextDue does not
// report a call queued behind an older call of its key as due.
package e2e
