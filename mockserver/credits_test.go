package mockserver

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

func TestDonationCredits(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ids := addNodes(t, s, "w", distinctSubnets(100, 40)...)
	addUser(t, s, "alice")
	addUser(t, s, "bob", func(a *mockapi.AccountSpec) { a.FreeCredits = mockapi.NoFreeCredits })
	maxOf := func(name string) int {
		t.Helper()
		a, err := s.Account(name)
		if err != nil {
			t.Fatal(err)
		}
		return a.MaxVessels
	}
	if maxOf("bob") != 0 {
		t.Fatal("NoFreeCredits account has credits")
	}
	for _, id := range ids[:3] {
		if err := s.AddDonation(id, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	s.AddDonation(ids[3], "bob")
	if have := maxOf("alice"); have != 40 {
		t.Fatalf("alice: %d, want 40", have)
	}
	if err := s.AddDonation(ids[0], "bob"); err == nil {
		t.Fatal("second donation on a node accepted")
	}
	if err := s.AddDonation("nope", "bob"); err == nil {
		t.Fatal("donation of an unknown node accepted")
	}
	if err := s.AddDonation(ids[5], "nobody"); err == nil {
		t.Fatal("donation by an unknown account accepted")
	}
	s.SetNodeActive(ids[0], false)
	s.SetNodeBroken(ids[1], true)
	if have := maxOf("alice"); have != 20 {
		t.Fatalf("with one donation offline and one broken: %d, want 20", have)
	}
	s.SetNodeActive(ids[0], true)
	s.RemoveDonation(ids[2])
	if have := maxOf("alice"); have != 20 {
		t.Fatalf("after repair and removal: %d, want 20", have)
	}
	s.SetNodeBroken(ids[1], false)
	if have := maxOf("alice"); have != 30 {
		t.Fatalf("after repair: %d, want 30", have)
	}
	if have := maxOf("bob"); have != 10 {
		t.Fatalf("bob: %d, want 10", have)
	}
	if a, _ := s.Account("alice"); !slices.Equal(a.Donations, []string{"w0", "w1"}) {
		t.Fatalf("alice's donations: %v", a.Donations)
	}
}

func TestOverLimitRenew(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ids := addNodes(t, s, "w", distinctSubnets(101, 30)...)
	u := addUser(t, s, "alice")
	s.AddDonation(ids[0], "alice")
	got := acquire(t, s, u, "wan", 15)
	s.SetNodeActive(ids[0], false) // donation stops counting: 15 held, max 10
	_, flt := call(t, s, "renew_resources", auth(u), anyList(got[:1]))
	wantFault(t, flt, 103, "Vessels cannot be renewed because you are currently over your vessel credit limit: "+
		"Requested 0 vessels, already acquired 15, max allowed is 10")
	_, flt = call(t, s, "acquire_resources", auth(u), rspec("wan", int64(1)))
	wantFault(t, flt, 103, notEnoughCredits)
	free := mustVessels(t, s, VesselFilter{State: mockapi.StateAvailable})[0].Handle
	_, flt = call(t, s, "acquire_specific_vessels", auth(u), []any{free})
	wantFault(t, flt, 103, notEnoughCredits)
	// Handle checks come before the credit check.
	_, flt = call(t, s, "renew_resources", auth(u), []any{"bad"})
	wantFault(t, flt, 102, "Invalid vesselhandle: bad")
	// Release is never blocked; exactly at the limit renew works.
	mustCall(t, s, "release_resources", auth(u), anyList(got[10:]))
	mustCall(t, s, "renew_resources", auth(u), anyList(got[:10]))
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	addNodes(t, s, "w", distinctSubnets(102, 10)...)
	alice, bob := addUser(t, s, "alice"), addUser(t, s, "bob")
	got := acquire(t, s, alice, "wan", 10)
	s.Advance(AcquireLease - time.Second)
	res := mustCall(t, s, "get_resource_info", auth(alice)).([]any)
	if len(res) != 10 || res[0].(map[string]any)["expires_in_seconds"] != int64(1) {
		t.Fatalf("one second before expiry: %v", res)
	}
	s.Advance(time.Second)
	if res := mustCall(t, s, "get_resource_info", auth(alice)).([]any); len(res) != 0 {
		t.Fatalf("expired vessels still listed: %d", len(res))
	}
	// Expired handles: renew and release skip them; credits are free;
	// with no cleanup delay they are available at once.
	mustCall(t, s, "renew_resources", auth(alice), anyList(got))
	mustCall(t, s, "release_resources", auth(alice), anyList(got))
	if res := mustCall(t, s, "get_resource_info", auth(alice)).([]any); len(res) != 0 {
		t.Fatal("renew revived an expired vessel")
	}
	res2 := mustCall(t, s, "acquire_specific_vessels", auth(bob), anyList(got[:3]))
	if len(res2.([]any)) != 3 {
		t.Fatal("expired vessels not acquirable")
	}
	acquire(t, s, alice, "wan", 7)
	checkInvariants(t, s)
}

func TestCleanupDelay(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithCleanupDelay(5*time.Second))
	ids := addNodes(t, s, "w", distinctSubnets(103, 3)...)
	u := addUser(t, s, "alice")
	got := acquire(t, s, u, "wan", 3)
	mustCall(t, s, "release_resources", auth(u), anyList(got))
	dirty := mustVessels(t, s, VesselFilter{State: mockapi.StateDirty})
	if len(dirty) != 3 || !dirty[0].DirtySince.Equal(t0) {
		t.Fatalf("after release: %d dirty, since %v", len(dirty), dirty)
	}
	_, flt := call(t, s, "acquire_resources", auth(u), rspec("wan", int64(1)))
	wantFault(t, flt, 105, unableToAcquire+"Requested 1 wan vessels, but we only have vessels with port 63100 available on 0 subnets.")
	// A dirty vessel on an inactive or broken node stays dirty past the
	// delay, until the node is usable again.
	s.SetNodeActive(ids[0], false)
	s.SetNodeBroken(ids[1], true)
	s.Advance(4 * time.Second)
	if n := len(mustVessels(t, s, VesselFilter{State: mockapi.StateDirty})); n != 3 {
		t.Fatalf("before the delay: %d dirty", n)
	}
	s.Advance(time.Second)
	if d := mustVessels(t, s, VesselFilter{State: mockapi.StateDirty}); len(d) != 2 {
		t.Fatalf("after the delay: %d dirty, want 2", len(d))
	}
	acquire(t, s, u, "wan", 1)
	s.SetNodeActive(ids[0], true)
	if d := mustVessels(t, s, VesselFilter{State: mockapi.StateDirty}); len(d) != 1 || d[0].NodeID != ids[1] {
		t.Fatalf("after reactivation: %v", d)
	}
	s.SetNodeBroken(ids[1], false)
	if d := mustVessels(t, s, VesselFilter{State: mockapi.StateDirty}); len(d) != 0 {
		t.Fatalf("after repair: %v", d)
	}
	// Expired vessels are dirty from the instant they expired.
	s.Advance(AcquireLease + 2*time.Second)
	d := mustVessels(t, s, VesselFilter{State: mockapi.StateDirty})
	if len(d) != 1 || !d[0].DirtySince.Equal(t0.Add(5*time.Second+AcquireLease)) {
		t.Fatalf("expired vessel: %+v", d)
	}
	s.Advance(3 * time.Second)
	if d := mustVessels(t, s, VesselFilter{State: mockapi.StateDirty}); len(d) != 0 {
		t.Fatalf("expired vessel not cleaned: %+v", d)
	}
	// Lowering the delay applies at once.
	got = acquire(t, s, u, "wan", 3)
	mustCall(t, s, "release_resources", auth(u), anyList(got))
	s.SetCleanupDelay(0)
	if d := mustVessels(t, s, VesselFilter{State: mockapi.StateDirty}); len(d) != 0 {
		t.Fatalf("delay 0: %d still dirty", len(d))
	}
	checkInvariants(t, s)
}

// steppingClock advances by step on every reading.
type steppingClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *steppingClock) read() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func TestRunningClock(t *testing.T) {
	t.Parallel()
	c := &steppingClock{now: t0, step: time.Millisecond}
	s := newTestServer(t, WithClock(c.read), WithTimeScale(1))
	addNodes(t, s, "w", distinctSubnets(104, 3)...)
	u := addUser(t, s, "alice")
	res := mustCall(t, s, "acquire_resources", auth(u), rspec("wan", int64(1))).([]any)
	if e := res[0].(map[string]any)["expires_in_seconds"]; e != int64(14399) {
		t.Fatalf("running clock: expires_in_seconds %v, want 14399", e)
	}
	mustCall(t, s, "renew_resources", auth(u), []any{res[0].(map[string]any)["handle"]})
	info := mustCall(t, s, "get_resource_info", auth(u)).([]any)
	if e := info[0].(map[string]any)["expires_in_seconds"]; e != int64(604799) {
		t.Fatalf("after renew: %v, want 604799", e)
	}
}

