package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/store"
)

// SessionCookie names the cookie that carries a browser's session token,
// for the JSON API and the web console alike.
const SessionCookie = "souk_session"

// How long a session lasts. It expires after SessionIdleTimeout without
// use, and SessionMaxLifetime after log-in however much it is used.
const (
	SessionIdleTimeout = 30 * 24 * time.Hour
	SessionMaxLifetime = 90 * 24 * time.Hour

	// A session's expiry moves forward at most this often, so that
	// authenticating a request is a read, not a write, nearly always.
	sessionTouchEvery = time.Hour
)

// The lockout: this many failed log-ins for one email address within the
// window refuse further attempts until the oldest of them leaves it.
const (
	lockoutFailures = 10
	lockoutWindow   = 15 * time.Minute
)

// Session is a logged-in browser. Only the SHA-256 of its token is stored;
// the token itself is returned once, by Login.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time // when the expiry last moved
	ExpiresAt  time.Time
}

// sessionExpiry is when a session created at created and seen at seen
// expires: the sliding expiry, capped by the absolute one.
func sessionExpiry(created, seen time.Time) time.Time {
	sliding, absolute := seen.Add(SessionIdleTimeout), created.Add(SessionMaxLifetime)
	if sliding.After(absolute) {
		return absolute
	}
	return sliding
}

