package mockserver

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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
			_, err := s.AddAccount(AccountSpec{Username: "bob", Password: "secret1", Affiliation: "UWash",
				PublicKey: alice.PublicKey, PrivateKey: alice.PrivateKey})
			return err
		}},
		{"Account", func() error { _, err := s.Account("alice"); return err }},
		{"Accounts", func() error { _, err := s.Accounts(); return err }},
		{"SetFreeCredits", func() error { return s.SetFreeCredits("alice", 3) }},
		{"SetAccountActive", func() error { return s.SetAccountActive("alice", false) }},
		{"AddNode", func() error { _, err := s.AddNode(NodeSpec{ID: "m", IP: "10.0.0.2"}); return err }},
		{"Node", func() error { _, err := s.Node("n0"); return err }},
		{"Nodes", func() error { _, _, err := s.Nodes(NodeFilter{}); return err }},
		{"SetNodeActive", func() error { return s.SetNodeActive("n0", false) }},
		{"SetNodeBroken", func() error { return s.SetNodeBroken("n0", true) }},
		{"SetNodeIP", func() error { return s.SetNodeIP("n0", "10.0.0.3") }},
		{"AddDonation", func() error { return s.AddDonation("n0", "alice") }},
		{"RemoveDonation", func() error { return s.RemoveDonation("n0") }},
		{"InjectFailure", func() error { return s.InjectFailure("n0", Failure{Always: true}) }},
		{"InjectFailureFunc", func() error { return s.InjectFailureFunc(func(string, string) bool { return true }) }},
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
	ff := newFaultFiles()
	s, _ := openFaulty(t, filepath.Join(t.TempDir(), "state"), ff, WithPopulation(PopulationConfig{}))
	defer s.Close()
	addNodes(t, s, "n", "10.0.0.1")
	if err := s.InjectFailure("n0", Failure{Always: true}); err != nil {
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
