package xmlrpc

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HandlerFunc handles one XML-RPC call. params are the decoded parameters
// in their canonical form (see the package documentation); UnmarshalParams
// converts them into typed values. The result is encoded like any value
// given to EncodeResponse. A returned *Fault is sent as it is; a
// *ParamsError becomes the invalid-parameters fault; any other error
// becomes the application-error fault, whose string does not include the
// error text unless the server was built WithErrorDetails.
type HandlerFunc func(ctx context.Context, params []any) (any, error)

// FaultKind names a situation in which the server itself builds a fault.
type FaultKind int

const (
	FaultParse          FaultKind = iota + 1 // not well-formed, bad encoding, DOCTYPE, a decode limit (-32700)
	FaultInvalidRequest                      // well-formed but not a valid methodCall (-32600)
	FaultMethodNotFound                      // no such method (-32601)
	FaultInvalidParams                       // the handler returned a *ParamsError (-32602)
	FaultApplication                         // the handler returned an error that is not a *Fault (-32500)
	FaultInternal                            // the handler panicked, or its result could not be encoded (-32603)
)

// CallInfo describes one answered call, for observers.
type CallInfo struct {
	Method   string // empty when the request could not be decoded
	Params   []any  // the decoded parameters; may hold secrets, so never log them whole
	Fault    *Fault // the fault sent, or nil for a success
	Duration time.Duration
}

// Server is an http.Handler that answers XML-RPC calls with registered
// handlers. It is safe for concurrent use, including registering methods
// while serving.
type Server struct {
	mu      sync.RWMutex
	methods map[string]*method

	limits        Limits
	encOpts       encodeOptions
	loc           *time.Location
	logger        *slog.Logger
	faultFunc     func(kind FaultKind, method string, err error) *Fault
	errorDetails  bool
	gzipResponses bool
	nonPOST       http.Handler
	observer      func(r *http.Request, info CallInfo)
	budgetConfig  *BodyBudget // as given; resolved into budget by NewServer
	budget        *budget     // nil without WithBodyBudget
}

type method struct {
	fn         HandlerFunc
	help       string
	signatures [][]string
}

// NewServer returns a server with no methods registered, or the error of
// the first option that failed (a client option or a zero Option is an
// error too).
func NewServer(opts ...Option) (*Server, error) {
	s := &Server{
		methods: map[string]*method{},
		limits:  Limits{}.withDefaults(),
		encOpts: defaultEncodeOptions(),
		loc:     time.UTC,
		logger:  slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt.applyServer(s); err != nil {
			return nil, err
		}
	}
	if s.budgetConfig != nil {
		s.budget = newBudget(*s.budgetConfig, s.limits.MaxBodyBytes)
	}
	return s, nil
}

// WithLogger sets where the server logs recovered panics and results that
// could not be encoded. By default nothing is logged; l must not be nil.
func WithLogger(l *slog.Logger) Option {
	return serverOption("WithLogger", func(s *Server) error {
		if l == nil {
			return errors.New("xmlrpc: WithLogger: nil *slog.Logger")
		}
		s.logger = l
		return nil
	})
}

// WithFaultFunc lets the application choose the faults the server builds
// itself. f receives the situation, the method name (empty if unknown) and
// the underlying error; returning nil keeps the default fault. The error
// is a *DecodeError or a *LimitError for FaultParse and
// FaultInvalidRequest (a bad system.multicall entry included), a
// *ParamsError for FaultInvalidParams, the handler's error for
// FaultApplication, an error of this package for FaultInternal, and nil
// for FaultMethodNotFound: build fault strings from their fields (such as
// DecodeError.Msg and Line, LimitError.Limit and Max). f must not be nil.
func WithFaultFunc(f func(kind FaultKind, method string, err error) *Fault) Option {
	return serverOption("WithFaultFunc", func(s *Server) error {
		if f == nil {
			return errors.New("xmlrpc: WithFaultFunc: nil function")
		}
		s.faultFunc = f
		return nil
	})
}

// WithErrorDetails puts the text of handler errors that are not *Fault
// into the application-error fault. Off by default, because error text
// can reveal internals.
func WithErrorDetails() Option {
	return serverOption("WithErrorDetails", func(s *Server) error { s.errorDetails = true; return nil })
}

// WithNonPOSTHandler answers requests other than POST with h instead of
// 405 Method Not Allowed. h must not be nil.
func WithNonPOSTHandler(h http.Handler) Option {
	return serverOption("WithNonPOSTHandler", func(s *Server) error {
		if h == nil {
			return errors.New("xmlrpc: WithNonPOSTHandler: nil handler")
		}
		s.nonPOST = h
		return nil
	})
}

