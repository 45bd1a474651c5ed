package conformance

import (
	"context"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// Controls are the mock-only abilities some checks need: the clock, the
// node population, accounts with chosen credits, failure injection and a
// view of the mock's state. NewHTTPControls implements them on a mock's
// /admin/ endpoint, and package conformance/mockcontrols on an in-process
// *mockserver.Server (in its own package, so that this one does not link
// the mock). A real deployment has none; checks that need them are skipped
// there. The specs and the states they take and report are the mock's own
// types, from package mockserver/mockapi, which does not link the mock
// either.
type Controls interface {
	Now(ctx context.Context) (time.Time, error)
	SetTime(ctx context.Context, t time.Time) error
	Advance(ctx context.Context, d time.Duration) error
	CleanupDelay(ctx context.Context) (time.Duration, error)
	SetCleanupDelay(ctx context.Context, d time.Duration) error

	// AddAccount creates an account and returns its credentials. The
	// suite sets Username, Password, Affiliation, FreeCredits and, for
	// some checks, PublicKey.
	AddAccount(ctx context.Context, spec mockapi.AccountSpec) (Account, error)
	SetFreeCredits(ctx context.Context, username string, n int) error
	SetAccountActive(ctx context.Context, username string, active bool) error

	AddNodes(ctx context.Context, nodes []mockapi.NodeSpec) error
	// Nodes lists every node, without vessels; Node returns one with
	// its vessels.
	Nodes(ctx context.Context) ([]mockapi.Node, error)
	Node(ctx context.Context, id string) (mockapi.Node, error)
	SetNodeActive(ctx context.Context, id string, active bool) error
	SetNodeBroken(ctx context.Context, id string, broken bool) error
	SetNodeIP(ctx context.Context, id, ip string) error
	AddDonation(ctx context.Context, nodeID, username string) error
	// InjectFailure replaces the node's injected acquisition failure;
	// Failure{} removes it.
	InjectFailure(ctx context.Context, nodeID string, f mockapi.Failure) error

	// Holdings lists the vessels the account holds.
	Holdings(ctx context.Context, username string) ([]mockapi.Vessel, error)
}

// TimeScaler is implemented by Controls that can also change how fast the
// mock clock runs: 0 freezes it, so that only SetTime and Advance move it,
// and 1 makes it follow the wall clock. The checks of exact instants
// (expires_in_seconds, the end of a lease, the end of the cleanup delay:
// contract §4.1, §9) freeze the clock through it for their duration, and
// are skipped with Controls that lack it. NewHTTPControls and package
// conformance/mockcontrols implement it.
type TimeScaler interface {
	TimeScale(ctx context.Context) (float64, error)
	SetTimeScale(ctx context.Context, x float64) error
}

// controlSecrets returns the secrets Controls hold (the admin token of
// NewHTTPControls), for redaction.
func controlSecrets(c Controls) []string {
	if sc, ok := c.(interface{ secrets() []string }); ok {
		return sc.secrets()
	}
	return nil
}
