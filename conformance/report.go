package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/atomicfile"
)

// A Report is the outcome of one run of the suite, to hand on: the
// target, every check that ran with its result and why (failure messages,
// skip reasons, warnings), the faults the target answered each check's
// calls with, and the totals. Check returns one; Run writes one when
// Target.ReportDir is set.
//
// Nothing in a Report is secret: every text in it, including what the
// server sent, has the target's API keys, passwords, private keys and
// admin token replaced by [REDACTED] (in any form, and in pieces: see the
// package documentation), and the URL is shown without user information
// or query values. Texts the server chose are cut to a few kilobytes,
// after redaction, and show control characters, bidirectional controls and
// bytes that are not UTF-8 escaped, in every form of the report.
type Report struct {
	name     string // the target's Name
	url      string // without credentials
	started  time.Time
	elapsed  time.Duration
	filter   string   // Check's WithMatch pattern
	settings []string // the target's suite settings, as "name value"
	version  string   // of this module, and Go's
	problem  string   // why the run did not complete, or ""
	run      []message
	areas    []areaResult
	total    counts
}

type areaResult struct {
	name   string
	msgs   []message // the area's own: cleanup failures
	checks []checkResult
	counts counts
}

type checkResult struct {
	area, name string
	status     status
	elapsed    time.Duration
	msgs       []message
	faults     []faultSeen
	dropped    int
}

type counts struct {
	passed, failed, skipped, warned, warnings int
}

func (c *counts) add(o counts) {
	c.passed += o.passed
	c.failed += o.failed
	c.skipped += o.skipped
	c.warned += o.warned
	c.warnings += o.warnings
}

// checks is the number of checks counted.
func (c counts) checks() int { return c.passed + c.failed + c.skipped + c.warned }

// Failed reports whether the run failed, as go test would say: a check
// failed, or the suite reported an error outside the checks (it could not
// start, or a cleanup failed: vessels it could not release, say).
func (r *Report) Failed() bool {
	if r.total.failed > 0 || hasError(r.run) {
		return true
	}
	for _, a := range r.areas {
		if hasError(a.msgs) {
			return true
		}
	}
	return false
}

func hasError(msgs []message) bool {
	for _, m := range msgs {
		if m.kind == msgError {
			return true
		}
	}
	return false
}

// report builds the Report of the run so far, redacting every text with
// the secrets known now.
func (sr *suiteRun) report() *Report {
	s := sr.session()
	if s == nil {
		// The run ended before the session: redact with what the target
		// holds.
		s = &session{}
		s.addTargetSecrets(sr.target)
	}
	red := s.redact // redacted and escaped: no secret, no control character
	tg := sr.target
	rep := &Report{
		name:    red(tg.Name),
		url:     red(displayURL(tg.URL)),
		started: sr.started,
		elapsed: time.Since(sr.started),
		filter:  red(sr.filter),
		version: moduleVersion(),
	}
	if rep.name == "" {
		rep.name = "target"
	}
	var users []string
	for _, a := range tg.Accounts {
		users = append(users, red(a.Username))
	}
	yes := map[bool]string{true: "yes", false: "no"}
	rep.settings = []string{
		"accounts " + strings.Join(users, ", "),
		"AllowAcquire " + strconv.Itoa(tg.AllowAcquire),
		"AllowAccountChanges " + yes[tg.AllowAccountChanges],
		"Mock " + yes[tg.Mock || tg.Controls != nil],
		"Controls " + yes[tg.Controls != nil],
		"Restart hook " + yes[tg.Restart != nil],
		"RelaxStrings " + yes[tg.RelaxStrings],
	}
	rep.run = sr.root.messages(red)

	var recs []*record
	if s := sr.session(); s != nil {
		s.mu.Lock()
		recs = append(recs, s.records...)
		s.mu.Unlock()
	}
	index := map[string]int{}
	for _, r := range recs {
		i, ok := index[r.area]
		if !ok {
			i = len(rep.areas)
			index[r.area] = i
			rep.areas = append(rep.areas, areaResult{name: r.area})
		}
		a := &rep.areas[i]
		if r.name == "" {
			a.msgs = append(a.msgs, r.messages(red)...)
			continue
		}
		c := r.result(red)
		a.checks = append(a.checks, c)
		switch c.status {
		case statusFailed:
			a.counts.failed++
		case statusSkipped:
			a.counts.skipped++
		case statusWarned:
			a.counts.warned++
		case statusPassed:
			a.counts.passed++
		}
		for _, m := range c.msgs {
			if m.kind == msgWarning {
				a.counts.warnings++
			}
		}
	}
	kept := rep.areas[:0]
	for _, a := range rep.areas {
		if len(a.checks) > 0 || len(a.msgs) > 0 {
			kept = append(kept, a)
			rep.total.add(a.counts)
		}
	}
	rep.areas = kept

	sr.mu.Lock()
	running := sr.running
	sr.mu.Unlock()
	switch {
	case !running:
		rep.problem = "could not run"
		if first := firstText(rep.run, msgError); first != "" {
			rep.problem += ": " + brief(first)
		}
	case sr.interrupted():
		rep.problem = "interrupted: the checks after the one running then did not run"
	}
	return rep
}

