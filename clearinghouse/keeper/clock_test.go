package keeper

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// TestKeeperScaledClock keeps three fresh vessels with the default
// options against a mock whose clock runs 1, 600 and 1000 times as fast
// as the keeper's (the bubble's), every call taking 150 ms each way.
// The mock must hold the three at every sample (20 per 4-hour lease), its
// behaviour report must find no missed renewal and no renewal storm, and
// the keeper must not look much more often than its check interval asks,
// counted on the mock's clock.
func TestKeeperScaledClock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scale float64
		run   time.Duration // on the keeper's clock
	}{
		{1, 10 * 24 * time.Hour},
		{600, 45 * time.Minute},
		{1000, 30 * time.Minute},
	} {
		t.Run(fmt.Sprint(tc.scale), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				e := newKeeperEnv(t, 0, mockserver.WithTimeScale(tc.scale))
				e.latency = 150 * time.Millisecond
				hs := e.acquire(t, 3)
				r := startKeeper(t, mustNew(t, e.client, hs))
				step := time.Duration(float64(4*time.Hour) / tc.scale / 20)
				start := time.Now()
				for time.Since(start) < tc.run {
					time.Sleep(step)
					synctest.Wait()
					e.mustHold(t, hs)
				}
				if err := r.stop(t); err != nil {
					t.Fatalf("Run: %v", err)
				}
				snap := r.k.Snapshot()
				if snap.Lost != 0 || snap.ClockRate < tc.scale || snap.ClockRate > tc.scale*1.01 {
					t.Errorf("snapshot: %d lost, clock rate %v; want none lost and a rate within 1%% above %v", snap.Lost, snap.ClockRate, tc.scale)
				}
				for _, ev := range drain(r.k) {
					if ev.Kind != EventRenewed {
						t.Errorf("event %v", ev)
					}
				}
				// The summary claims only what a final look shows.
				e.release(t, hs[0])
				if err := r.k.Verify(context.Background()); err != nil {
					t.Fatal(err)
				}
				for _, v := range r.k.Snapshot().Vessels {
					if v.Held != (v.Handle != hs[0]) {
						t.Errorf("after Verify, %s Held %v", brief(v.Handle), v.Held)
					}
				}

				report, err := e.mock.Report()
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range report.Findings {
					if f.Kind != mockserver.FindingLeak { // the vessels are still held, on purpose
						t.Errorf("finding %s: %s", f.Kind, f.Message)
					}
				}
				// The mock's clock ran tc.run × scale; a look every 15
				// minutes of it, and a few more while the keeper measures.
				server := time.Duration(float64(tc.run) * tc.scale)
				looks, most := len(e.keeperCalls("get_resource_info")), int(server/DefaultCheckInterval)*11/10+50
				if looks > most {
					t.Errorf("%d looks in %v of the mock's time, want at most %d", looks, server, most)
				}
				// One renewal when 2 of the 4 hours are left, then one
				// every 7 days less 2 hours; no more than one early.
				renewals := e.keeperCalls("renew_resources")
				least := int(server / (renewLease - DefaultRenewMargin))
				if len(renewals) < least || len(renewals) > least+2 {
					t.Errorf("%d renewals in %v of the mock's time, want %d to %d", len(renewals), server, least, least+2)
				}
				t.Logf("scale %v: %v on the keeper's clock, %v on the mock's: %d looks, %d renewals",
					tc.scale, tc.run, server, looks, len(renewals))
			})
		})
	}
}

