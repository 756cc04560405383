package web

import "testing"

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
