package refseller

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit/sqlitestore"
)

const testKey = "test-access-key"

// seller is a Server running on a real listener, and a marketplace-side
// client to call it.
type seller struct {
	t      *testing.T
	srv    *Server
	addr   string
	target protocol.Target
	client *protocol.Client
	stop   func()
}

// startSeller starts a Server on 127.0.0.1:0 with its data in dir; cfg
// gives the settings besides address, key and directory.
func startSeller(t *testing.T, dir string, cfg Config) *seller {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.Key, cfg.DataDir = ln.Addr().String(), testKey, dir
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := New(cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
			if err := srv.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &seller{
		t:      t,
		srv:    srv,
		addr:   cfg.Addr,
		target: protocol.Target{URL: "http://" + cfg.Addr + "/produce", AccessKey: testKey},
		client: protocol.NewClient(protocol.Default, time.Now, 8),
		stop:   stop,
	}
}

func (s *seller) send(req protocol.Request) *protocol.Outcome {
	return s.client.Send(context.Background(), s.target, req)
}

// ok sends req and fails the test unless the answer is 000000.
func (s *seller) ok(req protocol.Request) *protocol.Outcome {
	s.t.Helper()
	o := s.send(req)
	if !o.OK() {
		s.t.Fatalf("%s = %v, want success", req.Activity(), o)
	}
	return o
}

// code sends req and fails the test unless the answer has result code want.
func (s *seller) code(req protocol.Request, want protocol.Code) *protocol.Outcome {
	s.t.Helper()
	o := s.send(req)
	if o.ResultCode != want {
		s.t.Fatalf("%s = %v, want result code %s", req.Activity(), o, want)
	}
	return o
}

func (s *seller) newInstance(order, line string) *protocol.NewInstanceResponse {
	s.t.Helper()
	o := s.send(&protocol.NewInstanceRequest{BusinessID: "biz-" + newID(""), OrderID: order, OrderLineID: line})
	var resp protocol.NewInstanceResponse
	if o.Kind != protocol.OutcomeSuccess && o.Kind != protocol.OutcomeAccepted {
		s.t.Fatalf("newInstance = %v, want success or accepted", o)
	}
	if err := o.Decode(&resp); err != nil {
		s.t.Fatal(err)
	}
	return &resp
}

func (s *seller) query(ids ...string) *protocol.QueryInstanceResponse {
	s.t.Helper()
	o := s.ok(&protocol.QueryInstanceRequest{InstanceID: strings.Join(ids, ",")})
	var resp protocol.QueryInstanceResponse
	if err := o.Decode(&resp); err != nil {
		s.t.Fatal(err)
	}
	return &resp
}

// control sends method /control with body and the given key, and returns
// the status and body.
func (s *seller) control(method, path, key, body string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set(HeaderControlKey, key)
	}
	return s.get(req)
}

func (s *seller) get(req *http.Request) (int, string) {
	s.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *seller) page(url string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.get(req)
}

func (s *seller) setFaults(body string) {
	s.t.Helper()
	if status, resp := s.control(http.MethodPost, "/control", testKey, body); status != http.StatusOK {
		s.t.Fatalf("POST /control %s = %d %s, want 200", body, status, resp)
	}
}

