package protocol_test

import (
	"testing"
	"time"

	"github.com/souk-market/souk/protocol"
)

var gmt8 = protocol.Default.KitTimeZone

func TestFormatTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "20260101000000"},
		{time.Date(2026, 1, 1, 8, 0, 0, 0, gmt8), "20260101000000"}, // always UTC
		{time.Date(2025, 12, 31, 23, 59, 59, 999_999_999, time.UTC), "20251231235959"},
		{time.Date(2028, 2, 29, 12, 30, 5, 0, time.UTC), "20280229123005"},
	}
	for _, tt := range tests {
		if got := protocol.FormatTime(tt.in); got != tt.want {
			t.Errorf("FormatTime(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"20260101000000", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"20280229123005", time.Date(2028, 2, 29, 12, 30, 5, 0, time.UTC), true},
		{"", time.Time{}, false},
		{"2026010100000", time.Time{}, false},   // 13 digits
		{"202601010000000", time.Time{}, false}, // 15 digits
		{"20260101000000000", time.Time{}, false},
		{"2026-01-01 00:00", time.Time{}, false},
		{"20261301000000", time.Time{}, false}, // month 13
		{"20270229000000", time.Time{}, false}, // not a leap year
		{"20260101240000", time.Time{}, false},
		{"20260101006000", time.Time{}, false},
		{"2026010100000x", time.Time{}, false},
		{"+2026010100000", time.Time{}, false},
		{" 2026010100000", time.Time{}, false},
		{"２０２６０１０１", time.Time{}, false}, // full-width digits
	}
	for _, tt := range tests {
		got, err := protocol.ParseTime(tt.in)
		if tt.ok != (err == nil) || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v, want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) location = %v, want UTC", tt.in, got.Location())
		}
		if tt.ok && protocol.FormatTime(got) != tt.in {
			t.Errorf("FormatTime(ParseTime(%q)) = %v, want %v", tt.in, protocol.FormatTime(got), tt.in)
		}
	}
}

func TestFormatMilli(t *testing.T) {
	tests := []struct {
		in   time.Time
		loc  *time.Location
		want string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), gmt8, "20260101080000000"},
		{time.Date(2025, 12, 31, 16, 0, 0, 0, time.UTC), gmt8, "20260101000000000"}, // next day in GMT+8
		{time.Date(2026, 1, 1, 0, 0, 0, 123_999_999, time.UTC), gmt8, "20260101080000123"},
		{time.Date(2026, 1, 1, 0, 0, 0, 7_000_000, time.UTC), time.UTC, "20260101000000007"},
		{time.UnixMilli(1700000000123), gmt8, "20231115061320123"},
	}
	for _, tt := range tests {
		if got := protocol.FormatMilli(tt.in, tt.loc); got != tt.want {
			t.Errorf("FormatMilli(%v, %v) = %v, want %v", tt.in, tt.loc, got, tt.want)
		}
	}
}

func TestParseMilli(t *testing.T) {
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time
		ok   bool
	}{
		{"20260101080000000", gmt8, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"20260101080000123", gmt8, time.Date(2026, 1, 1, 0, 0, 0, 123_000_000, time.UTC), true},
		{"20260101080000123", time.UTC, time.Date(2026, 1, 1, 8, 0, 0, 123_000_000, time.UTC), true},
		{"", gmt8, time.Time{}, false},
		{"20260101080000", gmt8, time.Time{}, false},     // no milliseconds
		{"2026010108000012", gmt8, time.Time{}, false},   // 16 digits
		{"202601010800001234", gmt8, time.Time{}, false}, // 18 digits
		{"20260101080000.12", gmt8, time.Time{}, false},  // 17 characters with a dot
		{"2026010108000012x", gmt8, time.Time{}, false},
		{"20260132080000000", gmt8, time.Time{}, false},
		{"2026-01-01T08:00Z", gmt8, time.Time{}, false},
		{"-0260101080000000", gmt8, time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := protocol.ParseMilli(tt.in, tt.loc)
		if tt.ok != (err == nil) || !got.Equal(tt.want) {
			t.Errorf("ParseMilli(%q, %v) = %v, %v, want %v, ok %v", tt.in, tt.loc, got, err, tt.want, tt.ok)
		}
		if tt.ok && protocol.FormatMilli(got, tt.loc) != tt.in {
			t.Errorf("FormatMilli(ParseMilli(%q)) = %v, want %v", tt.in, protocol.FormatMilli(got, tt.loc), tt.in)
		}
	}
}
