package conformance

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// newTestRunner returns the root of a runner tree, as Check makes it.
func newTestRunner(t *testing.T, ctx context.Context, pattern string) *runT {
	t.Helper()
	var cfg checkConfig
	if err := WithMatch(pattern).apply(&cfg); err != nil {
		t.Fatal(err)
	}
	rn := &runner{ctx: ctx, match: cfg.match, redact: func(s string) string { return s }}
	return rn.newT(nil, "", newRecord("", ""))
}

// TestRunnerBehavesLikeTesting pins the runner's semantics to those of
// package testing, for each method the checks use.
func TestRunnerBehavesLikeTesting(t *testing.T) {
	t.Parallel()
	type outcome struct {
		failed, skipped bool
		events          []string
		msgs            []string // kind: text
	}
	for _, c := range []struct {
		name string
		body func(t T, ev func(string))
		want outcome
	}{
		{
			name: "pass",
			body: func(t T, ev func(string)) { t.Log("hello", 1); ev("end") },
			want: outcome{events: []string{"end"}, msgs: []string{"log: hello 1"}},
		},
		{
			name: "Error goes on",
			body: func(t T, ev func(string)) { t.Errorf("bad %d", 1); ev("after") },
			want: outcome{failed: true, events: []string{"after"}, msgs: []string{"error: bad 1"}},
		},
		{
			name: "Fatal stops the body, cleanups run last first",
			body: func(t T, ev func(string)) {
				t.Cleanup(func() { ev("cleanup 1") })
				t.Cleanup(func() { ev("cleanup 2") })
				t.Fatal("stop")
				ev("after")
			},
			want: outcome{failed: true, events: []string{"cleanup 2", "cleanup 1"}, msgs: []string{"error: stop"}},
		},
		{
			name: "Skip stops the body",
			body: func(t T, ev func(string)) {
				t.Cleanup(func() { ev("cleanup") })
				t.Skipf("no %s", "controls")
				ev("after")
			},
			want: outcome{skipped: true, events: []string{"cleanup"}, msgs: []string{"skip: no controls"}},
		},
		{
			name: "a failing subtest fails its parent, which goes on",
			body: func(t T, ev func(string)) {
				ok := t.Run("sub", func(t T) { t.Fatal("inner") })
				ev("ok " + strconv.FormatBool(ok) + ", failed " + strconv.FormatBool(t.Failed()))
			},
			want: outcome{failed: true, events: []string{"ok false, failed true"}, msgs: []string{"error: inner"}},
		},
		{
			name: "a panic is a failure, and cleanups run",
			body: func(t T, ev func(string)) {
				t.Cleanup(func() { ev("cleanup") })
				panic("boom")
			},
			want: outcome{failed: true, events: []string{"cleanup"}, msgs: []string{"error: panic: boom"}},
		},
		{
			name: "the context ends before the cleanups",
			body: func(t T, ev func(string)) {
				ctx := t.Context()
				t.Cleanup(func() { ev("in cleanup: " + fmt.Sprint(ctx.Err())) })
				ev("in body: " + fmt.Sprint(ctx.Err()))
			},
			want: outcome{events: []string{"in body: <nil>", "in cleanup: context canceled"}},
		},
		{
			name: "a cleanup that calls Fatal does not stop the others",
			body: func(t T, ev func(string)) {
				t.Cleanup(func() { ev("first registered") })
				t.Cleanup(func() { t.Fatal("in cleanup"); ev("unreached") })
				t.Cleanup(func() {
					ev("last registered")
					t.Cleanup(func() { ev("registered in a cleanup") })
				})
			},
			want: outcome{failed: true, events: []string{"last registered", "registered in a cleanup", "first registered"}, msgs: []string{"error: in cleanup"}},
		},
		{
			name: "Failed after a failure in a goroutine",
			body: func(t T, ev func(string)) {
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() { t.Error("concurrent") })
				}
				wg.Wait()
				ev("failed " + strconv.FormatBool(t.Failed()))
			},
			want: outcome{failed: true, events: []string{"failed true"}, msgs: slices.Repeat([]string{"error: concurrent"}, 4)},
		},
		{
			name: "a warning",
			body: func(t T, ev func(string)) { t.Log(warningPrefix + "reworded") },
			want: outcome{msgs: []string{"warning: reworded"}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := newTestRunner(t, context.Background(), "")
			var mu sync.Mutex
			var have outcome
			ev := func(e string) {
				mu.Lock()
				have.events = append(have.events, e)
				mu.Unlock()
			}
			var leaf T
			root.run(func(rt T) {
				rt.Run("leaf", func(t T) {
					leaf = t
					t.setRecord(newRecord("A", "leaf"))
					c.body(t, ev)
				})
			})
			have.failed, have.skipped = leaf.Failed(), leaf.Skipped()
			for _, m := range leaf.record().msgs {
				text, _, _ := strings.Cut(m.text, "\n") // a panic's stack
				have.msgs = append(have.msgs, m.kind.String()+": "+text)
			}
			if !reflect.DeepEqual(have, c.want) {
				t.Errorf("have %+v\nwant %+v", have, c.want)
			}
			if root.Failed() != c.want.failed {
				t.Errorf("the root: failed %v, want %v", root.Failed(), c.want.failed)
			}
		})
	}
}