// WithObserver calls f after every answered call, for logging and
// metrics. f runs on the request's goroutine and must not block; it must
// not be nil.
func WithObserver(f func(r *http.Request, info CallInfo)) Option {
	return serverOption("WithObserver", func(s *Server) error {
		if f == nil {
			return errors.New("xmlrpc: WithObserver: nil function")
		}
		s.observer = f
		return nil
	})
}

// WithMulticall enables system.multicall.
func WithMulticall() Option {
	return serverOption("WithMulticall", func(s *Server) error {
		s.methods["system.multicall"] = &method{
			fn:         s.multicall,
			help:       "Calls several methods in one request; returns an array with one entry per call.",
			signatures: [][]string{{"array", "array"}},
		}
		return nil
	})
}

// WithIntrospection enables system.listMethods, system.methodHelp and
// system.methodSignature.
func WithIntrospection() Option {
	return serverOption("WithIntrospection", func(s *Server) error {
		s.methods["system.listMethods"] = &method{fn: s.listMethods, help: "Lists the methods this server answers.", signatures: [][]string{{"array"}}}
		s.methods["system.methodHelp"] = &method{fn: s.methodHelp, help: "Returns the help text of a method.", signatures: [][]string{{"string", "string"}}}
		s.methods["system.methodSignature"] = &method{fn: s.methodSignature, help: "Returns the signatures of a method.", signatures: [][]string{{"array", "string"}}}
		return nil
	})
}

// A MethodOption describes a registered method for introspection. Build
// one with MethodHelp or MethodSignature; Register refuses the zero
// MethodOption.
type MethodOption struct {
	apply func(*method) error
}

// MethodHelp sets the text system.methodHelp returns.
func MethodHelp(text string) MethodOption {
	return MethodOption{func(m *method) error { m.help = text; return nil }}
}

// MethodSignature adds a signature, the result type followed by the
// parameter types, each one of int, i8, boolean, string, double,
// dateTime.iso8601, base64, array, struct or nil. An unknown type makes
// Register fail.
func MethodSignature(result string, params ...string) MethodOption {
	return MethodOption{func(m *method) error {
		sig := append([]string{result}, params...)
		for _, t := range sig {
			switch t {
			case "int", "i8", "boolean", "string", "double", "dateTime.iso8601", "base64", "array", "struct", "nil":
			default:
				return errors.New("xmlrpc: MethodSignature: unknown type " + quoteASCII(t))
			}
		}
		m.signatures = append(m.signatures, sig)
		return nil
	}}
}

