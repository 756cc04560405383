package account_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

func TestLoginAuthenticateLogout(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ann := newUser(t, db, "Ann@Example.com", souk.RoleSeller, "sel_a")
		s, token, err := account.Login(ctx, db, "  ann@example.COM ", password)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q: %d bytes (%v), want 32 in base64url", token, len(raw), err)
		}
		if s.UserID != ann.ID || !s.CreatedAt.Equal(t0) || !s.ExpiresAt.Equal(t0.Add(account.SessionIdleTimeout)) {
			t.Fatalf("Login() = %+v, want a session of %s from %v for 30 days", s, ann.ID, t0)
		}
		// At rest: the SHA-256 of the token, never the token.
		var id string
		var hash []byte
		if err := db.SQL().QueryRow(`SELECT id, token_hash FROM account_sessions`).Scan(&id, &hash); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256([]byte(token)); id != s.ID || !bytes.Equal(hash, sum[:]) {
			t.Fatalf("stored session %s %x, want %s with the token's SHA-256", id, hash, s.ID)
		}
		if bytes.Contains(hash, raw) || strings.Contains(id, token) {
			t.Fatal("the token is stored")
		}

		actor, u, err := account.Authenticate(ctx, db, token)
		want := souk.Actor{UserID: ann.ID, Role: souk.RoleSeller, SellerID: "sel_a"}
		if err != nil || actor != want || u.Email != "Ann@Example.com" {
			t.Fatalf("Authenticate() = %+v, %+v, %v; want %+v", actor, u, err, want)
		}
		for _, bad := range []string{"", token + "x", token[:len(token)-1], strings.ToUpper(token)} {
			_, _, err := account.Authenticate(ctx, db, bad)
			wantErr(t, "Authenticate("+bad+")", err, souk.EUNAUTHENTICATED, "")
		}

		if err := account.Logout(ctx, db, token); err != nil {
			t.Fatal(err)
		}
		_, _, err = account.Authenticate(ctx, db, token)
		wantErr(t, "Authenticate(after logout)", err, souk.EUNAUTHENTICATED, "Your session has ended; log in again.")
		if err := account.Logout(ctx, db, token); err != nil {
			t.Fatalf("Logout(again) = %v, want nil", err)
		}
		wantErr(t, "Logout(API token)", account.Logout(ctx, db, account.TokenPrefix+"abc"), souk.EINVALID, "")
	})
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		_, _, wrongPassword := account.Login(ctx, db, "ann@example.com", "not the password")
		_, _, unknownEmail := account.Login(ctx, db, "nobody@example.com", password)
		_, _, empty := account.Login(ctx, db, "", "")
		for _, err := range []error{wrongPassword, unknownEmail, empty} {
			wantErr(t, "Login()", err, souk.EUNAUTHENTICATED, "Email or password is incorrect.")
			if souk.ErrorMessage(err) != "Email or password is incorrect." {
				t.Fatalf("Login() = %q, want exactly the one message", souk.ErrorMessage(err))
			}
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		name string
		uses []time.Duration // since log-in, each authenticated in turn
		want []bool          // whether each use is accepted
	}{
		{"idle for just under 30 days", []time.Duration{30*day - time.Millisecond}, []bool{true}},
		{"idle for 30 days", []time.Duration{30 * day}, []bool{false}},
		{"used every 29 days slides", []time.Duration{29 * day, 58 * day, 87 * day}, []bool{true, true, true}},
		{"a gap of 30 days after use", []time.Duration{10 * day, 40*day - time.Millisecond, 70 * day}, []bool{true, true, false}},
		{"absolute after 90 days", []time.Duration{20 * day, 40 * day, 60 * day, 80 * day, 90*day - time.Millisecond, 90 * day}, []bool{true, true, true, true, true, false}},
		// Touched at 30 minutes and 59 minutes past log-in, the expiry
		// does not move: it moves at most once an hour.
		{"touch at most hourly", []time.Duration{30 * time.Minute, 59 * time.Minute, 30 * day}, []bool{true, true, false}},
		{"touched after an hour", []time.Duration{time.Hour, 30 * day}, []bool{true, true}},
	}
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				clock.Set(t0)
				email := "user" + string(rune('a'+i)) + "@example.com"
				newUser(t, db, email, souk.RoleBuyer, "")
				token := login(t, db, email)
				for j, d := range tt.uses {
					clock.Set(t0.Add(d))
					_, _, err := account.Authenticate(ctx, db, token)
					if (err == nil) != tt.want[j] {
						t.Fatalf("Authenticate() at +%v = %v, want accepted %v", d, err, tt.want[j])
					}
					if err != nil {
						wantErr(t, "Authenticate(expired)", err, souk.EUNAUTHENTICATED, "Your session has ended")
					}
				}
			})
		}
	})
}

