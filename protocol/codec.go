package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformedBody wraps every decoding failure that is not about one field:
// a body that is not JSON, or not a JSON object. A seller answers it with
// CodeInvalidParam.
var ErrMalformedBody = errors.New("malformed body")

// Encode returns the JSON body of req as it travels: basic interfaces get
// their "activity" member added, kit bodies go as they are.
func Encode(req Request) ([]byte, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", req.Activity(), err)
	}
	if req.Activity().Kit() {
		return b, nil
	}
	head := `{"activity":"` + string(req.Activity()) + `"`
	if len(b) == 2 { // {}
		return []byte(head + "}"), nil
	}
	return append([]byte(head+","), b[1:]...), nil
}

// newRequest returns an empty body of the interface a, or nil for an
// unknown one.
func newRequest(a Activity) Request {
	switch a {
	case NewInstance:
		return new(NewInstanceRequest)
	case QueryInstance:
		return new(QueryInstanceRequest)
	case RefreshInstance:
		return new(RefreshInstanceRequest)
	case UpdateInstanceStatus:
		return new(UpdateInstanceStatusRequest)
	case ReleaseInstance:
		return new(ReleaseInstanceRequest)
	case UpgradeInstance:
		return new(UpgradeInstanceRequest)
	case ChangeInstanceCheck:
		return new(ChangeInstanceCheckRequest)
	case OrderNotify:
		return new(OrderNotifyRequest)
	case RefreshLicenseCode:
		return new(RefreshLicenseCodeRequest)
	case UpdateLicenseCodeStatus:
		return new(UpdateLicenseCodeStatusRequest)
	case ReleaseLicenseCode:
		return new(ReleaseLicenseCodeRequest)
	case TenantSync:
		return new(TenantSyncRequest)
	case ApplicationSync:
		return new(ApplicationSyncRequest)
	case AuthSync:
		return new(AuthSyncRequest)
	case SingleOrgSync:
		return new(SingleOrgSyncRequest)
	case AllOrgSync:
		return new(AllOrgSyncRequest)
	}
	return nil
}

// DecodeBasic decodes the body of a call to the production URL, choosing
// the type by its "activity" member, and validates it. Unknown members are
// ignored. It returns ErrUnknownActivity for an activity that is not a basic
// or licence interface, ErrMalformedBody for a body that is not a JSON
// object, and a *FieldError for a missing or mistyped field.
func DecodeBasic(body []byte) (Request, error) {
	var probe struct {
		Activity *string `json:"activity"`
	}
	if err := unmarshal(body, &probe); err != nil {
		return nil, err
	}
	if probe.Activity == nil || *probe.Activity == "" {
		return nil, &FieldError{Field: "activity", Problem: "is required"}
	}
	a := Activity(*probe.Activity)
	if a.Kit() {
		return nil, fmt.Errorf("%w %q on the production URL: kit interfaces are sent to %s%s", ErrUnknownActivity, a, KitPathPrefix, a)
	}
	return decodeAs(a, body)
}

// DecodeKit decodes the body of the kit interface name (the last element of
// the /produceAPI/v2/ path) and validates it, with the errors of DecodeBasic.
func DecodeKit(name string, body []byte) (Request, error) {
	if a := Activity(name); !a.Kit() {
		return nil, fmt.Errorf("%w %q: want one of tenantSync, applicationSync, authSync, singleOrgSync, allOrgSync", ErrUnknownActivity, name)
	}
	return decodeAs(Activity(name), body)
}

func decodeAs(a Activity, body []byte) (Request, error) {
	req := newRequest(a)
	if req == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownActivity, a)
	}
	if err := unmarshal(body, req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

// unmarshal decodes a JSON object into v and says what is wrong with a body
// that does not decode, in terms of the wire rather than Go.
func unmarshal(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("%w: want a JSON object", ErrMalformedBody)
	}
	err := json.Unmarshal(trimmed, v)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		// encoding/json names the Go type of an embedded struct too.
		field := strings.TrimPrefix(typeErr.Field, "KitCommon.")
		if field == "" {
			field = "body"
		}
		return &FieldError{Field: field, Problem: "has the wrong type: got JSON " + typeErr.Value}
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("%w: invalid JSON at byte %d: %v", ErrMalformedBody, syntaxErr.Offset, syntaxErr)
	default:
		return &FieldError{Field: "body", Problem: err.Error()}
	}
}
