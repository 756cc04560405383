package sellerkit_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
	"github.com/souk-market/souk/sellerkit/sqlitestore"
)

// eachStore runs test once with a MemoryStore and once with an SQLite store
// in a fresh file.
func eachStore(t *testing.T, test func(t *testing.T, st sellerkit.Store)) {
	t.Run("memory", func(t *testing.T) { test(t, sellerkit.NewMemoryStore()) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "idem.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		test(t, st)
	})
}

// idem returns a recording seller and the Idempotent wrapper around it.
func idem(st sellerkit.Store) (*fakeSeller, sellerkit.Seller) {
	f := new(fakeSeller)
	return f, sellerkit.Idempotent(f, st)
}

var ctx = context.Background()

func newInst(order, line, business string) *protocol.NewInstanceRequest {
	return &protocol.NewInstanceRequest{BusinessID: business, OrderID: order, OrderLineID: line}
}

func mustNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantCalls(t *testing.T, f *fakeSeller, a protocol.Activity, n int) {
	t.Helper()
	if got := f.count(a); got != n {
		t.Fatalf("seller's %s called %d times, want %d", a, got, n)
	}
}

func TestIdempotentNewInstanceRepeat(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		var n atomic.Int32
		f.setHook(func(_ context.Context, req protocol.Request) (any, error) {
			if _, ok := req.(*protocol.NewInstanceRequest); ok {
				// A new id on every real call, so a second call would show.
				id := fmt.Sprintf("inst-%d", n.Add(1))
				return &sellerkit.Instance{ID: id, AppInfo: appInfoFor(id)}, nil
			}
			return nil, nil
		})
		first, err := s.NewInstance(ctx, newInst("o-1", "l-1", "biz-1"))
		mustNil(t, "newInstance", err)
		// A retry carries a new businessId: still the same purchase.
		again, err := s.NewInstance(ctx, newInst("o-1", "l-1", "biz-2"))
		mustNil(t, "repeated newInstance", err)
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("repeat returned %+v, want %+v", again, first)
		}
		if !reflect.DeepEqual(again.AppInfo, appInfoFor(first.ID)) {
			t.Fatalf("repeat lost the appInfo: %+v", again.AppInfo)
		}
		wantCalls(t, f, protocol.NewInstance, 1)

		// Another order line of the same order is another instance.
		other, err := s.NewInstance(ctx, newInst("o-1", "l-2", "biz-3"))
		mustNil(t, "newInstance of another line", err)
		if other.ID == first.ID {
			t.Fatalf("another order line got the same instance %s", other.ID)
		}
		wantCalls(t, f, protocol.NewInstance, 2)
	})
}

func TestIdempotentNewInstancePendingThenReady(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		var ready atomic.Bool
		f.setHook(func(_ context.Context, req protocol.Request) (any, error) {
			switch req := req.(type) {
			case *protocol.NewInstanceRequest:
				return &sellerkit.Instance{ID: "inst-p", Pending: true}, nil
			case *protocol.QueryInstanceRequest:
				if req.InstanceID != "inst-p" {
					return nil, fmt.Errorf("query for %q", req.InstanceID)
				}
				if !ready.Load() {
					return []protocol.InstanceInfo{{InstanceID: "inst-p"}}, nil
				}
				return []protocol.InstanceInfo{{InstanceID: "inst-p", AppInfo: appInfoFor("inst-p")}}, nil
			}
			return nil, nil
		})
		req := newInst("o-p", "l-p", "b")
		inst, err := s.NewInstance(ctx, req)
		mustNil(t, "newInstance", err)
		if !inst.Pending || inst.ID != "inst-p" {
			t.Fatalf("first answer %+v, want pending inst-p", inst)
		}
		// Still provisioning: still pending.
		inst, err = s.NewInstance(ctx, req)
		mustNil(t, "repeat while provisioning", err)
		if !inst.Pending || inst.ID != "inst-p" {
			t.Fatalf("repeat while provisioning %+v, want pending inst-p", inst)
		}
		wantCalls(t, f, protocol.QueryInstance, 1)

		ready.Store(true)
		for i := range 3 {
			inst, err = s.NewInstance(ctx, req)
			mustNil(t, "repeat once ready", err)
			if inst.Pending || inst.ID != "inst-p" || !reflect.DeepEqual(inst.AppInfo, appInfoFor("inst-p")) {
				t.Fatalf("repeat %d once ready: %+v, want ready inst-p with its appInfo", i, inst)
			}
		}
		wantCalls(t, f, protocol.NewInstance, 1)
		// Once known ready, the seller is not asked again.
		wantCalls(t, f, protocol.QueryInstance, 2)
	})
}

