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
