package leaktest

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const key = `K3Y"with\back<amp&AND0123456789XYZ` // 34 bytes, every kind of character to escape

func TestLeaksFindsEveryForm(t *testing.T) {
	t.Parallel()
	q := strconv.Quote(key)
	js, _ := json.Marshal(key)
	for _, c := range []struct {
		name, text, form string
	}{
		{"raw", "fault: " + key + " end", "raw"},
		{"quoted", "have " + q, "Go-quoted"},
		{"JSON", `{"k":` + string(js) + `}`, "JSON"},
		{"HTML", "<td>" + html.EscapeString(key) + "</td>", "HTML-escaped"},
		{"quoted in HTML", "<pre>" + html.EscapeString(q) + "</pre>", "Go-quoted, HTML"},
		{"lower case", strings.ToLower(key), "raw"},
		{"upper case", strings.ToUpper(key), "raw"},
		{"cut by a clip", "AAAA" + key[:9] + "... (500 more bytes)", "raw"},
		{"one character missing", key[:20] + key[21:], "raw"},
	} {
		leaks := Leaks(c.text, []string{key})
		found := false
		for _, l := range leaks {
			found = found || slices.Contains(l.Forms, c.form) || c.form == "raw" && slices.Contains(l.Forms, "plain")
		}
		if !found {
			t.Errorf("%s: have %v, want a leak in form %q", c.name, leaks, c.form)
		}
	}
}

func TestLeaksIgnoresShortPieces(t *testing.T) {
	t.Parallel()
	d := strings.Repeat("1234567890", 30)
	for _, c := range []struct {
		name, text string
	}{
		{"7 characters", "... " + key[:7] + " ..."},
		{"15 digits", "node " + d[3:18] + " is up"},
		{"nothing", "all good"},
	} {
		if leaks := Leaks(c.text, []string{key, d}); len(leaks) > 0 {
			t.Errorf("%s: have %v, want none", c.name, leaks)
		}
	}
	if leaks := Leaks("node "+d[3:19], []string{d}); Total(leaks) != 1 {
		t.Errorf("16 digits: have %v, want 1 leak", leaks)
	}
}

func TestLeaksCountsPlaces(t *testing.T) {
	t.Parallel()
	text := key + " and " + key + " and " + key[5:20]
	leaks := Leaks(text, []string{key})
	if len(leaks) != 1 || leaks[0].Count != 3 || leaks[0].Longest != len(key) || !slices.Equal(leaks[0].Forms, []string{"raw"}) {
		t.Errorf("have %v, want 3 raw places, the longest %d bytes", leaks, len(key))
	}
}

func TestControlChars(t *testing.T) {
	t.Parallel()
	have := ControlChars("a\tb\nc" + ReasonControls + Controls + "&#xD;&#13;&#xA;&#8238;")
	want := map[string]int{"U+001B": 3, "U+0007": 1, "invalid byte": 2, "U+000D": 1, "U+009B": 1, "U+202E": 1, "&#xD;": 1, "&#13;": 1, "&#8238;": 1}
	if len(have) != len(want) {
		t.Errorf("have %v, want %v", have, want)
	}
	for k, v := range want {
		if have[k] != v {
			t.Errorf("%s: have %d, want %d (all: %v)", k, have[k], v, have)
		}
	}
	if n := Sum(ControlChars("plain text, é, 日本, tab\tand\nnewline")); n != 0 {
		t.Errorf("ordinary text: %d control characters, want 0", n)
	}
}

// TestEchoSendsBackWhatItGets: faults keep their code and carry every
// string sent and every known secret; some answers become a 502 whose
// reason phrase carries them.
func TestEchoSendsBackWhatItGets(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte("bad")) {
			io.WriteString(w, `<?xml version="1.0"?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>102</int></value></member><member><name>faultString</name><value><string>no</string></value></member></struct></value></fault></methodResponse>`)
			return
		}
		io.WriteString(w, `<?xml version="1.0"?><methodResponse><params><param><value><string>ok</string></value></param></params></methodResponse>`)
	})
	e := &Echo{Next: next, Known: []string{"KNOWN-SECRET"}}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	call := func(arg string) (int, string, string) {
		t.Helper()
		body := `<?xml version="1.0"?><methodCall><methodName>m</methodName><params><param><value><string>` + html.EscapeString(arg) + `</string></value></param></params></methodCall>`
		resp, err := http.Post(srv.URL+"/xmlrpc/", "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Status, string(b)
	}
	reasons := 0
	for i := range 10 {
		arg := "bad <" + strconv.Itoa(i) + "> & more"
		code, status, body := call(arg)
		switch {
		case code == http.StatusBadGateway:
			reasons++
			if !strings.Contains(status, arg) || !strings.Contains(status, "KNOWN-SECRET") || !strings.Contains(status, "\x1b[2J") {
				t.Errorf("call %d: reason phrase %q lacks the echo", i, status)
			}
		case !strings.Contains(body, "<int>102</int>") || !strings.Contains(body, html.EscapeString(arg)) || !strings.Contains(body, "KNOWN-SECRET") || !strings.Contains(body, "&#xD;"):
			t.Errorf("call %d: the fault does not echo with its code: %s", i, body)
		}
	}
	if reasons != 0 {
		t.Errorf("%d faults became reason phrases; faults keep theirs", reasons)
	}
	for i := range 10 {
		code, status, body := call("fine " + strconv.Itoa(i))
		if code == http.StatusBadGateway {
			reasons++
			if !strings.Contains(status, "fine "+strconv.Itoa(i)) {
				t.Errorf("reason phrase %q lacks the echo", status)
			}
		} else if !strings.Contains(body, "ok") && !strings.Contains(body, "fine "+strconv.Itoa(i)) {
			t.Errorf("answer %s neither passed on nor echoed", body)
		}
	}
	if reasons == 0 {
		t.Errorf("no answer became a reason phrase")
	}
	if e.Calls() != 20 {
		t.Errorf("Calls %d, want 20", e.Calls())
	}
}

// TestEchoPadsAcrossClips: odd calls put each string across each clip at
// every offset.
func TestEchoPadsAcrossClips(t *testing.T) {
	t.Parallel()
	e := &Echo{Clips: []int{100, 300}}
	sent := []string{"SECRET-0123456789", "OTHER-SECRET"}
	cuts := map[string]map[int]bool{} // string and clip → offsets cut
	for n := int64(1); n < 2*(17+16)*2*2; n += 2 {
		s := e.echo(n, sent, Controls)
		for _, sec := range sent {
			at := strings.Index(s, sec)
			for _, c := range e.Clips {
				if at < c && at+len(sec) > c {
					k := sec + strconv.Itoa(c)
					if cuts[k] == nil {
						cuts[k] = map[int]bool{}
					}
					cuts[k][c-at] = true
				}
			}
		}
	}
	for _, sec := range sent {
		for _, c := range e.Clips {
			if n := len(cuts[sec+strconv.Itoa(c)]); n != len(sec)-1 {
				t.Errorf("%s is cut by the clip at %d in %d places, want all %d", sec, c, n, len(sec)-1)
			}
		}
	}
}

func TestStrings(t *testing.T) {
	t.Parallel()
	doc := `<methodCall><params><param><value><struct><member><name>api_key</name><value><string>a&lt;b&amp;&#34;</string></value></member></struct></value></param><param><value>untyped</value></param></params></methodCall>`
	have := Strings([]byte(doc))
	if len(have) != 2 || have[0] != `a<b&"` || have[1] != "untyped" {
		t.Errorf("have %q", have)
	}
}
