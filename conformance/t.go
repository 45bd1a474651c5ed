package conformance

import (
	"context"
	"fmt"
	"testing"
)

// T is the handle a check runs with, and the one Target.Restart gets: the
// methods of *testing.T the suite uses, with the same meaning. Under go
// test (Run) it wraps the test's *testing.T; under Check it is the suite's
// own runner, which needs no go test. FailNow, Fatal, Fatalf, SkipNow, Skip
// and Skipf end the calling goroutine (runtime.Goexit), so they must be
// called from the goroutine running the check, as with testing.
//
// Like testing.TB, T has an unexported method, so that only this package
// implements it and methods can be added to it without breaking anyone.
type T interface {
	// Name is the full name: "TestDeployment/Auth/WrongKey" under go
	// test, "Auth/WrongKey" under Check.
	Name() string
	Helper()
	Log(args ...any)
	Logf(format string, args ...any)
	Error(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Fail()
	FailNow()
	Failed() bool
	Skip(args ...any)
	Skipf(format string, args ...any)
	SkipNow()
	Skipped() bool
	// Cleanup registers f to run when the test and its subtests end,
	// the last registered first.
	Cleanup(f func())
	// Context is canceled just before the Cleanup functions run.
	Context() context.Context
	// Run runs f as a subtest called name and waits for it; it reports
	// whether the subtest passed (or was not run, being filtered out).
	Run(name string, f func(t T)) bool

	// record is what the suite learns of the check this T belongs to;
	// subtests share their parent's.
	record() *record
	// setRecord attaches a fresh record (an area's, a check's).
	setRecord(r *record)
}

// testingT adapts a *testing.T to T. Messages go to the *testing.T as
// they would without the adapter, and into the record for the report.
// Helper is the embedded one, so that it marks the caller.
type testingT struct {
	*testing.T
	rec *record
}

var _ T = (*testingT)(nil)

func (w *testingT) record() *record     { return w.rec }
func (w *testingT) setRecord(r *record) { w.rec = r }

func (w *testingT) Log(args ...any) {
	w.T.Helper()
	w.rec.add(fmt.Sprintln(args...))
	w.T.Log(args...)
}

func (w *testingT) Logf(format string, args ...any) {
	w.T.Helper()
	w.rec.add(fmt.Sprintf(format, args...))
	w.T.Logf(format, args...)
}

func (w *testingT) Error(args ...any) {
	w.T.Helper()
	w.rec.addError(fmt.Sprintln(args...))
	w.T.Error(args...)
}

func (w *testingT) Errorf(format string, args ...any) {
	w.T.Helper()
	w.rec.addError(fmt.Sprintf(format, args...))
	w.T.Errorf(format, args...)
}

func (w *testingT) Fatal(args ...any) {
	w.T.Helper()
	w.rec.addError(fmt.Sprintln(args...))
	w.T.Fatal(args...)
}

func (w *testingT) Fatalf(format string, args ...any) {
	w.T.Helper()
	w.rec.addError(fmt.Sprintf(format, args...))
	w.T.Fatalf(format, args...)
}

func (w *testingT) Skip(args ...any) {
	w.T.Helper()
	w.rec.addSkip(fmt.Sprintln(args...))
	w.T.Skip(args...)
}

func (w *testingT) Skipf(format string, args ...any) {
	w.T.Helper()
	w.rec.addSkip(fmt.Sprintf(format, args...))
	w.T.Skipf(format, args...)
}

func (w *testingT) Run(name string, f func(t T)) bool {
	w.T.Helper()
	return w.T.Run(name, func(t *testing.T) { f(&testingT{T: t, rec: w.rec}) })
}
