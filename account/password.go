package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/souk-market/souk"
)

// Argon2Params are the argon2id parameters of a password hash. Every hash
// carries its own (in the PHC string), so changing Params affects only
// hashes made afterwards; older ones still verify, and are re-hashed with
// the new parameters at the user's next successful log-in.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8
	SaltLen uint32 // bytes of random salt
	KeyLen  uint32 // bytes of derived key
}

// Params are the parameters new password hashes are made with: the second
// recommendation of RFC 9106 lowered to 64 MiB, with two passes; a hash
// takes in the order of 0.1 s of one core (136 ms measured on the 2-core
// build machine under load).
var Params = Argon2Params{Memory: 64 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// TestParams are cheap parameters for tests only (64 KiB, one pass), so a
// test suite that registers many users runs in milliseconds. A test binary
// sets them with `account.Params = account.TestParams` in TestMain; nothing
// else may.
var TestParams = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on the parameters a stored hash may carry. They keep a corrupted
// or planted hash from making a log-in allocate gigabytes or spin for
// minutes, and they are what the parser accepts.
const (
	maxMemory  = 1 << 21 // KiB: 2 GiB
	maxTime    = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

func (p Argon2Params) valid() bool {
	return p.Threads >= 1 && p.Time >= 1 && p.Time <= maxTime &&
		p.Memory >= 8*uint32(p.Threads) && p.Memory <= maxMemory &&
		p.SaltLen >= minSaltLen && p.SaltLen <= maxSaltLen &&
		p.KeyLen >= minKeyLen && p.KeyLen <= maxKeyLen
}

// passwordHash is a parsed PHC string:
// $argon2id$v=19$m=65536,t=2,p=1$<salt>$<key>, salt and key in unpadded
// standard base64.
type passwordHash struct {
	Params Argon2Params
	Salt   []byte
	Key    []byte
}

const phcPrefix = "$argon2id$v=19$"

var b64 = base64.RawStdEncoding.Strict()

// String returns h in the PHC string format.
func (h passwordHash) String() string {
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", phcPrefix,
		h.Params.Memory, h.Params.Time, h.Params.Threads,
		b64.EncodeToString(h.Salt), b64.EncodeToString(h.Key))
}

var errBadHash = errors.New("account: malformed argon2id PHC string")

// parsePHC parses a PHC string made by String. It accepts only the
// canonical form (so that parsing and printing give back the same string)
// and only parameters within the bounds above.
func parsePHC(s string) (passwordHash, error) {
	var h passwordHash
	rest, ok := strings.CutPrefix(s, phcPrefix)
	if !ok {
		return h, errBadHash
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return h, errBadHash
	}
	m, t, p, ok := parseMTP(parts[0])
	if !ok || p > 255 {
		return h, errBadHash
	}
	salt, err := b64.DecodeString(parts[1])
	if err != nil || strings.ContainsAny(parts[1], "\r\n") {
		return h, errBadHash
	}
	key, err := b64.DecodeString(parts[2])
	if err != nil || strings.ContainsAny(parts[2], "\r\n") {
		return h, errBadHash
	}
	h = passwordHash{
		Params: Argon2Params{Memory: m, Time: t, Threads: uint8(p), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))},
		Salt:   salt,
		Key:    key,
	}
	if !h.Params.valid() {
		return passwordHash{}, errBadHash
	}
	return h, nil
}

// parseMTP parses "m=…,t=…,p=…", in that order, in canonical decimal.
func parseMTP(s string) (m, t, p uint32, ok bool) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return 0, 0, 0, false
	}
	var vals [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		digits, found := strings.CutPrefix(fields[i], name)
		if !found || digits == "" || (digits[0] == '0' && len(digits) > 1) {
			return 0, 0, 0, false
		}
		for j := 0; j < len(digits); j++ {
			if digits[j] < '0' || digits[j] > '9' {
				return 0, 0, 0, false
			}
		}
		v, err := strconv.ParseUint(digits, 10, 32)
		if err != nil {
			return 0, 0, 0, false
		}
		vals[i] = uint32(v)
	}
	return vals[0], vals[1], vals[2], true
}

// hashPassword hashes password with params and a fresh random salt, and
// returns the PHC string.
func hashPassword(password string, params Argon2Params) (string, error) {
	if !params.valid() {
		return "", fmt.Errorf("account: argon2id parameters %+v out of bounds", params)
	}
	salt := make([]byte, params.SaltLen)
	rand.Read(salt) // never fails (crypto/rand)
	key := argon2.IDKey([]byte(password), salt, params.Time, params.Memory, params.Threads, params.KeyLen)
	return passwordHash{Params: params, Salt: salt, Key: key}.String(), nil
}

// verifyPassword reports whether password matches the PHC string encoded,
// comparing in constant time. A malformed hash matches nothing.
func verifyPassword(password, encoded string) bool {
	h, err := parsePHC(encoded)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(password), h.Salt, h.Params.Time, h.Params.Memory, h.Params.Threads, h.Params.KeyLen)
	return subtle.ConstantTimeCompare(key, h.Key) == 1
}

// needsRehash reports whether encoded was made with other parameters than
// Params.
func needsRehash(encoded string) bool {
	h, err := parsePHC(encoded)
	return err != nil || h.Params != Params
}

// Password rules.
const (
	minPasswordLen = 10
	maxPasswordLen = 1000 // argon2 reads it all; no one types more
)

// checkPassword applies the password rules; field names the field in the
// message ("password", "new_password").
func checkPassword(field, password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < minPasswordLen:
		return souk.Errorf(souk.EINVALID, "%s: at least %d characters", field, minPasswordLen)
	case n > maxPasswordLen:
		return souk.Errorf(souk.EINVALID, "%s: at most %d characters", field, maxPasswordLen)
	case oneCharacter(password):
		return souk.Errorf(souk.EINVALID, "%s: must not be one character repeated", field)
	case email != "" && strings.EqualFold(password, strings.TrimSpace(email)):
		return souk.Errorf(souk.EINVALID, "%s: must not be the email address", field)
	}
	return nil
}

func oneCharacter(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != first {
			return false
		}
	}
	return true
}
