package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/souk-market/souk"
)

// maxBody caps every request body.
const maxBody = 1 << 20

// handlerFunc is a handler that returns its error for the adapter to
// render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// errorBody is every error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// adapt turns a handlerFunc into an http.Handler that renders its error.
func adapt(log *slog.Logger, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, log, err)
		}
	})
}

func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := souk.ErrorCode(err)
	if code == souk.EINTERNAL {
		log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status := souk.HTTPStatus(err)
	var body errorBody
	body.Error.Code, body.Error.Message = code, souk.ErrorMessage(err)
	writeJSON(w, status, body)
}

// writeJSON encodes v into a buffer before writing anything, so a failed
// encoding never sends half an answer.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// readJSON decodes the request body into v: JSON, at most maxBody bytes,
// one object, no unknown fields. Every failure is EINVALID with a message
// that says what is wrong.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return souk.Errorf(souk.EINVALID, "Content-Type %q: send application/json.", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		return souk.Errorf(souk.EINVALID, "The request body is empty: send a JSON object.")
	case errors.As(err, &tooBig):
		return souk.Errorf(souk.EINVALID, "The request body is larger than %d bytes.", maxBody)
	case errors.As(err, &syntax):
		return souk.Errorf(souk.EINVALID, "The request body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return souk.Errorf(souk.EINVALID, "The request body is not valid JSON (it ends too soon).")
	case errors.As(err, &typ):
		return souk.Errorf(souk.EINVALID, "%s: want a JSON %s, got %s.", fieldName(typ.Field), typ.Type.Kind(), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return souk.Errorf(souk.EINVALID, "Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return souk.Errorf(souk.EINVALID, "The request body cannot be read: %v.", err)
	}
	if dec.More() {
		return souk.Errorf(souk.EINVALID, "The request body has more than one JSON value.")
	}
	return nil
}

func fieldName(f string) string {
	if f == "" {
		return "body"
	}
	return f
}
