package account

import (
	"regexp"
	"strings"
	"testing"

	"github.com/souk-market/souk"
)

// productionParams are Params as the package sets them, before TestMain
// lowers them for speed.
var productionParams = Params

func TestHashFormat(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery"
	encoded, err := hashPassword(pw, productionParams)
	if err != nil {
		t.Fatal(err)
	}
	// 16 bytes of salt and 32 of key in unpadded standard base64.
	format := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !format.MatchString(encoded) {
		t.Fatalf("hashPassword() = %q, want the PHC string format", encoded)
	}
	h, err := parsePHC(encoded)
	if err != nil {
		t.Fatalf("parsePHC(%q) = %v", encoded, err)
	}
	if h.Params != productionParams || h.String() != encoded {
		t.Fatalf("parsePHC() = %+v (%s), want %+v and the same string back", h.Params, h, productionParams)
	}
	if !verifyPassword(pw, encoded) {
		t.Fatal("verifyPassword(right password) = false")
	}
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery"
	encoded, err := hashPassword(pw, TestParams)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := parsePHC(encoded)
	if again, _ := hashPassword(pw, TestParams); again == encoded {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	saltAt := strings.LastIndex(encoded, "$") - 5
	tests := []struct {
		name     string
		password string
		encoded  string
		want     bool
	}{
		{"right password", pw, encoded, true},
		{"wrong password", "correct horse batterY", encoded, false},
		{"empty password", "", encoded, false},
		{"key tampered", pw, flip(encoded, len(encoded)-5), false},
		{"salt tampered", pw, flip(encoded, saltAt), false},
		{"memory changed", pw, strings.Replace(encoded, "m=64,", "m=72,", 1), false},
		{"time changed", pw, strings.Replace(encoded, "t=1,", "t=2,", 1), false},
		{"version changed", pw, strings.Replace(encoded, "v=19", "v=16", 1), false},
		{"argon2i", pw, strings.Replace(encoded, "argon2id", "argon2i", 1), false},
		{"key truncated", pw, encoded[:len(encoded)-4], false},
		{"key dropped", pw, encoded[:strings.LastIndex(encoded, "$")], false},
		{"empty hash", pw, "", false},
		{"same key, other salt", pw, phc(h.Params, []byte("0123456789abcdef"), h.Key), false},
	}
	for _, tt := range tests {
		if got := verifyPassword(tt.password, tt.encoded); got != tt.want {
			t.Errorf("verifyPassword() %s = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func phc(p Argon2Params, salt, key []byte) string {
	return passwordHash{Params: p, Salt: salt, Key: key}.String()
}

func TestParsePHCRefuses(t *testing.T) {
	t.Parallel()
	salt := "c2FsdHNhbHRzYWx0c2FsdA"                     // 16 bytes
	key := "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U" // 32 bytes
	ok := "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + key
	if _, err := parsePHC(ok); err != nil {
		t.Fatalf("parsePHC(%q) = %v", ok, err)
	}
	for _, s := range []string{
		"",
		"$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=18$m=65536,t=2,p=1$" + salt + "$" + key,
		"$argon2id$m=65536,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=2,m=65536,p=1$" + salt + "$" + key,     // order
		"$argon2id$v=19$m=065536,t=2,p=1$" + salt + "$" + key,    // leading zero
		"$argon2id$v=19$m=+65536,t=2,p=1$" + salt + "$" + key,    // sign
		"$argon2id$v=19$m=65536,t=2$" + salt + "$" + key,         // p missing
		"$argon2id$v=19$m=65536,t=2,p=1,x=1$" + salt + "$" + key, // extra
		"$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + key,     // no pass
		"$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + key,     // no thread
		"$argon2id$v=19$m=65536,t=2,p=256$" + salt + "$" + key,   // threads > 255
		"$argon2id$v=19$m=7,t=2,p=1$" + salt + "$" + key,         // memory < 8p
		"$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=65,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "==$" + key, // padding
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + key + "\n",
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt[:10] + "\n" + salt[10:] + "$" + key,
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=65536,t=2,p=1$$" + key,                                // no salt
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$a2V5",                      // short key
		"$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$" + key,                          // short salt
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + key[:len(key)-1] + "f", // non-canonical last character
	} {
		if h, err := parsePHC(s); err == nil {
			t.Errorf("parsePHC(%q) = %+v, want an error", s, h)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		password, email, want string
	}{
		{"correct horse battery", "ann@example.com", ""},
		{"123456789", "", "password: at least 10 characters"},
		{"ÅÅÅÅÅÅÅÅÅÅ", "", "password: must not be one character repeated"},
		{"Ann@example.com", " ann@EXAMPLE.com ", "password: must not be the email address"},
		{strings.Repeat("x", 999) + "y", "", ""},
		{strings.Repeat("x", 1000) + "y", "", "password: at most 1000 characters"},
	} {
		err := checkPassword("password", tt.password, tt.email)
		if got := souk.ErrorMessage(err); got != tt.want || (err != nil && souk.ErrorCode(err) != souk.EINVALID) {
			t.Errorf("checkPassword(%.20q) = %q, want %q", tt.password, got, tt.want)
		}
	}
}

// FuzzParsePHC: parsing never panics, and what parses prints back as the
// same string with parameters in bounds.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		if !h.Params.valid() {
			t.Fatalf("parsePHC(%q) = %+v, out of bounds", s, h.Params)
		}
		if h.String() != s {
			t.Fatalf("parsePHC(%q).String() = %q", s, h.String())
		}
	})
}
