package account

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// User is a person who logs in to the marketplace.
type User struct {
	ID    string
	Email string // as registered; unique whatever its case
	Name  string // display name
	// Role is souk.RoleBuyer, souk.RoleSeller or souk.RoleOperator.
	Role string
	// SellerID is the seller company a seller member belongs to; empty for
	// other roles.
	SellerID  string
	CreatedAt time.Time
	// DisabledAt is when an operator disabled the account; zero while it
	// is active.
	DisabledAt time.Time

	passwordHash string // PHC string; never leaves the package
}

// Disabled reports whether an operator has disabled the account.
func (u *User) Disabled() bool { return !u.DisabledAt.IsZero() }

// Actor returns the user as the domain packages see them.
func (u *User) Actor() souk.Actor {
	return souk.Actor{UserID: u.ID, Role: u.Role, SellerID: u.SellerID}
}

// Registration is what a new account needs.
type Registration struct {
	Email    string
	Name     string
	Password string
	Role     string // empty means buyer in Register
	SellerID string // required for a seller member, empty otherwise
}

// Limits on the fields of a registration.
const (
	maxEmailLen = 254 // RFC 5321's path limit, less the brackets
	maxNameLen  = 100
)

// Register creates a buyer's account: the one kind of account anyone may
// open for themselves. Other roles are created by CreateUser.
//
// Returns EINVALID naming the first field that breaks a rule,
// EUNAUTHORIZED when asked for another role, and ECONFLICT when the email
// address is taken (in any case).
func Register(ctx context.Context, db *store.DB, r Registration) (*User, error) {
	if r.Role == "" {
		r.Role = souk.RoleBuyer
	}
	if r.Role != souk.RoleBuyer {
		return nil, souk.Errorf(souk.EUNAUTHORIZED, "Only buyer accounts can be registered; seller members and operators are added by an operator or their company.")
	}
	return createUser(ctx, db, r)
}

// CreateUser creates an account on behalf of by: an operator may create
// any role; a seller member may add members to its own seller company (for
// a seller member, an empty Role means seller and an empty SellerID means
// by's company); nobody else may create accounts. The seller
// company itself is not checked here: its owner (the catalogue) does that
// before calling.
//
// Returns EUNAUTHORIZED if by may not create this account, EINVALID naming
// the first field that breaks a rule, and ECONFLICT when the email address
// is taken.
func CreateUser(ctx context.Context, db *store.DB, by souk.Actor, r Registration) (*User, error) {
	if err := requireActor(by); err != nil {
		return nil, err
	}
	switch {
	case by.IsOperator():
	case by.Role == souk.RoleSeller && by.SellerID != "":
		if r.Role == "" {
			r.Role = souk.RoleSeller
		}
		if r.SellerID == "" {
			r.SellerID = by.SellerID
		}
		if r.Role != souk.RoleSeller || !by.IsSellerMember(r.SellerID) {
			return nil, souk.Errorf(souk.EUNAUTHORIZED, "A seller member may add only members of its own company.")
		}
	default:
		return nil, souk.Errorf(souk.EUNAUTHORIZED, "Only an operator or a seller member may create accounts.")
	}
	return createUser(ctx, db, r)
}

