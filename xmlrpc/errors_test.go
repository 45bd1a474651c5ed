package xmlrpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/seattletestbed/clearinghouse-go/internal/leaktest"
)

// maxErrorText is what any error message may grow to, whatever the server
// sent.
const maxErrorText = 1024

// TestErrorTextBounded: the message of every error that quotes server data
// stays short, while the fields keep the full data.
func TestErrorTextBounded(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 4<<20)
	tests := []struct {
		name string
		err  error
	}{
		{"Fault", &Fault{Code: 102, String: huge}},
		{"Fault cut inside a character", &Fault{Code: 1, String: strings.Repeat("é", 2<<20)}},
		{"DecodeError", &DecodeError{Msg: huge, Line: 3}},
		{"HTTPError status", &HTTPError{StatusCode: 500, Status: "500 " + huge}},
		{"HTTPError location", &HTTPError{StatusCode: 307, Status: "307 Temporary Redirect", Location: "http://h/" + huge}},
		{"TypeError path", &TypeError{Path: "." + huge, Value: "string", Type: typeOfInt}},
		{"TransportError", &TransportError{Err: errors.New(huge)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.err.Error()
			if len(msg) > maxErrorText {
				t.Errorf("Error() has %d bytes, want at most %d", len(msg), maxErrorText)
			}
			if !utf8.ValidString(msg) {
				t.Errorf("Error() %q is not valid UTF-8", msg[len(msg)-40:])
			}
			if !strings.Contains(msg, "more bytes") {
				t.Errorf("Error() %q does not say that it was cut", msg[max(0, len(msg)-60):])
			}
		})
	}
	if f := (&Fault{Code: 3, String: "short"}); f.Error() != "xmlrpc: fault 3: short" {
		t.Errorf("short fault: have %q", f.Error())
	}
}

var typeOfInt = reflect.TypeFor[int]()

// TestClientErrorTextBounded: a server's 4 MiB fault string, malformed
// fault, status line or map key never becomes a 4 MiB error message; the
// fault string stays whole in Fault.String.
func TestClientErrorTextBounded(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("y", 4<<20)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		result  any
		check   func(t *testing.T, err error)
	}{
		{"4 MiB fault string", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, faultResponse("<int>102</int>", huge))
		}, nil, func(t *testing.T, err error) {
			var f *Fault
			if !errors.As(err, &f) || len(f.String) != len(huge) {
				t.Errorf("have %T, want a *Fault with all %d bytes of the string", err, len(huge))
			}
		}},
		{"malformed fault with a 4 MiB string", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, faultResponse("<string>nan</string>", huge))
		}, nil, nil},
		{"1 MiB reason phrase", hijackAndWrite("HTTP/1.1 500 " + huge[:1<<20] + "\r\nContent-Length: 0\r\n\r\n"), nil, nil},
		{"1 MiB member name", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, okResponse("<struct><member><name>"+huge[:1<<20]+"</name><value><string>s</string></value></member></struct>"))
		}, new(map[string]int), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startHTTP(t, tt.handler)
			c, err := NewClient(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Call(context.Background(), "m", tt.result)
			if err == nil {
				t.Fatal("have no error")
			}
			if n := len(err.Error()); n > maxErrorText {
				t.Errorf("Error() has %d bytes, want at most %d", n, maxErrorText)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

// TestErrorTextEscaped: no control character, bidirectional control or
// byte that is not UTF-8 from a server reaches an error message, which
// shows them escaped; the fields keep the raw text.
func TestErrorTextEscaped(t *testing.T) {
	t.Parallel()
	const hostile = "bad\rAll good \x1b[2J\x1b]0;title\x07 \u009b31m \u202eevil \xff\xfe"
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"Fault", &Fault{Code: 101, String: hostile}},
		{"DecodeError", &DecodeError{Msg: hostile, Line: 2}},
		{"TypeError", &TypeError{Path: "." + hostile, Value: "string " + hostile, Type: typeOfInt}},
		{"HTTPError", &HTTPError{StatusCode: 502, Status: "502 " + hostile}},
		{"TransportError", &TransportError{Err: errors.New(hostile)}},
	} {
		msg := tt.err.Error()
		if cc := leaktest.ControlChars(msg); len(cc) > 0 {
			t.Errorf("%s: Error() %q has control characters %v", tt.name, msg, cc)
		}
		if !strings.Contains(msg, `bad\rAll good \x1b[2J`) || !strings.Contains(msg, `\u202eevil \xff\xfe`) {
			t.Errorf("%s: Error() %q does not show the text escaped", tt.name, msg)
		}
	}
	// Over the wire: a fault string with a carriage return (&#13;), a C1
	// control and a right-to-left override; a reason phrase with terminal
	// escapes and bytes that are not UTF-8.
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
		check   func(err error) bool // the field keeps the raw text
	}{
		{"fault", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, faultResponse("<int>101</int>", "<string>bad&#13;All good: 10 vessels renewed \u009b2J\u202eevil</string>"))
		}, func(err error) bool {
			var f *Fault
			return errors.As(err, &f) && f.String == "bad\rAll good: 10 vessels renewed \u009b2J\u202eevil"
		}},
		{"reason phrase", hijackAndWrite("HTTP/1.1 502 \x1b[2J\x1b[31mPWNED\x1b]0;title\x07 \xff\xfe\r\nContent-Length: 0\r\n\r\n"), func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && strings.Contains(he.Status, "\x1b[2J")
		}},
	} {
		srv := startHTTP(t, tt.handler)
		c, err := NewClient(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Call(context.Background(), "m", nil)
		if err == nil {
			t.Fatalf("%s: have no error", tt.name)
		}
		if cc := leaktest.ControlChars(err.Error()); len(cc) > 0 {
			t.Errorf("%s: Error() %q has control characters %v", tt.name, err.Error(), cc)
		}
		if !tt.check(err) {
			t.Errorf("%s: the error's field lost the raw text: %#v", tt.name, err)
		}
	}
}
