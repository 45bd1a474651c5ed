// Package mockcontrols gives the conformance suite the controls of this
// project's mock running in the same process: New(m) implements
// conformance.Controls on a *mockserver.Server by calling its methods.
// It is a package of its own so that package conformance does not import
// mockserver, and a test binary that runs the suite against a deployment
// does not link the mock.
//
//	mock, err := mockserver.New()
//	...
//	conformance.Run(t, conformance.Target{
//		URL:      srv.URL + "/xmlrpc/",
//		Accounts: accounts,
//		Mock:     true,
//		Controls: mockcontrols.New(mock),
//	})
package mockcontrols

import (
	"context"
	"time"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// New returns Controls that act on m directly, in process. They also
// implement conformance.TimeScaler.
func New(m *mockserver.Server) conformance.Controls { return controls{m} }

var _ conformance.TimeScaler = controls{}

// controls adapts the Server's methods to conformance.Controls.
type controls struct{ m *mockserver.Server }

func (c controls) Now(ctx context.Context) (time.Time, error) { return c.m.Now(), nil }

func (c controls) SetTime(ctx context.Context, t time.Time) error { return c.m.SetTime(t) }

func (c controls) Advance(ctx context.Context, d time.Duration) error { return c.m.Advance(d) }

func (c controls) TimeScale(ctx context.Context) (float64, error) { return c.m.TimeScale(), nil }

func (c controls) SetTimeScale(ctx context.Context, x float64) error { return c.m.SetTimeScale(x) }

func (c controls) CleanupDelay(ctx context.Context) (time.Duration, error) {
	return c.m.CleanupDelay(), nil
}

func (c controls) SetCleanupDelay(ctx context.Context, d time.Duration) error {
	return c.m.SetCleanupDelay(d)
}

func (c controls) AddAccount(ctx context.Context, spec mockapi.AccountSpec) (conformance.Account, error) {
	a, err := c.m.AddAccount(spec)
	if err != nil {
		return conformance.Account{}, err
	}
	return conformance.Account{Username: a.Username, APIKey: a.APIKey, Password: a.Password, PrivateKey: a.PrivateKey}, nil
}

func (c controls) SetFreeCredits(ctx context.Context, username string, n int) error {
	return c.m.SetFreeCredits(username, n)
}

func (c controls) SetAccountActive(ctx context.Context, username string, active bool) error {
	return c.m.SetAccountActive(username, active)
}

func (c controls) AddNodes(ctx context.Context, nodes []mockapi.NodeSpec) error {
	_, err := c.m.AddNodes(nodes)
	return err
}

func (c controls) Nodes(ctx context.Context) ([]mockapi.Node, error) {
	nodes, _, err := c.m.Nodes(mockserver.NodeFilter{})
	if err != nil {
		return nil, err
	}
	for i := range nodes {
		nodes[i].Vessels = nil
	}
	return nodes, nil
}

func (c controls) Node(ctx context.Context, id string) (mockapi.Node, error) { return c.m.Node(id) }

func (c controls) SetNodeActive(ctx context.Context, id string, active bool) error {
	return c.m.SetNodeActive(id, active)
}

func (c controls) SetNodeBroken(ctx context.Context, id string, broken bool) error {
	return c.m.SetNodeBroken(id, broken)
}

func (c controls) SetNodeIP(ctx context.Context, id, ip string) error { return c.m.SetNodeIP(id, ip) }

func (c controls) AddDonation(ctx context.Context, nodeID, username string) error {
	return c.m.AddDonation(nodeID, username)
}

func (c controls) InjectFailure(ctx context.Context, nodeID string, f mockapi.Failure) error {
	return c.m.InjectFailure(nodeID, f)
}

func (c controls) Holdings(ctx context.Context, username string) ([]mockapi.Vessel, error) {
	return c.m.Holdings(username)
}
