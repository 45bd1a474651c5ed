package mockapi

import "time"

// The JSON bodies of the /admin/ endpoints that the types above do not
// cover; package mockserver's documentation lists the endpoints (The
// /admin/ controls). Requests that change one value take a pointer, so
// that a body without it is refused rather than read as zero.

// ErrorReply is the body of every /admin/ reply whose status is not 2xx.
type ErrorReply struct {
	Error string `json:"error"`
}

// OKReply is the reply of POST /admin/failures for a rate or a clear.
type OKReply struct {
	OK bool `json:"ok"`
}

// State is the reply of GET /admin/state and POST /admin/reset.
type State struct {
	Now          time.Time    `json:"now"`
	CleanupDelay string       `json:"cleanup_delay"` // a Go duration, such as "5s"
	FailureRate  float64      `json:"failure_rate"`
	Seed         int64        `json:"seed"`
	Accounts     int          `json:"accounts"`
	Nodes        int          `json:"nodes"`
	LiveSubnets  int          `json:"live_subnets"`
	Vessels      VesselCounts `json:"vessels"`
	Persistent   bool         `json:"persistent"`
	// FaultsInjected counts injected faults per kind (see mockserver's
	// FaultKind) since the server started.
	FaultsInjected map[string]uint64 `json:"faults_injected"`
}

// VesselCounts count the vessels in some of the states.
type VesselCounts struct {
	Total     int `json:"total"`
	Owned     int `json:"owned"`
	Dirty     int `json:"dirty"`
	Available int `json:"available"`
}

// AccountList is the reply of GET /admin/accounts.
type AccountList struct {
	Accounts []Account `json:"accounts"`
}

// AccountCreated is the reply of POST /admin/accounts, whose body is an
// AccountSpec: the account, and its credentials, which the mock may have
// generated.
type AccountCreated struct {
	Account     Account     `json:"account"`
	Credentials Credentials `json:"credentials"`
}

// AccountHoldings is the reply of GET /admin/accounts/{username}: the
// account and the vessels it holds, sorted by handle.
type AccountHoldings struct {
	Account
	Holdings []Vessel `json:"holdings"`
}

// CreditsChange is the body of POST /admin/accounts/{username}/credits.
// FreeCredits is exact: 0 is none.
type CreditsChange struct {
	FreeCredits *int `json:"free_credits"`
}

// ActiveChange is the body of POST /admin/accounts/{username}/active and
// POST /admin/nodes/{id}/active.
type ActiveChange struct {
	Active *bool `json:"active"`
}

// BrokenChange is the body of POST /admin/nodes/{id}/broken.
type BrokenChange struct {
	Broken *bool `json:"broken"`
}

// IPChange is the body of POST /admin/nodes/{id}/ip.
type IPChange struct {
	IP string `json:"ip"`
}

// NodeList is the reply of GET /admin/nodes: a page of Nodes, from
// Offset, out of Total.
type NodeList struct {
	Total  int    `json:"total"`
	Offset int    `json:"offset"`
	Nodes  []Node `json:"nodes"`
}

// NodesAdded is the reply of POST /admin/nodes.
type NodesAdded struct {
	Nodes []Node `json:"nodes"`
}

// VesselList is the reply of GET /admin/vessels: a page of Vessels, from
// Offset, out of Total.
type VesselList struct {
	Total   int      `json:"total"`
	Offset  int      `json:"offset"`
	Vessels []Vessel `json:"vessels"`
}

// Donation is the body and the reply of POST /admin/donations.
type Donation struct {
	NodeID   string `json:"node_id"`
	Username string `json:"username"`
}

// FailureChange is the body of POST /admin/failures: a node's Failure
// (NodeID with Always or Next; the reply is the Node), a failure rate for
// every acquisition (Rate), or no injected failure at all (Clear).
type FailureChange struct {
	NodeID string   `json:"node_id,omitempty"`
	Always bool     `json:"always,omitempty"`
	Next   int      `json:"next,omitempty"`
	Rate   *float64 `json:"rate,omitempty"`
	Clear  bool     `json:"clear,omitempty"`
}

// Clock is the reply of GET and POST /admin/clock: the mock's time, and
// how fast it runs against the wall clock (0: frozen).
type Clock struct {
	Now   time.Time `json:"now"`
	Scale float64   `json:"scale"`
}

// ClockChange is the body of POST /admin/clock, with one of its fields:
// Set, an RFC 3339 time; Advance, a Go duration such as "90m"; or Scale.
type ClockChange struct {
	Set     string   `json:"set,omitempty"`
	Advance string   `json:"advance,omitempty"`
	Scale   *float64 `json:"scale,omitempty"`
}

// CleanupDelay is the body and the reply of POST /admin/cleanup-delay, and
// the reply of GET: a Go duration, such as "5s".
type CleanupDelay struct {
	Delay string `json:"delay"`
}

// Seed is the body and the reply of POST /admin/seed.
type Seed struct {
	Seed *int64 `json:"seed"`
}
