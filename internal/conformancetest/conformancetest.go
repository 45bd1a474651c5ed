// Package conformancetest is what the tests of conformance and of
// cmd/conformance share to run the suite and check a run from outside:
// the mock binary built for them and run as a child process, a target
// that rewrites the mock's answers, the run's JUnit report read back
// independently of the code that wrote it, the areas every full run
// reports, and that a run left no vessel held.
package conformancetest

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// BuildMock builds cmd/mockclearinghouse into dir and returns the path of
// the binary. It builds with -race when the test binary has it, so that
// the build shares the test build's cache. Without a go command it skips
// t, or fails it under CI.
func BuildMock(t testing.TB, dir string) string {
	t.Helper()
	goTool := testskip.GoCommand(t, "building cmd/mockclearinghouse")
	bin := filepath.Join(dir, "mockclearinghouse")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/seattletestbed/clearinghouse-go/cmd/mockclearinghouse")
	if out, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Rewriter is an http.Handler that passes each request to Next and lets
// Rewrite change the answer: its status and body, given the request's
// HTTP method and body. The headers are Next's, with the Content-Length
// of the new body (but for a HEAD request whose status is unchanged).
type Rewriter struct {
	Next    http.Handler
	Rewrite func(method string, req []byte, status int, body []byte) (int, []byte)
}

// ServeHTTP serves r through Next and writes the rewritten answer.
func (rw *Rewriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(req))
	rec := httptest.NewRecorder()
	rw.Next.ServeHTTP(rec, r)
	status, body := rw.Rewrite(r.Method, req, rec.Code, rec.Body.Bytes())
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	if r.Method == http.MethodHead && status == rec.Code {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// ReplaceInBody is a Rewrite that replaces old with new in every body.
func ReplaceInBody(old, new string) func(method string, req []byte, status int, body []byte) (int, []byte) {
	return func(method string, req []byte, status int, body []byte) (int, []byte) {
		return status, bytes.ReplaceAll(body, []byte(old), []byte(new))
	}
}

// Areas returns the suite's areas, in the order a full run reports them.
func Areas() []string {
	return []string{"HTTP", "Dispatch", "Auth", "AccountInfo", "Keys", "Faults", "Acquire", "Specific", "Release",
		"Renew", "Credits", "Client", "Restart", "Selection", "Expiry", "AccountChanges", "Sampling"}
}

// JUnit is what the tests read back from a JUnit file: one testsuite per
// area, one testcase per check.
type JUnit struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []Suite  `xml:"testsuite"`
}

// Suite is a testsuite of a JUnit file: an area.
type Suite struct {
	Name     string `xml:"name,attr"`
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Cases    []Case `xml:"testcase"`
}

// Case is a testcase of a JUnit file: a check.
type Case struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
	} `xml:"error"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
	SystemOut string `xml:"system-out"`
}

// ReadJUnit reads a JUnit file back with a strict decoder, and checks that
// nothing follows the document and that its totals add up; a file that
// does not parse ends the test.
func ReadJUnit(t testing.TB, data []byte) JUnit {
	t.Helper()
	var js JUnit
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&js); err != nil {
		t.Fatalf("the JUnit file does not parse: %v\n%s", err, data)
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if cd, ok := tok.(xml.CharData); err != nil || !ok || len(bytes.TrimSpace(cd)) > 0 {
			t.Fatalf("the JUnit file goes on after </testsuites>: %v %v", tok, err)
		}
	}
	tests, failures := 0, 0
	for _, s := range js.Suites {
		if s.Tests != len(s.Cases) {
			t.Errorf("testsuite %s: tests=%d, %d testcases", s.Name, s.Tests, len(s.Cases))
		}
		tests += s.Tests
		failures += s.Failures
	}
	if tests != js.Tests || failures != js.Failures {
		t.Errorf("testsuites: tests=%d failures=%d; the testsuites add up to %d and %d", js.Tests, js.Failures, tests, failures)
	}
	return js
}

// Names lists the testsuites, in order.
func (js JUnit) Names() []string {
	var out []string
	for _, s := range js.Suites {
		out = append(out, s.Name)
	}
	return out
}

// Failed lists the testcases with a failure, as Area/Check.
func (js JUnit) Failed() []string {
	var out []string
	for _, s := range js.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				out = append(out, s.Name+"/"+c.Name)
			}
		}
	}
	return out
}

// NoVesselHeld fails t for each vessel of the target c that someone
// holds: a run of the suite, finished or interrupted, releases what it
// acquired.
func NoVesselHeld(t testing.TB, c conformance.Controls) {
	t.Helper()
	ctx := context.Background()
	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		full, err := c.Node(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range full.Vessels {
			if v.Owner != "" {
				t.Errorf("vessel %s is still held by %s", v.Handle, v.Owner)
			}
		}
	}
}