func createUser(ctx context.Context, db *store.DB, r Registration) (*User, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	hash, err := hashPassword(r.Password, Params) // outside the transaction: it takes a while
	if err != nil {
		return nil, err
	}
	u := &User{
		ID:           newID("usr_"),
		Email:        strings.TrimSpace(r.Email),
		Name:         strings.TrimSpace(r.Name),
		Role:         r.Role,
		SellerID:     r.SellerID,
		passwordHash: hash,
	}
	err = db.Tx(ctx, func(tx *store.Tx) error {
		u.CreatedAt = tx.Now.Truncate(time.Millisecond)
		inserted, err := insertUser(ctx, tx, u, emailKey(u.Email))
		if err != nil {
			return err
		}
		if !inserted {
			return souk.Errorf(souk.ECONFLICT, "email: %s already has an account", u.Email)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// check applies the field rules, in the order a form shows the fields.
func (r Registration) check() error {
	if err := checkEmail(r.Email); err != nil {
		return err
	}
	name := strings.TrimSpace(r.Name)
	switch {
	case name == "":
		return souk.Errorf(souk.EINVALID, "name: required")
	case utf8.RuneCountInString(name) > maxNameLen:
		return souk.Errorf(souk.EINVALID, "name: at most %d characters", maxNameLen)
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return souk.Errorf(souk.EINVALID, "name: must not contain control characters")
	}
	if err := checkPassword("password", r.Password, r.Email); err != nil {
		return err
	}
	switch r.Role {
	case souk.RoleBuyer, souk.RoleOperator:
		if r.SellerID != "" {
			return souk.Errorf(souk.EINVALID, "seller_id: only seller members belong to a seller")
		}
	case souk.RoleSeller:
		if r.SellerID == "" {
			return souk.Errorf(souk.EINVALID, "seller_id: required for a seller member")
		}
	case "":
		return souk.Errorf(souk.EINVALID, "role: required")
	default:
		return souk.Errorf(souk.EINVALID, "role: must be buyer, seller or operator")
	}
	return nil
}

func checkEmail(email string) error {
	email = strings.TrimSpace(email)
	if email == "" {
		return souk.Errorf(souk.EINVALID, "email: required")
	}
	if len(email) > maxEmailLen {
		return souk.Errorf(souk.EINVALID, "email: at most %d characters", maxEmailLen)
	}
	// net/mail accepts display names, comments and quoted local parts;
	// an address that comes back different was one of those.
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return souk.Errorf(souk.EINVALID, "email: not a valid address")
	}
	_, domain, _ := strings.Cut(email, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") || strings.HasPrefix(domain, "[") {
		return souk.Errorf(souk.EINVALID, "email: not a valid address")
	}
	return nil
}

// emailKey is the form addresses are compared in.
func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// GetUser returns a user: to themselves and to operators. Anyone else gets
// ENOTFOUND, as if there were no such user.
func GetUser(ctx context.Context, db *store.DB, by souk.Actor, userID string) (*User, error) {
	if err := requireActor(by); err != nil {
		return nil, err
	}
	if by.UserID != userID && !by.IsOperator() {
		return nil, souk.Errorf(souk.ENOTFOUND, "User %s not found.", userID)
	}
	return userByID(ctx, db.SQL(), userID)
}

// UserByEmail returns the user with email address email, to an operator
// (who finds a buyer to top up, say); anyone else gets EUNAUTHORIZED.
// ENOTFOUND if there is no such user.
func UserByEmail(ctx context.Context, db *store.DB, by souk.Actor, email string) (*User, error) {
	if err := requireOperator(by, "look up"); err != nil {
		return nil, err
	}
	return userByEmailKey(ctx, db.SQL(), emailKey(email))
}

// PasswordChange is a user's request to change their password.
type PasswordChange struct {
	// Current is the password now: asked for again even though the user
	// is logged in, so a session left open cannot take the account over.
	Current string
	New     string
	// KeepSession is the session token the change is made from, which
	// stays logged in; every other session of the user ends. Empty ends
	// them all. API tokens are not affected.
	KeepSession string
}

// ChangePassword changes by's own password. A wrong current password
// counts as a failed log-in, and is refused during a lockout.
//
// Returns EINVALID naming the field (new_password for the rules,
// current_password when it is wrong), ECONFLICT during a lockout, and
// EUNAUTHENTICATED if by's account is gone or disabled.
func ChangePassword(ctx context.Context, db *store.DB, by souk.Actor, c PasswordChange) error {
	if err := requireActor(by); err != nil {
		return err
	}
	u, err := activeUser(ctx, db, by.UserID)
	if err != nil {
		return err
	}
	if err := checkPassword("new_password", c.New, u.Email); err != nil {
		return err
	}
	if c.New == c.Current {
		return souk.Errorf(souk.EINVALID, "new_password: must differ from the current password")
	}
	key := emailKey(u.Email)
	if err := checkLockout(ctx, db, key); err != nil {
		return err
	}
	if !verifyPassword(c.Current, u.passwordHash) {
		if err := recordFailure(ctx, db, key); err != nil {
			return err
		}
		return souk.Errorf(souk.EINVALID, "current_password: incorrect")
	}
	hash, err := hashPassword(c.New, Params)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		changed, err := updatePasswordHash(ctx, tx, u.ID, u.passwordHash, hash)
		if err != nil {
			return err
		}
		if !changed {
			return souk.Errorf(souk.ECONFLICT, "The password was changed meanwhile; try again.")
		}
		var keep []byte
		if c.KeepSession != "" {
			keep = secretHash(c.KeepSession)
		}
		return deleteSessions(ctx, tx, u.ID, keep)
	})
}

// DisableUser disables an account: its sessions end at once, its API
// tokens are revoked, and it cannot log in until an operator enables it.
// Only an operator may, and not their own account. Disabling a disabled
// account does nothing.
//
// Returns EUNAUTHORIZED for anyone but an operator, ENOTFOUND if there is
// no such user, and ECONFLICT for the operator's own account.
func DisableUser(ctx context.Context, db *store.DB, by souk.Actor, userID string) error {
	if err := requireOperator(by, "disable"); err != nil {
		return err
	}
	if by.UserID == userID {
		return souk.Errorf(souk.ECONFLICT, "You cannot disable your own account.")
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := userByID(ctx, tx, userID); err != nil {
			return err
		}
		if err := setDisabled(ctx, tx, userID, &tx.Now); err != nil {
			return err
		}
		if err := deleteSessions(ctx, tx, userID, nil); err != nil {
			return err
		}
		return revokeUserTokens(ctx, tx, userID, tx.Now)
	})
}

// EnableUser lets a disabled account log in again (its revoked API tokens
// stay revoked). Only an operator may.
//
// Returns EUNAUTHORIZED for anyone but an operator and ENOTFOUND if there
// is no such user.
func EnableUser(ctx context.Context, db *store.DB, by souk.Actor, userID string) error {
	if err := requireOperator(by, "enable"); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := userByID(ctx, tx, userID); err != nil {
			return err
		}
		return setDisabled(ctx, tx, userID, nil)
	})
}

