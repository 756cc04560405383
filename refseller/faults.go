package refseller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// Faults is misbehaviour the seller puts on so that the marketplace's
// handling of bad sellers (retries, timeouts, messages, re-invoke) can be
// tested against a real one. The zero value is a well-behaved seller. The
// faults apply to production-interface calls that passed signature
// verification, in this order: Timeout, then Slow, then the failures.
type Faults struct {
	// FailRate is the fraction of calls, 0 to 1, answered 000005
	// "injected failure".
	FailRate float64
	// FailActivities are always answered 000005 "injected failure".
	FailActivities []protocol.Activity
	// Slow delays every answer.
	Slow time.Duration
	// Timeout makes calls never answer: each waits until the caller gives
	// up (or the server shuts down).
	Timeout bool
}

// Validate reports a fault setting that makes no sense.
func (f Faults) Validate() error {
	if f.FailRate < 0 || f.FailRate > 1 {
		return fmt.Errorf("failRate %v: want 0 to 1", f.FailRate)
	}
	if f.Slow < 0 {
		return fmt.Errorf("slow %v: want a duration of 0 or more", f.Slow)
	}
	for _, a := range f.FailActivities {
		if !a.Known() {
			return fmt.Errorf("failActivities: unknown activity %q", a)
		}
	}
	return nil
}

// LogValue logs the faults as their settings.
func (f Faults) LogValue() slog.Value {
	return slog.GroupValue(slog.Float64("failRate", f.FailRate), slog.Any("failActivities", f.FailActivities),
		slog.Duration("slow", f.Slow), slog.Bool("timeout", f.Timeout))
}

// faultsJSON is the form of Faults at /control:
// {"failRate":0.5,"failActivities":["newInstance"],"slow":"2s","timeout":true}.
type faultsJSON struct {
	FailRate       float64             `json:"failRate"`
	FailActivities []protocol.Activity `json:"failActivities"`
	Slow           string              `json:"slow"`
	Timeout        bool                `json:"timeout"`
}

// MarshalJSON writes the /control form; slow as a Go duration ("2s").
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		FailRate:       f.FailRate,
		FailActivities: append([]protocol.Activity{}, f.FailActivities...), // [] rather than null
		Slow:           f.Slow.String(),
		Timeout:        f.Timeout,
	})
}

// UnmarshalJSON reads the /control form. It rejects unknown fields: a
// misspelt "failrate" silently doing nothing would mislead a test.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	var slow time.Duration
	if j.Slow != "" {
		var err error
		if slow, err = time.ParseDuration(j.Slow); err != nil {
			return fmt.Errorf("slow: %w", err)
		}
	}
	*f = Faults{FailRate: j.FailRate, FailActivities: j.FailActivities, Slow: slow, Timeout: j.Timeout}
	return nil
}

// errInjected is the answer of a call chosen to fail.
var errInjected = &sellerkit.Error{Code: protocol.CodeInternal, Msg: "injected failure"}

// errNoAnswer ends a call held by Timeout or Slow whose caller gave up or
// whose server is stopping. Nobody reads the answer; it is a
// sellerkit.Error only so that the handler does not log it as a fault of
// the seller's code.
var errNoAnswer = &sellerkit.Error{Code: protocol.CodeInternal, Msg: "no answer: the call was held by an injected fault"}

// faults holds the current Faults, changed at run time through /control.
type faults struct {
	stop <-chan struct{} // closed when the server shuts down: held calls end

	mu  sync.Mutex
	cur Faults
	rng *rand.Rand
}

// newFaults starts with f; seed 0 means a random seed.
func newFaults(f Faults, seed uint64, stop <-chan struct{}) *faults {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &faults{stop: stop, cur: f, rng: rand.New(rand.NewPCG(seed, seed))}
}

func (f *faults) get() Faults {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cur
	c.FailActivities = slices.Clone(c.FailActivities)
	return c
}

func (f *faults) set(v Faults) error {
	if err := v.Validate(); err != nil {
		return err
	}
	v.FailActivities = slices.Clone(v.FailActivities)
	f.mu.Lock()
	f.cur = v
	f.mu.Unlock()
	return nil
}

// inject applies the current faults to one call of activity a: it returns
// nil for a call that should go on to the seller, else the answer.
func (f *faults) inject(ctx context.Context, a protocol.Activity) error {
	f.mu.Lock()
	cur := f.cur
	// Draw only when a rate is set, so a seeded run draws the same numbers
	// for the same calls whatever else was configured before.
	unlucky := cur.FailRate > 0 && f.rng.Float64() < cur.FailRate
	f.mu.Unlock()

	if cur.Timeout {
		select {
		case <-ctx.Done():
		case <-f.stop:
		}
		return errNoAnswer
	}
	if cur.Slow > 0 {
		t := time.NewTimer(cur.Slow)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return errNoAnswer
		case <-f.stop:
			return errNoAnswer
		}
	}
	if unlucky || slices.Contains(cur.FailActivities, a) {
		return errInjected
	}
	return nil
}

