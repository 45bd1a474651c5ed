package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// How a fault decision (faults.go) reaches the HTTP exchange. While a
// profile is in force, a call to /xmlrpc runs through serveInjected: the
// XML-RPC server answers into a buffer, and the method handler registered
// in http.go asks the engine, once the call is decoded and its method and
// username are known, what to inject, and records the decision in the
// request's injection slot. A decision that the call is not applied
// (reset_before, unavailable, server_error) skips Server.call; otherwise
// the call runs to completion, durably with a state file, before anything
// is injected. serveInjected then waits out the latency and delivers the
// buffered answer as decided: whole, dripped, truncated, replaced by an
// HTTP error, or not at all (a reset).

// errNotApplied is what the method handler returns for a call that a
// fault stops before it is applied; its answer is never sent.
var errNotApplied = errors.New("mockserver: call not applied (injected fault)")

// injection is one HTTP call's injection slot, carried in its request's
// context from serveInjected to the method handler and the observer.
type injection struct {
	d        *faultDecision // nil: nothing injected
	method   string
	username string
	info     *xmlrpc.CallInfo // what the observer saw; nil if the call was not decoded
	flight   *flight          // an acquisition whose answer deliver may not get through; nil if none
}

type injectionKey struct{}

// injectionOf returns the request's injection slot, or nil.
func injectionOf(ctx context.Context) *injection {
	in, _ := ctx.Value(injectionKey{}).(*injection)
	return in
}

// decide asks the engine about a decoded call and remembers the answer.
// It reports whether the call is to be applied.
func (in *injection) decide(e *faultEngine, method string, params []any) bool {
	in.method, in.username = method, callUsername(method, params)
	in.d = e.decide(method, in.username)
	return in.d == nil || !in.d.kind.beforeApply()
}

// serveInjected serves one XML-RPC request under the fault profile.
func (s *Server) serveInjected(w http.ResponseWriter, r *http.Request, rpc http.Handler, recent *recentCalls) {
	start := time.Now()
	in := &injection{}
	buf := &bufferedResponse{rw: w, header: http.Header{}}
	rpc.ServeHTTP(buf, r.WithContext(context.WithValue(r.Context(), injectionKey{}, in)))
	d := in.d
	if d == nil {
		buf.copyTo(w)
		if in.info != nil {
			s.observeCall(r, *in.info, nil, recent)
		}
		return
	}
	// The call is logged and recorded before the client can see its end
	// (a reset, a close, the last piece of the answer), so that a client
	// that calls again at once is recorded after it.
	settled := false
	settle := func(delivered bool) {
		if in.flight != nil && !settled {
			settled = true
			s.settleFlight(in.flight, delivered)
		}
	}
	defer settle(true) // deliver ended some other way: claim no loss
	note := func(clientGone bool) {
		settle(!clientGone)
		info := xmlrpc.CallInfo{Method: in.method}
		if in.info != nil {
			info = *in.info
		}
		info.Duration = time.Since(start)
		if d.kind.beforeApply() {
			info.Fault = nil // the fault in the buffer answered a call that never happened
		}
		attrs := []any{"method", in.method, "fault", d.label(), "rule", d.rule + 1, "applied", !d.kind.beforeApply()}
		if in.username != "" {
			attrs = append(attrs, "username", in.username)
		}
		if clientGone {
			attrs = append(attrs, "client_gone", true)
		}
		s.log.InfoContext(r.Context(), "injected fault", attrs...)
		s.observeCall(r, info, d, recent)
	}
	deliver(w, r, buf, d, note)
}

// settleFlight tells the behaviour report whether the answer of an
// acquisition whose delivery was in doubt reached the client.
func (s *Server) settleFlight(f *flight, delivered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watch.delivered(f, delivered)
}

