package xmlrpc

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// errKinds lists the error kinds of this package that err matches. A
// client failure must match exactly one.
func errKinds(err error) []string {
	var kinds []string
	var (
		f  *Fault
		te *TransportError
		he *HTTPError
		de *DecodeError
		le *LimitError
		ty *TypeError
		ee *EncodeError
		ue *UnsupportedTypeError
	)
	for _, k := range []struct {
		name   string
		target any
	}{
		{"fault", &f}, {"transport", &te}, {"http", &he}, {"decode", &de},
		{"limit", &le}, {"type", &ty}, {"encode", &ee}, {"unsupported", &ue},
	} {
		if errors.As(err, k.target) {
			kinds = append(kinds, k.name)
		}
	}
	return kinds
}

// expectKind checks that err is of exactly the kind want and says so in
// the package's own words.
func expectKind(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("have no error, want %s", want)
	}
	if kinds := errKinds(err); !slices.Equal(kinds, []string{want}) {
		t.Fatalf("have %T %v matching %q, want only %q", err, err, kinds, want)
	}
	if !strings.HasPrefix(err.Error(), "xmlrpc: ") {
		t.Errorf("error %q does not start with the package name", err)
	}
}

func okResponse(value string) string {
	return `<?xml version="1.0"?><methodResponse><params><param><value>` + value + `</value></param></params></methodResponse>`
}

func faultResponse(code, str string) string {
	return `<?xml version="1.0"?><methodResponse><fault><value><struct><member><name>faultCode</name><value>` + code +
		`</value></member><member><name>faultString</name><value>` + str + `</value></member></struct></value></fault></methodResponse>`
}

// hijackAndWrite takes over the connection, writes raw and closes it.
func hijackAndWrite(raw string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		rw.WriteString(raw)
		rw.Flush()
	}
}

