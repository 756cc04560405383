package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/api"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/refseller"
	"github.com/souk-market/souk/sellerapi"
	"github.com/souk-market/souk/settle"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

var (
	ctx      = context.Background()
	t0       = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	operator = souk.Actor{UserID: "op-1", Role: souk.RoleOperator}
	quiet    = slog.New(slog.NewTextHandler(io.Discard, nil))
	serial   atomic.Int64
)

func next() int64 { return serial.Add(1) }

// ---- the souk binary ------------------------------------------------------

// testBinary is the souk binary, built at most once per test run, on first
// use (as in cmd/souk's tests).
var testBinary struct {
	dir  string // removed by TestMain
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	account.Params = account.TestParams // hash in microseconds
	dir, err := os.MkdirTemp("", "souk-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	testBinary.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// soukBinary returns the path of the souk binary built from ../cmd/souk.
func soukBinary(t testing.TB) string {
	t.Helper()
	testBinary.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			testBinary.err = fmt.Errorf("the go command is needed to build souk: %w", err)
			return
		}
		path := filepath.Join(testBinary.dir, "souk")
		// The package directory is the working directory of its tests.
		out, err := exec.Command(goTool, "build", "-o", path, "../cmd/souk").CombinedOutput()
		if err != nil {
			testBinary.err = fmt.Errorf("go build ../cmd/souk: %v\n%s", err, out)
			return
		}
		testBinary.path = path
	})
	if testBinary.err != nil {
		t.Fatal(testBinary.err)
	}
	return testBinary.path
}

// ---- the seller process ---------------------------------------------------

// sellerProc is `souk seller run` running as a real process.
type sellerProc struct {
	url     string // the production URL it printed: http://127.0.0.1:PORT/produce
	base    string // http://127.0.0.1:PORT
	key     string
	dataDir string
	logPath string // its stderr
	db      *sql.DB
}

// startSeller runs souk seller run on a free port with its data in a new
// directory, and waits for the line that says where it listens. It is
// killed when the test ends.
func startSeller(t *testing.T, key string, extra ...string) *sellerProc {
	t.Helper()
	dir := t.TempDir()
	p := &sellerProc{key: key, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "seller.log")}
	args := append([]string{"seller", "run", "--addr", "127.0.0.1:0", "--key", key, "--data", p.dataDir}, extra...)
	cmd := exec.Command(soukBinary(t), args...)
	cmd.Env = environWithoutSouk()
	// stderr goes straight to a file (an *os.File: no copying goroutine),
	// so a log line the seller wrote before answering a call is readable
	// as soon as the answer arrives.
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		pw.Close()
		t.Fatal(err)
	}
	pw.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		if p.db != nil {
			p.db.Close()
		}
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			t.Logf("souk seller run stderr:\n%s", b)
		}
	})

	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Scan()
		line <- sc.Text()
	}()
	select {
	case l := <-line:
		url, ok := strings.CutPrefix(l, "souk seller listening on ")
		if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/produce") {
			t.Fatalf("first line on stdout = %q, want souk seller listening on http://127.0.0.1:PORT/produce", l)
		}
		p.url, p.base = url, strings.TrimSuffix(url, "/produce")
	case <-time.After(20 * time.Second):
		b, _ := os.ReadFile(p.logPath)
		t.Fatalf("souk seller run printed no listening line in 20 s; stderr:\n%s", b)
	}
	return p
}

// environWithoutSouk is the environment minus SOUK_ variables, which would
// change the seller's flags' defaults.
func environWithoutSouk() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOUK_") {
			env = append(env, kv)
		}
	}
	return env
}

// control replaces the seller's faults through POST /control, e.g.
// `{"failActivities":["newInstance"]}`; `{}` ends them.
func (p *sellerProc) control(t testing.TB, faults string) {
	t.Helper()
	p.post(t, "/control", faults)
}

// activation is the seller's answer to POST /activate: on success the
// code and its state with the marketplace's 92020000; on a refusal the
// marketplace's result code (92020003: not in a state to activate) and a
// message.
type activation struct {
	Status     int    `json:"-"`
	License    string `json:"license"`
	State      string `json:"state"`
	ResultCode string `json:"resultCode"`
	Error      string `json:"error"`
}