// Login checks an email address and password and opens a session. The
// token is the session's secret, for the cookie: it is shown this once.
//
// Returns EUNAUTHENTICATED with the same message for an unknown address
// and a wrong password (and as much work for both, so neither the answer
// nor its timing tells who has an account), EUNAUTHENTICATED for a
// disabled account, and ECONFLICT during a lockout: after 10 failures for
// an address within 15 minutes, until the oldest leaves the window.
func Login(ctx context.Context, db *store.DB, email, password string) (*Session, string, error) {
	key := emailKey(email)
	if err := checkLockout(ctx, db, key); err != nil {
		return nil, "", err
	}
	u, err := userByEmailKey(ctx, db.SQL(), key)
	if err != nil && souk.ErrorCode(err) != souk.ENOTFOUND {
		return nil, "", err
	}
	ok := false
	switch {
	case len(password) > 4*maxPasswordLen:
		// Longer than any password the rules allow: not worth hashing.
	case u == nil:
		hashPassword(password, Params) // the work a known address would take
	default:
		ok = verifyPassword(password, u.passwordHash)
	}
	if !ok {
		if err := recordFailure(ctx, db, key); err != nil {
			return nil, "", err
		}
		return nil, "", souk.Errorf(souk.EUNAUTHENTICATED, "Email or password is incorrect.")
	}
	if u.Disabled() {
		return nil, "", accountDisabled()
	}
	var rehash string
	if needsRehash(u.passwordHash) {
		if rehash, err = hashPassword(password, Params); err != nil {
			return nil, "", err
		}
	}
	token := newSecret("")
	s := &Session{ID: newID("ses_"), UserID: u.ID}
	err = db.Tx(ctx, func(tx *store.Tx) error {
		now := tx.Now.Truncate(time.Millisecond)
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt = now, now, sessionExpiry(now, now)
		if err := clearFailures(ctx, tx, key); err != nil {
			return err
		}
		if err := deleteExpiredSessions(ctx, tx, u.ID, now); err != nil {
			return err
		}
		if err := insertSession(ctx, tx, s, secretHash(token)); err != nil {
			return err
		}
		if rehash != "" {
			// Lost to a concurrent password change, the new hash is simply
			// not stored.
			if _, err := updatePasswordHash(ctx, tx, u.ID, u.passwordHash, rehash); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return s, token, nil
}

// Authenticate returns who holds token: a session token from Login or an
// API token from CreateToken (told apart by TokenPrefix). Using a session
// moves its expiry forward (at most once an hour); using an API token
// records when (at most once a minute).
//
// Returns EUNAUTHENTICATED for an empty, unknown, expired or revoked
// token and for a disabled account.
func Authenticate(ctx context.Context, db *store.DB, token string) (souk.Actor, *User, error) {
	if token == "" {
		return souk.Actor{}, nil, notLoggedIn()
	}
	if strings.HasPrefix(token, TokenPrefix) {
		return authenticateToken(ctx, db, token)
	}
	now := db.Clock().Now()
	s, u, err := sessionByHash(ctx, db.SQL(), secretHash(token))
	if souk.ErrorCode(err) == souk.ENOTFOUND || (err == nil && !now.Before(s.ExpiresAt)) {
		return souk.Actor{}, nil, souk.Errorf(souk.EUNAUTHENTICATED, "Your session has ended; log in again.")
	} else if err != nil {
		return souk.Actor{}, nil, err
	}
	if u.Disabled() {
		return souk.Actor{}, nil, accountDisabled()
	}
	if now.Sub(s.LastSeenAt) >= sessionTouchEvery {
		err := db.Tx(ctx, func(tx *store.Tx) error {
			return touchSession(ctx, tx, s.ID, tx.Now, sessionExpiry(s.CreatedAt, tx.Now), tx.Now.Add(-sessionTouchEvery))
		})
		if err != nil {
			return souk.Actor{}, nil, err
		}
	}
	return u.Actor(), u, nil
}

// Logout ends the session whose token this is. An unknown or expired
// token is already logged out: that is not an error.
//
// Returns EINVALID for an API token, which is revoked, not logged out.
func Logout(ctx context.Context, db *store.DB, token string) error {
	if strings.HasPrefix(token, TokenPrefix) {
		return souk.Errorf(souk.EINVALID, "An API token is revoked, not logged out.")
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		return deleteSessionByHash(ctx, tx, secretHash(token))
	})
}

// LogoutAll ends every session of a user ("log out everywhere"): the user
// themselves or an operator may. API tokens are not affected.
//
// Returns EUNAUTHORIZED for anyone else and ENOTFOUND if there is no such
// user.
func LogoutAll(ctx context.Context, db *store.DB, by souk.Actor, userID string) error {
	if err := requireActor(by); err != nil {
		return err
	}
	if by.UserID != userID && !by.IsOperator() {
		return souk.Errorf(souk.EUNAUTHORIZED, "You may end only your own sessions.")
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := userByID(ctx, tx, userID); err != nil {
			return err
		}
		return deleteSessions(ctx, tx, userID, nil)
	})
}

func accountDisabled() error {
	return souk.Errorf(souk.EUNAUTHENTICATED, "This account is disabled; contact the marketplace's operators.")
}

// checkLockout returns ECONFLICT while key has had lockoutFailures failed
// log-ins within the window.
func checkLockout(ctx context.Context, db *store.DB, key string) error {
	now := db.Clock().Now()
	recent, err := recentFailures(ctx, db.SQL(), key, now.Add(-lockoutWindow), lockoutFailures)
	if err != nil || len(recent) < lockoutFailures {
		return err
	}
	// Attempts are allowed again when the oldest of the last
	// lockoutFailures failures leaves the window.
	wait := recent[len(recent)-1].Add(lockoutWindow).Sub(now)
	minutes := int((wait + time.Minute - 1) / time.Minute)
	if minutes < 1 {
		minutes = 1
	}
	unit := "minutes"
	if minutes == 1 {
		unit = "minute"
	}
	return souk.Errorf(souk.ECONFLICT, "Too many failed log-ins; try again in %d %s.", minutes, unit)
}

// recordFailure records a failed log-in for key, and forgets those that
// have left the window.
func recordFailure(ctx context.Context, db *store.DB, key string) error {
	return db.Tx(ctx, func(tx *store.Tx) error {
		return insertFailure(ctx, tx, key, tx.Now, tx.Now.Add(-lockoutWindow))
	})
}

// newSecret returns prefix followed by 32 random bytes in unpadded
// base64url: a session or API token.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// secretHash is what is stored of a secret. The secret is 256 random bits,
// so a plain SHA-256 is enough: there is nothing to guess, and a stolen
// table gives nothing that authenticates.
func secretHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
