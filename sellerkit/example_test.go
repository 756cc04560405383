package sellerkit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// shop is a complete small seller: its instances live in a map.
// Unimplemented answers the optional interfaces it does not offer.
type shop struct {
	sellerkit.Unimplemented
	mu     sync.Mutex
	frozen map[string]bool // instance id → frozen
}

func (s *shop) NewInstance(_ context.Context, req *protocol.NewInstanceRequest) (*sellerkit.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "inst-" + req.OrderLineID
	s.frozen[id] = false
	return &sellerkit.Instance{ID: id, AppInfo: s.appInfo(id)}, nil
}

func (s *shop) appInfo(id string) *protocol.AppInfo {
	// Secrets go in plain text: the handler encrypts them on the wire.
	return &protocol.AppInfo{FrontEndURL: "https://shop.example.com/" + id, UserName: "admin", Password: "change-me"}
}

func (s *shop) QueryInstance(_ context.Context, req *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var infos []protocol.InstanceInfo
	for _, id := range req.IDs() {
		if _, ok := s.frozen[id]; ok {
			infos = append(infos, protocol.InstanceInfo{InstanceID: id, AppInfo: s.appInfo(id)})
		}
	}
	return infos, nil
}

// RefreshInstance has nothing to do: the marketplace freezes and releases.
func (s *shop) RefreshInstance(context.Context, *protocol.RefreshInstanceRequest) error { return nil }

func (s *shop) UpdateInstanceStatus(_ context.Context, req *protocol.UpdateInstanceStatusRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.frozen[req.InstanceID]; !ok {
		return sellerkit.ErrNotFound
	}
	s.frozen[req.InstanceID] = req.Status == protocol.StatusFreeze
	return nil
}

func (s *shop) ReleaseInstance(_ context.Context, req *protocol.ReleaseInstanceRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.frozen, req.InstanceID)
	return nil
}

func ExampleNewHandler() {
	// Idempotent answers the marketplace's retries (same order line: same
	// instance) without calling shop twice.
	seller := sellerkit.Idempotent(&shop{frozen: map[string]bool{}}, sellerkit.NewMemoryStore())
	h := sellerkit.NewHandler(seller, sellerkit.Config{Keys: []string{"the-access-key"}})

	// A real seller mounts h with http.Handle on its production URL's path
	// and that path with a slash (for the kit interfaces), then serves.
	mux := http.NewServeMux()
	mux.Handle("/produce", h)
	mux.Handle("/produce/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The marketplace's side: one signed newInstance call.
	client := protocol.NewClient(protocol.Default, time.Now, 8)
	target := protocol.Target{URL: srv.URL + "/produce", AccessKey: "the-access-key"}
	o := client.Send(context.Background(), target, &protocol.NewInstanceRequest{
		BusinessID: "b-1", OrderID: "order-1", OrderLineID: "line-1",
	})
	var answer protocol.NewInstanceResponse
	if err := o.Decode(&answer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(answer.ResultCode, answer.InstanceID)
	// Output: 000000 inst-line-1
}