func TestSessionTouchWritesAtMostHourly(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		token := login(t, db, "ann@example.com")
		stored := func() (time.Time, time.Time) {
			var seen, expires int64
			if err := db.SQL().QueryRow(`SELECT last_seen_at, expires_at FROM account_sessions`).Scan(&seen, &expires); err != nil {
				t.Fatal(err)
			}
			return store.FromMillis(seen), store.FromMillis(expires)
		}
		for _, tt := range []struct {
			at       time.Duration
			wantSeen time.Duration
		}{
			{time.Minute, 0},
			{59 * time.Minute, 0},
			{time.Hour, time.Hour},
			{90 * time.Minute, time.Hour},
			{2*time.Hour + time.Second, 2*time.Hour + time.Second},
		} {
			clock.Set(t0.Add(tt.at))
			if _, _, err := account.Authenticate(ctx, db, token); err != nil {
				t.Fatal(err)
			}
			seen, expires := stored()
			if want := t0.Add(tt.wantSeen); !seen.Equal(want) || !expires.Equal(want.Add(account.SessionIdleTimeout)) {
				t.Fatalf("at +%v: last seen %v, expires %v; want %v and 30 days later", tt.at, seen, expires, want)
			}
		}
	})
}

func TestLockout(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		// Nine failures, then a success: the count starts again.
		for i := 0; i < 9; i++ {
			_, _, err := account.Login(ctx, db, "ann@example.com", "wrong password")
			wantErr(t, "Login(wrong)", err, souk.EUNAUTHENTICATED, "Email or password is incorrect.")
		}
		login(t, db, "ann@example.com")
		// Ten failures, a minute apart, in any case of the address.
		for i := 0; i < 10; i++ {
			clock.Set(t0.Add(time.Duration(i) * time.Minute))
			email := "ann@example.com"
			if i%2 == 1 {
				email = "ANN@example.com"
			}
			_, _, err := account.Login(ctx, db, email, "wrong password")
			wantErr(t, "Login(wrong)", err, souk.EUNAUTHENTICATED, "Email or password is incorrect.")
		}
		for _, tt := range []struct {
			at      time.Duration
			message string // "" for logged in
		}{
			{9 * time.Minute, "Too many failed log-ins; try again in 6 minutes."},
			{14 * time.Minute, "Too many failed log-ins; try again in 1 minute."},
			{15*time.Minute - time.Second, "Too many failed log-ins; try again in 1 minute."},
			{15 * time.Minute, ""}, // the first failure has left the window
		} {
			clock.Set(t0.Add(tt.at))
			_, _, err := account.Login(ctx, db, "ann@example.com", password)
			if tt.message == "" {
				if err != nil {
					t.Fatalf("Login() at +%v = %v, want logged in", tt.at, err)
				}
				continue
			}
			wantErr(t, "Login(right password, locked out)", err, souk.ECONFLICT, tt.message)
			if souk.ErrorMessage(err) != tt.message {
				t.Fatalf("Login() at +%v = %q, want %q", tt.at, souk.ErrorMessage(err), tt.message)
			}
		}

		// An unknown address is locked out alike; another address is not.
		clock.Set(t0.Add(time.Hour))
		for i := 0; i < 10; i++ {
			account.Login(ctx, db, "nobody@example.com", "wrong password")
		}
		_, _, err := account.Login(ctx, db, "nobody@example.com", "wrong password")
		wantErr(t, "Login(unknown, locked out)", err, souk.ECONFLICT, "Too many failed log-ins; try again in 15 minutes.")
		login(t, db, "ann@example.com")
		// Failures during a lockout are not counted, and old ones are
		// forgotten as new ones come.
		clock.Set(t0.Add(time.Hour + 15*time.Minute))
		_, _, err = account.Login(ctx, db, "nobody@example.com", "wrong password")
		wantErr(t, "Login(unknown, after lockout)", err, souk.EUNAUTHENTICATED, "Email or password is incorrect.")
		if n := count(t, db, `SELECT count(*) FROM account_login_failures WHERE email_key = 'nobody@example.com'`); n != 1 {
			t.Fatalf("%d failures stored, want 1", n)
		}
	})
}

