package sellerkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/souk-market/souk/protocol"
)

// Idempotent wraps s so that the repeats §7 allows are answered without
// running the seller's code twice:
//
//   - newInstance with an orderId+orderLineId seen before returns the same
//     instance (id and appInfo); if it was still provisioning, s's
//     QueryInstance is asked whether it is ready now.
//   - releaseInstance and releaseLicenseCode of something already released
//     succeed; so does one for which s returns ErrNotFound ("already gone").
//   - updateInstanceStatus and updateLicenseCodeStatus to the status already
//     applied, refreshInstance and refreshLicenseCode with the expiry already
//     applied for that order line, and upgradeInstance for an order already
//     applied all succeed unchanged.
//   - kit syncs: an add or modify that changes nothing succeeds without
//     reaching s; a delete (or authSync revoke) of something already deleted
//     succeeds, and so does one for which s returns ErrNotFound. authSync
//     passes s only the users whose state changes.
//
// Only successful calls are remembered, so a failed call is tried for real
// when the marketplace retries it. Calls about one key are serialised within
// the process; several processes sharing one seller database need a Store
// and a Seller that serialise across them.
func Idempotent(s Seller, st Store) Seller {
	return &idempotent{next: s, store: st}
}

type idempotent struct {
	next  Seller
	store Store

	mu    sync.Mutex
	locks map[string]*keyLock // the keys being worked on, and their waiters
}

type keyLock struct {
	sync.Mutex
	users int // holders and waiters; the entry goes when it reaches 0
}

// lock serialises calls about key — and only about key, so a slow call
// never holds up another key — and returns the unlock function.
func (d *idempotent) lock(key string) func() {
	d.mu.Lock()
	if d.locks == nil {
		d.locks = make(map[string]*keyLock)
	}
	l := d.locks[key]
	if l == nil {
		l = &keyLock{}
		d.locks[key] = l
	}
	l.users++
	d.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		d.mu.Lock()
		if l.users--; l.users == 0 {
			delete(d.locks, key)
		}
		d.mu.Unlock()
	}
}

// Fingerprints of remembered states.
const (
	stateGone = "gone" // released or deleted
)

// present is the fingerprint of an entity added or modified with the given
// content: same content, same fingerprint.
func present(content ...any) string {
	b, _ := json.Marshal(content)
	sum := sha256.Sum256(b)
	return "present:" + hex.EncodeToString(sum[:12])
}

// once runs call unless key already holds state; after a successful call it
// records state. For a removal (release, delete) ErrNotFound counts as
// success.
func (d *idempotent) once(ctx context.Context, key, state string, removal bool, call func() error) error {
	defer d.lock(key)()
	prev, ok, err := d.store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("idempotency store: %w", err)
	}
	if ok && string(prev) == state {
		return nil
	}
	if err := call(); err != nil && !(removal && errors.Is(err, ErrNotFound)) {
		return err
	}
	if err := d.store.Put(ctx, key, []byte(state)); err != nil {
		return fmt.Errorf("idempotency store: %w", err)
	}
	return nil
}

func (d *idempotent) NewInstance(ctx context.Context, req *protocol.NewInstanceRequest) (*Instance, error) {
	key := "newInstance/" + req.OrderID + "/" + req.OrderLineID
	defer d.lock(key)()
	prev, ok, err := d.store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("idempotency store: %w", err)
	}
	var inst *Instance
	if ok {
		inst = new(Instance)
		if err := json.Unmarshal(prev, inst); err != nil {
			return nil, fmt.Errorf("idempotency store: instance of %s: %w", key, err)
		}
		if !inst.Pending {
			return inst, nil
		}
		// Still provisioning when last asked: report its state now.
		infos, err := d.next.QueryInstance(ctx, &protocol.QueryInstanceRequest{TestFlag: req.TestFlag, InstanceID: inst.ID})
		if err != nil || len(infos) == 0 || !infos[0].Ready() {
			return inst, nil
		}
		inst = &Instance{ID: inst.ID, AppInfo: infos[0].AppInfo}
	} else if inst, err = d.next.NewInstance(ctx, req); err != nil {
		return nil, err
	} else if err := checkInstance(inst); err != nil {
		return nil, err // the handler answers it 000005: not remembered
	}
	b, _ := json.Marshal(inst)
	if err := d.store.Put(ctx, key, b); err != nil {
		return nil, fmt.Errorf("idempotency store: %w", err)
	}
	return inst, nil
}

func (d *idempotent) QueryInstance(ctx context.Context, req *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error) {
	return d.next.QueryInstance(ctx, req)
}

func (d *idempotent) RefreshInstance(ctx context.Context, req *protocol.RefreshInstanceRequest) error {
	key := "instance/" + req.InstanceID + "/refresh/" + req.OrderLineID + "/" + req.Scene
	return d.once(ctx, key, req.ExpireTime, false, func() error { return d.next.RefreshInstance(ctx, req) })
}

func (d *idempotent) UpdateInstanceStatus(ctx context.Context, req *protocol.UpdateInstanceStatusRequest) error {
	key := "instance/" + req.InstanceID + "/status"
	return d.once(ctx, key, req.Status, false, func() error { return d.next.UpdateInstanceStatus(ctx, req) })
}

