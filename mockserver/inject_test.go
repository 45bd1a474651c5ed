package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// faultFixture is a server with 20 nodes in distinct subnets, one account,
// and the fault profile spec, served over HTTP on 127.0.0.1.
func faultFixture(t *testing.T, spec string, opts ...Option) (*Server, string, mockapi.Account) {
	t.Helper()
	p, err := ParseFaultSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, append([]Option{WithFaults(p)}, opts...)...)
	addNodes(t, s, "n", distinctSubnets(10, 20)...)
	u := addUser(t, s, "alice")
	return s, startHTTP(t, s) + "/xmlrpc/", u
}

// rawExchange sends one XML-RPC call on a fresh TCP connection, writing
// the HTTP request by hand, and returns the response head and body as
// read, and the error that ended the reading (nil at a clean end).
func rawExchange(t *testing.T, url, method string, params ...any) (*http.Response, []byte, error) {
	t.Helper()
	host := strings.TrimPrefix(strings.TrimSuffix(url, "/xmlrpc/"), "http://")
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(40 * time.Second))
	body := callDoc(method, params...)
	req := "POST /xmlrpc/ HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: text/xml\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, err
	}
	got, err := io.ReadAll(resp.Body)
	return resp, got, err
}

// wantReset checks that err is what a client sees of a connection reset:
// ECONNRESET on Linux (SO_LINGER 0 sends a RST), some error elsewhere.
func wantReset(t *testing.T, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatal("have an answer, want the connection reset")
	case runtime.GOOS == "linux" && !errors.Is(err, syscall.ECONNRESET):
		t.Fatalf("have %v, want ECONNRESET", err)
	}
}

// heldCount is how many vessels u holds.
func heldCount(t *testing.T, s *Server, u mockapi.Account) int {
	t.Helper()
	vs, err := s.Holdings(u.Username)
	if err != nil {
		t.Fatal(err)
	}
	return len(vs)
}

func TestInjectResetBeforeApply(t *testing.T) {
	t.Parallel()
	s, url, u := faultFixture(t, "acquire_resources:reset_before")
	_, _, err := rawExchange(t, url, "acquire_resources", auth(u), rspec("wan", int64(3)))
	wantReset(t, err)
	if n := heldCount(t, s, u); n != 0 {
		t.Errorf("holding %d vessels after a reset before the call, want 0", n)
	}
	// Another method is not affected.
	resp, _, err := rawExchange(t, url, "get_account_info", auth(u))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("get_account_info: %v", err)
	}
}

func TestInjectResetAfterApply(t *testing.T) {
	t.Parallel()
	s, url, u := faultFixture(t, "acquire_resources:reset_after")
	_, _, err := rawExchange(t, url, "acquire_resources", auth(u), rspec("wan", int64(3)))
	wantReset(t, err)
	if n := heldCount(t, s, u); n != 3 {
		t.Errorf("holding %d vessels after a reset after the call, want 3", n)
	}
}

// TestInjectResetAfterApplyIsDurable checks that the change a reset hides
// is on disk before the reset: a server reopened from the file, without
// Close (a crash), holds it.
func TestInjectResetAfterApplyIsDurable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mock.state")
	p, _ := ParseFaultSpec("release_resources:reset_after")
	s, err := Open(t.Context(), path, WithPopulation(PopulationConfig{}), WithFaults(p),
		WithClock(func() time.Time { return t0 }), WithTimeScale(0))
	if err != nil {
		t.Fatal(err)
	}
	addNodes(t, s, "n", distinctSubnets(10, 5)...)
	u := addUser(t, s, "alice")
	handles := acquire(t, s, u, "wan", 4)
	url := startHTTP(t, s) + "/xmlrpc/"
	_, _, err = rawExchange(t, url, "release_resources", auth(u), anyList(handles[:2]))
	wantReset(t, err)

	// Copy the file as it is now, as a crash would leave it, and open
	// the copy: the release must be in it.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	crash := filepath.Join(t.TempDir(), "crash.state")
	if err := os.WriteFile(crash, data, 0o600); err != nil {
		t.Fatal(err)
	}
	re, err := Open(t.Context(), crash, WithClock(func() time.Time { return t0 }), WithTimeScale(0))
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	checkHeld(t, re, u, handles[2:])
}

