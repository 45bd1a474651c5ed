package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Check runs the suite against the target without go test, for a command
// (cmd/conformance) or any program, and returns its Report. The checks
// are the same as Run's, in the same tree Area/Check.
//
// The error is nil when the suite ran to the end, whatever the checks
// found: ask Report.Failed. It is not nil when the suite could not run (no
// URL, no account, an API key it could not fetch, a target that did not
// answer its first call, an option that is wrong), when the target
// stopped answering (NoAnswerLimit calls in a row with no answer within
// Target.CallTimeout), or when ctx ended the run early; the Report is then
// still returned, unless an option was wrong, and tells as much as is
// known. When ctx ends, the calls in flight are abandoned at once and no
// new check starts (the check running ends as skipped); the cleanups then
// look at what an abandoned acquisition may have taken and release every
// vessel the suite holds, within a few seconds.
func Check(ctx context.Context, target Target, opts ...CheckOption) (*Report, error) {
	var cfg checkConfig
	for _, opt := range opts {
		if opt.apply == nil {
			return nil, errors.New("conformance: zero CheckOption")
		}
		if err := opt.apply(&cfg); err != nil {
			return nil, err
		}
	}
	sr := newSuiteRun(ctx, target, cfg.pattern)
	defer sr.end()
	rn := &runner{ctx: sr.stop, match: cfg.match, log: cfg.log}
	rn.redact = func(text string) string {
		if s := sr.session(); s != nil {
			return s.redact(text)
		}
		return text
	}
	root := rn.newT(nil, "", sr.root)
	root.run(sr.run)
	if ctx.Err() != nil {
		sr.mu.Lock()
		sr.cut = true
		sr.mu.Unlock()
	}
	rep := sr.finalReport()
	sr.mu.Lock()
	running := sr.running
	sr.mu.Unlock()
	var halted error
	if s := sr.session(); s != nil {
		halted = s.haltErr()
	}
	switch {
	case !running && rep.problem != "":
		return rep, errors.New("conformance: " + rep.problem)
	case ctx.Err() != nil:
		return rep, fmt.Errorf("conformance: interrupted: %w", context.Cause(ctx))
	case halted != nil:
		return rep, errors.New("conformance: " + sr.session().redact(halted.Error()))
	case rep.problem != "":
		return rep, errors.New("conformance: " + rep.problem)
	}
	return rep, nil
}

// A CheckOption configures Check. A zero CheckOption makes Check return
// an error.
type CheckOption struct {
	apply func(*checkConfig) error
}

type checkConfig struct {
	pattern string
	match   []*regexp.Regexp
	log     io.Writer
}

// WithMatch runs only the checks that pattern selects, as go test -run
// does: the pattern is split at each '/' outside brackets and
// parentheses, the first part selects areas and the second checks, each
// an unanchored regular expression ("Auth", "Acquire/WAN$",
// "/Shape"). An empty pattern selects everything. A pattern that does not
// compile makes Check return an error.
func WithMatch(pattern string) CheckOption {
	return CheckOption{apply: func(c *checkConfig) error {
		c.pattern, c.match = pattern, nil
		if pattern == "" {
			return nil
		}
		for _, part := range splitPattern(pattern) {
			re, err := regexp.Compile(part)
			if err != nil {
				return fmt.Errorf("conformance: the pattern %q: %v", pattern, err)
			}
			c.match = append(c.match, re)
		}
		return nil
	}}
}

// WithLog writes the progress of the run to w as go test -v does: a
// "=== RUN" line as each area and check starts, its messages as they come
// (redacted), and a "--- PASS", "--- FAIL" or "--- SKIP" line with the
// time taken as it ends.
func WithLog(w io.Writer) CheckOption {
	return CheckOption{apply: func(c *checkConfig) error {
		c.log = w
		return nil
	}}
}

