package account_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
	"github.com/souk-market/souk/store"
)

// A buyer registers, logs in, and creates an API token for a script;
// both the session token and the API token authenticate as the buyer.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "account-example")
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, filepath.Join(dir, "souk.db"), souk.SystemClock{})
	if err != nil {
		panic(err)
	}
	defer db.Close()

	ann, err := account.Register(ctx, db, account.Registration{
		Email: "ann@example.com", Name: "Ann", Password: "correct horse battery",
	})
	if err != nil {
		panic(err)
	}
	_, session, err := account.Login(ctx, db, "Ann@Example.com", "correct horse battery")
	if err != nil {
		panic(err)
	}
	actor, _, err := account.Authenticate(ctx, db, session)
	if err != nil {
		panic(err)
	}
	fmt.Println(actor.Role, actor.UserID == ann.ID)

	pat, _, err := account.CreateToken(ctx, db, actor, "nightly report", 90*24*time.Hour)
	if err != nil {
		panic(err)
	}
	actor, _, err = account.Authenticate(ctx, db, pat)
	fmt.Println(strings.HasPrefix(pat, account.TokenPrefix), actor.Role, err)

	_, _, err = account.Login(ctx, db, "ann@example.com", "wrong password")
	fmt.Println(souk.ErrorCode(err), souk.ErrorMessage(err))
	// Output:
	// buyer true
	// true buyer <nil>
	// unauthenticated Email or password is incorrect.
}
