package mockserver

import (
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// TestControlsAfterClose checks that every control that touches the state
// reports ErrClosed after Close, none silently doing nothing.
func TestControlsAfterClose(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithKeyBits(512))
	alice := addUser(t, s, "alice")
	addNodes(t, s, "n", "10.0.0.1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"AddAccount", func() error {
			_, err := s.AddAccount(mockapi.AccountSpec{Username: "bob", Password: "secret1", Affiliation: "UWash",
				PublicKey: alice.PublicKey, PrivateKey: alice.PrivateKey})
			return err
		}},
		{"Account", func() error { _, err := s.Account("alice"); return err }},
		{"Accounts", func() error { _, err := s.Accounts(); return err }},
		{"SetFreeCredits", func() error { return s.SetFreeCredits("alice", 3) }},
		{"SetAccountActive", func() error { return s.SetAccountActive("alice", false) }},
		{"AddNode", func() error { _, err := s.AddNode(mockapi.NodeSpec{ID: "m", IP: "10.0.0.2"}); return err }},
		{"Node", func() error { _, err := s.Node("n0"); return err }},
		{"Nodes", func() error { _, _, err := s.Nodes(NodeFilter{}); return err }},
		{"SetNodeActive", func() error { return s.SetNodeActive("n0", false) }},
		{"SetNodeBroken", func() error { return s.SetNodeBroken("n0", true) }},
		{"SetNodeIP", func() error { return s.SetNodeIP("n0", "10.0.0.3") }},
		{"AddDonation", func() error { return s.AddDonation("n0", "alice") }},
		{"RemoveDonation", func() error { return s.RemoveDonation("n0") }},
		{"InjectFailure", func() error { return s.InjectFailure("n0", mockapi.Failure{Always: true}) }},
		{"injectFailureFunc", func() error { return s.injectFailureFunc(func(string, string) bool { return true }) }},
		{"SetAcquireFailureRate", func() error { return s.SetAcquireFailureRate(0.5) }},
		{"ClearFailures", func() error { return s.ClearFailures() }},
		{"Vessels", func() error { _, _, err := s.Vessels(VesselFilter{}); return err }},
		{"Holdings", func() error { _, err := s.Holdings("alice"); return err }},
		{"SetTime", func() error { return s.SetTime(t0.Add(time.Hour)) }},
		{"Advance", func() error { return s.Advance(time.Hour) }},
		{"SetCleanupDelay", func() error { return s.SetCleanupDelay(time.Hour) }},
		{"Seed", func() error { return s.Seed(42) }},
		{"Reset", func() error { return s.Reset() }},
	} {
		if err := tc.fn(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: have %v, want ErrClosed", tc.name, err)
		}
	}
}

// TestClearFailuresReportsJournalError checks that ClearFailures, which
// changes nodes, returns the error of a state file write that fails, and
// that the change is then rolled back like any other.
func TestClearFailuresReportsJournalError(t *testing.T) {
	t.Parallel()
	s, _, ff, _ := openFaulty(t, 0)
	addNodes(t, s, "n", "10.0.0.1")
	if err := s.InjectFailure("n0", mockapi.Failure{Always: true}); err != nil {
		t.Fatal(err)
	}
	ff.set("write", syscall.ENOSPC)
	if err := s.ClearFailures(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("ClearFailures with a full disk: have %v, want ENOSPC", err)
	}
	ff.set("write", nil)
	if n, err := s.Node("n0"); err != nil || !n.Failure.Always {
		t.Errorf("after the failed ClearFailures: failure %+v, error %v; want it still injected", n.Failure, err)
	}
	if err := s.ClearFailures(); err != nil {
		t.Errorf("ClearFailures once the disk has room: %v", err)
	}
	if n, err := s.Node("n0"); err != nil || n.Failure.Always {
		t.Errorf("after ClearFailures: failure %+v, error %v; want none", n.Failure, err)
	}
}

