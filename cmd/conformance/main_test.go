//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/conformance/mockcontrols"
	"github.com/seattletestbed/clearinghouse-go/internal/conformancetest"
	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// TestMain lets the test binary stand in for the command: with
// CONFORMANCE_MAIN set it runs main with the arguments after "--", so
// that the exit statuses are those of the real main.
func TestMain(m *testing.M) {
	if os.Getenv("CONFORMANCE_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"conformance"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A testTarget is a clearinghouse for the command to check, with its creds
// file and every secret in it.
type testTarget struct {
	creds   string
	secrets []string
	mock    *mockserver.Server // nil for the mock binary
}

// inProcessTarget serves an in-process mock with its /admin/ controls
// (behind an admin token) on 127.0.0.1, with rewrite (nil: none)
// rewriting the answer to each POST, and writes a creds file for it.
func inProcessTarget(t *testing.T, rewrite func(req, body []byte) []byte) *testTarget {
	t.Helper()
	token := "admin-token-" + rand.Text()
	mock, err := mockserver.New(
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 60, NATFraction: 0.1, Seed: 7}),
		mockserver.WithKeyBits(512),
		mockserver.WithAdmin(true),
		mockserver.WithAdminToken(token),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	var h http.Handler = mock
	if rewrite != nil {
		h = &conformancetest.Rewriter{Next: mock, Rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
			if method != http.MethodPost {
				return status, body
			}
			return status, rewrite(req, body)
		}}
	}
	srv := httptest.NewServer(h) // 127.0.0.1
	t.Cleanup(srv.Close)
	tg := &testTarget{creds: filepath.Join(t.TempDir(), "creds.json"), secrets: []string{token}, mock: mock}
	f := &credsfile.File{URL: srv.URL + "/xmlrpc/", AdminURL: srv.URL + "/admin/", AdminToken: token}
	for _, name := range []string{"erin", "frank"} {
		a, err := mock.AddAccount(mockapi.AccountSpec{Username: name, Password: "password-of-" + name + "-" + rand.Text(), Affiliation: "Command U"})
		if err != nil {
			t.Fatal(err)
		}
		f.Accounts = append(f.Accounts, credsfile.Account{Username: a.Username, Password: a.Password, APIKey: a.APIKey, PublicKey: a.PublicKey, PrivateKey: a.PrivateKey})
		tg.secrets = append(tg.secrets, a.APIKey, a.Password, a.PrivateKey)
		tg.secrets = append(tg.secrets, strings.Fields(a.PrivateKey)...)
	}
	if err := credsfile.Write(tg.creds, f); err != nil {
		t.Fatal(err)
	}
	return tg
}

// rewordAndEcho breaks the target: fault 101's string is reworded, and
// carries every secret (which the reports must hide).
func rewordAndEcho(secrets []string) func(req, body []byte) []byte {
	return func(req, body []byte) []byte {
		return bytes.ReplaceAll(body, []byte("User auth failed."), []byte("Authentication failed; echo "+strings.Join(secrets, " | ")))
	}
}

// mockBinaryTarget builds cmd/mockclearinghouse and runs it over TLS with
// its /admin/ controls behind a token, until the test ends.
func mockBinaryTarget(t *testing.T) *testTarget {
	t.Helper()
	dir := t.TempDir()
	bin := conformancetest.BuildMock(t, dir)
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(rand.Text()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := &testTarget{creds: filepath.Join(dir, "creds.json")}
	mock, err := conformancetest.StartMock(bin, tg.creds, "-addr", "127.0.0.1:0", "-tls", "-state", filepath.Join(dir, "mock.state"),
		"-admin", "-admin-token-file", tokenFile, "-nodes", "60", "-accounts", "2", "-cleanup-delay", "0", "-log-level", "warn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mock.Stop(); err != nil {
			t.Error(err)
		}
	})
	f, err := credsfile.Read(tg.creds)
	if err != nil {
		t.Fatal(err)
	}
	tg.secrets = append(tg.secrets, f.AdminToken)
	for _, a := range f.Accounts {
		tg.secrets = append(tg.secrets, a.APIKey, a.Password, a.PrivateKey)
		tg.secrets = append(tg.secrets, strings.Fields(a.PrivateKey)...)
	}
	return tg
}

// outcome is what one run of the command left.
type outcome struct {
	err            error
	stdout, stderr string
	html, junit    string
	suites         conformancetest.JUnit
}