// interrupted reports whether Check's context ended the run early.
func (sr *suiteRun) interrupted() bool {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return sr.cut
}

// firstText is the text of the first message of the kind, or "": the
// first error of a failed check, the reason of a skipped one.
func firstText(msgs []message, kind msgKind) string {
	for _, m := range msgs {
		if m.kind == kind {
			return m.text
		}
	}
	return ""
}

// messages returns r's messages, redacted.
func (r *record) messages(red func(string) string) []message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]message, len(r.msgs))
	for i, m := range r.msgs {
		out[i] = message{m.kind, red(m.text)}
	}
	return out
}

// result is a check's record, redacted.
func (r *record) result(red func(string) string) checkResult {
	msgs := r.messages(red)
	r.mu.Lock()
	defer r.mu.Unlock()
	c := checkResult{area: r.area, name: r.name, status: r.status, elapsed: r.elapsed, msgs: msgs, dropped: r.dropped}
	for _, f := range r.faults {
		f.method, f.text = red(f.method), red(f.text)
		c.faults = append(c.faults, f)
	}
	return c
}

// displayURL is the target's URL without user information, and with the
// values of any query replaced.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// moduleVersion names this module's version as built, and Go's.
func moduleVersion() string {
	const self = "github.com/seattletestbed/clearinghouse-go"
	v := "(unknown version)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == self {
			v = bi.Main.Version
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += " " + s.Value[:12]
				}
			}
		}
		for _, d := range bi.Deps {
			if d.Path == self {
				v = d.Version
			}
		}
	}
	return "clearinghouse-go " + v + ", " + runtime.Version()
}

// summary renders the totals per area, the failed checks with their
// first message and the skipped ones with why, as text.
func (r *Report) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "conformance summary (%s):\n", r.name)
	if r.problem != "" {
		fmt.Fprintf(&b, "  %s\n", r.problem)
	}
	fmt.Fprintf(&b, "  %-16s %6s %6s %7s %6s %8s\n", "area", "passed", "failed", "skipped", "warned", "warnings")
	row := func(name string, c counts) {
		fmt.Fprintf(&b, "  %-16s %6d %6d %7d %6d %8d\n", name, c.passed, c.failed, c.skipped, c.warned, c.warnings)
	}
	for _, a := range r.areas {
		row(a.name, a.counts)
	}
	row("total", r.total)
	if r.total.warnings > 0 {
		b.WriteString("  warned: fault strings differed from the contract (RelaxStrings); these checks did not pass\n")
	}
	var errs, failed, skipped []string
	for _, m := range r.run {
		if m.kind == msgError {
			errs = append(errs, brief(m.text))
		}
	}
	for _, a := range r.areas {
		for _, m := range a.msgs {
			if m.kind == msgError {
				errs = append(errs, a.name+": "+brief(m.text))
			}
		}
		for _, c := range a.checks {
			switch c.status {
			case statusFailed:
				failed = append(failed, c.area+"/"+c.name+": "+brief(firstText(c.msgs, msgError)))
			case statusSkipped:
				why := brief(firstText(c.msgs, msgSkip))
				if why == "" {
					why = "skipped"
				}
				skipped = append(skipped, c.area+"/"+c.name+": "+why)
			}
		}
	}
	for _, l := range []struct {
		title string
		lines []string
	}{{"errors outside the checks", errs}, {"failed", failed}, {"skipped", skipped}} {
		if len(l.lines) == 0 {
			continue
		}
		b.WriteString("  " + l.title + ":\n")
		for _, line := range l.lines {
			b.WriteString("    " + line + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// brief is text on one line (every run of white space made one space),
// cut to 300 bytes: a message for a list or an attribute.
func brief(text string) string {
	return clip(strings.Join(strings.Fields(text), " "), 300)
}

// WriteSummary writes the summary Run logs: per area the checks passed,
// failed, skipped and warned and the warnings, the totals, then the
// failed checks with their first message and the skipped ones with why.
func (r *Report) WriteSummary(w io.Writer) error {
	_, err := io.WriteString(w, r.summary()+"\n")
	return err
}

// writeDir writes the HTML report and the JUnit XML file into dir as
// name.html and name.junit.xml, name being the test's name with every
// character other than letters, digits, '.', '-' and '_' replaced by '_'.
func (r *Report) writeDir(dir, name string) error {
	base := strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			return c
		}
		return '_'
	}, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("conformance: report directory: %v", err)
	}
	for _, f := range []struct {
		ext   string
		write func(io.Writer) error
	}{{".html", r.WriteHTML}, {".junit.xml", r.WriteJUnit}} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(dir, base+f.ext), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("conformance: writing the report: %v", err)
		}
	}
	return nil
}
