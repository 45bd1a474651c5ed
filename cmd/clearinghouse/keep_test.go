package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/chconfig"
	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
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
	if !strings.Contains(r.stdout, "stopped after") {
		t.Errorf("no summary:\n%v", r)
	}
}
