package mockapi

import (
	"fmt"
	"log/slog"
	"time"
)

// Account is a copy of an account's state, credentials included: what
// mockserver's Server.Account returns. Changing it changes nothing in the
// mock. Its JSON form, the account of the /admin/ endpoints, leaves out
// the credentials but the public key, and so do String, GoString and
// LogValue: read the fields, or Credentials, to get them.
type Account struct {
	Username    string `json:"username"`
	Password    string `json:"-"`
	APIKey      string `json:"-"`
	PublicKey   string `json:"public_key"`
	PrivateKey  string `json:"-"` // empty if the clearinghouse does not know it
	Affiliation string `json:"affiliation"`
	UserPort    int    `json:"user_port"`
	FreeCredits int    `json:"free_credits"`
	MaxVessels  int    `json:"max_vessels"` // FreeCredits + 10 per donation on a usable node
	// Donations are the ids of the nodes the account donated.
	Donations []string `json:"donations"`
	Vessels   int      `json:"vessels"` // vessels held now (acquired and not expired)
	Active    bool     `json:"active"`
}

// Credentials returns the account's credentials.
func (a Account) Credentials() Credentials {
	return Credentials{Username: a.Username, Password: a.Password, APIKey: a.APIKey,
		PublicKey: a.PublicKey, PrivateKey: a.PrivateKey}
}

// LogValue keeps the credentials out of logs: only the username is shown.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", a.Username))
}

// String hides the credentials, so that an Account printed by mistake (with
// %v, %s or inside another value) leaks nothing: it is "account <name>".
func (a Account) String() string { return "account " + a.Username }

// GoString hides the credentials from %#v: it shows every field but
// Password, APIKey, PublicKey and PrivateKey.
func (a Account) GoString() string {
	return fmt.Sprintf("mockapi.Account{Username: %q, Affiliation: %q, UserPort: %d, FreeCredits: %d, "+
		"MaxVessels: %d, Donations: %#v, Vessels: %d, Active: %t}",
		a.Username, a.Affiliation, a.UserPort, a.FreeCredits, a.MaxVessels, a.Donations, a.Vessels, a.Active)
}

// Credentials are what a client needs to act as an account: the reply of
// GET /admin/accounts/{username}/credentials, and the shape of an account
// in the mockclearinghouse command's creds file. Printed or logged, it
// shows only the username.
type Credentials struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	APIKey     string `json:"api_key"`
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
}

// LogValue keeps the credentials out of logs: only the username is shown.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.Username))
}

// String is "credentials of <username>", without them.
func (c Credentials) String() string { return "credentials of " + c.Username }

// GoString hides the credentials from %#v.
func (c Credentials) GoString() string {
	return fmt.Sprintf("mockapi.Credentials{Username: %q}", c.Username)
}

// Node is a copy of a node's state, as the mock reports it (GET
// /admin/nodes/{id}).
type Node struct {
	ID      string   `json:"id"`
	IP      string   `json:"ip"`
	Port    int      `json:"port"`
	Active  bool     `json:"active"`
	Broken  bool     `json:"broken"`
	Donor   string   `json:"donor,omitempty"` // username of the donor, if any
	Failure Failure  `json:"failure"`
	Vessels []Vessel `json:"vessels"`
}

// Vessel is a copy of a vessel's state, as the mock reports it. Acquired
// and Expires are date_acquired and date_expires of an owned vessel (the
// start of its lease, by acquisition or the last renewal, and its end);
// DirtySince is when a free dirty vessel became dirty (its release, or the
// end of its lease). Zero times are left out of the JSON form.
type Vessel struct {
	Handle     string    `json:"handle"`
	NodeID     string    `json:"node_id"`
	Name       string    `json:"name"`
	NodeIP     string    `json:"node_ip"`
	NodePort   int       `json:"node_port"`
	NodeActive bool      `json:"node_active"`
	NodeBroken bool      `json:"node_broken"`
	Ports      []int     `json:"ports"`
	Owner      string    `json:"owner,omitempty"`      // username; empty when free
	Acquired   time.Time `json:"acquired,omitzero"`    // zero when free
	Expires    time.Time `json:"expires,omitzero"`     // zero when free
	Dirty      bool      `json:"dirty"`                // released or expired and not yet cleaned
	DirtySince time.Time `json:"dirty_since,omitzero"` // zero unless Dirty and free
	// Available reports whether acquire_resources may hand the vessel out
	// to a user whose port is in Ports: free, clean, node active and not
	// broken.
	Available bool `json:"available"`
}
