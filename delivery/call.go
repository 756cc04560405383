package delivery

import (
	"time"

	"github.com/souk-market/souk/protocol"
)

// State is where a call is in its life.
type State string

const (
	Pending          State = "pending"           // waiting for its first attempt, or re-invoked
	InFlight         State = "in_flight"         // claimed by a node, being sent
	Retrying         State = "retrying"          // failed, waiting for its next attempt (or polling)
	Succeeded        State = "succeeded"         // done
	Exhausted        State = "exhausted"         // the policy gave up; re-invokable
	Superseded       State = "superseded"        // made pointless by a later call; never sent again
	AwaitingDecision State = "awaiting_decision" // failed kit sync; a person decides
)

// Finished reports whether s is a state no automatic step leaves.
func (s State) Finished() bool {
	switch s {
	case Succeeded, Exhausted, Superseded, AwaitingDecision:
		return true
	}
	return false
}

// Call is one production-interface call the marketplace owes a seller.
type Call struct {
	ID        int64
	SellerID  string
	ProductID string
	// Key is the instance, licence or enterprise the call concerns; calls
	// of one key are delivered in ID order.
	Key      string
	Activity protocol.Activity
	Body     []byte
	Policy   string
	State    State
	// PollID is the instance being polled with queryInstance after
	// newInstance answered 000004.
	PollID   string
	Attempts int
	// StageStart is Attempts when the current policy stage began: 0, or
	// the count at the last re-invocation.
	StageStart  int
	NextAt      time.Time
	FirstAt     time.Time // zero before the first attempt
	LastOutcome protocol.OutcomeKind
	LastCode    protocol.Code
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  time.Time
}

// Attempt is one try of a call: one production interface message.
type Attempt struct {
	ID         int64
	CallID     int64
	N          int
	Node       string // the engine node that made the attempt
	Activity   protocol.Activity
	StartedAt  time.Time
	Latency    time.Duration
	URL        string
	Request    []byte
	HTTPStatus int
	Outcome    protocol.OutcomeKind
	ResultCode protocol.Code
	ResultMsg  string
	Response   []byte
	Error      string
	// Next says what happens next, in words.
	Next string
}
