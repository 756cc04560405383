package protocol_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/souk-market/souk/protocol"
)

var fieldPlaintexts = []struct {
	name, text string
}{
	{"empty", ""},
	{"one byte", "a"},
	{"15 bytes", "123456789012345"},
	{"one block", "1234567890123456"},
	{"17 bytes", "12345678901234567"},
	{"UTF-8", "管理员 admin@例子 p4ss!"},
	{"long", strings.Repeat("password-", 200)},
}

var ivPrefix = regexp.MustCompile(`^[A-Za-z0-9]{16}`)

func TestEncryptFieldRoundTrip(t *testing.T) {
	for _, typ := range []struct {
		name string
		et   int
	}{{"AES-256", protocol.EncryptAES256}, {"AES-128", protocol.EncryptAES128}} {
		for _, p := range fieldPlaintexts {
			t.Run(typ.name+"/"+p.name, func(t *testing.T) {
				ct, err := protocol.EncryptField("testkey", p.text, typ.et)
				if err != nil {
					t.Fatalf("EncryptField() error = %v", err)
				}
				if !ivPrefix.MatchString(ct) {
					t.Errorf("EncryptField() = %q, want 16 alphanumeric IV characters first", ct)
				}
				raw, err := base64.StdEncoding.DecodeString(ct[16:])
				if err != nil || len(raw) == 0 || len(raw)%aes.BlockSize != 0 {
					t.Errorf("EncryptField() = %q, want base64 of whole AES blocks after the IV (%d bytes, %v)", ct, len(raw), err)
				}
				if want := (len(p.text)/aes.BlockSize + 1) * aes.BlockSize; len(raw) != want {
					t.Errorf("EncryptField() has %d bytes of ciphertext, want %d (PKCS#5 always pads)", len(raw), want)
				}
				if len(p.text) >= 8 && strings.Contains(ct, p.text) {
					t.Errorf("EncryptField() = %q contains the plaintext", ct)
				}
				got, err := protocol.DecryptField("testkey", ct, typ.et)
				if err != nil || got != p.text {
					t.Errorf("DecryptField(EncryptField()) = %q, %v, want %q, nil", got, err, p.text)
				}
			})
		}
	}
}

func TestEncryptFieldFreshIV(t *testing.T) {
	a, _ := protocol.EncryptField("testkey", "same secret", protocol.EncryptAES256)
	b, _ := protocol.EncryptField("testkey", "same secret", protocol.EncryptAES256)
	if a == b || a[:16] == b[:16] {
		t.Errorf("EncryptField() twice = %q and %q, want different IVs and ciphertexts", a, b)
	}
}

// Vectors made by openssl, independently of this package:
//
//	K=$(printf '%s' testkey | openssl dgst -sha256 | awk '{print $NF}')
//	IV=AbCdEfGh12345678; IVH=$(printf '%s' $IV | xxd -p)
//	printf '%s' "$PLAIN" | openssl enc -aes-256-cbc -K $K -iv $IVH -base64 -A
//	printf '%s' "$PLAIN" | openssl enc -aes-128-cbc -K ${K:0:32} -iv $IVH -base64 -A
//
// The field is then $IV followed by the base64.
var fieldVectors = []struct {
	name  string
	et    int
	plain string
	field string
}{
	{"AES-256", protocol.EncryptAES256, "admin@例子 p4ss!", "AbCdEfGh12345678" + "XgYaUpwfAezUZBdsoiGUewK4t1V4NIgC/xxV3/TIysc="},
	{"AES-128", protocol.EncryptAES128, "admin@例子 p4ss!", "AbCdEfGh12345678" + "ntBNcqPS6iO6FG3fIVaCGtcLbOjUxTDgKH6zNYyDHj8="},
	{"AES-256, one whole block", protocol.EncryptAES256, "0123456789abcdef", "AbCdEfGh12345678" + "x3VB8bKhB1krmggz6NzE1Z1FGAtdPIuOLtlkqVkUsS4="},
	{"AES-256, empty", protocol.EncryptAES256, "", "AbCdEfGh12345678" + "QZmQ5e0YH7VuCBFWF/5PEQ=="},
}

