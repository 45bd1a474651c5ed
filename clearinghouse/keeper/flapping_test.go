package keeper

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
)

// flapping makes every second get_resource_info answer of the keeper's
// omit one vessel, a different one each time (the answers in between are
// whole), as a proxy or a flaky front end might.
func flapping(n int, vessels []any) []any {
	if n%2 == 0 || len(vessels) == 0 {
		return vessels
	}
	drop := (n / 2) % len(vessels)
	return slices.Delete(slices.Clone(vessels), drop, drop+1)
}

// accountWatch follows, from the mock's side, what the keeper's calls do
// to alice's holdings: the most vessels she held after any call, and
// every vessel an acquisition of the keeper's returned.
type accountWatch struct {
	mu       sync.Mutex
	most     int
	acquired []clearinghouse.Handle
}

// watchAccount installs an accountWatch as e.served.
func (e *keeperEnv) watchAccount(t *testing.T) *accountWatch {
	t.Helper()
	w := &accountWatch{}
	e.served = func(call keeperCall, result any) {
		vs, err := e.mock.Holdings(e.acct.Username)
		if err != nil {
			panic(err)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.most = max(w.most, len(vs))
		if call.method != "acquire_resources" {
			return
		}
		list, _ := result.([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			h, _ := m["handle"].(string)
			w.acquired = append(w.acquired, clearinghouse.Handle(h))
		}
	}
	return w
}

// TestKeeperFlappingListing keeps vessels for three simulated days behind
// a listing that omits a different vessel from every second answer; on
// the second day another program releases one of them. One missing entry
// is not a loss: the keeper must report only the vessel really released,
// replace it once (with replacement), never make alice hold more than
// the target, and end holding exactly what the mock holds for alice, every
// vessel it acquired among them.
func TestKeeperFlappingListing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		replace bool
	}{
		{"without replacement", false},
		{"with replacement", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				const target = 4
				e := newKeeperEnv(t, 0)
				e.listing = flapping
				watch := e.watchAccount(t)
				hs := e.acquire(t, target)
				var opts []Option
				if tc.replace {
					opts = append(opts, WithReplacement(clearinghouse.Random))
				}
				k := mustNew(t, e.client, hs, opts...)
				events := collect(k)
				r := startKeeper(t, k)

				time.Sleep(24 * time.Hour)
				gone := hs[1]
				e.release(t, gone)
				time.Sleep(48 * time.Hour)
				if err := r.stop(t); err != nil {
					t.Fatalf("Run: %v", err)
				}
				<-events.done

				var lost []clearinghouse.Handle
				for _, ev := range events.evs {
					if ev.Kind == EventLost {
						lost = append(lost, ev.Handles...)
					}
				}
				wantHandles(t, "lost", lost, []clearinghouse.Handle{gone})
				snap := k.Snapshot()
				kept := clearinghouse.Handles(vesselsOf(snap.Vessels))
				held := slices.Sorted(maps.Keys(e.held(t)))
				wantHandles(t, "kept by the keeper and held by alice", kept, held)
				want := target - 1
				if tc.replace {
					want = target
				}
				if len(kept) != want || snap.Lost != 1 || snap.Replaced != want-(target-1) {
					t.Fatalf("snapshot: %d kept, %d lost, %d replaced; want %d kept, 1 lost", len(kept), snap.Lost, snap.Replaced, want)
				}
				if watch.most > target {
					t.Fatalf("alice held %d vessels at one point, more than the target %d", watch.most, target)
				}
				for _, h := range watch.acquired {
					if !slices.Contains(kept, h) {
						t.Fatalf("the keeper acquired %s and does not keep it", h)
					}
				}
				if len(watch.acquired) != snap.Replaced {
					t.Fatalf("the keeper acquired %s, want %d", brief(watch.acquired...), snap.Replaced)
				}
				// The final look may be one that omits a vessel: Verify
				// looks again, and vouches for all.
				if err := k.Verify(context.Background()); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				for _, v := range k.Snapshot().Vessels {
					if !v.Held {
						t.Fatalf("after Verify %s is not Held", brief(v.Handle))
					}
				}
			})
		})
	}
}

// hiding makes the keeper's get_resource_info answers omit h from the
// answer numbered from..to-1 (counting from 0).
func hiding(h clearinghouse.Handle, from, to int) func(int, []any) []any {
	return func(n int, vessels []any) []any {
		if n < from || n >= to {
			return vessels
		}
		return slices.DeleteFunc(slices.Clone(vessels), func(v any) bool {
			m, _ := v.(map[string]any)
			return m["handle"] == string(h)
		})
	}
}

