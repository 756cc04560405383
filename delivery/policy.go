package delivery

import (
	"fmt"
	"time"
)

// Policy is a retry policy as data (§8): when to try again after a failed
// attempt, and when to give up.
type Policy struct {
	Name string
	// Delays[i] is the wait after the (i+1)th failed attempt; the last
	// delay repeats.
	Delays []time.Duration
	// Deadline, when set, is how long after the first attempt a retry may
	// still start.
	Deadline time.Duration
	// MaxAttempts, when set, is the most attempts made.
	MaxAttempts int
	// AwaitDecision: after a failure the call waits for a person (the
	// buyer or the enterprise admin, Decider) to re-invoke it, instead of
	// being retried.
	AwaitDecision bool
	// Decider names who decides on an awaiting call: "buyer" or "admin".
	Decider string
}

// The policies of §8. Names are stored with each call.
var (
	// NewPurchase: newInstance, upgradeInstance, orderNotify — retry for
	// 3 h (10 s, 30 s, 1 min, 2 min, 5 min, then every 10 min); when still
	// failing, Hooks.Exhausted fails and refunds the order.
	NewPurchase = Policy{Name: "new_purchase",
		Delays:   []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute},
		Deadline: 3 * time.Hour}
	// Renewal: refreshInstance, updateInstanceStatus, releaseInstance —
	// retry for 1 h, every 2 min after a 10 s first retry.
	Renewal = Policy{Name: "renewal",
		Delays:   []time.Duration{10 * time.Second, 2 * time.Minute},
		Deadline: time.Hour}
	// License: the licence interfaces — 60 attempts, one every 2 min.
	License = Policy{Name: "license", Delays: []time.Duration{2 * time.Minute}, MaxAttempts: 60}
	// Once: a product configured to be called once for a scenario.
	Once = Policy{Name: "once", MaxAttempts: 1}
	// KitBuyer: tenantSync, applicationSync — no automatic retry; the
	// buyer chooses to retry.
	KitBuyer = Policy{Name: "kit_buyer", MaxAttempts: 1, AwaitDecision: true, Decider: "buyer"}
	// KitAdmin: authSync, singleOrgSync, allOrgSync — no automatic retry;
	// the enterprise admin chooses to retry.
	KitAdmin = Policy{Name: "kit_admin", MaxAttempts: 1, AwaitDecision: true, Decider: "admin"}
)

// Policies lists every policy by name.
var Policies = map[string]Policy{}

func init() {
	for _, p := range []Policy{NewPurchase, Renewal, License, Once, KitBuyer, KitAdmin} {
		Policies[p.Name] = p
	}
}

// PolicyNamed returns the policy called name.
func PolicyNamed(name string) (Policy, error) {
	p, ok := Policies[name]
	if !ok {
		return Policy{}, fmt.Errorf("unknown delivery policy %q", name)
	}
	return p, nil
}

// Next returns when to make the next attempt after attempt number n
// (1-based) failed at failedAt, for a call first attempted at firstAt; ok
// is false when the policy is exhausted (or awaits a decision).
func (p Policy) Next(n int, firstAt, failedAt time.Time) (next time.Time, ok bool) {
	if p.AwaitDecision || (p.MaxAttempts > 0 && n >= p.MaxAttempts) || len(p.Delays) == 0 {
		return time.Time{}, false
	}
	d := p.Delays[min(n-1, len(p.Delays)-1)]
	next = failedAt.Add(d)
	if p.Deadline > 0 && next.After(firstAt.Add(p.Deadline)) {
		return time.Time{}, false
	}
	return next, true
}

// PollDelay is the wait before the next queryInstance poll of an instance
// that was accepted (000004) at acceptedAt. Polling is not failure: it
// starts every 2 s and slows to once a minute as provisioning drags on,
// within the policy's deadline (profile).
func PollDelay(acceptedAt, now time.Time) time.Duration {
	return min(max(now.Sub(acceptedAt)/4, 2*time.Second), time.Minute)
}
