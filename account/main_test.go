package account_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/store"
)

func TestMain(m *testing.M) {
	account.Params = account.TestParams
	os.Exit(m.Run())
}

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	// root creates the users tests need; CreateUser trusts its actor, as
	// it trusts any actor Authenticate returned.
	root = souk.Actor{UserID: "usr_root", Role: souk.RoleOperator}
)

const password = "correct horse battery"

// newUser creates a user with the password above.
func newUser(t *testing.T, db *store.DB, email, role, sellerID string) *account.User {
	t.Helper()
	u, err := account.CreateUser(ctx, db, root, account.Registration{
		Email: email, Name: "Test " + role, Password: password, Role: role, SellerID: sellerID,
	})
	if err != nil {
		t.Fatalf("CreateUser(%s, %s) = %v", email, role, err)
	}
	return u
}

// login logs u in and returns the session token.
func login(t *testing.T, db *store.DB, email string) string {
	t.Helper()
	_, token, err := account.Login(ctx, db, email, password)
	if err != nil {
		t.Fatalf("Login(%s) = %v", email, err)
	}
	return token
}

// wantErr fails unless err has code and a message starting with prefix
// (code "" wants no error).
func wantErr(t *testing.T, what string, err error, code, prefix string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("%s = %v, want no error", what, err)
		}
		return
	}
	if souk.ErrorCode(err) != code || !strings.HasPrefix(souk.ErrorMessage(err), prefix) {
		t.Fatalf("%s = %v, want %s %q…", what, err, code, prefix)
	}
}

// count returns the result of a count(*) query.
func count(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
