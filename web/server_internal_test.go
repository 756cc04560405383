package web

import (
	"fmt"
	"strconv"
	"testing"
)

// A log-in's next is a path on this site or "/": never another site,
// however the browser would read it.
func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/my/instances?x=1":       "/my/instances?x=1",
		"/seller/inbox":           "/seller/inbox",
		"":                        "/",
		"my/instances":            "/",
		"//evil.example/x":        "/",
		`/\evil.example`:          "/",
		"/\t/evil.example/x":      "/",
		"/\n/evil.example":        "/",
		"https://evil.example/":   "/",
		"javascript:alert(1)":     "/",
		"/%2F%2Fevil.example":     "/%2F%2Fevil.example", // an escaped slash stays a path on this site
		"http:/evil.example":      "/",
		"/ok#fragment":            "/ok#fragment",
		"/user@evil.example/path": "/user@evil.example/path",
		"\x7f/evil":               "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

// Amounts typed in forms: any text is read exactly or refused, never
// panics, and what is read writes back to the same amount.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"99.00", "99", ".5", "0.001", "1e3", "-1", "", " 12.3 ", "9223372036854775807", "92233720368547758.08", "1.2.3", "٣"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, places int) {
		places = ((places % 4) + 4) % 4
		n, err := parseDecimal("amount", s, places)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseDecimal(%q) = %d, negative", s, n)
		}
		pow := int64(1)
		for range places {
			pow *= 10
		}
		text := strconv.FormatInt(n/pow, 10)
		if places > 0 {
			text += fmt.Sprintf(".%0*d", places, n%pow)
		}
		if back, err := parseDecimal("amount", text, places); err != nil || back != n {
			t.Fatalf("parseDecimal(%q) = %d, written %q, read back %d, %v", s, n, text, back, err)
		}
	})
}
