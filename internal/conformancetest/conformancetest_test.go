package conformancetest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// recorder is a testing.TB that records what ReadJUnit reports.
type recorder struct {
	testing.TB
	errs  []string
	fatal bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
	runtime.Goexit()
}

// readJUnit runs ReadJUnit on data with a recorder, in a goroutine of its
// own so that Fatalf can end it.
func readJUnit(data string) (JUnit, *recorder) {
	r := &recorder{}
	var js JUnit
	done := make(chan struct{})
	go func() {
		defer close(done)
		js = ReadJUnit(r, []byte(data))
	}()
	<-done
	return js, r
}

const goodJUnit = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1" errors="0" skipped="1">
  <testsuite name="HTTP" tests="1" failures="0"><testcase name="BannerGET" classname="HTTP"></testcase></testsuite>
  <testsuite name="Auth" tests="2" failures="1">
    <testcase name="WrongKey" classname="Auth"><failure message="m">have 100</failure></testcase>
    <testcase name="KeyExact" classname="Auth"><skipped message="needs Controls"></skipped></testcase>
  </testsuite>
</testsuites>
`

func TestReadJUnit(t *testing.T) {
	t.Parallel()
	js, r := readJUnit(goodJUnit)
	if len(r.errs) != 0 {
		t.Fatalf("a good file: %q", r.errs)
	}
	if have := js.Names(); !slices.Equal(have, []string{"HTTP", "Auth"}) {
		t.Errorf("Names: have %q, want HTTP, Auth", have)
	}
	if have := js.Failed(); !slices.Equal(have, []string{"Auth/WrongKey"}) {
		t.Errorf("Failed: have %q, want Auth/WrongKey", have)
	}
	if c := js.Suites[1].Cases[1]; c.Skipped == nil || c.Skipped.Message != "needs Controls" {
		t.Errorf("the skipped case: %+v", c)
	}

	for _, tc := range []struct {
		name, data, want string
		fatal            bool
	}{
		{"not XML", "<testsuites", "the JUnit file does not parse", true},
		{"trailing element", goodJUnit + "<more/>", "goes on after </testsuites>", true},
		{"suite total", strings.Replace(goodJUnit, `name="Auth" tests="2"`, `name="Auth" tests="3"`, 1), "testsuite Auth: tests=3, 2 testcases", false},
		{"overall total", strings.Replace(goodJUnit, `failures="1" errors`, `failures="0" errors`, 1), "testsuites: tests=3 failures=0; the testsuites add up to 3 and 1", false},
	} {
		_, r := readJUnit(tc.data)
		if r.fatal != tc.fatal || len(r.errs) == 0 || !strings.Contains(r.errs[0], tc.want) {
			t.Errorf("%s: have fatal %v, %q; want fatal %v and %q", tc.name, r.fatal, r.errs, tc.fatal, tc.want)
		}
	}
}