// count returns the rows of table that match where.
func (s *seller) count(table, where string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.srv.store.DB().QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE `+where, args...).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

func kitCommon(instanceID string) protocol.KitCommon {
	return protocol.KitCommon{InstanceID: instanceID, TenantID: "tenant-1",
		TimeStamp: protocol.FormatMilli(time.Now(), protocol.Default.KitTimeZone)}
}

func TestInstanceLifecycle(t *testing.T) {
	s := startSeller(t, t.TempDir(), Config{})

	created := s.newInstance("order-1", "line-1")
	if !created.Ready() || !strings.HasPrefix(created.InstanceID, "ins-") {
		t.Fatalf("newInstance = %+v, want a ready instance ins-…", created)
	}
	id := created.InstanceID
	if want := "http://" + s.addr + "/app/" + id; created.AppInfo.FrontEndURL != want {
		t.Errorf("frontEndUrl = %q, want %q", created.AppInfo.FrontEndURL, want)
	}
	user, err := protocol.DecryptField(testKey, created.AppInfo.UserName, int(created.EncryptType))
	if err != nil || !strings.HasPrefix(user, "admin-") {
		t.Errorf("userName decrypts to %q, %v; want admin-…", user, err)
	}
	if pw, err := protocol.DecryptField(testKey, created.AppInfo.Password, int(created.EncryptType)); err != nil || len(pw) < 16 {
		t.Errorf("password decrypts to %q, %v; want a long random one", pw, err)
	}
	if status, body := s.page(created.AppInfo.FrontEndURL); status != http.StatusOK || !strings.Contains(body, id) {
		t.Errorf("GET frontEndUrl = %d %q, want 200 naming the instance", status, body)
	}
	if status, _ := s.page(created.AppInfo.AdminURL); status != http.StatusOK {
		t.Errorf("GET adminUrl = %d, want 200", status)
	}

	// A repeat (new businessId, same order line) is the same instance.
	if again := s.newInstance("order-1", "line-1"); again.InstanceID != id || !again.Ready() {
		t.Errorf("repeated newInstance = %+v, want instance %s again", again, id)
	}
	other := s.newInstance("order-2", "line-1").InstanceID
	if other == id {
		t.Fatalf("a second order got the first order's instance %s", id)
	}

	q := s.query(id, "ins-unknown", other, id)
	if len(q.Info) != 2 || q.Info[0].InstanceID != id || q.Info[1].InstanceID != other {
		t.Fatalf("queryInstance info = %+v, want %s and %s", q.Info, id, other)
	}
	info := q.Info[0]
	if !info.Ready() || len(info.UsageInfo) != 1 {
		t.Fatalf("queryInstance info = %+v, want appInfo and one usage", info)
	}
	u := info.UsageInfo[0]
	if _, err := protocol.ParseMilli(u.StatisticalTime, time.UTC); err != nil || u.RelatedInstanceID != id || u.UsageValue != "1" {
		t.Errorf("usage = %+v, want instance %s, 1 seat, statisticalTime yyyyMMddHHmmssSSS", u, id)
	}
	s.code(&protocol.QueryInstanceRequest{InstanceID: "ins-unknown,ins-other"}, protocol.CodeInstanceNotFound)

	refresh := &protocol.RefreshInstanceRequest{Scene: protocol.SceneRenewal, OrderID: "order-1r", OrderLineID: "line-1r",
		InstanceID: id, ProductID: "prod-1", ExpireTime: "20300101000000"}
	s.ok(refresh)
	s.ok(refresh)
	if n := s.count("instances", "id = ? AND expire_time = '20300101000000' AND product_id = 'prod-1'", id); n != 1 {
		t.Errorf("after refreshInstance the instance has not the new expiry and product")
	}
	s.code(&protocol.RefreshInstanceRequest{Scene: protocol.SceneRenewal, OrderID: "o", OrderLineID: "l",
		InstanceID: "ins-unknown", ExpireTime: "20300101000000"}, protocol.CodeInstanceNotFound)

	freeze := &protocol.UpdateInstanceStatusRequest{InstanceID: id, Status: protocol.StatusFreeze}
	s.ok(freeze)
	s.ok(freeze)
	if n := s.count("instances", "id = ? AND state = 'frozen'", id); n != 1 {
		t.Errorf("after FREEZE the instance is not frozen")
	}
	if q := s.query(id); !q.Info[0].Ready() || len(q.Info[0].UsageInfo) != 0 {
		t.Errorf("frozen instance info = %+v, want appInfo and no usage", q.Info[0])
	}
	s.ok(&protocol.UpdateInstanceStatusRequest{InstanceID: id, Status: protocol.StatusUnfreeze})
	if n := s.count("instances", "id = ? AND state = 'active'", id); n != 1 {
		t.Errorf("after UNFREEZE the instance is not active")
	}

	upgrade := &protocol.UpgradeInstanceRequest{InstanceID: id, OrderID: "order-up", OrderLineID: "line-up"}
	s.ok(upgrade)
	s.ok(upgrade)
	if n := s.count("instance_orders", "instance_id = ? AND order_id = 'order-up' AND event = 'upgrade'", id); n != 1 {
		t.Errorf("upgrade recorded %d times, want once", n)
	}

	o := s.code(&protocol.ChangeInstanceCheckRequest{InstanceID: id,
		ProductInfo: protocol.ProductInfo{ProductID: "prod-1", SKUCode: DowngradeSKU}}, protocol.CodeInvalidParam)
	if !strings.Contains(o.ResultMsg, "lose data") {
		t.Errorf("refused changeInstanceCheck says %q, want why (lose data)", o.ResultMsg)
	}
	s.ok(&protocol.ChangeInstanceCheckRequest{InstanceID: id, ProductInfo: protocol.ProductInfo{ProductID: "prod-1", SKUCode: "bigger"}})

	notify := &protocol.OrderNotifyRequest{OrderID: "order-9", OrderLineID: "line-9"}
	s.ok(notify)
	s.ok(notify)
	if n := s.count("order_notices", "order_id = 'order-9'"); n != 1 {
		t.Errorf("order notice recorded %d times, want once", n)
	}

	release := &protocol.ReleaseInstanceRequest{InstanceID: id, OrderID: "order-unsub", OrderLineID: "line-unsub"}
	s.ok(release)
	s.ok(release)
	s.ok(&protocol.ReleaseInstanceRequest{InstanceID: "ins-never-existed"})
	if n := s.count("instances", "id = ? AND state = 'released'", id); n != 1 {
		t.Errorf("after releaseInstance the instance is not released")
	}
	// Released: gone for every other interface, and its page says so.
	if q := s.query(id, other); len(q.Info) != 1 || q.Info[0].InstanceID != other {
		t.Errorf("queryInstance after release = %+v, want only %s", q.Info, other)
	}
	// (FREEZE: an UNFREEZE would be answered from sellerkit.Idempotent's
	// memory of the last UNFREEZE, without asking the seller.)
	s.code(&protocol.UpdateInstanceStatusRequest{InstanceID: id, Status: protocol.StatusFreeze}, protocol.CodeInstanceNotFound)
	s.code(&protocol.UpgradeInstanceRequest{InstanceID: id, OrderID: "o2", OrderLineID: "l2"}, protocol.CodeInstanceNotFound)
	if status, _ := s.page(created.AppInfo.FrontEndURL); status != http.StatusGone {
		t.Errorf("GET frontEndUrl of a released instance = %d, want 410", status)
	}
	if status, _ := s.page("http://" + s.addr + "/app/ins-unknown"); status != http.StatusNotFound {
		t.Errorf("GET /app/ins-unknown = %d, want 404", status)
	}
}

func TestAsyncProvisioning(t *testing.T) {
	const async = 200 * time.Millisecond
	s := startSeller(t, t.TempDir(), Config{Async: async})

	start := time.Now()
	o := s.send(&protocol.NewInstanceRequest{BusinessID: "b1", OrderID: "order-a", OrderLineID: "line-a"})
	var created protocol.NewInstanceResponse
	if o.Kind != protocol.OutcomeAccepted || o.Decode(&created) != nil || created.InstanceID == "" || created.AppInfo != nil {
		t.Fatalf("newInstance = %v %s, want 000004 with an instance id and no appInfo", o, o.ResponseBody)
	}
	id := created.InstanceID
	if q := s.query(id); len(q.Info) != 1 || q.Info[0].AppInfo != nil {
		t.Fatalf("queryInstance while provisioning = %+v, want info without appInfo", q.Info)
	}
	// The marketplace polls until the instance is ready.
	for {
		q := s.query(id)
		if q.Info[0].Ready() {
			if waited := time.Since(start); waited < async {
				t.Errorf("instance ready after %v, before the %v of provisioning", waited, async)
			}
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("instance %s not ready after 5 s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A newInstance retried now gets the finished instance.
	if again := s.newInstance("order-a", "line-a"); again.InstanceID != id || !again.Ready() {
		t.Errorf("repeated newInstance after provisioning = %+v, want ready instance %s", again, id)
	}
}

func TestNewInstanceSameAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := startSeller(t, dir, Config{})
	first := s.newInstance("order-r", "line-r").InstanceID
	s.stop()

	s = startSeller(t, dir, Config{})
	if got := s.newInstance("order-r", "line-r").InstanceID; got != first {
		t.Errorf("after a restart newInstance = %s, want %s", got, first)
	}
	s.stop()

	// The seller's own table keeps the answer even if sellerkit's
	// idempotency records are lost.
	db, err := sqlitestore.OpenDB(dir + "/" + DBFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM sellerkit_idempotency`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = startSeller(t, dir, Config{})
	if got := s.newInstance("order-r", "line-r").InstanceID; got != first {
		t.Errorf("without idempotency records newInstance = %s, want %s", got, first)
	}
	if n := s.count("instances", "order_id = 'order-r'"); n != 1 {
		t.Errorf("%d instances for one order line, want 1", n)
	}
}