// A failing QueryInstance while provisioning leaves the answer pending.
func TestIdempotentNewInstancePendingQueryFails(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		f.setHook(func(_ context.Context, req protocol.Request) (any, error) {
			if _, ok := req.(*protocol.NewInstanceRequest); ok {
				return &sellerkit.Instance{ID: "inst-p", Pending: true}, nil
			}
			return nil, errors.New("database down")
		})
		req := newInst("o", "l", "b")
		for range 2 {
			inst, err := s.NewInstance(ctx, req)
			if err != nil || !inst.Pending || inst.ID != "inst-p" {
				t.Fatalf("got %+v, %v; want pending inst-p", inst, err)
			}
		}
		wantCalls(t, f, protocol.NewInstance, 1)
	})
}

func TestIdempotentFailedCallNotRemembered(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		var calls atomic.Int32
		f.setHook(func(context.Context, protocol.Request) (any, error) {
			if calls.Add(1) == 1 {
				return nil, errors.New("transient failure")
			}
			return nil, nil
		})
		req := newInst("o-f", "l-f", "b")
		if _, err := s.NewInstance(ctx, req); err == nil {
			t.Fatal("the seller's error was swallowed")
		}
		inst, err := s.NewInstance(ctx, req)
		mustNil(t, "retry", err)
		if inst.ID != instanceFor(req).ID {
			t.Fatalf("retry returned %+v", inst)
		}
		wantCalls(t, f, protocol.NewInstance, 2)
		if _, err := s.NewInstance(ctx, req); err != nil {
			t.Fatal(err)
		}
		wantCalls(t, f, protocol.NewInstance, 2)

		// The same for the once-style interfaces.
		calls.Store(0)
		refresh := sampleRequests()[2].(*protocol.RefreshInstanceRequest)
		if err := s.RefreshInstance(ctx, refresh); err == nil {
			t.Fatal("the seller's error was swallowed")
		}
		mustNil(t, "refresh retry", s.RefreshInstance(ctx, refresh))
		mustNil(t, "refresh repeat", s.RefreshInstance(ctx, refresh))
		wantCalls(t, f, protocol.RefreshInstance, 2)
	})
}

// A ready answer without frontEndUrl is answered 000005 by the handler: it
// is a failed call and must not be remembered, or the retry after the
// seller fixed its code would get the broken answer again.
func TestIdempotentBrokenNewInstanceNotRemembered(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f := new(fakeSeller)
		var calls atomic.Int32
		f.setHook(func(_ context.Context, req protocol.Request) (any, error) {
			if calls.Add(1) == 1 {
				return &sellerkit.Instance{ID: "inst-b", AppInfo: &protocol.AppInfo{UserName: "u"}}, nil
			}
			return &sellerkit.Instance{ID: "inst-b", AppInfo: appInfoFor("inst-b")}, nil
		})
		e := newEnv(t, sellerkit.Idempotent(f, st), sellerkit.Config{})
		req := newInst("o-b", "l-b", "b")
		wantResult(t, e.send(req).ResponseBody, protocol.CodeInternal)
		o := e.send(req)
		if o.Kind != protocol.OutcomeSuccess {
			t.Fatalf("retry after the seller's fix: %s", o)
		}
		wantCalls(t, f, protocol.NewInstance, 2)
	})
}

func TestIdempotentRelease(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		rel := &protocol.ReleaseInstanceRequest{InstanceID: "inst-1"}
		for range 3 {
			mustNil(t, "release", s.ReleaseInstance(ctx, rel))
		}
		wantCalls(t, f, protocol.ReleaseInstance, 1)

		lic := &protocol.ReleaseLicenseCodeRequest{License: "LIC-1"}
		for range 3 {
			mustNil(t, "release licence", s.ReleaseLicenseCode(ctx, lic))
		}
		wantCalls(t, f, protocol.ReleaseLicenseCode, 1)
	})
}

