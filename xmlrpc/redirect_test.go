package xmlrpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// secretArg stands for a credential sent in a call, such as an API key.
const secretArg = "SECRET-API-KEY-0123456789"

// recorder is an XML-RPC endpoint that records every request it gets and
// answers each with a successful response.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string // "METHOD path body", one per request
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	r.srv = startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, req.Method+" "+req.URL.Path+" "+string(body))
		r.mu.Unlock()
		io.WriteString(w, okResponse("<string>answer from "+req.URL.Path+"</string>"))
	}))
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

// redirectTo returns a handler that answers every request with status
// and a Location header.
func redirectTo(status int, location string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		w.Header().Set("Location", location)
		w.WriteHeader(status)
	}
}

// checkRefused checks that err reports the redirect (an *HTTPError with
// the status and the Location, named in the message) and that other
// received nothing.
func checkRefused(t *testing.T, err error, status int, location string, other *recorder) {
	t.Helper()
	if got := other.requests(); len(got) > 0 {
		t.Errorf("the redirect target received %d request(s), the first %.80q; want none", len(got), got[0])
	}
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("have error %v (%T), want an *HTTPError", err, err)
	}
	if he.StatusCode != status || he.Location != location {
		t.Errorf("have HTTPError{StatusCode: %d, Location: %q}, want %d and %q", he.StatusCode, he.Location, status, location)
	}
	msg := err.Error()
	if !strings.Contains(msg, strconv.Itoa(status)) || !strings.Contains(msg, location) || !strings.Contains(msg, "redirect") {
		t.Errorf("error %q does not name the redirect (status %d, Location %s)", msg, status, location)
	}
	if !strings.HasPrefix(msg, "xmlrpc: ") {
		t.Errorf("error %q lacks the package prefix", msg)
	}
}

// TestRedirectToAnotherOriginRefused: whatever the status and however the
// client is configured, a redirect to another origin is not followed, so
// the call (credentials included) never reaches the other server.
func TestRedirectToAnotherOriginRefused(t *testing.T) {
	t.Parallel()
	other := newRecorder(t)
	target := other.srv.URL + "/xmlrpc/"
	configs := []struct {
		name string
		opts func() []Option
	}{
		{"default", func() []Option { return nil }},
		{"WithHTTPClient that follows redirects", func() []Option {
			return []Option{WithHTTPClient(&http.Client{})}
		}},
		{"WithHTTPClient with its own CheckRedirect", func() []Option {
			return []Option{WithHTTPClient(&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }})}
		}},
		{"WithSameOriginRedirects", func() []Option { return []Option{WithSameOriginRedirects(5)} }},
	}
	for _, status := range []int{301, 302, 303, 307, 308} {
		srv := startHTTP(t, redirectTo(status, target))
		for _, cfg := range configs {
			t.Run(strconv.Itoa(status)+"/"+cfg.name, func(t *testing.T) {
				c, err := NewClient(srv.URL+"/xmlrpc/", cfg.opts()...)
				if err != nil {
					t.Fatal(err)
				}
				var res string
				err = c.Call(context.Background(), "get_account_info", &res, map[string]any{"api_key": secretArg})
				checkRefused(t, err, status, target, other)
				if res != "" {
					t.Errorf("the call stored a result %q", res)
				}
			})
		}
	}
}