// front stands in front of the real seller: it applies the faults and logs
// every call with its result. It sits behind the sellerkit handler, so only
// calls with a valid signature reach it.
type front struct {
	next   sellerkit.Seller
	faults *faults
	log    *slog.Logger
}

// guard runs one call of activity a through the faults and the log.
func guard[T any](f *front, ctx context.Context, a protocol.Activity, call func() (T, error)) (T, error) {
	start := time.Now()
	var res T
	err := f.faults.inject(ctx, a)
	if err == nil {
		res, err = call()
	}
	result := "success"
	if err != nil {
		result = err.Error()
	}
	f.log.LogAttrs(ctx, slog.LevelInfo, "call", slog.String("activity", string(a)),
		slog.String("result", result), slog.Duration("latency", time.Since(start)))
	return res, err
}

// guard0 is guard for the interfaces that answer nothing but the result.
func guard0(f *front, ctx context.Context, a protocol.Activity, call func() error) error {
	_, err := guard(f, ctx, a, func() (struct{}, error) { return struct{}{}, call() })
	return err
}

func (f *front) NewInstance(ctx context.Context, req *protocol.NewInstanceRequest) (*sellerkit.Instance, error) {
	return guard(f, ctx, protocol.NewInstance, func() (*sellerkit.Instance, error) { return f.next.NewInstance(ctx, req) })
}

func (f *front) QueryInstance(ctx context.Context, req *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error) {
	return guard(f, ctx, protocol.QueryInstance, func() ([]protocol.InstanceInfo, error) { return f.next.QueryInstance(ctx, req) })
}

func (f *front) RefreshInstance(ctx context.Context, req *protocol.RefreshInstanceRequest) error {
	return guard0(f, ctx, protocol.RefreshInstance, func() error { return f.next.RefreshInstance(ctx, req) })
}

func (f *front) UpdateInstanceStatus(ctx context.Context, req *protocol.UpdateInstanceStatusRequest) error {
	return guard0(f, ctx, protocol.UpdateInstanceStatus, func() error { return f.next.UpdateInstanceStatus(ctx, req) })
}

func (f *front) ReleaseInstance(ctx context.Context, req *protocol.ReleaseInstanceRequest) error {
	return guard0(f, ctx, protocol.ReleaseInstance, func() error { return f.next.ReleaseInstance(ctx, req) })
}

func (f *front) UpgradeInstance(ctx context.Context, req *protocol.UpgradeInstanceRequest) error {
	return guard0(f, ctx, protocol.UpgradeInstance, func() error { return f.next.UpgradeInstance(ctx, req) })
}

func (f *front) ChangeInstanceCheck(ctx context.Context, req *protocol.ChangeInstanceCheckRequest) error {
	return guard0(f, ctx, protocol.ChangeInstanceCheck, func() error { return f.next.ChangeInstanceCheck(ctx, req) })
}

func (f *front) OrderNotify(ctx context.Context, req *protocol.OrderNotifyRequest) error {
	return guard0(f, ctx, protocol.OrderNotify, func() error { return f.next.OrderNotify(ctx, req) })
}

func (f *front) RefreshLicenseCode(ctx context.Context, req *protocol.RefreshLicenseCodeRequest) error {
	return guard0(f, ctx, protocol.RefreshLicenseCode, func() error { return f.next.RefreshLicenseCode(ctx, req) })
}

func (f *front) UpdateLicenseCodeStatus(ctx context.Context, req *protocol.UpdateLicenseCodeStatusRequest) error {
	return guard0(f, ctx, protocol.UpdateLicenseCodeStatus, func() error { return f.next.UpdateLicenseCodeStatus(ctx, req) })
}

func (f *front) ReleaseLicenseCode(ctx context.Context, req *protocol.ReleaseLicenseCodeRequest) error {
	return guard0(f, ctx, protocol.ReleaseLicenseCode, func() error { return f.next.ReleaseLicenseCode(ctx, req) })
}

func (f *front) TenantSync(ctx context.Context, req *protocol.TenantSyncRequest) error {
	return guard0(f, ctx, protocol.TenantSync, func() error { return f.next.TenantSync(ctx, req) })
}

func (f *front) ApplicationSync(ctx context.Context, req *protocol.ApplicationSyncRequest) error {
	return guard0(f, ctx, protocol.ApplicationSync, func() error { return f.next.ApplicationSync(ctx, req) })
}

func (f *front) AuthSync(ctx context.Context, req *protocol.AuthSyncRequest) error {
	return guard0(f, ctx, protocol.AuthSync, func() error { return f.next.AuthSync(ctx, req) })
}

func (f *front) SingleOrgSync(ctx context.Context, req *protocol.SingleOrgSyncRequest) error {
	return guard0(f, ctx, protocol.SingleOrgSync, func() error { return f.next.SingleOrgSync(ctx, req) })
}

func (f *front) AllOrgSync(ctx context.Context, req *protocol.AllOrgSyncRequest) error {
	return guard0(f, ctx, protocol.AllOrgSync, func() error { return f.next.AllOrgSync(ctx, req) })
}
