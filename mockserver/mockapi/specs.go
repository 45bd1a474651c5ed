package mockapi

// AccountSpec describes an account to create: mockserver's
// Server.AddAccount, the conformance suite's Controls.AddAccount, and the
// body of POST /admin/accounts. The seeding rules of contract §11 apply:
// Username is 3-40 characters of [0-9A-Za-z_] not starting with '_';
// Password is at least 6 characters and differs from Username;
// Affiliation is 3-200 characters.
type AccountSpec struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	Affiliation string `json:"affiliation"`

	// APIKey is accepted verbatim if a client could recover it through
	// get_encrypted_api_key (seattlersa.ValidAPIKey: at most 100 printable
	// ASCII characters other than '!' and space); when empty a fresh
	// 32-character key is generated.
	APIKey string `json:"api_key,omitempty"`

	// PublicKey ("<e> <n>") and PrivateKey ("<d> <p> <q>") are the
	// account's key pair. When both are empty the mock generates a pair. A
	// PublicKey alone is allowed (the clearinghouse then does not know the
	// private key); a PrivateKey must come with its PublicKey.
	PublicKey  string `json:"public_key,omitempty"`
	PrivateKey string `json:"private_key,omitempty"`

	// UserPort is the account's port, 63100-63179; 0 lets the mock pick
	// one from its seeded source.
	UserPort int `json:"user_port,omitempty"`

	// FreeCredits is the account's free vessel credits: 0 means the mock's
	// default (10) and NoFreeCredits means none; any other number is
	// exact. (Changing an existing account's credits takes the exact
	// number: 0 there is none.)
	FreeCredits int `json:"free_credits,omitempty"`

	// Inactive creates a banned account, which behaves as if it did not
	// exist on every wire call.
	Inactive bool `json:"inactive,omitempty"`
}

// NoFreeCredits as AccountSpec.FreeCredits gives an account no free
// credits: it can then acquire vessels only through donations.
const NoFreeCredits = -1

// NodeSpec describes a node to create: mockserver's Server.AddNodes, the
// conformance suite's Controls.AddNodes, and the body of POST
// /admin/nodes (one NodeSpec or an array of them).
type NodeSpec struct {
	// ID is the node identifier, normally a public key "<e> <n>"; any
	// string without ':' is accepted (test fixtures used "node1"). Empty
	// lets the mock generate a "<e> <n>"-style id from its seeded source.
	ID string `json:"id,omitempty"`

	// IP is a dotted IPv4 address, or for a node behind NAT a string
	// starting with "NAT$".
	IP string `json:"ip"`

	// Port is the node manager port; 0 means the default, 1224.
	Port int `json:"port,omitempty"`

	Inactive bool `json:"inactive,omitempty"` // the node is offline
	Broken   bool `json:"broken,omitempty"`   // the node is marked broken

	// Vessels are the node's vessels; nil (absent in JSON) gives the
	// default template, v2-v9 with one vessel for each user port. Vessel
	// port sets on one node must be disjoint.
	Vessels []VesselSpec `json:"vessels,omitzero"`
}

// VesselSpec is one vessel of a NodeSpec: a name "v<N>" and 1 to 10 ports.
type VesselSpec struct {
	Name  string `json:"name"`
	Ports []int  `json:"ports"`
}

// Failure is the injected acquisition failure of one node (contract §11).
// The zero value injects nothing.
type Failure struct {
	Always bool `json:"always"` // every acquisition attempt on the node fails
	Next   int  `json:"next"`   // the next Next attempts fail
}

// VesselState selects vessels by state: mockserver's VesselFilter.State
// and the state parameter of GET /admin/vessels. The states overlap: a
// dirty vessel is free, and so is an available one.
type VesselState string

// The vessel states. The empty VesselState selects every vessel.
const (
	StateOwned     VesselState = "owned"     // held by an account
	StateDirty     VesselState = "dirty"     // free, released or expired and not yet cleaned
	StateAvailable VesselState = "available" // free, clean, on an active node that is not broken (Vessel.Available)
	StateFree      VesselState = "free"      // held by no account
)

// Valid reports whether s is one of the states or empty.
func (s VesselState) Valid() bool {
	switch s {
	case "", StateOwned, StateDirty, StateAvailable, StateFree:
		return true
	}
	return false
}

// Has reports whether v is in state s; every vessel is in the empty state.
func (s VesselState) Has(v Vessel) bool {
	switch s {
	case StateOwned:
		return v.Owner != ""
	case StateDirty:
		return v.Owner == "" && v.Dirty
	case StateAvailable:
		return v.Available
	case StateFree:
		return v.Owner == ""
	}
	return true
}