func TestDecryptFieldOpenSSLVectors(t *testing.T) {
	for _, v := range fieldVectors {
		t.Run(v.name, func(t *testing.T) {
			got, err := protocol.DecryptField("testkey", v.field, v.et)
			if err != nil || got != v.plain {
				t.Errorf("DecryptField() = %q, %v, want %q, nil", got, err, v.plain)
			}
		})
	}
	// encryptType 0 (absent from the answer) means AES-256.
	if got, err := protocol.DecryptField("testkey", fieldVectors[0].field, 0); err != nil || got != fieldVectors[0].plain {
		t.Errorf("DecryptField(encryptType 0) = %q, %v, want %q, nil", got, err, fieldVectors[0].plain)
	}
}

func TestDecryptFieldWrongKey(t *testing.T) {
	// Fixed vectors, so the outcome is deterministic: CBC without a MAC
	// detects a wrong key only through the padding, which a random
	// ciphertext passes about once in 256 tries.
	tests := []struct {
		name  string
		key   string
		et    int
		field string
	}{
		{"other access key", "otherkey", protocol.EncryptAES256, fieldVectors[0].field},
		{"AES-128 field read as AES-256", "testkey", protocol.EncryptAES256, fieldVectors[1].field},
		{"AES-256 field read as AES-128", "testkey", protocol.EncryptAES128, fieldVectors[0].field},
		{"empty key", "", protocol.EncryptAES256, fieldVectors[2].field},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protocol.DecryptField(tt.key, tt.field, tt.et)
			if !errors.Is(err, protocol.ErrDecrypt) || got != "" {
				t.Errorf("DecryptField() = %q, %v, want \"\", ErrDecrypt", got, err)
			}
		})
	}
}

// encryptBlocks encrypts raw (whole blocks, padding left to the caller) the
// way EncryptField does, so that bad padding can be tested exactly.
func encryptBlocks(accessKey string, raw []byte) string {
	sum := sha256.Sum256([]byte(accessKey))
	block, _ := aes.NewCipher(sum[:])
	iv := []byte("0000000000000000")
	buf := bytes.Clone(raw)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return string(iv) + base64.StdEncoding.EncodeToString(buf)
}

func TestDecryptFieldGarbage(t *testing.T) {
	iv := "AbCdEfGh12345678"
	tests := []struct {
		name  string
		field string
	}{
		{"empty", ""},
		{"short", "abc"},
		{"only the IV", iv},
		{"not base64", iv + "!!!!not base64!!!"},
		{"URL-safe base64", iv + strings.NewReplacer("/", "_", "+", "-").Replace("XgYaUpwfAezUZBdsoiGUewK4t1V4NIgC/xxV3/TIysc=")},
		{"half a block", iv + base64.StdEncoding.EncodeToString(make([]byte, 8))},
		{"17 bytes", iv + base64.StdEncoding.EncodeToString(make([]byte, 17))},
		{"empty base64", iv + "===="},
		{"multi-byte IV", "密钥密钥密钥" + "XgYaUpwfAezUZBdsoiGUewK4t1V4NIgC/xxV3/TIysc="},
		{"truncated vector", fieldVectors[0].field[:len(fieldVectors[0].field)-24]},
		{"padding byte 0", encryptBlocks("testkey", append(bytes.Repeat([]byte("x"), 15), 0))},
		{"padding byte 17", encryptBlocks("testkey", append(bytes.Repeat([]byte("x"), 15), 17))},
		{"inconsistent padding", encryptBlocks("testkey", append(bytes.Repeat([]byte("x"), 13), 2, 3, 3))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protocol.DecryptField("testkey", tt.field, protocol.EncryptAES256)
			if !errors.Is(err, protocol.ErrDecrypt) || got != "" {
				t.Errorf("DecryptField(%q) = %q, %v, want \"\", ErrDecrypt", tt.field, got, err)
			}
		})
	}
	// The helper itself is right: correct padding decrypts.
	if got, err := protocol.DecryptField("testkey", encryptBlocks("testkey", append([]byte("0123456789abc"), 3, 3, 3)), protocol.EncryptAES256); err != nil || got != "0123456789abc" {
		t.Errorf("DecryptField(well padded) = %q, %v, want %q, nil", got, err, "0123456789abc")
	}
}

func TestFieldEncryptType(t *testing.T) {
	for _, et := range []int{-1, 3, 256} {
		if _, err := protocol.EncryptField("testkey", "x", et); err == nil {
			t.Errorf("EncryptField(encryptType %d) error = nil, want an error", et)
		}
		if _, err := protocol.DecryptField("testkey", fieldVectors[0].field, et); err == nil {
			t.Errorf("DecryptField(encryptType %d) error = nil, want an error", et)
		}
	}
	ct, err := protocol.EncryptField("testkey", "x", 0)
	if err != nil {
		t.Fatalf("EncryptField(encryptType 0) error = %v", err)
	}
	if got, err := protocol.DecryptField("testkey", ct, protocol.EncryptAES256); err != nil || got != "x" {
		t.Errorf("DecryptField(AES-256, EncryptField(encryptType 0)) = %q, %v, want \"x\", nil", got, err)
	}
}

