package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
)

func TestRunFaultFlagErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "bad.json")
	badRule := filepath.Join(dir, "rule.json")
	good := filepath.Join(dir, "good.json")
	for path, data := range map[string]string{
		badJSON: `{"rules": [`,
		badRule: `{"rules": [{"method": "acquire_resources", "latency": "2m"}]}`,
		good:    `{"seed": 1, "rules": [{"method": "*", "fault": "reset_before", "next": 1}]}`,
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-faults-spec", "*:explode"}, `-faults-spec: mockserver: fault spec: rule 1 ("*:explode")`},
		{[]string{"-faults-spec", "seed=1;no_method:reset_after"}, `method "no_method" is not one of the ten`},
		{[]string{"-faults", badJSON}, "-faults " + badJSON + ": unexpected end of JSON input"},
		{[]string{"-faults", badRule}, "latency 2m0s plus jitter 0s: at most 30s"},
		{[]string{"-faults", filepath.Join(dir, "missing.json")}, "-faults: open "},
		{[]string{"-faults", good, "-faults-spec", "*:reset_before"}, "give -faults or -faults-spec, not both"},
	} {
		err := run(context.Background(), append(tc.args, "-addr", "127.0.0.1:0"), io.Discard, io.Discard)
		if !isUsageError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: have %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
	o, err := parseFlags([]string{"-faults", good}, io.Discard)
	if err != nil || o.faults.String() != "seed=1;*:reset_before,next=1" {
		t.Errorf("-faults %s: %v, %v", good, o, err)
	}
	wantHelp(t, "-faults", "-faults-spec", "-report-out", "-report-strict")
}

// TestRunReport runs the command with a fault profile, leaks vessels
// through a lost answer, and checks the report on stderr, in -report-out
// and in the exit error of -report-strict.
func TestRunReport(t *testing.T) {
	t.Parallel()
	reportPath := filepath.Join(t.TempDir(), "report.json")
	var stderr syncbuf.Buffer
	creds, out, stop := startRunStderr(t, &stderr, "-nodes", "30", "-report-out", reportPath, "-report-strict",
		"-faults-spec", "seed=2;acquire_resources:reset_after,next=1")
	if !strings.Contains(out.String(), "Injecting faults: seed=2;acquire_resources:reset_after,next=1\n") {
		t.Errorf("the banner does not show the profile:\n%s", out)
	}
	c := clientFor(t, creds, 0)
	if _, err := c.AcquireWAN(t.Context(), 2); !errors.Is(err, clearinghouse.ErrCommunication) {
		t.Fatalf("the first acquire: have %v, want ErrCommunication", err)
	}
	if _, err := c.AcquireWAN(t.Context(), 2); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	err := stop()
	var fe *findingsError
	if !errors.As(err, &fe) || fe.n != 2 {
		t.Fatalf("stop: have %v, want 2 findings under -report-strict", err)
	}
	text := stderr.String()
	for _, want := range []string{
		"(mock clock): 2 findings\n",
		"  leak demo1: holds 4 vessels never released",
		"  duplicate_acquire demo1: acquired 2 vessels at ",
		"held 4, its calls asked for 2\n",
		"(answer lost)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("stderr lacks %q:\n%s", want, text)
		}
	}
	data, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Findings []struct {
			Kind, Account string
			Evidence      struct{ Count, Held, Target int }
		}
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("-report-out: %v\n%s", err, data)
	}
	if len(r.Findings) != 2 || r.Findings[0].Kind != "leak" || r.Findings[0].Evidence.Count != 4 ||
		r.Findings[1].Kind != "duplicate_acquire" || r.Findings[1].Evidence.Held != 4 || r.Findings[1].Evidence.Target != 2 {
		t.Errorf("-report-out:\n%s", data)
	}
	if fi, err := os.Stat(reportPath); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("-report-out mode: %v %v", fi.Mode(), err)
	}
}

// TestRunReportCareful checks that a client that releases what it
// acquires leaves a strict run clean.
func TestRunReportCareful(t *testing.T) {
	t.Parallel()
	reportPath := filepath.Join(t.TempDir(), "report.json")
	var stderr syncbuf.Buffer
	creds, _, stop := startRunStderr(t, &stderr, "-nodes", "30", "-report-out", reportPath, "-report-strict")
	c := clientFor(t, creds, 0)
	vs, err := c.AcquireWAN(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	var hs []clearinghouse.Handle
	for _, v := range vs {
		hs = append(hs, v.Handle)
	}
	if err := c.ReleaseResources(t.Context(), hs); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !strings.Contains(stderr.String(), "(mock clock): 0 findings\n") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	data, err := os.ReadFile(reportPath)
	if err != nil || !strings.Contains(string(data), `"findings": []`) {
		t.Errorf("-report-out: %v\n%s", err, data)
	}
}

// TestExitCodeReportStrict runs the command as a process, leaks a vessel
// and stops it with SIGTERM: -report-strict makes it exit with status 3.
func TestExitCodeReportStrict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		release bool
		code    int
	}{{"leak", false, exitFindings}, {"careful", true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd, stderr, done, creds := startProcess(t, 30*time.Second, "-nodes", "20", "-report-strict")
			c := clientFor(t, creds, 0)
			vs, err := c.AcquireWAN(t.Context(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if tc.release {
				if err := c.ReleaseResources(t.Context(), []clearinghouse.Handle{vs[0].Handle}); err != nil {
					t.Fatal(err)
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			if code := exitCode(t, <-done); code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if tc.code == exitFindings && !strings.Contains(stderr.String(), "mockclearinghouse: -report-strict: the behaviour report has 1 finding") {
				t.Errorf("stderr does not say why:\n%s", stderr.String())
			}
		})
	}
}