// TestKeeperMissingOnce: a vessel missing from one answer is looked for
// again at once, found, and nothing is reported; the keeper goes on.
func TestKeeperMissingOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 2)
		e.listing = hiding(hs[0], 1, 2) // the first periodic check
		r := e.start(t, hs, WithReplacement(clearinghouse.Random), WithCheckInterval(30*time.Minute))
		r.idle()
		at := r.next(t)
		looks := e.keeperCalls("get_resource_info")
		if len(looks) != 3 || !looks[1].at.Equal(at) || !looks[2].at.Equal(at) {
			t.Fatalf("looks at %v, want one at the start and two at %v", callTimes(looks), at.Sub(keeperT0))
		}
		if evs := drain(r.k); len(evs) != 0 {
			t.Fatalf("events %v for a vessel missing from one answer", evs)
		}
		snap := r.k.Snapshot()
		if snap.Lost != 0 || snap.Replaced != 0 || len(e.keeperCalls("acquire_resources")) != 0 || !snap.Vessels[0].Held || !snap.Vessels[1].Held {
			t.Fatalf("snapshot %+v, want both vessels held, nothing lost or acquired", snap)
		}
		if next := r.next(t); !next.Equal(at.Add(30 * time.Minute)) {
			t.Fatalf("next look at %v, want the check interval later", next.Sub(keeperT0))
		}
	})
}

// callTimes returns when the calls were made, from the start of the bubble.
func callTimes(calls []keeperCall) []time.Duration {
	out := make([]time.Duration, len(calls))
	for i, c := range calls {
		out[i] = c.at.Sub(keeperT0)
	}
	return out
}

// TestKeeperLostThenFound: a vessel missing from two answers in a row is
// lost (and not Held); without replacement, when it is listed again the
// keeper keeps it again and says so. With replacement, the keeper releases
// the lost vessel before it acquires the replacement: a listing that hid
// a vessel still held must not leave alice holding more than the target.
func TestKeeperLostThenFound(t *testing.T) {
	t.Parallel()
	for _, replace := range []bool{false, true} {
		t.Run(fmt.Sprint("replace=", replace), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				e := newKeeperEnv(t, 0)
				watch := e.watchAccount(t)
				hs := e.acquire(t, 2)
				e.listing = hiding(hs[1], 1, 3) // both looks of the first periodic check
				opts := []Option{WithCheckInterval(30 * time.Minute)}
				if replace {
					opts = append(opts, WithReplacement(clearinghouse.Random))
				}
				r := e.start(t, hs, opts...)
				r.idle()
				r.next(t)
				evs := drain(r.k)
				if replace {
					wantEvents(t, evs, EventLost, EventReplaced)
				} else {
					wantEvents(t, evs, EventLost)
				}
				wantHandles(t, "lost", evs[0].Handles, hs[1:])

				at := r.next(t) // listed again
				evs = drain(r.k)
				snap := r.k.Snapshot()
				if !replace {
					wantEvents(t, evs, EventFound)
					wantHandles(t, "found", evs[0].Handles, hs[1:])
					if !evs[0].Time.Equal(at) || snap.Lost != 1 || snap.Found != 1 || len(snap.Vessels) != 2 || !snap.Vessels[0].Held || !snap.Vessels[1].Held {
						t.Fatalf("event %v at %v, snapshot %+v; want both kept and held, 1 lost, 1 found", evs[0], evs[0].Time.Sub(keeperT0), snap)
					}
					return
				}
				if len(evs) != 0 {
					t.Fatalf("events %v after the lost vessel was released and replaced, want none", evs)
				}
				if len(snap.Vessels) != 2 || snap.Found != 0 || slices.Contains(clearinghouse.Handles(vesselsOf(snap.Vessels)), hs[1]) {
					t.Fatalf("snapshot %+v, want 2 kept without %s", snap, brief(hs[1]))
				}
				held := e.held(t)
				if _, ok := held[hs[1]]; ok || len(held) != 2 {
					t.Fatalf("alice holds %d vessels, %s among them; want the 2 kept, the lost one released", len(held), brief(hs[1]))
				}
				if watch.most > 2 {
					t.Fatalf("alice held %d vessels at one point, more than the target 2", watch.most)
				}
				if rel := e.keeperCalls("release_resources"); len(rel) != 1 {
					t.Fatalf("%d release_resources calls, want 1 (the lost vessel, before its replacement)", len(rel))
				}
			})
		})
	}
}

