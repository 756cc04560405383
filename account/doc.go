// Package account holds the marketplace's users and how they prove who they
// are: accounts with argon2id password hashes, log-in sessions stored in the
// database, and personal API tokens. Its answer to "who is this?" is a
// souk.Actor, which every other domain package authorises against.
//
// # Accounts
//
// A user has a role: buyer, seller member (of one seller company) or
// operator. Anyone may open a buyer account with Register; other accounts
// are made with CreateUser by an operator (any role) or by a seller member
// (members of its own company). Email addresses are unique whatever their
// case. Passwords have at least 10 characters, are not one character
// repeated and are not the email address; they are stored as argon2id
// hashes in the PHC string format
//
//	$argon2id$v=19$m=65536,t=2,p=1$<salt>$<key>
//
// so each hash carries its parameters: raising Params later leaves old
// hashes verifiable, and they are re-hashed at the next log-in. Tests set
// Params = TestParams to hash in microseconds.
//
// # Sessions and tokens
//
// Login returns a session and its token, a random secret shown once (the
// cookie's value); the database holds only its SHA-256. A session expires
// after 30 days without use and 90 days after log-in in any case. Ten failed
// log-ins for one address within 15 minutes lock that address out until
// the oldest failure is 15 minutes old; an unknown address and a wrong
// password get the same answer, after the same work.
//
// CreateToken makes an API token ("souk_pat_…"), also shown once and
// stored hashed, with an expiry of at most MaxTokenLifetime. Authenticate
// accepts either kind of token and returns the actor:
//
//	actor, user, err := account.Authenticate(ctx, db, token)
//	if err != nil {
//		return err // EUNAUTHENTICATED: unknown, expired, revoked, disabled
//	}
//	// actor goes to every domain function the request calls
//
// # Authorisation
//
// Every function that acts on an account takes the acting souk.Actor and
// decides here whether it may: users act on their own account, operators
// on anyone's. Disabling an account (operators only) ends its sessions and
// revokes its tokens at once. The one exception is JoinSeller, which makes
// a buyer a seller member inside the catalogue's own transaction: whether
// the user may join is the catalogue's rule, decided there. Errors carry the codes of package souk;
// validation messages begin with the field's name ("password: at least 10
// characters").
package account
