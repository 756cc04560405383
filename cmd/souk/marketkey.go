package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/souk-market/souk/catalog"
)

// marketKeyring returns the marketplace key that encrypts sellers' access
// keys at rest: SOUK_MARKET_KEY (64 hex characters) if set, else the file
// at path, created with a new random key if it does not exist — so that a
// newcomer's marketplace works with no set-up, while production sets the
// key explicitly (and keeps it out of the database's backups).
func marketKeyring(path string) (*catalog.Keyring, error) {
	text := os.Getenv("SOUK_MARKET_KEY")
	if text == "" {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			key := make([]byte, 32)
			rand.Read(key)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, err
			}
			if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("write a new marketplace key: %w", err)
			}
			return catalog.NewKeyring(key)
		} else if err != nil {
			return nil, fmt.Errorf("read the marketplace key: %w", err)
		}
		text = string(b)
	}
	key, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("the marketplace key must be 32 bytes as 64 hex characters")
	}
	return catalog.NewKeyring(key)
}
