package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse/keeper"
	"github.com/seattletestbed/clearinghouse-go/internal/chconfig"
	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// startKeep runs keep in the background as alice. It returns the live
// stdout, a function to stop it (cancel the context) and the channel
// with the result.
func (f *fixture) startKeep(t *testing.T, inv invocation, args ...string) (*syncbuf.Buffer, context.CancelFunc, <-chan result) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	out := &syncbuf.Buffer{}
	inv.ctx, inv.stdout = ctx, out
	done := make(chan result, 1)
	go func() {
		done <- exec(t, inv, append([]string{"--creds", f.creds, "--retries", "0", "keep"}, args...)...)
	}()
	return out, cancel, done
}

// waitFor waits until out contains s.
func waitFor(t *testing.T, out *syncbuf.Buffer, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q in\n%s", s, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func finish(t *testing.T, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("keep did not stop")
	}
	return result{}
}

func TestKeepCancelled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 2)
	held := f.holdings(t, "alice")
	for _, args := range [][]string{{"keep"}, {"keep", held[0], held[1]}, {"keep", "--json"}} {
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			r := exec(t, invocation{ctx: ctx}, append([]string{"--creds", f.creds}, args...)...)
			want(t, r, exitOK)
			if !strings.Contains(r.stdout, "stopped after") && !strings.Contains(r.stdout, `"event":"summary"`) {
				t.Errorf("no summary:\n%v", r)
			}
		})
	}
}

func TestKeepRenews(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 2)
	// With a 5-hour margin, fresh 4-hour leases are due at once.
	out, stop, done := f.startKeep(t, invocation{}, "--margin", "5h")
	waitFor(t, out, "renewed 2 vessels")
	stop()
	r := finish(t, done)
	want(t, r, exitOK)
	s := out.String()
	for _, w := range []string{"keeping 2 vessels, renewing 5h0m before expiry; Ctrl-C to stop\n",
		"kept 2/2 | next renewal in ", "stopped after ", "2 vessels kept, 1 renewal, 0 lost, 0 replaced"} {
		if !strings.Contains(s, w) {
			t.Errorf("output lacks %q:\n%s", w, s)
		}
	}
	if strings.Contains(s, "\r") {
		t.Errorf("carriage return in output that is not a terminal:\n%q", s)
	}
	vs, _ := f.mock.Holdings("alice")
	for _, v := range vs {
		if !v.Expires.Equal(t0.Add(7 * 24 * time.Hour)) {
			t.Errorf("%s expires at %v, not renewed", v.Handle, v.Expires)
		}
	}
}

func TestKeepJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "lan", 2)
	out, stop, done := f.startKeep(t, invocation{}, "--margin", "5h", "--json")
	waitFor(t, out, `"event":"renewed"`)
	stop()
	want(t, finish(t, done), exitOK)
	var events []jsonKeepEvent
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev jsonKeepEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		events = append(events, ev)
	}
	first, last := events[0], events[len(events)-1]
	if first.Event != "started" || *first.Kept != 2 || first.MarginSeconds != 5*3600 {
		t.Errorf("first event %+v", first)
	}
	if last.Event != "summary" || *last.Renewals != 1 || *last.Kept != 2 || last.NextExpiryAt == "" {
		t.Errorf("last event %+v", last)
	}
	if events[1].Event != "renewed" || len(events[1].Handles) != 2 || !strings.Contains(events[1].Handles[0], " ") {
		t.Errorf("renewed event %+v, want 2 full handles", events[1])
	}
}

func TestKeepTerminal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 1)
	yes := true
	out, stop, done := f.startKeep(t, invocation{tty: &yes}, "--margin", "5h")
	waitFor(t, out, "renewed 1 vessel")
	waitFor(t, out, "\rkept 1/1 | next renewal in 6d")
	stop()
	want(t, finish(t, done), exitOK)
	s := out.String()
	// The summary blanks the status line and ends the output.
	i := strings.LastIndex(s, "\r")
	if !strings.HasPrefix(s[i:], "\rstopped after") || !strings.HasSuffix(s, "\n") {
		t.Errorf("summary does not replace the status line:\n%q", s[max(0, len(s)-300):])
	}
}

func TestKeepLost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 2)
	out, _, done := f.startKeep(t, invocation{}, "--check-interval", "20ms")
	waitFor(t, out, "keeping 2 vessels")
	held := f.holdings(t, "alice")
	want(t, f.run(t, "release", held[0]), exitOK)
	waitFor(t, out, "LOST 1 vessel")
	want(t, f.run(t, "release", held[1]), exitOK)
	r := finish(t, done)
	want(t, r, exitLost, "every kept vessel was lost", "--replace")
	if !strings.Contains(out.String(), "0 vessels kept, 0 renewals, 2 lost") {
		t.Errorf("summary:\n%s", out.String())
	}
}

