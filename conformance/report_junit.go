package conformance

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteJUnit writes the report as JUnit XML, the format CI systems show:
// a testsuites element holding one testsuite per area (its name, such as
// "Auth") and in it one testcase per check (its name, such as "WrongKey",
// with classname "conformance.Auth"). A failed check has a failure
// element, a skipped one a skipped element, each with the first message
// as its message attribute and all of them as its text; warnings, log
// lines and the faults seen are in the testcase's system-out. Errors
// outside the checks (the suite could not start, a cleanup failed) are
// error elements: of a testcase "(cleanup)" in the area's testsuite, or of
// a testcase "(suite)" in a testsuite "(suite)".
func (r *Report) WriteJUnit(w io.Writer) error {
	doc := junitSuites{
		Name:      "clearinghouse conformance: " + r.name,
		Time:      seconds(r.elapsed),
		Timestamp: r.started.UTC().Format(time.RFC3339),
	}
	props := []junitProperty{{"target", r.name}, {"url", r.url}, {"suite", r.version}}
	if r.filter != "" {
		props = append(props, junitProperty{"run", r.filter})
	}
	if r.problem != "" {
		props = append(props, junitProperty{"problem", r.problem})
	}
	if errs := errorTexts(r.run); len(errs) > 0 || r.problem != "" {
		if len(errs) == 0 {
			errs = []string{r.problem}
		}
		doc.Suites = append(doc.Suites, junitSuite{
			Name: "(suite)", Tests: 1, Errors: 1, Time: seconds(0), Timestamp: doc.Timestamp, Properties: props,
			Cases: []junitCase{{Name: "(suite)", Classname: "conformance", Time: seconds(0),
				Error: &junitMsg{Message: brief(errs[0]), Type: "error", Text: strings.Join(errs, "\n\n")}}},
			SystemOut: logText(r.run),
		})
	}
	for _, a := range r.areas {
		s := junitSuite{Name: a.name, Timestamp: doc.Timestamp, Properties: props}
		var total time.Duration
		for _, c := range a.checks {
			total += c.elapsed
			jc := junitCase{Name: c.name, Classname: "conformance." + a.name, Time: seconds(c.elapsed), SystemOut: logText(c.msgs) + faultText(c)}
			switch c.status {
			case statusFailed:
				errs := errorTexts(c.msgs)
				if len(errs) == 0 {
					errs = []string{"failed"}
				}
				jc.Failure = &junitMsg{Message: brief(errs[0]), Type: "failure", Text: strings.Join(errs, "\n\n")}
				s.Failures++
			case statusSkipped:
				why := firstText(c.msgs, msgSkip)
				jc.Skipped = &junitMsg{Message: brief(why), Text: why}
				s.Skipped++
			case statusRunning:
				jc.Error = &junitMsg{Message: "the check did not finish", Type: "error"}
				s.Errors++
			}
			s.Cases = append(s.Cases, jc)
		}
		if errs := errorTexts(a.msgs); len(errs) > 0 {
			s.Cases = append(s.Cases, junitCase{Name: "(cleanup)", Classname: "conformance." + a.name, Time: seconds(0),
				Error: &junitMsg{Message: brief(errs[0]), Type: "error", Text: strings.Join(errs, "\n\n")}})
			s.Errors++
		}
		s.Tests, s.Time = len(s.Cases), seconds(total)
		doc.Suites = append(doc.Suites, s)
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("conformance: JUnit: %v", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

type junitSuites struct {
	XMLName   xml.Name     `xml:"testsuites"`
	Name      string       `xml:"name,attr"`
	Tests     int          `xml:"tests,attr"`
	Failures  int          `xml:"failures,attr"`
	Errors    int          `xml:"errors,attr"`
	Skipped   int          `xml:"skipped,attr"`
	Time      string       `xml:"time,attr"`
	Timestamp string       `xml:"timestamp,attr"`
	Suites    []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	Time      string    `xml:"time,attr"`
	Failure   *junitMsg `xml:"failure,omitempty"`
	Error     *junitMsg `xml:"error,omitempty"`
	Skipped   *junitMsg `xml:"skipped,omitempty"`
	SystemOut string    `xml:"system-out,omitempty"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func errorTexts(msgs []message) []string {
	var out []string
	for _, m := range msgs {
		if m.kind == msgError {
			out = append(out, m.text)
		}
	}
	return out
}

// logText is the warnings and log lines, one per line.
func logText(msgs []message) string {
	var b strings.Builder
	for _, m := range msgs {
		switch m.kind {
		case msgWarning:
			b.WriteString(warningPrefix + m.text + "\n")
		case msgLog:
			b.WriteString(m.text + "\n")
		}
	}
	return b.String()
}

// faultText lists the faults seen, one per line.
func faultText(c checkResult) string {
	var b strings.Builder
	for _, f := range c.faults {
		fmt.Fprintf(&b, "fault %d %q from %s, %d×\n", f.code, f.text, f.method, f.count)
	}
	if c.dropped > 0 {
		fmt.Fprintf(&b, "(%d more faults not kept)\n", c.dropped)
	}
	return b.String()
}
