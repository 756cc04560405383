package sellerkit

import (
	"errors"
	"fmt"

	"github.com/souk-market/souk/protocol"
)

// Error is an answer other than success that the seller chooses: a result
// code of §5 and a message for the marketplace's message log.
type Error struct {
	Code protocol.Code
	Msg  string
}

func (e *Error) Error() string { return string(e.Code) + " " + e.Msg }

// Is makes errors.Is match any *Error of the same code, so that
// Errorf(protocol.CodeInstanceNotFound, "user %s is gone", u) is
// ErrNotFound too.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code protocol.Code, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrNotFound says the instance, licence or kit entity the call names does
// not exist. It is answered with 000003 — except by Idempotent for a
// release or a kit delete, where "already gone" is success (§7). Any
// *Error with code 000003 matches it (errors.Is), so a seller may say what
// was not found with Errorf.
var ErrNotFound = &Error{Code: protocol.CodeInstanceNotFound, Msg: "instance does not exist"}

// resultOf maps an error from decoding or from the Seller to the result
// code and message of the answer. internal is true for errors the seller did
// not mean to show: their text is logged, not sent.
func resultOf(err error) (code protocol.Code, msg string, internal bool) {
	var e *Error
	var fe *protocol.FieldError
	switch {
	case err == nil:
		return protocol.CodeSuccess, "success", false
	case errors.As(err, &e) && (!e.Code.WellFormed() || e.Code == protocol.CodeSuccess || e.Code == protocol.CodeAccepted):
		// Success and "accepted" are answers, not errors; a code that is
		// not six digits breaks the protocol. Either is the seller's bug.
		return protocol.CodeInternal, "internal error of the seller", true
	case errors.As(err, &e):
		return e.Code, e.Msg, false
	case errors.Is(err, protocol.ErrAuth):
		return protocol.CodeAuthFailed, err.Error(), false
	case errors.As(err, &fe):
		return protocol.CodeInvalidParam, "invalid parameter " + fe.Error(), false
	case errors.Is(err, protocol.ErrMalformedBody), errors.Is(err, protocol.ErrUnknownActivity),
		errors.Is(err, ErrNotSupported), errors.Is(err, errBodyTooLarge):
		return protocol.CodeInvalidParam, err.Error(), false
	}
	return protocol.CodeInternal, "internal error of the seller", true
}