func TestKeepReplace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 2)
	out, stop, done := f.startKeep(t, invocation{}, "--check-interval", "20ms", "--replace", "WAN")
	waitFor(t, out, "keeping 2 vessels")
	held := f.holdings(t, "alice")
	want(t, f.run(t, "release", held[0]), exitOK)
	waitFor(t, out, "acquired 1 vessel to replace lost ones")
	stop()
	r := finish(t, done)
	want(t, r, exitOK)
	if !strings.Contains(out.String(), "2 vessels kept, 0 renewals, 1 lost, 1 replaced") {
		t.Errorf("summary:\n%s", out.String())
	}
	if n := len(f.holdings(t, "alice")); n != 2 {
		t.Errorf("alice holds %d vessels, want 2", n)
	}
}

func TestKeepSelection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 3)
	held, _ := f.mock.Holdings("alice")
	short := ellipsis + tail(held[2].NodeID, shortSuffix) + ":" + held[2].Name
	out, stop, done := f.startKeep(t, invocation{}, "--margin", "5h", short)
	waitFor(t, out, "renewed 1 vessel: "+short)
	stop()
	want(t, finish(t, done), exitOK)
	after, _ := f.mock.Holdings("alice")
	if !after[0].Expires.Equal(t0.Add(4*time.Hour)) || !after[2].Expires.Equal(t0.Add(7*24*time.Hour)) {
		t.Errorf("kept the wrong vessels")
	}
}

func TestKeepNothingHeld(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run(t, "keep")
	want(t, r, exitOK, "nothing to keep")
}

// TestKeepAuthFailure: with full handles the keeper starts without a
// call; its first call fails authentication, which ends it with code 3.
func TestKeepAuthFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 1)
	env := map[string]string{chconfig.EnvURL: f.url, chconfig.EnvUsername: "alice", chconfig.EnvAPIKey: "WRONG"}
	r := exec(t, invocation{env: env}, "keep", f.holdings(t, "alice")[0])
	want(t, r, exitAuth, "authentication failed")
	if !strings.Contains(r.stdout, "stopped after") || !strings.Contains(r.stdout, "0 vessels kept, 1 unknown (no final look: clearinghouse: get_resource_info: authentication failed") {
		t.Errorf("no summary, or one that claims what it did not see:\n%v", r)
	}
}

// keepEvents parses keep's --json output, one object per line.
func keepEvents(t *testing.T, out string) []jsonKeepEvent {
	t.Helper()
	var events []jsonKeepEvent
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev jsonKeepEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		events = append(events, ev)
	}
	return events
}

// summaryOf returns the summary event, which must end the output.
func summaryOf(t *testing.T, events []jsonKeepEvent) jsonKeepEvent {
	t.Helper()
	last := events[len(events)-1]
	if last.Event != "summary" || last.Kept == nil || last.Lost == nil || last.Renewals == nil {
		t.Fatalf("last event %+v, want a summary", last)
	}
	return last
}

// counts describes a summary's counts for a failure message.
func counts(s jsonKeepEvent) string {
	unknown := -1
	if s.Unknown != nil {
		unknown = *s.Unknown
	}
	return fmt.Sprintf("kept %d, unknown %d, renewals %d, lost %d, replaced %d", *s.Kept, unknown, *s.Renewals, *s.Lost, *s.Replaced)
}

// countingServer serves the fixture's mock on a server of its own that
// counts the get_resource_info calls it answers, and writes a creds file
// for alice pointing at it. It returns the creds file, the count so far,
// and a switch that makes the server answer every call with HTTP 503.
func (f *fixture) countingServer(t *testing.T) (creds string, looks func() int, down *atomic.Bool) {
	t.Helper()
	var n atomic.Int64
	down = &atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if method, _, _ := xmlrpc.DecodeCall(bytes.NewReader(body)); method == "get_resource_info" {
			defer n.Add(1) // counted once answered
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mock.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cf := credsfile.File{URL: srv.URL + "/xmlrpc/", Accounts: []credsfile.Account{{Username: f.alice.Username, APIKey: f.alice.APIKey}}}
	creds = filepath.Join(f.dir, "counting.json")
	if err := credsfile.Write(creds, &cf); err != nil {
		t.Fatal(err)
	}
	return creds, func() int { return int(n.Load()) }, down
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, deadline time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", deadline, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKeepScaledClock runs keep with its default flags against a mock
// whose clock runs 600 and 1000 times as fast as real time, until the
// fresh 4-hour leases of its three vessels would have run out and 10
// minutes more (25 and 15 seconds). The mock must still hold all three,
// keep must have renewed them and reported nothing lost, and its summary
// must count them kept.
func TestKeepScaledClock(t *testing.T) {
	t.Parallel()
	for _, scale := range []float64{600, 1000} {
		t.Run(fmt.Sprint(scale), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, mockserver.WithClock(time.Now), mockserver.WithTimeScale(scale))
			f.acquire(t, "wan", 3)
			held := f.holdings(t, "alice")
			end := f.mock.Now().Add(4*time.Hour + 10*time.Minute)
			out, stop, done := f.startKeep(t, invocation{}, "--json")
			waitUntil(t, "the mock's clock to pass the leases' first end", time.Minute, func() bool {
				return !f.mock.Now().Before(end)
			})
			now := f.mock.Now()
			vs, _ := f.mock.Holdings("alice")
			for _, v := range vs {
				if !v.Expires.After(now.Add(keeper.DefaultRenewMargin)) {
					t.Errorf("%s: lease ends %v after the mock's now, want more than the margin", v.Handle, v.Expires.Sub(now))
				}
			}
			if have := f.holdings(t, "alice"); !slices.Equal(have, held) {
				t.Errorf("alice holds %d vessels, want the %d kept", len(have), len(held))
			}
			stop()
			want(t, finish(t, done), exitOK)
			events := keepEvents(t, out.String())
			for _, ev := range events {
				if ev.Event == "lost" || ev.Event == "error" {
					t.Errorf("event %+v", ev)
				}
			}
			s := summaryOf(t, events)
			if *s.Kept != len(f.holdings(t, "alice")) || *s.Kept != 3 || *s.Lost != 0 || *s.Renewals < 1 {
				t.Fatalf("summary %s; alice holds %d; want 3 kept, none lost, at least one renewal", counts(s), len(f.holdings(t, "alice")))
			}
		})
	}
}