func TestLicences(t *testing.T) {
	s := startSeller(t, t.TempDir(), Config{})
	refresh := &protocol.RefreshLicenseCodeRequest{Scene: protocol.SceneRenewal, OrderID: "order-l", OrderLineID: "line-l",
		License: "LIC-1", ExpireTime: "20310101000000"}

	s.code(refresh, protocol.CodeInstanceNotFound)
	s.code(&protocol.UpdateLicenseCodeStatusRequest{License: "LIC-1", Status: protocol.StatusFreeze}, protocol.CodeInstanceNotFound)
	s.ok(&protocol.ReleaseLicenseCodeRequest{License: "LIC-never"})

	if status, body := s.control(http.MethodPost, "/control/licenses", testKey, `{"license":"LIC-1"}`); status != http.StatusOK {
		t.Fatalf("activate LIC-1 = %d %s, want 200", status, body)
	}
	s.ok(refresh)
	s.ok(refresh)
	if n := s.count("licences", "code = 'LIC-1' AND expire_time = '20310101000000' AND order_line_id = 'line-l'"); n != 1 {
		t.Errorf("refreshLicenseCode did not record the expiry and order line")
	}
	for _, st := range []string{protocol.StatusFreeze, protocol.StatusFreeze, protocol.StatusUnfreeze, protocol.StatusFreeze} {
		s.ok(&protocol.UpdateLicenseCodeStatusRequest{License: "LIC-1", Status: st})
	}
	if n := s.count("licences", "code = 'LIC-1' AND state = 'frozen'"); n != 1 {
		t.Errorf("licence not frozen after FREEZE")
	}
	release := &protocol.ReleaseLicenseCodeRequest{License: "LIC-1", OrderID: "order-l", OrderLineID: "line-l"}
	s.ok(release)
	s.ok(release)
	s.code(&protocol.RefreshLicenseCodeRequest{Scene: protocol.SceneRenewal, OrderID: "order-l2", OrderLineID: "line-l2",
		License: "LIC-1", ExpireTime: "20320101000000"}, protocol.CodeInstanceNotFound)
	if status, _ := s.control(http.MethodPost, "/control/licenses", testKey, `{"license":"LIC-1"}`); status != http.StatusConflict {
		t.Errorf("activating a released licence = %d, want 409", status)
	}
	if status, _ := s.control(http.MethodPost, "/control/licenses", "wrong", `{"license":"LIC-2"}`); status != http.StatusForbidden {
		t.Errorf("activating with a wrong control key = %d, want 403", status)
	}
}