func TestClientFailures(t *testing.T) {
	t.Parallel()
	snippet := strings.Repeat("0123456789abcdef", 128) // 2048 bytes
	writeBody := func(status int, contentType, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
		check   func(t *testing.T, err error)
	}{
		{"HTTP 500", writeBody(500, "text/plain", snippet), "http", func(t *testing.T, err error) {
			var he *HTTPError
			errors.As(err, &he)
			if he.StatusCode != 500 || !strings.HasPrefix(he.Status, "500") || string(he.Body) != snippet[:512] {
				t.Errorf("have %d %q with %d body bytes, want 500 and the first 512 bytes", he.StatusCode, he.Status, len(he.Body))
			}
			if !strings.Contains(err.Error(), "500") {
				t.Errorf("error %q does not name the status", err)
			}
		}},
		{"HTTP 500 with a fault document", writeBody(500, "text/xml", faultResponse("<int>1</int>", "x")), "http", nil},
		{"HTTP 404", http.NotFound, "http", func(t *testing.T, err error) {
			var he *HTTPError
			errors.As(err, &he)
			if he.StatusCode != 404 || string(he.Body) != "404 page not found\n" {
				t.Errorf("have %d %q, want 404 and the whole short body", he.StatusCode, he.Body)
			}
		}},
		{"HTTP 204", writeBody(204, "", ""), "http", nil},
		{"HTTP 200, empty body", writeBody(200, "text/xml", ""), "decode", nil},
		{"HTTP 200, not XML", writeBody(200, "text/xml", "Internal error, please retry"), "decode", nil},
		{"HTTP 200, HTML page", writeBody(200, "text/html", "<html><body><h1>Proxy error</h1></body></html>"), "decode", nil},
		{"HTTP 200, JSON", writeBody(200, "application/json", `{"result": 1}`), "decode", nil},
		{"complete but truncated document", writeBody(200, "text/xml", okResponse("<int>1</int>")[:60]), "decode", nil},
		{"methodCall instead of a response", writeBody(200, "text/xml", callDoc("x")), "decode", nil},
		{"two params", writeBody(200, "text/xml", `<methodResponse><params><param><value><int>1</int></value></param><param><value><int>2</int></value></param></params></methodResponse>`), "decode", nil},
		{"malformed fault", writeBody(200, "text/xml", faultResponse("<string>four</string>", "Too many parameters.")), "decode", func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "Too many parameters.") {
				t.Errorf("malformed fault error %q lost the faultString", err)
			}
		}},
		{"result of the wrong type", writeBody(200, "text/xml", okResponse("<string>x</string>")), "type", nil},
		{"result overflowing the target", writeBody(200, "text/xml", okResponse("<i8>9223372036854775807</i8>")), "type", nil},
		{"fault", writeBody(200, "text/xml", faultResponse("<int>4</int>", "Too many parameters.")), "fault", nil},
		{"declared length longer than sent", hijackAndWrite("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n" + okResponse("<int>1</int>")), "transport", func(t *testing.T, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("have %v, want io.ErrUnexpectedEOF inside", err)
			}
		}},
		{"closed before the status line", hijackAndWrite(""), "transport", nil},
		{"closed inside the headers", hijackAndWrite("HTTP/1.1 200 OK\r\nContent-Ty"), "transport", nil},
		{"closed inside a chunked body", hijackAndWrite("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n<?xml version=\"1"), "transport", func(t *testing.T, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("have %v, want io.ErrUnexpectedEOF inside", err)
			}
		}},
		{"garbage instead of HTTP", hijackAndWrite("SSH-2.0-OpenSSH_9.6\r\n"), "transport", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hs := startHTTP(t, tc.handler)
			c, err := NewClient(hs.URL+"/RPC2", WithHTTPClient(hs.Client()))
			if err != nil {
				t.Fatal(err)
			}
			var result int32
			err = c.Call(context.Background(), "echo", &result)
			expectKind(t, err, tc.want)
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

func TestClientFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		code, str string
		wantCode  int
		wantStr   string
	}{
		{"int code", "<int>4</int>", "<string>Too many parameters.</string>", 4, "Too many parameters."},
		{"i4 code, untyped string", "<i4>-32601</i4>", "method not found: x", -32601, "method not found: x"},
		{"string code", "<string>4</string>", "<string>four</string>", 4, "four"},
		{"untyped code with spaces", " +7 ", "", 7, ""},
		{"i8 code at the 32-bit edge", "<i8>-2147483648</i8>", "<string>min</string>", math.MinInt32, "min"},
		{"escaped string", "<int>1</int>", "<string>a &lt;b&gt; &amp; <![CDATA[<c>]]>&#13;</string>", 1, "a <b> & <c>\r"},
		{"string with a code in it", "<int>2</int>", "<string>error 500: fault 3</string>", 2, "error 500: fault 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hs := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, faultResponse(tc.code, tc.str))
			}))
			c, err := NewClient(hs.URL, WithHTTPClient(hs.Client()))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Call(context.Background(), "x", nil)
			expectKind(t, err, "fault")
			wrapped := fmt.Errorf("clearinghouse: acquire: %w", fmt.Errorf("call: %w", err))
			var f *Fault
			if !errors.As(wrapped, &f) {
				t.Fatalf("errors.As through wrapping failed for %v", wrapped)
			}
			if f.Code != tc.wantCode || f.String != tc.wantStr {
				t.Fatalf("have fault %d %q, want %d %q", f.Code, f.String, tc.wantCode, tc.wantStr)
			}
		})
	}
}

// The response Content-Type is not checked and its charset is ignored:
// only the document decides.
func TestClientIgnoresResponseContentType(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"text/html", "text/html; charset=ISO-8859-1", "application/octet-stream", ""} {
		hs := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{ct}
			io.WriteString(w, okResponse("<string>caf\u00e9</string>"))
		}))
		c, err := NewClient(hs.URL, WithHTTPClient(hs.Client()))
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := c.Call(context.Background(), "x", &got); err != nil || got != "caf\u00e9" {
			t.Errorf("Content-Type %q: have %q, %v; want caf\u00e9", ct, got, err)
		}
	}
}

