package conformance

import (
	"fmt"
	"strings"
	"time"

	"github.com/souk-market/souk/protocol"
)

// §1 applies to every answer, so every case already fails on a broken one
// with the Outcome's error. The transport case sums up all the calls of
// the run: it is the line to read when asking "is the seller's HTTP side
// sound?", and it counts the polls and tampered calls no other case shows.

// maxListed bounds how many distinct problems the summary quotes.
const maxListed = 3

func transportSteps() []step {
	return []step{{
		group: GroupTransport, name: "HTTP 200 JSON within timeout", unskippable: true,
		run: (*checker).transportSummary,
	}}
}

func (c *checker) transportSummary() Result {
	if len(c.calls) == 0 {
		return skipped("no calls were made")
	}
	var problems []string
	seen := map[string]bool{}
	bad, slow := 0, 0
	slowest := c.calls[0]
	for _, o := range c.calls {
		if o.Latency > slowest.Latency {
			slowest = o
		}
		if o.Latency > c.cfg.Timeout/2 && o.Kind != protocol.OutcomeTimeout {
			slow++
		}
		switch o.Kind {
		case protocol.OutcomeSuccess, protocol.OutcomeAccepted, protocol.OutcomeRejected:
			continue
		}
		bad++
		p := fmt.Sprintf("%s: %v", o.Activity, o.Err)
		if !seen[p] {
			seen[p] = true
			problems = append(problems, p)
		}
	}
	r := Result{Latency: slowest.Latency}
	slowestText := fmt.Sprintf("slowest %s %s", slowest.Activity, slowest.Latency.Round(time.Millisecond))
	if bad > 0 {
		if len(problems) > maxListed {
			problems = append(problems[:maxListed], fmt.Sprintf("and %d more", len(problems)-maxListed))
		}
		r.Status = Fail
		r.Detail = fmt.Sprintf("%d of %d calls broke spec §1 (HTTP 200, application/json, resultCode, within %s): %s",
			bad, len(c.calls), c.cfg.Timeout, strings.Join(problems, "; "))
		return r
	}
	r.Status = Pass
	r.Detail = fmt.Sprintf("%d calls, every answer HTTP 200 application/json with a resultCode; %s", len(c.calls), slowestText)
	if slow > 0 {
		r.Detail += fmt.Sprintf("; slow: %d calls took over half the %s timeout", slow, c.cfg.Timeout)
	}
	return r
}
