package account_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

func TestTokenShownOnceAndHashedAtRest(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ann := newUser(t, db, "ann@example.com", souk.RoleSeller, "sel_a")
		secret, tok, err := account.CreateToken(ctx, db, ann.Actor(), "  deploy bot ", 30*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "souk_pat_") || len(secret) != len("souk_pat_")+43 {
			t.Fatalf("secret %q, want souk_pat_ and 43 base64url characters", secret)
		}
		want := account.Token{ID: tok.ID, UserID: ann.ID, Name: "deploy bot", CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}
		if *tok != want || !strings.HasPrefix(tok.ID, "tok_") {
			t.Fatalf("CreateToken() = %+v, want %+v", *tok, want)
		}

		// Every column of the row, as text and bytes: the secret is in
		// none of them; the hash column holds its SHA-256.
		rows, err := db.SQL().Query(`SELECT * FROM account_tokens`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		sum := sha256.Sum256([]byte(secret))
		sawHash := false
		for rows.Next() {
			n++
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if bytes.Contains(v, []byte(secret[len("souk_pat_"):])) {
					t.Fatalf("column %s holds the secret", cols[i])
				}
				if cols[i] == "token_hash" {
					sawHash = bytes.Equal(v, sum[:])
				}
			}
		}
		rows.Close()
		if n != 1 || !sawHash {
			t.Fatalf("%d token rows, hash stored %v; want 1 row holding the SHA-256", n, sawHash)
		}

		actor, u, err := account.Authenticate(ctx, db, secret)
		if wantActor := (souk.Actor{UserID: ann.ID, Role: souk.RoleSeller, SellerID: "sel_a"}); err != nil || actor != wantActor || u.ID != ann.ID {
			t.Fatalf("Authenticate(token) = %+v, %v; want %+v", actor, err, wantActor)
		}
		for _, bad := range []string{"souk_pat_", secret + "A", secret[:len(secret)-1], "souk_pat_" + strings.Repeat("A", 43)} {
			_, _, err := account.Authenticate(ctx, db, bad)
			wantErr(t, "Authenticate("+bad+")", err, souk.EUNAUTHENTICATED, "The API token is unknown, revoked or expired.")
		}

		// Listing never shows the secret again (Token has no field for it).
		list, err := account.ListTokens(ctx, db, ann.Actor(), ann.ID)
		if err != nil || len(list) != 1 || list[0].ID != tok.ID || !list[0].LastUsedAt.Equal(t0) {
			t.Fatalf("ListTokens() = %+v, %v; want the token, used at %v", list, err, t0)
		}
	})
}

func TestTokenLastUsedAtMostEveryMinute(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ann := newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		secret, tok, err := account.CreateToken(ctx, db, ann.Actor(), "ci", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			at, wantUsed time.Duration
			ok           bool
		}{
			{10 * time.Second, 10 * time.Second, true},
			{50 * time.Second, 10 * time.Second, true},
			{70 * time.Second, 70 * time.Second, true},
			{59 * time.Minute, 59 * time.Minute, true},
			{time.Hour - time.Millisecond, 59 * time.Minute, true},
			{time.Hour, 59 * time.Minute, false}, // expired
		} {
			clock.Set(t0.Add(tt.at))
			_, _, err := account.Authenticate(ctx, db, secret)
			if (err == nil) != tt.ok {
				t.Fatalf("Authenticate() at +%v = %v, want accepted %v", tt.at, err, tt.ok)
			}
			var used int64
			if err := db.SQL().QueryRow(`SELECT last_used_at FROM account_tokens WHERE id = $1`, tok.ID).Scan(&used); err != nil {
				t.Fatal(err)
			}
			if got := store.FromMillis(used); !got.Equal(t0.Add(tt.wantUsed)) {
				t.Fatalf("at +%v: last used %v, want %v", tt.at, got, t0.Add(tt.wantUsed))
			}
		}
	})
}

func TestCreateTokenValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		by        souk.Actor
		tokenName string
		expiresIn time.Duration
		code      string
		prefix    string
	}{
		{"nobody", souk.Actor{}, "ci", time.Hour, souk.EUNAUTHENTICATED, ""},
		{"unknown user", souk.Actor{UserID: "usr_gone", Role: souk.RoleBuyer}, "ci", time.Hour, souk.EUNAUTHENTICATED, ""},
		{"name missing", souk.Actor{UserID: "ann"}, " ", time.Hour, souk.EINVALID, "name: required"},
		{"name too long", souk.Actor{UserID: "ann"}, strings.Repeat("n", 101), time.Hour, souk.EINVALID, "name: at most 100 characters"},
		{"name with newline", souk.Actor{UserID: "ann"}, "ci\nbot", time.Hour, souk.EINVALID, "name: must not contain control characters"},
		{"no lifetime", souk.Actor{UserID: "ann"}, "ci", 0, souk.EINVALID, "expires_in: must be positive"},
		{"negative lifetime", souk.Actor{UserID: "ann"}, "ci", -time.Hour, souk.EINVALID, "expires_in: must be positive"},
		{"lifetime too long", souk.Actor{UserID: "ann"}, "ci", account.MaxTokenLifetime + time.Millisecond, souk.EINVALID, "expires_in: at most 366 days"},
		{"longest lifetime", souk.Actor{UserID: "ann"}, "ci", account.MaxTokenLifetime, "", ""},
	}
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		ann := newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		for _, tt := range tests {
			by := tt.by
			if by.UserID == "ann" {
				by = ann.Actor()
			}
			_, _, err := account.CreateToken(ctx, db, by, tt.tokenName, tt.expiresIn)
			wantErr(t, "CreateToken() "+tt.name, err, tt.code, tt.prefix)
		}
	})
}

func TestRevokeAndListTokensAuthorisation(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ann := newUser(t, db, "ann@example.com", souk.RoleSeller, "sel_a")
		colleague := newUser(t, db, "col@example.com", souk.RoleSeller, "sel_a")
		op := newUser(t, db, "op@example.com", souk.RoleOperator, "")
		first, tok1, err := account.CreateToken(ctx, db, ann.Actor(), "first", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		second, tok2, err := account.CreateToken(ctx, db, ann.Actor(), "second", time.Hour)
		if err != nil {
			t.Fatal(err)
		}

		for _, tt := range []struct {
			name string
			by   souk.Actor
			code string
		}{
			{"owner", ann.Actor(), ""},
			{"operator", op.Actor(), ""},
			{"colleague", colleague.Actor(), souk.EUNAUTHORIZED},
			{"nobody", souk.Actor{}, souk.EUNAUTHENTICATED},
		} {
			list, err := account.ListTokens(ctx, db, tt.by, ann.ID)
			wantErr(t, "ListTokens() by "+tt.name, err, tt.code, "")
			if err == nil && (len(list) != 2 || list[0].ID != tok2.ID || list[1].ID != tok1.ID) {
				t.Fatalf("ListTokens() = %+v, want second then first", list)
			}
		}

		// Someone else's token is as good as missing.
		err = account.RevokeToken(ctx, db, colleague.Actor(), tok1.ID)
		wantErr(t, "RevokeToken() by a colleague", err, souk.ENOTFOUND, "API token "+tok1.ID+" not found.")
		err = account.RevokeToken(ctx, db, ann.Actor(), "tok_missing")
		wantErr(t, "RevokeToken(missing)", err, souk.ENOTFOUND, "API token tok_missing not found.")
		wantErr(t, "RevokeToken() by nobody", account.RevokeToken(ctx, db, souk.Actor{}, tok1.ID), souk.EUNAUTHENTICATED, "")
		if _, _, err := account.Authenticate(ctx, db, first); err != nil {
			t.Fatalf("refused revocations revoked the token: %v", err)
		}

		clock.Advance(time.Second)
		if err := account.RevokeToken(ctx, db, ann.Actor(), tok1.ID); err != nil {
			t.Fatal(err)
		}
		if err := account.RevokeToken(ctx, db, ann.Actor(), tok1.ID); err != nil {
			t.Fatalf("RevokeToken(revoked) = %v, want nil", err)
		}
		if err := account.RevokeToken(ctx, db, op.Actor(), tok2.ID); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{first, second} {
			_, _, err := account.Authenticate(ctx, db, secret)
			wantErr(t, "Authenticate(revoked)", err, souk.EUNAUTHENTICATED, "")
		}
		list, err := account.ListTokens(ctx, db, ann.Actor(), ann.ID)
		if err != nil || len(list) != 2 || !list[1].RevokedAt.Equal(t0.Add(2*time.Second)) || list[0].Active(clock.Now()) {
			t.Fatalf("ListTokens() = %+v, %v; want both revoked, the first at %v", list, err, t0.Add(2*time.Second))
		}
	})
}