// "Already gone" is success for a release, and is remembered.
func TestIdempotentReleaseNotFound(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		f.setHook(func(_ context.Context, req protocol.Request) (any, error) {
			if r, ok := req.(*protocol.ReleaseInstanceRequest); ok && r.InstanceID == "wrapped" {
				return nil, fmt.Errorf("release %s: %w", r.InstanceID, sellerkit.ErrNotFound)
			}
			return nil, sellerkit.ErrNotFound
		})
		for _, id := range []string{"never-existed", "wrapped"} {
			rel := &protocol.ReleaseInstanceRequest{InstanceID: id}
			mustNil(t, "release of "+id, s.ReleaseInstance(ctx, rel))
			mustNil(t, "repeated release of "+id, s.ReleaseInstance(ctx, rel))
		}
		wantCalls(t, f, protocol.ReleaseInstance, 2)
		mustNil(t, "licence release", s.ReleaseLicenseCode(ctx, &protocol.ReleaseLicenseCodeRequest{License: "gone"}))

		// Not for the interfaces that are not removals.
		err := s.UpdateInstanceStatus(ctx, &protocol.UpdateInstanceStatusRequest{InstanceID: "x", Status: protocol.StatusFreeze})
		if !errors.Is(err, sellerkit.ErrNotFound) {
			t.Fatalf("updateInstanceStatus of a missing instance: %v, want ErrNotFound", err)
		}
		err = s.RefreshInstance(ctx, sampleRequests()[2].(*protocol.RefreshInstanceRequest))
		if !errors.Is(err, sellerkit.ErrNotFound) {
			t.Fatalf("refreshInstance of a missing instance: %v, want ErrNotFound", err)
		}
		// Another error of a release is an error.
		f.setHook(func(context.Context, protocol.Request) (any, error) { return nil, errors.New("disk full") })
		if err := s.ReleaseInstance(ctx, &protocol.ReleaseInstanceRequest{InstanceID: "busy"}); err == nil {
			t.Fatal("a failing release succeeded")
		}
	})
}

func TestIdempotentStatus(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		status := func(id, st string) {
			t.Helper()
			mustNil(t, st, s.UpdateInstanceStatus(ctx, &protocol.UpdateInstanceStatusRequest{InstanceID: id, Status: st}))
		}
		status("inst-1", protocol.StatusFreeze)
		status("inst-1", protocol.StatusFreeze)
		wantCalls(t, f, protocol.UpdateInstanceStatus, 1)
		status("inst-1", protocol.StatusUnfreeze)
		status("inst-1", protocol.StatusFreeze)
		wantCalls(t, f, protocol.UpdateInstanceStatus, 3)
		status("inst-2", protocol.StatusFreeze) // another instance
		wantCalls(t, f, protocol.UpdateInstanceStatus, 4)

		lic := func(st string) {
			t.Helper()
			mustNil(t, st, s.UpdateLicenseCodeStatus(ctx, &protocol.UpdateLicenseCodeStatusRequest{License: "LIC", Status: st}))
		}
		lic(protocol.StatusFreeze)
		lic(protocol.StatusFreeze)
		lic(protocol.StatusUnfreeze)
		wantCalls(t, f, protocol.UpdateLicenseCodeStatus, 2)
	})
}

func TestIdempotentRefresh(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		req := *sampleRequests()[2].(*protocol.RefreshInstanceRequest)
		mustNil(t, "refresh", s.RefreshInstance(ctx, &req))
		mustNil(t, "same refresh", s.RefreshInstance(ctx, &req))
		wantCalls(t, f, protocol.RefreshInstance, 1)
		req.ExpireTime = "20280301000000"
		mustNil(t, "new expiry", s.RefreshInstance(ctx, &req))
		mustNil(t, "new expiry again", s.RefreshInstance(ctx, &req))
		wantCalls(t, f, protocol.RefreshInstance, 2)

		lic := *sampleRequests()[8].(*protocol.RefreshLicenseCodeRequest)
		mustNil(t, "licence refresh", s.RefreshLicenseCode(ctx, &lic))
		mustNil(t, "same licence refresh", s.RefreshLicenseCode(ctx, &lic))
		lic.ExpireTime = "20280101000000"
		mustNil(t, "licence new expiry", s.RefreshLicenseCode(ctx, &lic))
		wantCalls(t, f, protocol.RefreshLicenseCode, 2)
	})
}