// refusedAddr returns an address on 127.0.0.1 where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestClientConnectionRefused(t *testing.T) {
	t.Parallel()
	const secret = "pa55-w0rd-s3cret"
	addr := refusedAddr(t)
	fromURL, err := NewClient("http://alice:" + secret + "@" + addr + "/RPC2")
	if err != nil {
		t.Fatal(err)
	}
	explicit, err := NewClient("http://"+addr+"/RPC2", WithBasicAuth("bob", secret))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{fromURL, explicit} {
		err := c.Call(context.Background(), "echo", nil, "x")
		expectKind(t, err, "transport")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("have %v, want ECONNREFUSED inside", err)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %s", err, err, err), c.URL()} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows the password", s)
			}
		}
		if strings.Contains(c.URL(), "@") {
			t.Errorf("URL() = %q still has user information", c.URL())
		}
	}
}

func TestClientContext(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 4)
	srv := mustServer(t)
	mustRegister(t, srv, "block", func(ctx context.Context, _ []any) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	mux := http.NewServeMux()
	mux.Handle("/RPC2", srv)
	mux.HandleFunc("/partial", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		io.WriteString(w, `<?xml version="1.0"?><methodResponse>`)
		http.NewResponseController(w).Flush()
		started <- struct{}{}
		<-r.Context().Done()
	})
	hs := startHTTP(t, mux)
	client := func(path string) *Client {
		c, err := NewClient(hs.URL+path, WithHTTPClient(hs.Client()))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cancelWhenStarted := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go func() {
			select {
			case <-started:
			case <-time.After(5 * time.Second):
			}
			cancel()
		}()
		return ctx
	}
	cases := []struct {
		name string
		path string
		ctx  func() context.Context
		want error
	}{
		{"cancelled while waiting for the answer", "/RPC2", cancelWhenStarted, context.Canceled},
		{"cancelled while reading the body", "/partial", cancelWhenStarted, context.Canceled},
		{"cancelled before the call", "/RPC2", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled},
		{"deadline while waiting for the answer", "/RPC2", func() context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
		{"deadline while reading the body", "/partial", func() context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := client(tc.path).Call(tc.ctx(), "block", nil)
			expectKind(t, err, "transport")
			if !errors.Is(err, tc.want) {
				t.Fatalf("have %v, want %v inside", err, tc.want)
			}
			if d := time.Since(start); d > hostileTimeBound {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestClientBasicAuth(t *testing.T) {
	t.Parallel()
	type auth struct {
		user, pass string
		ok         bool
	}
	seen := make(chan auth, 1)
	srv := mustServer(t)
	registerTestMethods(t, srv)
	hs := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		seen <- auth{u, p, ok}
		if r.URL.Path == "/deny" {
			http.Error(w, "denied", http.StatusUnauthorized)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	host := strings.TrimPrefix(hs.URL, "http://")
	cases := []struct {
		name string
		url  string
		opts []Option
		want auth
	}{
		{"from the URL", "http://alice:p%40ss%3Aw0rd@" + host + "/RPC2", nil, auth{"alice", "p@ss:w0rd", true}},
		{"user only", "http://alice@" + host + "/RPC2", nil, auth{"alice", "", true}},
		{"explicit", "http://" + host + "/RPC2", []Option{WithBasicAuth("bob", "s3cret")}, auth{"bob", "s3cret", true}},
		{"explicit replaces the URL's", "http://alice:one@" + host + "/RPC2", []Option{WithBasicAuth("bob", "two")}, auth{"bob", "two", true}},
		{"none", "http://" + host + "/RPC2", nil, auth{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.url, append([]Option{WithHTTPClient(hs.Client())}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Call(context.Background(), "echo", nil, 1); err != nil {
				t.Fatal(err)
			}
			if got := receive(t, seen, "request"); got != tc.want {
				t.Fatalf("server saw %+v, want %+v", got, tc.want)
			}
			if want := hs.URL + "/RPC2"; c.URL() != want {
				t.Errorf("URL() = %q, want %q", c.URL(), want)
			}
		})
	}
	t.Run("rejected", func(t *testing.T) {
		const secret = "t0p-s3cret"
		c, err := NewClient("http://alice:"+secret+"@"+host+"/deny", WithHTTPClient(hs.Client()))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Call(context.Background(), "echo", nil)
		receive(t, seen, "request")
		expectKind(t, err, "http")
		var he *HTTPError
		errors.As(err, &he)
		if he.StatusCode != 401 || strings.Contains(err.Error(), secret) || strings.Contains(string(he.Body), secret) {
			t.Fatalf("have %v with body %q, want 401 without the password", err, he.Body)
		}
	})
}

func TestNewClientRejects(t *testing.T) {
	t.Parallel()
	const secret = "t0p-s3cret"
	urls := []string{
		"",
		"ftp://example.org/RPC2",
		"file:///etc/passwd",
		"mailto:alice@example.org",
		"/RPC2",
		"RPC2",
		"127.0.0.1:8000/RPC2",
		"http://",
		"http:///RPC2",
		"http://[::1",
		"://example.org",
		"http://example.org:port/",
		"http://exa mple.org/",
		"ftp://alice:" + secret + "@example.org/",
		"http://alice:" + secret + "@example.org:port/",
		"http://alice:" + secret + "@exa mple.org/",
	}
	for _, u := range urls {
		c, err := NewClient(u)
		if err == nil {
			t.Errorf("NewClient(%q) = %v, want an error", u, c.URL())
			continue
		}
		if !strings.HasPrefix(err.Error(), "xmlrpc: ") || strings.Contains(err.Error(), secret) {
			t.Errorf("NewClient(%q): error %q must start with the package name and hide the password", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:1/RPC2", "https://example.org/", "HTTP://example.org", "http://[::1]:8000/x?y=1"} {
		if _, err := NewClient(u); err != nil {
			t.Errorf("NewClient(%q): %v", u, err)
		}
	}

	options := []struct {
		name string
		opt  Option
	}{
		{"WithUserAgent empty", WithUserAgent("")},
		{"WithHTTPClient nil", WithHTTPClient(nil)},
		{"WithLocation nil", WithLocation(nil)},
		{"WithHeader Content-Type", WithHeader("Content-Type", "application/json")},
		{"WithHeader content-type", WithHeader("content-type", "text/plain")},
		{"WithHeader Content-Length", WithHeader("Content-Length", "5")},
		{"WithHeader Content-Encoding", WithHeader("CONTENT-ENCODING", "gzip")},
		{"WithHeader Accept-Encoding", WithHeader("Accept-Encoding", "br")},
		{"WithHeader Host", WithHeader("Host", "evil.example")},
		{"WithHeader Transfer-Encoding", WithHeader("Transfer-Encoding", "chunked")},
		{"WithHeader empty name", WithHeader("", "x")},
		{"WithHeader name with a space", WithHeader("Bad Name", "x")},
		{"WithHeader name with a colon", WithHeader("X:Y", "x")},
		{"WithHeader name with a paren", WithHeader("X(1)", "x")},
		{"WithHeader name with NUL", WithHeader("X\x00", "x")},
		{"WithHeader name with CRLF", WithHeader("X\r\nY", "x")},
		{"WithHeader non-ASCII name", WithHeader("Caf\u00e9", "x")},
		{"WithHeader value with CRLF", WithHeader("X-Ok", "a\r\nInjected: 1")},
		{"WithHeader value with LF", WithHeader("X-Ok", "a\nb")},
		{"WithHeader value with NUL", WithHeader("X-Ok", "a\x00b")},
		{"zero Option", Option{}},
		{"server option", WithMulticall()},
	}
	for _, o := range options {
		c, err := NewClient("http://127.0.0.1:1/", o.opt)
		if err == nil || c != nil {
			t.Errorf("%s: have %v, %v; want a nil client and an error", o.name, c, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "xmlrpc: ") {
			t.Errorf("%s: error %q does not start with the package name", o.name, err)
		}
	}
}

func TestClientRequest(t *testing.T) {
	t.Parallel()
	type captured struct {
		method, path, contentType, userAgent, acceptEncoding, contentEncoding, trace string
		contentLength                                                                int64
		contentLengthHeader                                                          string
		transferEncoding                                                             []string
		body                                                                         []byte
	}
	seen := make(chan captured, 1)
	srv := mustServer(t)
	registerTestMethods(t, srv)
	hs := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		seen <- captured{
			method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"),
			userAgent: r.Header.Get("User-Agent"), acceptEncoding: r.Header.Get("Accept-Encoding"),
			contentEncoding: r.Header.Get("Content-Encoding"), trace: r.Header.Get("X-Trace"),
			contentLength: r.ContentLength, contentLengthHeader: r.Header.Get("Content-Length"),
			transferEncoding: r.TransferEncoding, body: body,
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		srv.ServeHTTP(w, r)
	}))
	cases := []struct {
		name string
		opts []Option
		ua   string
		gzip bool
	}{
		{"defaults", nil, DefaultUserAgent, false},
		{"custom User-Agent and header", []Option{WithUserAgent("probe/2"), WithHeader("x-trace", "abc")}, "probe/2", false},
		{"User-Agent through WithHeader", []Option{WithHeader("user-agent", "raw/1")}, "raw/1", false},
		{"gzip requests", []Option{WithGzip()}, DefaultUserAgent, true},
	}
	args := []any{"x<y", 42, []string{"a", "b"}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(hs.URL+"/RPC2?q=1", append([]Option{WithHTTPClient(hs.Client())}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			var echoed []any
			if err := c.Call(context.Background(), "echo", &echoed, args...); err != nil {
				t.Fatalf("the server could not read the request: %v", err)
			}
			if want := []any{"x<y", int64(42), []any{"a", "b"}}; fmt.Sprint(echoed) != fmt.Sprint(want) {
				t.Fatalf("echoed %#v, want %#v", echoed, want)
			}
			r := receive(t, seen, "request")
			if r.method != http.MethodPost || r.path != "/RPC2" {
				t.Errorf("have %s %s, want POST /RPC2", r.method, r.path)
			}
			if r.contentType != "text/xml" {
				t.Errorf("have Content-Type %q, want text/xml", r.contentType)
			}
			if r.userAgent == "" || r.userAgent != tc.ua {
				t.Errorf("have User-Agent %q, want %q", r.userAgent, tc.ua)
			}
			if r.contentLength != int64(len(r.body)) || r.contentLengthHeader != strconv.Itoa(len(r.body)) || len(r.transferEncoding) != 0 {
				t.Errorf("have Content-Length %d (%q), Transfer-Encoding %q for %d bytes, want an exact length", r.contentLength, r.contentLengthHeader, r.transferEncoding, len(r.body))
			}
			if r.acceptEncoding != "gzip" {
				t.Errorf("have Accept-Encoding %q, want gzip", r.acceptEncoding)
			}
			if tc.name == "custom User-Agent and header" && r.trace != "abc" {
				t.Errorf("have X-Trace %q, want abc", r.trace)
			}
			body := r.body
			if tc.gzip {
				if r.contentEncoding != "gzip" {
					t.Fatalf("have Content-Encoding %q, want gzip", r.contentEncoding)
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			} else if r.contentEncoding != "" {
				t.Errorf("have Content-Encoding %q, want none", r.contentEncoding)
			}
			method, params, err := DecodeCall(bytes.NewReader(body))
			if err != nil || method != "echo" || len(params) != 3 {
				t.Errorf("request body decodes to %q %v, %v", method, params, err)
			}
		})
	}
}

// Arguments that cannot be encoded fail before anything is sent.
func TestClientEncodeErrorsSendNothing(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := mustServer(t, WithI8())
	registerTestMethods(t, srv)
	hs := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		srv.ServeHTTP(w, r)
	}))
	c, err := NewClient(hs.URL, WithHTTPClient(hs.Client()))
	if err != nil {
		t.Fatal(err)
	}
	cyclic := []any{nil}
	cyclic[0] = cyclic
	type node struct{ Next *node }
	loop := &node{}
	loop.Next = loop
	cases := []struct {
		name   string
		method string
		args   []any
		want   string
	}{
		{"NaN", "echo", []any{math.NaN()}, "encode"},
		{"+Inf", "echo", []any{math.Inf(1)}, "encode"},
		{"float32 -Inf", "echo", []any{float32(math.Inf(-1))}, "encode"},
		{"NaN deep inside", "echo", []any{1, map[string]any{"a": []any{1, math.NaN()}}}, "encode"},
		{"channel", "echo", []any{make(chan int)}, "unsupported"},
		{"function", "echo", []any{func() {}}, "unsupported"},
		{"complex", "echo", []any{complex(1, 2)}, "unsupported"},
		{"map with int keys", "echo", []any{map[int]string{1: "a"}}, "unsupported"},
		{"int64 beyond 32 bits", "echo", []any{int64(1) << 40}, "encode"},
		{"int64 below 32 bits", "echo", []any{int64(math.MinInt32) - 1}, "encode"},
		{"uint32 max", "echo", []any{uint32(math.MaxUint32)}, "encode"},
		{"nil", "echo", []any{nil}, "encode"},
		{"nil pointer", "echo", []any{(*int)(nil)}, "encode"},
		{"invalid UTF-8", "echo", []any{"\xff"}, "encode"},
		{"control character", "echo", []any{"a\x01"}, "encode"},
		{"year 10000", "echo", []any{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, "encode"},
		{"cyclic slice", "echo", []any{cyclic}, "limit"},
		{"cyclic pointers", "echo", []any{loop}, "limit"},
		{"method with a space", "bad name", nil, "encode"},
		{"method with markup", "a<b>", nil, "encode"},
		{"empty method", "", nil, "encode"},
		{"method over 256 bytes", strings.Repeat("m", 257), nil, "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Call(context.Background(), tc.method, nil, tc.args...)
			expectKind(t, err, tc.want)
		})
	}
	if _, err := c.Multicall(context.Background(), MulticallEntry{Method: "echo"}, MulticallEntry{Method: "bad name"}); err == nil {
		t.Error("Multicall with a bad method name succeeded")
	}
	if _, err := c.Multicall(context.Background(), MulticallEntry{Method: "echo", Params: []any{math.NaN()}}); err == nil {
		t.Error("Multicall with a NaN param succeeded")
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the server, want 0", n)
	}
	// The counting works: with I8 on, the large integer goes through.
	c8, err := NewClient(hs.URL, WithHTTPClient(hs.Client()), WithI8())
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	if err := c8.Call(context.Background(), "echo", &got, int64(1)<<40); err != nil || len(got) != 1 || got[0] != 1<<40 {
		t.Fatalf("with I8: have %v, %v", got, err)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("%d requests reached the server, want 1", n)
	}
}

func TestClientMulticallResults(t *testing.T) {
	t.Parallel()
	entries := `<array><data>` +
		`<value><array><data><value><int>1</int></value></data></array></value>` +
		`<value><struct><member><name>faultCode</name><value><int>4</int></value></member>` +
		`<member><name>faultString</name><value>nope</value></member></struct></value>` +
		`<value><string>junk</string></value>` +
		`<value><array><data><value>1</value><value>2</value></data></array></value>` +
		`<value><struct><member><name>faultCode</name><value>four</value></member></struct></value>` +
		`<value><array><data></data></array></value>` +
		`</data></array>`
	mux := http.NewServeMux()
	mux.HandleFunc("/mixed", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okResponse(entries)) })
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, okResponse(`<array><data><value><array><data><value>1</value></data></array></value></data></array>`))
	})
	mux.HandleFunc("/fault", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, faultResponse("<int>-32601</int>", "method not found: system.multicall"))
	})
	mux.HandleFunc("/notarray", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okResponse("<int>1</int>")) })
	hs := startHTTP(t, mux)
	client := func(path string) *Client {
		c, err := NewClient(hs.URL+path, WithHTTPClient(hs.Client()))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	six := make([]MulticallEntry, 6)
	for i := range six {
		six[i] = MulticallEntry{Method: "m" + strconv.Itoa(i)}
	}
	res, err := client("/mixed").Multicall(context.Background(), six...)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Value != int64(1) {
		t.Errorf("entry 0: have %#v, want 1", res[0])
	}
	expectFault(t, res[1].Err, 4, "nope", false)
	for _, i := range []int{2, 3, 4, 5} {
		expectKind(t, res[i].Err, "decode")
	}

	_, err = client("/short").Multicall(context.Background(), six[:2]...)
	expectKind(t, err, "decode")
	_, err = client("/fault").Multicall(context.Background(), six[:2]...)
	expectFault(t, err, -32601, "method not found: system.multicall", false)
	_, err = client("/notarray").Multicall(context.Background(), six[:2]...)
	expectKind(t, err, "type")
}

