//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The first "Done when": souk seller check passes against souk
// seller run with both running as real processes, and fails, naming the
// case, when the same seller is told to misbehave or is too slow.

// e2eBudget bounds the whole end-to-end test, so that a hang fails it with
// a message well before go test's own timeout.
const e2eBudget = 50 * time.Second

// checkerRun is one finished souk seller check process.
type checkerRun struct {
	code           int
	stdout, stderr string
	report         checkerJSON
}

// checkerJSON is the --json report as a CI script reads it.
type checkerJSON struct {
	URL     string `json:"url"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	Results []struct {
		Case       string `json:"case"`
		Group      string `json:"group"`
		Activity   string `json:"activity"`
		Status     string `json:"status"`
		Detail     string `json:"detail"`
		ResultCode string `json:"resultCode"`
		Latency    string `json:"latency"`
	} `json:"results"`
}

func (r *checkerJSON) failures() []string {
	var out []string
	for _, res := range r.Results {
		if res.Status == "fail" {
			out = append(out, res.Case)
		}
	}
	return out
}

// runCheckerProcess runs souk seller check URL --key processKey --json
// plus args as a process, within ctx, and decodes its JSON report.
func runCheckerProcess(t *testing.T, ctx context.Context, url string, args ...string) checkerRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args = append([]string{"seller", "check", url, "--key", processKey, "--json", "--poll-timeout", "10s"}, args...)
	cmd := exec.CommandContext(ctx, soukBinary(t), args...)
	cmd.Env = environWithoutSouk()
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	run := checkerRun{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("souk seller check did not finish in %v (%v); stderr:\n%s", time.Since(start).Round(time.Millisecond), err, run.stderr)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		run.code = ee.ExitCode()
	default:
		t.Fatalf("souk seller check: %v; stderr:\n%s", err, run.stderr)
	}
	t.Logf("souk seller check %s: exit %d in %v", strings.Join(args[2:], " "), run.code, time.Since(start).Round(time.Millisecond))
	// Progress goes to stderr: stdout is the JSON report and nothing else.
	if err := json.Unmarshal(stdout.Bytes(), &run.report); err != nil {
		t.Fatalf("souk seller check --json: stdout is not a JSON report: %v\nstdout:\n%s\nstderr:\n%s", err, run.stdout, run.stderr)
	}
	if run.report.URL != url {
		t.Errorf("report url = %q, want %q", run.report.URL, url)
	}
	if n := run.report.Passed + run.report.Failed + run.report.Skipped; n != len(run.report.Results) {
		t.Errorf("report tallies %d+%d+%d results, but lists %d", run.report.Passed, run.report.Failed, run.report.Skipped, len(run.report.Results))
	}
	return run
}

// result returns the named case of the report.
func (r *checkerRun) result(t *testing.T, name string) (status, detail, code string) {
	t.Helper()
	for _, res := range r.report.Results {
		if res.Case == name {
			return res.Status, res.Detail, res.ResultCode
		}
	}
	t.Fatalf("the report has no case %q; stdout:\n%s", name, r.stdout)
	return
}

// controlSellerProcess changes the faults of a running souk seller run
// through its control endpoint.
func controlSellerProcess(t *testing.T, p *sellerProcess, settings string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(p.url, "/produce")+"/control", strings.NewReader(settings))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Control-Key", processKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST /control: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /control %s: HTTP %d %s", settings, resp.StatusCode, body)
	}
}

// stopSellerProcess sends SIGTERM and wants a clean exit, status 0.
func stopSellerProcess(t *testing.T, p *sellerProcess) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.waitExit(12 * time.Second); err != nil {
		t.Errorf("souk seller run after SIGTERM: %v, want exit status 0; stderr:\n%s", err, p.stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("souk seller run took %v to stop after SIGTERM", d)
	}
	if !strings.Contains(p.stderr.String(), "seller stopped") {
		t.Errorf("souk seller run does not log its stop; stderr:\n%s", p.stderr)
	}
}

// junitReport is the part of the JUnit XML that CI systems read.
type junitReport struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures string   `xml:"failures,attr"`
	Suites   []struct {
		Tests    int    `xml:"tests,attr"`
		Failures string `xml:"failures,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// checkJUnitFile wants path to be well-formed JUnit XML with tests cases,
// none failed.
func checkJUnitFile(t *testing.T, path string, tests int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--junit: %v", err)
	}
	// Well-formed to the end, not just a decodable prefix.
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("--junit %s is not well-formed XML: %v\n%s", path, err, b)
		}
	}
	var rep junitReport
	if err := xml.Unmarshal(b, &rep); err != nil {
		t.Fatalf("--junit %s: %v\n%s", path, err, b)
	}
	if rep.Failures != "0" || rep.Tests != tests || len(rep.Suites) != 1 {
		t.Fatalf("--junit: <testsuites tests=%d failures=%q> with %d suites, want tests=%d failures=\"0\" and one suite\n%s",
			rep.Tests, rep.Failures, len(rep.Suites), tests, b)
	}
	s := rep.Suites[0]
	if s.Failures != "0" || s.Tests != tests || len(s.Cases) != tests {
		t.Errorf("--junit: <testsuite tests=%d failures=%q> with %d testcases, want %d, \"0\", %d", s.Tests, s.Failures, len(s.Cases), tests, tests)
	}
	for _, c := range s.Cases {
		if c.Failure != nil {
			t.Errorf("--junit: testcase %q has a <failure>", c.Name)
		}
	}
}

