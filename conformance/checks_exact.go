package conformance

import (
	"context"
	"errors"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// Exact instants: with a frozen mock clock, leases, expires_in_seconds
// and the cleanup delay are checked to the second and at their
// boundaries, one second before, at, and one second after (contract §4.1,
// §9), together with the times the Controls report (§11). With a running
// clock the other checks can only allow a few seconds of slack, so they
// cannot tell a lease of 7 days + 1 s from one of 7 days, rounding up from
// rounding down, or "expired when now > date_expires" from "when now >=
// date_expires".

func exactChecks() []check {
	exact := func(vessels int, iso bool) needs {
		return needs{controls: true, frozen: true, isolated: iso, vessels: vessels}
	}
	return []check{
		{"ExactLease", exact(2, false), checkExactLease},
		{"ExactRenewal", exact(1, false), checkExactRenewal},
		{"ExactCleanup", exact(1, true), checkExactCleanup},
		{"ExactExpiredCleanup", exact(1, true), checkExactExpiredCleanup},
	}
}

func isTimeScaler(c Controls) bool {
	_, ok := c.(TimeScaler)
	return ok
}

// freeze stops the mock clock for the rest of the check (the old scale
// comes back afterwards) and returns its reading.
func (s *session) freeze(t T) time.Time {
	t.Helper()
	ts := s.controls().(TimeScaler)
	old, err := ts.TimeScale(s.ctx(t))
	if errors.Is(err, errNoScale) {
		s.skipf(t, "the target's admin endpoint reports no clock scale, so the clock cannot be frozen")
	}
	s.must(t, "TimeScale", err)
	s.must(t, "SetTimeScale", ts.SetTimeScale(s.ctx(t), 0))
	t.Cleanup(func() {
		if ts, ok := s.controls().(TimeScaler); ok {
			if err := s.cleanupDo(func(ctx context.Context) error { return ts.SetTimeScale(ctx, old) }); err != nil {
				s.errorf(t, "cleanup: restoring the time scale %v: %v", old, err)
			}
		}
	})
	now := s.now(t)
	time.Sleep(10 * time.Millisecond)
	if again := s.now(t); !again.Equal(now) {
		s.fatalf(t, "the clock still runs after SetTimeScale(0): %s, then %s", stamp(now), stamp(again))
	}
	return now
}

// now reads the mock clock.
func (s *session) now(t T) time.Time {
	t.Helper()
	now, err := s.controls().Now(s.ctx(t))
	s.must(t, "Now", err)
	return now
}

// setTime sets the mock clock.
func (s *session) setTime(t T, at time.Time) {
	t.Helper()
	s.must(t, "SetTime", s.controls().SetTime(s.ctx(t), at))
}

// wantTime compares a time the Controls report with the expected one,
// to the nanosecond.
func (s *session) wantTime(t T, what string, have, want time.Time) {
	t.Helper()
	if !have.Equal(want) {
		s.errorf(t, "%s: the Controls report %s, want %s (%+v off)", what, stamp(have), stamp(want), have.Sub(want))
	}
}

// wantNoDates checks that a free vessel has no lease dates: release and
// expiry clear the owner and the dates (§5.3, §9).
func (s *session) wantNoDates(t T, what string, v mockapi.Vessel) {
	t.Helper()
	if !v.Acquired.IsZero() || !v.Expires.IsZero() {
		s.errorf(t, "%s: the free vessel still has date_acquired %s and date_expires %s; want them cleared with the owner", what, stamp(v.Acquired), stamp(v.Expires))
	}
}

func stamp(at time.Time) string {
	if at.IsZero() {
		return "no time"
	}
	return at.UTC().Format(time.RFC3339Nano)
}

// heldExpiry returns the expires_in_seconds get_resource_info gives a's
// vessel h, and whether it is listed at all.
func (s *session) heldExpiry(t T, a *acct, h string) (int64, bool) {
	t.Helper()
	v, ok := s.holdingMap(t, a)[h]
	return v.Expires, ok
}

// wantListed checks that get_resource_info lists h with exactly secs
// seconds left.
func (s *session) wantListed(t T, what string, a *acct, h string, secs int64) {
	t.Helper()
	switch e, ok := s.heldExpiry(t, a, h); {
	case !ok:
		s.errorf(t, "%s: get_resource_info does not list the vessel, want it with expires_in_seconds %d", what, secs)
	case e != secs:
		s.errorf(t, "%s: expires_in_seconds %d, want exactly %d (whole seconds left, rounded down: §4.1)", what, e, secs)
	}
}

// wantGone checks that get_resource_info no longer lists h.
func (s *session) wantGone(t T, what string, a *acct, h string) {
	t.Helper()
	if e, ok := s.heldExpiry(t, a, h); ok {
		s.errorf(t, "%s: get_resource_info still lists the vessel (expires_in_seconds %d); its lease has ended (§9)", what, e)
	}
}

// wantLease checks the lease of secs seconds that what (the acquisition,
// the renewal) gave a's vessel h at start, on the frozen clock: the
// Controls report date_acquired start and date_expires start + secs, and
// get_resource_info lists h with exactly secs seconds left at once, one
// second fewer half a second later, and 1 one second before date_expires.
// It leaves the clock there and returns date_expires.
func (s *session) wantLease(t T, what string, a *acct, h string, start time.Time, secs int64) time.Time {
	t.Helper()
	end := start.Add(time.Duration(secs) * time.Second)
	v := s.vesselState(t, h)
	s.wantTime(t, "date_acquired after "+what, v.Acquired, start)
	s.wantTime(t, "date_expires after "+what, v.Expires, end)
	s.wantListed(t, "get_resource_info right after "+what, a, h, secs)

	s.advance(t, 500*time.Millisecond)
	s.wantListed(t, "half a second after "+what, a, h, secs-1)

	s.setTime(t, end.Add(-time.Second))
	s.wantListed(t, "one second before date_expires, after "+what, a, h, 1)
	return end
}

// checkExactLease: an acquisition at T0 holds the vessel until exactly
// T0 + 4 h: date_acquired T0, date_expires T0 + 4 h, expires_in_seconds
// 14400 at once and rounded down after that, listed and counted until
// the last nanosecond before date_expires, gone and free (dirty since
// date_expires) from that instant on (§4.1, §6, §9).
func checkExactLease(t T, s *session) {
	s.withCleanupDelay(t, time.Hour) // so that the dirty state can be seen
	a := s.newAccount(t, 1)
	t0 := s.freeze(t)
	res, err := s.acquire(t, a, rs("random", int64(1)), 1)
	if err != nil {
		s.fatalf(t, "acquire_resources(random, 1): %v", err)
	}
	vs := s.infodicts(t, "acquire_resources(random, 1)", res, 1)
	if len(vs) != 1 {
		return
	}
	h := vs[0].Handle
	if vs[0].Expires != acquireLease {
		s.errorf(t, "acquire_resources on a frozen clock: expires_in_seconds %d, want exactly %d (§4.1)", vs[0].Expires, acquireLease)
	}
	end := s.wantLease(t, "the acquisition", a, h, t0, acquireLease)
	err = s.acquireFault(t, a, rs("random", int64(1)), 1)
	s.wantFault(t, "random 1 on 1 credit, one second before the lease ends", err, 103, msgNotEnough)

	s.setTime(t, end.Add(-time.Nanosecond))
	s.wantListed(t, "one nanosecond before date_expires", a, h, 0)

	s.setTime(t, end)
	s.wantGone(t, "at date_expires", a, h)
	v := s.vesselState(t, h)
	if v.Owner != "" || !v.Dirty {
		s.errorf(t, "at date_expires: owner %q, dirty %v; want free and dirty (§9)", v.Owner, v.Dirty)
	}
	s.wantNoDates(t, "the vessel whose lease ended", v)
	s.wantTime(t, "dirty_since of the vessel whose lease ended", v.DirtySince, end)
	// The expired vessel no longer counts: the one credit is free again.
	s.acquireN(t, a, "random", 1)

	s.setTime(t, end.Add(time.Second))
	s.wantGone(t, "one second after date_expires", a, h)
}

// checkExactRenewal: a renewal at T1 sets date_acquired to T1 and
// date_expires to exactly T1 + 7 days, whatever was left; the vessel is
// listed until then and gone at that instant (§5.4 step 7, §9).
func checkExactRenewal(t T, s *session) {
	a := s.newAccount(t, 1)
	s.freeze(t)
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.advance(t, time.Hour+250*time.Millisecond)
	t1 := s.now(t)
	s.mustRenew(t, a, h)
	end := s.wantLease(t, "the renewal", a, h, t1, renewLease)
	s.setTime(t, end)
	s.wantGone(t, "when the renewed lease ends", a, h)
	s.setTime(t, end.Add(time.Second))
	s.wantGone(t, "one second after the renewed lease ends", a, h)
}

// checkExactCleanup: a vessel released at T1 is dirty since T1 and
// becomes available again at exactly T1 + the cleanup delay, not a second
// earlier (§5.3, §9).
func checkExactCleanup(t T, s *session) {
	const delay = time.Hour
	a, port, h, _ := s.soleVessel(t, delay)
	s.advance(t, 30*time.Minute)
	t1 := s.now(t)
	s.mustRelease(t, a, h)
	v := s.vesselState(t, h)
	if v.Owner != "" || !v.Dirty || v.Available {
		s.errorf(t, "after release: owner %q, dirty %v, available %v; want free, dirty and unavailable", v.Owner, v.Dirty, v.Available)
	}
	s.wantNoDates(t, "after release_resources", v)
	s.wantTime(t, "dirty_since after release_resources", v.DirtySince, t1)

	s.setTime(t, t1.Add(delay-time.Second))
	s.wantDirty(t, "one second before the cleanup delay has passed", h)
	err := s.acquireFault(t, a, rs("random", int64(1)), 1)
	s.wantFault(t, "random 1 one second before the cleanup delay has passed", err, 105,
		unable("Requested 1 rand vessels, but we only have 0 vessels with port %d available.", port))

	s.setTime(t, t1.Add(delay))
	s.wantCleaned(t, "when the cleanup delay has passed", a, h)
}

// checkExactExpiredCleanup: a vessel whose lease ended at E counts as
// released at E, even when the clock jumps past E in one step, so it is
// dirty since E and clean at exactly E + the cleanup delay (§9, mock
// decision).
func checkExactExpiredCleanup(t T, s *session) {
	const delay = time.Hour
	a, _, h, t0 := s.soleVessel(t, delay)
	end := t0.Add(acquireLease * time.Second)

	s.setTime(t, end.Add(delay/2))
	v := s.vesselState(t, h)
	if v.Owner != "" || !v.Dirty {
		s.errorf(t, "half the cleanup delay after the lease ended: owner %q, dirty %v; want free and dirty", v.Owner, v.Dirty)
	}
	s.wantTime(t, "dirty_since of a vessel whose lease ended while the clock jumped past it", v.DirtySince, end)

	s.setTime(t, end.Add(delay-time.Second))
	s.wantDirty(t, "one second before date_expires + the cleanup delay", h)
	s.setTime(t, end.Add(delay))
	s.wantCleaned(t, "at date_expires + the cleanup delay", a, h)
}

// soleVessel sets up a check of one vessel's cleanup: the cleanup delay
// set to delay, a new account with 1 credit, the target isolated with one
// node of its own, and the vessel of that node with the account's port
// acquired by the account on a frozen clock. It returns the account, its
// user port, the vessel and the clock's reading at the acquisition.
func (s *session) soleVessel(t T, delay time.Duration) (a *acct, port int, h string, t0 time.Time) {
	t.Helper()
	s.withCleanupDelay(t, delay)
	a = s.newAccount(t, 1)
	port = s.userPort(t, a)
	s.isolate(t)
	node := s.addNodes(t, 1, ownSubnets)[0]
	h = s.vesselFor(t, node, port)
	t0 = s.freeze(t)
	if got := s.acquireN(t, a, "random", 1)[0].Handle; got != h {
		s.fatalf(t, "random 1 gave %s, want %s, the only vessel with the user's port", got, h)
	}
	return a, port, h, t0
}

// wantDirty checks that the free vessel h is still dirty, so not
// available (§9).
func (s *session) wantDirty(t T, what string, h string) {
	t.Helper()
	if v := s.vesselState(t, h); !v.Dirty || v.Available {
		s.errorf(t, "%s: dirty %v, available %v; want dirty", what, v.Dirty, v.Available)
	}
}

// wantCleaned checks that the free vessel h is clean and available again,
// and that a's random 1 gets it, the only vessel with a's port (§9).
func (s *session) wantCleaned(t T, what string, a *acct, h string) {
	t.Helper()
	if v := s.vesselState(t, h); v.Dirty || !v.Available {
		s.errorf(t, "%s: dirty %v, available %v; want clean and available", what, v.Dirty, v.Available)
	}
	if got := s.acquireN(t, a, "random", 1)[0].Handle; got != h {
		s.errorf(t, "%s, random 1 gave %s, want the cleaned %s", what, got, h)
	}
}
