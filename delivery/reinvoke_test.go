package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

func TestReinvokeAuthorisationStateAndAudit(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newSink(t, clock)
		s.setAnswer(func(protocol.Activity, []byte) string { return `{"resultCode":"000005","resultMsg":"down"}` })
		e := newEngine(t, db, s, &hookLog{})
		release := &protocol.ReleaseInstanceRequest{InstanceID: "i"}
		failed := enqueue(t, db, delivery.NewCall{SellerID: "seller-1", ProductID: "prod-1", Key: "i", Request: release, Policy: delivery.Once})
		kit := enqueue(t, db, delivery.NewCall{SellerID: "seller-1", ProductID: "prod-1", Key: "ent-1", Request: release, Policy: delivery.KitAdmin})
		runSchedule(t, e, clock)
		queued := enqueue(t, db, delivery.NewCall{SellerID: "seller-1", ProductID: "prod-1", Key: "other", Request: release, Policy: delivery.Once})

		owner := delivery.Actor{Role: delivery.RoleSeller, ID: "u1", SellerID: "seller-1"}
		tests := []struct {
			name string
			call int64
			who  delivery.Actor
			why  string
			code string
		}{
			{"another seller", failed, delivery.Actor{Role: delivery.RoleSeller, ID: "u2", SellerID: "seller-2"}, "fixed", souk.ENOTFOUND},
			{"buyer on a basic call", failed, delivery.Actor{Role: delivery.RoleBuyer, ID: "b"}, "fixed", souk.EUNAUTHORIZED},
			{"buyer on an admin's kit call", kit, delivery.Actor{Role: delivery.RoleBuyer, ID: "b"}, "fixed", souk.EUNAUTHORIZED},
			{"no reason", failed, owner, "  ", souk.EINVALID},
			{"not finished", queued, owner, "fixed", souk.ECONFLICT},
			{"no such call", 9999, owner, "fixed", souk.ENOTFOUND},
			{"unknown role", failed, delivery.Actor{Role: "visitor"}, "fixed", souk.EUNAUTHORIZED},
			{"admin on its kit call", kit, delivery.Actor{Role: delivery.RoleAdmin, ID: "a"}, "retry please", ""},
			{"owner", failed, owner, "endpoint fixed", ""},
		}
		for _, tt := range tests {
			err := e.Reinvoke(ctx, tt.call, tt.who, tt.why)
			if got := souk.ErrorCode(err); got != tt.code {
				t.Errorf("%s: Reinvoke() = %v, want code %q", tt.name, err, tt.code)
			}
		}
		if st, _ := callState(t, db, failed); st != delivery.Pending {
			t.Fatalf("re-invoked call = %s, want pending", st)
		}
		s.setAnswer(func(protocol.Activity, []byte) string { return `{"resultCode":"000000","resultMsg":"ok"}` })
		runSchedule(t, e, clock)
		m, err := delivery.GetMessage(ctx, db, failed, "seller-1")
		if err != nil {
			t.Fatal(err)
		}
		if m.Call.State != delivery.Succeeded || len(m.Attempts) != 2 || m.Attempts[0].Outcome != protocol.OutcomeRejected ||
			m.Attempts[0].ResultCode != protocol.CodeInternal || m.Attempts[1].Outcome != protocol.OutcomeSuccess {
			t.Fatalf("message after re-invoke = %+v with attempts %+v", m.Call, m.Attempts)
		}
		if len(m.Reinvocations) != 1 || m.Reinvocations[0].Actor != "seller:u1" || m.Reinvocations[0].Reason != "endpoint fixed" {
			t.Fatalf("reinvocations = %+v, want one by seller:u1", m.Reinvocations)
		}
		if _, err := delivery.GetMessage(ctx, db, failed, "seller-2"); souk.ErrorCode(err) != souk.ENOTFOUND {
			t.Fatalf("GetMessage() by another seller = %v, want ENOTFOUND", err)
		}
		calls, err := delivery.ListCalls(ctx, db, delivery.CallFilter{SellerID: "seller-1"})
		if err != nil || len(calls) != 3 || calls[0].ID != queued {
			t.Fatalf("ListCalls(seller-1) = %d calls (%v), want 3 newest first", len(calls), err)
		}
		if calls, _ := delivery.ListCalls(ctx, db, delivery.CallFilter{SellerID: "seller-2"}); len(calls) != 0 {
			t.Fatalf("ListCalls(seller-2) = %d calls, want 0", len(calls))
		}
		page, _ := delivery.ListCalls(ctx, db, delivery.CallFilter{Limit: 1, BeforeID: queued})
		if len(page) != 1 || page[0].ID != kit {
			t.Fatalf("second page = %v, want call %d", page, kit)
		}
	})
}

