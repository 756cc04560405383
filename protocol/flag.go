package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
)

// Real peers send testFlag and flag sometimes as JSON strings and sometimes
// as numbers (profile). StringFlag and NumberFlag both accept either form and
// hold a small integer; they differ only in the form they send.

// StringFlag is sent as a JSON string ("1"), the documented form of the
// basic interfaces' testFlag.
type StringFlag int

// NumberFlag is sent as a JSON number (1), the documented form of the kit
// interfaces' testFlag and flag.
type NumberFlag int

// MarshalJSON sends the flag as a string.
func (f StringFlag) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.Itoa(int(f)) + `"`), nil
}

// UnmarshalJSON accepts a string or a number.
func (f *StringFlag) UnmarshalJSON(b []byte) error {
	n, err := parseFlag(b, reflect.TypeFor[StringFlag]())
	*f = StringFlag(n)
	return err
}

// UnmarshalJSON accepts a string or a number.
func (f *NumberFlag) UnmarshalJSON(b []byte) error {
	n, err := parseFlag(b, reflect.TypeFor[NumberFlag]())
	*f = NumberFlag(n)
	return err
}

// parseFlag returns a *json.UnmarshalTypeError for a bad flag, so that
// encoding/json names the field it came from (Decode's *FieldError).
func parseFlag(b []byte, typ reflect.Type) (int, error) {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return 0, nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = bytes.TrimSpace(b[1 : len(b)-1])
		if len(b) == 0 {
			return 0, nil
		}
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 || n > 9 {
		return 0, &json.UnmarshalTypeError{Value: fmt.Sprintf("%.20s, want a flag 0-9 as a number or a string", b), Type: typ}
	}
	return n, nil
}

// Kit flag values (§4).
const (
	FlagDelete = 0
	FlagAdd    = 1
	FlagModify = 2
	FlagRevoke = 3 // authSync only: revoke authorisation
)
