package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/souk-market/souk/protocol"
)

// step is one case: it makes its calls and returns its verdict. Run fills
// in the name, group and activity, and skips it when it cannot run.
type step struct {
	group    string
	name     string
	activity protocol.Activity
	// needsInstance: the case works on the instance newInstance returned.
	needsInstance bool
	// after names a case that must have passed for this one to mean
	// anything: a repeat of a call that failed proves nothing.
	after string
	// unskippable: Config.Skip does not apply (the security cases merely
	// borrow an interface to be refused on).
	unskippable bool
	run         func(c *checker) Result
}

// plan returns the cases of cfg, in the order they run. The order matters:
// the basic lifecycle runs first to get an instance, the security cases
// query that instance, and releaseInstance comes last but for the transport
// summary, once everything that needs the instance is done.
func plan(cfg *Config) []step {
	steps := basicSteps()
	steps = append(steps, securitySteps()...)
	if cfg.License {
		steps = append(steps, licenceSteps()...)
	}
	if cfg.Kit {
		steps = append(steps, kitSteps()...)
	}
	steps = append(steps, releaseSteps()...)
	return append(steps, transportSteps()...)
}

// Cases returns the names of the cases Run would run with cfg, in order.
func Cases(cfg Config) []string {
	var names []string
	for _, s := range plan(&cfg) {
		names = append(names, s.name)
	}
	return names
}

// checker is the state of one run: the ids it made up, what the seller
// returned so far, and every call made (for the transport summary).
type checker struct {
	ctx    context.Context
	cfg    Config
	client *protocol.Client
	target protocol.Target
	start  time.Time

	// Fresh ids for this run, so that runs never see each other's orders.
	suffix      string
	orderID     string
	orderLineID string
	expireTime  string

	// What newInstance returned.
	instanceID  string
	frontEndURL string

	// clientSecret is the applicationSync secret, encrypted once a run.
	clientSecret string
	// buildErr is set by the rare request builder that can fail (the
	// clientSecret encryption), so that the others stay simple.
	buildErr error

	calls []*protocol.Outcome
	// status of every case run so far, by name.
	status map[string]Status
}

// Run checks the seller described by cfg and returns the report. It never
// fails as a whole: a Config that does not validate gives a report with one
// failed "config" case, and a cancelled ctx skips the cases not yet run.
func Run(ctx context.Context, cfg Config) *Report {
	cfg = cfg.withDefaults()
	c := &checker{
		ctx:    ctx,
		cfg:    cfg,
		client: cfg.Client,
		target: protocol.Target{URL: cfg.URL, AccessKey: cfg.Key, Timeout: cfg.Timeout},
		start:  time.Now(),
		suffix: randomHex(6),
		status: map[string]Status{},
	}
	c.orderID = "DEBUG-ORDER-" + c.suffix
	c.orderLineID = "DEBUG-LINE-" + c.suffix
	c.expireTime = protocol.FormatTime(cfg.Now().AddDate(1, 0, 0))

	rep := &Report{URL: cfg.URL, Started: c.start}
	if err := cfg.Validate(); err != nil {
		rep.Results = []Result{{Case: "config", Status: Fail, Detail: err.Error()}}
		return rep
	}
	steps := plan(&cfg)
	for i, s := range steps {
		r := c.runStep(s)
		r.Case, r.Group, r.Activity = s.name, s.group, s.activity
		c.status[s.name] = r.Status
		rep.Results = append(rep.Results, r)
		if cfg.Progress != nil {
			cfg.Progress(i+1, len(steps), r)
		}
	}
	rep.Duration = time.Since(c.start)
	return rep
}