// Debug calls name licence codes nobody activated; they succeed, and
// succeed again when the same debug sequence runs the next day.
func TestDebugLicences(t *testing.T) {
	s := startSeller(t, t.TempDir(), Config{})
	for day := range 2 {
		s.ok(&protocol.RefreshLicenseCodeRequest{TestFlag: 1, Scene: protocol.SceneRenewal, OrderID: "o", OrderLineID: "l",
			License: "DEBUG-1", ExpireTime: fmt.Sprintf("203%d0101000000", day)})
		s.ok(&protocol.UpdateLicenseCodeStatusRequest{TestFlag: 1, License: "DEBUG-1", Status: protocol.StatusFreeze})
		s.ok(&protocol.UpdateLicenseCodeStatusRequest{TestFlag: 1, License: "DEBUG-1", Status: protocol.StatusUnfreeze})
		s.ok(&protocol.ReleaseLicenseCodeRequest{TestFlag: 1, License: "DEBUG-1"})
	}
	s.ok(&protocol.UpdateLicenseCodeStatusRequest{TestFlag: 1, License: "DEBUG-2", Status: protocol.StatusFreeze})
	if n := s.count("licences", "code = 'DEBUG-2' AND test_flag = 1 AND state = 'frozen'"); n != 1 {
		t.Errorf("debug FREEZE of an unknown code did not register a frozen debug licence")
	}
	// A real call about a released debug licence is not revived.
	s.ok(&protocol.ReleaseLicenseCodeRequest{TestFlag: 1, License: "DEBUG-2"})
	s.code(&protocol.RefreshLicenseCodeRequest{Scene: protocol.SceneRenewal, OrderID: "o", OrderLineID: "l2",
		License: "DEBUG-2", ExpireTime: "20400101000000"}, protocol.CodeInstanceNotFound)
}

