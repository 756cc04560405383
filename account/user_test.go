package account_test

import (
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/store"
	"github.com/souk-market/souk/store/storetest"
)

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	valid := account.Registration{Email: "ann@example.com", Name: "Ann", Password: password}
	tests := []struct {
		name   string
		edit   func(r *account.Registration)
		code   string
		prefix string
	}{
		{"valid", func(r *account.Registration) {}, "", ""},
		{"valid with buyer role", func(r *account.Registration) { r.Role = souk.RoleBuyer }, "", ""},
		{"email missing", func(r *account.Registration) { r.Email = "  " }, souk.EINVALID, "email: required"},
		{"email without @", func(r *account.Registration) { r.Email = "ann.example.com" }, souk.EINVALID, "email: not a valid address"},
		{"email with display name", func(r *account.Registration) { r.Email = "Ann <ann@example.com>" }, souk.EINVALID, "email: not a valid address"},
		{"email without domain dot", func(r *account.Registration) { r.Email = "ann@localhost" }, souk.EINVALID, "email: not a valid address"},
		{"email with two @", func(r *account.Registration) { r.Email = "ann@b@example.com" }, souk.EINVALID, "email: not a valid address"},
		{"email with quoted local part", func(r *account.Registration) { r.Email = `"ann smith"@example.com` }, souk.EINVALID, "email: not a valid address"},
		{"email too long", func(r *account.Registration) { r.Email = strings.Repeat("a", 250) + "@example.com" }, souk.EINVALID, "email: at most 254 characters"},
		{"name missing", func(r *account.Registration) { r.Name = " \t" }, souk.EINVALID, "name: required"},
		{"name too long", func(r *account.Registration) { r.Name = strings.Repeat("é", 101) }, souk.EINVALID, "name: at most 100 characters"},
		{"name with control character", func(r *account.Registration) { r.Name = "Ann\x00" }, souk.EINVALID, "name: must not contain control characters"},
		{"password short", func(r *account.Registration) { r.Password = "short pw!" }, souk.EINVALID, "password: at least 10 characters"},
		{"password one character", func(r *account.Registration) { r.Password = "zzzzzzzzzzzz" }, souk.EINVALID, "password: must not be one character repeated"},
		{"password is the email", func(r *account.Registration) { r.Email = "ann@example.com"; r.Password = "ANN@example.com" }, souk.EINVALID, "password: must not be the email address"},
		{"password too long", func(r *account.Registration) { r.Password = strings.Repeat("ab", 501) }, souk.EINVALID, "password: at most 1000 characters"},
		{"password of ten runes", func(r *account.Registration) { r.Password = "ééééééééèè" }, "", ""},
		{"buyer with seller", func(r *account.Registration) { r.SellerID = "sel_1" }, souk.EINVALID, "seller_id: only seller members belong to a seller"},
		{"seller role", func(r *account.Registration) { r.Role = souk.RoleSeller; r.SellerID = "sel_1" }, souk.EUNAUTHORIZED, "Only buyer accounts"},
		{"operator role", func(r *account.Registration) { r.Role = souk.RoleOperator }, souk.EUNAUTHORIZED, "Only buyer accounts"},
	}
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := valid
				r.Email = strings.ReplaceAll(tt.name, " ", "-") + "." + r.Email
				tt.edit(&r)
				u, err := account.Register(ctx, db, r)
				wantErr(t, "Register()", err, tt.code, tt.prefix)
				if err != nil {
					return
				}
				if u.Role != souk.RoleBuyer || u.SellerID != "" || !u.CreatedAt.Equal(t0) || u.Disabled() {
					t.Fatalf("Register() = %+v, want an active buyer created at %v", u, t0)
				}
				if !strings.HasPrefix(u.ID, "usr_") || len(u.ID) != len("usr_")+16 {
					t.Fatalf("ID = %q, want usr_ and 16 hex digits", u.ID)
				}
			})
		}
	})
}

