package catalog

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/souk-market/souk"
)

// invalid returns an EINVALID error whose message starts with the field it
// is about (a JSON path such as "specs[1].price.currency"), so that a form
// can show it beside the field.
func invalid(field, format string, args ...any) error {
	return souk.Errorf(souk.EINVALID, "%s: %s", field, fmt.Sprintf(format, args...))
}

// text checks a required free-text field of at most max characters.
func text(field, s string, max int) error {
	if s == "" {
		return invalid(field, "is required.")
	}
	return optionalText(field, s, max)
}

// optionalText checks a free-text field that may be empty.
func optionalText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8.")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "is %d characters long; at most %d.", n, max)
	}
	return nil
}

func email(field, s string) error {
	if err := text(field, s, 254); err != nil {
		return err
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
		return invalid(field, "%q is not an e-mail address.", s)
	}
	return nil
}

var phoneRE = regexp.MustCompile(`^\+?[0-9][0-9 -]{4,24}$`)

func phone(field, s string) error {
	if err := text(field, s, 32); err != nil {
		return err
	}
	if !phoneRE.MatchString(s) {
		return invalid(field, "%q is not a phone number (digits, spaces and dashes, optionally starting with +).", s)
	}
	return nil
}

// reason checks the reason a rejection must give.
func reason(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("reason", "a rejection must say why.")
	}
	return s, optionalText("reason", s, 2000)
}
