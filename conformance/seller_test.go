package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
)

// The sellers the checker is tested against: real HTTP servers on
// 127.0.0.1 serving sellerkit handlers, good or deliberately broken.

const testKey = "test-access-key-0123456789"

// memSeller is a small in-memory seller implementing all 16 interfaces. On
// its own it is not idempotent (a new instance on every newInstance, 000003
// for deleting what is gone); wrapped in sellerkit.Idempotent it is a good
// seller.
type memSeller struct {
	async      bool // newInstance answers 000004 …
	readyAfter int  // … and the instance is ready on this query

	mu        sync.Mutex
	next      int
	instances map[string]*memInstance
	licences  map[string]string // licence -> status
	kit       map[string]bool   // "tenant/…", "app/…", "org/…", "user/…"
}

type memInstance struct {
	frontEnd string
	status   string
	expire   string
	order    string
	queries  int
}

func newMemSeller(async bool) *memSeller {
	return &memSeller{async: async, readyAfter: 2, instances: map[string]*memInstance{}, licences: map[string]string{}, kit: map[string]bool{}}
}

func (s *memSeller) NewInstance(_ context.Context, req *protocol.NewInstanceRequest) (*sellerkit.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	id := fmt.Sprintf("inst-%d", s.next)
	inst := &memInstance{frontEnd: "https://app.example/" + id, order: req.OrderID}
	s.instances[id] = inst
	if s.async {
		return &sellerkit.Instance{ID: id, Pending: true}, nil
	}
	return &sellerkit.Instance{ID: id, AppInfo: s.appInfo(inst)}, nil
}

func (s *memSeller) appInfo(inst *memInstance) *protocol.AppInfo {
	return &protocol.AppInfo{FrontEndURL: inst.frontEnd, UserName: "admin", Password: "s3cret"}
}

func (s *memSeller) QueryInstance(_ context.Context, req *protocol.QueryInstanceRequest) ([]protocol.InstanceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var infos []protocol.InstanceInfo
	for _, id := range req.IDs() {
		inst, ok := s.instances[id]
		if !ok {
			continue
		}
		inst.queries++
		info := protocol.InstanceInfo{InstanceID: id}
		if !s.async || inst.queries >= s.readyAfter {
			info.AppInfo = s.appInfo(inst)
		}
		infos = append(infos, info)
	}
	if len(infos) == 0 {
		return nil, sellerkit.ErrNotFound
	}
	return infos, nil
}

func (s *memSeller) instance(id string, f func(*memInstance)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[id]
	if !ok {
		return sellerkit.ErrNotFound
	}
	f(inst)
	return nil
}

func (s *memSeller) RefreshInstance(_ context.Context, req *protocol.RefreshInstanceRequest) error {
	return s.instance(req.InstanceID, func(i *memInstance) { i.expire = req.ExpireTime })
}
func (s *memSeller) UpdateInstanceStatus(_ context.Context, req *protocol.UpdateInstanceStatusRequest) error {
	return s.instance(req.InstanceID, func(i *memInstance) { i.status = req.Status })
}
func (s *memSeller) UpgradeInstance(_ context.Context, req *protocol.UpgradeInstanceRequest) error {
	return s.instance(req.InstanceID, func(i *memInstance) { i.order = req.OrderID })
}
func (s *memSeller) ChangeInstanceCheck(_ context.Context, req *protocol.ChangeInstanceCheckRequest) error {
	return s.instance(req.InstanceID, func(*memInstance) {})
}
func (s *memSeller) ReleaseInstance(_ context.Context, req *protocol.ReleaseInstanceRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.instances[req.InstanceID]; !ok {
		return sellerkit.ErrNotFound
	}
	delete(s.instances, req.InstanceID)
	return nil
}
func (s *memSeller) OrderNotify(context.Context, *protocol.OrderNotifyRequest) error { return nil }

func (s *memSeller) RefreshLicenseCode(_ context.Context, req *protocol.RefreshLicenseCodeRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.licences[req.License] = "ACTIVE"
	return nil
}
func (s *memSeller) UpdateLicenseCodeStatus(_ context.Context, req *protocol.UpdateLicenseCodeStatusRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.licences[req.License]; !ok {
		return sellerkit.ErrNotFound
	}
	s.licences[req.License] = req.Status
	return nil
}
func (s *memSeller) ReleaseLicenseCode(_ context.Context, req *protocol.ReleaseLicenseCodeRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.licences[req.License]; !ok {
		return sellerkit.ErrNotFound
	}
	delete(s.licences, req.License)
	return nil
}

// sync adds (flag 1, 2) or deletes (flag 0, 3) a kit entity; deleting one
// that is not there is ErrNotFound.
func (s *memSeller) sync(flag protocol.NumberFlag, keys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if flag == protocol.FlagDelete || flag == protocol.FlagRevoke {
			if !s.kit[k] {
				return sellerkit.ErrNotFound
			}
			delete(s.kit, k)
		} else {
			s.kit[k] = true
		}
	}
	return nil
}

