package leaktest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
)

// Echo is a hostile clearinghouse: an http.Handler that sends back, in
// fault strings and in HTTP reason phrases, every string it is sent and
// the secrets it knows, behind padding that puts them across the places
// where messages are cut, with control characters around them.
//
// Each XML-RPC call (a POST outside /admin/) goes to Next first, so that
// Next's state moves as the caller expects. Then a fault from Next gets
// the echo as its string, code kept; of the other answers, one call in
// Every gets a 502 whose reason phrase and body are the echo, and another
// one in Every fault 100 with the echo; the rest go back unchanged. With
// Next nil, every call is answered with fault 101 and the echo. Other
// requests (the mock's /admin/ controls) go to Next untouched.
type Echo struct {
	Next http.Handler
	// Known are secrets the server holds beyond what it is sent (the
	// historical clearinghouse stored users' private keys): every echo
	// carries them too.
	Known []string
	// Clips are the lengths at which the callers cut text. Odd calls pad
	// their echo so that a string it carries straddles one of them (see
	// echo); even calls pad by a length that sweeps 0 to 1100 bytes.
	Clips []int
	// Every is how rarely an answer that is not a fault is replaced (see
	// above); 0 means 5. A larger value lets a caller go further.
	Every int

	calls atomic.Int64
}

// DefaultClips are the cuts of this module's errors (xmlrpc's status 128
// and fault 512 bytes), the suite's summary lines (300) and fault strings
// (1024).
var DefaultClips = []int{128, 300, 512, 1024}

// Controls is what every echo carries besides the strings: a line that
// overwrites the one before it (a carriage return, which XML carries as
// &#13;), a C1 control sequence introducer, a right-to-left override.
const Controls = "bad\rAll good: 10 vessels renewed \u009b2J\u202eevil"

// ReasonControls is what a reason phrase carries besides the strings: a
// screen clear, a colour, a window title, invalid UTF-8.
const ReasonControls = "\x1b[2J\x1b[31mPWNED\x1b]0;title\x07 \xff\xfe"

// Calls returns how many XML-RPC calls Echo has answered.
func (e *Echo) Calls() int64 { return e.calls.Load() }

// ServeHTTP answers as the type's documentation says.
func (e *Echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || strings.HasPrefix(r.URL.Path, "/admin/") {
		if e.Next == nil {
			http.NotFound(w, r)
			return
		}
		e.Next.ServeHTTP(w, r)
		return
	}
	req, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	n := e.calls.Add(1)
	sent := Strings(req)
	fault, reason := e.echo(n, sent, Controls), e.echo(n, sent, ReasonControls)
	if e.Next == nil {
		writeFault(w, 101, fault)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(req))
	rec := httptest.NewRecorder()
	e.Next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	every := e.Every
	if every <= 4 {
		every = 5
	}
	switch {
	case bytes.Contains(body, []byte("<fault>")):
		writeFault(w, faultCode(body), fault)
	case n%int64(every) == 2:
		writeReason(w, reason)
	case n%int64(every) == 4:
		writeFault(w, 100, fault)
	default:
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}
}

// echo is call n's controls, padding, every string it was sent and every
// known secret, rotated so that each comes first in turn, and the controls
// again (at the start, no cut hides them). Odd calls sweep the
// first string over every offset around a clip, from 8 bytes past the
// clip to wholly before it (up to 136 bytes before), for each clip and
// string in turn: a short run meets every clip and every string, a long
// one every offset too.
func (e *Echo) echo(n int64, sent []string, controls string) string {
	all := append(append([]string(nil), sent...), e.Known...)
	if len(all) == 0 {
		all = []string{"(nothing sent)"}
	}
	k := int(n / 2)
	var pad int
	first := k % len(all)
	if n%2 == 1 {
		clips := e.Clips
		if len(clips) == 0 {
			clips = DefaultClips
		}
		c := clips[k%len(clips)]
		first = k / len(clips) % len(all)
		span := min(len(all[first]), 128) + 16
		off := k/len(clips)/len(all)%span - 8
		pad = max(0, c-off-len(controls)-1)
	} else {
		pad = int(n*37) % 1100
	}
	all = append(all[first:], all[:first]...)
	return controls + " " + strings.Repeat("A", pad) + strings.Join(all, " ") + " " + controls
}

// Strings returns the text of every string value of an XML-RPC document
// (typed <string> and untyped <value>), with the XML references resolved.
func Strings(doc []byte) []string {
	var out []string
	for _, re := range []*regexp.Regexp{typedString, untypedString} {
		for _, m := range re.FindAllSubmatch(doc, -1) {
			if len(m[1]) > 0 {
				out = append(out, html.UnescapeString(string(m[1])))
			}
		}
	}
	return out
}

var (
	typedString   = regexp.MustCompile(`<string>([^<]*)</string>`)
	untypedString = regexp.MustCompile(`<value>([^<]+)</value>`)
	faultCodeRe   = regexp.MustCompile(`<name>faultCode</name>\s*<value>\s*<(?:int|i4)>\s*(-?\d+)\s*</`)
)

// faultCode is the code of the fault in body, or 101.
func faultCode(body []byte) int {
	if m := faultCodeRe.FindSubmatch(body); m != nil {
		if c, err := strconv.Atoi(string(m[1])); err == nil {
			return c
		}
	}
	return 101
}

// writeFault answers with a fault; characters XML cannot carry become
// U+FFFD, a carriage return becomes &#xD;.
func writeFault(w http.ResponseWriter, code int, text string) {
	var esc bytes.Buffer
	xml.EscapeText(&esc, []byte(text))
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<?xml version="1.0"?><methodResponse><fault><value><struct>`+
		`<member><name>faultCode</name><value><int>%d</int></value></member>`+
		`<member><name>faultString</name><value><string>%s</string></value></member>`+
		`</struct></value></fault></methodResponse>`, code, esc.Bytes())
}

// writeReason answers 502 with reason as the reason phrase (line breaks
// removed: they would end the status line) and as the body.
func writeReason(w http.ResponseWriter, reason string) {
	reason = strings.NewReplacer("\r", " ", "\n", " ").Replace(reason)
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, reason, http.StatusBadGateway)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 502 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", reason, len(reason), reason)
	buf.Flush()
}
