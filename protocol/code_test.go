package protocol_test

import (
	"testing"

	"github.com/souk-market/souk/protocol"
)

func TestCode(t *testing.T) {
	tests := []struct {
		code       protocol.Code
		known      bool
		wellFormed bool
		meaning    string
	}{
		{protocol.CodeSuccess, true, true, "success"},
		{protocol.CodeAuthFailed, true, true, "authentication failed"},
		{protocol.CodeAccepted, true, true, "accepted, still processing"},
		{protocol.CodeEmailDomainDup, true, true, "e-mail domain duplicate"},
		{"000108", false, true, ""},
		{"999999", false, true, ""},
		{"00000", false, false, ""},
		{"0000000", false, false, ""},
		{"abc", false, false, ""},
		{"00000a", false, false, ""},
		{"０００００", false, false, ""},
		{"", false, false, ""},
	}
	for _, tt := range tests {
		if got := tt.code.Known(); got != tt.known {
			t.Errorf("Code(%q).Known() = %v, want %v", tt.code, got, tt.known)
		}
		if got := tt.code.WellFormed(); got != tt.wellFormed {
			t.Errorf("Code(%q).WellFormed() = %v, want %v", tt.code, got, tt.wellFormed)
		}
		if got := tt.code.Meaning(); got != tt.meaning {
			t.Errorf("Code(%q).Meaning() = %q, want %q", tt.code, got, tt.meaning)
		}
	}
}