func TestReinvokeStartsAFreshPolicyStage(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		s := newSink(t, clock)
		s.setAnswer(func(protocol.Activity, []byte) string { return `{"resultCode":"000005","resultMsg":"down"}` })
		h := &hookLog{}
		e := newEngine(t, db, s, h)
		id := enqueue(t, db, delivery.NewCall{SellerID: "s", ProductID: "prod-1", Key: "i",
			Request: &protocol.UpdateInstanceStatusRequest{InstanceID: "i", Status: protocol.StatusFreeze}, Policy: delivery.Renewal})
		runSchedule(t, e, clock)
		_, first := callState(t, db, id)
		clock.Advance(24 * time.Hour)
		if err := e.Reinvoke(context.Background(), id, delivery.Actor{Role: delivery.RoleOperator, ID: "op"}, "seller asked"); err != nil {
			t.Fatal(err)
		}
		runSchedule(t, e, clock)
		st, total := callState(t, db, id)
		if st != delivery.Exhausted || total != 2*first {
			t.Fatalf("after re-invoke: %s with %d attempts, want exhausted after a second full hour (%d)", st, total, 2*first)
		}
		if len(h.failed) != 4 || len(h.exhausted) != 2 {
			t.Fatalf("notices %v and exhausted %v, want two stages twice", h.failed, h.exhausted)
		}
	})
}

// A call still retrying is sent at once when re-invoked, in the same
// policy stage: the attempt happens now, and the deadline stays where it
// was (the call is exhausted when it would have been).
func TestReinvokeRetryingSendsNowKeepingTheDeadline(t *testing.T) {
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ctx := context.Background()
		s := newSink(t, clock)
		s.setAnswer(func(protocol.Activity, []byte) string { return `{"resultCode":"000005","resultMsg":"down"}` })
		e := newEngine(t, db, s, &hookLog{})
		id := enqueue(t, db, delivery.NewCall{SellerID: "s", ProductID: "prod-1", Key: "i",
			Request: &protocol.UpdateInstanceStatusRequest{InstanceID: "i", Status: protocol.StatusFreeze}, Policy: delivery.Renewal})
		if _, err := e.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		m, err := delivery.GetMessage(ctx, db, id, "")
		if err != nil || m.Call.State != delivery.Retrying || !m.Call.NextAt.After(clock.Now()) {
			t.Fatalf("after one failure: %+v (%v), want retrying later", m.Call, err)
		}
		owner := delivery.Actor{Role: delivery.RoleSeller, ID: "u1", SellerID: "s"}
		if err := e.Reinvoke(ctx, id, owner, "fixed the endpoint"); err != nil {
			t.Fatal(err)
		}
		if m, _ := delivery.GetMessage(ctx, db, id, ""); m.Call.State != delivery.Retrying || !m.Call.NextAt.Equal(clock.Now()) {
			t.Fatalf("re-invoked retrying call: %s next at %v, want retrying, due now %v", m.Call.State, m.Call.NextAt, clock.Now())
		}
		if _, err := e.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if _, n := callState(t, db, id); n != 2 {
			t.Fatalf("attempts after the re-invoke = %d, want 2 (sent at once)", n)
		}
		// Still failing: the Renewal policy gives up one hour after the
		// first attempt, as if nobody had re-invoked.
		runSchedule(t, e, clock)
		m, _ = delivery.GetMessage(ctx, db, id, "")
		if m.Call.State != delivery.Exhausted || m.Call.FinishedAt.Sub(t0) > time.Hour+2*time.Minute {
			t.Fatalf("call %s, finished %v after the first attempt; want exhausted within the first hour's schedule", m.Call.State, m.Call.FinishedAt.Sub(t0))
		}
	})
}
