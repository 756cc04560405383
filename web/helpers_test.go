package web_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/catalog"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/order"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/web"
)

// The shared harness of the console's tests: a site on a real HTTP server
// over a real database, and browsers-without-JavaScript (http.Client with
// a cookie jar) logged in as users of each role.

const password = "a long test password"

var (
	t0       = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	system   = souk.Actor{UserID: "system", Role: souk.RoleOperator}
	sequence atomic.Int64
)

func unique() int64 { return sequence.Add(1) }

func TestMain(m *testing.M) {
	account.Params = account.TestParams // hash in microseconds
	m.Run()
}

// site is a console served on 127.0.0.1 with its delivery engine (not
// started: tests run its calls with RunDue, or drive order hooks).
type site struct {
	t      *testing.T
	db     *store.DB
	base   string
	set    catalog.Settings
	engine *delivery.Engine
}

func newSite(t *testing.T, db *store.DB) *site {
	t.Helper()
	keys, err := catalog.NewKeyring(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	set := catalog.Settings{Keys: keys, AllowPrivateURLs: true}
	client := protocol.NewClient(protocol.Default, db.Clock().Now, 2)
	eng := delivery.New(db, client, catalog.Targets{DB: db, Settings: set}, order.Hooks(), delivery.Config{})
	srv := web.New(web.Config{DB: db, Catalog: set, Engine: eng})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &site{t: t, db: db, base: ts.URL, set: set, engine: eng}
}

// browser is a client with a cookie jar, as a browser without JavaScript.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	User *account.User
}

// anonymous returns a browser nobody is logged in on.
func (s *site) anonymous() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, base: s.base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// newUser creates an account of role (a member of sellerID for a seller)
// and returns a browser logged in as it through the log-in form.
func (s *site) newUser(role, sellerID string) *browser {
	s.t.Helper()
	email := fmt.Sprintf("%s%d@example.com", role, unique())
	r := account.Registration{Email: email, Name: "Test " + role, Password: password, Role: role, SellerID: sellerID}
	var u *account.User
	var err error
	if role == souk.RoleBuyer {
		u, err = account.Register(s.t.Context(), s.db, r)
	} else {
		u, err = account.CreateUser(s.t.Context(), s.db, system, r)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	b := s.anonymous()
	b.User = u
	if resp := b.post("/login", url.Values{"email": {email}, "password": {password}}); resp.Status != http.StatusSeeOther {
		s.t.Fatalf("log in as %s: %d\n%s", email, resp.Status, resp.Body)
	}
	return b
}

// page is an answer: its status, body, and where it redirects.
type page struct {
	Status   int
	Body     string
	Location string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Body: string(body), Location: resp.Header.Get("Location")}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// mustContain fails unless p has status and contains every text.
func (p page) mustContain(t *testing.T, status int, texts ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d; page:\n%s", p.Status, status, p.Body)
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("the page lacks %q:\n%s", s, p.Body)
		}
	}
}
