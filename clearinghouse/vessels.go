package clearinghouse

import (
	"context"
	"math"
	"strings"
	"time"
)

// Handle identifies a vessel: the node id, ":" and the vessel name. Treat
// it as opaque.
type Handle string

// ResourceType is the kind of vessels an acquisition asks for.
type ResourceType string

// The four types the clearinghouse accepts.
const (
	LAN    ResourceType = "lan"    // vessels on nodes in one /24 subnet
	WAN    ResourceType = "wan"    // vessels on nodes in distinct /24 subnets
	NAT    ResourceType = "nat"    // vessels on nodes behind NAT
	Random ResourceType = "random" // any vessels
)

// Vessel is a vessel the account holds, as the clearinghouse describes it.
type Vessel struct {
	NodeID   string // the node's public key, "<e> <n>"
	NodeIP   string // dotted IPv4, or "NAT$..." for a node behind NAT
	NodePort int    // the node manager's port
	VesselID string // the vessel's name on its node, such as "v12"
	Handle   Handle
	// IsActive reports whether the node is currently active; nil when the
	// server did not say.
	IsActive *bool
	// ExpiresIn is the lease time left when the response was received, in
	// whole seconds; ExpiresAt is the instant it runs out, computed from
	// the local clock on receipt.
	ExpiresIn time.Duration
	ExpiresAt time.Time
}

// BehindNAT reports whether the vessel's node is behind NAT.
func (v Vessel) BehindNAT() bool { return strings.HasPrefix(v.NodeIP, "NAT$") }

// wireVessel is the infodict as it arrives.
type wireVessel struct {
	NodeID           string `xmlrpc:"node_id"`
	NodeIP           string `xmlrpc:"node_ip"`
	NodePort         int    `xmlrpc:"node_port"`
	VesselID         string `xmlrpc:"vessel_id"`
	Handle           string `xmlrpc:"handle"`
	IsActive         *bool  `xmlrpc:"is_active"`
	ExpiresInSeconds int64  `xmlrpc:"expires_in_seconds"`
}

func vesselsFrom(ws []wireVessel, received time.Time) []Vessel {
	out := make([]Vessel, len(ws))
	for i, w := range ws {
		h := Handle(w.Handle)
		if h == "" {
			h = Handle(w.NodeID + ":" + w.VesselID)
		}
		in := time.Duration(w.ExpiresInSeconds) * time.Second
		out[i] = Vessel{
			NodeID: w.NodeID, NodeIP: w.NodeIP, NodePort: w.NodePort, VesselID: w.VesselID,
			Handle: h, IsActive: w.IsActive, ExpiresIn: in, ExpiresAt: received.Add(in),
		}
	}
	return out
}

// Handles returns the handles of vs, in order.
func Handles(vs []Vessel) []Handle {
	hs := make([]Handle, len(vs))
	for i, v := range vs {
		hs[i] = v.Handle
	}
	return hs
}

// AcquireLAN acquires n vessels on nodes that share one /24 subnet.
func (c *Client) AcquireLAN(ctx context.Context, n int) ([]Vessel, error) {
	return c.AcquireResources(ctx, LAN, n)
}

// AcquireWAN acquires n vessels on nodes in n distinct /24 subnets.
func (c *Client) AcquireWAN(ctx context.Context, n int) ([]Vessel, error) {
	return c.AcquireResources(ctx, WAN, n)
}

// AcquireNAT acquires n vessels on nodes behind NAT.
func (c *Client) AcquireNAT(ctx context.Context, n int) ([]Vessel, error) {
	return c.AcquireResources(ctx, NAT, n)
}

// AcquireRandom acquires n vessels of any kind.
func (c *Client) AcquireRandom(ctx context.Context, n int) ([]Vessel, error) {
	return c.AcquireResources(ctx, Random, n)
}

// AcquireResources acquires n vessels of type typ, all or nothing. The
// type is sent as given, so an unknown one gets the server's
// ErrInvalidRequest; so do counts below 1. Counts outside 32 bits are
// rejected locally. Never retried.
func (c *Client) AcquireResources(ctx context.Context, typ ResourceType, n int) ([]Vessel, error) {
	if n < math.MinInt32 || n > math.MaxInt32 {
		return nil, invalidArgument("vessel count outside the 32-bit range")
	}
	auth, err := c.auth(ctx)
	if err != nil {
		return nil, err
	}
	var ws []wireVessel
	rspec := map[string]any{"rspec_type": string(typ), "number_of_nodes": n}
	if err := c.call(ctx, "acquire_resources", false, &ws, auth, rspec); err != nil {
		return nil, err
	}
	return vesselsFrom(ws, time.Now()), nil
}

// AcquireSpecificVessels tries to acquire each of the given vessels and
// returns those it acquired, which may be none: vessels held by anyone
// (the caller included) or on inactive nodes are skipped. Handles the
// caller already holds still count against its credits.
func (c *Client) AcquireSpecificVessels(ctx context.Context, handles []Handle) ([]Vessel, error) {
	if err := checkHandles(handles); err != nil {
		return nil, err
	}
	auth, err := c.auth(ctx)
	if err != nil {
		return nil, err
	}
	var ws []wireVessel
	if err := c.call(ctx, "acquire_specific_vessels", false, &ws, auth, handles); err != nil {
		return nil, err
	}
	return vesselsFrom(ws, time.Now()), nil
}

// ReleaseResources releases the given vessels. Vessels the caller does not
// hold are silently skipped.
func (c *Client) ReleaseResources(ctx context.Context, handles []Handle) error {
	if err := checkHandles(handles); err != nil {
		return err
	}
	auth, err := c.auth(ctx)
	if err != nil {
		return err
	}
	return c.call(ctx, "release_resources", false, nil, auth, handles)
}

// RenewResources resets the expiry of the given vessels to 7 days from
// now. Vessels the caller does not hold are silently skipped. An account
// over its credit limit gets ErrNotEnoughCredits.
func (c *Client) RenewResources(ctx context.Context, handles []Handle) error {
	if err := checkHandles(handles); err != nil {
		return err
	}
	auth, err := c.auth(ctx)
	if err != nil {
		return err
	}
	return c.call(ctx, "renew_resources", false, nil, auth, handles)
}

// GetResourceInfo lists the vessels the account holds.
func (c *Client) GetResourceInfo(ctx context.Context) ([]Vessel, error) {
	auth, err := c.auth(ctx)
	if err != nil {
		return nil, err
	}
	var ws []wireVessel
	if err := c.call(ctx, "get_resource_info", true, &ws, auth); err != nil {
		return nil, err
	}
	return vesselsFrom(ws, time.Now()), nil
}

func checkHandles(handles []Handle) error {
	if len(handles) == 0 {
		return invalidArgument("the handle list is empty")
	}
	return nil
}