func TestIdempotentUpgrade(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		req := *sampleRequests()[5].(*protocol.UpgradeInstanceRequest)
		mustNil(t, "upgrade", s.UpgradeInstance(ctx, &req))
		mustNil(t, "same upgrade", s.UpgradeInstance(ctx, &req))
		wantCalls(t, f, protocol.UpgradeInstance, 1)
		req.OrderID, req.OrderLineID = "order-next", "line-next"
		mustNil(t, "next upgrade", s.UpgradeInstance(ctx, &req))
		wantCalls(t, f, protocol.UpgradeInstance, 2)
	})
}

// changeInstanceCheck, orderNotify and queryInstance have no state to keep:
// every call reaches the seller.
func TestIdempotentPassThrough(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		for range 2 {
			mustNil(t, "check", s.ChangeInstanceCheck(ctx, sampleRequests()[6].(*protocol.ChangeInstanceCheckRequest)))
			mustNil(t, "notify", s.OrderNotify(ctx, sampleRequests()[7].(*protocol.OrderNotifyRequest)))
			_, err := s.QueryInstance(ctx, sampleRequests()[1].(*protocol.QueryInstanceRequest))
			mustNil(t, "query", err)
		}
		wantCalls(t, f, protocol.ChangeInstanceCheck, 2)
		wantCalls(t, f, protocol.OrderNotify, 2)
		wantCalls(t, f, protocol.QueryInstance, 2)
	})
}

func TestIdempotentTenantSync(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		add := *sampleRequests()[11].(*protocol.TenantSyncRequest)
		mustNil(t, "add", s.TenantSync(ctx, &add))
		add.TimeStamp = protocol.FormatMilli(base.Add(time.Minute), protocol.Default.KitTimeZone) // a later resend
		mustNil(t, "repeated add", s.TenantSync(ctx, &add))
		wantCalls(t, f, protocol.TenantSync, 1)

		mod := add
		mod.Flag, mod.Name = protocol.FlagModify, "ACME Group"
		mustNil(t, "modify", s.TenantSync(ctx, &mod))
		wantCalls(t, f, protocol.TenantSync, 2)
		if got := f.callsOf(protocol.TenantSync)[1].(*protocol.TenantSyncRequest); got.Name != "ACME Group" {
			t.Fatalf("seller got %+v", got)
		}
		mustNil(t, "repeated modify", s.TenantSync(ctx, &mod))
		wantCalls(t, f, protocol.TenantSync, 2)

		del := protocol.TenantSyncRequest{KitCommon: add.KitCommon, TenantCode: add.TenantCode, Flag: protocol.FlagDelete}
		mustNil(t, "delete", s.TenantSync(ctx, &del))
		mustNil(t, "repeated delete", s.TenantSync(ctx, &del))
		wantCalls(t, f, protocol.TenantSync, 3)

		// Added again after the delete: reaches the seller.
		mustNil(t, "add after delete", s.TenantSync(ctx, &add))
		wantCalls(t, f, protocol.TenantSync, 4)

		// A delete of a tenant the seller never saw.
		f.setHook(func(context.Context, protocol.Request) (any, error) { return nil, sellerkit.ErrNotFound })
		never := protocol.TenantSyncRequest{KitCommon: kitCommon("inst-9", "tenant-9"), TenantCode: "x", Flag: protocol.FlagDelete}
		mustNil(t, "delete of a never-added tenant", s.TenantSync(ctx, &never))
		mustNil(t, "repeated delete of a never-added tenant", s.TenantSync(ctx, &never))
		wantCalls(t, f, protocol.TenantSync, 5)
		// But ErrNotFound on an add is an error.
		other := add
		other.KitCommon = kitCommon("inst-9", "tenant-8")
		if err := s.TenantSync(ctx, &other); !errors.Is(err, sellerkit.ErrNotFound) {
			t.Fatalf("add answered ErrNotFound: %v", err)
		}
	})
}

