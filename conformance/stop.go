package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Bounded time. Every call the suite makes is bounded by
// Target.CallTimeout. A run stops early, at once, when Check's context
// ends (a signal, a deadline) or when the target stops answering: the
// calls in flight are abandoned, no new check starts, and the cleanups,
// each call bounded by the call timeout and all of them by stopGrace,
// look at what a call cut short may have acquired and release what the
// suite holds.
const (
	// DefaultCallTimeout bounds each call when Target.CallTimeout is 0.
	DefaultCallTimeout = 30 * time.Second
	// NoAnswerLimit is how many calls in a row may get no answer (no
	// connection, or nothing within the call timeout) before the run
	// stops. Before the target has answered once, one such call stops it.
	NoAnswerLimit = 3
	// stopGrace bounds the cleanup of a run that stopped early.
	stopGrace = 5 * time.Second
)

// noAnswerError says the target stopped answering.
type noAnswerError struct {
	url   string // redacted (displayURL)
	cause string
	calls int // in a row
}

func (e *noAnswerError) Error() string {
	msg := "the target did not answer: " + e.url + ": " + e.cause
	if e.calls > 1 {
		msg += fmt.Sprintf(" (%d calls in a row)", e.calls)
	}
	return msg
}

// answerWatch is the session's HTTP transport: it counts the calls in a
// row that got no answer, and stops the run at NoAnswerLimit.
type answerWatch struct {
	next http.RoundTripper
	s    *session
}

func (w *answerWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(r)
	w.s.noteAnswer(r, err)
	return resp, err
}

// CloseIdleConnections passes the call on, as http.Client expects.
func (w *answerWatch) CloseIdleConnections() {
	if c, ok := w.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// watched returns a copy of hc whose transport watches the answers.
func (s *session) watched(hc *http.Client) *http.Client {
	c := *hc
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &answerWatch{next: next, s: s}
	return &c
}

// noteAnswer counts one exchange: any HTTP response is an answer; no
// connection, or nothing within the call timeout, is none. Calls the
// suite abandoned itself, as the run stops, do not count.
func (s *session) noteAnswer(r *http.Request, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.answered, s.silent = true, 0
		return
	}
	if s.stop.Err() != nil || !noAnswer(err) {
		return
	}
	s.silent++
	limit := NoAnswerLimit
	if !s.answered {
		limit = 1
	}
	if s.silent < limit || s.halted != nil {
		return
	}
	cause := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		cause = fmt.Sprintf("no answer within %v", s.timeout)
	}
	s.halted = &noAnswerError{url: displayURL(r.URL.String()), cause: cause, calls: s.silent}
	s.halt(s.halted)
}

// noAnswer reports whether err means the target did not answer: a
// timeout, or a connection that could not be made.
func noAnswer(err error) bool {
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &ne) && ne.Timeout() ||
		errors.As(err, &op) && op.Op == "dial" ||
		errors.As(err, &dns)
}

// haltErr is why the target stopped the run, or nil.
func (s *session) haltErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.halted == nil {
		return nil
	}
	return s.halted
}

// stopping reports whether the run is stopping early.
func (s *session) stopping() bool { return s.stop.Err() != nil }

// stopReason says why the run is stopping.
func (s *session) stopReason() string {
	if err := s.haltErr(); err != nil {
		return err.Error()
	}
	return "the run was interrupted: " + context.Cause(s.stop).Error()
}

// stopCheck ends the check, skipped, when a call failed because the run
// is stopping: the check did not finish, and its failure would not be
// the target's.
func (s *session) stopCheck(t T, err error) {
	t.Helper()
	if err != nil && s.stopping() {
		s.skipf(t, "not finished: %s", s.stopReason())
	}
}

// callCtx bounds a call the suite makes outside a check's own calls while
// the run goes on (setup, a look after a lost answer).
func (s *session) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.stop, s.timeout)
}

// cleanupCtx bounds a cleanup call: by the call timeout, and once the run
// is stopping, by the end of its grace period.
func (s *session) cleanupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.grace, s.timeout)
}

// cleanupDo runs f, a call made in cleanup, with a cleanupCtx.
func (s *session) cleanupDo(f func(ctx context.Context) error) error {
	ctx, cancel := s.cleanupCtx()
	defer cancel()
	return f(ctx)
}
