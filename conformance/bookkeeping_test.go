package conformance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"
)

func TestRspecCount(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		rspec any
		want  int
	}{
		{"a count", rs("random", int64(3)), 3},
		{"an int", rs("wan", 2), 2},
		{"zero", rs("random", int64(0)), 1},
		{"negative", rs("random", int64(-10)), 1},
		{"a whole double", rs("random", 2.0), 2},
		{"a fraction", rs("random", 0.5), 1},
		{"a string", rs("random", "4"), 4},
		{"a word", rs("random", "a string"), 1},
		{"true", rs("random", true), 1},
		{"no count", map[string]any{"rspec_type": "wan"}, 1},
		{"not a struct", "wan", 1},
		{"nil", nil, 1},
		{"2^40", rs("random", int64(1)<<40), math.MaxInt32},
	} {
		if have := rspecCount(c.rspec); have != c.want {
			t.Errorf("%s: rspecCount(%v) = %d, want %d", c.name, c.rspec, have, c.want)
		}
	}
}

func TestAsked(t *testing.T) {
	t.Parallel()
	auth := map[string]any{"username": "u", "api_key": "k"}
	for _, c := range []struct {
		name      string
		method    string
		args      []any
		authentic bool
		want      int
	}{
		{"acquire", "acquire_resources", []any{auth, rs("random", int64(2))}, true, 2},
		{"acquire with an empty rspec", "acquire_resources", []any{auth, map[string]any{}}, true, 1},
		{"acquire with no rspec", "acquire_resources", []any{auth}, true, 1},
		{"acquire with wrong credentials", "acquire_resources", []any{auth, rs("random", int64(2))}, false, 0},
		{"specific, duplicates once", "acquire_specific_vessels", []any{auth, []any{"a:v1", "a:v1", "b:v2"}}, true, 2},
		{"specific, not strings", "acquire_specific_vessels", []any{auth, []any{int64(1), nil}}, true, 0},
		{"specific, not a list", "acquire_specific_vessels", []any{auth, "a:v1"}, true, 0},
		{"specific with wrong credentials", "acquire_specific_vessels", []any{auth, []any{"a:v1"}}, false, 0},
	} {
		if have := asked(c.method, c.args, c.authentic); have != c.want {
			t.Errorf("%s: asked = %d, want %d", c.name, have, c.want)
		}
	}
}

func TestHandlesIn(t *testing.T) {
	t.Parallel()
	good := map[string]any{"handle": "n1:v2"}
	split := map[string]any{"node_id": "n2", "vessel_id": "v3"}
	for _, c := range []struct {
		name      string
		res       any
		want      []string
		wantWhole bool
	}{
		{"infodicts", []any{good, split}, []string{"n1:v2", "n2:v3"}, true},
		{"empty", []any{}, nil, true},
		{"one without a handle", []any{good, map[string]any{"node_id": "n3"}}, []string{"n1:v2"}, false},
		{"not a struct", []any{good, "x"}, []string{"n1:v2"}, false},
		{"not a list", int64(0), nil, false},
		{"nil", nil, nil, false},
	} {
		have, whole := handlesIn(c.res)
		if !slices.Equal(have, c.want) || whole != c.wantWhole {
			t.Errorf("%s: handlesIn = %v, %v; want %v, %v", c.name, have, whole, c.want, c.wantWhole)
		}
	}
}

func TestDescribeCall(t *testing.T) {
	t.Parallel()
	auth := map[string]any{"username": "u"}
	for _, c := range []struct {
		method string
		args   []any
		want   string
	}{
		{"acquire_resources", []any{auth, rs("random", int64(1))}, "acquire_resources(random, 1)"},
		{"acquire_resources", []any{auth, map[string]any{}}, "acquire_resources"},
		{"acquire_resources", []any{auth, "wan"}, "acquire_resources"},
		{"acquire_resources", []any{auth}, "acquire_resources"},
		{"acquire_specific_vessels", []any{auth, []any{"a:v1"}}, "acquire_specific_vessels"},
	} {
		if have := describeCall(c.method, c.args); have != c.want {
			t.Errorf("describeCall(%s, %v) = %q, want %q", c.method, c.args, have, c.want)
		}
	}
}

func TestNoAnswer(t *testing.T) {
	t.Parallel()
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	read := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"the call timeout", context.DeadlineExceeded, true},
		{"a wrapped call timeout", &url.Error{Op: "Post", URL: "http://x/", Err: context.DeadlineExceeded}, true},
		{"a network timeout", os.ErrDeadlineExceeded, true},
		{"connection refused", dial, true},
		{"no such host", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, true},
		{"a reset", read, false},
		{"canceled", context.Canceled, false},
		{"anything else", fmt.Errorf("x: %w", errors.New("unexpected EOF")), false},
	} {
		if have := noAnswer(c.err); have != c.want {
			t.Errorf("%s: noAnswer(%v) = %v, want %v", c.name, c.err, have, c.want)
		}
	}
}

// TestNoAnswerLimit: before the target has answered, one call without an
// answer stops the run; after, NoAnswerLimit in a row do, and an answer
// starts the count again.
func TestNoAnswerLimit(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("http://user:secret@127.0.0.1:9/xmlrpc/?key=secret")
	req := &http.Request{URL: u}
	for _, c := range []struct {
		name     string
		answered bool
		events   []error // nil: an answer
		halted   bool
	}{
		{"first call", false, []error{context.DeadlineExceeded}, true},
		{"after an answer, two", true, []error{context.DeadlineExceeded, context.DeadlineExceeded}, false},
		{"after an answer, three", true, []error{context.DeadlineExceeded, context.DeadlineExceeded, context.DeadlineExceeded}, true},
		{"an answer between", true, []error{context.DeadlineExceeded, context.DeadlineExceeded, nil, context.DeadlineExceeded, context.DeadlineExceeded}, false},
		{"resets do not count", false, []error{errors.New("connection reset by peer")}, false},
	} {
		stop, halt := context.WithCancelCause(context.Background())
		s := &session{stop: stop, halt: halt, timeout: 250 * time.Millisecond, answered: c.answered}
		for _, err := range c.events {
			s.noteAnswer(req, err)
		}
		err := s.haltErr()
		if (err != nil) != c.halted {
			t.Errorf("%s: halted %v, want %v", c.name, err, c.halted)
		}
		if err != nil && err.Error() != "the target did not answer: http://127.0.0.1:9/xmlrpc/?key=REDACTED: no answer within 250ms"+map[bool]string{true: " (3 calls in a row)", false: ""}[c.answered] {
			t.Errorf("%s: %q", c.name, err)
		}
		if (stop.Err() != nil) != c.halted {
			t.Errorf("%s: the run's context: %v", c.name, stop.Err())
		}
		halt(nil)
	}
}