func (c *checker) runStep(s step) Result {
	switch {
	case c.ctx.Err() != nil:
		return Result{Status: Skip, Detail: "check interrupted: " + c.ctx.Err().Error()}
	case !s.unskippable && slices.Contains(c.cfg.Skip, s.activity):
		return Result{Status: Skip, Detail: fmt.Sprintf("%s is listed in skip: optional interface not offered", s.activity)}
	case s.needsInstance && c.instanceID == "":
		return Result{Status: Skip, Detail: "needs a working newInstance"}
	case s.after != "" && c.status[s.after] != Pass:
		return Result{Status: Skip, Detail: "needs a working " + s.after}
	}
	return s.run(c)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// newID returns a fresh id with a readable prefix, for businessId and the
// like that must be new on every call.
func newID(prefix string) string { return prefix + "-" + randomHex(6) }

// The calls. Every one is recorded for the transport summary.

func (c *checker) record(o *protocol.Outcome) *protocol.Outcome {
	c.calls = append(c.calls, o)
	return o
}

// send encodes, signs and sends req, as the marketplace would.
func (c *checker) send(req protocol.Request) *protocol.Outcome {
	return c.record(c.client.Send(c.ctx, c.target, req))
}

// sendBody signs and sends a hand-made body, for bodies the typed requests
// cannot express (a missing field, an unknown activity).
func (c *checker) sendBody(a protocol.Activity, body []byte) *protocol.Outcome {
	return c.record(c.client.SendBody(c.ctx, c.target, a, body))
}

// signed returns the signed HTTP request of req, for the security cases to
// tamper with before do sends it.
func (c *checker) signed(client *protocol.Client, req protocol.Request) (*http.Request, error) {
	body, err := protocol.Encode(req)
	if err != nil {
		return nil, err
	}
	return client.NewHTTPRequest(c.ctx, c.target, req.Activity(), body)
}

// do sends a prepared request. The request may be sent again (a replay):
// each send gets its own copy of the body.
func (c *checker) do(a protocol.Activity, hreq *http.Request) *protocol.Outcome {
	again := hreq.Clone(c.ctx)
	if hreq.GetBody != nil {
		again.Body, _ = hreq.GetBody()
	}
	return c.record(c.client.Do(c.target, a, again))
}

// Verdicts.

// problem says what is wrong with an answer that is not success: the
// Outcome's error verbatim for a broken answer (§1), or the result code
// and message for a well-formed refusal.
func problem(o *protocol.Outcome) string {
	switch o.Kind {
	case protocol.OutcomeAccepted:
		return fmt.Sprintf("answered %s (%s)", o.ResultCode, o.ResultCode.Meaning())
	case protocol.OutcomeRejected:
		s := fmt.Sprintf("answered %s", o.ResultCode)
		if m := o.ResultCode.Meaning(); m != "" {
			s += " (" + m + ")"
		}
		if o.ResultMsg != "" {
			s += ": " + o.ResultMsg
		}
		return s
	case protocol.OutcomeSuccess:
		return "answered 000000 (success)"
	}
	return o.Err.Error()
}

// wellFormed reports whether the seller answered per §1 (HTTP 200, JSON,
// a resultCode), whatever the code.
func wellFormed(o *protocol.Outcome) bool {
	switch o.Kind {
	case protocol.OutcomeSuccess, protocol.OutcomeAccepted, protocol.OutcomeRejected:
		return true
	}
	return false
}

// result starts a Result from the call that decides it.
func (c *checker) result(o *protocol.Outcome, s Status, detail string) Result {
	if w := c.slowness(o); w != "" {
		if detail != "" {
			detail += "; "
		}
		detail += w
	}
	return Result{Status: s, Detail: detail, Latency: o.Latency, ResultCode: o.ResultCode}
}

// slowness warns about an answer that took more than half the timeout:
// it passes today and times out on a bad day.
func (c *checker) slowness(o *protocol.Outcome) string {
	if o.Kind == protocol.OutcomeTimeout || o.Latency <= c.cfg.Timeout/2 {
		return ""
	}
	return fmt.Sprintf("slow: answered in %s, over half the %s timeout", o.Latency.Round(time.Millisecond), c.cfg.Timeout)
}

// expectSuccess passes a call that answered 000000. why is the rule the
// call is held to, quoted in the failure ("a repeat must succeed, spec §7").
func (c *checker) expectSuccess(o *protocol.Outcome, why string) Result {
	if o.OK() {
		return c.result(o, Pass, "")
	}
	return c.result(o, Fail, c.failure(o, why))
}

// failure describes a call that should have succeeded and did not.
func (c *checker) failure(o *protocol.Outcome, why string) string {
	if !wellFormed(o) {
		return problem(o)
	}
	msg := problem(o) + ", want 000000"
	if why != "" {
		msg += " (" + why + ")"
	}
	switch {
	case o.ResultCode == protocol.CodeAuthFailed:
		msg += "; the call was signed correctly: is the access key the one the seller is configured with?"
	case o.ResultCode == protocol.CodeInvalidParam && !slices.Contains(required, o.Activity):
		msg += fmt.Sprintf("; if the product does not offer %s, list it in skip", o.Activity)
	case o.ResultCode == protocol.CodeInstanceNotFound && slices.Contains(licenceActivities, o.Activity):
		msg += "; a debug call (testFlag 1) carries a licence code the seller has never seen and must still succeed"
	}
	return msg
}

// expectCode passes a call that answered exactly want. what names the
// call ("bad signature") and ref the rule ("spec §2.1").
func (c *checker) expectCode(o *protocol.Outcome, want protocol.Code, what, ref string) Result {
	wantText := fmt.Sprintf("want %s (%s, %s)", want, want.Meaning(), ref)
	switch {
	case !wellFormed(o):
		return c.result(o, Fail, problem(o))
	case o.ResultCode == want:
		return c.result(o, Pass, "")
	case o.Kind == protocol.OutcomeSuccess || o.Kind == protocol.OutcomeAccepted:
		return c.result(o, Fail, fmt.Sprintf("%s was accepted (answered %s), %s", what, o.ResultCode, wantText))
	}
	return c.result(o, Fail, fmt.Sprintf("%s %s, %s", what, problem(o), wantText))
}

// skipped is the verdict of a case that could not be checked.
func skipped(detail string) Result { return Result{Status: Skip, Detail: detail} }
