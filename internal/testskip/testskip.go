// Package testskip is the project's rule for skipping a test.
//
// Outside CI a test may skip when something it needs is missing: python3
// for a cross-check, a pseudo-terminal, Chromium, the time -short asks to
// save. Under CI — the environment variable CI set to anything but "",
// "0" or "false", as .ci/run does — such a skip fails the test instead, so
// that a missing tool cannot quietly turn a check off: Skipf does both.
//
// The only skips CI allows are the documented exceptions, the values of
// Exception below, taken with their Skipf method
// (testskip.Platform.Skipf(t, "...")). They are counted:
// this package's test walks the module, fails on any t.Skip, t.Skipf or
// t.SkipNow that does not go through this package (the one allowed
// direct caller is the conformance suite, whose skips depend on the
// target, not on the machine, and are listed and counted in the summary
// it logs), and pins how many places use each exception, so that a new
// one shows up in review.
package testskip

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// EnvCI is the environment variable that marks a CI run.
const EnvCI = "CI"

// CI reports whether this is a CI run: CI is set to anything but "", "0"
// or "false" (any spelling strconv.ParseBool reads as false).
func CI() bool { return isCI(os.Getenv) }

func isCI(getenv func(string) string) bool {
	v := getenv(EnvCI)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// Skipf skips t because something it needs is missing; under CI it fails
// t instead, with the same message.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	skipf(t, CI(), format, args...)
}

func skipf(t testing.TB, ci bool, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if ci {
		t.Fatalf("%s; with %s set this is a failure, not a skip (see internal/testskip)", msg, EnvCI)
		return
	}
	t.Skip(msg)
}

// LookPath returns the path of the program name on PATH. Without it, it
// skips t, or fails it under CI (Skipf), saying that what needs the
// program, purpose, cannot run.
func LookPath(t testing.TB, name, purpose string) string {
	t.Helper()
	return lookPath(t, CI(), exec.LookPath, name, purpose)
}

func lookPath(t testing.TB, ci bool, look func(string) (string, error), name, purpose string) string {
	t.Helper()
	path, err := look(name)
	if err != nil {
		skipf(t, ci, "%s is not on PATH, so %s cannot run (%v)", name, purpose, err)
	}
	return path
}

// GoCommand returns the path of the go command: the one on PATH, or else
// the one in runtime.GOROOT(). Without either, it skips t, or fails it
// under CI, saying that purpose cannot run.
func GoCommand(t testing.TB, purpose string) string {
	t.Helper()
	return goCommand(t, CI(), exec.LookPath, runtime.GOROOT(), purpose)
}

func goCommand(t testing.TB, ci bool, look func(string) (string, error), goroot, purpose string) string {
	t.Helper()
	if path, err := look("go"); err == nil {
		return path
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	path := filepath.Join(goroot, "bin", "go"+exe)
	if _, err := os.Stat(path); err != nil {
		skipf(t, ci, "no go command on PATH or in GOROOT, so %s cannot run (%v)", purpose, err)
	}
	return path
}

// Exception is a documented reason to skip a test even under CI.
type Exception int

// The exceptions. Each names why the skip cannot hide a failure.
const (
	// ChildProcess: the test is the child half of another test (a
	// process that test starts with an environment variable set), and
	// skips when run on its own. The parent test runs it and checks
	// what it does.
	ChildProcess Exception = iota + 1

	// NoDeployment: conformance's TestDeployment runs the suite against
	// an external clearinghouse named by CLEARINGHOUSE_URL or
	// CLEARINGHOUSE_CREDS_FILE; CI names none. The suite runs against
	// the in-process mock and the mock binary in the same run.
	NoDeployment

	// NoTmpfs: the disk-full tests mount a small tmpfs, which needs root
	// and a kernel that lets the runner mount. CI runners often cannot;
	// TestJournalWriteFailureRollsBack covers the same ground there with
	// injected write errors.
	NoTmpfs

	// Platform: the operating system lacks the feature the test is about
	// (a symbolic link without privilege on Windows, SIGKILL and
	// subprocesses on js/wasm, Unix file modes). Never taken on the
	// Linux CI runner.
	Platform
)

var exceptionNames = [...]string{ChildProcess: "ChildProcess", NoDeployment: "NoDeployment", NoTmpfs: "NoTmpfs", Platform: "Platform"}

func (e Exception) valid() bool { return e > 0 && int(e) < len(exceptionNames) }

// String returns the exception's name, such as "ChildProcess".
func (e Exception) String() string {
	if !e.valid() {
		return "Exception(" + strconv.Itoa(int(e)) + ")"
	}
	return exceptionNames[e]
}

// Skipf skips t for the documented reason e, under CI too; the message
// names e. A value that is not one of the exceptions fails t.
func (e Exception) Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	if !e.valid() {
		t.Fatalf("testskip: %v is not a documented exception", e)
		return
	}
	t.Skipf("%s (allowed under CI: testskip.%v)", fmt.Sprintf(format, args...), e)
}
