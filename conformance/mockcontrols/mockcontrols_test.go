package mockcontrols_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/conformance/mockcontrols"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
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
		{"none", mockapi.NoFreeCredits, 0},
		{"three", 3, 3},
	} {
		a, err := c.AddAccount(context.Background(), mockapi.AccountSpec{Username: "spec_" + tc.name,
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

	a, err := c.AddAccount(ctx, mockapi.AccountSpec{Username: "alice", Password: "password1", Affiliation: "Test"})
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

	must("AddNodes", c.AddNodes(ctx, []mockapi.NodeSpec{
		{ID: "n1", IP: "10.0.0.1"},
		{ID: "n2", IP: "10.0.1.1", Vessels: []mockapi.VesselSpec{{Name: "v7", Ports: []int{63100}}}},
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
	must("InjectFailure", c.InjectFailure(ctx, "n2", mockapi.Failure{Next: 2}))
	if n, _ := m.Node("n2"); n.Failure != (mockapi.Failure{Next: 2}) {
		t.Errorf("InjectFailure: the node has %+v", n.Failure)
	}
	must("InjectFailure", c.InjectFailure(ctx, "n2", mockapi.Failure{}))

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

// TestHTTPControlsAgree drives two identical mocks with the same script,
// one through these in-process Controls and one through
// conformance.NewHTTPControls and the mock's /admin/ JSON, and checks that
// every answer is the same: the mock's handler and the suite's client read
// and write the JSON of package mockapi alike, field for field.
func TestHTTPControlsAgree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pub, priv, err := seattlersa.GenerateKey(nil, 512)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := mockserver.New(mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 3, Seed: 5}), mockserver.WithKeyBits(512),
		mockserver.WithClock(func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 7, time.UTC) }), mockserver.WithTimeScale(0),
		mockserver.WithAdmin(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	hs := httptest.NewServer(admin)
	t.Cleanup(hs.Close)
	viaHTTP, err := conformance.NewHTTPControls(hs.URL+"/admin/", hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	inProcess, err := mockserver.New(mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 3, Seed: 5}), mockserver.WithKeyBits(512),
		mockserver.WithClock(func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 7, time.UTC) }), mockserver.WithTimeScale(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inProcess.Close() })
	sides := []struct {
		name string
		c    conformance.Controls
		m    *mockserver.Server
	}{{"HTTP", viaHTTP, admin}, {"in process", mockcontrols.New(inProcess), inProcess}}

	// step runs do on both sides and compares what each returned, printed
	// with %+v (which shows nil and empty lists alike, as JSON cannot tell
	// them apart), and whether each failed.
	step := func(what string, do func(c conformance.Controls, m *mockserver.Server) (any, error)) {
		t.Helper()
		var have [2]string
		var errs [2]error
		for i, side := range sides {
			v, err := do(side.c, side.m)
			have[i], errs[i] = fmt.Sprintf("%+v", v), err
		}
		if (errs[0] == nil) != (errs[1] == nil) || errs[0] != nil && !strings.Contains(errs[0].Error(), errs[1].Error()) {
			t.Errorf("%s: errors differ:\nHTTP:       %v\nin process: %v", what, errs[0], errs[1])
		}
		if have[0] != have[1] {
			t.Errorf("%s: answers differ:\nHTTP:       %s\nin process: %s", what, have[0], have[1])
		}
	}
	none := func(err error) (any, error) { return nil, err }
	spec := mockapi.AccountSpec{Username: "agree", Password: "password1", Affiliation: "Test U", APIKey: "AGREEKEY",
		PublicKey: pub.String(), PrivateKey: priv.String(), FreeCredits: 4, UserPort: 63111}
	step("AddAccount", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		a, err := c.AddAccount(ctx, spec)
		return []string{a.Username, a.APIKey, a.Password, a.PrivateKey}, err
	})
	step("AddAccount again", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		_, err := c.AddAccount(ctx, spec)
		return nil, err
	})
	step("AddAccount inactive", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		_, err := c.AddAccount(ctx, mockapi.AccountSpec{Username: "banned", Password: "password2", Affiliation: "Test U",
			PublicKey: pub.String(), Inactive: true, FreeCredits: mockapi.NoFreeCredits})
		if err != nil {
			return nil, err
		}
		a, err := m.Account("banned")
		return a, err
	})
	step("AddNodes", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.AddNodes(ctx, []mockapi.NodeSpec{
			{ID: "n1", IP: "10.9.0.1", Port: 2000},
			{ID: "n2", IP: "10.9.1.1", Vessels: []mockapi.VesselSpec{{Name: "v3", Ports: []int{63111, 63112}}}},
			{ID: "n3", IP: "NAT$n3", Inactive: true, Broken: true},
		}))
	})
	step("AddNodes refused", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.AddNodes(ctx, []mockapi.NodeSpec{{ID: "n1", IP: "10.9.0.1"}}))
	})
	step("SetFreeCredits", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.SetFreeCredits(ctx, "agree", 6))
	})
	step("SetAccountActive", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.SetAccountActive(ctx, "banned", true))
	})
	step("SetNodeActive", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.SetNodeActive(ctx, "n3", true))
	})
	step("SetNodeBroken", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.SetNodeBroken(ctx, "n3", false))
	})
	step("SetNodeIP", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.SetNodeIP(ctx, "n1", "10.9.2.1"))
	})
	step("SetNodeIP refused", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.SetNodeIP(ctx, "n1", "not an address"))
	})
	step("AddDonation", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.AddDonation(ctx, "n1", "agree"))
	})
	step("InjectFailure", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.InjectFailure(ctx, "n2", mockapi.Failure{Next: 3}))
	})
	step("InjectFailure unknown node", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.InjectFailure(ctx, "nowhere", mockapi.Failure{Always: true}))
	})
	step("acquire", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return m.Call(ctx, "acquire_specific_vessels", map[string]any{"username": "agree", "api_key": "AGREEKEY"},
			[]any{"n1:v2"})
	})
	step("SetCleanupDelay", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.SetCleanupDelay(ctx, 90*time.Second))
	})
	step("Advance", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.Advance(ctx, time.Hour+time.Nanosecond))
	})
	step("release", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return m.Call(ctx, "release_resources", map[string]any{"username": "agree", "api_key": "AGREEKEY"},
			[]any{"n1:v2"})
	})
	step("SetTime", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.SetTime(ctx, time.Date(2031, 2, 3, 4, 5, 6, 789, time.UTC)))
	})
	step("SetTimeScale", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return none(c.(conformance.TimeScaler).SetTimeScale(ctx, 0.5))
	})

	// What the controls report, after all that.
	step("Now", func(c conformance.Controls, m *mockserver.Server) (any, error) { return c.Now(ctx) })
	step("TimeScale", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		return c.(conformance.TimeScaler).TimeScale(ctx)
	})
	step("CleanupDelay", func(c conformance.Controls, m *mockserver.Server) (any, error) { return c.CleanupDelay(ctx) })
	step("Nodes", func(c conformance.Controls, m *mockserver.Server) (any, error) { return c.Nodes(ctx) })
	for _, id := range []string{"n1", "n2", "n3", "nowhere"} {
		step("Node "+id, func(c conformance.Controls, m *mockserver.Server) (any, error) { return c.Node(ctx, id) })
	}
	for _, user := range []string{"agree", "banned", "nobody"} {
		step("Holdings "+user, func(c conformance.Controls, m *mockserver.Server) (any, error) { return c.Holdings(ctx, user) })
	}
	step("Accounts", func(c conformance.Controls, m *mockserver.Server) (any, error) {
		as, err := m.Accounts()
		var out []any
		for _, a := range as {
			out = append(out, a.Credentials(), fmt.Sprintf("%#v", a))
		}
		return out, err
	})
}
