package xmlrpc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hostile input: every document here must give an error within its limit,
// in bounded memory and time, without a panic, and a server that received it
// must keep answering ordinary calls.

const hostileDecl = `<?xml version="1.0"?>`

// hostileTimeBound bounds the time one hostile exchange may take. It is
// generous because test machines are shared and the race detector is slow;
// a hang or a superlinear blow-up on these multi-megabyte inputs exceeds it
// by far.
const hostileTimeBound = 15 * time.Second

// hostileCallDoc wraps the content of one <value> in a methodCall.
func hostileCallDoc(value string) string {
	return hostileDecl + "<methodCall><methodName>echo</methodName><params><param><value>" +
		value + "</value></param></params></methodCall>"
}

// hostileResponseDoc wraps the content of one <value> in a methodResponse.
func hostileResponseDoc(value string) string {
	return hostileDecl + "<methodResponse><params><param><value>" +
		value + "</value></param></params></methodResponse>"
}

// billionLaughs is the classic entity expansion bomb: ten levels of ten
// references each, a billion "lol"s once expanded.
func billionLaughs(root string) string {
	var b strings.Builder
	b.WriteString(hostileDecl + "\n<!DOCTYPE lolz [\n <!ENTITY lol0 \"lol\">\n")
	for i := 1; i <= 9; i++ {
		b.WriteString(" <!ENTITY lol" + strconv.Itoa(i) + " \"")
		for range 10 {
			b.WriteString("&lol" + strconv.Itoa(i-1) + ";")
		}
		b.WriteString("\">\n")
	}
	b.WriteString("]>\n")
	b.WriteString(strings.Replace(root, "BOMB", "&lol9;", 1))
	return b.String()
}

