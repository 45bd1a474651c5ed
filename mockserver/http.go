package mockserver

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// banner is the HTML page the historical service sent for anything that
// was not an XML-RPC call (contract §1).
const banner = `<b>This is the SeattleGeni XML-RPC Service.</b><br>Please see <a href=https://seattle.poly.edu/wiki/SeattleGeniApi>https://seattle.poly.edu/wiki/SeattleGeniApi</a> for more information.`

// ServeHTTP serves the XML-RPC endpoint at every path that begins with
// /xmlrpc, the JSON controls under /admin/ when they are enabled, an HTML
// status page at / and /status, and 404 elsewhere.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.httpOnce.Do(func() { s.httpHandler = s.newHandler() })
	s.httpHandler.ServeHTTP(w, r)
}

func (s *Server) newHandler() http.Handler {
	recent := newRecentCalls(recentCallsKept, s.cfg.wall)
	rpc, err := xmlrpc.NewServer(
		xmlrpc.WithFaultFunc(s.wireFault),
		xmlrpc.WithNonPOSTHandler(http.HandlerFunc(serveBanner)),
		xmlrpc.WithObserver(func(r *http.Request, info xmlrpc.CallInfo) {
			if in := injectionOf(r.Context()); in != nil {
				in.info = &info // serveInjected records it once the fault is delivered
				return
			}
			s.observeCall(r, info, nil, recent)
		}),
		xmlrpc.WithLogger(s.log),
		xmlrpc.WithLimits(wireLimits()),
		xmlrpc.WithBodyBudget(wireBudget()),
	)
	if err != nil {
		panic("mockserver: " + err.Error()) // the options are constants
	}
	for _, name := range methodNames {
		if err := rpc.Register(name, func(ctx context.Context, params []any) (any, error) {
			if in := injectionOf(ctx); in != nil {
				if !in.decide(s.faults, name, params) {
					return nil, errNotApplied
				}
				switch {
				case in.d == nil:
				case in.d.kind.losesAnswer():
					ctx = withLostAnswer(ctx)
				default: // delivered late, or in pieces: the client may give up
					in.flight = &flight{}
					ctx = withFlight(ctx, in.flight)
				}
			}
			return s.call(ctx, name, params)
		}); err != nil {
			panic("mockserver: " + err.Error()) // the names are constants
		}
	}
	var admin http.Handler
	if s.admin {
		admin = s.adminHandler()
	}
	status := s.newStatusPage(recent)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/xmlrpc"):
			if r.Method == http.MethodPost && emptyBody(r) {
				serveBanner(w, r)
				return
			}
			if s.faults.on.Load() {
				s.serveInjected(w, r, rpc, recent)
				return
			}
			rpc.ServeHTTP(w, r)
		case admin != nil && (r.URL.Path == "/admin" || strings.HasPrefix(r.URL.Path, "/admin/")):
			admin.ServeHTTP(w, r)
		case r.URL.Path == "/" || r.URL.Path == "/status":
			status.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// emptyBody reports whether a POST carries no body, peeking at a chunked
// one without losing what it reads.
func emptyBody(r *http.Request) bool {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return true
	}
	if r.ContentLength > 0 {
		return false
	}
	br := bufio.NewReaderSize(r.Body, 64)
	_, err := br.Peek(1)
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	return err == io.EOF
}

func serveBanner(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(banner)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, banner)
	}
}

// wireFault gives the faults the XML-RPC layer builds itself their
// historical codes and strings (contract §2).
func (s *Server) wireFault(kind xmlrpc.FaultKind, method string, err error) *xmlrpc.Fault {
	switch kind {
	case xmlrpc.FaultParse, xmlrpc.FaultInvalidRequest:
		return fault(codeMalformed, "<class 'xml.parsers.expat.ExpatError'>:"+malformedDetail(err))
	case xmlrpc.FaultMethodNotFound:
		return unknownMethodFault(method)
	}
	return internalFault()
}

// malformedDetail describes why a request could not be decoded, from the
// fields of the error the XML-RPC layer reports (a *xmlrpc.DecodeError or
// a *xmlrpc.LimitError).
func malformedDetail(err error) string {
	var de *xmlrpc.DecodeError
	var le *xmlrpc.LimitError
	switch {
	case errors.As(err, &le):
		return le.Limit.String() + " limit of " + strconv.FormatInt(le.Max, 10) + " exceeded"
	case errors.As(err, &de) && de.Line > 0:
		return "line " + strconv.Itoa(de.Line) + ": " + de.Msg
	case errors.As(err, &de):
		return de.Msg
	}
	return "malformed request"
}

// observeCall logs a finished call and adds it to the status page's
// recent calls; d is what was injected into it (nil for nothing).
func (s *Server) observeCall(r *http.Request, info xmlrpc.CallInfo, d *faultDecision, recent *recentCalls) {
	s.logCall(r, info, d)
	recent.record(info, d)
}

// logCall writes one line per call: method, username, duration, fault
// code and injected faults. Parameters are never logged, as they carry
// API keys and passwords.
func (s *Server) logCall(r *http.Request, info xmlrpc.CallInfo, d *faultDecision) {
	if !s.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	attrs := []any{"method", info.Method, "duration", info.Duration}
	if u := callUsername(info.Method, info.Params); u != "" {
		attrs = append(attrs, "username", u)
	}
	if info.Fault != nil {
		attrs = append(attrs, "fault", info.Fault.Code)
	}
	if d != nil {
		attrs = append(attrs, "injected", d.label())
	}
	s.log.InfoContext(r.Context(), "call", attrs...)
}

// callUsername finds the username a call names: in the auth struct, or
// the plain first parameter of get_encrypted_api_key. Names that are not
// printableName are left out of the log: it returns "" for them.
func callUsername(method string, params []any) string {
	if len(params) == 0 {
		return ""
	}
	var u string
	switch p := params[0].(type) {
	case map[string]any:
		u, _ = p["username"].(string)
	case string:
		if method == "get_encrypted_api_key" {
			u = p
		}
	}
	if !printableName(u) {
		return ""
	}
	return u
}

// printableName reports whether u is at most 64 printable ASCII
// characters without spaces: a name that logs, the status page and the
// behaviour report may show as it is.
func printableName(u string) bool {
	if len(u) > 64 {
		return false
	}
	for i := 0; i < len(u); i++ {
		if u[i] < 0x21 || u[i] > 0x7e {
			return false
		}
	}
	return true
}
