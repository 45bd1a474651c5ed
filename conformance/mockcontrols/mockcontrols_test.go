package mockcontrols_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/conformance/mockcontrols"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

func newMock(t *testing.T) *mockserver.Server {
	t.Helper()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := mockserver.New(mockserver.WithPopulation(mockserver.PopulationConfig{}), mockserver.WithKeyBits(512),
		mockserver.WithClock(func() time.Time { return start }), mockserver.WithTimeScale(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestFreeCredits checks that AccountSpec.FreeCredits follows mockserver's
// rule: 0 is the mock's default, NoFreeCredits none, anything else exact.
func TestFreeCredits(t *testing.T) {
	t.Parallel()
	m := newMock(t)
	c := mockcontrols.New(m)
	for _, tc := range []struct {
		name       string
		free, want int
	}{
		{"zero", 0, mockserver.DefaultFreeCredits},
		{"none", conformance.NoFreeCredits, 0},
		{"three", 3, 3},
	} {
		a, err := c.AddAccount(context.Background(), conformance.AccountSpec{Username: "spec_" + tc.name,
			Password: "password1", Affiliation: "Test", FreeCredits: tc.free})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if acct, err := m.Account(a.Username); err != nil || acct.FreeCredits != tc.want {
			t.Errorf("FreeCredits %d: the account has %d free credits (error %v), want %d", tc.free, acct.FreeCredits, err, tc.want)
		}
	}
}

// TestControls drives each control once and checks its effect on the mock,
// and that the mock's errors come back unchanged.
func TestControls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := newMock(t)
	c := mockcontrols.New(m)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	now, err := c.Now(ctx)
	must("Now", err)
	must("Advance", c.Advance(ctx, time.Hour))
	if have, _ := c.Now(ctx); !have.Equal(now.Add(time.Hour)) {
		t.Errorf("after Advance(1h): %v, want %v", have, now.Add(time.Hour))
	}
	later := now.Add(48 * time.Hour)
	must("SetTime", c.SetTime(ctx, later))
	if have := m.Now(); !have.Equal(later) {
		t.Errorf("after SetTime: the mock's clock is %v, want %v", have, later)
	}
	must("SetCleanupDelay", c.SetCleanupDelay(ctx, time.Minute))
	if d, err := c.CleanupDelay(ctx); err != nil || d != time.Minute {
		t.Errorf("CleanupDelay: %v, %v; want 1m", d, err)
	}

	a, err := c.AddAccount(ctx, conformance.AccountSpec{Username: "alice", Password: "password1", Affiliation: "Test"})
	must("AddAccount", err)
	if a.APIKey == "" || a.PrivateKey == "" || a.Password != "password1" {
		t.Errorf("AddAccount: the credentials are incomplete")
	}
	must("SetFreeCredits", c.SetFreeCredits(ctx, "alice", 0)) // exact: none
	if acct, _ := m.Account("alice"); acct.FreeCredits != 0 {
		t.Errorf("SetFreeCredits(0): the account has %d", acct.FreeCredits)
	}
	must("SetFreeCredits", c.SetFreeCredits(ctx, "alice", 5))
	must("SetAccountActive", c.SetAccountActive(ctx, "alice", false))
	if acct, _ := m.Account("alice"); acct.Active {
		t.Errorf("SetAccountActive(false): the account is still active")
	}
	must("SetAccountActive", c.SetAccountActive(ctx, "alice", true))

	must("AddNodes", c.AddNodes(ctx, []conformance.NodeSpec{
		{ID: "n1", IP: "10.0.0.1"},
		{ID: "n2", IP: "10.0.1.1", Vessels: []conformance.VesselSpec{{Name: "v7", Ports: []int{63100}}}},
	}))
	nodes, err := c.Nodes(ctx)
	must("Nodes", err)
	if len(nodes) != 2 || nodes[0].ID != "n1" || nodes[1].IP != "10.0.1.1" || nodes[0].Vessels != nil {
		t.Errorf("Nodes: %+v", nodes)
	}
	must("SetNodeActive", c.SetNodeActive(ctx, "n1", false))
	must("SetNodeBroken", c.SetNodeBroken(ctx, "n2", true))
	must("SetNodeIP", c.SetNodeIP(ctx, "n2", "NAT$0001"))
	n2, err := c.Node(ctx, "n2")
	must("Node", err)
	if !n2.Broken || n2.IP != "NAT$0001" || len(n2.Vessels) != 1 || n2.Vessels[0].Handle != "n2:v7" {
		t.Errorf("Node(n2): %+v", n2)
	}
	if n1, _ := c.Node(ctx, "n1"); n1.Active || len(n1.Vessels) != 8 {
		t.Errorf("Node(n1): %+v, want inactive with the 8 default vessels", n1)
	}
	must("SetNodeBroken", c.SetNodeBroken(ctx, "n2", false))
	must("AddDonation", c.AddDonation(ctx, "n2", "alice"))
	if acct, _ := m.Account("alice"); len(acct.Donations) != 1 {
		t.Errorf("AddDonation: donations %v", acct.Donations)
	}
	must("InjectFailure", c.InjectFailure(ctx, "n2", conformance.Failure{Next: 2}))
	if n, _ := m.Node("n2"); n.Failure != (mockserver.Failure{Next: 2}) {
		t.Errorf("InjectFailure: the node has %+v", n.Failure)
	}
	must("InjectFailure", c.InjectFailure(ctx, "n2", conformance.Failure{}))

	if _, err := m.Call(ctx, "acquire_specific_vessels", map[string]any{"username": "alice", "api_key": a.APIKey},
		[]any{"n2:v7"}); err != nil {
		t.Fatal(err)
	}
	held, err := c.Holdings(ctx, "alice")
	must("Holdings", err)
	if len(held) != 1 || held[0].Handle != "n2:v7" || held[0].Owner != "alice" || !held[0].Acquired.Equal(later) ||
		!held[0].Expires.Equal(later.Add(4*time.Hour)) || held[0].Dirty || !held[0].DirtySince.IsZero() {
		t.Errorf("Holdings: %+v", held)
	}
	must("Advance", c.Advance(ctx, time.Minute))
	if _, err := m.Call(ctx, "release_resources", map[string]any{"username": "alice", "api_key": a.APIKey},
		[]any{"n2:v7"}); err != nil {
		t.Fatal(err)
	}
	n2, err = c.Node(ctx, "n2")
	must("Node", err)
	if v := n2.Vessels[0]; !v.Dirty || !v.DirtySince.Equal(later.Add(time.Minute)) || !v.Acquired.IsZero() || v.Owner != "" {
		t.Errorf("Node(n2) after the release: %+v, want dirty since %v", v, later.Add(time.Minute))
	}

	ts, ok := c.(conformance.TimeScaler)
	if !ok {
		t.Fatal("mockcontrols.New does not return a TimeScaler")
	}
	if x, err := ts.TimeScale(ctx); err != nil || x != 0 {
		t.Errorf("TimeScale: %v, %v; want 0, the mock's", x, err)
	}
	must("SetTimeScale", ts.SetTimeScale(ctx, 2))
	if x := m.TimeScale(); x != 2 {
		t.Errorf("after SetTimeScale(2) the mock's scale is %v", x)
	}
	if err := ts.SetTimeScale(ctx, -1); !errors.Is(err, mockserver.ErrInvalid) {
		t.Errorf("SetTimeScale(-1): %v, want mockserver.ErrInvalid", err)
	}

	if _, err := c.Node(ctx, "nowhere"); !errors.Is(err, mockserver.ErrNotFound) {
		t.Errorf("Node of an unknown id: %v, want mockserver.ErrNotFound", err)
	}
	if _, err := c.Holdings(ctx, "nobody"); !errors.Is(err, mockserver.ErrNotFound) {
		t.Errorf("Holdings of an unknown account: %v, want mockserver.ErrNotFound", err)
	}
	m.Close()
	if _, err := c.Nodes(ctx); !errors.Is(err, mockserver.ErrClosed) {
		t.Errorf("Nodes after Close: %v, want mockserver.ErrClosed", err)
	}
}
