package nodemanager

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// Node is a handle to one node manager: its address and its key, the
// identity signed requests are addressed to.
type Node struct {
	c    *Client
	addr string
	key  string
}

// Node returns a handle to the node manager at addr ("host:port") whose
// public key is nodeKey ("<e> <n>", the Nodekey line of its GetVessels
// and the node ID the clearinghouse reports). It makes no network call;
// OpenNode learns the key from the node instead.
func (c *Client) Node(addr, nodeKey string) (*Node, error) {
	if err := checkAddr(addr); err != nil {
		return nil, err
	}
	k, err := seattlersa.ParsePublicKey(nodeKey)
	if err != nil {
		return nil, invalidArgument("node key: " + strings.TrimPrefix(err.Error(), "seattlersa: "))
	}
	return &Node{c: c, addr: addr, key: k.String()}, nil
}

// OpenNode asks the node manager at addr for its key with a GetVessels
// call, as the original client's handle did, and returns a handle to it.
func (c *Client) OpenNode(ctx context.Context, addr string) (*Node, error) {
	if err := checkAddr(addr); err != nil {
		return nil, err
	}
	probe := &Node{c: c, addr: addr}
	info, err := probe.GetVessels(ctx)
	if err != nil {
		return nil, err
	}
	k, err := seattlersa.ParsePublicKey(info.NodeKey)
	if err != nil {
		return nil, &Error{Call: nmproto.GetVessels, Addr: addr, Text: "the Nodekey line is not a usable key",
			Err: err, kinds: []error{ErrCommunication}}
	}
	probe.key = k.String()
	return probe, nil
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return invalidArgument("address " + strconv.Quote(addr) + " is not host:port")
	}
	if strings.HasPrefix(host, "NAT$") {
		return &unreachableError{host}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return invalidArgument("address " + strconv.Quote(addr) + " has no valid port")
	}
	return nil
}

// unreachableError reports a node behind NAT.
type unreachableError struct{ host string }

func (e *unreachableError) Error() string {
	return "nodemanager: node " + strconv.Quote(e.host) + " is behind NAT: it is reachable only through Seattle's Affix relays, which this client does not speak"
}

func (e *unreachableError) Unwrap() error { return ErrUnreachable }

// Vessel returns a handle to the vessel the clearinghouse leased: the
// node manager at NodeIP:NodePort, addressed by NodeID (which is the
// node's key), and the vessel VesselID. It makes no network call, so the
// node key is not checked against the node: a wrong one makes every
// signed call fail with ErrDestination, and Vessel.Info checks it. A node
// behind NAT ("NAT$…") gives an error matching ErrUnreachable.
func (c *Client) Vessel(v clearinghouse.Vessel) (*Vessel, error) {
	if v.BehindNAT() {
		return nil, &unreachableError{v.NodeIP}
	}
	if v.NodeIP == "" || v.NodePort < 1 || v.NodePort > 65535 {
		return nil, invalidArgument("vessel " + strconv.Quote(string(v.Handle)) + " has no node address")
	}
	n, err := c.Node(net.JoinHostPort(v.NodeIP, strconv.Itoa(v.NodePort)), v.NodeID)
	if err != nil {
		return nil, err
	}
	return n.Vessel(v.VesselID)
}

// Addr returns the node manager's address.
func (n *Node) Addr() string { return n.addr }

// Key returns the node's key, in canonical form.
func (n *Node) Key() string { return n.key }

// Vessel returns a handle to the named vessel on this node. It makes no
// network call.
func (n *Node) Vessel(name string) (*Vessel, error) {
	if name == "" || strings.ContainsAny(name, "|\n") {
		return nil, invalidArgument("vessel name " + strconv.Quote(name) + " is empty or holds \"|\" or a newline")
	}
	return &Vessel{node: n, name: name}, nil
}

// Call makes any call of the node manager's table with the given
// arguments and returns the reply's body: signed, with the vessel
// (the first argument) locked, for User and Owner calls. The typed
// methods are easier; Call reaches SplitVessel, JoinVessels and whatever
// a caller needs to send as is.
func (n *Node) Call(ctx context.Context, call string, args ...string) (string, error) {
	return n.call(ctx, call, nil, args...)
}

