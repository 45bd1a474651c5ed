package mockserver

import (
	"strings"
	"testing"
)

// The faults the XML-RPC layer builds for a malformed request carry the
// historical ExpatError prefix, then a message made from the typed
// error's fields: the line and message of a *xmlrpc.DecodeError, the
// limit and its value of a *xmlrpc.LimitError.
func TestMalformedFaultStrings(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	url := startHTTP(t, s) + "/xmlrpc/"
	const expat = "<class 'xml.parsers.expat.ExpatError'>:"
	for _, tc := range []struct{ body, want string }{
		{"not xml at all", expat + "line 1: text before the root element"},
		{"<methodCall>\n<methodName>get_account_info</methodName><params><param><value><int>12x</int></value></param></params></methodCall>", expat + `line 2: invalid integer "12x"`},
		{"<methodCall><methodName>" + strings.Repeat("m", 300) + "</methodName></methodCall>", expat + "methodName length limit of 256 exceeded"},
		{"<methodCall><methodName>get_account_info</methodName><params><param><value>" + strings.Repeat("<array><data><value>", MaxRequestDepth+1), expat + "nesting depth limit of 16 exceeded"},
	} {
		f := postFault(t, url, tc.body)
		if f.Code != 1 || f.String != tc.want {
			t.Errorf("%.40q: have fault %d %q, want 1 %q", tc.body, f.Code, f.String, tc.want)
		}
	}
}