// JoinSeller makes a buyer a member of seller sellerID, in the caller's
// transaction, from their next request on. It decides nothing about who
// may: it is a building block for a seller's join application, called in
// the same transaction as catalog.ApplyTx — which establishes that the
// user applies for themself — so that a seller and its first member appear
// together (the API's POST /api/v1/sellers does exactly that). Nothing
// else may call it.
//
// Returns ENOTFOUND if there is no such user, and ECONFLICT for an
// operator or a member of another seller; a member of sellerID already is
// left as they are.
func JoinSeller(ctx context.Context, tx *store.Tx, userID, sellerID string) error {
	if sellerID == "" {
		return souk.Errorf(souk.EINVALID, "seller_id: required")
	}
	u, err := userByID(ctx, tx, userID)
	if err != nil {
		return err
	}
	switch {
	case u.Role == souk.RoleSeller && u.SellerID == sellerID:
		return nil
	case u.Role == souk.RoleSeller:
		return souk.Errorf(souk.ECONFLICT, "User %s is already a member of another seller.", userID)
	case u.Role != souk.RoleBuyer:
		return souk.Errorf(souk.ECONFLICT, "Only a buyer can join a seller; user %s is an %s.", userID, u.Role)
	}
	return setSellerMember(ctx, tx, userID, sellerID)
}

// activeUser returns the user an actor stands for, or EUNAUTHENTICATED if
// the account is gone or disabled (the actor is stale).
func activeUser(ctx context.Context, db *store.DB, userID string) (*User, error) {
	u, err := userByID(ctx, db.SQL(), userID)
	if souk.ErrorCode(err) == souk.ENOTFOUND || (err == nil && u.Disabled()) {
		return nil, notLoggedIn()
	}
	return u, err
}

func notLoggedIn() error { return souk.Errorf(souk.EUNAUTHENTICATED, "Log in first.") }

func requireActor(by souk.Actor) error {
	if by.UserID == "" {
		return notLoggedIn()
	}
	return nil
}

func requireOperator(by souk.Actor, verb string) error {
	if err := requireActor(by); err != nil {
		return err
	}
	if !by.IsOperator() {
		return souk.Errorf(souk.EUNAUTHORIZED, "Only an operator may %s accounts.", verb)
	}
	return nil
}

// newID returns prefix followed by 16 random hex digits.
func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Email returns the e-mail address of user userID, read in tx: where the
// marketplace's notices to that user go (package notify). ENOTFOUND if
// there is no such user.
func Email(ctx context.Context, tx *store.Tx, userID string) (string, error) {
	u, err := userByID(ctx, tx, userID)
	if err != nil {
		return "", err
	}
	return u.Email, nil
}
