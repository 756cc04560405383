package catalog

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Keyring encrypts the secrets the catalogue keeps at rest — sellers'
// access keys — under the marketplace's own key, with AES-256-GCM. The
// marketplace key comes from configuration (cmd/souk); it never touches the
// database, so a copy of the database alone reveals no access key.
//
// One key for now: re-encrypting under a new marketplace key is left to a
// later migration command.
type Keyring struct {
	aead cipher.AEAD
}

// NewKeyring returns a Keyring using key, which must be 32 bytes.
func NewKeyring(key []byte) (*Keyring, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("catalog: the marketplace key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("catalog: marketplace key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("catalog: marketplace key: %w", err)
	}
	return &Keyring{aead: aead}, nil
}

// seal encrypts plaintext for the row named by owner (a product id). The
// owner is authenticated data: a ciphertext copied into another product's
// row does not decrypt there.
func (k *Keyring) seal(plaintext []byte, owner string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand, Go ≥ 1.24)
	return k.aead.Seal(nonce, nonce, plaintext, []byte(owner))
}

// open reverses seal.
func (k *Keyring) open(ciphertext []byte, owner string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("catalog: encrypted value too short")
	}
	plain, err := k.aead.Open(nil, ciphertext[:n], ciphertext[n:], []byte(owner))
	if err != nil {
		return nil, fmt.Errorf("catalog: decrypt secret of %s: %w", owner, err)
	}
	return plain, nil
}

// Seal encrypts plaintext for owner, a name of the row that keeps it (a
// product id; another package's secrets use their own prefix, e.g.
// "sellerapi:KEYID"). The owner is authenticated data: the ciphertext
// decrypts only for the same owner. It is for the other packages that keep
// secrets under the marketplace key.
func (k *Keyring) Seal(plaintext []byte, owner string) []byte { return k.seal(plaintext, owner) }

// Open reverses Seal; it fails for another owner or a tampered ciphertext.
func (k *Keyring) Open(ciphertext []byte, owner string) ([]byte, error) {
	return k.open(ciphertext, owner)
}