func TestRegisterDuplicateEmailInAnyCase(t *testing.T) {
	t.Parallel()
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		u, err := account.Register(ctx, db, account.Registration{Email: " Ann@Example.com ", Name: " Ann ", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "Ann@Example.com" || u.Name != "Ann" {
			t.Fatalf("Register() = %q %q, want trimmed email and name", u.Email, u.Name)
		}
		_, err = account.Register(ctx, db, account.Registration{Email: "ann@EXAMPLE.COM", Name: "Other", Password: password})
		wantErr(t, "Register(same email, other case)", err, souk.ECONFLICT, "email: ann@EXAMPLE.COM already has an account")
		_, err = account.CreateUser(ctx, db, root, account.Registration{Email: "ANN@example.com", Name: "Op", Password: password, Role: souk.RoleOperator})
		wantErr(t, "CreateUser(same email, other case)", err, souk.ECONFLICT, "email:")
		if n := count(t, db, `SELECT count(*) FROM account_users`); n != 1 {
			t.Fatalf("%d users, want 1", n)
		}
		// The address as registered logs in whatever its case.
		if _, _, err := account.Login(ctx, db, "ANN@example.COM", password); err != nil {
			t.Fatalf("Login(other case) = %v", err)
		}
	})
}

func TestCreateUserAuthorisation(t *testing.T) {
	t.Parallel()
	actors := map[string]souk.Actor{
		"operator":            {UserID: "usr_op", Role: souk.RoleOperator},
		"member of sel_a":     {UserID: "usr_a", Role: souk.RoleSeller, SellerID: "sel_a"},
		"member of sel_b":     {UserID: "usr_b", Role: souk.RoleSeller, SellerID: "sel_b"},
		"seller without firm": {UserID: "usr_x", Role: souk.RoleSeller},
		"buyer":               {UserID: "usr_buyer", Role: souk.RoleBuyer},
		"nobody":              {},
	}
	tests := []struct {
		by       string
		role     string
		sellerID string
		code     string
	}{
		{"operator", souk.RoleOperator, "", ""},
		{"operator", souk.RoleBuyer, "", ""},
		{"operator", souk.RoleSeller, "sel_a", ""},
		{"member of sel_a", souk.RoleSeller, "sel_a", ""},
		{"member of sel_a", souk.RoleSeller, "", ""}, // defaults to its own seller
		{"member of sel_a", "", "", ""},              // and to a seller member
		{"member of sel_a", souk.RoleOperator, "", souk.EUNAUTHORIZED},
		{"member of sel_a", souk.RoleBuyer, "", souk.EUNAUTHORIZED},
		{"member of sel_b", souk.RoleSeller, "sel_a", souk.EUNAUTHORIZED},
		{"seller without firm", souk.RoleSeller, "sel_a", souk.EUNAUTHORIZED},
		{"buyer", souk.RoleSeller, "sel_a", souk.EUNAUTHORIZED},
		{"buyer", souk.RoleBuyer, "", souk.EUNAUTHORIZED},
		{"buyer", souk.RoleOperator, "", souk.EUNAUTHORIZED},
		{"nobody", souk.RoleBuyer, "", souk.EUNAUTHENTICATED},
	}
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		for i, tt := range tests {
			name := tt.by + " creates " + tt.role + " " + tt.sellerID
			t.Run(name, func(t *testing.T) {
				u, err := account.CreateUser(ctx, db, actors[tt.by], account.Registration{
					Email: "user" + string(rune('a'+i)) + "@example.com", Name: "New", Password: password,
					Role: tt.role, SellerID: tt.sellerID,
				})
				wantErr(t, "CreateUser()", err, tt.code, "")
				if err != nil {
					return
				}
				wantRole, wantSeller := tt.role, tt.sellerID
				if by := actors[tt.by]; by.Role == souk.RoleSeller {
					wantRole, wantSeller = souk.RoleSeller, by.SellerID
				}
				if u.Role != wantRole || u.SellerID != wantSeller {
					t.Fatalf("CreateUser() = role %s seller %q, want %s %q", u.Role, u.SellerID, wantRole, wantSeller)
				}
			})
		}
		if n := count(t, db, `SELECT count(*) FROM account_users`); n != 6 {
			t.Fatalf("%d users created, want 6", n)
		}
	})
}