func TestKit(t *testing.T) {
	s := startSeller(t, t.TempDir(), Config{})
	id := s.newInstance("order-k", "line-k").InstanceID
	c := kitCommon(id)

	tenant := &protocol.TenantSyncRequest{KitCommon: c, OrderID: "order-k", TenantCode: "acme", Name: "Acme",
		DomainName: "acme.example", Flag: protocol.FlagAdd}
	s.ok(tenant)
	s.ok(tenant)
	app := &protocol.ApplicationSyncRequest{KitCommon: c, AppID: "app-1", ClientID: "client-1", ClientSecret: "c2VjcmV0", Flag: protocol.FlagAdd}
	s.ok(app)
	s.ok(app)

	users := []protocol.User{
		{UserName: "alice", Name: "Alice", OrgCode: "rd", Role: "admin", Enable: "true"},
		{UserName: "bob", Name: "Bob", OrgCode: "rd", Role: "user", Enable: "true"},
	}
	grant := &protocol.AuthSyncRequest{KitCommon: c, AppID: "app-1", UserList: users, CurrentSyncTime: "20250101000000", Flag: protocol.FlagAdd}
	s.ok(grant)
	s.ok(grant)
	if n := s.count("users", "instance_id = ? AND user_key IN ('alice@acme', 'bob@acme')", id); n != 2 {
		t.Errorf("%d users keyed userName@tenantCode, want 2", n)
	}
	if q := s.query(id); q.Info[0].UsageInfo[0].UsageValue != "3" {
		t.Errorf("usage = %s seats, want 3 (the account and two users)", q.Info[0].UsageInfo[0].UsageValue)
	}
	if status, body := s.page("http://" + s.addr + "/app/" + id + "/admin"); status != http.StatusOK || !strings.Contains(body, "alice@acme") {
		t.Errorf("admin page = %d, want 200 listing alice@acme:\n%s", status, body)
	}
	renamed := *grant
	renamed.UserList = []protocol.User{{UserName: "bob", Name: "Robert", OrgCode: "rd", Role: "user", Enable: "true"}}
	renamed.Flag = protocol.FlagModify
	s.ok(&renamed)
	if n := s.count("users", "user_key = 'bob@acme' AND name = 'Robert'"); n != 1 {
		t.Errorf("authSync modify did not rename bob")
	}

	org := &protocol.SingleOrgSyncRequest{KitCommon: c, OrgCode: "rd", OrgName: "R&D", Flag: protocol.FlagAdd}
	s.ok(org)
	s.ok(org)
	tree := &protocol.AllOrgSyncRequest{KitCommon: c, OrgInfoList: []protocol.Org{
		{OrgCode: "hq", OrgName: "Head office"}, {OrgCode: "sales", OrgName: "Sales", ParentCode: "hq"}}}
	s.ok(tree)
	s.ok(tree)
	if n := s.count("orgs", "instance_id = ?", id); n != 2 {
		t.Errorf("after allOrgSync %d departments, want the 2 of the tree", n)
	}

	// Deletes succeed, repeated or of what never was.
	revoke := &protocol.AuthSyncRequest{KitCommon: c, AppID: "app-1", UserList: users[:1], CurrentSyncTime: "20250101000001", Flag: protocol.FlagRevoke}
	s.ok(revoke)
	s.ok(revoke)
	s.ok(&protocol.AuthSyncRequest{KitCommon: c, AppID: "app-1", UserList: []protocol.User{{UserName: "nobody"}},
		CurrentSyncTime: "20250101000002", Flag: protocol.FlagDelete})
	if n := s.count("users", "user_key = 'alice@acme'"); n != 0 {
		t.Errorf("alice still authorised after revoke")
	}
	s.ok(&protocol.SingleOrgSyncRequest{KitCommon: c, OrgCode: "no-such-dept", Flag: protocol.FlagDelete})
	s.ok(&protocol.ApplicationSyncRequest{KitCommon: c, AppID: "app-unknown", Flag: protocol.FlagDelete})

	unbind := &protocol.TenantSyncRequest{KitCommon: c, TenantCode: "acme", Flag: protocol.FlagDelete}
	s.ok(unbind)
	s.ok(unbind)
	for _, table := range []string{"tenants", "apps", "users", "orgs"} {
		if n := s.count(table, "instance_id = ?", id); n != 0 {
			t.Errorf("after unbinding the tenant %d rows left in %s, want 0", n, table)
		}
	}
	// And on an instance released meanwhile, or never known.
	s.ok(&protocol.ReleaseInstanceRequest{InstanceID: id})
	s.ok(&protocol.TenantSyncRequest{KitCommon: kitCommon("ins-gone"), TenantCode: "acme", Flag: protocol.FlagDelete})
}