// sellerKey is a 3072-bit RSA key, generated once per test run.
var sellerKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		panic(err)
	}
	return k
})

func TestClientSecretRoundTrip(t *testing.T) {
	priv := sellerKey()
	for _, secret := range []string{"", "s3cr3t", "客户端密钥-" + strings.Repeat("x", 200)} {
		ct, err := protocol.Default.EncryptClientSecret(&priv.PublicKey, secret)
		if err != nil {
			t.Fatalf("EncryptClientSecret() error = %v", err)
		}
		if raw, err := base64.StdEncoding.DecodeString(ct); err != nil || len(raw) != 384 {
			t.Errorf("EncryptClientSecret() = %d bytes of base64 (%v), want 384 (one 3072-bit block)", len(raw), err)
		}
		got, err := protocol.DecryptClientSecret(priv, ct)
		if err != nil || got != secret {
			t.Errorf("DecryptClientSecret(EncryptClientSecret(%q)) = %q, %v, want %q, nil", secret, got, err, secret)
		}
		again, _ := protocol.Default.EncryptClientSecret(&priv.PublicKey, secret)
		if again == ct {
			t.Errorf("EncryptClientSecret() twice gave the same ciphertext, want randomised OAEP")
		}
	}
}

func TestClientSecretErrors(t *testing.T) {
	priv := sellerKey()
	small, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if ct, err := protocol.Default.EncryptClientSecret(&small.PublicKey, "s"); err == nil || ct != "" {
		t.Errorf("EncryptClientSecret(2048-bit key) = %q, %v, want an error", ct, err)
	}
	// A profile may lower the bar (not this marketplace's).
	p := protocol.Default
	p.MinRSABits = 2048
	if _, err := p.EncryptClientSecret(&small.PublicKey, "s"); err != nil {
		t.Errorf("EncryptClientSecret(2048-bit key, MinRSABits 2048) error = %v, want nil", err)
	}
	// Too long for one OAEP block.
	if _, err := protocol.Default.EncryptClientSecret(&priv.PublicKey, strings.Repeat("x", 400)); err == nil {
		t.Errorf("EncryptClientSecret(400 bytes) error = nil, want an error")
	}

	ct, err := protocol.Default.EncryptClientSecret(&priv.PublicKey, "s3cr3t")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(ct)
	raw[10] ^= 1
	tests := []struct {
		name string
		priv *rsa.PrivateKey
		ct   string
	}{
		{"other key", small, ct},
		{"not base64", priv, "%%%"},
		{"empty", priv, ""},
		{"tampered", priv, base64.StdEncoding.EncodeToString(raw)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protocol.DecryptClientSecret(tt.priv, tt.ct)
			if !errors.Is(err, protocol.ErrDecrypt) || got != "" {
				t.Errorf("DecryptClientSecret() = %q, %v, want \"\", ErrDecrypt", got, err)
			}
		})
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	pub := &sellerKey().PublicKey
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"PKIX", enc("PUBLIC KEY", pkix), true},
		{"PKCS#1", enc("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(pub)), true},
		{"PKIX with text around it", append(append([]byte("seller key:\n"), enc("PUBLIC KEY", pkix)...), "-- end\n"...), true},
		{"not PEM", []byte("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"), false},
		{"empty", nil, false},
		{"EC key", enc("PUBLIC KEY", ecDER), false},
		{"PKCS#1 bytes labelled PKIX", enc("PUBLIC KEY", x509.MarshalPKCS1PublicKey(pub)), false},
		{"PKIX bytes labelled PKCS#1", enc("RSA PUBLIC KEY", pkix), false},
		{"garbage DER", enc("PUBLIC KEY", []byte("garbage")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protocol.ParsePublicKeyPEM(tt.data)
			if !tt.ok {
				if err == nil {
					t.Errorf("ParsePublicKeyPEM() = %v, nil, want an error", got)
				}
				return
			}
			if err != nil || !got.Equal(pub) {
				t.Errorf("ParsePublicKeyPEM() = %v, %v, want the seller's key", got, err)
			}
		})
	}
}