// startKeepWith runs keep with args as alice through the creds file
// given, in the background.
func startKeepWith(t *testing.T, creds string, args ...string) (*syncbuf.Buffer, context.CancelFunc, <-chan result) {
	t.Helper()
	out := &syncbuf.Buffer{}
	ctx, stop := context.WithCancel(t.Context())
	t.Cleanup(stop)
	done := make(chan result, 1)
	go func() {
		done <- exec(t, invocation{ctx: ctx, stdout: out}, append([]string{"--creds", creds, "--retries", "0", "keep"}, args...)...)
	}()
	return out, stop, done
}

// TestKeepSummaryClaimsOnlyWhatItSaw: a vessel released behind keep's
// back after its first look, with the mock's clock at real time, is not
// counted kept in the summary: the final look does not list it. It is
// either unknown (named in the summary) or, had keep looked twice in the
// meantime, lost.
func TestKeepSummaryClaimsOnlyWhatItSaw(t *testing.T) {
	t.Parallel()
	f := newFixture(t, mockserver.WithClock(time.Now), mockserver.WithTimeScale(1))
	f.acquire(t, "wan", 3)
	held := f.holdings(t, "alice")
	creds, looks, _ := f.countingServer(t)
	out, stop, done := startKeepWith(t, creds, append([]string{"--json"}, held...)...)
	waitUntil(t, "keep's first look", 10*time.Second, func() bool { return looks() > 0 })
	want(t, f.run(t, "release", held[0]), exitOK)
	stop()
	want(t, finish(t, done), exitOK)
	s := summaryOf(t, keepEvents(t, out.String()))
	if *s.Kept != 2 || s.Unknown == nil || *s.Unknown+*s.Lost != 1 {
		t.Fatalf("summary %s, want the 2 alice holds kept and 1 unknown or lost", counts(s))
	}
	if *s.Unknown == 1 && !slices.Equal(s.UnknownHandles, held[:1]) {
		t.Fatalf("unknown handles %q, want the released one", s.UnknownHandles)
	}
}

// TestKeepFinalLookFails: when the final look fails, the summary counts
// nothing kept, every vessel unknown, and says why.
func TestKeepFinalLookFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 2)
	held := f.holdings(t, "alice")
	creds, looks, down := f.countingServer(t)
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			down.Store(false)
			before := looks()
			args := held
			if format == "json" {
				args = append([]string{"--json"}, held...)
			}
			out, stop, done := startKeepWith(t, creds, args...)
			waitUntil(t, "keep's first look", 10*time.Second, func() bool { return looks() > before })
			down.Store(true)
			stop()
			want(t, finish(t, done), exitOK)
			if format == "text" {
				if w := ": 0 vessels kept, 2 unknown (no final look: clearinghouse: get_resource_info: communication failed: HTTP status 503"; !strings.Contains(out.String(), w) {
					t.Fatalf("output lacks %q:\n%s", w, out.String())
				}
				return
			}
			s := summaryOf(t, keepEvents(t, out.String()))
			if *s.Kept != 0 || *s.Unknown != 2 || !slices.Equal(s.UnknownHandles, held) || !strings.Contains(s.FinalLookError, "HTTP status 503") {
				t.Fatalf("summary %s, unknown %v, final look error %q; want nothing kept, both unknown", counts(s), s.UnknownHandles, s.FinalLookError)
			}
		})
	}
}
