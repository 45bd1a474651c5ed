package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/conformance/mockcontrols"
	"github.com/seattletestbed/clearinghouse-go/internal/conformancetest"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// reportTarget is an in-process mock with an account, behind rewrite
// (nil: none), with its Go controls.
func reportTarget(t *testing.T, rewrite func(string, []byte, int, []byte) (int, []byte), opts ...mockserver.Option) (conformance.Target, *mockserver.Server) {
	t.Helper()
	mock, err := mockserver.New(append([]mockserver.Option{
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 40, NATFraction: 0.1, Seed: 5}),
		mockserver.WithKeyBits(512),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	var h http.Handler = mock
	if rewrite != nil {
		h = &conformancetest.Rewriter{Next: mock, Rewrite: rewrite}
	}
	srv := httptest.NewServer(h) // 127.0.0.1
	t.Cleanup(srv.Close)
	a, err := mock.AddAccount(mockapi.AccountSpec{Username: "dave", Password: "password-of-dave-0123", Affiliation: "Report U"})
	if err != nil {
		t.Fatal(err)
	}
	return conformance.Target{
		Name:         "report test mock",
		URL:          srv.URL + "/xmlrpc/",
		Accounts:     []conformance.Account{{Username: a.Username, APIKey: a.APIKey, Password: a.Password, PrivateKey: a.PrivateKey}},
		AllowAcquire: 100,
		Mock:         true,
		Controls:     mockcontrols.New(mock),
	}, mock
}

// rendered is a report in all three forms.
type rendered struct {
	html, junit, summary string
	suites               conformancetest.JUnit
}

func render(t *testing.T, rep *conformance.Report) rendered {
	t.Helper()
	var h, j, s bytes.Buffer
	if err := rep.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJUnit(&j); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteSummary(&s); err != nil {
		t.Fatal(err)
	}
	r := rendered{html: h.String(), junit: j.String(), summary: s.String()}
	r.suites = conformancetest.ReadJUnit(t, j.Bytes())
	return r
}

// checkTarget runs the suite against tg with opts, which must run to the
// end, and renders its report.
func checkTarget(t *testing.T, tg conformance.Target, opts ...conformance.CheckOption) (*conformance.Report, rendered) {
	t.Helper()
	rep, err := conformance.Check(context.Background(), tg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return rep, render(t, rep)
}

func TestCheckPassesOnTheMock(t *testing.T) {
	t.Parallel()
	tg, _ := reportTarget(t, nil)
	var log bytes.Buffer
	rep, r := checkTarget(t, tg, conformance.WithLog(&log))
	if rep.Failed() {
		t.Fatalf("the mock fails:\n%s", r.summary)
	}
	names, areas := r.suites.Names(), conformancetest.Areas()
	if !slices.Equal(names, areas) {
		t.Errorf("JUnit testsuites %v, want %v", names, areas)
	}
	if r.suites.Tests < 100 || r.suites.Failures != 0 || r.suites.Skipped == 0 {
		t.Errorf("JUnit: %d tests, %d failures, %d skipped; want 100 or more, 0, and the checks that need a restart hook skipped",
			r.suites.Tests, r.suites.Failures, r.suites.Skipped)
	}
	// The in-process target has neither Restart nor Kill: exactly the
	// checks that need one are skipped, each saying so.
	for _, s := range r.suites.Suites {
		for _, c := range s.Cases {
			if c.Skipped != nil && !strings.Contains(c.Skipped.Message, "needs a Restart hook") && !strings.Contains(c.Skipped.Message, "needs a Kill hook") {
				t.Errorf("%s/%s skipped: %s; want only the restart checks skipped", s.Name, c.Name, c.Skipped.Message)
			}
		}
	}
	for _, want := range []string{"PASSED: ", `id="area-Auth"`, "report test mock", "Restart/StateSurvives: needs a Restart hook"} {
		if !strings.Contains(r.html+r.summary, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	for _, want := range []string{"=== RUN   Auth/WrongKey", "--- PASS: Auth/WrongKey (", "--- SKIP: Restart/StateSurvives ("} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	// The faults a check saw are listed with it.
	if !strings.Contains(r.html, "<td><code>get_account_info</code></td><td class=\"n\">101</td><td><code>User auth failed.</code></td>") {
		t.Errorf("the report does not list fault 101 of get_account_info")
	}
}

func TestCheckReportsABrokenTarget(t *testing.T) {
	t.Parallel()
	tg, _ := reportTarget(t, conformancetest.ReplaceInBody("User auth failed.", "Authentication failed."))
	rep, r := checkTarget(t, tg, conformance.WithMatch("^Auth$"))
	if !rep.Failed() {
		t.Fatalf("the reworded fault string passed:\n%s", r.summary)
	}
	failed := r.suites.Failed()
	for _, leaf := range []string{"Auth/WrongKey", "Auth/UnknownUser", "Auth/KeyExact"} {
		if !slices.Contains(failed, leaf) {
			t.Errorf("JUnit: %s has no failure (failed: %v)", leaf, failed)
		}
		if !strings.Contains(r.summary, "    "+leaf+": ") {
			t.Errorf("the summary does not list %s as failed:\n%s", leaf, r.summary)
		}
		if !strings.Contains(r.html, `<a href="#check-`+strings.ReplaceAll(leaf, "/", "-")+`">`+leaf+`</a>`) {
			t.Errorf("the HTML report does not list %s as failed", leaf)
		}
	}
	if slices.Contains(failed, "Auth/NotAStruct") || len(r.suites.Suites) != 1 {
		t.Errorf("JUnit: failed %v in %d testsuites; want only Auth's, and NotAStruct passing", failed, len(r.suites.Suites))
	}
	for _, want := range []string{"FAILED: ", "Authentication failed.", "User auth failed."} {
		if !strings.Contains(r.html, want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	// The JUnit failure carries the message.
	for _, s := range r.suites.Suites {
		for _, c := range s.Cases {
			if c.Name == "WrongKey" && (c.Failure == nil || !strings.Contains(c.Failure.Text, `have "Authentication failed."`)) {
				t.Errorf("the WrongKey failure: %+v", c.Failure)
			}
		}
	}
}

// TestReportHidesSecrets plants every kind of secret where a server can
// put it (fault strings, results) and checks that no form of the report,
// nor the log, carries any of them.
func TestReportHidesSecrets(t *testing.T) {
	t.Parallel()
	const adminToken = "ADMIN-TOKEN-0123456789abcdef"
	var secrets []string
	echo := func(method string, req []byte, status int, body []byte) (int, []byte) {
		planted := "echo " + strings.Join(secrets, " | ")
		body = bytes.ReplaceAll(body, []byte("User auth failed."), []byte("User auth failed. "+planted))
		body = bytes.ReplaceAll(body, []byte("<name>user_name</name><value><string>dave"), []byte("<name>user_name</name><value><string>dave "+planted))
		return status, body
	}
	tg, _ := reportTarget(t, echo, mockserver.WithAdmin(true), mockserver.WithAdminToken(adminToken))
	a := tg.Accounts[0]
	secrets = []string{a.APIKey, a.Password, a.PrivateKey, adminToken}
	// The admin controls over HTTP, with the token.
	c, err := conformance.NewHTTPControls(strings.TrimSuffix(tg.URL, "xmlrpc/")+"admin/", nil, conformance.WithAdminToken(adminToken))
	if err != nil {
		t.Fatal(err)
	}
	tg.Controls = c
	tg.URL = strings.Replace(tg.URL, "http://", "http://operator:"+a.Password+"@", 1) + "?token=" + adminToken
	var log bytes.Buffer
	rep, r := checkTarget(t, tg, conformance.WithMatch("^(Auth|AccountInfo|Keys)$"), conformance.WithLog(&log))
	if !rep.Failed() {
		t.Fatal("the echoing target passed")
	}
	parts := slices.Clone(secrets)
	parts = append(parts, strings.Fields(a.PrivateKey)...) // d, p and q on their own
	for form, text := range map[string]string{"HTML": r.html, "JUnit": r.junit, "summary": r.summary, "log": log.String()} {
		for _, sec := range parts {
			if strings.Contains(text, sec) {
				t.Errorf("the %s contains a secret (%d bytes)", form, len(sec))
			}
		}
		if form != "summary" && !strings.Contains(text, "echo [REDACTED] | [REDACTED] | [REDACTED] | [REDACTED]") {
			t.Errorf("the %s does not show the redacted echo", form)
		}
	}
	if strings.Contains(r.html, "operator") || !strings.Contains(r.html, "?token=REDACTED") {
		t.Errorf("the URL is not shown without its credentials")
	}
}

// TestReportEscapes: markup from the server stays text in the HTML
// report. (Control characters: TestReportWellFormed, and the hostile
// server of TestHostileServerLeaksNothing.)
func TestReportEscapes(t *testing.T) {
	t.Parallel()
	tg, _ := reportTarget(t, conformancetest.ReplaceInBody("User auth failed.", "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;"))
	rep, r := checkTarget(t, tg, conformance.WithMatch("^Auth$/^WrongKey$"))
	if !rep.Failed() {
		t.Fatalf("the target passed:\n%s", r.summary)
	}
	low := strings.ToLower(r.html)
	for _, bad := range []string{"<script", "<img", "<link", "src=\"http", "href=\"http"} {
		if strings.Contains(low, bad) {
			t.Errorf("the HTML report contains %q", bad)
		}
	}
	if !strings.Contains(r.html, "<td><code>&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;</code></td>") {
		t.Errorf("the fault string is not shown escaped")
	}
	if !strings.Contains(r.html, `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`) {
		t.Errorf("the HTML report has no Content-Security-Policy")
	}
}

func TestCheckCouldNotRun(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		tg   conformance.Target
		want string
	}{
		{"no URL", conformance.Target{Accounts: []conformance.Account{{Username: "a", APIKey: "k"}}}, "no URL"},
		{"no account", conformance.Target{URL: "http://127.0.0.1:1/xmlrpc/"}, "no account"},
		{"no key to fetch", conformance.Target{URL: "http://127.0.0.1:1/xmlrpc/", Accounts: []conformance.Account{{Username: "a", PrivateKey: "SECRET-PRIVATE"}}}, "does not parse"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rep, err := conformance.Check(context.Background(), c.tg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one saying %q", err, c.want)
			}
			r := render(t, rep)
			if !rep.Failed() || !strings.Contains(r.html, "DID NOT COMPLETE: could not run") || r.suites.Errors != 1 {
				t.Errorf("the report does not say the suite could not run:\n%s\n%s", r.summary, r.junit)
			}
			if strings.Contains(r.html+r.junit+r.summary+err.Error(), "SECRET") {
				t.Errorf("a secret in the report or the error")
			}
		})
	}
}

func TestCheckInterrupted(t *testing.T) {
	t.Parallel()
	tg, mock := reportTarget(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the suite holds vessels; the cleanups must still
	// release them.
	tg.Controls = cancelOnAcquire{Controls: tg.Controls, cancel: cancel}
	rep, err := conformance.Check(ctx, tg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	r := render(t, rep)
	if !strings.Contains(r.html, "DID NOT COMPLETE: interrupted") || strings.Contains(r.summary, "AccountChanges") {
		t.Errorf("the report does not show an interrupted run:\n%s", r.summary)
	}
	// Every vessel is free again: the cleanups ran.
	conformancetest.NoVesselHeld(t, mockcontrols.New(mock))
}

// cancelOnAcquire cancels the run when the suite first adds nodes, which
// is mid-run (Acquire and later areas).
type cancelOnAcquire struct {
	conformance.Controls
	cancel context.CancelFunc
}

func (c cancelOnAcquire) AddNodes(ctx context.Context, nodes []mockapi.NodeSpec) error {
	c.cancel()
	return c.Controls.AddNodes(ctx, nodes)
}

// readReportDir reads the report Run wrote into Target.ReportDir for
// TestBrokenTarget (see TestSuiteDetectsBrokenTargets).
func readReportDir(t *testing.T, dir string) (html, junit string, js conformancetest.JUnit) {
	t.Helper()
	h, err := os.ReadFile(filepath.Join(dir, "TestBrokenTarget.html"))
	if err != nil {
		t.Fatalf("Run wrote no HTML report: %v", err)
	}
	j, err := os.ReadFile(filepath.Join(dir, "TestBrokenTarget.junit.xml"))
	if err != nil {
		t.Fatalf("Run wrote no JUnit file: %v", err)
	}
	return string(h), string(j), conformancetest.ReadJUnit(t, j)
}

// TestRestartThatCannotReconnect: when the suite cannot reach the target
// a Restart hook describes (here the hook names a CA file that does not
// exist), the check fails saying why, and the run goes on to its end.
func TestRestartThatCannotReconnect(t *testing.T) {
	t.Parallel()
	tg, mock := reportTarget(t, nil)
	missing := filepath.Join(t.TempDir(), "gone-ca.pem")
	tg.Restart = func(t conformance.T, tg *conformance.Target) error {
		tg.CAFile = missing
		return nil
	}
	type result struct {
		rep *conformance.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := conformance.Check(context.Background(), tg, conformance.WithMatch("^Restart$/^StateSurvives$"))
		done <- result{rep, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Check has not returned 30 s after the Restart hook: the suite hangs when it cannot reconnect")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	r := render(t, res.rep)
	if failed := r.suites.Failed(); !slices.Equal(failed, []string{"Restart/StateSurvives"}) || !strings.Contains(r.summary, "gone-ca.pem") {
		t.Errorf("failed %v, want Restart/StateSurvives failing with the missing CA file:\n%s", failed, r.summary)
	}
	conformancetest.NoVesselHeld(t, mockcontrols.New(mock))
}
