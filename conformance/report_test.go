package conformance

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleReport() *Report {
	return &Report{
		URL:      "https://seller.example/souk",
		Started:  time.Date(2025, 3, 1, 8, 0, 0, 123456789, time.UTC),
		Duration: 1234567 * time.Microsecond,
		Results: []Result{
			{Case: "newInstance", Group: GroupBasic, Activity: "newInstance", Status: Pass, Detail: "instanceId A", Latency: 12345678, ResultCode: "000000"},
			{Case: "newInstance repeat", Group: GroupBasic, Activity: "newInstance", Status: Fail, Latency: 3 * time.Millisecond, ResultCode: "000000",
				Detail: "repeat newInstance returned instanceId B, want A (same orderId+orderLineId must give the same instance, spec §7)"},
			{Case: "upgradeInstance", Group: GroupBasic, Activity: "upgradeInstance", Status: Skip, Detail: "upgradeInstance is listed in skip"},
			{Case: "bad signature", Group: GroupSecurity, Activity: "queryInstance", Status: Fail, Latency: 900 * time.Microsecond,
				Detail: `Content-Type "text/html", want application/json <&>`},
			{Case: "HTTP 200 JSON within timeout", Group: GroupTransport, Status: Pass, Detail: "4 calls\nsecond line"},
		},
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "#") || !strings.Contains(lines[0], "CASE") || !strings.Contains(lines[0], "DETAIL") {
		t.Errorf("first line %q, want the table header", lines[0])
	}
	// Aligned: the STATUS column starts at the same offset on every row.
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:6] {
		if s := l[col:]; !strings.HasPrefix(s, "pass") && !strings.HasPrefix(s, "fail") && !strings.HasPrefix(s, "skip") {
			t.Errorf("row %q: no status at column %d", l, col)
		}
	}
	for _, want := range []string{
		"newInstance repeat", "repeat newInstance returned instanceId B, want A",
		"12ms", "900µs", "4 calls second line", // a detail stays on its row
		"https://seller.example/souk: 2 passed, 2 failed, 1 skipped in 1.235s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	rep := sampleReport()
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var tallies struct{ Passed, Failed, Skipped int }
	if err := json.Unmarshal(b.Bytes(), &tallies); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if tallies.Passed != 2 || tallies.Failed != 2 || tallies.Skipped != 1 {
		t.Errorf("tallies %+v, want 2 passed, 2 failed, 1 skipped", tallies)
	}
	if !strings.Contains(b.String(), `"latency": "12.345678ms"`) {
		t.Errorf("latency not written as a duration string:\n%s", b.String())
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !back.Started.Equal(rep.Started) {
		t.Errorf("started %v, want %v", back.Started, rep.Started)
	}
	back.Started = rep.Started
	if !reflect.DeepEqual(&back, rep) {
		t.Errorf("round trip:\n got %+v\nwant %+v", &back, rep)
	}
}

func TestWriteJUnitIsValidXML(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Skipped  int `xml:"skipped,attr"`
			Cases    []struct {
				ClassName string `xml:"classname,attr"`
				Name      string `xml:"name,attr"`
				Time      string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if doc.Tests != 5 || doc.Failures != 2 || len(doc.Suites) != 1 {
		t.Fatalf("testsuites tests=%d failures=%d suites=%d, want 5, 2, 1", doc.Tests, doc.Failures, len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Tests != 5 || s.Failures != 2 || s.Skipped != 1 || len(s.Cases) != 5 {
		t.Errorf("testsuite tests=%d failures=%d skipped=%d cases=%d, want 5, 2, 1, 5", s.Tests, s.Failures, s.Skipped, len(s.Cases))
	}
	c := s.Cases[1]
	if c.Name != "newInstance repeat" || c.ClassName != "conformance.basic" || c.Time != "0.003" || c.Failure == nil ||
		!strings.Contains(c.Failure.Message, "want A") || !strings.Contains(c.Failure.Text, "resultCode: 000000") {
		t.Errorf("failed testcase %+v", c)
	}
	if s.Cases[3].Failure == nil || s.Cases[3].Failure.Message != `Content-Type "text/html", want application/json <&>` {
		t.Errorf("escaped failure message did not survive: %+v", s.Cases[3].Failure)
	}
	if s.Cases[2].Skipped == nil || s.Cases[0].Failure != nil || s.Cases[0].Skipped != nil {
		t.Errorf("skip/pass testcases wrong: %+v %+v", s.Cases[2], s.Cases[0])
	}
}