func TestIdempotentApplicationAndOrgSync(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		app := *sampleRequests()[12].(*protocol.ApplicationSyncRequest)
		mustNil(t, "app add", s.ApplicationSync(ctx, &app))
		mustNil(t, "app add again", s.ApplicationSync(ctx, &app))
		app.Flag, app.ClientSecret = protocol.FlagModify, "bmV3"
		mustNil(t, "app new secret", s.ApplicationSync(ctx, &app))
		app.Flag = protocol.FlagDelete
		mustNil(t, "app delete", s.ApplicationSync(ctx, &app))
		mustNil(t, "app delete again", s.ApplicationSync(ctx, &app))
		wantCalls(t, f, protocol.ApplicationSync, 3)

		org := *sampleRequests()[14].(*protocol.SingleOrgSyncRequest)
		mustNil(t, "org add", s.SingleOrgSync(ctx, &org))
		mustNil(t, "org add again", s.SingleOrgSync(ctx, &org))
		org.Flag, org.OrgName = protocol.FlagModify, "Research"
		mustNil(t, "org rename", s.SingleOrgSync(ctx, &org))
		other := org
		other.OrgCode = "sales" // another department is another entity
		mustNil(t, "other org", s.SingleOrgSync(ctx, &other))
		org.Flag = protocol.FlagDelete
		mustNil(t, "org delete", s.SingleOrgSync(ctx, &org))
		mustNil(t, "org delete again", s.SingleOrgSync(ctx, &org))
		wantCalls(t, f, protocol.SingleOrgSync, 4)
	})
}

func TestIdempotentAllOrgSync(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		tree := *sampleRequests()[15].(*protocol.AllOrgSyncRequest)
		mustNil(t, "tree", s.AllOrgSync(ctx, &tree))
		same := tree
		same.OrgInfoList = append([]protocol.Org(nil), tree.OrgInfoList...)
		same.TimeStamp = protocol.FormatMilli(base.Add(time.Hour), protocol.Default.KitTimeZone)
		mustNil(t, "same tree", s.AllOrgSync(ctx, &same))
		wantCalls(t, f, protocol.AllOrgSync, 1)
		same.OrgInfoList = append(same.OrgInfoList, protocol.Org{OrgCode: "sales", OrgName: "Sales", ParentCode: "root"})
		mustNil(t, "changed tree", s.AllOrgSync(ctx, &same))
		wantCalls(t, f, protocol.AllOrgSync, 2)
	})
}

func TestIdempotentAuthSync(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		alice := protocol.User{UserName: "alice", Name: "Alice", OrgCode: "rd", Role: "admin", Enable: "true"}
		bob := protocol.User{UserName: "bob", Name: "Bob", OrgCode: "rd", Role: "user", Enable: "true"}
		carol := protocol.User{UserName: "carol", Name: "Carol", OrgCode: "ops", Role: "user", Enable: "true"}
		sync := func(flag protocol.NumberFlag, users ...protocol.User) []protocol.User {
			t.Helper()
			before := f.count(protocol.AuthSync)
			req := &protocol.AuthSyncRequest{KitCommon: kitCommon("inst-1", "tenant-1"), AppID: "app-1",
				CurrentSyncTime: "20260301120000", Flag: flag, UserList: users}
			mustNil(t, "authSync", s.AuthSync(ctx, req))
			calls := f.callsOf(protocol.AuthSync)
			switch len(calls) - before {
			case 0:
				return nil
			case 1:
				return calls[len(calls)-1].(*protocol.AuthSyncRequest).UserList
			}
			t.Fatalf("one authSync reached the seller %d times", len(calls)-before)
			return nil
		}
		wantUsers := func(got []protocol.User, want ...protocol.User) {
			t.Helper()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seller got users %+v, want %+v", got, want)
			}
		}
		wantUsers(sync(protocol.FlagAdd, alice, bob), alice, bob)
		wantUsers(sync(protocol.FlagAdd, alice, bob)) // nothing changed: seller not called
		bob2 := bob
		bob2.Enable = "false"
		wantUsers(sync(protocol.FlagModify, alice, bob2, carol), bob2, carol)
		wantUsers(sync(protocol.FlagModify, alice, bob2, carol))
		wantUsers(sync(protocol.FlagRevoke, alice), alice)
		wantUsers(sync(protocol.FlagRevoke, alice))
		wantUsers(sync(protocol.FlagDelete, alice, carol), carol) // alice is already gone
		wantUsers(sync(protocol.FlagAdd, alice), alice)           // granted again

		// A revoke the seller answers "not found" is done.
		f.setHook(func(context.Context, protocol.Request) (any, error) { return nil, sellerkit.ErrNotFound })
		dave := protocol.User{UserName: "dave"}
		wantUsers(sync(protocol.FlagRevoke, dave), dave)
		wantUsers(sync(protocol.FlagRevoke, dave))

		// A failed authSync is not remembered for any of its users.
		f.setHook(func(context.Context, protocol.Request) (any, error) { return nil, errors.New("ldap down") })
		erin := protocol.User{UserName: "erin", Name: "Erin"}
		req := &protocol.AuthSyncRequest{KitCommon: kitCommon("inst-1", "tenant-1"), AppID: "app-1", Flag: protocol.FlagAdd, UserList: []protocol.User{erin}}
		if err := s.AuthSync(ctx, req); err == nil {
			t.Fatal("the seller's error was swallowed")
		}
		f.setHook(nil)
		wantUsers(sync(protocol.FlagAdd, erin), erin)
	})
}

