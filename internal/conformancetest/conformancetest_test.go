package conformancetest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records what ReadJUnit reports.
type recorder struct {
	testing.TB
	errs  []string
	fatal bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
	runtime.Goexit()
}

// readJUnit runs ReadJUnit on data with a recorder, in a goroutine of its
// own so that Fatalf can end it.
func readJUnit(data string) (JUnit, *recorder) {
	r := &recorder{}
	var js JUnit
	done := make(chan struct{})
	go func() {
		defer close(done)
		js = ReadJUnit(r, []byte(data))
	}()
	<-done
	return js, r
}

const goodJUnit = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1" errors="0" skipped="1">
  <testsuite name="HTTP" tests="1" failures="0"><testcase name="BannerGET" classname="HTTP"></testcase></testsuite>
  <testsuite name="Auth" tests="2" failures="1">
    <testcase name="WrongKey" classname="Auth"><failure message="m">have 100</failure></testcase>
    <testcase name="KeyExact" classname="Auth"><skipped message="needs Controls"></skipped></testcase>
  </testsuite>
</testsuites>
`

func TestReadJUnit(t *testing.T) {
	t.Parallel()
	js, r := readJUnit(goodJUnit)
	if len(r.errs) != 0 {
		t.Fatalf("a good file: %q", r.errs)
	}
	if have := js.Names(); !slices.Equal(have, []string{"HTTP", "Auth"}) {
		t.Errorf("Names: have %q, want HTTP, Auth", have)
	}
	if have := js.Failed(); !slices.Equal(have, []string{"Auth/WrongKey"}) {
		t.Errorf("Failed: have %q, want Auth/WrongKey", have)
	}
	if c := js.Suites[1].Cases[1]; c.Skipped == nil || c.Skipped.Message != "needs Controls" {
		t.Errorf("the skipped case: %+v", c)
	}

	for _, tc := range []struct {
		name, data, want string
		fatal            bool
	}{
		{"not XML", "<testsuites", "the JUnit file does not parse", true},
		{"trailing element", goodJUnit + "<more/>", "goes on after </testsuites>", true},
		{"suite total", strings.Replace(goodJUnit, `name="Auth" tests="2"`, `name="Auth" tests="3"`, 1), "testsuite Auth: tests=3, 2 testcases", false},
		{"overall total", strings.Replace(goodJUnit, `failures="1" errors`, `failures="0" errors`, 1), "testsuites: tests=3 failures=0; the testsuites add up to 3 and 1", false},
	} {
		_, r := readJUnit(tc.data)
		if r.fatal != tc.fatal || len(r.errs) == 0 || !strings.Contains(r.errs[0], tc.want) {
			t.Errorf("%s: have fatal %v, %q; want fatal %v and %q", tc.name, r.fatal, r.errs, tc.fatal, tc.want)
		}
	}
}

func TestRewriter(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Next", "kept")
		w.Header().Set("Content-Length", strconv.Itoa(len("old: ")+len(body)))
		w.WriteHeader(http.StatusTeapot)
		if r.Method != http.MethodHead {
			io.WriteString(w, "old: "+string(body))
		}
	})
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(&Rewriter{Next: next, Rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
		mu.Lock()
		seen = append(seen, method+" "+string(req))
		mu.Unlock()
		return ReplaceInBody("old", "a longer new")(method, req, status, body)
	}})
	t.Cleanup(srv.Close)

	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("request"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "a longer new: request" || resp.StatusCode != http.StatusTeapot ||
		resp.Header.Get("X-Next") != "kept" || resp.ContentLength != int64(len(body)) {
		t.Errorf("POST: status %d, headers %v, body %q; want 418, X-Next kept, the rewritten body with its length", resp.StatusCode, resp.Header, body)
	}
	resp, err = http.Head(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || resp.ContentLength != int64(len("old: ")) {
		t.Errorf("HEAD: status %d, length %d; want Next's 418 and length %d", resp.StatusCode, resp.ContentLength, len("old: "))
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []string{"POST request", "HEAD "}) {
		t.Errorf("Rewrite saw %q, want the POST with its body, then the HEAD", seen)
	}
}
