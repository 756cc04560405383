package protocol

import (
	"encoding/json"
	"fmt"
	"time"
)

// OutcomeKind classifies what happened to one attempt.
type OutcomeKind string

const (
	// OutcomeSuccess: HTTP 200, JSON, resultCode 000000.
	OutcomeSuccess OutcomeKind = "success"
	// OutcomeAccepted: resultCode 000004, the seller is still processing
	// (poll queryInstance).
	OutcomeAccepted OutcomeKind = "accepted"
	// OutcomeRejected: a well-formed answer with another result code, a
	// business failure; ResultCode says which.
	OutcomeRejected OutcomeKind = "rejected"
	// OutcomeTransport: no HTTP answer (refused, reset, DNS, TLS).
	OutcomeTransport OutcomeKind = "transport_failure"
	// OutcomeTimeout: no complete answer within the timeout.
	OutcomeTimeout OutcomeKind = "timeout"
	// OutcomeBadResponse: an answer that breaks §1 (status, content type,
	// not JSON, no resultCode, too large, bad Body-Sign, redirect).
	OutcomeBadResponse OutcomeKind = "bad_response"
	// OutcomeBadRequest: the call could not be built (bad URL, encoding).
	OutcomeBadRequest OutcomeKind = "bad_request"
)

// Outcome is the record of one attempt: what was sent, what came back, how
// long it took and what it means. Every field is filled as far as the
// attempt got.
type Outcome struct {
	Kind         OutcomeKind
	Activity     Activity
	URL          string
	RequestBody  []byte
	HTTPStatus   int
	ContentType  string
	ResultCode   Code
	ResultMsg    string
	ResponseBody []byte
	Latency      time.Duration
	// Err says precisely what went wrong; nil for success and accepted.
	Err error
}

// OK reports whether the attempt succeeded (000000).
func (o *Outcome) OK() bool { return o.Kind == OutcomeSuccess }

// Decode decodes the answer into a typed response such as
// *NewInstanceResponse.
func (o *Outcome) Decode(v any) error {
	if len(o.ResponseBody) == 0 {
		return fmt.Errorf("%s: no response body", o.Activity)
	}
	if err := json.Unmarshal(o.ResponseBody, v); err != nil {
		return fmt.Errorf("%s response: %w", o.Activity, err)
	}
	return nil
}

// String summarises the outcome in one line, for logs and reports.
func (o *Outcome) String() string {
	if o.Err != nil {
		return fmt.Sprintf("%s %s after %s: %v", o.Activity, o.Kind, o.Latency.Round(time.Millisecond), o.Err)
	}
	return fmt.Sprintf("%s %s (%s) after %s", o.Activity, o.Kind, o.ResultCode, o.Latency.Round(time.Millisecond))
}