// TestRedirectSameOrigin: a 307 or 308 within the same origin is followed
// only when the caller opted in, and then with the body intact; a
// redirect that would turn the POST into a GET, change the scheme, or go
// on for too long is refused even then.
func TestRedirectSameOrigin(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	mux := http.NewServeMux()
	for _, status := range []int{301, 302, 303, 307, 308} {
		mux.Handle("/r"+strconv.Itoa(status), redirectTo(status, "/final"))
	}
	mux.Handle("/loop", redirectTo(307, "/loop"))
	mux.HandleFunc("/final", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		mu.Lock()
		got = append(got, req.Method+" "+string(body))
		mu.Unlock()
		io.WriteString(w, okResponse("<string>final</string>"))
	})
	srv := startHTTP(t, mux)
	finals := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
	call := func(t *testing.T, path string, opts ...Option) (string, error) {
		t.Helper()
		c, err := NewClient(srv.URL+path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var res string
		err = c.Call(context.Background(), "m", &res, secretArg)
		return res, err
	}

	// Not followed by default.
	for _, status := range []int{307, 308} {
		_, err := call(t, "/r"+strconv.Itoa(status))
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != status || he.Location != srv.URL+"/final" {
			t.Errorf("%d without opting in: have %v, want an *HTTPError for the redirect to %s/final", status, err, srv.URL)
		}
		if f := finals(); len(f) > 0 {
			t.Errorf("%d without opting in: the target received %q", status, f)
		}
	}
	// Followed with the option, body and method intact.
	for _, status := range []int{307, 308} {
		res, err := call(t, "/r"+strconv.Itoa(status), WithSameOriginRedirects(1))
		if err != nil || res != "final" {
			t.Errorf("%d with WithSameOriginRedirects: have %q, %v; want \"final\"", status, res, err)
		}
		if f := finals(); len(f) != 1 || !strings.HasPrefix(f[0], "POST ") || !strings.Contains(f[0], secretArg) {
			t.Errorf("%d with WithSameOriginRedirects: the target received %q, want the POST once", status, f)
		}
	}
	// Refused even with the option.
	for _, status := range []int{301, 302, 303} {
		_, err := call(t, "/r"+strconv.Itoa(status), WithSameOriginRedirects(5))
		var he *HTTPError
		if !errors.As(err, &he) || he.StatusCode != status || !strings.Contains(err.Error(), "GET") {
			t.Errorf("%d with WithSameOriginRedirects: have %v, want an *HTTPError saying the POST would become a GET", status, err)
		}
		if f := finals(); len(f) > 0 {
			t.Errorf("%d with WithSameOriginRedirects: the target received %q", status, f)
		}
	}
	_, err := call(t, "/loop", WithSameOriginRedirects(3))
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 307 || !strings.Contains(err.Error(), "too many") {
		t.Errorf("redirect loop: have %v, want an *HTTPError for too many redirects", err)
	}

	// http to https on the same host changes the origin: refused before
	// any connection is made.
	https := strings.Replace(srv.URL, "http://", "https://", 1) + "/final"
	up := startHTTP(t, redirectTo(307, https))
	c, err := NewClient(up.URL, WithSameOriginRedirects(5))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(context.Background(), "m", nil)
	if !errors.As(err, &he) || he.Location != https || !strings.Contains(err.Error(), "origin") {
		t.Errorf("http to https: have %v, want an *HTTPError for a redirect to another origin", err)
	}
}

func TestWithSameOriginRedirectsArgument(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, 0} {
		if _, err := NewClient("http://127.0.0.1/", WithSameOriginRedirects(n)); err == nil || !strings.HasPrefix(err.Error(), "xmlrpc: ") {
			t.Errorf("WithSameOriginRedirects(%d): have %v, want an xmlrpc error", n, err)
		}
	}
}

// TestRedirectKeepsCallersHTTPClient: the *http.Client given to
// WithHTTPClient may be shared, so the client must not change it.
func TestRedirectKeepsCallersHTTPClient(t *testing.T) {
	t.Parallel()
	followed := 0
	own := func(*http.Request, []*http.Request) error { followed++; return nil }
	hc := &http.Client{CheckRedirect: own}
	other := newRecorder(t)
	srv := startHTTP(t, redirectTo(307, other.srv.URL))
	c, err := NewClient(srv.URL, WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	checkRefused(t, c.Call(context.Background(), "m", nil), 307, other.srv.URL, other)
	if hc.CheckRedirect == nil || followed != 0 {
		t.Errorf("the caller's *http.Client was changed or its CheckRedirect used (%d times)", followed)
	}
	// The caller's client, used directly, still follows its own policy.
	resp, err := hc.Post(srv.URL, "text/xml", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if followed != 1 || len(other.requests()) != 1 {
		t.Errorf("the caller's own CheckRedirect ran %d times, want 1", followed)
	}
}