// TestVesselTimes follows one vessel through every state and checks the
// times each shows: the lease start and end while owned (a renewal moves
// the start to the renewal: contract §9's date_acquired), the instant it
// became dirty while free and dirty, and none once clean.
func TestVesselTimes(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithCleanupDelay(time.Hour))
	addNodes(t, s, "n", "10.0.0.1")
	a := addUser(t, s, "alice")
	vessel := func() mockapi.Vessel {
		t.Helper()
		n, err := s.Node("n0")
		if err != nil {
			t.Fatal(err)
		}
		return n.Vessels[0] // v2, the one with port 63100
	}
	type times struct {
		owner                         string
		dirty                         bool
		acquired, expires, dirtySince time.Time
	}
	check := func(step string, want times) {
		t.Helper()
		v := vessel()
		have := times{v.Owner, v.Dirty, v.Acquired, v.Expires, v.DirtySince}
		if have != want {
			t.Errorf("%s:\nhave %+v\nwant %+v", step, have, want)
		}
	}
	var zero time.Time
	h := acquire(t, s, a, "wan", 1)[0]
	check("acquired", times{"alice", false, t0, t0.Add(AcquireLease), zero})

	must(t, s.Advance(time.Hour))
	mustCall(t, s, "renew_resources", auth(a), []any{h})
	renewed := t0.Add(time.Hour)
	check("renewed", times{"alice", false, renewed, renewed.Add(RenewLease), zero})

	must(t, s.Advance(time.Minute))
	mustCall(t, s, "release_resources", auth(a), []any{h})
	released := renewed.Add(time.Minute)
	check("released", times{"", true, zero, zero, released})

	// acquire_specific_vessels may take a dirty vessel; it stays dirty.
	must(t, s.Advance(time.Minute))
	mustCall(t, s, "acquire_specific_vessels", auth(a), []any{h})
	taken := released.Add(time.Minute)
	check("taken while dirty", times{"alice", true, taken, taken.Add(AcquireLease), zero})

	must(t, s.Advance(AcquireLease)) // the lease runs out: dirty since it did
	check("expired", times{"", true, zero, zero, taken.Add(AcquireLease)})

	must(t, s.Advance(time.Hour)) // the cleanup delay has passed
	check("cleaned", times{"", false, zero, zero, zero})
	checkInvariants(t, s)
}

// TestVesselStateFilter checks that Vessels selects by state exactly as
// mockapi.VesselState.Has reads a vessel: with owned, dirty, available and
// unusable vessels, each state's list is the whole list filtered by Has.
func TestVesselStateFilter(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithCleanupDelay(time.Hour))
	ids := addNodes(t, s, "f", distinctSubnets(120, 4)...)
	a := addUser(t, s, "alice")
	held := acquire(t, s, a, "wan", 3)
	mustCall(t, s, "release_resources", auth(a), anyList(held[:1]))
	must(t, s.SetNodeActive(ids[3], false))

	all, total, err := s.Vessels(VesselFilter{})
	if err != nil || total != len(all) {
		t.Fatalf("every vessel: %d of %d, %v", len(all), total, err)
	}
	for _, state := range []mockapi.VesselState{mockapi.StateOwned, mockapi.StateDirty, mockapi.StateAvailable, mockapi.StateFree} {
		var want []string
		for _, v := range all {
			if state.Has(v) {
				want = append(want, v.Handle)
			}
		}
		vs, _, err := s.Vessels(VesselFilter{State: state})
		if err != nil {
			t.Fatal(err)
		}
		var have []string
		for _, v := range vs {
			have = append(have, v.Handle)
		}
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) || len(want) == 0 {
			t.Errorf("state %q: Vessels gives %d vessels, Has %d (want them equal and not none)", state, len(have), len(want))
		}
	}
	if _, _, err := s.Vessels(VesselFilter{State: "Owned"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("state \"Owned\": %v, want ErrInvalid", err)
	}
}