func TestControl(t *testing.T) {
	s := startSeller(t, t.TempDir(), Config{Seed: 1})
	id := s.newInstance("order-c", "line-c").InstanceID
	query := &protocol.QueryInstanceRequest{InstanceID: id}

	for _, key := range []string{"", "wrong"} {
		if status, _ := s.control(http.MethodGet, "/control", key, ""); status != http.StatusForbidden {
			t.Errorf("GET /control with key %q = %d, want 403", key, status)
		}
		if status, _ := s.control(http.MethodPost, "/control", key, `{"timeout":true}`); status != http.StatusForbidden {
			t.Errorf("POST /control with key %q = %d, want 403", key, status)
		}
	}
	for _, body := range []string{`{"failRate":2}`, `{"failRatio":1}`, `{"slow":"soon"}`, `{"failActivities":["nap"]}`, `not json`} {
		if status, _ := s.control(http.MethodPost, "/control", testKey, body); status != http.StatusBadRequest {
			t.Errorf("POST /control %s = %d, want 400", body, status)
		}
	}

	t.Run("failActivities", func(t *testing.T) {
		s.setFaults(`{"failActivities":["newInstance"]}`)
		o := s.code(&protocol.NewInstanceRequest{BusinessID: "b", OrderID: "order-f", OrderLineID: "line-f"}, protocol.CodeInternal)
		if o.ResultMsg != "injected failure" {
			t.Errorf("resultMsg = %q, want injected failure", o.ResultMsg)
		}
		s.ok(query)
		status, body := s.control(http.MethodGet, "/control", testKey, "")
		if status != http.StatusOK || !strings.Contains(body, `"failActivities":["newInstance"]`) {
			t.Errorf("GET /control = %d %s, want the failActivities set", status, body)
		}
		// The failure was not remembered: once healed, the order goes through.
		s.setFaults(`{}`)
		s.newInstance("order-f", "line-f")
	})

	t.Run("failRate", func(t *testing.T) {
		s.setFaults(`{"failRate":1}`)
		s.code(query, protocol.CodeInternal)
		s.code(&protocol.SingleOrgSyncRequest{KitCommon: kitCommon(id), OrgCode: "x", OrgName: "X", Flag: protocol.FlagAdd}, protocol.CodeInternal)
		s.setFaults(`{"failRate":0.5}`)
		failed := 0
		for range 40 {
			if s.send(query).ResultCode == protocol.CodeInternal {
				failed++
			}
		}
		if failed == 0 || failed == 40 {
			t.Errorf("failRate 0.5 failed %d of 40 calls, want some but not all", failed)
		}
		s.setFaults(`{}`)
		s.ok(query)
	})

	t.Run("slow", func(t *testing.T) {
		s.setFaults(`{"slow":"300ms"}`)
		if o := s.ok(query); o.Latency < 300*time.Millisecond {
			t.Errorf("latency %v with slow 300ms", o.Latency)
		}
		s.setFaults(`{}`)
	})

	t.Run("timeout", func(t *testing.T) {
		s.setFaults(`{"timeout":true}`)
		target := s.target
		target.Timeout = 200 * time.Millisecond
		o := s.client.Send(context.Background(), target, query)
		if o.Kind != protocol.OutcomeTimeout {
			t.Errorf("with timeout on: %v, want %s", o, protocol.OutcomeTimeout)
		}
		s.setFaults(`{}`)
		s.ok(query)
	})
}