// 50 concurrent retries of one purchase reach the seller once.
func TestIdempotentConcurrentNewInstance(t *testing.T) {
	eachStore(t, func(t *testing.T, st sellerkit.Store) {
		f, s := idem(st)
		var n atomic.Int32
		f.setHook(func(context.Context, protocol.Request) (any, error) {
			time.Sleep(5 * time.Millisecond) // widen the window for a race
			id := fmt.Sprintf("inst-%d", n.Add(1))
			return &sellerkit.Instance{ID: id, AppInfo: appInfoFor(id)}, nil
		})
		const workers = 50
		ids := make([]string, workers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				inst, err := s.NewInstance(ctx, newInst("o-c", "l-c", fmt.Sprint("biz-", i)))
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = inst.ID
			}()
		}
		close(start)
		wg.Wait()
		wantCalls(t, f, protocol.NewInstance, 1)
		for i, id := range ids {
			if id != ids[0] || id == "" {
				t.Fatalf("goroutine %d got instance %q, goroutine 0 got %q", i, id, ids[0])
			}
		}
	})
}

// What Idempotent remembered in SQLite survives a restart of the seller.
func TestIdempotentRestartSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seller.db")
	st, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f1, s1 := idem(st)
	req := newInst("o-r", "l-r", "b-1")
	first, err := s1.NewInstance(ctx, req)
	mustNil(t, "newInstance", err)
	mustNil(t, "release", s1.ReleaseInstance(ctx, &protocol.ReleaseInstanceRequest{InstanceID: "inst-gone"}))
	wantCalls(t, f1, protocol.NewInstance, 1)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f2, s2 := idem(st)
	again, err := s2.NewInstance(ctx, newInst("o-r", "l-r", "b-2"))
	mustNil(t, "newInstance after the restart", err)
	if !reflect.DeepEqual(first, again) {
		t.Fatalf("after the restart: %+v, want %+v", again, first)
	}
	mustNil(t, "release after the restart", s2.ReleaseInstance(ctx, &protocol.ReleaseInstanceRequest{InstanceID: "inst-gone"}))
	if n := len(f2.all()); n != 0 {
		t.Fatalf("the restarted seller was called %d times, want 0", n)
	}
}

// failingStore fails every Get or Put.
type failingStore struct{ get, put bool }

func (s failingStore) Get(context.Context, string) ([]byte, bool, error) {
	if s.get {
		return nil, false, errors.New("store get failed")
	}
	return nil, false, nil
}

func (s failingStore) Put(context.Context, string, []byte) error {
	if s.put {
		return errors.New("store put failed")
	}
	return nil
}

// A store failure is an internal error (the marketplace retries), never a
// success that was not recorded.
func TestIdempotentStoreFailure(t *testing.T) {
	for _, st := range []failingStore{{get: true}, {put: true}} {
		f, s := idem(st)
		if _, err := s.NewInstance(ctx, newInst("o", "l", "b")); err == nil {
			t.Errorf("%+v: newInstance succeeded", st)
		}
		if err := s.ReleaseInstance(ctx, &protocol.ReleaseInstanceRequest{InstanceID: "i"}); err == nil {
			t.Errorf("%+v: release succeeded", st)
		}
		if err := s.AuthSync(ctx, sampleRequests()[13].(*protocol.AuthSyncRequest)); err == nil {
			t.Errorf("%+v: authSync succeeded", st)
		}
		if st.get && len(f.all()) != 0 {
			t.Errorf("the seller was called although the store could not be read")
		}
	}
}