func TestInjectUnavailable(t *testing.T) {
	t.Parallel()
	s, url, u := faultFixture(t, "acquire_resources:unavailable,retry_after=2500ms")
	resp, body, err := rawExchange(t, url, "acquire_resources", auth(u), rspec("wan", int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("have %d with Retry-After %q, want 503 with 3 (2.5 s rounded up)", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(string(body), "injected fault") {
		t.Errorf("body %q does not say the fault was injected", body)
	}
	if n := heldCount(t, s, u); n != 0 {
		t.Errorf("holding %d vessels after a 503, want 0 (not applied)", n)
	}
}

func TestInjectServerError(t *testing.T) {
	t.Parallel()
	s, url, u := faultFixture(t, "*:server_error")
	handles := acquire(t, s, u, "wan", 2) // in process: no fault
	resp, _, err := rawExchange(t, url, "release_resources", auth(u), anyList(handles))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	if n := heldCount(t, s, u); n != 2 {
		t.Errorf("holding %d vessels after a 500, want 2 (not applied)", n)
	}
}

func TestInjectTruncate(t *testing.T) {
	t.Parallel()
	s, url, u := faultFixture(t, "acquire_resources:truncate")
	resp, body, err := rawExchange(t, url, "acquire_resources", auth(u), rspec("wan", int64(2)))
	if resp == nil {
		t.Fatalf("no response head: %v", err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading the body: have %v, want io.ErrUnexpectedEOF", err)
	}
	if resp.ContentLength <= int64(len(body)) || len(body) == 0 || int64(len(body)) != resp.ContentLength/2 {
		t.Errorf("Content-Length %d, got %d bytes: want half", resp.ContentLength, len(body))
	}
	if n := heldCount(t, s, u); n != 2 {
		t.Errorf("holding %d vessels after a truncated answer, want 2 (applied)", n)
	}
	// The xmlrpc client reports it as a transport failure.
	c, err := xmlrpc.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	var te *xmlrpc.TransportError
	if err := c.Call(t.Context(), "acquire_resources", nil, auth(u), rspec("wan", int64(1))); !errors.As(err, &te) {
		t.Errorf("xmlrpc client: have %v, want a *TransportError", err)
	}
}

func TestInjectLatencyAndDrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		spec     string
		min, max time.Duration
	}{
		{"latency", "get_account_info:latency=150ms", 150 * time.Millisecond, 2 * time.Second},
		{"latency and jitter", "get_account_info:latency=100ms,jitter=100ms", 100 * time.Millisecond, 2 * time.Second},
		// The answer is about 400 bytes: at least 6 pieces, 5 pauses.
		{"drip", "get_account_info:drip=64/40ms", 200 * time.Millisecond, 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, url, u := faultFixture(t, tc.spec)
			start := time.Now()
			resp, body, err := rawExchange(t, url, "get_account_info", auth(u))
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if elapsed < tc.min || elapsed > tc.max {
				t.Errorf("took %v, want between %v and %v", elapsed, tc.min, tc.max)
			}
			var info map[string]any
			if err := xmlrpc.DecodeResponse(bytes.NewReader(body), &info); err != nil || info["user_name"] != u.Username {
				t.Errorf("answer %v (%v), want alice's account info intact", info, err)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(body))
			}
			if fs := s.Faults(); fs.Fired[0] != 1 {
				t.Errorf("rule fired %d times, want 1", fs.Fired[0])
			}
		})
	}
}

// TestDripBudget checks that a drip stops pausing once the call's delay
// budget is spent, and writes the rest at once.
func TestDripBudget(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	body := bytes.Repeat([]byte("x"), 1000)
	d := &faultDecision{dripBytes: 1, dripPause: 20 * time.Millisecond, stop: make(chan struct{})}
	start := time.Now()
	notes := 0
	drip(t.Context(), rec, body, d, 100*time.Millisecond, func(gone bool) {
		if gone {
			t.Error("drip says the client has gone")
		}
		notes++
	})
	if notes != 1 {
		t.Errorf("note called %d times, want once", notes)
	}
	// 1000 pieces at 20 ms would take 20 s; the budget allows 5 pauses.
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("took %v, want about 100ms", elapsed)
	}
	if rec.Body.Len() != len(body) {
		t.Errorf("wrote %d bytes, want %d", rec.Body.Len(), len(body))
	}
}

// TestInjectDelayEndsWhenProfileChanges checks that replacing the
// profile ends a delay in progress, and that Close does too: no call is
// held longer than the profile that delayed it.
func TestInjectDelayEndsWhenProfileChanges(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"SetFaults", "Close"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			s, url, u := faultFixture(t, "get_account_info:latency=25s")
			c, err := xmlrpc.NewClient(url)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan time.Duration, 1)
			go func() {
				start := time.Now()
				c.Call(context.Background(), "get_account_info", nil, auth(u))
				done <- time.Since(start)
			}()
			waitFor(t, func() bool { return s.Faults().Fired[0] == 1 })
			if end == "Close" {
				s.Close()
			} else if err := s.SetFaults(FaultProfile{}); err != nil {
				t.Fatal(err)
			}
			select {
			case d := <-done:
				if d > 5*time.Second {
					t.Errorf("the call took %v after the profile ended", d)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the delayed call did not end")
			}
		})
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestInjectClientGoneDuringDelay checks that a client that hangs up
// during an injected delay frees the handler at once.
func TestInjectClientGoneDuringDelay(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	s, url, u := faultFixture(t, "get_account_info:latency=25s",
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	c, err := xmlrpc.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "get_account_info", nil, auth(u)); err == nil {
		t.Fatal("the call succeeded within 200ms through a 25 s latency")
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "client_gone=true") })
	_ = s
}