// deliver applies decision d to the buffered answer, calling note once,
// just before the client can see the end of the exchange; note's argument
// says the client went away during an injected delay.
func deliver(w http.ResponseWriter, r *http.Request, buf *bufferedResponse, d *faultDecision, note func(clientGone bool)) {
	budget := maxFaultDelay
	if !sleepFor(r.Context(), d.stop, d.delay) {
		note(true)
		resetConn(w)
		return
	}
	budget -= d.delay
	switch d.kind {
	case FaultResetBefore, FaultResetAfter:
		note(false)
		resetConn(w)
		return
	case FaultUnavailable:
		secs := int64((d.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		http.Error(w, "mockserver: injected fault: service unavailable", http.StatusServiceUnavailable)
		note(false) // the answer is buffered until the handler returns
		return
	case FaultServerError:
		http.Error(w, "mockserver: injected fault: internal server error", http.StatusInternalServerError)
		note(false)
		return
	}
	body := buf.body.Bytes()
	if d.kind == FaultTruncate {
		body = body[:len(body)/2]
	}
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	w.WriteHeader(buf.code)
	if d.dripBytes > 0 {
		drip(r.Context(), w, body, d, budget, note)
	} else {
		note(false)
		w.Write(body)
	}
	if d.kind == FaultTruncate {
		closeConn(w)
	}
}

// drip writes body in pieces with pauses, within budget; once the budget
// is spent, or the profile is replaced, the rest goes out at once. It
// calls note before the last write, or when the client has gone.
func drip(ctx context.Context, w http.ResponseWriter, body []byte, d *faultDecision, budget time.Duration, note func(clientGone bool)) {
	rc := http.NewResponseController(w)
	for {
		if len(body) <= d.dripBytes || budget < d.dripPause {
			note(false)
			w.Write(body)
			return
		}
		if _, err := w.Write(body[:d.dripBytes]); err != nil {
			note(true)
			return
		}
		body = body[d.dripBytes:]
		if err := rc.Flush(); err != nil {
			note(true)
			return
		}
		if !sleepFor(ctx, d.stop, d.dripPause) {
			note(true)
			return
		}
		budget -= d.dripPause
		select {
		case <-d.stop: // the profile was replaced: no more pauses
			budget = 0
		default:
		}
	}
}

// sleepFor waits d, or less if stop is closed. It reports false if ctx
// ended first: the client has gone.
func sleepFor(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-stop:
	case <-ctx.Done():
		return false
	}
	return true
}

// resetConn ends the connection at once. Over HTTP/1 it takes the
// connection over and closes it with SO_LINGER 0, so that the peer gets a
// TCP RST; where the connection cannot be taken over (HTTP/2, a wrapped
// ResponseWriter) it aborts the handler, which closes the connection or
// resets the stream.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc := tcpConnOf(conn); tc != nil {
		tc.SetLinger(0)
		tc.Close()
		return
	}
	conn.Close()
}

// closeConn flushes what was written and closes the connection in the
// ordinary way (FIN), leaving the client short of the Content-Length it
// was promised.
func closeConn(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	// Hijack sends the header but drops what is buffered of the body.
	rc.Flush()
	conn, bufrw, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	bufrw.Flush()
	conn.Close()
}

// tcpConnOf returns the TCP connection under conn, if any.
func tcpConnOf(conn net.Conn) *net.TCPConn {
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	tc, _ := conn.(*net.TCPConn)
	return tc
}

// bufferedResponse is the ResponseWriter the XML-RPC server answers into
// while a profile is in force. It keeps the answer for deliver, and hands
// the calls of http.ResponseController that are not about the answer (the
// read deadline the body budget sets) to the real ResponseWriter.
type bufferedResponse struct {
	rw     http.ResponseWriter
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// FlushError keeps the answer in the buffer: nothing is sent early.
func (b *bufferedResponse) FlushError() error { return nil }

// Hijack is refused: the connection belongs to deliver.
func (b *bufferedResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, http.ErrNotSupported
}

// Unwrap gives http.ResponseController the real ResponseWriter.
func (b *bufferedResponse) Unwrap() http.ResponseWriter { return b.rw }

// copyTo sends the buffered answer unchanged.
func (b *bufferedResponse) copyTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.code == 0 {
		b.code = http.StatusOK
	}
	w.WriteHeader(b.code)
	w.Write(b.body.Bytes())
}