func TestLogoutAll(t *testing.T) {
	t.Parallel()
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		ann := newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		bob := newUser(t, db, "bob@example.com", souk.RoleBuyer, "")
		a1, a2, b := login(t, db, ann.Email), login(t, db, ann.Email), login(t, db, bob.Email)
		wantErr(t, "LogoutAll() by another user", account.LogoutAll(ctx, db, bob.Actor(), ann.ID), souk.EUNAUTHORIZED, "")
		wantErr(t, "LogoutAll() by nobody", account.LogoutAll(ctx, db, souk.Actor{}, ann.ID), souk.EUNAUTHENTICATED, "")
		wantErr(t, "LogoutAll(unknown user)", account.LogoutAll(ctx, db, root, "usr_missing"), souk.ENOTFOUND, "")
		if err := account.LogoutAll(ctx, db, ann.Actor(), ann.ID); err != nil {
			t.Fatal(err)
		}
		for _, token := range []string{a1, a2} {
			_, _, err := account.Authenticate(ctx, db, token)
			wantErr(t, "Authenticate(after LogoutAll)", err, souk.EUNAUTHENTICATED, "")
		}
		if _, _, err := account.Authenticate(ctx, db, b); err != nil {
			t.Fatalf("another user's session ended: %v", err)
		}
		if err := account.LogoutAll(ctx, db, root, bob.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err := account.Authenticate(ctx, db, b)
		wantErr(t, "Authenticate(after operator's LogoutAll)", err, souk.EUNAUTHENTICATED, "")
	})
}

func TestLoginPurgesExpiredSessions(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		login(t, db, "ann@example.com")
		login(t, db, "ann@example.com")
		clock.Advance(account.SessionIdleTimeout)
		login(t, db, "ann@example.com")
		if n := count(t, db, `SELECT count(*) FROM account_sessions`); n != 1 {
			t.Fatalf("%d sessions, want the expired two deleted", n)
		}
	})
}

// Not parallel: it changes Params, which the parallel tests read only
// after every sequential test is done.
func TestLoginRehashesWithNewParams(t *testing.T) {
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		ann := newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		hash := func() string {
			var h string
			if err := db.SQL().QueryRow(`SELECT password_hash FROM account_users WHERE id = $1`, ann.ID).Scan(&h); err != nil {
				t.Fatal(err)
			}
			return h
		}
		before := hash()
		if !strings.HasPrefix(before, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("hash %q, want TestParams", before)
		}
		defer func(p account.Argon2Params) { account.Params = p }(account.Params)
		account.Params.Time = 2
		login(t, db, ann.Email)
		after := hash()
		if !strings.HasPrefix(after, "$argon2id$v=19$m=64,t=2,p=1$") {
			t.Fatalf("hash after log-in %q, want the new parameters", after)
		}
		login(t, db, ann.Email) // the new hash verifies
		if hash() != after {
			t.Fatal("hash changed again with unchanged parameters")
		}
	})
}
