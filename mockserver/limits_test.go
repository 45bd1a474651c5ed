package mockserver

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// TestWireLimits checks the mock's request limits over HTTP: the largest
// real call fits with room to spare, and each limit is enforced.
func TestWireLimits(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	a := addUser(t, s, "limits")
	url := startHTTP(t, s) + "/xmlrpc/"

	// A release_resources of the longest handles (a ~2 048-character
	// node_id, contract §4) as many as fit, and a bit less.
	nodeID := "65537 " + strings.Repeat("7", 2042)
	handles := make([]any, 1900)
	for i := range handles {
		handles[i] = nodeID + ":v10"
	}
	var largest bytes.Buffer
	if err := xmlrpc.EncodeCall(&largest, "release_resources", auth(a), handles); err != nil {
		t.Fatal(err)
	}
	if largest.Len() > MaxRequestBytes {
		t.Fatalf("the largest real call takes %d bytes, over MaxRequestBytes (%d)", largest.Len(), MaxRequestBytes)
	}
	values := func(n int) string {
		return `<methodCall><methodName>release_resources</methodName><params><param><value><array><data>` +
			strings.Repeat("<value/>", n) + `</data></array></value></param></params></methodCall>`
	}
	nested := func(depth int) string {
		return `<methodCall><methodName>release_resources</methodName><params><param>` +
			strings.Repeat("<value><array><data>", depth) + strings.Repeat("</data></array></value>", depth) +
			`</param></params></methodCall>`
	}
	str := func(n int) string {
		return `<methodCall><methodName>get_encrypted_api_key</methodName><params><param><value><string>` +
			strings.Repeat("u", n) + `</string></value></param></params></methodCall>`
	}
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   int    // the fault, for status 200
		text   string // in the fault string
	}{
		{"largest real call", largest.String(), 200, codeInvalidRequest, "There is no vessel with the node identifier"},
		{"body over the limit", strings.Repeat(" ", MaxRequestBytes+1), http.StatusRequestEntityTooLarge, 0, ""},
		{"elements at the limit", values(MaxRequestElements - 8), 200, codeInternal, ""},
		{"elements over the limit", values(MaxRequestElements), 200, codeMalformed, "element count limit"},
		{"text at the limit", str(MaxRequestText), 200, codeInvalidRequest, ""},
		{"text over the limit", str(MaxRequestText + 1), 200, codeMalformed, "text length limit"},
		{"depth at the limit", nested(MaxRequestDepth), 200, codeInternal, ""},
		{"depth over the limit", nested(MaxRequestDepth + 1), 200, codeMalformed, "depth limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(url, "text/xml", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP status: have %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			var f *xmlrpc.Fault
			if err := xmlrpc.DecodeResponse(bytes.NewReader(body), nil); !errors.As(err, &f) {
				t.Fatalf("have %v, want a fault", err)
			}
			if f.Code != tc.code || !strings.Contains(f.String, tc.text) {
				t.Fatalf("have fault %d %.200q, want %d containing %q", f.Code, f.String, tc.code, tc.text)
			}
		})
	}
}