func TestFaultsFromConfig(t *testing.T) {
	s := startSeller(t, t.TempDir(), Config{Faults: Faults{FailActivities: []protocol.Activity{protocol.OrderNotify}}})
	s.code(&protocol.OrderNotifyRequest{OrderID: "o", OrderLineID: "l"}, protocol.CodeInternal)
	if _, err := New(Config{Key: "k", DataDir: t.TempDir(), Faults: Faults{FailRate: 1.5}}); err == nil {
		t.Error("New accepted failRate 1.5")
	}
}

func TestShutdownLetsHeldCallsGo(t *testing.T) {
	s := startSeller(t, t.TempDir(), Config{Faults: Faults{Timeout: true}})
	target := s.target
	target.Timeout = 30 * time.Second
	answered := make(chan *protocol.Outcome, 1)
	go func() {
		answered <- s.client.Send(context.Background(), target, &protocol.QueryInstanceRequest{InstanceID: "ins-x"})
	}()
	time.Sleep(100 * time.Millisecond) // let the call arrive and be held
	start := time.Now()
	s.stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v with a held call, want it let go at once", d)
	}
	<-answered
}

func TestWrongKeyAndHealth(t *testing.T) {
	s := startSeller(t, t.TempDir(), Config{})
	bad := s.target
	bad.AccessKey = "not-the-key"
	if o := s.client.Send(context.Background(), bad, &protocol.QueryInstanceRequest{InstanceID: "x"}); o.ResultCode != protocol.CodeAuthFailed {
		t.Errorf("call with a wrong key = %v, want 000001", o)
	}
	if status, body := s.page("http://" + s.addr + "/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", status, body)
	}
}

type addr string

func (a addr) Network() string { return "tcp" }
func (a addr) String() string  { return string(a) }

func TestPublicAddr(t *testing.T) {
	tests := []struct{ configured, listener, want string }{
		{"", "127.0.0.1:4321", "127.0.0.1:4321"},
		{"127.0.0.1:0", "127.0.0.1:4321", "127.0.0.1:4321"},
		{":8081", "[::]:8081", "localhost:8081"},
		{"0.0.0.0:8081", "0.0.0.0:8081", "localhost:8081"},
		{"notes.example:443", "127.0.0.1:8081", "notes.example:443"},
	}
	for _, tt := range tests {
		if got := PublicAddr(tt.configured, addr(tt.listener)); got != tt.want {
			t.Errorf("PublicAddr(%q, %q) = %q, want %q", tt.configured, tt.listener, got, tt.want)
		}
	}
}

func ExampleFaults_MarshalJSON() {
	b, _ := Faults{FailRate: 0.5, FailActivities: []protocol.Activity{protocol.NewInstance}, Slow: 2 * time.Second}.MarshalJSON()
	fmt.Println(string(b))
	// Output: {"failRate":0.5,"failActivities":["newInstance"],"slow":"2s","timeout":false}
}