// TestRunnerMatch checks WithMatch against the names go test -run would
// select.
func TestRunnerMatch(t *testing.T) {
	t.Parallel()
	tree := map[string][]string{
		"Auth":    {"WrongKey", "KeyExact", "UnknownUser"},
		"Acquire": {"WAN", "LAN", "WANOnly"},
		"Keys":    {"Shape"},
	}
	for _, c := range []struct {
		pattern string
		want    []string
	}{
		{"", []string{"Acquire/LAN", "Acquire/WAN", "Acquire/WANOnly", "Auth/KeyExact", "Auth/UnknownUser", "Auth/WrongKey", "Keys/Shape"}},
		{"Auth", []string{"Auth/KeyExact", "Auth/UnknownUser", "Auth/WrongKey"}},
		{"Acquire/WAN$", []string{"Acquire/WAN"}},
		{"/Key", []string{"Auth/KeyExact", "Auth/WrongKey"}},
		{"^(Auth|Keys)$/^(WrongKey|Shape)$", []string{"Auth/WrongKey", "Keys/Shape"}},
		{"A[a-z/]*/LAN", []string{"Acquire/LAN"}}, // a slash in brackets does not split
		{"Nothing", nil},
	} {
		root := newTestRunner(t, context.Background(), c.pattern)
		var mu sync.Mutex
		var have []string
		root.run(func(rt T) {
			for _, area := range []string{"Acquire", "Auth", "Keys"} {
				rt.Run(area, func(t T) {
					for _, name := range tree[area] {
						t.Run(name, func(t T) {
							mu.Lock()
							have = append(have, t.Name())
							mu.Unlock()
						})
					}
				})
			}
		})
		slices.Sort(have)
		if !slices.Equal(have, c.want) {
			t.Errorf("-run %q ran %v, want %v", c.pattern, have, c.want)
		}
	}
	if _, err := Check(context.Background(), Target{}, WithMatch("Auth/(")); err == nil || !strings.Contains(err.Error(), "conformance: the pattern") {
		t.Errorf("a pattern that does not compile: %v", err)
	}
	if _, err := Check(context.Background(), Target{}, CheckOption{}); err == nil {
		t.Error("a zero CheckOption: no error")
	}
}

// TestRunnerStopsWhenCanceled: once the run's context ends, no new test
// starts, the running one's context ends too (its calls in flight are
// abandoned; the suite looks at what they may have acquired in cleanup),
// and its cleanups run.
func TestRunnerStopsWhenCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	root := newTestRunner(t, ctx, "")
	var ran []string
	var cleaned bool
	var checkCtx error
	root.run(func(rt T) {
		for _, name := range []string{"a", "b", "c"} {
			rt.Run(name, func(t T) {
				ran = append(ran, name)
				t.Cleanup(func() { cleaned = true })
				cancel()
				checkCtx = t.Context().Err()
			})
		}
	})
	if !slices.Equal(ran, []string{"a"}) || !cleaned || !errors.Is(checkCtx, context.Canceled) {
		t.Errorf("ran %v, cleaned up %v, the check's context %v; want [a], true and canceled", ran, cleaned, checkCtx)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("ctx: %v", ctx.Err())
	}
}

func TestSplitPattern(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Auth", []string{"Auth"}},
		{"Auth/WrongKey", []string{"Auth", "WrongKey"}},
		{"/Shape", []string{"", "Shape"}},
		{"[/]x/(a/b)", []string{"[/]x", "(a/b)"}},
		{`a\/b/c`, []string{`a\/b`, "c"}},
	} {
		if have := splitPattern(c.in); !slices.Equal(have, c.want) {
			t.Errorf("splitPattern(%q) = %q, want %q", c.in, have, c.want)
		}
	}
}
