package protocol

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
)

// Encrypt types of an answer's encryptType (§2.4).
const (
	EncryptAES256 = 1
	EncryptAES128 = 2
)

const ivChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// fieldKey derives the AES key of encrypted fields from the access key
// (profile: SHA-256 of the access key, truncated to the key size).
func fieldKey(accessKey string, encryptType int) ([]byte, error) {
	sum := sha256.Sum256([]byte(accessKey))
	switch encryptType {
	case EncryptAES256, 0:
		return sum[:32], nil
	case EncryptAES128:
		return sum[:16], nil
	}
	return nil, fmt.Errorf("encryptType %d: want 1 (AES-256) or 2 (AES-128)", encryptType)
}

// EncryptField encrypts an appInfo secret (userName, password) as
// iv + base64(AES-CBC-PKCS5(key, plaintext)), where iv is 16 random
// alphanumeric characters used as the IV (§2.4).
func EncryptField(accessKey, plaintext string, encryptType int) (string, error) {
	key, err := fieldKey(accessKey, encryptType)
	if err != nil {
		return "", err
	}
	iv := make([]byte, aes.BlockSize)
	rand.Read(iv)
	for i := range iv {
		iv[i] = ivChars[int(iv[i])%len(ivChars)]
	}
	block, _ := aes.NewCipher(key)
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := append([]byte(plaintext), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return string(iv) + base64.StdEncoding.EncodeToString(buf), nil
}

// ErrDecrypt is returned for a field that does not decrypt.
var ErrDecrypt = errors.New("encrypted field does not decrypt")

// DecryptField reverses EncryptField.
func DecryptField(accessKey, ciphertext string, encryptType int) (string, error) {
	key, err := fieldKey(accessKey, encryptType)
	if err != nil {
		return "", err
	}
	if len(ciphertext) <= aes.BlockSize {
		return "", fmt.Errorf("%w: too short", ErrDecrypt)
	}
	iv := []byte(ciphertext[:aes.BlockSize])
	buf, err := base64.StdEncoding.DecodeString(ciphertext[aes.BlockSize:])
	if err != nil || len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return "", fmt.Errorf("%w: not base64 of whole AES blocks", ErrDecrypt)
	}
	block, _ := aes.NewCipher(key)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize || !bytes.Equal(buf[len(buf)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return "", fmt.Errorf("%w: bad padding (wrong key?)", ErrDecrypt)
	}
	return string(buf[:len(buf)-pad]), nil
}

// EncryptClientSecret encrypts an applicationSync clientSecret with the
// seller's public key: base64(RSA-OAEP-SHA256) (§2.4). Keys shorter than
// Profile.MinRSABits are refused.
func (p Profile) EncryptClientSecret(pub *rsa.PublicKey, secret string) (string, error) {
	if pub.N.BitLen() < p.MinRSABits {
		return "", fmt.Errorf("seller public key has %d bits, at least %d required", pub.N.BitLen(), p.MinRSABits)
	}
	out, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte(secret), nil)
	if err != nil {
		return "", fmt.Errorf("encrypt clientSecret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(out), nil
}

// DecryptClientSecret reverses EncryptClientSecret with the seller's
// private key.
func DecryptClientSecret(priv *rsa.PrivateKey, ciphertext string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return "", fmt.Errorf("%w: clientSecret is not base64", ErrDecrypt)
	}
	out, err := rsa.DecryptOAEP(sha256.New(), nil, priv, raw, nil)
	if err != nil {
		return "", fmt.Errorf("%w: clientSecret: %v", ErrDecrypt, err)
	}
	return string(out), nil
}

// ParsePublicKeyPEM reads a seller's RSA public key from PEM (PKIX
// "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY").
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("public key: no PEM block")
	}
	if block.Type == "RSA PUBLIC KEY" {
		return x509.ParsePKCS1PublicKey(block.Bytes)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: %T, want RSA", key)
	}
	return pub, nil
}
