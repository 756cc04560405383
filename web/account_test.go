package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

// Log-in through the form sets the session, shows the name, and a bad
// password keeps the email typed and says why; log-out ends the session;
// registration opens a buyer account and logs it in.
func TestLogInOutAndRegister(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		b := s.newUser(souk.RoleBuyer, "")
		b.get("/").mustContain(t, http.StatusOK, "Test buyer", "My instances", "You are logged in.")

		anon := s.anonymous()
		p := anon.post("/login", url.Values{"email": {b.User.Email}, "password": {"wrong password!!"}})
		p.mustContain(t, http.StatusUnauthorized, `value="`+b.User.Email+`"`, `class="error"`)
		if strings.Contains(p.Body, "wrong password!!") {
			t.Fatal("the page shows the password typed")
		}

		if p := b.post("/logout", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("log out: %d", p.Status)
		}
		if p := b.get("/"); strings.Contains(p.Body, "Test buyer") || !strings.Contains(p.Body, "Log in") {
			t.Fatalf("after log-out the page still shows the user:\n%s", p.Body)
		}

		n := s.anonymous()
		p = n.post("/register", url.Values{"name": {"New Buyer"}, "email": {"new@example.com"}, "password": {password}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("register: %d\n%s", p.Status, p.Body)
		}
		n.get("/").mustContain(t, http.StatusOK, "New Buyer", "your buyer account is open")
		p = s.anonymous().post("/register", url.Values{"name": {"Again"}, "email": {"new@example.com"}, "password": {password}})
		p.mustContain(t, http.StatusConflict, `value="Again"`, `class="error"`)
	})
}

// A page that needs a log-in sends an anonymous visitor to the log-in
// form, which comes back; a next that leaves the site is ignored.
func TestLogInComesBackAndStaysOnSite(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		b := s.newUser(souk.RoleBuyer, "")
		anon := s.anonymous()
		p := anon.post("/login", url.Values{"email": {b.User.Email}, "password": {password}, "next": {"//evil.example/x"}})
		if p.Status != http.StatusSeeOther || p.Location != "/" {
			t.Fatalf("log-in with an off-site next = %d to %q, want 303 to /", p.Status, p.Location)
		}
	})
}

// A form posted from another site is refused, whoever is logged in.
func TestCrossOriginFormRefused(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		b := s.newUser(souk.RoleBuyer, "")
		req, _ := http.NewRequest("POST", s.base+"/logout", nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		if p := b.do(req); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "another site") {
			t.Fatalf("cross-site POST = %d, want 403:\n%s", p.Status, p.Body)
		}
		b.get("/").mustContain(t, http.StatusOK, "Test buyer") // still logged in
	})
}
