package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// Target is where and how one product's calls go.
type Target struct {
	// URL is the product's production URL; kit calls go under it.
	URL string
	// AccessKey signs the calls (and checks Body-Sign).
	AccessKey string
	// Timeout is the product's call timeout; 0 means Profile.CallTimeout.
	// It is capped at Profile.MaxCallTimeout.
	Timeout time.Duration
	// VerifyResponse requires a valid Body-Sign on every answer (§2.3).
	VerifyResponse bool
}

// Client signs and sends production-interface calls and classifies what
// comes back. One Client is shared by all calls: its HTTP transport keeps
// connections alive per seller. It never follows redirects.
type Client struct {
	HTTP    *http.Client
	Profile Profile
	Now     func() time.Time
}

// NewClient returns a Client with its own keep-alive transport, sized for
// maxConnsPerHost concurrent calls to one seller.
func NewClient(p Profile, now func() time.Time, maxConnsPerHost int) *Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   maxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &Client{
		HTTP: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		Profile: p,
		Now:     now,
	}
}

// Send encodes req, signs it afresh and sends it to t. Every call to Send is
// a new attempt with a new timestamp and nonce.
func (c *Client) Send(ctx context.Context, t Target, req Request) *Outcome {
	body, err := Encode(req)
	if err != nil {
		return &Outcome{Activity: req.Activity(), Kind: OutcomeBadRequest, Err: err}
	}
	return c.SendBody(ctx, t, req.Activity(), body)
}

// SendBody signs and sends an already encoded body of activity a, as when a
// stored call is re-invoked.
func (c *Client) SendBody(ctx context.Context, t Target, a Activity, body []byte) *Outcome {
	hreq, err := c.NewHTTPRequest(ctx, t, a, body)
	if err != nil {
		return &Outcome{Activity: a, RequestBody: body, Kind: OutcomeBadRequest, Err: err}
	}
	return c.Do(t, a, hreq)
}

// NewHTTPRequest builds the signed HTTP request of one attempt: the query
// signature for basic interfaces, the x-sign headers and sub-path for kit
// interfaces.
func (c *Client) NewHTTPRequest(ctx context.Context, t Target, a Activity, body []byte) (*http.Request, error) {
	now := c.Now()
	url := KitURL(t.URL, a)
	if !a.Kit() {
		var err error
		if url, err = c.Profile.SignedURL(t.URL, t.AccessKey, body, now); err != nil {
			return nil, err
		}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("production URL: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json;charset=UTF-8")
	if a.Kit() {
		ts, nonce := Timestamp(now), c.Profile.NewNonce()
		hreq.Header.Set(HeaderSign, SignKit(t.AccessKey, nonce, ts, body))
		hreq.Header.Set(HeaderTimestamp, ts)
		hreq.Header.Set(HeaderNonce, nonce)
	}
	return hreq, nil
}

// Do sends a prepared request of activity a (from NewHTTPRequest, possibly
// altered, as the conformance checker does) under t's timeout and classifies
// the outcome.
func (c *Client) Do(t Target, a Activity, hreq *http.Request) *Outcome {
	o := &Outcome{Activity: a, URL: hreq.URL.String()}
	if hreq.GetBody != nil {
		if rc, err := hreq.GetBody(); err == nil {
			o.RequestBody, _ = io.ReadAll(rc)
		}
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = c.Profile.CallTimeout
	}
	timeout = min(timeout, c.Profile.MaxCallTimeout)
	ctx, cancel := context.WithTimeout(hreq.Context(), timeout)
	defer cancel()

	start := time.Now() // latency is wall time, whatever the injected clock says
	resp, err := c.HTTP.Do(hreq.WithContext(ctx))
	if err != nil {
		o.Latency = time.Since(start)
		return o.failTransport(ctx, err, timeout)
	}
	defer resp.Body.Close()
	o.HTTPStatus = resp.StatusCode
	o.ContentType = resp.Header.Get("Content-Type")
	o.ResponseBody, err = io.ReadAll(io.LimitReader(resp.Body, c.Profile.MaxResponseBody+1))
	o.Latency = time.Since(start)
	if err != nil {
		return o.failTransport(ctx, err, timeout)
	}
	return o.classify(c.Profile, t, resp.Header.Get(HeaderBodySign), resp.Header.Get("Location"))
}

func (o *Outcome) failTransport(ctx context.Context, err error, timeout time.Duration) *Outcome {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		o.Kind, o.Err = OutcomeTimeout, fmt.Errorf("no answer within %s", timeout)
		return o
	}
	o.Kind, o.Err = OutcomeTransport, transportError(err)
	return o
}

func (o *Outcome) classify(p Profile, t Target, bodySign, location string) *Outcome {
	bad := func(format string, args ...any) *Outcome {
		o.Kind, o.Err = OutcomeBadResponse, fmt.Errorf(format, args...)
		return o
	}
	switch {
	case o.HTTPStatus >= 300 && o.HTTPStatus < 400:
		return bad("HTTP %d redirect to %q, not followed: answer the production URL itself", o.HTTPStatus, location)
	case o.HTTPStatus != http.StatusOK:
		return bad("HTTP %d, want 200", o.HTTPStatus)
	case int64(len(o.ResponseBody)) > p.MaxResponseBody:
		o.ResponseBody = o.ResponseBody[:p.MaxResponseBody]
		return bad("response body larger than %d bytes", p.MaxResponseBody)
	}
	if mt, _, err := mime.ParseMediaType(o.ContentType); p.StrictContentType && (err != nil || mt != "application/json") {
		return bad("Content-Type %q, want application/json", o.ContentType)
	}
	var r Result
	if err := json.Unmarshal(o.ResponseBody, &r); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return bad("response member %s is JSON %s, want a string", typeErr.Field, typeErr.Value)
		}
		return bad("response is not a JSON object: %v", err)
	}
	o.ResultCode, o.ResultMsg = r.ResultCode, r.ResultMsg
	switch {
	case r.ResultCode == "":
		return bad("response has no resultCode")
	case !r.ResultCode.WellFormed():
		return bad("resultCode %q is not six digits", r.ResultCode)
	}
	if t.VerifyResponse {
		if err := VerifyResponse(bodySign, o.ResponseBody, t.AccessKey); err != nil {
			return bad("%v", err)
		}
	}
	switch r.ResultCode {
	case CodeSuccess:
		o.Kind = OutcomeSuccess
	case CodeAccepted:
		o.Kind = OutcomeAccepted
	default:
		o.Kind = OutcomeRejected
		o.Err = fmt.Errorf("resultCode %s (%s): %s", r.ResultCode, r.ResultCode.Meaning(), r.ResultMsg)
	}
	return o
}

// transportError says in plain words why no answer came, without the
// request URL (its query carries the signature and nonce) that net/http
// puts in front of every error.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connection refused: nothing listens at the production URL (%w)", err)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("connection reset by the seller's server (%w)", err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the seller's server closed the connection without a complete answer (%w)", err)
	}
	return err
}