func TestCreateUserValidatesRoleAndSeller(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role, sellerID, prefix string
	}{
		{"", "", "role: required"},
		{"admin", "", "role: must be buyer, seller or operator"},
		{souk.RoleSeller, "", "seller_id: required for a seller member"},
		{souk.RoleOperator, "sel_a", "seller_id: only seller members belong to a seller"},
	}
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			_, err := account.CreateUser(ctx, db, root, account.Registration{
				Email: "x@example.com", Name: "X", Password: password, Role: tt.role, SellerID: tt.sellerID,
			})
			wantErr(t, "CreateUser(role "+tt.role+", seller "+tt.sellerID+")", err, souk.EINVALID, tt.prefix)
		}
	})
}

func TestGetUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		ann := newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		bob := newUser(t, db, "bob@example.com", souk.RoleBuyer, "")
		for _, tt := range []struct {
			name string
			by   souk.Actor
			code string
		}{
			{"herself", ann.Actor(), ""},
			{"operator", root, ""},
			{"another buyer", bob.Actor(), souk.ENOTFOUND},
			{"nobody", souk.Actor{}, souk.EUNAUTHENTICATED},
		} {
			u, err := account.GetUser(ctx, db, tt.by, ann.ID)
			wantErr(t, "GetUser() by "+tt.name, err, tt.code, "")
			if err == nil && (u.ID != ann.ID || u.Email != ann.Email || !u.CreatedAt.Equal(ann.CreatedAt)) {
				t.Fatalf("GetUser() = %+v, want %+v", u, ann)
			}
		}
		_, err := account.GetUser(ctx, db, root, "usr_missing")
		wantErr(t, "GetUser(missing)", err, souk.ENOTFOUND, "User usr_missing not found.")
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		ann := newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		here, elsewhere := login(t, db, ann.Email), login(t, db, ann.Email)
		pat, _, err := account.CreateToken(ctx, db, ann.Actor(), "ci", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		const next = "a much better passphrase"
		for _, tt := range []struct {
			name   string
			by     souk.Actor
			change account.PasswordChange
			code   string
			prefix string
		}{
			{"nobody", souk.Actor{}, account.PasswordChange{Current: password, New: next}, souk.EUNAUTHENTICATED, ""},
			{"unknown user", souk.Actor{UserID: "usr_gone", Role: souk.RoleBuyer}, account.PasswordChange{Current: password, New: next}, souk.EUNAUTHENTICATED, ""},
			{"short", ann.Actor(), account.PasswordChange{Current: password, New: "short"}, souk.EINVALID, "new_password: at least 10 characters"},
			{"the email", ann.Actor(), account.PasswordChange{Current: password, New: "Ann@Example.com"}, souk.EINVALID, "new_password: must not be the email address"},
			{"unchanged", ann.Actor(), account.PasswordChange{Current: password, New: password}, souk.EINVALID, "new_password: must differ"},
			{"wrong current", ann.Actor(), account.PasswordChange{Current: "not my password", New: next}, souk.EINVALID, "current_password: incorrect"},
		} {
			err := account.ChangePassword(ctx, db, tt.by, tt.change)
			wantErr(t, "ChangePassword() "+tt.name, err, tt.code, tt.prefix)
		}
		if _, _, err := account.Authenticate(ctx, db, elsewhere); err != nil {
			t.Fatalf("refused changes ended a session: %v", err)
		}
		err = account.ChangePassword(ctx, db, ann.Actor(), account.PasswordChange{Current: password, New: next, KeepSession: here})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := account.Authenticate(ctx, db, here); err != nil {
			t.Fatalf("Authenticate(session that changed the password) = %v, want it kept", err)
		}
		_, _, err = account.Authenticate(ctx, db, elsewhere)
		wantErr(t, "Authenticate(other session)", err, souk.EUNAUTHENTICATED, "")
		if _, _, err := account.Authenticate(ctx, db, pat); err != nil {
			t.Fatalf("Authenticate(API token) = %v, want tokens unaffected", err)
		}
		_, _, err = account.Login(ctx, db, ann.Email, password)
		wantErr(t, "Login(old password)", err, souk.EUNAUTHENTICATED, "Email or password is incorrect.")
		if _, _, err := account.Login(ctx, db, ann.Email, next); err != nil {
			t.Fatalf("Login(new password) = %v", err)
		}
		// Without a session to keep, every session ends.
		err = account.ChangePassword(ctx, db, ann.Actor(), account.PasswordChange{Current: next, New: password})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT count(*) FROM account_sessions`); n != 0 {
			t.Fatalf("%d sessions after a change keeping none, want 0", n)
		}
	})
}

func TestChangePasswordCountsTowardsLockout(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ann := newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		for i := 0; i < 10; i++ {
			err := account.ChangePassword(ctx, db, ann.Actor(), account.PasswordChange{Current: "guess number " + string(rune('0'+i)), New: "a much better passphrase"})
			wantErr(t, "ChangePassword(wrong current)", err, souk.EINVALID, "current_password: incorrect")
		}
		err := account.ChangePassword(ctx, db, ann.Actor(), account.PasswordChange{Current: password, New: "a much better passphrase"})
		wantErr(t, "ChangePassword(locked out)", err, souk.ECONFLICT, "Too many failed log-ins; try again in 15 minutes.")
		_, _, err = account.Login(ctx, db, ann.Email, password)
		wantErr(t, "Login(locked out)", err, souk.ECONFLICT, "Too many failed log-ins")
	})
}

func TestDisableUser(t *testing.T) {
	t.Parallel()
	clock := souk.NewFakeClock(t0)
	storetest.Each(t, clock, func(t *testing.T, db *store.DB) {
		clock.Set(t0)
		ann := newUser(t, db, "ann@example.com", souk.RoleSeller, "sel_a")
		colleague := newUser(t, db, "col@example.com", souk.RoleSeller, "sel_a")
		buyer := newUser(t, db, "buyer@example.com", souk.RoleBuyer, "")
		op := newUser(t, db, "op@example.com", souk.RoleOperator, "")
		session := login(t, db, ann.Email)
		pat, _, err := account.CreateToken(ctx, db, ann.Actor(), "ci", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name   string
			by     souk.Actor
			userID string
			code   string
		}{
			{"by a colleague", colleague.Actor(), ann.ID, souk.EUNAUTHORIZED},
			{"by a buyer", buyer.Actor(), ann.ID, souk.EUNAUTHORIZED},
			{"by herself", ann.Actor(), ann.ID, souk.EUNAUTHORIZED},
			{"by nobody", souk.Actor{}, ann.ID, souk.EUNAUTHENTICATED},
			{"operator disables self", op.Actor(), op.ID, souk.ECONFLICT},
			{"unknown user", op.Actor(), "usr_missing", souk.ENOTFOUND},
		} {
			wantErr(t, "DisableUser() "+tt.name, account.DisableUser(ctx, db, tt.by, tt.userID), tt.code, "")
		}
		if _, _, err := account.Authenticate(ctx, db, session); err != nil {
			t.Fatalf("refused disables ended the session: %v", err)
		}

		clock.Advance(time.Minute)
		if err := account.DisableUser(ctx, db, op.Actor(), ann.ID); err != nil {
			t.Fatal(err)
		}
		if err := account.DisableUser(ctx, db, op.Actor(), ann.ID); err != nil {
			t.Fatalf("DisableUser(disabled) = %v, want nil", err)
		}
		for name, token := range map[string]string{"session": session, "API token": pat} {
			_, _, err := account.Authenticate(ctx, db, token)
			wantErr(t, "Authenticate("+name+" of disabled user)", err, souk.EUNAUTHENTICATED, "")
		}
		_, _, err = account.Login(ctx, db, ann.Email, password)
		wantErr(t, "Login(disabled)", err, souk.EUNAUTHENTICATED, "This account is disabled")
		_, _, err = account.Login(ctx, db, ann.Email, "wrong password!")
		wantErr(t, "Login(disabled, wrong password)", err, souk.EUNAUTHENTICATED, "Email or password is incorrect.")
		u, err := account.GetUser(ctx, db, op.Actor(), ann.ID)
		if err != nil || !u.Disabled() || !u.DisabledAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("GetUser() = %+v, %v; want disabled at %v", u, err, t0.Add(time.Minute))
		}
		if n := count(t, db, `SELECT count(*) FROM account_sessions WHERE user_id = $1`, ann.ID); n != 0 {
			t.Fatalf("%d sessions left, want 0", n)
		}
		tokens, err := account.ListTokens(ctx, db, op.Actor(), ann.ID)
		if err != nil || len(tokens) != 1 || tokens[0].RevokedAt.IsZero() {
			t.Fatalf("ListTokens() = %v, %v; want one revoked token", tokens, err)
		}
		_, _, err = account.CreateToken(ctx, db, ann.Actor(), "again", time.Hour)
		wantErr(t, "CreateToken(disabled)", err, souk.EUNAUTHENTICATED, "")

		// Enabled again: she logs in; her old token stays revoked.
		wantErr(t, "EnableUser() by a colleague", account.EnableUser(ctx, db, colleague.Actor(), ann.ID), souk.EUNAUTHORIZED, "")
		wantErr(t, "EnableUser(unknown)", account.EnableUser(ctx, db, op.Actor(), "usr_missing"), souk.ENOTFOUND, "")
		if err := account.EnableUser(ctx, db, op.Actor(), ann.ID); err != nil {
			t.Fatal(err)
		}
		session = login(t, db, ann.Email)
		if _, _, err := account.Authenticate(ctx, db, session); err != nil {
			t.Fatalf("Authenticate(after enable) = %v", err)
		}
		_, _, err = account.Authenticate(ctx, db, pat)
		wantErr(t, "Authenticate(old token after enable)", err, souk.EUNAUTHENTICATED, "")
	})
}

func TestJoinSeller(t *testing.T) {
	t.Parallel()
	storetest.Each(t, souk.NewFakeClock(t0), func(t *testing.T, db *store.DB) {
		ann := newUser(t, db, "ann@example.com", souk.RoleBuyer, "")
		bob := newUser(t, db, "bob@example.com", souk.RoleSeller, "sel_b")
		op := newUser(t, db, "op@example.com", souk.RoleOperator, "")
		session := login(t, db, ann.Email)
		join := func(userID, sellerID string) error {
			return db.Tx(ctx, func(tx *store.Tx) error { return account.JoinSeller(ctx, tx, userID, sellerID) })
		}
		// Rolled back with the caller's transaction, it never happened.
		boom := souk.Errorf(souk.EINTERNAL, "boom")
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := account.JoinSeller(ctx, tx, ann.ID, "sel_a"); err != nil {
				return err
			}
			return boom
		}); err != boom {
			t.Fatalf("Tx() = %v, want %v", err, boom)
		}
		if actor, _, _ := account.Authenticate(ctx, db, session); actor.Role != souk.RoleBuyer {
			t.Fatalf("after a rolled-back join, actor = %+v, want a buyer", actor)
		}
		for _, tt := range []struct {
			name, userID, sellerID, code string
		}{
			{"buyer joins", ann.ID, "sel_a", ""},
			{"joins again", ann.ID, "sel_a", ""},
			{"member of another seller", ann.ID, "sel_b", souk.ECONFLICT},
			{"seller member elsewhere", bob.ID, "sel_a", souk.ECONFLICT},
			{"operator", op.ID, "sel_a", souk.ECONFLICT},
			{"no seller", ann.ID, "", souk.EINVALID},
			{"unknown user", "usr_missing", "sel_a", souk.ENOTFOUND},
		} {
			wantErr(t, "JoinSeller() "+tt.name, join(tt.userID, tt.sellerID), tt.code, "")
		}
		// The session she logged in with acts for the seller at once.
		actor, _, err := account.Authenticate(ctx, db, session)
		if want := (souk.Actor{UserID: ann.ID, Role: souk.RoleSeller, SellerID: "sel_a"}); err != nil || actor != want {
			t.Fatalf("Authenticate() = %+v, %v; want %+v", actor, err, want)
		}
	})
}