// Register makes h answer calls to name. The name must be a valid method
// name ([A-Za-z0-9_.:/]+, at most the methodName limit) not registered
// yet. A failing option makes Register fail and register nothing.
func (s *Server) Register(name string, h HandlerFunc, opts ...MethodOption) error {
	if err := checkMethodName(name, s.limits.MaxMethodBytes); err != nil {
		return err
	}
	if h == nil {
		return errors.New("xmlrpc: Register " + name + ": nil handler")
	}
	m := &method{fn: h}
	for _, opt := range opts {
		if opt.apply == nil {
			return errors.New("xmlrpc: zero MethodOption")
		}
		if err := opt.apply(m); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.methods[name]; dup {
		return errors.New("xmlrpc: method " + name + " already registered")
	}
	s.methods[name] = m
	return nil
}

func (s *Server) lookup(name string) *method {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.methods[name]
}

// ServeHTTP answers one HTTP request. Calls get HTTP 200 with a result or
// a fault. A body over the size limit gets 413, an unreadable one 400, an
// unsupported Content-Encoding 415, and, with WithBodyBudget, a request
// that cannot get its share of the budget in time 503 with Retry-After.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		if s.nonPOST != nil {
			s.nonPOST.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "xmlrpc: only POST is supported", http.StatusMethodNotAllowed)
		return
	}
	// Refuse a declared length over the limit before reading a byte (a
	// gzip reader would wait for its header first).
	if r.ContentLength > s.limits.MaxBodyBytes {
		w.Header().Set("Connection", "close")
		http.Error(w, "xmlrpc: request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var body io.Reader = r.Body
	known := r.ContentLength // -1 when not declared
	switch ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); ce {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "xmlrpc: malformed gzip body", http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body, known = zr, -1
	default:
		http.Error(w, "xmlrpc: unsupported Content-Encoding", http.StatusUnsupportedMediaType)
		return
	}
	if r.Body == nil || r.Body == http.NoBody {
		known = 0
	}
	start := time.Now()
	rb, err := s.readBody(w, r, body, known)
	if s.budget != nil {
		// Held until the answer is written: the decoded parameters live
		// as long as that.
		defer s.budget.release(rb.charged)
	}
	var name string
	var params []any
	if err == nil {
		name, params, err = s.decodeBody(r, rb)
	}
	rb.free()
	var result any
	var fault *Fault
	if err != nil {
		var tf *transportFailure
		var le *LimitError
		switch {
		case errors.Is(err, errBusy):
			s.refuseBusy(w)
			return
		case errors.As(err, &tf):
			// The client went away, stalled or sent a broken body; there
			// is no one to answer with a fault, and nothing to read on.
			w.Header().Set("Connection", "close")
			http.Error(w, "xmlrpc: cannot read request body", http.StatusBadRequest)
			return
		case errors.As(err, &le) && le.Limit == LimitBodySize:
			w.Header().Set("Connection", "close")
			http.Error(w, "xmlrpc: request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		fault = s.decodeFault(err)
	} else {
		result, fault = s.dispatch(r.Context(), name, params)
	}
	fault = s.respond(w, r, name, result, fault)
	if s.observer != nil {
		s.observer(r, CallInfo{Method: name, Params: params, Fault: fault, Duration: time.Since(start)})
	}
}

// decodeBody decodes the call in a body read by readBody. A charged body
// waits for one of the budget's decoders first, so that big bodies are
// decoded only a few at a time; small ones never wait.
func (s *Server) decodeBody(r *http.Request, rb requestBody) (string, []any, error) {
	if rb.charged > 0 {
		if !s.budget.startDecode(r.Context().Done()) {
			// The client went away while waiting.
			return "", nil, &transportFailure{err: r.Context().Err()}
		}
		defer s.budget.endDecode()
	}
	d := Decoder{limits: s.limits, loc: s.loc}
	return d.decodeCallBytes(rb.data)
}

// decodeFault builds the fault for a request that could not be decoded.
func (s *Server) decodeFault(err error) *Fault {
	var de *DecodeError
	if errors.As(err, &de) && !de.Syntax {
		return s.makeFault(FaultInvalidRequest, "", err)
	}
	return s.makeFault(FaultParse, "", err)
}

// makeFault builds the fault for kind, through the application's
// FaultFunc when it has one.
func (s *Server) makeFault(kind FaultKind, name string, err error) *Fault {
	if s.faultFunc != nil {
		if f := s.faultFunc(kind, name, err); f != nil {
			return f
		}
	}
	detail := ""
	if err != nil {
		detail = errorDetail(err)
	}
	switch kind {
	case FaultParse:
		return &Fault{Code: -32700, String: "parse error: " + detail}
	case FaultInvalidRequest:
		return &Fault{Code: -32600, String: "invalid XML-RPC request: " + detail}
	case FaultMethodNotFound:
		return &Fault{Code: -32601, String: "method not found: " + name}
	case FaultInvalidParams:
		var pe *ParamsError
		if errors.As(err, &pe) {
			detail = pe.Msg
		}
		return &Fault{Code: -32602, String: "invalid method parameters: " + detail}
	case FaultApplication:
		if s.errorDetails {
			return &Fault{Code: -32500, String: detail}
		}
		return &Fault{Code: -32500, String: "application error"}
	}
	return &Fault{Code: -32603, String: "internal error"}
}

var errPanic = errors.New("xmlrpc: handler panicked")

// dispatch runs the handler for name and turns its outcome into a result
// or a fault.
func (s *Server) dispatch(ctx context.Context, name string, params []any) (any, *Fault) {
	m := s.lookup(name)
	if m == nil {
		return nil, s.makeFault(FaultMethodNotFound, name, nil)
	}
	result, err := s.invoke(ctx, name, m, params)
	if err == nil {
		return result, nil
	}
	var f *Fault
	var pe *ParamsError
	switch {
	case errors.As(err, &f):
		return nil, f
	case errors.Is(err, errPanic):
		return nil, s.makeFault(FaultInternal, name, err)
	case errors.As(err, &pe):
		return nil, s.makeFault(FaultInvalidParams, name, err)
	}
	return nil, s.makeFault(FaultApplication, name, err)
}

// invoke calls the handler, turning a panic into errPanic (and a log line).
func (s *Server) invoke(ctx context.Context, name string, m *method, params []any) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("xmlrpc: handler panicked", "method", name, "panic", p, "stack", string(debug.Stack()))
			result, err = nil, errPanic
		}
	}()
	return m.fn(ctx, params)
}

