package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/delivery"
	"github.com/souk-market/souk/protocol"
)

// Production interface messages (marketplace.md §5): every call the
// marketplace owes a seller, with every attempt, as the seller centre and
// the operator console show them, and their re-invocation. A seller's
// members see their own seller's calls; operators see all; anyone else
// nothing.

// messageQuery describes the filters of GET /messages.
var messageQuery = []string{
	"productId: only calls about this product",
	"activity: only calls of this interface (newInstance, refreshInstance, …)",
	"state: pending, in_flight, retrying, succeeded, exhausted, superseded or awaiting_decision",
	"problems: true for the calls that need attention (retrying, exhausted, awaiting a decision)",
	"limit: page size, at most 500 (50 by default)",
	"before: the last id of the previous page",
}

type callView struct {
	ID        int64  `json:"id"`
	SellerID  string `json:"sellerId"`
	ProductID string `json:"productId"`
	// Key is the instance, licence or enterprise the call concerns.
	Key      string `json:"key"`
	Activity string `json:"activity"`
	Policy   string `json:"policy"`
	// State is pending, in_flight, retrying, succeeded, exhausted,
	// superseded or awaiting_decision.
	State       string          `json:"state"`
	Attempts    int             `json:"attempts"`
	Request     json.RawMessage `json:"request"`
	NextAt      *time.Time      `json:"nextAt,omitempty"`
	FirstAt     *time.Time      `json:"firstAt,omitempty"`
	LastOutcome string          `json:"lastOutcome,omitempty"`
	LastCode    string          `json:"lastCode,omitempty"`
	LastError   string          `json:"lastError,omitempty"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
	FinishedAt  *time.Time      `json:"finishedAt,omitempty"`
}

type attemptView struct {
	N          int       `json:"n"`
	Node       string    `json:"node"`
	Activity   string    `json:"activity"`
	StartedAt  time.Time `json:"startedAt"`
	LatencyMS  int64     `json:"latencyMs"`
	URL        string    `json:"url"`
	Request    string    `json:"request"`
	HTTPStatus int       `json:"httpStatus,omitempty"`
	// Outcome is success, accepted, rejected, transport_failure, timeout,
	// bad_response or bad_request.
	Outcome    string `json:"outcome"`
	ResultCode string `json:"resultCode,omitempty"`
	ResultMsg  string `json:"resultMsg,omitempty"`
	Response   string `json:"response,omitempty"`
	Error      string `json:"error,omitempty"`
	// Next says what happened next, in words.
	Next string `json:"next"`
}

type reinvocationView struct {
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

type messageView struct {
	Call          callView           `json:"call"`
	Attempts      []attemptView      `json:"attempts"`
	Reinvocations []reinvocationView `json:"reinvocations"`
}

type reinvokeRequest struct {
	// Reason says why, for the audit trail (required).
	Reason string `json:"reason"`
}

func viewCall(c *delivery.Call) callView {
	req := json.RawMessage(c.Body)
	if !json.Valid(req) {
		req = json.RawMessage("null")
	}
	return callView{ID: c.ID, SellerID: c.SellerID, ProductID: c.ProductID, Key: c.Key, Activity: string(c.Activity), Policy: c.Policy,
		State: string(c.State), Attempts: c.Attempts, Request: req, NextAt: timeOrNil(c.NextAt), FirstAt: timeOrNil(c.FirstAt),
		LastOutcome: string(c.LastOutcome), LastCode: string(c.LastCode), LastError: c.LastError,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, FinishedAt: timeOrNil(c.FinishedAt)}
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	seller, err := delivery.MessageScope(actorOf(r))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := delivery.CallFilter{SellerID: seller, ProductID: q.Get("productId"), Activity: protocol.Activity(q.Get("activity")),
		State: delivery.State(q.Get("state")), Problems: q.Get("problems") == "true"}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			return souk.Errorf(souk.EINVALID, "limit: want a positive integer, not %q.", v)
		}
	}
	if v := q.Get("before"); v != "" {
		if f.BeforeID, err = strconv.ParseInt(v, 10, 64); err != nil || f.BeforeID < 1 {
			return souk.Errorf(souk.EINVALID, "before: want a message id, not %q.", v)
		}
	}
	calls, err := delivery.ListCalls(r.Context(), s.db, f)
	if err != nil {
		return err
	}
	out := make([]callView, len(calls))
	for i, c := range calls {
		out[i] = viewCall(c)
	}
	return writeJSON(w, http.StatusOK, out)
}

// messageID reads the {id} of a message route.
func messageID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, souk.Errorf(souk.ENOTFOUND, "Message %s not found.", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	seller, err := delivery.MessageScope(actorOf(r))
	if err != nil {
		return err
	}
	id, err := messageID(r)
	if err != nil {
		return err
	}
	m, err := delivery.GetMessage(r.Context(), s.db, id, seller)
	if err != nil {
		return err
	}
	v := messageView{Call: viewCall(m.Call), Attempts: make([]attemptView, len(m.Attempts)), Reinvocations: make([]reinvocationView, len(m.Reinvocations))}
	for i, a := range m.Attempts {
		v.Attempts[i] = attemptView{N: a.N, Node: a.Node, Activity: string(a.Activity), StartedAt: a.StartedAt, LatencyMS: a.Latency.Milliseconds(),
			URL: a.URL, Request: string(a.Request), HTTPStatus: a.HTTPStatus, Outcome: string(a.Outcome), ResultCode: string(a.ResultCode),
			ResultMsg: a.ResultMsg, Response: string(a.Response), Error: a.Error, Next: a.Next}
	}
	for i, re := range m.Reinvocations {
		v.Reinvocations[i] = reinvocationView{Actor: re.Actor, Reason: re.Reason, At: re.At}
	}
	return writeJSON(w, http.StatusOK, v)
}

// reinvoker is what re-invokes calls: *delivery.Engine.
type reinvoker interface {
	Reinvoke(ctx context.Context, callID int64, who delivery.Actor, reason string) error
}

func (s *Server) reinvokeMessage(w http.ResponseWriter, r *http.Request) error {
	who, err := delivery.ReinvokerOf(actorOf(r))
	if err != nil {
		return err
	}
	id, err := messageID(r)
	if err != nil {
		return err
	}
	var req reinvokeRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	eng, ok := s.orders.(reinvoker)
	if !ok {
		return souk.Errorf(souk.EINTERNAL, "No delivery engine is configured to re-invoke calls.")
	}
	if err := eng.Reinvoke(r.Context(), id, who, req.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