func TestTimeScale(t *testing.T) {
	t.Parallel()
	c := &steppingClock{now: t0}
	s := newTestServer(t, WithClock(c.read), WithTimeScale(60))
	a := s.Now()
	c.now = c.now.Add(time.Second)
	if d := s.Now().Sub(a); d != time.Minute {
		t.Fatalf("one source second at scale 60 is %v", d)
	}
	if err := s.SetTime(t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	c.now = c.now.Add(time.Second)
	if d := s.Now().Sub(t0.Add(-time.Hour)); d != time.Minute {
		t.Fatalf("after SetTime: %v", d)
	}
	s.Advance(time.Hour)
	if d := s.Now().Sub(t0); d != time.Minute {
		t.Fatalf("after Advance: %v", d)
	}
}

// TestSetTimeScale: the scale changes from the clock's current reading
// on; 0 freezes it exactly there, and out-of-range scales are refused.
func TestSetTimeScale(t *testing.T) {
	t.Parallel()
	c := &steppingClock{now: t0}
	s := newTestServer(t, WithClock(c.read), WithTimeScale(1))
	c.now = c.now.Add(time.Second)
	if err := s.SetTimeScale(0); err != nil {
		t.Fatal(err)
	}
	frozen := s.Now()
	if !frozen.Equal(t0.Add(time.Second)) {
		t.Fatalf("frozen at %v, want %v", frozen, t0.Add(time.Second))
	}
	c.now = c.now.Add(time.Hour)
	if have := s.Now(); !have.Equal(frozen) || s.TimeScale() != 0 {
		t.Fatalf("scale 0: an hour of the source later the clock reads %v (scale %v), want %v", have, s.TimeScale(), frozen)
	}
	if err := s.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTimeScale(10); err != nil {
		t.Fatal(err)
	}
	c.now = c.now.Add(time.Second)
	if have, want := s.Now(), frozen.Add(time.Minute+10*time.Second); !have.Equal(want) {
		t.Fatalf("scale 10 after a frozen minute: %v, want %v", have, want)
	}
	for _, x := range []float64{-1, MaxTimeScale + 1, math.NaN(), math.Inf(1)} {
		if err := s.SetTimeScale(x); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetTimeScale(%v): %v, want ErrInvalid", x, err)
		}
	}
	if s.TimeScale() != 10 {
		t.Errorf("a refused scale changed it to %v", s.TimeScale())
	}
}

func TestSetTimeExpires(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	addNodes(t, s, "w", distinctSubnets(105, 2)...)
	u := addUser(t, s, "alice")
	acquire(t, s, u, "wan", 2)
	s.SetTime(t0.Add(AcquireLease))
	if held, _ := s.Holdings("alice"); len(held) != 0 {
		t.Fatal("SetTime past the expiry left vessels held")
	}
	if !s.Now().Equal(t0.Add(AcquireLease)) {
		t.Fatalf("Now %v", s.Now())
	}
}
