package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/account"
)

func init() {
	commands["user add"] = command{summary: "create a user of any role (the first operator, say) from the command line", run: runUserAdd}
}

// runUserAdd creates a user as the system: whoever can run this command
// against the database is its administrator already.
func runUserAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user add", "--email E --name N [--role operator|seller|buyer] [--seller ID] [--database DSN]  (password on standard input, or SOUK_USER_PASSWORD)", stderr)
	database := databaseFlag(fs)
	email := fs.String("email", "", "e-mail address (required)")
	name := fs.String("name", "", "display name (required)")
	role := fs.String("role", souk.RoleOperator, "operator, seller or buyer")
	seller := fs.String("seller", "", "the seller company of a seller member")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 || *email == "" || *name == "" {
		fs.Usage()
		return errUsage
	}
	password := os.Getenv("SOUK_USER_PASSWORD")
	if password == "" {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read the password from standard input: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	db, err := openDatabase(ctx, *database)
	if err != nil {
		return err
	}
	defer db.Close()
	system := souk.Actor{UserID: "system", Role: souk.RoleOperator}
	u, err := account.CreateUser(ctx, db, system, account.Registration{Email: *email, Name: *name, Password: password, Role: *role, SellerID: *seller})
	if err != nil {
		return fmt.Errorf("%s", souk.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
	return nil
}