// activate is the seller's software activating a licence code the buyer
// typed in: POST /activate on the seller process (no control key), which
// activates it through the marketplace's open API (a signed
// POST /api/v1/license/activate) and records it once the marketplace
// agrees. The seller must run with opts.openAPI.
func (p *sellerProc) activate(t testing.TB, code string) activation {
	t.Helper()
	resp, err := http.Post(p.base+"/activate", "application/json", strings.NewReader(fmt.Sprintf(`{"license":%q}`, code)))
	if err != nil {
		t.Fatalf("POST /activate: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a activation
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("POST /activate %s = %s %s: %v", code, resp.Status, b, err)
	}
	a.Status = resp.StatusCode
	return a
}

func (p *sellerProc) post(t testing.TB, path, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(refseller.HeaderControlKey, p.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s %s = %s %s", path, body, resp.Status, b)
	}
}

// callLine matches the line the reference seller logs for every call it
// received (refseller's front: after verification, faults applied).
var callLine = regexp.MustCompile(`\bmsg=call activity=(\S+) result=("(?:[^"\\]|\\.)*"|\S+)`)

// received returns the calls the seller logged, in order: the activity,
// with "!" appended when the seller answered it with an error.
func (p *sellerProc) received(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range callLine.FindAllSubmatch(b, -1) {
		result := string(m[2])
		if u, err := strconv.Unquote(result); err == nil {
			result = u
		}
		a := string(m[1])
		if result != "success" {
			a += "!"
		}
		out = append(out, a)
	}
	return out
}

// sellerInstance is an instance as the seller's own database has it.
type sellerInstance struct {
	ID, OrderID, OrderLineID string
	State                    string // provisioning, active, frozen, released
	ExpireTime               string // yyyyMMddHHmmss from refreshInstance; "" before any
	// Events are the order lines that touched it, in order: "event:orderId"
	// (newInstance, refresh:RENEWAL, upgrade, release, …).
	Events []string
}

// sdb opens the seller's SQLite file (read alongside the running seller;
// WAL lets readers in).
func (p *sellerProc) sdb(t testing.TB) *sql.DB {
	t.Helper()
	if p.db == nil {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(p.dataDir, refseller.DBFile)+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		p.db = db
	}
	return p.db
}

// instances returns the seller's instances by id.
func (p *sellerProc) instances(t testing.TB) map[string]*sellerInstance {
	t.Helper()
	db := p.sdb(t)
	rows, err := db.QueryContext(ctx, `SELECT id, order_id, order_line_id, state, expire_time FROM instances`)
	if err != nil {
		t.Fatalf("seller.db: %v", err)
	}
	out := map[string]*sellerInstance{}
	for rows.Next() {
		var in sellerInstance
		if err := rows.Scan(&in.ID, &in.OrderID, &in.OrderLineID, &in.State, &in.ExpireTime); err != nil {
			t.Fatal(err)
		}
		out[in.ID] = &in
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT instance_id, event, order_id FROM instance_orders ORDER BY rowid`)
	if err != nil {
		t.Fatalf("seller.db: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, event, orderID string
		if err := rows.Scan(&id, &event, &orderID); err != nil {
			t.Fatal(err)
		}
		if in := out[id]; in != nil {
			in.Events = append(in.Events, event+":"+orderID)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// instance returns the seller's instance id; it fails the test if there is
// none.
func (p *sellerProc) instance(t testing.TB, id string) *sellerInstance {
	t.Helper()
	in := p.instances(t)[id]
	if in == nil {
		t.Fatalf("the seller has no instance %q", id)
	}
	return in
}

// licence is a licence code as the seller's database has it.
type licence struct{ State, ExpireTime, OrderID string }

func (p *sellerProc) licences(t testing.TB) map[string]licence {
	t.Helper()
	rows, err := p.sdb(t).QueryContext(ctx, `SELECT code, state, expire_time, order_id FROM licences`)
	if err != nil {
		t.Fatalf("seller.db: %v", err)
	}
	defer rows.Close()
	out := map[string]licence{}
	for rows.Next() {
		var code string
		var l licence
		if err := rows.Scan(&code, &l.State, &l.ExpireTime, &l.OrderID); err != nil {
			t.Fatal(err)
		}
		out[code] = l
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ---- the marketplace ------------------------------------------------------

// world is one engine's marketplace, in this process, with its seller
// running as a process.
type world struct {
	db      *store.DB
	clock   *souk.FakeClock
	set     catalog.Settings
	seller  souk.Actor
	product string
	proc    *sellerProc
	engine  *delivery.Engine
	// start is when the test's timeline starts, the fake clock's time once
	// the world is built: t0, or with opts.openAPI the wall clock then.
	start time.Time
	// pace, when set, is real time slept before each step of the fake
	// clock while driving (see doc.go: asynchronous provisioning).
	pace time.Duration

	buyers []*buyer
}

// buyer is a buyer account and the money put on it.
type buyer struct {
	souk.Actor
	topUp int64
}

// opts configures a world.
type opts struct {
	// args are extra flags of souk seller run (--async 1s, --fail-activities …).
	args []string
	// product replaces the default product (a SaaS product with the specs
	// below) when its Type is set.
	product catalog.Product
	// workers is the engine's number of concurrent calls [4]; 1 sends
	// calls one at a time, in a reproducible order.
	workers int
	// openAPI serves the marketplace's HTTP API (api.New, with the open
	// API) in the test process and runs the seller with --market,
	// --api-key and --api-secret, a credential of its own: the seller then
	// calls the marketplace back, signed with its wall clock, which the
	// open API checks against the fake clock (±60 s). So the fake clock
	// starts at the wall clock instead of t0 (doc.go: Two clocks).
	openAPI bool
}

// wallNow is the wall clock, to the second: where the fake clock starts
// with opts.openAPI.
func wallNow() time.Time { return time.Now().UTC().Truncate(time.Second) }

// defaultSpecs are the default product's specs.
var defaultSpecs = []catalog.Spec{
	{Code: "basic", Name: "Basic", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 9900, Currency: "CNY"}, TrialDays: 7},
	{Code: "pro", Name: "Pro", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 30000, Currency: "CNY"}},
	// A spec the reference seller refuses to change to (refseller.DowngradeSKU).
	{Code: refseller.DowngradeSKU, Name: "Lite", Charging: catalog.ChargePeriod, Period: catalog.Month, Price: catalog.Price{Amount: 3000, Currency: "CNY"}},
}

// each runs fn once per engine with a fresh marketplace and seller
// process, then checks the ledger: the invariant, and every buyer's
// balance against the orders (checkMoney).
func each(t *testing.T, o opts, fn func(t *testing.T, w *world)) {
	t.Helper()
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		if o.openAPI {
			clock.Set(wallNow())
		} else {
			clock.Set(t0)
		}
		w := newWorld(t, db, clock, o)
		fn(t, w)
		if !t.Failed() {
			w.checkMoney(t)
		}
	})
}

func newWorld(t *testing.T, db *store.DB, clock *souk.FakeClock, o opts) *world {
	t.Helper()
	keys, err := catalog.NewKeyring(bytes.Repeat([]byte{7}, 32))
	must(t, err)
	w := &world{db: db, clock: clock, set: catalog.Settings{Keys: keys, AllowPrivateURLs: true}}

	n := next()
	applicant := souk.Actor{UserID: fmt.Sprintf("seller-user-%d", n), Role: souk.RoleBuyer}
	sellerID, err := catalog.Apply(ctx, db, applicant, catalog.JoinApplication{
		CompanyName: fmt.Sprintf("Notes %d Ltd", n), RegistrationNumber: fmt.Sprintf("91310000MA%08d", n),
		ContactName: "Li Lei", ContactEmail: "sales@notes.example", ContactPhone: "+86 21 5555 0100",
	})
	must(t, err)
	w.seller = souk.Actor{UserID: applicant.UserID, Role: souk.RoleSeller, SellerID: sellerID}
	must(t, catalog.ApproveSeller(ctx, db, operator, sellerID))
	cert, err := catalog.SubmitCertification(ctx, db, w.seller, catalog.Certification{
		AccountHolder: "Notes Ltd", Bank: "Bank of Example", AccountNumber: "6222 0210 0112 3456 789",
		TaxRegistration: "91310000MA1FL0000X", TaxRate: 600})
	must(t, err)
	must(t, catalog.ApproveCertification(ctx, db, operator, cert))

	// The draft first, for the access key the seller process needs; then
	// the process, for the production URL the draft needs.
	p := o.product
	if p.Type == "" {
		p = catalog.Product{Type: catalog.SaaS, Name: "Souk Notes", Description: "Notes for teams.", Public: true, Specs: defaultSpecs}
	}
	p.ProductionURL = "http://127.0.0.1:9/produce"
	np, err := catalog.CreateProduct(ctx, db, w.set, w.seller, p)
	must(t, err)

	// Signed with the wall clock, scheduled on the fake one (doc.go).
	client := protocol.NewClient(protocol.Default, time.Now, 4)
	t.Cleanup(client.HTTP.CloseIdleConnections)
	workers := o.workers
	if workers == 0 {
		workers = 4
	}
	w.engine = delivery.New(db, client, catalog.Targets{DB: db, Settings: w.set}, order.Hooks(),
		delivery.Config{Workers: workers, Logger: quiet})

	args := o.args
	if o.openAPI {
		// The marketplace's API as production serves it (the open API is
		// mounted by api.New), and a credential of the seller's for it.
		srv := httptest.NewServer(api.New(api.Config{DB: db, Logger: quiet, Catalog: w.set, Orders: w.engine}).Handler())
		t.Cleanup(srv.Close) // after the seller is killed (cleanups run last first)
		cred, err := sellerapi.CreateCredential(ctx, db, keys, w.seller, "e2e seller process")
		must(t, err)
		args = slices.Concat(args, []string{"--market", srv.URL, "--api-key", cred.KeyID, "--api-secret", cred.Secret})
	}
	w.proc = startSeller(t, np.AccessKey, args...)
	p.ProductionURL = w.proc.url
	must(t, catalog.UpdateDraft(ctx, db, w.set, w.seller, np.ApplicationID, p))
	must(t, catalog.SubmitApplication(ctx, db, w.set, w.seller, np.ApplicationID))
	must(t, catalog.ApproveApplication(ctx, db, operator, np.ApplicationID))
	w.product = np.ProductID

	if o.openAPI {
		// Building souk and starting the seller took wall time: catch the
		// fake clock up, so the test starts with it at the wall clock
		// (forward only: it was set to the wall clock before).
		if now := wallNow(); now.After(clock.Now()) {
			clock.Set(now)
		}
	}
	w.start = clock.Now()
	return w
}

// checkNearWallClock fails the test unless the fake clock is within 30 s of
// the wall clock, as it must be for the seller's signed calls to the open
// API (±60 s of the fake clock) to be accepted: with opts.openAPI, before
// the test first moves the clock.
func (w *world) checkNearWallClock(t testing.TB) {
	t.Helper()
	if skew := time.Since(w.clock.Now()); skew > 30*time.Second || skew < -30*time.Second {
		t.Fatalf("the fake clock (%v) is %v from the wall clock: the open API would refuse the seller's signature (±60 s); call the open API before moving the clock", w.clock.Now(), skew.Round(time.Second))
	}
}

// newBuyer returns a new buyer with balance topped up (none if zero).
func (w *world) newBuyer(t testing.TB, balance int64) souk.Actor {
	t.Helper()
	u, err := account.Register(ctx, w.db, account.Registration{
		Email: fmt.Sprintf("buyer-%d@example.com", next()), Name: "Buyer", Password: "a long buyer password"})
	must(t, err)
	b := &buyer{Actor: u.Actor()}
	if balance > 0 {
		_, err := settle.TopUp(ctx, w.db, operator, b.UserID, settle.M(balance, "CNY"))
		must(t, err)
		b.topUp = balance
	}
	w.buyers = append(w.buyers, b)
	return b.Actor
}

func (w *world) balance(t testing.TB, account string) int64 {
	t.Helper()
	v, err := settle.Balance(ctx, w.db.SQL(), account, "CNY")
	must(t, err)
	return v
}

// step makes one attempt of every call due now.
func (w *world) step(t testing.TB) {
	t.Helper()
	if _, err := w.engine.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
}

// drive delivers every call due, moving the fake clock to the next due
// call, until none waits or horizon has passed; the clock ends at the last
// call made (not at the horizon).
func (w *world) drive(t testing.TB, horizon time.Duration) {
	t.Helper()
	end := w.clock.Now().Add(horizon)
	for range 20000 {
		w.step(t)
		at, ok, err := w.engine.NextDue(ctx)
		must(t, err)
		if !ok {
			return
		}
		if !at.After(w.clock.Now()) {
			// A call enqueued during the step (a hook's next call) is due
			// now: step again. NextDue reports only calls that can be
			// claimed (not one queued behind an older call of its key),
			// so a second step claims it; if it does not, NextDue named a
			// call that cannot be sent, and driving would spin.
			w.step(t)
			if at2, ok2, err := w.engine.NextDue(ctx); err != nil {
				t.Fatal(err)
			} else if ok2 && !at2.After(w.clock.Now()) {
				t.Fatalf("drive: NextDue() = %v, now, but no call due now can be claimed (%s)", at2, w.waiting(t))
			} else if at, ok = at2, ok2; !ok {
				return
			}
		}
		if at.After(end) {
			return
		}
		if w.pace > 0 {
			time.Sleep(w.pace)
		}
		w.clock.Set(at)
	}
	t.Fatal("drive: calls never stopped coming due")
}

// waiting describes the calls waiting to be sent, for a failure message.
func (w *world) waiting(t testing.TB) string {
	t.Helper()
	var out []string
	for _, c := range w.calls(t, "") {
		if c.State == delivery.Pending || c.State == delivery.Retrying || c.State == delivery.InFlight {
			out = append(out, fmt.Sprintf("#%d %s of %s %s due %v", c.ID, c.Activity, c.Key, c.State, c.NextAt))
		}
	}
	return strings.Join(out, "; ")
}

// advance moves the fake clock on by d, delivering what falls due on the
// way; the clock ends exactly d later.
func (w *world) advance(t testing.TB, d time.Duration) {
	t.Helper()
	end := w.clock.Now().Add(d)
	w.drive(t, d)
	if w.clock.Now().Before(end) {
		w.clock.Set(end)
	}
	w.step(t)
}

// ---- the marketplace's record of calls -----------------------------------

// attempt is one attempt of a call, as the marketplace recorded it.
type attempt struct {
	ID       int64
	Call     *delivery.Call
	Activity protocol.Activity
	Outcome  protocol.OutcomeKind
	Request  []byte
}

// ok reports whether the seller answered the attempt with success (or
// 000004, accepted).
func (a attempt) ok() bool {
	return a.Outcome == protocol.OutcomeSuccess || a.Outcome == protocol.OutcomeAccepted
}

// calls returns the seller's calls of key (every key when key is ""), in
// the order they were enqueued.
func (w *world) calls(t testing.TB, key string) []*delivery.Call {
	t.Helper()
	var all []*delivery.Call
	var before int64
	for {
		page, err := delivery.ListCalls(ctx, w.db, delivery.CallFilter{SellerID: w.seller.SellerID, BeforeID: before, Limit: 500})
		must(t, err)
		for _, c := range page {
			if key == "" || c.Key == key {
				all = append(all, c)
			}
		}
		if len(page) < 500 {
			break
		}
		before = page[len(page)-1].ID
	}
	slices.SortFunc(all, func(a, b *delivery.Call) int { return cmp.Compare(a.ID, b.ID) })
	return all
}

// attempts returns every attempt of the calls of key, in the order they
// were recorded (calls of one key are delivered one after the other).
func (w *world) attempts(t testing.TB, key string) []attempt {
	t.Helper()
	var out []attempt
	for _, c := range w.calls(t, key) {
		m, err := delivery.GetMessage(ctx, w.db, c.ID, w.seller.SellerID)
		must(t, err)
		for _, a := range m.Attempts {
			out = append(out, attempt{ID: a.ID, Call: m.Call, Activity: a.Activity, Outcome: a.Outcome, Request: a.Request})
		}
	}
	slices.SortFunc(out, func(a, b attempt) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// sent is attempts of key in the seller log's form: the activity, with
// "!" for a failed attempt.
func (w *world) sent(t testing.TB, key string) []string {
	t.Helper()
	var out []string
	for _, a := range w.attempts(t, key) {
		s := string(a.Activity)
		if !a.ok() {
			s += "!"
		}
		out = append(out, s)
	}
	return out
}

// checkReceived checks that the seller received exactly want, in order,
// and that the marketplace's messages of key record the same attempts.
func (w *world) checkReceived(t testing.TB, key string, want []string) {
	t.Helper()
	got := w.proc.received(t)
	if !slices.Equal(got, want) {
		t.Fatalf("the seller received %v, want %v", got, want)
	}
	if sent := w.sent(t, key); !slices.Equal(sent, got) {
		t.Fatalf("the marketplace's messages of %s record %v, the seller received %v", key, sent, got)
	}
}

// ---- orders and money -----------------------------------------------------

func (w *world) order(t testing.TB, by souk.Actor, id string) order.Order {
	t.Helper()
	o, err := order.GetOrder(ctx, w.db, by, id)
	must(t, err)
	return o
}

func (w *world) instance(t testing.TB, by souk.Actor, id string) order.Instance {
	t.Helper()
	in, err := order.GetInstance(ctx, w.db, by, id)
	must(t, err)
	return in
}

// ordersOf returns every order of b, oldest first.
func (w *world) ordersOf(t testing.TB, b souk.Actor) []order.Order {
	t.Helper()
	var all []order.Order
	before := ""
	for {
		page, err := order.MyOrders(ctx, w.db, b, order.Page{Limit: 200, Before: before})
		must(t, err)
		all = append(all, page...)
		if len(page) < 200 {
			break
		}
		before = page[len(page)-1].ID
	}
	slices.Reverse(all)
	return all
}

// expectedBalance is the rule of package order for where a buyer's money
// is, from its orders alone: every order but an unsubscription takes its
// amount when placed, and a failed one gives all of it back; an
// unsubscription gives back its amount (the unused part); a change to a
// cheaper spec (a negative amount) gives back the difference once
// completed, and nothing if it failed.
func expectedBalance(topUp int64, orders []order.Order) (balance, paid, refunded int64) {
	for _, o := range orders {
		switch a := o.Amount.Amount; {
		case o.Type == order.Unsubscribe:
			refunded += a
		case a < 0:
			if o.Type != order.Change {
				panic(fmt.Sprintf("order %s (%s) has a negative amount %d", o.ID, o.Type, a))
			}
			if o.State == order.Completed {
				refunded += -a
			}
		default:
			paid += a
			if o.State == order.Failed {
				refunded += a
			}
		}
	}
	return topUp - paid + refunded, paid, refunded
}

// checkMoney checks the ledger invariant, and every buyer's balance and
// the platform's clearing account against the orders.
func (w *world) checkMoney(t testing.TB) {
	t.Helper()
	if err := settle.CheckInvariant(ctx, w.db); err != nil {
		t.Fatalf("ledger invariant: %v", err)
	}
	var clearing int64
	for _, b := range w.buyers {
		want, paid, refunded := expectedBalance(b.topUp, w.ordersOf(t, b.Actor))
		if got := w.balance(t, settle.BuyerBalance(b.UserID)); got != want {
			t.Fatalf("buyer %s: balance %d, want %d (top-up %d − paid %d + refunded %d)", b.UserID, got, want, b.topUp, paid, refunded)
		}
		clearing += paid - refunded
	}
	if got := w.balance(t, settle.PlatformClearing); got != clearing {
		t.Fatalf("platform clearing = %d, want %d (what buyers paid less what they got back)", got, clearing)
	}
}

// ---- small helpers --------------------------------------------------------

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustValue[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantCode(t testing.TB, what string, err error, want string) {
	t.Helper()
	if got := souk.ErrorCode(err); got != want {
		t.Fatalf("%s = %v, want code %q", what, err, want)
	}
}

func errOf[T any](_ T, err error) error { return err }

// decode decodes a call's request body.
func decode[T any](t testing.TB, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}