// TestPairBounds: what two sightings of one lease say of the rate.
func TestPairBounds(t *testing.T) {
	t.Parallel()
	at := func(ms int) time.Time { return keeperT0.Add(time.Duration(ms) * time.Millisecond) }
	inf := math.Inf(1)
	tests := []struct {
		name   string
		a, b   sighting
		want   rateBounds
		wantOK bool
	}{
		// 100 s apart with no latency, 100 whole seconds less: between 99
		// and 101 seconds passed on the clearinghouse's clock.
		{"real time", sighting{1000, at(0), at(0)}, sighting{900, at(100_000), at(100_000)}, rateBounds{0.99, 1.01}, true},
		// 1 s apart, each call taking 0.5 s: the clock read between 0 and
		// 2 s apart; 600 s less means 599 to 601 s passed.
		{"scaled, slow calls", sighting{14399, at(0), at(500)}, sighting{13799, at(1500), at(2000)}, rateBounds{599.0 / 2, 601.0 / 1}, true},
		{"frozen", sighting{500, at(0), at(0)}, sighting{500, at(10_000), at(10_000)}, rateBounds{0, 0.1}, true},
		{"one second less", sighting{500, at(0), at(0)}, sighting{499, at(10_000), at(10_000)}, rateBounds{0, 0.2}, true},
		{"no time between the calls", sighting{500, at(0), at(200)}, sighting{499, at(200), at(400)}, rateBounds{0, inf}, true},
		{"a jump", sighting{500, at(0), at(0)}, sighting{400, at(0), at(0)}, rateBounds{inf, inf}, true},
		{"the lease grew", sighting{500, at(0), at(0)}, sighting{604799, at(1000), at(1000)}, rateBounds{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			have, ok := pairBounds(tc.a, tc.b)
			if ok != tc.wantOK || !near(have.lo, tc.want.lo) || !near(have.hi, tc.want.hi) {
				t.Fatalf("have %+v, %v; want %+v, %v", have, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func near(a, b float64) bool { return a == b || math.Abs(a-b) < 1e-9*math.Abs(b) }

// TestClockRateFold: bounds narrow while they agree, a renewal elsewhere
// is left out, and a clock that changes its pace makes the estimate
// start over at the assumed rate.
func TestClockRateFold(t *testing.T) {
	t.Parallel()
	c := newClockRate(1000)
	if r := c.rate(); r != 1000 {
		t.Fatalf("rate before any measurement %v, want the assumed 1000", r)
	}
	steps := []struct {
		name       string
		pairs      []rateBounds
		consistent []bool
		restart    bool
		rate       float64
	}{
		{"nothing", nil, nil, false, 1000},
		{"a loose bound", []rateBounds{{0, 2.2}}, []bool{true}, false, 2.2},
		{"tighter", []rateBounds{{0.99, 1.01}, {0.995, 1.002}}, []bool{true, true}, false, 1.002},
		{"a lease renewed elsewhere", []rateBounds{{0, 0.5}, {0.999, 1.001}}, []bool{false, true}, false, 1.001},
		{"narrower still", []rateBounds{{0.9995, 1.0008}}, []bool{true}, false, 1.0008},
		{"sped up", []rateBounds{{5, 7}}, nil, true, 1000},
		{"measured again", []rateBounds{{599, 601}}, []bool{true}, false, 601},
		{"slowed down", []rateBounds{{0, 2}, {0, 3}}, nil, true, 1000},
		{"frozen", []rateBounds{{0, 0.1}}, []bool{true}, false, 1},
	}
	for _, st := range steps {
		consistent, restart := c.fold(st.pairs)
		if !slices.Equal(consistent, st.consistent) || restart != st.restart || !near(c.rate(), st.rate) {
			t.Fatalf("%s: consistent %v, restart %v, rate %v; want %v, %v, %v", st.name, consistent, restart, c.rate(), st.consistent, st.restart, st.rate)
		}
	}
	c = newClockRate(1000)
	c.fold([]rateBounds{{1500, inf()}})
	if r := c.rate(); r != 3000 {
		t.Fatalf("a clock proved faster than assumed, without an upper bound: rate %v, want twice the lower bound", r)
	}
	c.fold([]rateBounds{{1990, 2010}})
	if r := c.rate(); r != 2010 {
		t.Fatalf("a clock proved faster than assumed: rate %v, want its upper bound 2010", r)
	}
}

func inf() float64 { return math.Inf(1) }

// TestKeeperClockChangesPace: the mock's clock runs at real time, then at
// 60 times, then at real time again. Each time the keeper notices the
// change at its next look, starts measuring anew, and settles on the new
// pace; no vessel is lost.
func TestKeeperClockChangesPace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0, mockserver.WithTimeScale(1))
		e.latency = 100 * time.Millisecond
		hs := e.acquire(t, 2)
		r := startKeeper(t, mustNew(t, e.client, hs))
		for _, phase := range []struct {
			scale float64
			run   time.Duration
		}{{1, 24 * time.Hour}, {60, 6 * time.Hour}, {1, 48 * time.Hour}} {
			if err := e.mock.SetTimeScale(phase.scale); err != nil {
				t.Fatal(err)
			}
			for end := time.Now().Add(phase.run); time.Now().Before(end); {
				time.Sleep(time.Minute)
				synctest.Wait()
				e.mustHold(t, hs)
			}
			if rate := r.k.Snapshot().ClockRate; rate < phase.scale || rate > phase.scale*1.01 {
				t.Fatalf("after %v at %v times real time the keeper schedules by %v", phase.run, phase.scale, rate)
			}
		}
		if snap := r.k.Snapshot(); snap.Lost != 0 || snap.Renewals == 0 {
			t.Fatalf("snapshot %+v, want renewals and nothing lost", snap)
		}
	})
}
