package conformance

import (
	"context"
	"testing"
)

// T is the handle a check runs with, and the one Target.Restart gets: the
// methods of *testing.T the suite uses, with the same meaning. Under go
// test (Run) it wraps the test's *testing.T.
//
// Like testing.TB, T has an unexported method, so that only this package
// implements it and methods can be added to it without breaking anyone.
type T interface {
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
	Cleanup(f func())
	Context() context.Context
	// Run runs f as a subtest called name and waits for it; it reports
	// whether the subtest passed.
	Run(name string, f func(t T)) bool

	private()
}

// testingT adapts a *testing.T to T.
type testingT struct {
	*testing.T
}

var _ T = (*testingT)(nil)

func (w *testingT) private() {}

func (w *testingT) Run(name string, f func(t T)) bool {
	w.T.Helper()
	return w.T.Run(name, func(t *testing.T) { f(&testingT{T: t}) })
}
