package sellerkit

import (
	"context"
	"sync"
)

// Store keeps what Idempotent remembers between calls: small values under
// string keys. Implementations must be safe for concurrent use; a value that
// Put returned nil for must survive a restart if the seller's own state does.
type Store interface {
	// Get returns the value under key; ok is false if there is none.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Put stores value under key, replacing any earlier value.
	Put(ctx context.Context, key string, value []byte) error
}

// MemoryStore is a Store in memory, for tests and sellers whose own state
// does not outlive the process either.
type MemoryStore struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: make(map[string][]byte)} }

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[key]
	return v, ok, nil
}

// Put implements Store.
func (s *MemoryStore) Put(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), value...)
	return nil
}