func TestSellerCheckPassesAgainstSellerRunProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the souk binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	defer cancel()
	if d, ok := t.Deadline(); ok {
		var c2 context.CancelFunc
		ctx, c2 = context.WithDeadline(ctx, d.Add(-5*time.Second))
		defer c2()
	}
	soukBinary(t) // build before the clocks start

	t.Run("conforming then misbehaving", func(t *testing.T) {
		p := startSellerProcess(t, t.TempDir(), "--async", "200ms")

		// 1. The reference seller passes every case, the kit and licence
		// interfaces included.
		junit := filepath.Join(t.TempDir(), "report.xml")
		run := runCheckerProcess(t, ctx, p.url, "--kit", "--license", "--junit", junit)
		if run.code != 0 || run.report.Failed != 0 {
			t.Fatalf("souk seller check against souk seller run: exit %d, %d failed %v, want exit 0 and none failed\nstdout:\n%s\nstderr:\n%s",
				run.code, run.report.Failed, run.report.failures(), run.stdout, run.stderr)
		}
		if run.report.Passed < 45 {
			t.Errorf("%d cases passed, want at least 45 (every interface, kit and licence included)\n%s", run.report.Passed, run.stdout)
		}
		if run.report.Skipped != 0 {
			t.Errorf("%d cases skipped against the reference seller, want none\n%s", run.report.Skipped, run.stdout)
		}
		if status, detail, code := run.result(t, "newInstance"); status != "pass" || code != "000004" || !strings.Contains(detail, "asynchronously") {
			t.Errorf("newInstance: %s %s %q, want a pass with 000004 (the seller runs with --async)", status, code, detail)
		}
		if !strings.Contains(run.stderr, "releaseInstance") {
			t.Errorf("no progress on stderr:\n%s", run.stderr)
		}
		checkJUnitFile(t, junit, len(run.report.Results))

		// 2. The same process, told to fail releaseInstance: the checker
		// exits 1 and names the case and the code.
		controlSellerProcess(t, p, `{"failActivities":["releaseInstance"]}`)
		run = runCheckerProcess(t, ctx, p.url, "--kit", "--license")
		if run.code != 1 {
			t.Errorf("souk seller check against a seller failing releaseInstance: exit %d, want 1\nstderr:\n%s", run.code, run.stderr)
		}
		if got := run.report.failures(); !slices.Equal(got, []string{"releaseInstance"}) {
			t.Errorf("failed cases %q, want just releaseInstance\n%s", got, run.stdout)
		}
		status, detail, code := run.result(t, "releaseInstance")
		if status != "fail" || code != "000005" || !strings.Contains(detail, "000005") || !strings.Contains(detail, "injected failure") {
			t.Errorf("releaseInstance: %s %s %q, want a failure answering 000005 (injected failure)", status, code, detail)
		}
		if run.report.Failed != 1 {
			t.Errorf("report says %d failed, want 1", run.report.Failed)
		}
		if !strings.Contains(run.stderr, "releaseInstance … fail") {
			t.Errorf("progress on stderr does not show the failure:\n%s", run.stderr)
		}

		stopSellerProcess(t, p)
	})

	t.Run("slow seller", func(t *testing.T) {
		// Every signed call takes 1.5 s; the checker gives each 1 s.
		p := startSellerProcess(t, t.TempDir(), "--slow", "1500ms")
		start := time.Now()
		run := runCheckerProcess(t, ctx, p.url, "--timeout", "1s")
		if run.code != 1 {
			t.Errorf("souk seller check --timeout 1s against a seller with --slow 1500ms: exit %d, want 1\nstderr:\n%s", run.code, run.stderr)
		}
		status, detail, _ := run.result(t, "newInstance")
		if status != "fail" || !strings.Contains(detail, "no answer within 1s") {
			t.Errorf("newInstance: %s %q, want a failure saying no answer within 1s", status, detail)
		}
		if _, detail, _ := run.result(t, "HTTP 200 JSON within timeout"); !strings.Contains(detail, "no answer within 1s") {
			t.Errorf("transport summary %q does not say no answer within 1s", detail)
		}
		// The checker gave up after its timeout rather than waiting for
		// the seller's answers.
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("the check of a slow seller took %v", d)
		}
		stopSellerProcess(t, p)
	})
}
