package sellerkit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

func TestAnyNotFoundCodeIsAlreadyGoneForRemovals(t *testing.T) {
	err := sellerkit.Errorf(protocol.CodeInstanceNotFound, "user %s is gone", "u1")
	if !errors.Is(err, sellerkit.ErrNotFound) {
		t.Fatalf("errors.Is(Errorf(000003), ErrNotFound) = false, want true")
	}
	if errors.Is(sellerkit.Errorf(protocol.CodeNoResource, "x"), sellerkit.ErrNotFound) {
		t.Fatalf("errors.Is(Errorf(000100), ErrNotFound) = true, want false")
	}
	f := &fakeSeller{}
	f.setHook(func(context.Context, protocol.Request) (any, error) {
		return nil, sellerkit.Errorf(protocol.CodeInstanceNotFound, "instance i-1 was never here")
	})
	s := sellerkit.Idempotent(f, sellerkit.NewMemoryStore())
	if err := s.ReleaseInstance(context.Background(), &protocol.ReleaseInstanceRequest{InstanceID: "i-1"}); err != nil {
		t.Fatalf("ReleaseInstance() with the seller's own 000003 = %v, want success (already gone)", err)
	}
	if err := s.RefreshInstance(context.Background(), &protocol.RefreshInstanceRequest{InstanceID: "i-1", OrderLineID: "l", Scene: protocol.SceneRenewal, ExpireTime: "20270101000000"}); !errors.Is(err, sellerkit.ErrNotFound) {
		t.Fatalf("RefreshInstance() = %v, want the 000003 passed on (not a removal)", err)
	}
}

func TestSellerErrorWithASuccessCodeIsInternal(t *testing.T) {
	for _, code := range []protocol.Code{protocol.CodeSuccess, protocol.CodeAccepted, "12", "abcdef"} {
		f := &fakeSeller{}
		f.setHook(func(context.Context, protocol.Request) (any, error) { return nil, sellerkit.Errorf(code, "oops") })
		e := newEnv(t, f, sellerkit.Config{})
		o := e.send(&protocol.ReleaseInstanceRequest{InstanceID: "i"})
		if o.ResultCode != protocol.CodeInternal {
			t.Errorf("seller error with code %q answered %s, want 000005", code, o.ResultCode)
		}
	}
}

func TestIdempotentLocksOnlyTheSameKey(t *testing.T) {
	f := &fakeSeller{}
	release := make(chan struct{})
	f.setHook(func(_ context.Context, req protocol.Request) (any, error) {
		if r, ok := req.(*protocol.ReleaseInstanceRequest); ok && r.InstanceID == "slow" {
			<-release
		}
		return nil, nil
	})
	s := sellerkit.Idempotent(f, sellerkit.NewMemoryStore())
	ctx := context.Background()
	slowDone := make(chan error, 1)
	go func() { slowDone <- s.ReleaseInstance(ctx, &protocol.ReleaseInstanceRequest{InstanceID: "slow"}) }()
	// Many other keys go through while "slow" is held.
	done := make(chan struct{})
	go func() {
		for i := range 200 {
			s.ReleaseInstance(ctx, &protocol.ReleaseInstanceRequest{InstanceID: "fast-" + string(rune('a'+i%26)) + string(rune('a'+i/26))})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("calls about other keys waited behind a slow call")
	}
	close(release)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
}