func (s *memSeller) TenantSync(_ context.Context, req *protocol.TenantSyncRequest) error {
	return s.sync(req.Flag, "tenant/"+req.TenantID)
}
func (s *memSeller) ApplicationSync(_ context.Context, req *protocol.ApplicationSyncRequest) error {
	return s.sync(req.Flag, "app/"+req.AppID)
}
func (s *memSeller) SingleOrgSync(_ context.Context, req *protocol.SingleOrgSyncRequest) error {
	return s.sync(req.Flag, "org/"+req.OrgCode)
}
func (s *memSeller) AllOrgSync(_ context.Context, req *protocol.AllOrgSyncRequest) error {
	for _, o := range req.OrgInfoList {
		if err := s.sync(protocol.FlagAdd, "org/"+o.OrgCode); err != nil {
			return err
		}
	}
	return nil
}
func (s *memSeller) AuthSync(_ context.Context, req *protocol.AuthSyncRequest) error {
	var keys []string
	for _, u := range req.UserList {
		keys = append(keys, "user/"+u.UserName)
	}
	return s.sync(req.Flag, keys...)
}

// serve starts a sellerkit handler for s with key and returns its URL.
func serve(t *testing.T, s sellerkit.Seller, key string, wrap ...func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = sellerkit.NewHandler(s, sellerkit.Config{Keys: []string{key}, SignResponses: true})
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/souk"
}

func goodSeller(async bool) sellerkit.Seller {
	return sellerkit.Idempotent(newMemSeller(async), sellerkit.NewMemoryStore())
}

// activityOf peeks at a basic call's activity (or a kit call's name)
// without consuming the body.
func activityOf(r *http.Request) protocol.Activity {
	if i := strings.LastIndex(r.URL.Path, protocol.KitPathPrefix); i >= 0 {
		return protocol.Activity(r.URL.Path[i+len(protocol.KitPathPrefix):])
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var probe struct{ Activity protocol.Activity }
	json.Unmarshal(body, &probe)
	return probe.Activity
}

// onActivity runs f instead of the seller for calls of activity a.
func onActivity(a protocol.Activity, f http.HandlerFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if activityOf(r) == a {
				f(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// delay holds calls of activity a for d (or until the caller gives up)
// before the seller answers them.
func delay(a protocol.Activity, d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if activityOf(r) == a {
				select {
				case <-time.After(d):
				case <-r.Context().Done():
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// resign makes a seller that accepts anything: it replaces whatever
// signature a call carries (wrong, stale, replayed or none) with a fresh
// valid one before the real handler sees it, so no call is ever refused.
func resign(key string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			ts, nonce := protocol.Timestamp(time.Now()), protocol.Default.NewNonce()
			if strings.Contains(r.URL.Path, protocol.KitPathPrefix) {
				r.Header.Set(protocol.HeaderSign, protocol.SignKit(key, nonce, ts, body))
				r.Header.Set(protocol.HeaderTimestamp, ts)
				r.Header.Set(protocol.HeaderNonce, nonce)
			} else {
				q := r.URL.Query()
				q.Set(protocol.ParamSignature, protocol.SignQuery(key, nonce, ts, body))
				q.Set(protocol.ParamTimestamp, ts)
				q.Set(protocol.ParamNonce, nonce)
				r.URL.RawQuery = q.Encode()
			}
			next.ServeHTTP(w, r)
		})
	}
}

// contentType rewrites the Content-Type of every answer.
func contentType(ct string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(ctWriter{w, ct}, r)
		})
	}
}

type ctWriter struct {
	http.ResponseWriter
	ct string
}

func (w ctWriter) WriteHeader(status int) {
	w.Header().Set("Content-Type", w.ct)
	w.ResponseWriter.WriteHeader(status)
}

// kitNotIdempotent is a good seller except that its kit syncs reach the
// bare memSeller: a repeated delete answers 000003.
type kitNotIdempotent struct {
	sellerkit.Seller
	raw *memSeller
}

func newKitNotIdempotent() *kitNotIdempotent {
	raw := newMemSeller(false)
	return &kitNotIdempotent{Seller: sellerkit.Idempotent(raw, sellerkit.NewMemoryStore()), raw: raw}
}

func (s *kitNotIdempotent) TenantSync(ctx context.Context, r *protocol.TenantSyncRequest) error {
	return s.raw.TenantSync(ctx, r)
}
func (s *kitNotIdempotent) ApplicationSync(ctx context.Context, r *protocol.ApplicationSyncRequest) error {
	return s.raw.ApplicationSync(ctx, r)
}
func (s *kitNotIdempotent) SingleOrgSync(ctx context.Context, r *protocol.SingleOrgSyncRequest) error {
	return s.raw.SingleOrgSync(ctx, r)
}
func (s *kitNotIdempotent) AuthSync(ctx context.Context, r *protocol.AuthSyncRequest) error {
	return s.raw.AuthSync(ctx, r)
}
func (s *kitNotIdempotent) AllOrgSync(ctx context.Context, r *protocol.AllOrgSyncRequest) error {
	return s.raw.AllOrgSync(ctx, r)
}
