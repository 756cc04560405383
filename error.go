package souk

import (
	"errors"
	"fmt"
)

// Error codes: a small closed set. Each maps to one HTTP status in the API
// layer; anything without a code is an internal error.
const (
	ECONFLICT        = "conflict"
	EINTERNAL        = "internal"
	EINVALID         = "invalid"
	ENOTFOUND        = "not_found"
	EUNAUTHORIZED    = "unauthorized"
	EUNAUTHENTICATED = "unauthenticated"
)

// Error is an error the marketplace means to show to its caller: a code from
// the set above and a message written for a person.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("souk error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// EINTERNAL otherwise; nil has no code.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err if it is (or wraps) an *Error and
// "Internal error." otherwise, so that internal details never reach a user.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// HTTPStatus returns the HTTP status that err's code answers with, in the
// JSON API and the web console alike: the one table of it. An error
// without a code is a 500.
func HTTPStatus(err error) int {
	switch ErrorCode(err) {
	case EINVALID:
		return 400
	case EUNAUTHENTICATED:
		return 401
	case EUNAUTHORIZED:
		return 403
	case ENOTFOUND:
		return 404
	case ECONFLICT:
		return 409
	}
	return 500
}