// splitPattern splits a -run pattern at the slashes that are not inside
// brackets or parentheses, as the testing package does.
func splitPattern(p string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '[', '(':
			depth++
		case ']', ')':
			if depth > 0 {
				depth--
			}
		case '\\':
			i++
		case '/':
			if depth == 0 {
				parts = append(parts, p[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, p[start:])
}

// runner is Check's stand-in for the testing package: it runs a tree of
// tests, each in a goroutine of its own, so that FailNow and SkipNow can
// end it with runtime.Goexit as testing does.
type runner struct {
	ctx    context.Context
	match  []*regexp.Regexp // per level, from WithMatch
	redact func(string) string

	logMu sync.Mutex
	log   io.Writer // nil: quiet
}

func (rn *runner) printf(format string, args ...any) {
	if rn.log == nil {
		return
	}
	text := rn.redact(fmt.Sprintf(format, args...))
	rn.logMu.Lock()
	defer rn.logMu.Unlock()
	io.WriteString(rn.log, text)
}

// runT is one test of the runner's tree: the root (the run), an area, a
// check, or a subtest of a check.
type runT struct {
	rn     *runner
	parent *runT
	name   string // full: "Auth/WrongKey"; "" for the root
	depth  int    // 0 for the root
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	rec      *record
	failed   bool
	skipped  bool
	cleanups []func()
}

var _ T = (*runT)(nil)

func (rn *runner) newT(parent *runT, name string, rec *record) *runT {
	t := &runT{rn: rn, parent: parent, name: name, rec: rec}
	// Canceled with the run's context: the calls in flight are abandoned
	// at once. An acquisition cut short is looked at in cleanup, whose
	// calls have contexts of their own.
	ctx := rn.ctx
	if parent != nil {
		ctx = parent.ctx
		t.depth = parent.depth + 1
		if parent.name != "" {
			t.name = parent.name + "/" + name
		}
	}
	t.ctx, t.cancel = context.WithCancel(ctx)
	return t
}

// run runs f as t's body in a goroutine of its own, then t's cleanups,
// and waits for all of it.
func (t *runT) run(f func(T)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer t.end()
		defer func() {
			if v := recover(); v != nil {
				t.panicked(v, debug.Stack())
			}
		}()
		f(t)
	}()
	<-done
}

// panicked records a panic as a failure. testing would stop the whole
// program; a report is more use with the other checks in it.
func (t *runT) panicked(v any, stack []byte) {
	t.record().addError(fmt.Sprintf("panic: %v\n%s", v, stack))
	t.Fail()
}

// end cancels the context, runs the cleanups, the last registered first,
// each in a goroutine of its own (a cleanup may call FailNow too).
func (t *runT) end() {
	t.cancel()
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() {
				if v := recover(); v != nil {
					t.panicked(v, debug.Stack())
				}
			}()
			f()
		}()
		<-done
	}
}

func (t *runT) Name() string { return t.name }

// Helper does nothing: the runner prints no file and line.
func (t *runT) Helper() {}

func (t *runT) record() *record {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rec
}

func (t *runT) setRecord(r *record) {
	t.mu.Lock()
	t.rec = r
	t.mu.Unlock()
}

func (t *runT) logged(kind msgKind, text string) {
	text = strings.TrimSuffix(text, "\n")
	switch kind {
	case msgError:
		t.record().addError(text)
	case msgSkip:
		t.record().addSkip(text)
	default:
		t.record().add(text)
	}
	t.rn.printf("    %s\n", strings.ReplaceAll(text, "\n", "\n    "))
}

func (t *runT) Log(args ...any)                 { t.logged(msgLog, fmt.Sprintln(args...)) }
func (t *runT) Logf(format string, args ...any) { t.logged(msgLog, fmt.Sprintf(format, args...)) }

func (t *runT) Error(args ...any) {
	t.logged(msgError, fmt.Sprintln(args...))
	t.Fail()
}

func (t *runT) Errorf(format string, args ...any) {
	t.logged(msgError, fmt.Sprintf(format, args...))
	t.Fail()
}

func (t *runT) Fatal(args ...any) {
	t.logged(msgError, fmt.Sprintln(args...))
	t.FailNow()
}

func (t *runT) Fatalf(format string, args ...any) {
	t.logged(msgError, fmt.Sprintf(format, args...))
	t.FailNow()
}

// Fail marks t and its parents failed, as testing does.
func (t *runT) Fail() {
	for u := t; u != nil; u = u.parent {
		u.mu.Lock()
		u.failed = true
		u.mu.Unlock()
	}
}

func (t *runT) FailNow() {
	t.Fail()
	runtime.Goexit()
}

func (t *runT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *runT) Skip(args ...any) {
	t.logged(msgSkip, fmt.Sprintln(args...))
	t.SkipNow()
}

func (t *runT) Skipf(format string, args ...any) {
	t.logged(msgSkip, fmt.Sprintf(format, args...))
	t.SkipNow()
}

func (t *runT) SkipNow() {
	t.mu.Lock()
	t.skipped = true
	t.mu.Unlock()
	runtime.Goexit()
}

func (t *runT) Skipped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.skipped
}

func (t *runT) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *runT) Context() context.Context { return t.ctx }

// Run runs f as the subtest name, unless the WithMatch pattern leaves it
// out or the run's context has ended; either way it then returns true
// without running f, as testing does for a test -run leaves out.
func (t *runT) Run(name string, f func(T)) bool {
	if level := t.depth; level < len(t.rn.match) && !t.rn.match[level].MatchString(name) {
		return true
	}
	if t.rn.ctx.Err() != nil {
		return true
	}
	c := t.rn.newT(t, name, t.record())
	t.rn.printf("=== RUN   %s\n", c.name)
	start := time.Now()
	c.run(f)
	took := time.Since(start).Seconds()
	switch {
	case c.Failed():
		t.rn.printf("--- FAIL: %s (%.2fs)\n", c.name, took)
	case c.Skipped():
		t.rn.printf("--- SKIP: %s (%.2fs)\n", c.name, took)
	default:
		t.rn.printf("--- PASS: %s (%.2fs)\n", c.name, took)
	}
	return !c.Failed()
}