func (d *idempotent) ReleaseInstance(ctx context.Context, req *protocol.ReleaseInstanceRequest) error {
	key := "instance/" + req.InstanceID + "/release"
	return d.once(ctx, key, stateGone, true, func() error { return d.next.ReleaseInstance(ctx, req) })
}

func (d *idempotent) UpgradeInstance(ctx context.Context, req *protocol.UpgradeInstanceRequest) error {
	key := "instance/" + req.InstanceID + "/upgrade/" + req.OrderID + "/" + req.OrderLineID
	return d.once(ctx, key, "done", false, func() error { return d.next.UpgradeInstance(ctx, req) })
}

func (d *idempotent) ChangeInstanceCheck(ctx context.Context, req *protocol.ChangeInstanceCheckRequest) error {
	return d.next.ChangeInstanceCheck(ctx, req)
}

func (d *idempotent) OrderNotify(ctx context.Context, req *protocol.OrderNotifyRequest) error {
	return d.next.OrderNotify(ctx, req)
}

func (d *idempotent) RefreshLicenseCode(ctx context.Context, req *protocol.RefreshLicenseCodeRequest) error {
	key := "license/" + req.License + "/refresh/" + req.OrderLineID + "/" + req.Scene
	return d.once(ctx, key, req.ExpireTime, false, func() error { return d.next.RefreshLicenseCode(ctx, req) })
}

func (d *idempotent) UpdateLicenseCodeStatus(ctx context.Context, req *protocol.UpdateLicenseCodeStatusRequest) error {
	key := "license/" + req.License + "/status"
	return d.once(ctx, key, req.Status, false, func() error { return d.next.UpdateLicenseCodeStatus(ctx, req) })
}

func (d *idempotent) ReleaseLicenseCode(ctx context.Context, req *protocol.ReleaseLicenseCodeRequest) error {
	key := "license/" + req.License + "/release"
	return d.once(ctx, key, stateGone, true, func() error { return d.next.ReleaseLicenseCode(ctx, req) })
}

// kitState is the fingerprint a kit sync leaves: gone for a delete (and an
// authSync revoke), else the content it set.
func kitState(flag protocol.NumberFlag, content ...any) (state string, removal bool) {
	if flag == protocol.FlagDelete || flag == protocol.FlagRevoke {
		return stateGone, true
	}
	return present(content...), false
}

func kitKey(c protocol.KitCommon, kind, id string) string {
	return "kit/" + c.InstanceID + "/" + c.TenantID + "/" + kind + "/" + id
}

func (d *idempotent) TenantSync(ctx context.Context, req *protocol.TenantSyncRequest) error {
	state, removal := kitState(req.Flag, req.OrderID, req.TenantCode, req.Name, req.DomainName)
	return d.once(ctx, kitKey(req.KitCommon, "tenant", ""), state, removal, func() error { return d.next.TenantSync(ctx, req) })
}

func (d *idempotent) ApplicationSync(ctx context.Context, req *protocol.ApplicationSyncRequest) error {
	state, removal := kitState(req.Flag, req.ClientID, req.ClientSecret)
	return d.once(ctx, kitKey(req.KitCommon, "app", req.AppID), state, removal, func() error { return d.next.ApplicationSync(ctx, req) })
}

func (d *idempotent) SingleOrgSync(ctx context.Context, req *protocol.SingleOrgSyncRequest) error {
	state, removal := kitState(req.Flag, req.OrgName, req.ParentCode)
	return d.once(ctx, kitKey(req.KitCommon, "org", req.OrgCode), state, removal, func() error { return d.next.SingleOrgSync(ctx, req) })
}

func (d *idempotent) AllOrgSync(ctx context.Context, req *protocol.AllOrgSyncRequest) error {
	return d.once(ctx, kitKey(req.KitCommon, "orgtree", ""), present(req.OrgInfoList), false, func() error { return d.next.AllOrgSync(ctx, req) })
}

// AuthSync remembers each user's state separately and passes the seller
// only the users whose state the call changes.
func (d *idempotent) AuthSync(ctx context.Context, req *protocol.AuthSyncRequest) error {
	defer d.lock(kitKey(req.KitCommon, "users", req.AppID))()
	keys := make([]string, len(req.UserList))
	states := make([]string, len(req.UserList))
	removal := false
	var changed []protocol.User
	for i, u := range req.UserList {
		keys[i] = kitKey(req.KitCommon, "user/"+req.AppID, u.UserName)
		states[i], removal = kitState(req.Flag, u)
		prev, ok, err := d.store.Get(ctx, keys[i])
		if err != nil {
			return fmt.Errorf("idempotency store: %w", err)
		}
		if !ok || string(prev) != states[i] {
			changed = append(changed, u)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	sub := *req
	sub.UserList = changed
	if err := d.next.AuthSync(ctx, &sub); err != nil && !(removal && errors.Is(err, ErrNotFound)) {
		return err
	}
	for i := range keys {
		if err := d.store.Put(ctx, keys[i], []byte(states[i])); err != nil {
			return fmt.Errorf("idempotency store: %w", err)
		}
	}
	return nil
}