func (n *Node) call(ctx context.Context, call string, seq *sequence, args ...string) (string, error) {
	c, ok := nmproto.LookupCall(call)
	if !ok {
		return "", invalidArgument("unknown call " + strconv.Quote(call))
	}
	request, err := nmproto.EncodeRequest(call, args...)
	if err != nil {
		return "", invalidArgument(trimPrefix(err.Error()))
	}
	vessel := ""
	if c.Signed() {
		vessel = args[0]
		if strings.IndexByte(vessel, '|') >= 0 {
			return "", invalidArgument("vessel name " + strconv.Quote(vessel) + " holds \"|\"")
		}
	} else if len(args) > 0 {
		vessel = args[0]
	}
	return n.c.call(ctx, n, c, request, vessel, seq)
}

// NodeInfo is what GetVessels reports about a node (§4.2).
type NodeInfo struct {
	Version  string // the node manager's version
	Nodename string // the node's address as it sees it
	NodeKey  string // the node's key, as written
	Vessels  []VesselInfo
}

// VesselInfo is one vessel of a GetVessels reply.
type VesselInfo struct {
	Name      string
	Status    string // Fresh, Started, Stopped, Terminated, Stale or ThreadErr
	Advertise bool
	OwnerKey  string   // as written
	OwnerInfo string   // the owner's note, often empty
	UserKeys  []string // as written
}

// Vessel returns the named vessel's entry.
func (ni *NodeInfo) Vessel(name string) (VesselInfo, bool) {
	for _, v := range ni.Vessels {
		if v.Name == name {
			return v, true
		}
	}
	return VesselInfo{}, false
}

// UsableBy returns the vessels whose owner key or one of whose user keys
// is key (compared by value), in the node's order: the vessels a client
// signing with key may use, as the original client's
// listaccessiblevessels found them.
func (ni *NodeInfo) UsableBy(key string) []VesselInfo {
	var out []VesselInfo
	for _, v := range ni.Vessels {
		if nmproto.SameKey(key, v.OwnerKey) || slices.ContainsFunc(v.UserKeys, func(u string) bool { return nmproto.SameKey(key, u) }) {
			out = append(out, v)
		}
	}
	return out
}

// GetVessels returns the node's description: its version, name and key
// and every vessel on it with its owner and user keys. It is public and
// unsigned.
func (n *Node) GetVessels(ctx context.Context) (*NodeInfo, error) {
	body, err := n.call(ctx, nmproto.GetVessels, nil)
	if err != nil {
		return nil, err
	}
	p, err := nmproto.ParseGetVessels(body)
	if err != nil {
		return nil, &Error{Call: nmproto.GetVessels, Addr: n.addr, Text: n.c.redact(trimPrefix(err.Error())),
			Err: err, kinds: []error{ErrCommunication}}
	}
	info := &NodeInfo{Version: p.Version, Nodename: p.Name, NodeKey: p.Key}
	for _, v := range p.Vessels {
		info.Vessels = append(info.Vessels, VesselInfo{
			Name: v.Name, Status: v.Status, Advertise: v.Advertise,
			OwnerKey: v.OwnerKey, OwnerInfo: v.OwnerInfo, UserKeys: v.UserKeys,
		})
	}
	return info, nil
}

// Resources is a vessel's resource file (§4.3).
type Resources struct {
	Text      string // the file as the node sent it
	ConnPorts []int  // the "resource connport N" lines, in order
	MessPorts []int  // the "resource messport N" lines, in order
}

// Ports returns the ports the vessel may both listen on and connect from
// (connport ∩ messport), ascending: the clearinghouse's "usable ports",
// where the user's port is.
func (r *Resources) Ports() []int {
	var out []int
	for _, p := range r.ConnPorts {
		if slices.Contains(r.MessPorts, p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func parseResources(text string) *Resources {
	r := &Resources{Text: text}
	for rest := text; rest != ""; {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line, _, _ = strings.Cut(line, "#")
		if len(line) > 256 {
			continue // no resource line is that long
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "resource" {
			continue
		}
		p, err := strconv.Atoi(f[2])
		if err != nil || p < 1 || p > 65535 {
			continue
		}
		switch f[1] {
		case "connport":
			r.ConnPorts = append(r.ConnPorts, p)
		case "messport":
			r.MessPorts = append(r.MessPorts, p)
		}
	}
	return r
}

// GetVesselResources returns the named vessel's resource file. It is
// public and unsigned.
func (n *Node) GetVesselResources(ctx context.Context, vessel string) (*Resources, error) {
	body, err := n.call(ctx, nmproto.GetVesselResources, nil, vessel)
	if err != nil {
		return nil, err
	}
	return parseResources(body), nil
}

// GetOffcutResources returns the node's offcut resource text: what
// splitting a vessel costs. It is public and unsigned.
func (n *Node) GetOffcutResources(ctx context.Context) (string, error) {
	return n.call(ctx, nmproto.GetOffcutResources, nil)
}
