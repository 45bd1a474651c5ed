package conformance

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/leaktest"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// TestReportRedactsAtEveryCut sweeps each secret of a target over every
// place around the cuts that the errors the suite prints make (the 512
// bytes of Fault.Error, the 128 of an HTTP status), as a check reports
// them (the error with %v, the fault string with %q, the fault seen), and
// looks for any piece of any secret, and any control character, in every
// output: the -v log, the summary, the HTML and the JUnit report.
func TestReportRedactsAtEveryCut(t *testing.T) {
	t.Parallel()
	d := strings.Repeat("2718281828459045235360287471352662497757", 8)[:308]
	p := strings.Repeat("1414213562373095048801688724209698078569", 4)[:155]
	q := strings.Repeat("1732050807568877293527446341505872366942", 4)[:154]
	tg := Target{
		URL: "http://127.0.0.1:1/xmlrpc/", // never called
		Accounts: []Account{{
			Username:   "mallory",
			APIKey:     `K"3\Y<&>'7QZ4JD2KX9MWB3T8HNV5RC`,
			Password:   `pw"\<&>` + "correcthorsebatterystaple",
			PrivateKey: d + " " + p + " " + q,
		}},
	}
	a := tg.Accounts[0]
	secrets := []string{a.APIKey, a.Password, d, p, q}
	sr := newSuiteRun(context.Background(), tg, "")
	t.Cleanup(sr.end)
	var log bytes.Buffer
	rn := &runner{ctx: context.Background(), log: &log}
	rn.redact = func(text string) string { return sr.session().redact(text) }
	root := rn.newT(nil, "", sr.root)
	checks := 0
	root.run(func(t T) {
		s, err := newSession(tg, sr.stop, sr.halt, sr.grace)
		if err != nil {
			t.Fatal(err)
		}
		sr.mu.Lock()
		sr.s, sr.running = s, true
		sr.mu.Unlock()
		sr.root.setRedact(s.redact)
		t.Run("Sweep", func(t T) {
			t.setRecord(s.newRecord("Sweep", ""))
			for i, sec := range secrets {
				for _, cut := range []struct {
					at  int
					err func(text string) error
				}{
					{512, func(text string) error { return &xmlrpc.Fault{Code: 101, String: text} }},
					{128, func(text string) error { return &xmlrpc.HTTPError{StatusCode: 502, Status: "502 " + text} }},
				} {
					for pad := cut.at - min(len(sec), 140) - 8; pad <= cut.at+8; pad++ {
						checks++
						name := fmt.Sprintf("Secret%d_Cut%d_Pad%d", i, cut.at, pad)
						text := strings.Repeat("A", max(pad, 0)) + sec + " " + leaktest.Controls
						t.Run(name, func(t T) {
							rec := s.newRecord("Sweep", name)
							t.setRecord(rec)
							t.Cleanup(func() { s.finishCheck(t, rec) })
							err := cut.err(text)
							rec.noteFault("get_account_info", err)
							s.logf(t, "get_account_info: %v", err)
							s.errorf(t, "get_account_info: fault string %q, want %q", text, msgAuthFailed)
						})
					}
				}
			}
		})
	})
	rep := sr.report()
	var html, junit, summary bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteSummary(&summary); err != nil {
		t.Fatal(err)
	}
	if rep.total.failed != checks {
		t.Fatalf("%d checks failed, want all %d", rep.total.failed, checks)
	}
	find := leaktest.NewFinder(secrets)
	for _, out := range []struct{ name, text string }{
		{"-v log", log.String()}, {"summary", summary.String()}, {"HTML", html.String()}, {"JUnit", junit.String()},
	} {
		if leaks := find.Leaks(out.text); len(leaks) > 0 {
			t.Errorf("the %s shows secrets in %d places: %v", out.name, leaktest.Total(leaks), leaks)
		}
		if cc := leaktest.ControlChars(out.text); len(cc) > 0 {
			t.Errorf("the %s has %d control characters: %v", out.name, leaktest.Sum(cc), cc)
		}
	}
	if !strings.Contains(html.String(), "[REDACTED]") {
		t.Errorf("the HTML report shows no redaction")
	}
}
