package xmlrpc

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
)

// startHTTP serves h on 127.0.0.1 until the test ends.
func startHTTP(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs
}

// startRPC serves srv and returns a client for it.
func startRPC(t *testing.T, srv *Server, opts ...Option) (*Client, *httptest.Server) {
	t.Helper()
	hs := startHTTP(t, srv)
	c, err := NewClient(hs.URL+"/RPC2", append([]Option{WithHTTPClient(hs.Client())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, hs
}

// hangBound bounds waits that only a bug makes long. It is generous, so
// that a loaded machine running the race detector never reaches it.
const hangBound = 30 * time.Second

// receive returns the next value from ch, failing the test if none comes
// within hangBound.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(hangBound)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("no %s after %v", what, hangBound)
		panic("unreachable")
	}
}

// mustServer returns NewServer(opts...), failing the test on an error.
func mustServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	srv, err := NewServer(opts...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return srv
}

func mustRegister(t *testing.T, srv *Server, name string, h HandlerFunc, opts ...MethodOption) {
	t.Helper()
	if err := srv.Register(name, h, opts...); err != nil {
		t.Fatalf("Register(%q): %v", name, err)
	}
}

// postRaw posts body to url through a transport that neither asks for
// nor undoes compression, and returns the response with its whole body.
func postRaw(t *testing.T, url string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	return doRaw(t, http.MethodPost, url, body, header)
}

func doRaw(t *testing.T, method, url string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// checkAnswerFraming checks what every XML-RPC answer has, faults
// included: status 200, text/xml in UTF-8, an exact Content-Length and a
// complete document.
func checkAnswerFraming(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("have status %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Errorf("have Content-Type %q, want %q", ct, "text/xml; charset=utf-8")
	}
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) || len(resp.TransferEncoding) != 0 {
		t.Errorf("have Content-Length %q and Transfer-Encoding %q for %d bytes, want an exact length", cl, resp.TransferEncoding, len(body))
	}
	if resp.Header.Get("Content-Encoding") == "" {
		const head = `<?xml version="1.0" encoding="UTF-8"?><methodResponse>`
		if !bytes.HasPrefix(body, []byte(head)) || !bytes.HasSuffix(body, []byte("</methodResponse>")) {
			t.Errorf("answer is not one complete methodResponse: %.300q", body)
		}
	}
}

// expectFault checks that err is a *Fault with code, and that its string
// is want (or starts with want, when prefix is set).
func expectFault(t *testing.T, err error, code int, want string, prefix bool) *Fault {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("have %v, want fault %d", err, code)
	}
	if f.Code != code {
		t.Fatalf("have fault %d %q, want code %d", f.Code, f.String, code)
	}
	if prefix && !strings.HasPrefix(f.String, want) || !prefix && f.String != want {
		t.Fatalf("have fault string %q, want %q (prefix %v)", f.String, want, prefix)
	}
	return f
}

// testMethods are handlers for every outcome a handler can have.
var testMethods = map[string]HandlerFunc{
	"echo": func(_ context.Context, params []any) (any, error) { return params, nil },
	"add": func(_ context.Context, params []any) (any, error) {
		var a, b int
		if err := UnmarshalParams(params, &a, &b); err != nil {
			return nil, err
		}
		return a + b, nil
	},
	"fault": func(context.Context, []any) (any, error) {
		return nil, &Fault{Code: 4, String: "Too many parameters."}
	},
	"wrappedFault": func(context.Context, []any) (any, error) {
		return nil, fmt.Errorf("lookup: %w", &Fault{Code: 42, String: "no such vessel"})
	},
	"plainError": func(context.Context, []any) (any, error) {
		return nil, errors.New("database password=hunter2 refused")
	},
	"panic":     func(context.Context, []any) (any, error) { panic("secret panic value s3cr3t") },
	"nan":       func(context.Context, []any) (any, error) { return math.NaN(), nil },
	"chan":      func(context.Context, []any) (any, error) { return make(chan int), nil },
	"nilResult": func(context.Context, []any) (any, error) { return nil, nil },
	"big":       func(context.Context, []any) (any, error) { return int64(1) << 40, nil },
	"control":   func(context.Context, []any) (any, error) { return "bell\x07", nil },
	"deepNaN": func(context.Context, []any) (any, error) {
		return map[string]any{"ok": strings.Repeat("x", 5000), "bad": []any{1, math.Inf(1)}}, nil
	},
	"hugeFaultCode": func(context.Context, []any) (any, error) {
		code := int64(math.MaxInt32) + 1
		return nil, &Fault{Code: int(code), String: "too big"}
	},
}

func registerTestMethods(t *testing.T, srv *Server) {
	t.Helper()
	for name, h := range testMethods {
		mustRegister(t, srv, name, h)
	}
}