const (
	laughsCall     = "<methodCall><methodName>echo</methodName><params><param><value><string>BOMB</string></value></param></params></methodCall>"
	laughsResponse = "<methodResponse><params><param><value><string>BOMB</string></value></param></params></methodResponse>"
	xxeCall        = hostileDecl + `<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
		`<methodCall><methodName>echo</methodName><params><param><value><string>&xxe;</string></value></param></params></methodCall>`
	xxeParamCall = hostileDecl + `<!DOCTYPE foo [<!ENTITY % ext SYSTEM "http://127.0.0.1:1/evil.dtd"> %ext;]>` +
		`<methodCall><methodName>echo</methodName><params/></methodCall>`
	xxeExternalDTDCall = hostileDecl + `<!DOCTYPE methodCall SYSTEM "file:///etc/passwd">` +
		`<methodCall><methodName>echo</methodName><params/></methodCall>`
)

// deepArrays is the content of a <value> holding n nested arrays; open
// only leaves every element unclosed.
func deepArrays(n int, openOnly bool) string {
	s := strings.Repeat("<array><data><value>", n) + "1"
	if !openOnly {
		s += strings.Repeat("</value></data></array>", n)
	}
	return s
}

func deepStructs(n int) string {
	return strings.Repeat("<struct><member><name>m</name><value>", n) + "1" +
		strings.Repeat("</value></member></struct>", n)
}

// flatArray is the content of a <value> holding an array of n values.
func flatArray(n int, elem string) string {
	return "<array><data>" + strings.Repeat(elem, n) + "</data></array>"
}

// callWithName is a methodCall document with the given method name.
func callWithName(name string) string {
	return hostileDecl + "<methodCall><methodName>" + name + "</methodName><params/></methodCall>"
}

// wantHostile checks err against want: "" for success, "syntax" or
// "invalid" for a *DecodeError with that Syntax flag, or else the name of
// the Limit of a *LimitError (and its Max, if max is not zero). A hostile
// document never comes back as a *Fault.
func wantHostile(t *testing.T, err error, want string, max int64) {
	t.Helper()
	var f *Fault
	if errors.As(err, &f) {
		t.Fatalf("have fault %v, want a decode or limit error", err)
	}
	var de *DecodeError
	var le *LimitError
	switch want {
	case "":
		if err != nil {
			t.Fatalf("have %v, want success", err)
		}
	case "syntax", "invalid":
		if !errors.As(err, &de) {
			t.Fatalf("have %T %v, want *DecodeError", err, err)
		}
		if de.Syntax != (want == "syntax") {
			t.Fatalf("have DecodeError{Syntax: %v} %v, want Syntax %v", de.Syntax, err, want == "syntax")
		}
		if !strings.HasPrefix(err.Error(), "xmlrpc: ") {
			t.Errorf("error %q does not start with the package name", err)
		}
	default:
		if !errors.As(err, &le) {
			t.Fatalf("have %T %v, want *LimitError %q", err, err, want)
		}
		if le.Limit.String() != want || (max != 0 && le.Max != max) {
			t.Fatalf("have LimitError{%v, %d}, want {%q, %d}", le.Limit, le.Max, want, max)
		}
	}
}

// lenHidden hides the length of a reader, so that the decoder has to
// stream it.
type lenHidden struct{ r io.Reader }

func (h lenHidden) Read(p []byte) (int, error) { return h.r.Read(p) }

type hostileDocCase struct {
	name   string
	value  string // content of a <value>, tried in a call and in a response
	doc    string // a whole call document, when value is empty
	limits Limits
	want   string
	max    int64
	once   bool // slow: try the first way only
}

func hostileDocCases() []hostileDocCase {
	str := func(s string) string { return "<string>" + s + "</string>" }
	small := Limits{MaxTextBytes: 1024}
	cases := []hostileDocCase{
		{name: "billion laughs", doc: billionLaughs(laughsCall), want: "syntax"},
		{name: "external entity file:///etc/passwd", doc: xxeCall, want: "syntax"},
		{name: "external parameter entity", doc: xxeParamCall, want: "syntax"},
		{name: "external DTD", doc: xxeExternalDTDCall, want: "syntax"},
		{name: "DOCTYPE inside a value", value: "<!DOCTYPE x [<!ENTITY a 'b'>]>", want: "syntax"},
		{name: "undeclared entity", value: str("&xxe;"), want: "syntax"},
		{name: "entity without semicolon", value: str("&lt"), want: "syntax"},

		{name: "100000-deep arrays", value: deepArrays(100000, false), want: "nesting depth", max: DefaultMaxDepth},
		{name: "100000-deep arrays never closed", value: deepArrays(100000, true), want: "nesting depth", max: DefaultMaxDepth},
		{name: "100000-deep structs", value: deepStructs(100000), want: "nesting depth", max: DefaultMaxDepth},
		{name: "depth at the default limit", value: deepArrays(DefaultMaxDepth, false)},
		{name: "depth one over the default limit", value: deepArrays(DefaultMaxDepth+1, false), want: "nesting depth", max: DefaultMaxDepth},
		{name: "depth at a custom limit", value: deepStructs(8), limits: Limits{MaxDepth: 8}},
		{name: "depth over a custom limit", value: deepStructs(9), limits: Limits{MaxDepth: 8}, want: "nesting depth", max: 8},

		// methodCall methodName params param value array data = 7 start tags.
		{name: "element count at the limit", doc: hostileCallDoc(flatArray(93, "<value>1</value>")), limits: Limits{MaxElements: 100}},
		{name: "element count over the limit", doc: hostileCallDoc(flatArray(94, "<value>1</value>")), limits: Limits{MaxElements: 100}, want: "element count", max: 100},
		{name: "many empty values", value: flatArray(1000, "<value/>"), limits: Limits{MaxElements: 100}, want: "element count", max: 100},
		{name: "element count default limit", doc: hostileCallDoc(flatArray(DefaultMaxElements, "<value/>")), want: "element count", max: DefaultMaxElements, once: true},

		{name: "string at the text limit", value: str(strings.Repeat("a", 1024)), limits: small},
		{name: "string over the text limit", value: str(strings.Repeat("a", 1025)), limits: small, want: "text length", max: 1024},
		{name: "untyped over the text limit", value: strings.Repeat("a", 1025), limits: small, want: "text length", max: 1024},
		{name: "entities at the text limit", value: str(strings.Repeat("&amp;", 1024)), limits: small},
		{name: "entities over the text limit", value: str(strings.Repeat("&#x41;", 1025)), limits: small, want: "text length", max: 1024},
		{name: "CDATA over the text limit", value: str("<![CDATA[" + strings.Repeat("<", 1025) + "]]>"), limits: small, want: "text length", max: 1024},
		{name: "comments splitting long text", value: str(strings.Repeat("ab<!-- x -->", 513)), limits: small, want: "text length", max: 1024},
		{name: "member name over the text limit", value: "<struct><member><name>" + strings.Repeat("n", 1025) + "</name><value>1</value></member></struct>", limits: small, want: "text length", max: 1024},
		{name: "base64 over the text limit", value: "<base64>" + strings.Repeat("QUJD", 257) + "</base64>", limits: small, want: "text length", max: 1024},
		{name: "string over the default text limit", value: str(strings.Repeat("a", DefaultMaxTextBytes+1)), want: "text length", max: DefaultMaxTextBytes},

		{name: "methodName at the limit", doc: callWithName(strings.Repeat("m", 256))},
		{name: "methodName over the limit", doc: callWithName(strings.Repeat("m", 257)), want: "methodName length", max: 256},
		{name: "methodName of 1 MiB", doc: callWithName(strings.Repeat("m", 1<<20)), want: "methodName length", max: 256},

		{name: "body over the limit", value: str(strings.Repeat("a", 600)), limits: Limits{MaxBodyBytes: 512}, want: "body size", max: 512},

		{name: "UTF-16 byte order mark", doc: "\xff\xfe<\x00m\x00", want: "syntax"},
		{name: "UTF-16 without BOM", doc: "<\x00?\x00x\x00", want: "syntax"},
		{name: "XML 1.1", doc: `<?xml version="1.1"?><methodCall><methodName>a</methodName></methodCall>`, want: "syntax"},
		{name: "unsupported encoding", doc: `<?xml version="1.0" encoding="UTF-7"?><methodCall><methodName>a</methodName></methodCall>`, want: "syntax"},
		{name: "byte above 0x7F in US-ASCII", doc: `<?xml version="1.0" encoding="US-ASCII"?><methodCall><methodName>a</methodName><params><param><value>` + "\xe9" + `</value></param></params></methodCall>`, want: "syntax"},
		{name: "no root", doc: "   ", want: "syntax"},
		{name: "empty document", doc: "", want: "syntax"},
		{name: "second root", doc: callWithName("a") + "<methodCall/>", want: "syntax"},
	}
	for _, bad := range []struct{ name, text string }{
		{"invalid UTF-8 0xFF", "\xff"},
		{"invalid UTF-8 lone lead byte", "\xc3x"},
		{"invalid UTF-8 truncated sequence", "\xe2\x82"},
		{"invalid UTF-8 overlong slash", "\xc0\xaf"},
		{"invalid UTF-8 encoded surrogate", "\xed\xa0\x80"},
		{"invalid UTF-8 beyond U+10FFFF", "\xf4\x90\x80\x80"},
		{"raw NUL", "a\x00b"},
		{"raw SOH", "\x01"},
		{"raw backspace", "\x08"},
		{"raw vertical tab", "\x0b"},
		{"raw form feed", "\x0c"},
		{"raw escape", "\x1b[31m"},
		{"raw unit separator", "\x1f"},
		{"raw U+FFFE", "\uFFFE"},
		{"raw U+FFFF", "\xef\xbf\xbf"},
		{"reference &#0;", "&#0;"},
		{"reference &#x0;", "&#x0;"},
		{"reference &#000;", "&#000;"},
		{"reference &#1;", "&#1;"},
		{"reference &#x1F;", "&#x1F;"},
		{"reference &#xD800;", "&#xD800;"},
		{"reference &#xDFFF;", "&#xDFFF;"},
		{"reference &#55296;", "&#55296;"},
		{"reference &#xFFFE;", "&#xFFFE;"},
		{"reference &#xFFFF;", "&#xFFFF;"},
		{"reference &#x110000;", "&#x110000;"},
		{"reference with 20 digits", "&#99999999999999999999;"},
		{"reference &#x;", "&#x;"},
		{"reference &#;", "&#;"},
		{"reference &#-1;", "&#-1;"},
	} {
		cases = append(cases, hostileDocCase{name: bad.name, value: str(bad.text), want: "syntax"})
	}
	cases = append(cases,
		hostileDocCase{name: "NUL in a comment", value: str("a<!--\x00-->b"), want: "syntax"},
		hostileDocCase{name: "invalid UTF-8 in an attribute", value: `<string a="` + "\xff" + `">x</string>`, want: "syntax"},
		hostileDocCase{name: "NUL in the prolog", doc: "\x00" + callWithName("a"), want: "syntax"},
		// Controls: the allowed characters must still decode.
		hostileDocCase{name: "allowed characters", value: str("\t\n&#13;\u00e9\U0010FFFF&#x10FFFF;&#xE000;&#xFFFD;\x7f")},
	)
	return cases
}

func TestHostileDocuments(t *testing.T) {
	t.Parallel()
	for _, tc := range hostileDocCases() {
		t.Run(tc.name, func(t *testing.T) {
			type attempt struct {
				name string
				run  func() error
			}
			var attempts []attempt
			newDecoder := func(r io.Reader) *Decoder {
				d := NewDecoder(r)
				d.SetLimits(tc.limits)
				return d
			}
			calls := []string{tc.doc}
			if tc.value != "" {
				calls[0] = hostileCallDoc(tc.value)
			}
			for _, doc := range calls {
				attempts = append(attempts,
					attempt{"call", func() error {
						_, _, err := newDecoder(strings.NewReader(doc)).DecodeCall()
						return err
					}},
					attempt{"streamed call", func() error {
						_, _, err := newDecoder(lenHidden{strings.NewReader(doc)}).DecodeCall()
						return err
					}})
			}
			if tc.value != "" {
				doc := hostileResponseDoc(tc.value)
				attempts = append(attempts,
					attempt{"response into any", func() error {
						var v any
						return newDecoder(strings.NewReader(doc)).DecodeResponse(&v)
					}},
					attempt{"response validated only", func() error {
						return newDecoder(lenHidden{strings.NewReader(doc)}).DecodeResponse(nil)
					}})
			}
			if tc.once {
				attempts = attempts[:1]
			}
			for _, a := range attempts {
				t.Run(a.name, func(t *testing.T) {
					start := time.Now()
					err := a.run()
					wantHostile(t, err, tc.want, tc.max)
					if d := time.Since(start); d > hostileTimeBound {
						t.Errorf("took %v", d)
					}
				})
			}
		})
	}
}

// The expansion bombs are refused on sight: the error names the DOCTYPE
// and carries nothing of what an expansion would have read.
func TestHostileEntityErrorsExpandNothing(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{billionLaughs(laughsCall), xxeCall, xxeParamCall, xxeExternalDTDCall} {
		_, _, err := DecodeCall(strings.NewReader(doc))
		if err == nil || !strings.Contains(err.Error(), "DOCTYPE") {
			t.Errorf("have %v, want an error naming the DOCTYPE", err)
		}
		if err != nil && (strings.Contains(err.Error(), "root:") || strings.Contains(err.Error(), "lollol")) {
			t.Errorf("error %q shows expanded content", err)
		}
	}
	err := DecodeResponse(strings.NewReader(billionLaughs(laughsResponse)), new(any))
	wantHostile(t, err, "syntax", 0)
}

// endlessReader yields the same byte forever.
type endlessReader byte

func (r endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// gzipMiB is one gzip member holding 1 MiB of 'a'. Concatenated members
// form a valid multi-member gzip stream, so bombs of any size are cheap
// to build.
var gzipMiB = sync.OnceValue(func() []byte {
	return gzipBytes(bytes.Repeat([]byte("a"), 1<<20))
})

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// gzipBomb compresses prefix, then mib MiB of 'a', then suffix.
func gzipBomb(prefix string, mib int, suffix string) []byte {
	out := gzipBytes([]byte(prefix))
	for range mib {
		out = append(out, gzipMiB()...)
	}
	return append(out, gzipBytes([]byte(suffix))...)
}

// stubTransport answers requests without a network.
type stubTransport func(*http.Request) (*http.Response, error)

func (f stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return f(r)
}

func stubClient(t *testing.T, header http.Header, body func() io.Reader, opts ...Option) *Client {
	t.Helper()
	hc := &http.Client{Transport: stubTransport(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: header.Clone(), Body: io.NopCloser(body()), ContentLength: -1, Request: r,
		}, nil
	})}
	c, err := NewClient("http://127.0.0.1:1/RPC2", append([]Option{WithHTTPClient(hc)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHostileMemory measures the heap allocated while hostile input is
// rejected. It does not run in parallel, so that nothing else allocates
// meanwhile, and it owns no server.
func TestHostileMemory(t *testing.T) {
	laughs := billionLaughs(laughsCall)
	deep := hostileCallDoc(deepArrays(100000, true))
	bomb := gzipBomb(hostileDecl+"<methodResponse><params><param><value><string>", 64, "</string></value></param></params></methodResponse>")
	// With a 1 MiB body limit the read buffer grows, append by append, to
	// the limit: a few MiB allocated in all, however much the input holds.
	const mib = 1 << 20
	bombClient := stubClient(t, http.Header{"Content-Encoding": {"gzip"}}, func() io.Reader { return bytes.NewReader(bomb) },
		WithLimits(Limits{MaxBodyBytes: mib}))
	endlessClient := stubClient(t, http.Header{}, func() io.Reader { return endlessReader(' ') }, WithLimits(Limits{MaxBodyBytes: mib}))
	cases := []struct {
		name     string
		run      func() error
		want     string
		maxAlloc uint64
	}{
		{"billion laughs", func() error {
			_, _, err := DecodeCall(strings.NewReader(laughs))
			return err
		}, "syntax", mib},
		{"100000-deep arrays", func() error {
			_, _, err := DecodeCall(strings.NewReader(deep))
			return err
		}, "nesting depth", uint64(len(deep)) + mib},
		{"endless body", func() error {
			d := NewDecoder(endlessReader('a'))
			d.SetLimits(Limits{MaxBodyBytes: mib})
			_, _, err := d.DecodeCall()
			return err
		}, "body size", 8 * mib},
		{"gzip bomb response, 64 MiB inflated", func() error {
			return bombClient.Call(context.Background(), "echo", nil)
		}, "body size", 8 * mib},
		{"endless response", func() error {
			return endlessClient.Call(context.Background(), "echo", nil)
		}, "body size", 8 * mib},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run() // warm pools and lazily built tables
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			err := tc.run()
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			wantHostile(t, err, tc.want, 0)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d bytes in %v", alloc, elapsed)
			if alloc > tc.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", alloc, tc.maxAlloc)
			}
			if elapsed > hostileTimeBound {
				t.Errorf("took %v", elapsed)
			}
		})
	}
}

// rawExchange sends head and then body on a new connection to addr, from
// another goroutine so that a server answering early cannot block it, and
// reads one response.
func rawExchange(t *testing.T, addr, head string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * hostileTimeBound))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		if _, err := io.WriteString(conn, head); err != nil {
			return
		}
		if body != nil {
			io.Copy(conn, body)
		}
	}()
	defer func() {
		conn.Close() // unblocks the writer
		<-wrote
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp, b
}

func postHead(contentLength int64, extra string) string {
	h := "POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n" + extra
	if contentLength >= 0 {
		h += "Content-Length: " + strconv.FormatInt(contentLength, 10) + "\r\n"
	}
	return h + "\r\n"
}

// chunked frames the bytes of r in HTTP/1.1 chunks, ending the body when
// r ends.
type chunked struct {
	r    io.Reader
	buf  []byte
	done bool
}

func (c *chunked) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.done {
			return 0, io.EOF
		}
		chunk := make([]byte, 32<<10)
		n, err := io.ReadFull(c.r, chunk)
		if n > 0 {
			c.buf = fmt.Appendf(nil, "%x\r\n%s\r\n", n, chunk[:n])
		}
		if err != nil {
			c.buf = append(c.buf, "0\r\n\r\n"...)
			c.done = true
		}
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// hostileServer starts a server with an echo method and the given limits
// and returns its address and a client for it.
func hostileServer(t *testing.T, limits Limits) (string, *Client) {
	t.Helper()
	srv := mustServer(t, WithLimits(limits))
	if err := srv.Register("echo", func(_ context.Context, params []any) (any, error) { return params, nil }); err != nil {
		t.Fatal(err)
	}
	hs := startHTTP(t, srv)
	c, err := NewClient(hs.URL+"/RPC2", WithHTTPClient(hs.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return hs.Listener.Addr().String(), c
}

// stillServing checks that an ordinary call still succeeds.
func stillServing(t *testing.T, c *Client) {
	t.Helper()
	var got []string
	if err := c.Call(context.Background(), "echo", &got, "still serving"); err != nil {
		t.Fatalf("ordinary call after the hostile request: %v", err)
	}
	if len(got) != 1 || got[0] != "still serving" {
		t.Fatalf("ordinary call after the hostile request: have %q", got)
	}
}

func TestHostileRequests(t *testing.T) {
	t.Parallel()
	const limit = 5 << 20 // the 100000-deep document is 4.3 MB
	addr, c := hostileServer(t, Limits{MaxBodyBytes: limit, MaxElements: 10000, MaxTextBytes: 64 << 10})
	gz := "Content-Encoding: gzip\r\n"
	overLimit := hostileCallDoc("<string>" + strings.Repeat("a", limit) + "</string>")
	gzBomb := gzipBomb(hostileDecl+"<methodCall><methodName>echo</methodName><params><param><value><string>", 16, "</string></value></param></params></methodCall>")
	body := func(s string) (int64, io.Reader) { return int64(len(s)), strings.NewReader(s) }
	type req struct {
		contentLength int64 // -1 for a chunked body
		extra         string
		body          io.Reader
	}
	doc := func(s string) req { n, r := body(s); return req{n, "", r} }
	cases := []struct {
		name      string
		req       req
		status    int
		faultCode int
		faultSub  string
	}{
		{name: "billion laughs", req: doc(billionLaughs(laughsCall)), faultCode: -32700, faultSub: "DOCTYPE"},
		{name: "external entity", req: doc(xxeCall), faultCode: -32700, faultSub: "DOCTYPE"},
		{name: "external parameter entity", req: doc(xxeParamCall), faultCode: -32700, faultSub: "DOCTYPE"},
		{name: "100000-deep arrays", req: doc(hostileCallDoc(deepArrays(100000, false))), faultCode: -32700, faultSub: "nesting depth"},
		{name: "100000-deep structs never closed", req: doc(hostileCallDoc(strings.Repeat("<struct><member><name>m</name><value>", 100000))), faultCode: -32700, faultSub: "nesting depth"},
		{name: "element count", req: doc(hostileCallDoc(flatArray(20000, "<value/>"))), faultCode: -32700, faultSub: "element count"},
		{name: "text length", req: doc(hostileCallDoc(strings.Repeat("a", 64<<10+1))), faultCode: -32700, faultSub: "text length"},
		{name: "methodName over 256 bytes", req: doc(callWithName(strings.Repeat("m", 257))), faultCode: -32700, faultSub: "methodName"},
		{name: "invalid UTF-8", req: doc(hostileCallDoc("<string>\xff\xfe</string>")), faultCode: -32700, faultSub: "UTF-8"},
		{name: "raw control character", req: doc(hostileCallDoc("<string>\x1b[2J</string>")), faultCode: -32700},
		{name: "reference to NUL", req: doc(hostileCallDoc("<string>&#0;</string>")), faultCode: -32700},
		{name: "reference to a surrogate", req: doc(hostileCallDoc("<string>&#xD800;</string>")), faultCode: -32700},
		{name: "body over the limit, declared", req: doc(overLimit), status: http.StatusRequestEntityTooLarge},
		{name: "malformed body over the limit, declared", req: doc("<" + strings.Repeat("x", limit)), status: http.StatusRequestEntityTooLarge},
		{name: "body over the limit, chunked", req: req{-1, "Transfer-Encoding: chunked\r\n", &chunked{r: strings.NewReader(overLimit)}}, status: http.StatusRequestEntityTooLarge},
		{name: "endless chunked body", req: req{-1, "Transfer-Encoding: chunked\r\n", &chunked{r: endlessReader('a')}}, status: http.StatusRequestEntityTooLarge},
		{name: "gzip bomb, 16 MiB inflated", req: req{int64(len(gzBomb)), gz, bytes.NewReader(gzBomb)}, status: http.StatusRequestEntityTooLarge},
		{name: "gzip bomb, chunked", req: req{-1, gz + "Transfer-Encoding: chunked\r\n", &chunked{r: bytes.NewReader(gzBomb)}}, status: http.StatusRequestEntityTooLarge},
		{name: "malformed gzip", req: req{9, gz, strings.NewReader("not gzip!")}, status: http.StatusBadRequest},
		{name: "unsupported Content-Encoding", req: req{3, "Content-Encoding: br\r\n", strings.NewReader("abc")}, status: http.StatusUnsupportedMediaType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			resp, b := rawExchange(t, addr, postHead(tc.req.contentLength, tc.req.extra), tc.req.body)
			if d := time.Since(start); d > hostileTimeBound {
				t.Errorf("took %v", d)
			}
			want := tc.status
			if want == 0 {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Fatalf("have status %d %q, want %d", resp.StatusCode, b, want)
			}
			if tc.status == 0 {
				f := decodeFaultBody(t, b)
				if f.Code != tc.faultCode || !strings.Contains(f.String, tc.faultSub) {
					t.Fatalf("have fault %d %q, want %d containing %q", f.Code, f.String, tc.faultCode, tc.faultSub)
				}
				if strings.Contains(f.String, "root:") {
					t.Fatalf("fault string %q shows a local file", f.String)
				}
			}
			stillServing(t, c)
		})
	}
}

// A 2 GB Content-Length whose body never arrives is refused at once, before
// the server waits for a single body byte; compressed or not.
func TestHostileHugeContentLengthNeverArrives(t *testing.T) {
	t.Parallel()
	addr, c := hostileServer(t, Limits{})
	for _, enc := range []string{"none", "identity", "gzip"} {
		extra := ""
		if enc != "none" {
			extra = "Content-Encoding: " + enc + "\r\n"
		}
		t.Run(enc, func(t *testing.T) {
			start := time.Now()
			// The headers and then nothing: the body never comes.
			resp, _ := rawExchange(t, addr, postHead(2<<30, extra), nil)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("have status %d, want 413", resp.StatusCode)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("413 took %v", d)
			}
			stillServing(t, c)
		})
	}
}

// decodeFaultBody decodes a response body that must be a fault.
func decodeFaultBody(t *testing.T, body []byte) *Fault {
	t.Helper()
	err := DecodeResponse(bytes.NewReader(body), nil)
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("have %v for body %.200q, want a fault", err, body)
	}
	return f
}

// hijackHead takes over the connection and writes a raw response head, for
// responses no well-behaved server would send.
func hijackHead(t *testing.T, w http.ResponseWriter, head string) (net.Conn, *bufio.ReadWriter) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return nil, nil
	}
	conn.SetDeadline(time.Now().Add(2 * hostileTimeBound))
	rw.WriteString(head)
	rw.Flush()
	return conn, rw
}

// TestHostileResponses feeds the client responses a hostile server could
// send. Each gives the right error quickly, and the same client then makes
// an ordinary call.
func TestHostileResponses(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	bomb := gzipBomb(hostileDecl+"<methodResponse><params><param><value><string>", 64, "</string></value></param></params></methodResponse>")
	write := func(s string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s) }
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		limits  Limits
		want    string
		max     int64
	}{
		{name: "2 GB Content-Length never arrives", handler: func(w http.ResponseWriter, r *http.Request) {
			conn, rw := hijackHead(t, w, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 2147483648\r\n\r\n<?xml")
			if conn == nil {
				return
			}
			defer conn.Close()
			io.Copy(io.Discard, rw) // until the client hangs up
		}, want: "body size", max: DefaultMaxBodyBytes},
		{name: "declared length over the limit", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(limit+1))
			io.WriteString(w, hostileResponseDoc("<string>"+strings.Repeat("a", limit+1-len(hostileResponseDoc("<string></string>")))+"</string>"))
		}, limits: Limits{MaxBodyBytes: limit}, want: "body size", max: limit},
		{name: "streamed body over the limit", handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, hostileDecl+"<methodResponse><params><param><value><string>")
			chunk := strings.Repeat("a", 32<<10)
			for i := 0; i < 4*limit/len(chunk); i++ {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
			}
		}, limits: Limits{MaxBodyBytes: limit}, want: "body size", max: limit},
		{name: "gzip bomb, default limit", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		}, want: "body size", max: DefaultMaxBodyBytes},
		{name: "gzip bomb, small limit", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		}, limits: Limits{MaxBodyBytes: limit}, want: "body size", max: limit},
		{name: "100000-deep arrays", handler: write(hostileResponseDoc(deepArrays(100000, false))), want: "nesting depth", max: DefaultMaxDepth},
		{name: "element count", handler: write(hostileResponseDoc(flatArray(200, "<value/>"))), limits: Limits{MaxElements: 100}, want: "element count", max: 100},
		{name: "text length", handler: write(hostileResponseDoc(strings.Repeat("a", 2000))), limits: Limits{MaxTextBytes: 1000}, want: "text length", max: 1000},
		{name: "billion laughs", handler: write(billionLaughs(laughsResponse)), want: "syntax"},
		{name: "invalid UTF-8", handler: write(hostileResponseDoc("<string>\xc0\xaf</string>")), want: "syntax"},
		{name: "control character", handler: write(hostileResponseDoc("<string>\x07</string>")), want: "syntax"},
		{name: "reference to NUL", handler: write(hostileResponseDoc("<string>&#0;</string>")), want: "syntax"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.Handle("/hostile", tc.handler)
			srv := mustServer(t)
			if err := srv.Register("echo", func(_ context.Context, params []any) (any, error) { return params, nil }); err != nil {
				t.Fatal(err)
			}
			mux.Handle("/RPC2", srv)
			hs := startHTTP(t, mux)
			hostile, err := NewClient(hs.URL+"/hostile", WithHTTPClient(hs.Client()), WithLimits(tc.limits))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = hostile.Call(context.Background(), "echo", new(any))
			if d := time.Since(start); d > hostileTimeBound {
				t.Errorf("took %v", d)
			}
			wantHostile(t, err, tc.want, tc.max)
			ok, err := NewClient(hs.URL+"/RPC2", WithHTTPClient(hs.Client()), WithLimits(tc.limits))
			if err != nil {
				t.Fatal(err)
			}
			stillServing(t, ok)
		})
	}
}