// runCommand runs the command in this process with -html and -junit into
// a fresh directory, and reads the reports back.
func runCommand(t *testing.T, args ...string) outcome {
	t.Helper()
	dir := t.TempDir()
	htmlFile, junitFile := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.xml")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(args, "-html", htmlFile, "-junit", junitFile), &stdout, &stderr)
	o := outcome{err: err, stdout: stdout.String(), stderr: stderr.String()}
	h, herr := os.ReadFile(htmlFile)
	j, jerr := os.ReadFile(junitFile)
	if herr != nil || jerr != nil {
		t.Fatalf("the command wrote no report (%v, %v); it returned %v\n%s%s", herr, jerr, err, o.stdout, o.stderr)
	}
	o.html, o.junit = string(h), string(j)
	o.suites = conformancetest.ReadJUnit(t, j)
	return o
}

// noSecrets fails t if any secret is in any output of the command.
func (o outcome) noSecrets(t *testing.T, secrets []string) {
	t.Helper()
	for what, text := range map[string]string{"HTML report": o.html, "JUnit report": o.junit, "stdout": o.stdout, "stderr": o.stderr} {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("the %s contains a secret (%d bytes)", what, len(s))
			}
		}
	}
}

// TestPassesOnTheMockBinary runs the whole suite against the mock binary:
// it passes, and the reports say so, in a browser too (the subtest
// "browser", the only part skipped without Chromium).
func TestPassesOnTheMockBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		testskip.Skipf(t, "builds and runs the mock binary; skipped with -short")
	}
	tg := mockBinaryTarget(t)
	o := runCommand(t, "-creds", tg.creds, "-name", "mockclearinghouse on 127.0.0.1")
	if o.err != nil || exitCode(o.err) != exitPassed {
		t.Fatalf("the command returned %v, want success\n%s%s", o.err, o.stdout, o.stderr)
	}
	if !slices.Equal(o.suites.Names(), conformancetest.Areas()) || o.suites.Tests < 100 || o.suites.Failures != 0 {
		t.Errorf("JUnit: testsuites %v, %d tests, %d failures; want every area, 100 tests or more, none failed",
			o.suites.Names(), o.suites.Tests, o.suites.Failures)
	}
	for _, want := range []string{"conformance summary (mockclearinghouse on 127.0.0.1)", "  total   ", "HTML report: ", "JUnit report: ", "\nPASS\n"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, o.stdout)
		}
	}
	o.noSecrets(t, tg.secrets)
	checkInBrowser(t, o.html, "conformance-report.png", []string{
		"Clearinghouse conformance report",
		"PASSED: ",
		"Target mockclearinghouse on 127.0.0.1",
		"HTTP 10 0 0 0 0",
		"Total ",
		"PASS BannerGET",
	})
}

// TestReportsFailures runs the command against a target that rewords a
// fault string and echoes every secret in it: it fails, with exit status
// 1, the reports and the summary name the failed checks, and no secret
// is in any of them.
func TestReportsFailures(t *testing.T) {
	t.Parallel()
	var tg *testTarget
	tg = inProcessTarget(t, func(req, body []byte) []byte { return rewordAndEcho(tg.secrets)(req, body) })
	o := runCommand(t, "-creds", tg.creds, "-run", "^(HTTP|Auth|AccountInfo)$", "-v")
	if !errors.Is(o.err, errFailed) || exitCode(o.err) != exitFailed {
		t.Fatalf("the command returned %v (exit %d), want the failure (exit 1)\n%s", o.err, exitCode(o.err), o.stdout)
	}
	failed := o.suites.Failed()
	for _, leaf := range []string{"Auth/WrongKey", "Auth/UnknownUser", "Auth/KeyExact"} {
		if !slices.Contains(failed, leaf) {
			t.Errorf("JUnit: %s did not fail (failed: %v)", leaf, failed)
		}
		if !strings.Contains(o.stdout, "    "+leaf+": ") {
			t.Errorf("the summary does not list %s as failed", leaf)
		}
	}
	if slices.Contains(failed, "HTTP/BannerGET") || !slices.Equal(o.suites.Names(), []string{"HTTP", "Auth", "AccountInfo"}) {
		t.Errorf("JUnit: testsuites %v, failed %v", o.suites.Names(), failed)
	}
	if !strings.Contains(o.stdout, "\nFAIL\n") || !strings.Contains(o.stderr, "--- FAIL: Auth/WrongKey (") {
		t.Errorf("stdout or the -v log on stderr does not show the failure:\n%s\n%s", o.stdout, o.stderr)
	}
	o.noSecrets(t, tg.secrets)
	if !strings.Contains(o.html, "echo [REDACTED] | [REDACTED]") {
		t.Errorf("the HTML report does not show the echoed secrets redacted")
	}
	checkInBrowser(t, o.html, "", []string{
		"FAILED: ",
		`Failed checks Auth/WrongKey : acquire_resources: fault 101 string: have "Authentication failed; echo [REDACTED] |`,
		"HTTP 10 0 0 0 0",
		"AccountInfo ",
		"FAIL WrongKey",
	})
}