// TestKeeperVerify: after Run, Verify looks and updates Held; it refuses
// to run beside Run, and returns the error of a look that fails.
func TestKeeperVerify(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 3)
		r := e.start(t, hs)
		r.idle()
		if err := r.k.Verify(context.Background()); !errors.Is(err, clearinghouse.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), "keeper: ") {
			t.Fatalf("Verify while Run runs: %v, want ErrInvalidArgument", err)
		}
		if err := r.stop(t); err != nil {
			t.Fatal(err)
		}
		e.release(t, hs[0])
		e.failNext("get_resource_info", "500")
		if err := r.k.Verify(context.Background()); !errors.Is(err, clearinghouse.ErrCommunication) {
			t.Fatalf("Verify through an HTTP error: %v, want ErrCommunication", err)
		}
		if snap := r.k.Snapshot(); !snap.Vessels[0].Held {
			t.Fatalf("a failed Verify changed what the keeper knows: %+v", snap.Vessels[0])
		}
		if err := r.k.Verify(context.Background()); err != nil {
			t.Fatal(err)
		}
		snap := r.k.Snapshot()
		for i, v := range snap.Vessels {
			if v.Held != (v.Handle != hs[0]) {
				t.Fatalf("vessel %d (%s): Held %v", i, brief(v.Handle), v.Held)
			}
		}
		if snap.Lost != 0 || len(snap.Vessels) != 3 {
			t.Fatalf("snapshot %+v: Verify must not declare anything lost", snap)
		}
		if n := len(e.keeperCalls("get_resource_info")); n != 1+1+2 {
			t.Fatalf("%d looks, want 1 by Run, 1 failed and 2 by the last Verify", n)
		}
	})
}

// TestKeeperReleaseBeforeReplace: the lost vessels are released before
// their replacements are acquired. A release whose outcome is unknown
// holds the acquisition back until a release succeeds; a list the
// clearinghouse refuses is released one handle at a time, and a handle
// refused on its own is taken as not held.
func TestKeeperReleaseBeforeReplace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// gone: hs[2] is released by another program after the keeper's
		// first look; hs[1:] are hidden from the looks numbered 1 to 4.
		gone     bool
		faults   []string
		releases int // release_resources calls in all
		errors   int // EventErrors before the replacement
	}{
		// The release of both is lost, unapplied: no acquisition until
		// the retry has released them.
		{"dropped once", false, []string{"drop"}, 2, 1},
		// The list is refused, hs[1] is released alone, and hs[2], really
		// gone, is refused alone: taken as not held.
		{"list refused", true, []string{"invalid", "", "invalid"}, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				e := newKeeperEnv(t, 0)
				watch := e.watchAccount(t)
				hs := e.acquire(t, 3)
				e.listing = func(n int, vessels []any) []any {
					return hiding(hs[2], 1, 5)(n, hiding(hs[1], 1, 5)(n, vessels))
				}
				e.failNext("release_resources", tc.faults...)
				r := e.start(t, hs, WithReplacement(clearinghouse.Random), WithCheckInterval(30*time.Minute))
				r.idle()
				if tc.gone {
					e.release(t, hs[2])
				}
				var evs []Event
				for range 20 {
					r.next(t)
					evs = append(evs, drain(r.k)...)
					if slices.Contains(eventKinds(evs), EventReplaced) {
						break
					}
				}
				kinds := eventKinds(evs)
				if kinds[0] != EventLost || kinds[len(kinds)-1] != EventReplaced {
					t.Fatalf("events %v, want lost ... replaced", kinds)
				}
				if n := len(kinds) - 2; n != tc.errors {
					t.Fatalf("events %v, want %d errors between lost and replaced", kinds, tc.errors)
				}
				for _, ev := range evs {
					if ev.Kind == EventError && !slices.Equal(ev.Handles, hs[1:]) {
						t.Fatalf("error event %v, want it to name the lost vessels", ev)
					}
				}
				if n := len(e.keeperCalls("release_resources")); n != tc.releases {
					t.Fatalf("%d release_resources calls, want %d", n, tc.releases)
				}
				if watch.most > 3 {
					t.Fatalf("alice held %d vessels at one point, more than the target 3", watch.most)
				}
				held := e.held(t)
				if len(held) != 3 {
					t.Fatalf("alice holds %d vessels, want the target 3", len(held))
				}
				if err := r.stop(t); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}
