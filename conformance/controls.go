package conformance

import (
	"context"
	"time"
)

// Controls are the mock-only abilities some checks need: the clock, the
// node population, accounts with chosen credits, failure injection and a
// view of the mock's state. NewHTTPControls implements them on a mock's
// /admin/ endpoint, and package conformance/mockcontrols on an in-process
// *mockserver.Server (in its own package, so that this one does not link
// the mock). A real deployment has none; checks that need them are skipped
// there.
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

// VesselState is what Controls report about a vessel. Acquired and
// Expires are date_acquired and date_expires of an owned vessel (the start
// of its lease, by acquisition or the last renewal, and its end), zero for
// a free one; DirtySince is when a free dirty vessel became dirty (its
// release, or the end of its lease), zero otherwise (contract §9, §11).
type VesselState struct {
	Handle     string
	Ports      []int
	Owner      string
	Acquired   time.Time
	Expires    time.Time
	Dirty      bool
	DirtySince time.Time
	Available  bool
}

// Failure is an injected acquisition failure: every attempt on the node
// (Always), or the next Next attempts.
type Failure struct {
	Always bool
	Next   int
}

// controlSecrets returns the secrets Controls hold (the admin token of
// NewHTTPControls), for redaction.
func controlSecrets(c Controls) []string {
	if sc, ok := c.(interface{ secrets() []string }); ok {
		return sc.secrets()
	}
	return nil
}