func TestInjectNextExactly(t *testing.T) {
	t.Parallel()
	s, url, u := faultFixture(t, "get_account_info:server_error,skip=1,next=2")
	var have []int
	for range 5 {
		resp, _, err := rawExchange(t, url, "get_account_info", auth(u))
		if err != nil {
			t.Fatal(err)
		}
		have = append(have, resp.StatusCode)
	}
	if want := []int{200, 500, 500, 200, 200}; !equalInts(have, want) {
		t.Errorf("statuses %v, want %v", have, want)
	}
	// Other methods do not count down the rule.
	rawExchange(t, url, "get_public_key", auth(u))
	if fs := s.Faults(); fs.Fired[0] != 2 || fs.Injected[FaultServerError] != 2 {
		t.Errorf("fired %d, injected %d server errors; want 2 and 2", fs.Fired[0], fs.Injected[FaultServerError])
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestInjectFractionSeeded checks that a probability rule affects about
// that fraction of calls, and exactly the same calls again for the same
// seed.
func TestInjectFractionSeeded(t *testing.T) {
	t.Parallel()
	s, url, u := faultFixture(t, "")
	pattern := func(spec string) string {
		t.Helper()
		p, err := ParseFaultSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		must(t, s.SetFaults(p))
		var b strings.Builder
		for range 60 {
			resp, _, err := rawExchange(t, url, "get_account_info", auth(u))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode == http.StatusServiceUnavailable {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a := pattern("seed=7;get_account_info:unavailable,p=0.3")
	b := pattern("seed=7;get_account_info:unavailable,p=0.3")
	c := pattern("seed=8;get_account_info:unavailable,p=0.3")
	if a != b {
		t.Errorf("the same seed gave\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same pattern %s", a)
	}
	if n := strings.Count(a, "x"); n < 8 || n > 30 {
		t.Errorf("%d of 60 calls failed at p=0.3: %s", n, a)
	}
}

// TestInjectNeverInProcess checks that Call is never affected.
func TestInjectNeverInProcess(t *testing.T) {
	t.Parallel()
	s, _, u := faultFixture(t, "*:reset_before")
	mustCall(t, s, "get_account_info", auth(u))
	acquire(t, s, u, "wan", 1)
	if fs := s.Faults(); fs.Fired[0] != 0 {
		t.Errorf("the rule fired %d times for in-process calls", fs.Fired[0])
	}
}

// TestInjectUndecodedPassesThrough checks that a request that never
// reaches a method (undecodable, unknown method) is answered as without a
// profile.
func TestInjectUndecodedPassesThrough(t *testing.T) {
	t.Parallel()
	_, url, _ := faultFixture(t, "*:reset_before")
	if f := postFault(t, url, "<methodCall>"); f.Code != codeMalformed {
		t.Errorf("undecodable: fault %d, want 1", f.Code)
	}
	if f := postFault(t, url, callDoc("no_such_method")); f.Code != codeMalformed {
		t.Errorf("unknown method: fault %d, want 1", f.Code)
	}
}

// TestInjectUnmatchedIsUnchanged checks that, with a profile in force, a
// call no rule fires for gets the same bytes as without one.
func TestInjectUnmatchedIsUnchanged(t *testing.T) {
	t.Parallel()
	s, url, u := faultFixture(t, "get_public_key:reset_before")
	_, with, err := rawExchange(t, url, "get_account_info", auth(u))
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.SetFaults(FaultProfile{}))
	_, without, err := rawExchange(t, url, "get_account_info", auth(u))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(with, without) {
		t.Errorf("with a profile:\n%s\nwithout:\n%s", with, without)
	}
}

// TestInjectIsLoggedCountedAndShown checks the log line, the counts of
// GET /admin/state and the status page's recent calls.
func TestInjectIsLoggedCountedAndShown(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	s, url, u := faultFixture(t, "acquire_resources:latency=1ms,reset_after;get_account_info@alice:unavailable",
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithAdmin(true),
		withWallClock(newFakeWall(wallT0).now))
	rawExchange(t, url, "acquire_resources", auth(u), rspec("wan", int64(1)))
	rawExchange(t, url, "get_account_info", auth(u))

	log := logs.String()
	for _, want := range []string{
		`msg="injected fault" method=acquire_resources fault=latency+reset_after rule=1 applied=true username=alice`,
		`msg="injected fault" method=get_account_info fault=unavailable rule=2 applied=false username=alice`,
		`msg=call method=acquire_resources`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, u.APIKey) {
		t.Error("the log holds the API key")
	}

	var st struct {
		Injected map[string]uint64 `json:"faults_injected"`
	}
	newAdmin(t, s).do("GET", "/admin/state", "", 200, &st)
	want := map[string]uint64{"latency": 1, "drip": 0, "reset_before": 0, "reset_after": 1, "unavailable": 1, "server_error": 0, "truncate": 0}
	for k, n := range want {
		if st.Injected[k] != n {
			t.Errorf("faults_injected[%s] = %d, want %d (all: %v)", k, st.Injected[k], n, st.Injected)
		}
	}

	page := statusPageOf(t, s, "/")
	// The rows, newest first: when, method, username, result, injected.
	rows := tableRows(section(t, page, "calls"))
	if len(rows) != 2 {
		t.Fatalf("%d rows of calls, want 2: %q", len(rows), rows)
	}
	info, acq := rows[0], rows[1]
	if have := strings.Join(acq[1:5], "|"); have != "acquire_resources|alice|ok|latency+reset_after" {
		t.Errorf("acquire row result|injected: have %q", have)
	}
	if have := strings.Join(info[1:5], "|"); have != "get_account_info|alice|not applied|unavailable" {
		t.Errorf("get_account_info row result|injected: have %q", have)
	}
	if calls := visibleText(section(t, page, "calls")); !strings.Contains(calls, "2 calls over HTTP since start, 0 of them faults, 2 with an injected fault") {
		t.Errorf("the calls summary: %s", calls)
	}
	faults := visibleText(section(t, page, "faults"))
	for _, want := range []string{"2 rules", "acquire_resources:reset_after,latency=1ms fired 1", "get_account_info@alice:unavailable fired 1", "reset_after 1"} {
		if !strings.Contains(faults, want) {
			t.Errorf("the faults card lacks %q: %s", want, faults)
		}
	}
}

// TestInjectOverTLSAndHTTP2 checks the faults that end a connection over
// TLS, where the TCP connection under it is reset or closed, and over
// HTTP/2, where the connection cannot be taken over and the stream is
// aborted instead.
func TestInjectOverTLSAndHTTP2(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec  string
		http2 bool
		reset bool // the client sees ECONNRESET (on Linux)
	}{
		{"acquire_resources:reset_after", false, true},
		{"acquire_resources:truncate", false, false},
		{"acquire_resources:reset_after", true, false},
		{"acquire_resources:truncate", true, false},
	} {
		t.Run(fmt.Sprintf("%s http2=%v", tc.spec, tc.http2), func(t *testing.T) {
			t.Parallel()
			p, _ := ParseFaultSpec(tc.spec)
			s := newTestServer(t, WithFaults(p))
			addNodes(t, s, "n", distinctSubnets(10, 5)...)
			u := addUser(t, s, "alice")
			srv := httptest.NewUnstartedServer(s)
			srv.EnableHTTP2 = tc.http2
			srv.StartTLS()
			t.Cleanup(srv.Close)
			c, err := xmlrpc.NewClient(srv.URL+"/xmlrpc/", xmlrpc.WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Call(t.Context(), "acquire_resources", nil, auth(u), rspec("wan", int64(2)))
			var te *xmlrpc.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("have %v, want a transport error", err)
			}
			if tc.reset && runtime.GOOS == "linux" && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("have %v, want ECONNRESET", err)
			}
			if n := heldCount(t, s, u); n != 2 {
				t.Errorf("holding %d, want 2", n)
			}
			// The server goes on serving.
			if err := c.Call(t.Context(), "get_account_info", nil, auth(u)); err != nil {
				t.Errorf("the next call: %v", err)
			}
		})
	}
}

// BenchmarkInjectedPath compares get_resource_info (10 vessels) over HTTP
// without a fault profile and with one in force whose only rule never
// matches: the cost of buffering the answer and asking the engine.
func BenchmarkInjectedPath(b *testing.B) {
	url, a, s := benchHTTP(b)
	body := callDoc("get_resource_info", a)
	run := func(b *testing.B) {
		hc := keepAliveClient(b)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := hc.Post(url, "text/xml", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	b.Run("no profile", run)
	p, err := ParseFaultSpec("set_public_key:reset_before")
	if err != nil {
		b.Fatal(err)
	}
	if err := s.SetFaults(p); err != nil {
		b.Fatal(err)
	}
	b.Run("profile, no rule fires", run)
}
