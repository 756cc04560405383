package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMarketKeyIsCreatedOnceAndKept(t *testing.T) {
	t.Setenv("SOUK_MARKET_KEY", "")
	path := filepath.Join(t.TempDir(), "data", "market.key")
	if _, err := marketKeyring(path); err != nil {
		t.Fatalf("marketKeyring() = %v", err)
	}
	first, _ := os.ReadFile(path)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 || len(strings.TrimSpace(string(first))) != 64 {
		t.Fatalf("key file %v %v %q, want 64 hex characters, mode 0600", err, info.Mode(), first)
	}
	if _, err := marketKeyring(path); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(first) {
		t.Fatalf("marketKeyring() replaced an existing key")
	}
	os.WriteFile(path, []byte("not hex\n"), 0o600)
	if _, err := marketKeyring(path); err == nil || !strings.Contains(err.Error(), "64 hex") {
		t.Fatalf("marketKeyring(bad file) = %v, want an error saying what a key is", err)
	}
	t.Setenv("SOUK_MARKET_KEY", strings.Repeat("ab", 32))
	if _, err := marketKeyring(path); err != nil {
		t.Fatalf("marketKeyring() with SOUK_MARKET_KEY = %v", err)
	}
}