// TestExitStatus runs the real main in a child process for each exit
// status.
func TestExitStatus(t *testing.T) {
	t.Parallel()
	good := inProcessTarget(t, nil)
	var broken *testTarget
	broken = inProcessTarget(t, func(req, body []byte) []byte { return rewordAndEcho(broken.secrets)(req, body) })
	dir := t.TempDir()
	for _, c := range []struct {
		name    string
		env     []string
		args    []string
		want    int
		wantOut string // in stdout or stderr
	}{
		{"help", nil, []string{"-h"}, 0, "Exit status: 0 passed, 1 failures found"},
		{"passing", nil, []string{"-creds", good.creds, "-run", "HTTP|Dispatch"}, 0, "\nPASS\n"},
		{"target from the environment", []string{conformance.EnvCredsFile + "=" + good.creds}, []string{"-run", "HTTP"}, 0, "\nPASS\n"},
		{"failing", nil, []string{"-creds", broken.creds, "-run", "Auth"}, 1, "\nFAIL\n"},
		{"unknown flag", nil, []string{"-bogus"}, 2, "flag provided but not defined: -bogus"},
		{"argument", nil, []string{"-creds", good.creds, "extra"}, 2, `unexpected argument "extra"`},
		{"pattern", nil, []string{"-creds", good.creds, "-run", "Auth/("}, 2, "conformance: the pattern"},
		{"no target", nil, nil, 3, "conformance: no target: set CLEARINGHOUSE_URL"},
		{"no creds file", nil, []string{"-creds", filepath.Join(dir, "missing.json")}, 3, "missing.json"},
		{"API key not fetched", nil, []string{"-creds", downCreds(t)}, 3, "could not run: conformance: fetching the API key of ghost"},
		{"report not writable", nil, []string{"-creds", good.creds, "-run", "HTTP/BannerGET", "-html", filepath.Join(dir, "no", "such", "report.html")}, 3, "writing the HTML report"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runMain(t, c.env, c.args...)
			if code != c.want || !strings.Contains(stdout+stderr, c.wantOut) {
				t.Errorf("exit status %d, want %d; output lacks %q? \nstdout:\n%s\nstderr:\n%s", code, c.want, c.wantOut, stdout, stderr)
			}
			for _, s := range append(good.secrets, broken.secrets...) {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("the output contains a secret")
				}
			}
		})
	}
}

// downCreds is a creds file whose account has only a private key, at an
// address nothing listens on: the suite cannot fetch the API key.
func downCreds(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/xmlrpc/"
	srv.Close()
	_, priv, err := seattlersa.GenerateKey(nil, 512)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "down.json")
	f := &credsfile.File{URL: url, Accounts: []credsfile.Account{{Username: "ghost", PrivateKey: priv.String()}}}
	if err := credsfile.Write(path, f); err != nil {
		t.Fatal(err)
	}
	return path
}

// runMain runs main in a child process (the test binary, see TestMain)
// without the caller's CLEARINGHOUSE_* variables, and returns its exit
// status and output.
func runMain(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(childEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLEARINGHOUSE_") {
			env = append(env, kv)
		}
	}
	return append(env, "CONFORMANCE_MAIN=1")
}

// TestInterrupted sends SIGINT to the command while a check holds
// vessels: it stops with exit status 3, writes reports that say so, and
// has released every vessel.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	acquiring := make(chan struct{})
	// The first acquisition's answer waits until the signal is sent, so
	// that it lands mid-check. Closed at the end of the test too, so
	// that a test that fails never leaves the answer waiting.
	signalled := make(chan struct{})
	release := sync.OnceFunc(func() { close(signalled) })
	var once sync.Once
	tg := inProcessTarget(t, func(req, body []byte) []byte {
		if bytes.Contains(req, []byte("<methodName>acquire_resources</methodName>")) && bytes.Contains(body, []byte("<name>handle</name>")) {
			once.Do(func() {
				close(acquiring)
				<-signalled
			})
		}
		return body
	})
	t.Cleanup(release)
	dir := t.TempDir()
	htmlFile := filepath.Join(dir, "report.html")
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "-creds", tg.creds, "-html", htmlFile)
	cmd.Env = childEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-acquiring:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the suite acquired nothing within 60 s")
	}
	cmd.Process.Signal(os.Interrupt)
	release()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(120 * time.Second):
		cmd.Process.Kill()
		<-waited
		t.Fatalf("the command did not stop within 120 s of the signal\n%s", out.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitNotRun {
		t.Fatalf("exit %v, want status 3\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "conformance: interrupted") {
		t.Errorf("the output does not say the run was interrupted:\n%s", out.String())
	}
	h, err := os.ReadFile(htmlFile)
	if err != nil || !strings.Contains(string(h), "DID NOT COMPLETE: interrupted") {
		t.Errorf("the HTML report does not say the run was interrupted (%v)", err)
	}
	conformancetest.NoVesselHeld(t, mockcontrols.New(tg.mock))
}
