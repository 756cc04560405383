// Package order is what buyers buy and what becomes of it: orders, their
// lines, and the instances they yield, moved through their lifecycle by
// production interface calls (../shared/spec/marketplace.md §4,
// protocol.md §3 and §8). It joins the catalogue (what may be bought, at
// what price), the ledger (package settle: the money) and the delivery
// engine (package delivery: the calls).
//
// # A new purchase
//
// Purchase does everything in one database transaction, so that a crash
// at any point leaves either all of it or none of it:
//
//  1. the catalogue's sales controls (catalog.CheckPurchaseTx), with a
//     PurchaseHistory read from this package's tables in the same
//     transaction (History);
//  2. the price (below), debited from the buyer's balance to
//     platform:clearing (settle.Post; "Insufficient balance: …" otherwise);
//  3. the order (type NEW, state paid), its line and the instance (state
//     provisioning, with its expiry);
//  4. the newInstance call to the seller, enqueued with the ordering key
//     of the instance and the NewPurchase policy (3 h of retries).
//
// Any refusal — not a buyer, a restricted product or spec, a purchase
// limit, a delisted spec, a bad quantity or number of periods, too little
// balance — returns a souk.Error and leaves nothing behind: no order, no
// ledger entry, no call.
//
// Idempotency: a request with an IdempotencyKey (the API's
// Idempotency-Key header) that the same buyer has used before returns the
// order of that first request (Order.Repeated set), whatever the rest of
// the request says, and does nothing else. A unique index on (buyer, key)
// makes this hold for concurrent repeats too: the loser's transaction
// fails on the index and it answers with the winner's order.
//
// # Price and expiry (the rule, in one place)
//
// All amounts are exact integers in minor units of the spec's currency
// (settle's money rules):
//
//	total = spec price × units × periods
//
// where units is the quantity bought of a spec with a linear quantity
// (checked against its min, max and step by the catalogue) and 1 for any
// other spec, and periods is the number of months or years bought of a
// PERIOD spec (1 to MaxPeriods; 0 means 1) and 1 for ONE_TIME. ON_DEMAND
// specs cost nothing up front (use is billed from usage records) and move
// no money at purchase. A product that would overflow int64 is refused.
//
// A PERIOD instance expires periods calendar months (12 × periods for a
// yearly spec) after the purchase, at the same time of day; a day that the
// target month lacks is clamped to its last day (31 January + 1 month =
// 28/29 February). ONE_TIME and ON_DEMAND instances do not expire. The
// expiry runs from the purchase, not from activation.
//
// # Renewal
//
// RenewInstance places a RENEW order for an active (or frozen) instance of
// a PERIOD spec: the price rule above at the spec's current listed price
// with the instance's units; the new expiry is the periods added to the
// current expiry, or to now if that has passed; refreshInstance (scene
// RENEWAL, the new expireTime) is enqueued behind the instance's earlier
// calls with the Renewal policy (a frozen instance gets
// updateInstanceStatus UNFREEZE first). The order completes when the
// seller acknowledges the refresh; if the Renewal policy gives up it stays
// paid, the call visible and re-invokable in the seller's messages (the
// buyer has the time they paid for on the marketplace's side either way).
//
// # Unsubscription and the refund of the unused part (the rule)
//
// UnsubscribeInstance releases an active or frozen instance at once on the
// marketplace's side, enqueues releaseInstance with the UNSUBSCRIBE
// order's ids (superseding any refresh or status change still queued for
// the instance), and refunds the unused part:
//
//	refund = Σ over the instance's paid lines with a period (NEW, RENEW, …;
//	         failed orders excluded) of
//	         floor(line amount × (period end − max(now, period start)) ÷ (period end − period start))
//
// computed in milliseconds, exactly (big integers), rounded down to the
// minor unit per line: the marketplace never refunds more than was paid. A
// period already over refunds nothing; a period not yet begun (a renewal
// paid in advance) refunds in full; ONE_TIME lines refund nothing. The
// refund moves platform:clearing → the buyer's balance in the same
// transaction; the UNSUBSCRIBE order's amount is the refund. An
// unsubscribed purchase no longer counts toward purchase limits.
//
// # Lifecycle through the delivery engine
//
// Hooks returns the delivery hooks that finish a purchase in the engine's
// own transaction (the one that records the call's outcome):
//
//	provisioning ──newInstance succeeded (or polled ready)──▶ active   (order completed)
//	     └──────newInstance exhausted (3 h deadline)─────────▶ failed   (order failed, refunded)
//
// On success the seller's instanceId, frontEndUrl and adminUrl are kept on
// the instance: from the newInstance answer, or for a seller that answered
// 000004, from the queryInstance answer the engine polled until ready. On
// exhaustion the order and instance fail and the buyer is refunded in
// full (platform:clearing → buyer balance, ledger ref "order:ID:refund");
// if the seller had accepted the instance without finishing it, a
// releaseInstance is enqueued behind it. A failed order does not count
// toward purchase limits (it is unsubscribed). Hooks act only on an
// instance still provisioning (or a change still pending), so a repeated
// outcome changes nothing.
//
// Order states: paid → completed | failed (an UNSUBSCRIBE order, and
// any order of a licence product, is completed when placed). Instance
// states: provisioning → active → frozen → released, or failed. What the
// seller is told of each event, for SaaS and licence instances alike, is
// written once, in calls.go.
//
// # Trials
//
// A purchase with Trial set is a TRIAL order of a spec that offers one
// (catalog checks the trial allow-list): nothing to pay, an instance
// provisioned like any other (newInstance) that expires after the spec's
// trial days. A trial cannot be renewed; ConvertTrial places a
// TRIAL_TO_FORMAL order instead — the price rule from now (the free days
// are not added), the instance formal, refreshInstance scene
// TRIAL_TO_FORMAL — and the seller keeps the instance it provisioned. A
// trial not converted expires like any instance (below).
//
// # Change of spec (the rule)
//
// ChangeInstance moves an active instance of a PERIOD spec to another
// spec of the same product sold by the same period, or to another
// quantity, for the rest of the time already paid (the expiry stays):
//
//	old  = the unused part of the instance's lines (the refund rule below)
//	new  = Σ over the same lines of
//	       floor(line amount × new price per period ÷ line's price per period
//	             × (period end − max(now, period start)) ÷ (period end − period start))
//	diff = new − old
//
// where a price per period is the spec's price × units. A positive diff is
// paid when the change is placed; a negative one is refunded when the
// seller has applied the change. The CHANGE order's amount is diff (so
// negative for a downgrade: money returned), its line is worth new over
// [now, expiry), and once the change is done the lines it replaces are
// marked superseded: from then on the refund rule counts the CHANGE line,
// not them. The seller first answers changeInstanceCheck (policy Once: it
// may refuse, e.g. a downgrade that would lose data), then
// upgradeInstance (3 h); a refusal, or an upgrade never acknowledged, fails
// the order with the reason, refunds what it took, and the instance keeps
// its spec. While a change is pending the instance cannot be renewed,
// changed again or unsubscribed. Frozen, released, provisioning and trial
// instances, and licence instances (buy another spec), cannot be changed;
// nor can an instance whose own spec is no longer sold, or one still
// running on a free spec changed to a paid one — the rule could not value
// them. Note for settlement: the CHANGE line's amount is the new value of
// the remaining time, which takes over from the lines it supersedes; the
// money the CHANGE order moved is its amount, diff.
//
// # Concurrency
//
// Every transaction that decides from an instance's state and then changes
// it or moves money for it — renewal, conversion, change, unsubscription,
// the sweep, the engine's hooks — first locks the instance's row
// (lockInstance: SELECT … FOR UPDATE on PostgreSQL; an SQLite write
// transaction holds the database), so two of them about one instance run
// one after the other and the second sees the first's outcome: two
// unsubscriptions refund once, a renewal and the release at the end of
// grace do not both happen. Hooks move an order's state with a conditional
// update first and refund only if it moved.
//
// # Expiry, grace and release
//
// Sweep, run every 30 s by souk serve (package jobs, one node at a time),
// freezes every active instance past its expiry — updateInstanceStatus
// FREEZE — until the end of its grace period (expiry + DefaultGrace, 15
// days; souk serve --grace), and releases every frozen instance whose grace
// is over — releaseInstance. A renewal during the grace period makes the
// instance active again from now (the frozen days are not given back:
// the buyer pays from the renewal) and enqueues UNFREEZE before the
// refresh. Nothing of a released instance can be renewed, changed or
// unsubscribed.
//
// # Licence products
//
// A purchase of a licence product issues one code per unit (five groups of
// five unambiguous characters, 125 random bits), and the instance is
// active at once: the seller is not called. Its software activates a code
// through the open API (ActivateLicense: once, only an issued code of the
// seller's own product). Renewal, expiry and release are told to the
// seller code by code — refreshLicenseCode, updateLicenseCodeStatus,
// releaseLicenseCode, with the 60 × 2 min License policy — for the codes
// it knows, the activated ones; a code frozen or released can no longer be
// activated.
//
// # Who sees what
//
// GetOrder and GetInstance show a buyer their own orders and instances and
// an operator everything; anyone else gets ENOTFOUND, as for a missing id.
package order
