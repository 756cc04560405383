package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/souk-market/souk/protocol"
)

// Status is the verdict of one case.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Groups of cases, as reported in Result.Group.
const (
	GroupBasic     = "basic"
	GroupLicence   = "licence"
	GroupSecurity  = "security"
	GroupKit       = "kit"
	GroupTransport = "transport"
)

// Result is the verdict of one case.
type Result struct {
	// Case names the case, unique within a run: "newInstance repeat".
	Case  string `json:"case"`
	Group string `json:"group"`
	// Activity is the interface the case calls; empty for the transport
	// summary.
	Activity protocol.Activity `json:"activity,omitempty"`
	Status   Status            `json:"status"`
	// Detail says what was wrong for a failure, why for a skip, and what
	// was seen (or a slowness warning) for a pass.
	Detail string `json:"detail,omitempty"`
	// Latency is the wall time of the call that decided the case.
	Latency time.Duration `json:"-"`
	// ResultCode is what that call answered, if it got that far.
	ResultCode protocol.Code `json:"resultCode,omitempty"`
}

// resultJSON is Result on the wire: the latency as a Go duration string
// ("12.345ms"), readable and exact.
type resultJSON struct {
	resultAlias
	Latency string `json:"latency,omitempty"`
}

type resultAlias Result

// MarshalJSON writes the latency as a duration string.
func (r Result) MarshalJSON() ([]byte, error) {
	j := resultJSON{resultAlias: resultAlias(r)}
	if r.Latency != 0 {
		j.Latency = r.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j resultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result(j.resultAlias)
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil {
			return fmt.Errorf("result %q: latency: %w", r.Case, err)
		}
		r.Latency = d
	}
	return nil
}

// Report is the outcome of one Run.
type Report struct {
	URL      string
	Started  time.Time
	Duration time.Duration
	Results  []Result
}

func (r *Report) count(s Status) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == s {
			n++
		}
	}
	return n
}

// Passed, Failed and Skipped count the results with that status.
func (r *Report) Passed() int  { return r.count(Pass) }
func (r *Report) Failed() int  { return r.count(Fail) }
func (r *Report) Skipped() int { return r.count(Skip) }

// OK reports whether no case failed.
func (r *Report) OK() bool { return r.Failed() == 0 }

// Failures returns the failed results.
func (r *Report) Failures() []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Status == Fail {
			out = append(out, res)
		}
	}
	return out
}

// Result returns the result of the named case.
func (r *Report) Result(name string) (Result, bool) {
	for _, res := range r.Results {
		if res.Case == name {
			return res, true
		}
	}
	return Result{}, false
}

// Summary is the one-line tally: "24 passed, 1 failed, 2 skipped".
func (r *Report) Summary() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", r.Passed(), r.Failed(), r.Skipped())
}

// WriteText writes an aligned table, one case a line, then the summary.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "#\tGROUP\tCASE\tSTATUS\tLATENCY\tCODE\tDETAIL\n")
	for i, res := range r.Results {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, res.Group, res.Case, res.Status,
			latencyText(res.Latency), orDash(string(res.ResultCode)), oneLine(res.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s: %s in %s\n", r.URL, r.Summary(), r.Duration.Round(time.Millisecond))
	return err
}

func latencyText(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a detail on its table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// reportJSON is Report on the wire, with the tallies for readers such as jq.
type reportJSON struct {
	URL      string    `json:"url"`
	Started  time.Time `json:"started"`
	Duration string    `json:"duration"`
	Passed   int       `json:"passed"`
	Failed   int       `json:"failed"`
	Skipped  int       `json:"skipped"`
	Results  []Result  `json:"results"`
}

// MarshalJSON writes the report with its tallies.
func (r *Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(reportJSON{
		URL: r.URL, Started: r.Started, Duration: r.Duration.String(),
		Passed: r.Passed(), Failed: r.Failed(), Skipped: r.Skipped(),
		Results: r.Results,
	})
}

// UnmarshalJSON reads what MarshalJSON writes; the tallies are recomputed.
func (r *Report) UnmarshalJSON(b []byte) error {
	var j reportJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	d, err := time.ParseDuration(j.Duration)
	if err != nil {
		return fmt.Errorf("report duration: %w", err)
	}
	*r = Report{URL: j.URL, Started: j.Started, Duration: d, Results: j.Results}
	return nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// JUnit XML, the format CI systems show test results in.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Skipped   *junitMessage `xml:"skipped"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the report as JUnit XML: one testsuite, one testcase
// per case, with failure and skipped elements.
func (r *Report) WriteJUnit(w io.Writer) error {
	suite := junitSuite{
		Name:  "souk seller check " + r.URL,
		Tests: len(r.Results), Failures: r.Failed(), Skipped: r.Skipped(),
		Time: seconds(r.Duration), Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05"),
	}
	for _, res := range r.Results {
		c := junitCase{ClassName: "conformance." + res.Group, Name: res.Case, Time: seconds(res.Latency)}
		switch res.Status {
		case Fail:
			text := res.Detail
			if res.Activity != "" {
				text += fmt.Sprintf("\nactivity: %s", res.Activity)
			}
			if res.ResultCode != "" {
				text += fmt.Sprintf("\nresultCode: %s", res.ResultCode)
			}
			c.Failure = &junitMessage{Message: res.Detail, Type: "fail", Text: text}
		case Skip:
			c.Skipped = &junitMessage{Message: res.Detail}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