// respond encodes the result or fault and writes the HTTP response. It
// returns the fault it sent, which differs from fault when the result
// could not be encoded.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, name string, result any, fault *Fault) *Fault {
	st := newEncodeState(s.encOpts)
	defer st.release()
	var err error
	if fault == nil {
		if err = st.response(result); err != nil {
			s.logger.Error("xmlrpc: result could not be encoded", "method", name, "error", err)
			fault = s.makeFault(FaultInternal, name, err)
		}
	}
	if fault != nil {
		st.buf = st.buf[:0]
		if err = st.fault(fault); err != nil {
			s.logger.Error("xmlrpc: fault could not be encoded", "method", name, "error", err)
			st.buf = st.buf[:0]
			fault = &Fault{Code: -32603, String: "internal error"}
			if err := st.fault(fault); err != nil {
				panic("xmlrpc: fixed fault does not encode: " + err.Error())
			}
		}
	}
	out := st.buf
	h := w.Header()
	h.Set("Content-Type", "text/xml; charset=utf-8")
	if s.gzipResponses && len(out) > 1400 && acceptsGzip(r) {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(out) // a bytes.Buffer does not fail
		zw.Close()
		out = zb.Bytes()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	return fault
}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(enc), "gzip") && !zeroQuality(params) {
				return true
			}
		}
	}
	return false
}

// zeroQuality reports whether the parameters of an Accept-Encoding entry
// carry q=0 (also written 0.0, 0.00 or 0.000), which refuses the encoding;
// any other weight, such as q=0.5, accepts it.
func zeroQuality(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}

// multicall implements system.multicall.
func (s *Server) multicall(ctx context.Context, params []any) (any, error) {
	if len(params) != 1 {
		return nil, &ParamsError{Msg: "system.multicall takes exactly one array"}
	}
	calls, ok := params[0].([]any)
	if !ok {
		return nil, &ParamsError{Msg: "system.multicall takes exactly one array"}
	}
	if len(calls) > s.limits.MaxMulticall {
		return nil, s.makeFault(FaultInvalidRequest, "system.multicall", &LimitError{Limit: LimitMulticall, Max: int64(s.limits.MaxMulticall)})
	}
	out := make([]any, len(calls))
	for i, c := range calls {
		out[i] = s.multicallEntry(ctx, c)
	}
	return out, nil
}

func (s *Server) multicallEntry(ctx context.Context, c any) any {
	asFault := func(f *Fault) any {
		return map[string]any{"faultCode": f.Code, "faultString": f.String}
	}
	invalid := func(msg string) any {
		return asFault(s.makeFault(FaultInvalidRequest, "system.multicall", &DecodeError{Msg: msg}))
	}
	entry, ok := c.(map[string]any)
	if !ok {
		return invalid("multicall entry is not a struct")
	}
	name, ok := entry["methodName"].(string)
	if !ok {
		return invalid("multicall entry has no string methodName")
	}
	params, ok := entry["params"].([]any)
	if !ok {
		return invalid("multicall entry has no params array")
	}
	if name == "system.multicall" {
		return invalid("system.multicall cannot be called recursively")
	}
	result, fault := s.dispatch(ctx, name, params)
	if fault == nil {
		// Check now that the result encodes, so that one bad entry does
		// not turn the whole batch into a fault.
		st := newEncodeState(s.encOpts)
		err := st.value(reflect.ValueOf(result), 1)
		st.release()
		if err != nil {
			s.logger.Error("xmlrpc: result could not be encoded", "method", name, "error", err)
			fault = s.makeFault(FaultInternal, name, err)
		}
	}
	if fault != nil {
		return asFault(fault)
	}
	return []any{result}
}

func (s *Server) listMethods(_ context.Context, params []any) (any, error) {
	if len(params) != 0 {
		return nil, &ParamsError{Msg: "system.listMethods takes no parameters"}
	}
	s.mu.RLock()
	names := make([]string, 0, len(s.methods))
	for n := range s.methods {
		names = append(names, n)
	}
	s.mu.RUnlock()
	slices.Sort(names)
	return names, nil
}

func (s *Server) introspected(params []any) (*method, string, error) {
	var name string
	if err := UnmarshalParams(params, &name); err != nil {
		return nil, "", err
	}
	m := s.lookup(name)
	if m == nil {
		return nil, "", s.makeFault(FaultMethodNotFound, name, nil)
	}
	return m, name, nil
}

func (s *Server) methodHelp(_ context.Context, params []any) (any, error) {
	m, _, err := s.introspected(params)
	if err != nil {
		return nil, err
	}
	return m.help, nil
}

func (s *Server) methodSignature(_ context.Context, params []any) (any, error) {
	m, _, err := s.introspected(params)
	if err != nil {
		return nil, err
	}
	if len(m.signatures) == 0 {
		return "undef", nil
	}
	return m.signatures, nil
}
