package conformance

import (
	"context"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// Controls are the mock-only abilities some checks need: the clock, the
// node population, accounts with chosen credits, failure injection and a
// view of the mock's state. InProcessControls implements them on a
// *mockserver.Server, NewHTTPControls on a mock's /admin/ endpoint.
// A real deployment has none; checks that need them are skipped there.
type Controls interface {
	Now(ctx context.Context) (time.Time, error)
	SetTime(ctx context.Context, t time.Time) error
	Advance(ctx context.Context, d time.Duration) error
	CleanupDelay(ctx context.Context) (time.Duration, error)
	SetCleanupDelay(ctx context.Context, d time.Duration) error

	// AddAccount creates an account and returns its credentials.
	AddAccount(ctx context.Context, spec AccountSpec) (Account, error)
	SetFreeCredits(ctx context.Context, username string, n int) error
	SetAccountActive(ctx context.Context, username string, active bool) error

	AddNodes(ctx context.Context, nodes []NodeSpec) error
	// Nodes lists every node, without vessels; Node returns one with
	// its vessels.
	Nodes(ctx context.Context) ([]NodeState, error)
	Node(ctx context.Context, id string) (NodeState, error)
	SetNodeActive(ctx context.Context, id string, active bool) error
	SetNodeBroken(ctx context.Context, id string, broken bool) error
	SetNodeIP(ctx context.Context, id, ip string) error
	AddDonation(ctx context.Context, nodeID, username string) error
	// InjectFailure replaces the node's injected acquisition failure;
	// Failure{} removes it.
	InjectFailure(ctx context.Context, nodeID string, f Failure) error

	// Holdings lists the vessels the account holds.
	Holdings(ctx context.Context, username string) ([]VesselState, error)
}

// AccountSpec describes an account for Controls.AddAccount. FreeCredits
// follows mockserver.AccountSpec: 0 means the mock's default (10),
// NoFreeCredits means none, any other number is exact. PublicKey and
// PrivateKey, when given, are the account's key pair; otherwise the mock
// makes one.
type AccountSpec struct {
	Username    string
	Password    string
	Affiliation string
	FreeCredits int
	UserPort    int // 0: the mock picks one
	PublicKey   string
	PrivateKey  string
}

// NoFreeCredits as AccountSpec.FreeCredits creates an account without free
// credits (the same value as mockserver.NoFreeCredits).
const NoFreeCredits = -1

// NodeSpec describes a node for Controls.AddNodes. Vessels nil means the
// default template (v2-v9, one vessel for each user port).
type NodeSpec struct {
	ID       string
	IP       string
	Inactive bool
	Broken   bool
	Vessels  []VesselSpec
}

// VesselSpec is a vessel of a NodeSpec.
type VesselSpec struct {
	Name  string
	Ports []int
}

// NodeState is what Controls report about a node.
type NodeState struct {
	ID      string
	IP      string
	Active  bool
	Broken  bool
	Vessels []VesselState // only from Controls.Node
}

// VesselState is what Controls report about a vessel.
type VesselState struct {
	Handle    string
	Ports     []int
	Owner     string
	Expires   time.Time
	Dirty     bool
	Available bool
}

// Failure is an injected acquisition failure: every attempt on the node
// (Always), or the next Next attempts.
type Failure struct {
	Always bool
	Next   int
}

// InProcessControls returns Controls that act on m directly.
func InProcessControls(m *mockserver.Server) Controls { return inProcess{m} }

type inProcess struct{ m *mockserver.Server }

func (c inProcess) Now(ctx context.Context) (time.Time, error) { return c.m.Now(), nil }

func (c inProcess) SetTime(ctx context.Context, t time.Time) error { return c.m.SetTime(t) }

func (c inProcess) Advance(ctx context.Context, d time.Duration) error { return c.m.Advance(d) }

func (c inProcess) CleanupDelay(ctx context.Context) (time.Duration, error) {
	return c.m.CleanupDelay(), nil
}

func (c inProcess) SetCleanupDelay(ctx context.Context, d time.Duration) error {
	return c.m.SetCleanupDelay(d)
}

func (c inProcess) AddAccount(ctx context.Context, spec AccountSpec) (Account, error) {
	a, err := c.m.AddAccount(mockserver.AccountSpec{
		Username: spec.Username, Password: spec.Password, Affiliation: spec.Affiliation,
		FreeCredits: spec.FreeCredits, UserPort: spec.UserPort, PublicKey: spec.PublicKey, PrivateKey: spec.PrivateKey,
	})
	if err != nil {
		return Account{}, err
	}
	return Account{Username: a.Username, APIKey: a.APIKey, Password: a.Password, PrivateKey: a.PrivateKey}, nil
}

func (c inProcess) SetFreeCredits(ctx context.Context, username string, n int) error {
	return c.m.SetFreeCredits(username, n)
}

func (c inProcess) SetAccountActive(ctx context.Context, username string, active bool) error {
	return c.m.SetAccountActive(username, active)
}

func (c inProcess) AddNodes(ctx context.Context, nodes []NodeSpec) error {
	specs := make([]mockserver.NodeSpec, len(nodes))
	for i, n := range nodes {
		specs[i] = mockserver.NodeSpec{ID: n.ID, IP: n.IP, Inactive: n.Inactive, Broken: n.Broken}
		if n.Vessels != nil {
			specs[i].Vessels = []mockserver.VesselSpec{}
			for _, v := range n.Vessels {
				specs[i].Vessels = append(specs[i].Vessels, mockserver.VesselSpec{Name: v.Name, Ports: v.Ports})
			}
		}
	}
	_, err := c.m.AddNodes(specs)
	return err
}

func (c inProcess) Nodes(ctx context.Context) ([]NodeState, error) {
	nodes, _, err := c.m.Nodes(mockserver.NodeFilter{})
	if err != nil {
		return nil, err
	}
	out := make([]NodeState, len(nodes))
	for i, n := range nodes {
		out[i] = NodeState{ID: n.ID, IP: n.IP, Active: n.Active, Broken: n.Broken}
	}
	return out, nil
}

func (c inProcess) Node(ctx context.Context, id string) (NodeState, error) {
	n, err := c.m.Node(id)
	if err != nil {
		return NodeState{}, err
	}
	out := NodeState{ID: n.ID, IP: n.IP, Active: n.Active, Broken: n.Broken}
	for _, v := range n.Vessels {
		out.Vessels = append(out.Vessels, fromMockVessel(v))
	}
	return out, nil
}

func fromMockVessel(v mockserver.Vessel) VesselState {
	return VesselState{Handle: v.Handle, Ports: v.Ports, Owner: v.Owner, Expires: v.Expires, Dirty: v.Dirty, Available: v.Available}
}

func (c inProcess) SetNodeActive(ctx context.Context, id string, active bool) error {
	return c.m.SetNodeActive(id, active)
}

func (c inProcess) SetNodeBroken(ctx context.Context, id string, broken bool) error {
	return c.m.SetNodeBroken(id, broken)
}

func (c inProcess) SetNodeIP(ctx context.Context, id, ip string) error { return c.m.SetNodeIP(id, ip) }

func (c inProcess) AddDonation(ctx context.Context, nodeID, username string) error {
	return c.m.AddDonation(nodeID, username)
}

func (c inProcess) InjectFailure(ctx context.Context, nodeID string, f Failure) error {
	return c.m.InjectFailure(nodeID, mockserver.Failure{Always: f.Always, Next: f.Next})
}

func (c inProcess) Holdings(ctx context.Context, username string) ([]VesselState, error) {
	vs, err := c.m.Holdings(username)
	if err != nil {
		return nil, err
	}
	out := make([]VesselState, len(vs))
	for i, v := range vs {
		out[i] = fromMockVessel(v)
	}
	return out, nil
}
