package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// Request is the body of one production-interface call. Each interface has
// its own type, named after it (NewInstanceRequest, TenantSyncRequest, …).
type Request interface {
	// Activity names the interface the body belongs to.
	Activity() Activity
	// Validate returns a *FieldError for the first missing or malformed
	// field, or nil.
	Validate() error
}

// FieldError says which field of a body is missing or malformed. A seller
// answers it with CodeInvalidParam.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// fields validates a body one field at a time and keeps the first problem.
type fields struct{ err *FieldError }

func (f *fields) fail(field, format string, args ...any) {
	if f.err == nil {
		f.err = &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
}

func (f *fields) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		f.fail(field, "is required")
	}
}

func (f *fields) oneOf(field, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	if value == "" {
		f.fail(field, "is required")
		return
	}
	f.fail(field, "is %q, want one of %s", value, strings.Join(allowed, ", "))
}

func (f *fields) time(field, value string) {
	if value == "" {
		f.fail(field, "is required")
	} else if _, err := ParseTime(value); err != nil {
		f.fail(field, "is %q, want yyyyMMddHHmmss", value)
	}
}

func (f *fields) flag(field string, value, max int) {
	if value < 0 || value > max {
		f.fail(field, "is %d, want 0 to %d", value, max)
	}
}

func (f *fields) result() error {
	if f.err == nil {
		return nil
	}
	return f.err
}

// ErrUnknownActivity is returned by DecodeBasic and DecodeKit for an
// interface this protocol does not define. A seller answers it with
// CodeInvalidParam.
var ErrUnknownActivity = errors.New("unknown activity")