func callDoc(method string, values ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><methodCall><methodName>` + method + `</methodName><params>`)
	for _, v := range values {
		b.WriteString("<param><value>" + v + "</value></param>")
	}
	b.WriteString("</params></methodCall>")
	return b.String()
}

func TestServerAnswers(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	srv := mustServer(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	registerTestMethods(t, srv)
	_, hs := startRPC(t, srv)
	const (
		parse    = "parse error: "
		invalid  = "invalid XML-RPC request: "
		params   = "invalid method parameters: "
		internal = "internal error"
	)
	cases := []struct {
		name   string
		body   string
		code   int    // 0 for a success
		str    string // the fault string, or its start when prefix
		prefix bool
		want   any // the result of a success
	}{
		{name: "success", body: callDoc("echo", "<int>1</int>", "two"), want: []any{int64(1), "two"}},
		{name: "no params element", body: `<methodCall><methodName>echo</methodName></methodCall>`, want: []any{}},
		{name: "not well-formed", body: `<methodCall><methodName>echo</methodName`, code: -32700, str: parse, prefix: true},
		{name: "not XML", body: "hello", code: -32700, str: parse, prefix: true},
		{name: "empty body", body: "", code: -32700, str: parse, prefix: true},
		{name: "DOCTYPE", body: `<!DOCTYPE x><methodCall><methodName>echo</methodName></methodCall>`, code: -32700, str: parse, prefix: true},
		{name: "unsupported encoding", body: `<?xml version="1.0" encoding="EBCDIC"?><methodCall/>`, code: -32700, str: parse, prefix: true},
		{name: "methodResponse root", body: `<methodResponse><params><param><value>1</value></param></params></methodResponse>`, code: -32600, str: invalid, prefix: true},
		{name: "int 12x", body: callDoc("echo", "<int>12x</int>"), code: -32600, str: invalid, prefix: true},
		{name: "boolean yes", body: callDoc("echo", "<boolean>yes</boolean>"), code: -32600, str: invalid, prefix: true},
		{name: "double NaN", body: callDoc("echo", "<double>NaN</double>"), code: -32600, str: invalid, prefix: true},
		{name: "unknown value type", body: callDoc("echo", "<ex:serializable>rO0</ex:serializable>"), code: -32600, str: invalid, prefix: true},
		{name: "empty methodName", body: `<methodCall><methodName> </methodName></methodCall>`, code: -32600, str: invalid, prefix: true},
		{name: "param without value", body: `<methodCall><methodName>echo</methodName><params><param/></params></methodCall>`, code: -32600, str: invalid, prefix: true},
		{name: "unknown method", body: callDoc("nope"), code: -32601, str: "method not found: nope"},
		{name: "odd method name", body: callDoc("a b&amp;c"), code: -32601, str: "method not found: a b&c"},
		{name: "params of the wrong type", body: callDoc("add", "x", "<int>1</int>"), code: -32602, str: params, prefix: true},
		{name: "too few params", body: callDoc("add", "<int>1</int>"), code: -32602, str: params, prefix: true},
		{name: "handler fault", body: callDoc("fault"), code: 4, str: "Too many parameters."},
		{name: "handler fault wrapped", body: callDoc("wrappedFault"), code: 42, str: "no such vessel"},
		{name: "handler error", body: callDoc("plainError"), code: -32500, str: "application error"},
		{name: "handler panic", body: callDoc("panic"), code: -32603, str: internal},
		{name: "result NaN", body: callDoc("nan"), code: -32603, str: internal},
		{name: "result channel", body: callDoc("chan"), code: -32603, str: internal},
		{name: "result nil without AllowNil", body: callDoc("nilResult"), code: -32603, str: internal},
		{name: "result beyond 32 bits without I8", body: callDoc("big"), code: -32603, str: internal},
		{name: "result with a control character", body: callDoc("control"), code: -32603, str: internal},
		{name: "result bad deep inside", body: callDoc("deepNaN"), code: -32603, str: internal},
		{name: "fault code beyond 32 bits", body: callDoc("hugeFaultCode"), code: -32603, str: internal},
		{name: "system method not enabled", body: callDoc("system.listMethods"), code: -32601, str: "method not found: system.listMethods"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postRaw(t, hs.URL, []byte(tc.body), http.Header{"Content-Type": {"text/xml"}})
			checkAnswerFraming(t, resp, body)
			var got any
			err := DecodeResponse(bytes.NewReader(body), &got)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("have %v, want success", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("have %#v, want %#v", got, tc.want)
				}
				return
			}
			f := expectFault(t, err, tc.code, tc.str, tc.prefix)
			for _, secret := range []string{"hunter2", "s3cr3t", "password"} {
				if strings.Contains(f.String, secret) {
					t.Fatalf("fault string %q leaks %q", f.String, secret)
				}
			}
		})
	}
	// A panic and an unencodable result are logged with the method name.
	log := logs.String()
	for _, want := range []string{"method=panic", "method=nan", "method=chan", "method=deepNaN"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestServerPanicIsLoggedAndServingContinues(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	srv := mustServer(t, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	registerTestMethods(t, srv)
	c, _ := startRPC(t, srv)
	ctx := context.Background()
	for i := range 3 {
		err := c.Call(ctx, "panic", nil)
		expectFault(t, err, -32603, "internal error", false)
		var sum int
		if err := c.Call(ctx, "add", &sum, i, 1); err != nil || sum != i+1 {
			t.Fatalf("call after a panic: have %d, %v; want %d", sum, err, i+1)
		}
	}
	log := logs.String()
	if n := strings.Count(log, `"method":"panic"`); n != 3 {
		t.Errorf("have %d log lines with the method name, want 3:\n%s", n, log)
	}
	if !strings.Contains(log, `"level":"ERROR"`) {
		t.Errorf("panic not logged as an error:\n%s", log)
	}
}

func TestServerErrorDetails(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, WithErrorDetails())
	registerTestMethods(t, srv)
	c, _ := startRPC(t, srv)
	err := c.Call(context.Background(), "plainError", nil)
	expectFault(t, err, -32500, "database password=hunter2 refused", false)
	// Details never reach past a panic.
	err = c.Call(context.Background(), "panic", nil)
	expectFault(t, err, -32603, "internal error", false)
}

func TestServerHTTPMethods(t *testing.T) {
	t.Parallel()
	srv := mustServer(t)
	registerTestMethods(t, srv)
	_, hs := startRPC(t, srv)
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPatch} {
		t.Run(method, func(t *testing.T) {
			resp, _ := doRaw(t, method, hs.URL, nil, nil)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("have status %d, want 405", resp.StatusCode)
			}
			if allow := resp.Header.Get("Allow"); allow != "POST" {
				t.Fatalf("have Allow %q, want POST", allow)
			}
		})
	}

	t.Run("non-POST handler", func(t *testing.T) {
		var seen []string
		var mu sync.Mutex
		srv := mustServer(t, WithNonPOSTHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Method)
			mu.Unlock()
			io.WriteString(w, "status page")
		})))
		registerTestMethods(t, srv)
		c, hs := startRPC(t, srv)
		resp, body := doRaw(t, http.MethodGet, hs.URL, nil, nil)
		if resp.StatusCode != http.StatusOK || string(body) != "status page" {
			t.Fatalf("GET: have %d %q, want 200 %q", resp.StatusCode, body, "status page")
		}
		var got []string
		if err := c.Call(context.Background(), "echo", &got, "post"); err != nil || !slices.Equal(got, []string{"post"}) {
			t.Fatalf("POST: have %q, %v", got, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(seen, []string{"GET"}) {
			t.Fatalf("non-POST handler saw %q, want only GET", seen)
		}
	})
}

func TestServerRequestEncodings(t *testing.T) {
	t.Parallel()
	srv := mustServer(t)
	registerTestMethods(t, srv)
	_, hs := startRPC(t, srv)
	doc := []byte(callDoc("echo", "<string>x</string>"))
	cases := []struct {
		name     string
		header   http.Header
		body     []byte
		status   int
		decodeOK bool
	}{
		{"plain", nil, doc, 200, true},
		{"identity", http.Header{"Content-Encoding": {"identity"}}, doc, 200, true},
		{"gzip", http.Header{"Content-Encoding": {"gzip"}}, gzipBytes(doc), 200, true},
		{"GZIP in capitals", http.Header{"Content-Encoding": {"GZIP"}}, gzipBytes(doc), 200, true},
		{"Content-Type not checked", http.Header{"Content-Type": {"application/json"}}, doc, 200, true},
		{"no Content-Type", http.Header{"Content-Type": nil}, doc, 200, true},
		{"deflate", http.Header{"Content-Encoding": {"deflate"}}, doc, 415, false},
		{"br", http.Header{"Content-Encoding": {"br"}}, doc, 415, false},
		{"two encodings", http.Header{"Content-Encoding": {"gzip, br"}}, doc, 415, false},
		{"gzip header on a plain body", http.Header{"Content-Encoding": {"gzip"}}, doc, 400, false},
		{"truncated gzip", http.Header{"Content-Encoding": {"gzip"}}, gzipBytes(doc)[:30], 400, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postRaw(t, hs.URL, tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("have status %d %q, want %d", resp.StatusCode, body, tc.status)
			}
			if !tc.decodeOK {
				return
			}
			checkAnswerFraming(t, resp, body)
			var got []string
			if err := DecodeResponse(bytes.NewReader(body), &got); err != nil || !slices.Equal(got, []string{"x"}) {
				t.Fatalf("have %q, %v; want [x]", got, err)
			}
		})
	}
}

func TestServerGzipResponses(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("vessel ", 1000)
	plain := mustServer(t)
	zipping := mustServer(t, WithGzip())
	for _, s := range []*Server{plain, zipping} {
		mustRegister(t, s, "text", func(_ context.Context, params []any) (any, error) {
			var n int
			if err := UnmarshalParams(params, &n); err != nil {
				return nil, err
			}
			return big[:n], nil
		})
	}
	_, plainHS := startRPC(t, plain)
	zipClient, zipHS := startRPC(t, zipping)
	cases := []struct {
		name   string
		url    string
		accept []string
		n      int
		gzip   bool
	}{
		{"enabled, accepted, large", zipHS.URL, []string{"gzip"}, len(big), true},
		{"enabled, accepted among others", zipHS.URL, []string{"deflate, gzip;q=0.5"}, len(big), true},
		{"enabled, not accepted", zipHS.URL, nil, len(big), false},
		{"enabled, accepted with a small weight", zipHS.URL, []string{"gzip; q=0.001"}, len(big), true},
		{"enabled, accepted in capitals", zipHS.URL, []string{"GZIP;Q=1"}, len(big), true},
		{"enabled, refused with q=0", zipHS.URL, []string{"gzip;q=0"}, len(big), false},
		{"enabled, refused with q=0.000", zipHS.URL, []string{"br, gzip ; q=0.000"}, len(big), false},
		{"enabled, other encoding only", zipHS.URL, []string{"br"}, len(big), false},
		{"enabled, accepted, small", zipHS.URL, []string{"gzip"}, 10, false},
		{"disabled, accepted, large", plainHS.URL, []string{"gzip"}, len(big), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := postRaw(t, tc.url, []byte(callDoc("text", "<int>"+strconv.Itoa(tc.n)+"</int>")), http.Header{"Accept-Encoding": tc.accept})
			checkAnswerFraming(t, resp, body)
			gotGzip := resp.Header.Get("Content-Encoding") == "gzip"
			if gotGzip != tc.gzip {
				t.Fatalf("have Content-Encoding %q, want gzip %v", resp.Header.Get("Content-Encoding"), tc.gzip)
			}
			if gotGzip {
				if !slices.Contains(resp.Header.Values("Vary"), "Accept-Encoding") {
					t.Errorf("have Vary %q, want Accept-Encoding", resp.Header.Values("Vary"))
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			var got string
			if err := DecodeResponse(bytes.NewReader(body), &got); err != nil || got != big[:tc.n] {
				t.Fatalf("have %d bytes, %v; want %d bytes", len(got), err, tc.n)
			}
		})
	}
	// The package's own client asks for gzip and reads it.
	var got string
	if err := zipClient.Call(context.Background(), "text", &got, len(big)); err != nil || got != big {
		t.Fatalf("client through gzip: have %d bytes, %v", len(got), err)
	}
}

func TestServerFaultFunc(t *testing.T) {
	t.Parallel()
	type seen struct {
		kind   FaultKind
		method string
		err    error
	}
	var mu sync.Mutex
	var calls []seen
	srv := mustServer(t, WithFaultFunc(func(kind FaultKind, method string, err error) *Fault {
		mu.Lock()
		calls = append(calls, seen{kind, method, err})
		mu.Unlock()
		if kind == FaultMethodNotFound {
			return nil // keep the default
		}
		return &Fault{Code: 1000 + int(kind), String: fmt.Sprintf("kind %d in %q", kind, method)}
	}))
	registerTestMethods(t, srv)
	_, hs := startRPC(t, srv)
	cases := []struct {
		name   string
		body   string
		kind   FaultKind
		code   int
		str    string
		method string
		errIs  func(error) bool
	}{
		{"parse", "<methodCall", FaultParse, 1000 + int(FaultParse), `kind 1 in ""`, "", func(err error) bool {
			var de *DecodeError
			return errors.As(err, &de) && de.Syntax
		}},
		{"limit", callDoc(strings.Repeat("m", 300)), FaultParse, 1000 + int(FaultParse), `kind 1 in ""`, "", func(err error) bool {
			var le *LimitError
			return errors.As(err, &le)
		}},
		{"invalid request", callDoc("echo", "<int>12x</int>"), FaultInvalidRequest, 1000 + int(FaultInvalidRequest), `kind 2 in ""`, "", func(err error) bool {
			var de *DecodeError
			return errors.As(err, &de) && !de.Syntax
		}},
		{"method not found keeps the default", callDoc("nope"), FaultMethodNotFound, -32601, "method not found: nope", "nope", func(err error) bool { return err == nil }},
		{"invalid params", callDoc("add", "x"), FaultInvalidParams, 1000 + int(FaultInvalidParams), `kind 4 in "add"`, "add", func(err error) bool {
			var pe *ParamsError
			return errors.As(err, &pe)
		}},
		{"application", callDoc("plainError"), FaultApplication, 1000 + int(FaultApplication), `kind 5 in "plainError"`, "plainError", func(err error) bool {
			return err != nil && err.Error() == "database password=hunter2 refused"
		}},
		{"panic", callDoc("panic"), FaultInternal, 1000 + int(FaultInternal), `kind 6 in "panic"`, "panic", func(err error) bool { return err != nil }},
		{"unencodable", callDoc("nan"), FaultInternal, 1000 + int(FaultInternal), `kind 6 in "nan"`, "nan", func(err error) bool {
			var ee *EncodeError
			return errors.As(err, &ee)
		}},
		{"handler fault is not replaced", callDoc("fault"), 0, 4, "Too many parameters.", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			calls = nil
			mu.Unlock()
			resp, body := postRaw(t, hs.URL, []byte(tc.body), nil)
			checkAnswerFraming(t, resp, body)
			expectFault(t, DecodeResponse(bytes.NewReader(body), nil), tc.code, tc.str, false)
			mu.Lock()
			defer mu.Unlock()
			if tc.kind == 0 {
				if len(calls) != 0 {
					t.Fatalf("fault func called %v for a handler's own fault", calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("fault func called %d times, want once: %v", len(calls), calls)
			}
			c := calls[0]
			if c.kind != tc.kind || c.method != tc.method || !tc.errIs(c.err) {
				t.Fatalf("fault func got (%d, %q, %v), want kind %d, method %q", c.kind, c.method, c.err, tc.kind, tc.method)
			}
		})
	}
}

func TestServerObserver(t *testing.T) {
	t.Parallel()
	infos := make(chan CallInfo, 10)
	srv := mustServer(t, WithObserver(func(r *http.Request, info CallInfo) {
		if r == nil {
			t.Error("observer got a nil request")
		}
		infos <- info
	}))
	registerTestMethods(t, srv)
	mustRegister(t, srv, "slow", func(ctx context.Context, params []any) (any, error) {
		time.Sleep(20 * time.Millisecond)
		return "done", nil
	})
	c, hs := startRPC(t, srv)
	next := func() CallInfo {
		t.Helper()
		select {
		case info := <-infos:
			return info
		case <-time.After(5 * time.Second):
			t.Fatal("observer not called")
		}
		return CallInfo{}
	}
	ctx := context.Background()

	if err := c.Call(ctx, "slow", nil, "p1"); err != nil {
		t.Fatal(err)
	}
	info := next()
	if info.Method != "slow" || info.Fault != nil || info.Duration < 20*time.Millisecond || !reflect.DeepEqual(info.Params, []any{"p1"}) {
		t.Errorf("success: have %+v, want method slow, no fault, params [p1], duration >= 20ms", info)
	}

	c.Call(ctx, "fault", nil)
	info = next()
	if info.Method != "fault" || info.Fault == nil || info.Fault.Code != 4 || info.Duration <= 0 {
		t.Errorf("fault: have %+v, want method fault with fault 4", info)
	}

	c.Call(ctx, "nan", nil)
	info = next()
	if info.Method != "nan" || info.Fault == nil || info.Fault.Code != -32603 {
		t.Errorf("unencodable: have %+v, want the fault that was sent, -32603", info)
	}

	postRaw(t, hs.URL, []byte("<methodCall>"), nil)
	info = next()
	if info.Method != "" || info.Fault == nil || info.Fault.Code != -32700 {
		t.Errorf("malformed: have %+v, want no method and fault -32700", info)
	}
}

func TestServerRegister(t *testing.T) {
	t.Parallel()
	ok := func(context.Context, []any) (any, error) { return 1, nil }
	srv := mustServer(t, WithMulticall(), WithIntrospection())
	mustRegister(t, srv, "taken", ok)
	cases := []struct {
		name string
		h    HandlerFunc
		opts []MethodOption
	}{
		{"taken", ok, nil},
		{"system.multicall", ok, nil},
		{"system.listMethods", ok, nil},
		{"", ok, nil},
		{"has space", ok, nil},
		{"semi;colon", ok, nil},
		{"tag<name>", ok, nil},
		{"caf\u00e9", ok, nil},
		{strings.Repeat("m", 257), ok, nil},
		{"nilHandler", nil, nil},
		{"badResult", ok, []MethodOption{MethodSignature("integer")}},
		{"badParam", ok, []MethodOption{MethodSignature("int", "float")}},
		{"emptyType", ok, []MethodOption{MethodSignature("int", "")}},
		{"caseMatters", ok, []MethodOption{MethodSignature("Int")}},
		{"laterBad", ok, []MethodOption{MethodSignature("int"), MethodSignature("string", "dateTime")}},
		{"zeroOption", ok, []MethodOption{MethodHelp("x"), zeroMethodOption}},
	}
	for _, tc := range cases {
		err := registerNoPanic(srv, tc.name, tc.h, tc.opts...)
		if err == nil {
			t.Errorf("Register(%.20q) succeeded, want an error", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "xmlrpc: ") {
			t.Errorf("Register(%.20q): error %q does not start with the package name", tc.name, err)
		}
	}
	// Nothing from the failed registrations was kept.
	c, _ := startRPC(t, srv)
	var names []string
	if err := c.Call(context.Background(), "system.listMethods", &names); err != nil {
		t.Fatal(err)
	}
	want := []string{"system.listMethods", "system.methodHelp", "system.methodSignature", "system.multicall", "taken"}
	if !slices.Equal(names, want) {
		t.Fatalf("have methods %q, want %q", names, want)
	}
	var n int
	if err := c.Call(context.Background(), "taken", &n); err != nil || n != 1 {
		t.Fatalf("the first registration was replaced: have %d, %v", n, err)
	}
	// Names at the limit and of every allowed character are fine.
	for _, name := range []string{strings.Repeat("m", 256), "a.b_c:d/E9"} {
		if err := srv.Register(name, ok, MethodSignature("int"), MethodSignature("nil", "i8", "boolean", "string", "double", "dateTime.iso8601", "base64", "array", "struct", "nil")); err != nil {
			t.Errorf("Register(%.20q): %v", name, err)
		}
	}
}

func TestServerSystemMethodsOptIn(t *testing.T) {
	t.Parallel()
	system := []string{"system.multicall", "system.listMethods", "system.methodHelp", "system.methodSignature"}
	cases := []struct {
		name    string
		opts    []Option
		enabled []string
	}{
		{"none", nil, nil},
		{"multicall", []Option{WithMulticall()}, []string{"system.multicall"}},
		{"introspection", []Option{WithIntrospection()}, []string{"system.listMethods", "system.methodHelp", "system.methodSignature"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := mustServer(t, tc.opts...)
			c, _ := startRPC(t, srv)
			for _, name := range system {
				var args []any
				switch name {
				case "system.multicall":
					args = []any{[]any{}}
				case "system.methodHelp", "system.methodSignature":
					args = []any{"system.methodHelp"}
				}
				err := c.Call(context.Background(), name, new(any), args...)
				if slices.Contains(tc.enabled, name) {
					var f *Fault
					if errors.As(err, &f) && f.Code == -32601 {
						t.Errorf("%s: have %v, want it enabled", name, err)
					}
					continue
				}
				expectFault(t, err, -32601, "method not found: "+name, false)
			}
		})
	}
}

func TestServerMulticall(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	var orderMu sync.Mutex
	var order []string
	srv := mustServer(t, WithMulticall(), WithLimits(Limits{MaxMulticall: 20}), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	registerTestMethods(t, srv)
	mustRegister(t, srv, "mark", func(_ context.Context, params []any) (any, error) {
		var s string
		if err := UnmarshalParams(params, &s); err != nil {
			return nil, err
		}
		orderMu.Lock()
		order = append(order, s)
		orderMu.Unlock()
		return s, nil
	})
	c, _ := startRPC(t, srv)
	ctx := context.Background()
	entry := func(name any, params any) map[string]any { return map[string]any{"methodName": name, "params": params} }
	type want struct {
		value any    // for a success
		code  int    // for a fault
		str   string // the start of the fault string
	}
	calls := []struct {
		entry any
		want  want
	}{
		{entry("mark", []any{"first"}), want{value: "first"}},
		{"not a struct", want{code: -32600, str: "invalid XML-RPC request: "}},
		{[]any{"echo", []any{}}, want{code: -32600, str: "invalid XML-RPC request: "}},
		{map[string]any{"params": []any{}}, want{code: -32600, str: "invalid XML-RPC request: "}},
		{entry(5, []any{}), want{code: -32600, str: "invalid XML-RPC request: "}},
		{map[string]any{"methodName": "echo"}, want{code: -32600, str: "invalid XML-RPC request: "}},
		{entry("echo", "x"), want{code: -32600, str: "invalid XML-RPC request: "}},
		{entry("echo", map[string]any{}), want{code: -32600, str: "invalid XML-RPC request: "}},
		{entry("system.multicall", []any{[]any{}}), want{code: -32600, str: "invalid XML-RPC request: "}},
		{entry("nope", []any{}), want{code: -32601, str: "method not found: nope"}},
		{entry("add", []any{"x", 1}), want{code: -32602, str: "invalid method parameters: "}},
		{entry("fault", []any{}), want{code: 4, str: "Too many parameters."}},
		{entry("wrappedFault", []any{}), want{code: 42, str: "no such vessel"}},
		{entry("plainError", []any{}), want{code: -32500, str: "application error"}},
		{entry("panic", []any{}), want{code: -32603, str: "internal error"}},
		{entry("nan", []any{}), want{code: -32603, str: "internal error"}},
		{entry("chan", []any{}), want{code: -32603, str: "internal error"}},
		{entry("add", []any{40, 2}), want{value: int64(42)}},
		{entry("mark", []any{"last"}), want{value: "last"}},
	}
	batch := make([]any, len(calls))
	for i, c := range calls {
		batch[i] = c.entry
	}
	var raw []any
	if err := c.Call(ctx, "system.multicall", &raw, batch); err != nil {
		t.Fatal(err)
	}
	if len(raw) != len(calls) {
		t.Fatalf("have %d results, want %d", len(raw), len(calls))
	}
	for i, got := range raw {
		w := calls[i].want
		if w.code == 0 {
			if !reflect.DeepEqual(got, []any{w.value}) {
				t.Errorf("entry %d: have %#v, want [%#v]", i, got, w.value)
			}
			continue
		}
		m, ok := got.(map[string]any)
		if !ok || len(m) != 2 {
			t.Errorf("entry %d: have %#v, want a fault struct", i, got)
			continue
		}
		code, _ := m["faultCode"].(int64)
		str, _ := m["faultString"].(string)
		if code != int64(w.code) || !strings.HasPrefix(str, w.str) {
			t.Errorf("entry %d: have fault %d %q, want %d %q", i, code, str, w.code, w.str)
		}
	}
	orderMu.Lock()
	if !slices.Equal(order, []string{"first", "last"}) {
		t.Errorf("entries ran in order %q, want [first last]", order)
	}
	orderMu.Unlock()
	if log := logs.String(); !strings.Contains(log, "method=nan") || !strings.Contains(log, "method=panic") {
		t.Errorf("multicall entry failures not logged with their method:\n%s", log)
	}

	t.Run("empty batch", func(t *testing.T) {
		var got any
		if err := c.Call(ctx, "system.multicall", &got, []any{}); err != nil {
			t.Fatal(err)
		}
		if a, ok := got.([]any); !ok || len(a) != 0 {
			t.Fatalf("have %#v, want an empty array", got)
		}
	})
	t.Run("at the size limit", func(t *testing.T) {
		batch := make([]any, 20)
		for i := range batch {
			batch[i] = entry("add", []any{i, 1})
		}
		var got [][]int
		if err := c.Call(ctx, "system.multicall", &got, batch); err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if len(r) != 1 || r[0] != i+1 {
				t.Fatalf("entry %d: have %v, want [%d]", i, r, i+1)
			}
		}
	})
	overLimit := make([]any, 21)
	for i := range overLimit {
		overLimit[i] = entry("mark", []any{"never"})
	}
	wholeCall := []struct {
		name string
		args []any
		code int
	}{
		{"no params", nil, -32602},
		{"two params", []any{[]any{}, []any{}}, -32602},
		{"param is a struct", []any{map[string]any{"methodName": "echo", "params": []any{}}}, -32602},
		{"param is a string", []any{"echo"}, -32602},
		{"over the size limit", []any{overLimit}, -32600},
	}
	for _, tc := range wholeCall {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Call(ctx, "system.multicall", new(any), tc.args...)
			prefix := "invalid method parameters: "
			if tc.code == -32600 {
				prefix = "invalid XML-RPC request: "
			}
			expectFault(t, err, tc.code, prefix, true)
		})
	}
	orderMu.Lock()
	defer orderMu.Unlock()
	if slices.Contains(order, "never") {
		t.Error("an entry of a batch over the limit ran")
	}

	t.Run("default size limit", func(t *testing.T) {
		srv := mustServer(t, WithMulticall())
		registerTestMethods(t, srv)
		c, _ := startRPC(t, srv)
		for _, n := range []int{DefaultMaxMulticall, DefaultMaxMulticall + 1} {
			batch := make([]any, n)
			for i := range batch {
				batch[i] = entry("echo", []any{i})
			}
			var got []any
			err := c.Call(ctx, "system.multicall", &got, batch)
			if n > DefaultMaxMulticall {
				expectFault(t, err, -32600, "invalid XML-RPC request: ", true)
				continue
			}
			if err != nil || len(got) != n {
				t.Fatalf("%d entries: have %d results, %v", n, len(got), err)
			}
		}
	})

	t.Run("client helper", func(t *testing.T) {
		res, err := c.Multicall(ctx,
			MulticallEntry{Method: "add", Params: []any{1, 2}},
			MulticallEntry{Method: "fault"},
			MulticallEntry{Method: "nan"},
			MulticallEntry{Method: "echo", Params: []any{"z"}},
		)
		if err != nil {
			t.Fatal(err)
		}
		var sum int
		if err := res[0].Decode(&sum); err != nil || sum != 3 {
			t.Errorf("entry 0: have %d, %v", sum, err)
		}
		expectFault(t, res[1].Err, 4, "Too many parameters.", false)
		expectFault(t, res[2].Err, -32603, "internal error", false)
		var echoed []string
		if err := res[3].Decode(&echoed); err != nil || !slices.Equal(echoed, []string{"z"}) {
			t.Errorf("entry 3: have %q, %v", echoed, err)
		}
	})
}

func TestServerIntrospection(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, WithIntrospection())
	ok := func(context.Context, []any) (any, error) { return 1, nil }
	mustRegister(t, srv, "zeta", ok)
	mustRegister(t, srv, "alpha.sum", ok, MethodHelp("Adds two ints."), MethodSignature("int", "int", "int"), MethodSignature("double", "double", "double"))
	mustRegister(t, srv, "Beta", ok, MethodSignature("array"))
	c, _ := startRPC(t, srv)
	ctx := context.Background()

	var names []string
	if err := c.Call(ctx, "system.listMethods", &names); err != nil {
		t.Fatal(err)
	}
	want := []string{"Beta", "alpha.sum", "system.listMethods", "system.methodHelp", "system.methodSignature", "zeta"}
	if !slices.Equal(names, want) {
		t.Fatalf("listMethods: have %q, want %q", names, want)
	}

	sigs := []struct {
		name string
		want any
	}{
		{"alpha.sum", []any{[]any{"int", "int", "int"}, []any{"double", "double", "double"}}},
		{"Beta", []any{[]any{"array"}}},
		{"zeta", "undef"},
		{"system.listMethods", []any{[]any{"array"}}},
		{"system.methodHelp", []any{[]any{"string", "string"}}},
	}
	for _, s := range sigs {
		var got any
		if err := c.Call(ctx, "system.methodSignature", &got, s.name); err != nil || !reflect.DeepEqual(got, s.want) {
			t.Errorf("methodSignature(%s): have %#v, %v; want %#v", s.name, got, err, s.want)
		}
	}
	helps := map[string]string{"alpha.sum": "Adds two ints.", "zeta": "", "Beta": ""}
	for name, want := range helps {
		var got string
		if err := c.Call(ctx, "system.methodHelp", &got, name); err != nil || got != want {
			t.Errorf("methodHelp(%s): have %q, %v; want %q", name, got, err, want)
		}
	}
	for _, m := range []string{"system.methodHelp", "system.methodSignature"} {
		expectFault(t, c.Call(ctx, m, new(any), "nope"), -32601, "method not found: nope", false)
		expectFault(t, c.Call(ctx, m, new(any), "system.multicall"), -32601, "method not found: system.multicall", false)
		expectFault(t, c.Call(ctx, m, new(any)), -32602, "invalid method parameters: ", true)
		expectFault(t, c.Call(ctx, m, new(any), 1), -32602, "invalid method parameters: ", true)
		expectFault(t, c.Call(ctx, m, new(any), "zeta", "zeta"), -32602, "invalid method parameters: ", true)
	}
	expectFault(t, c.Call(ctx, "system.listMethods", new(any), "x"), -32602, "invalid method parameters: ", true)

	// Methods registered while serving show up.
	mustRegister(t, srv, "late", ok)
	if err := c.Call(ctx, "system.listMethods", &names); err != nil || !slices.Contains(names, "late") {
		t.Fatalf("listMethods after a late Register: have %q, %v", names, err)
	}
}

// A bad server option makes NewServer fail, as a bad client option makes
// NewClient fail, instead of being ignored or panicking later.
func TestServerOptionsFail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  Option
		want string
	}{
		{"zero Option", Option{}, "xmlrpc: NewServer: zero Option"},
		{"client option", WithUserAgent("x"), "xmlrpc: WithUserAgent is a client option"},
		{"WithLocation nil", WithLocation(nil), "xmlrpc: WithLocation: nil location"},
		{"WithLogger nil", WithLogger(nil), "xmlrpc: WithLogger: nil *slog.Logger"},
		{"WithFaultFunc nil", WithFaultFunc(nil), "xmlrpc: WithFaultFunc: nil function"},
		{"WithNonPOSTHandler nil", WithNonPOSTHandler(nil), "xmlrpc: WithNonPOSTHandler: nil handler"},
		{"WithObserver nil", WithObserver(nil), "xmlrpc: WithObserver: nil function"},
		{"WithLimits negative", WithLimits(Limits{MaxElements: -5}), "xmlrpc: WithLimits: negative MaxElements"},
		{"WithBodyBudget negative Bytes", WithBodyBudget(BodyBudget{Bytes: -1}), "xmlrpc: WithBodyBudget: negative Bytes"},
		{"WithBodyBudget negative Small", WithBodyBudget(BodyBudget{Small: -1}), "xmlrpc: WithBodyBudget: negative Small"},
		{"WithBodyBudget negative Wait", WithBodyBudget(BodyBudget{Wait: -time.Second}), "xmlrpc: WithBodyBudget: negative Wait"},
		{"WithBodyBudget negative RetryAfter", WithBodyBudget(BodyBudget{RetryAfter: -1}), "xmlrpc: WithBodyBudget: negative RetryAfter"},
		{"WithBodyBudget negative ReadTimeout", WithBodyBudget(BodyBudget{ReadTimeout: -1}), "xmlrpc: WithBodyBudget: negative ReadTimeout"},
		{"WithBodyBudget negative Decoders", WithBodyBudget(BodyBudget{Decoders: -1}), "xmlrpc: WithBodyBudget: negative Decoders"},
	} {
		// The bad option among good ones, in either place.
		for _, opts := range [][]Option{{tc.opt, WithMulticall()}, {WithGzip(), tc.opt}} {
			srv, err := NewServer(opts...)
			if err == nil || err.Error() != tc.want || srv != nil {
				t.Errorf("%s: have %v, %v, want nil, %q", tc.name, srv, err, tc.want)
			}
		}
	}
	// Zero values that mean "the default" are not errors.
	if _, err := NewServer(WithBodyBudget(BodyBudget{}), WithLimits(Limits{}), WithLocation(time.UTC)); err != nil {
		t.Errorf("zero BodyBudget and Limits: have %v, want nil", err)
	}
}

// A server built WithLocation reads zone-less times in that
// location and writes times converted to it.
func TestServerLocation(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("X", -5*3600)
	srv := mustServer(t, WithLocation(loc))
	mustRegister(t, srv, "echo", func(_ context.Context, params []any) (any, error) { return params[0], nil })
	hs := startHTTP(t, srv)
	resp, body := postRaw(t, hs.URL, []byte(callDoc("echo", "<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>")), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "19980717T14:08:55") {
		t.Fatalf("have %d %s, want the time back as sent", resp.StatusCode, body)
	}
	resp, body = postRaw(t, hs.URL, []byte(callDoc("echo", "<dateTime.iso8601>19980717T14:08:55Z</dateTime.iso8601>")), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "19980717T09:08:55") {
		t.Fatalf("have %d %s, want the UTC time written in UTC-5", resp.StatusCode, body)
	}
}

// zeroMethodOption is a MethodOption not built by MethodHelp or
// MethodSignature.
var zeroMethodOption MethodOption

// registerNoPanic is srv.Register, with a panic turned into an error.
func registerNoPanic(srv *Server, name string, h HandlerFunc, opts ...MethodOption) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return srv.Register(name, h, opts...)
}

// The zero MethodOption is an error, with its own message, not a panic.
func TestRegisterZeroMethodOption(t *testing.T) {
	t.Parallel()
	srv := mustServer(t)
	err := registerNoPanic(srv, "m", func(context.Context, []any) (any, error) { return 1, nil }, zeroMethodOption)
	if want := "xmlrpc: zero MethodOption"; err == nil || err.Error() != want {
		t.Fatalf("have %v, want %q", err, want)
	}
}

// The strings of the faults the server builds itself, word for word: the
// details come from the fields of the typed errors, without the package
// name, and the text of an error of another kind is shown whole.
func TestServerFaultTexts(t *testing.T) {
	t.Parallel()
	srv := mustServer(t, WithMulticall(), WithErrorDetails(), WithLimits(Limits{MaxMulticall: 2}))
	registerTestMethods(t, srv)
	mustRegister(t, srv, "limitError", func(context.Context, []any) (any, error) {
		return nil, &LimitError{Limit: LimitText, Max: 9}
	})
	mustRegister(t, srv, "wrappedLimitError", func(context.Context, []any) (any, error) {
		return nil, fmt.Errorf("lookup: %w", &LimitError{Limit: LimitText, Max: 9})
	})
	mustRegister(t, srv, "badTarget", func(_ context.Context, params []any) (any, error) {
		var n int
		return nil, UnmarshalParams(params, n)
	})
	_, hs := startRPC(t, srv)
	for _, tc := range []struct {
		name, body string
		code       int
		str        string
	}{
		{"syntax error with its line", "<methodCall", -32700, "parse error: line 1: unexpected end of document in a tag"},
		{"invalid value with its line", "<?xml version=\"1.0\"?>\n<methodCall>\n<methodName>echo</methodName><params><param><value><int>12x</int></value></param></params></methodCall>", -32600, `invalid XML-RPC request: line 3: invalid integer "12x"`},
		{"decode limit", callDoc(strings.Repeat("m", 300)), -32700, "parse error: methodName length limit of 256 exceeded"},
		{"parameters", callDoc("add", "<string>x</string>", "<int>1</int>"), -32602, "invalid method parameters: parameter 1: cannot decode string into Go value of type int"},
		{"parameter count", callDoc("add", "<int>1</int>"), -32602, "invalid method parameters: want 2 parameters, got 1"},
		{"handler's *LimitError", callDoc("limitError"), -32500, "text length limit of 9 exceeded"},
		{"handler's wrapped *LimitError", callDoc("wrappedLimitError"), -32500, "lookup: xmlrpc: text length limit of 9 exceeded"},
		{"handler's mistake is not the caller's", callDoc("badTarget", "<int>1</int>"), -32500, "xmlrpc: UnmarshalParams target 1 needs a non-nil pointer, not int"},
		{"multicall over its limit", callDoc("system.multicall", "<array><data><value><int>1</int></value><value><int>1</int></value><value><int>1</int></value></data></array>"), -32600, "invalid XML-RPC request: multicall size limit of 2 exceeded"},
	} {
		resp, body := postRaw(t, hs.URL, []byte(tc.body), nil)
		checkAnswerFraming(t, resp, body)
		err := DecodeResponse(bytes.NewReader(body), nil)
		var f *Fault
		if !errors.As(err, &f) || f.Code != tc.code || f.String != tc.str {
			t.Errorf("%s: have %v, want fault %d %q", tc.name, err, tc.code, tc.str)
		}
	}
	// A bad multicall entry: the fault inside the result.
	var results []any
	resp, body := postRaw(t, hs.URL, []byte(callDoc("system.multicall", "<array><data><value><int>1</int></value></data></array>")), nil)
	checkAnswerFraming(t, resp, body)
	if err := DecodeResponse(bytes.NewReader(body), &results); err != nil || len(results) != 1 {
		t.Fatalf("multicall with a bad entry: have %v, %v", results, err)
	}
	if m, ok := results[0].(map[string]any); !ok || m["faultCode"] != int64(-32600) || m["faultString"] != "invalid XML-RPC request: multicall entry is not a struct" {
		t.Errorf("multicall with a bad entry: have %v, want the -32600 fault struct", results[0])
	}
}

// The errors a FaultFunc receives for the faults the server builds are
// typed and carry the package name: a bad multicall entry is a
// *DecodeError like any other invalid request, a panic an xmlrpc error.
func TestServerFaultFuncErrors(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[FaultKind]error{}
	srv := mustServer(t, WithMulticall(), WithFaultFunc(func(kind FaultKind, method string, err error) *Fault {
		mu.Lock()
		defer mu.Unlock()
		got[kind] = err
		return nil
	}))
	registerTestMethods(t, srv)
	_, hs := startRPC(t, srv)
	postRaw(t, hs.URL, []byte(callDoc("system.multicall", "<array><data><value><int>1</int></value></data></array>")), nil)
	postRaw(t, hs.URL, []byte(callDoc("panic")), nil)
	mu.Lock()
	defer mu.Unlock()
	var de *DecodeError
	if err := got[FaultInvalidRequest]; !errors.As(err, &de) || de.Syntax || de.Msg != "multicall entry is not a struct" {
		t.Errorf("bad multicall entry: have %v (%T), want a *DecodeError", err, err)
	}
	if err := got[FaultInternal]; err == nil || !strings.HasPrefix(err.Error(), "xmlrpc: ") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("panic: have %v, want an xmlrpc error without the panic value", err)
	}
}