// TestClientConcurrentCalls proves that calls on one Client run in
// parallel: the handler holds every call until eight are in flight at once.
func TestClientConcurrentCalls(t *testing.T) {
	t.Parallel()
	const goroutines, calls, barrier = 32, 50, 8
	var inFlight, peak, arrived atomic.Int32
	release := make(chan struct{})
	srv := mustServer(t)
	mustRegister(t, srv, "hold", func(ctx context.Context, params []any) (any, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if arrived.Add(1) == barrier {
			close(release)
		}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
			return nil, &Fault{Code: 1, String: "barrier timed out: calls are not running in parallel"}
		}
		return params[0], nil
	})
	tr := &http.Transport{MaxIdleConnsPerHost: goroutines}
	t.Cleanup(tr.CloseIdleConnections)
	hs := startHTTP(t, srv)
	c, err := NewClient(hs.URL, WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				want := fmt.Sprintf("g%d-c%d", g, i)
				var got string
				if err := c.Call(context.Background(), "hold", &got, want); err != nil {
					errs <- err
					return
				}
				if got != want {
					errs <- fmt.Errorf("have %q, want %q: answers crossed", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := peak.Load(); p < barrier {
		t.Errorf("at most %d calls were in flight, want at least %d", p, barrier)
	}
}

// TestClientNoGoroutineLeak runs successful and failing calls and checks
// that no goroutine outlives them. It does not run in parallel, because it
// counts the goroutines of the whole process.
func TestClientNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv := mustServer(t, WithGzip())
		registerTestMethods(t, srv)
		mustRegister(t, srv, "block", func(ctx context.Context, _ []any) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		mustRegister(t, srv, "large", func(context.Context, []any) (any, error) { return strings.Repeat("z", 64<<10), nil })
		mux := http.NewServeMux()
		mux.Handle("/RPC2", srv)
		mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) })
		mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
			for range 64 {
				if _, err := io.WriteString(w, strings.Repeat(" ", 32<<10)); err != nil {
					return
				}
			}
		})
		mux.HandleFunc("/cut", hijackAndWrite("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<?xml"))
		hs := httptest.NewServer(mux)
		defer hs.Close()
		tr := &http.Transport{MaxIdleConnsPerHost: 4}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		client := func(path string, opts ...Option) *Client {
			c, err := NewClient(hs.URL+path, append([]Option{WithHTTPClient(hc)}, opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		rpc, failing, stream, cut := client("/RPC2", WithGzip()), client("/500"), client("/stream", WithLimits(Limits{MaxBodyBytes: 64 << 10})), client("/cut")
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 12 {
					ctx := context.Background()
					var err error
					switch (g + i) % 6 {
					case 0:
						var sum int
						err = rpc.Call(ctx, "add", &sum, g, i)
					case 1:
						err = rpc.Call(ctx, "fault", nil)
					case 2:
						err = failing.Call(ctx, "x", nil)
					case 3:
						tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
						err = rpc.Call(tctx, "block", nil)
						cancel()
					case 4:
						err = stream.Call(ctx, "x", nil)
					case 5:
						if i%2 == 0 {
							err = cut.Call(ctx, "x", nil)
						} else {
							err = rpc.Call(ctx, "large", new(string))
						}
					}
					_ = err
				}
			})
		}
		wg.Wait()
	}()
	deadline := time.Now().Add(10 * time.Second)
	after := runtime.NumGoroutine()
	for after > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before {
		var stacks bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, after, stacks.String())
	}
}
