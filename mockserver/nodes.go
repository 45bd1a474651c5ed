package mockserver

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

func validIP(ip string) bool {
	if strings.HasPrefix(ip, natPrefix) {
		return true
	}
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Is4() && a.String() == ip
}

func sortedPorts(ports []int) []uint16 {
	out := make([]uint16, len(ports))
	for i, p := range ports {
		out[i] = uint16(p)
	}
	slices.Sort(out)
	return out
}

func validateNodeSpec(spec *mockapi.NodeSpec) error {
	if strings.Contains(spec.ID, ":") {
		return invalidf("node id %q contains ':'", spec.ID)
	}
	if !validIP(spec.IP) {
		return invalidf("node IP %q: want a dotted IPv4 address or NAT$...", spec.IP)
	}
	if spec.Port < 0 || spec.Port > 65535 {
		return invalidf("node port %d out of range", spec.Port)
	}
	names := map[uint16]bool{}
	ports := map[int]bool{}
	for _, v := range spec.Vessels {
		num, ok := parseVesselName(v.Name)
		if !ok {
			return invalidf("vessel name %q: want v followed by a decimal number up to %d", v.Name, maxVesselNumber)
		}
		if names[num] {
			return invalidf("vessel %s appears twice", v.Name)
		}
		names[num] = true
		if len(v.Ports) < 1 || len(v.Ports) > 10 {
			return invalidf("vessel %s: want 1 to 10 ports, have %d", v.Name, len(v.Ports))
		}
		for _, p := range v.Ports {
			if p < 1 || p > 65535 {
				return invalidf("vessel %s: port %d out of range", v.Name, p)
			}
			if ports[p] {
				return invalidf("vessel %s: port %d is already used on this node", v.Name, p)
			}
			ports[p] = true
		}
	}
	return nil
}

// AddNode adds one node and returns it.
func (s *Server) AddNode(spec mockapi.NodeSpec) (mockapi.Node, error) {
	nodes, err := s.AddNodes([]mockapi.NodeSpec{spec})
	if err != nil {
		return mockapi.Node{}, err
	}
	return nodes[0], nil
}

// AddNodes adds several nodes at once: all of them or, on error, none.
func (s *Server) AddNodes(specs []mockapi.NodeSpec) ([]mockapi.Node, error) {
	for i := range specs {
		if err := validateNodeSpec(&specs[i]); err != nil {
			return nil, err
		}
	}
	var out []mockapi.Node
	err := s.update(func(st *state, now int64) error {
		if len(st.groups)+st.newGroups(specs) > maxGroups {
			return invalidf("more than %d distinct vessel port sets", maxGroups)
		}
		seen := map[string]bool{}
		for _, spec := range specs {
			if spec.ID == "" {
				continue
			}
			if _, dup := st.byID[spec.ID]; dup || seen[spec.ID] {
				return existsf("node %q already exists", spec.ID)
			}
			seen[spec.ID] = true
		}
		for _, spec := range specs {
			if spec.ID == "" {
				for {
					spec.ID = string(fakeModulus(st.rng, []byte("65537 ")))
					if _, dup := st.byID[spec.ID]; !dup && !seen[spec.ID] {
						break
					}
				}
			}
			n := st.addNodeRaw(spec)
			st.attach(n)
			st.touchNewNode(n)
			out = append(out, st.exportNode(n, now))
		}
		return nil
	})
	return out, err
}

func (st *state) lookupNode(id string) (int32, error) {
	n, ok := st.byID[id]
	if !ok {
		return 0, notFoundf("no node %q", shorten(id))
	}
	return n, nil
}

// shorten keeps 1024-bit node ids readable in error messages.
func shorten(id string) string {
	if len(id) <= 40 {
		return id
	}
	return id[:20] + "..." + id[len(id)-12:]
}

func (st *state) exportNode(n int32, now int64) mockapi.Node {
	nd := &st.nodes[n]
	out := mockapi.Node{
		ID: nd.id, IP: st.reportedIP(n), Port: st.reportedPort(n), Active: nd.active, Broken: nd.broken,
		Failure: mockapi.Failure{Always: nd.fail, Next: int(nd.failNext)},
	}
	if nd.donor != noOne {
		out.Donor = st.accounts[nd.donor].name
	}
	for v := nd.first; v < nd.first+nd.count; v++ {
		out.Vessels = append(out.Vessels, st.exportVessel(v))
	}
	return out
}

func (st *state) exportVessel(v int32) mockapi.Vessel {
	ves := &st.vessels[v]
	nd := &st.nodes[ves.node]
	out := mockapi.Vessel{
		Handle: st.handle(v), NodeID: nd.id, Name: ves.name(), NodeIP: st.reportedIP(ves.node),
		NodePort: st.reportedPort(ves.node), NodeActive: nd.active, NodeBroken: nd.broken,
		Dirty: ves.dirty, Available: ves.pos >= 0,
	}
	for _, p := range st.groups[ves.group].ports {
		out.Ports = append(out.Ports, int(p))
	}
	if start, owned := ves.leaseStart(); owned {
		out.Owner = st.accounts[ves.owner].name
		out.Acquired, out.Expires = toTime(start), toTime(ves.expires)
	}
	if at, dirty := ves.dirtySince(); dirty {
		out.DirtySince = toTime(at)
	}
	return out
}

// Node returns a copy of the node with the given id.
func (s *Server) Node(id string) (mockapi.Node, error) {
	var out mockapi.Node
	err := s.update(func(st *state, now int64) error {
		n, err := st.lookupNode(id)
		if err != nil {
			return err
		}
		out = st.exportNode(n, now)
		return nil
	})
	return out, err
}

// NodeFilter selects nodes for Nodes.
type NodeFilter struct {
	Subnet string // only nodes whose IP starts with Subnet + "." (e.g. "128.208.4")
	NAT    bool   // only nodes behind NAT
	Offset int    // skip this many matching nodes
	Limit  int    // return at most this many; 0 means no limit
}

// Nodes returns copies of the nodes the filter selects, in the order they
// were added, and the number of nodes that match in all.
func (s *Server) Nodes(f NodeFilter) (nodes []mockapi.Node, total int, err error) {
	err = s.update(func(st *state, now int64) error {
		var match []int32
		switch {
		case f.Subnet != "":
			for _, sn := range st.subnetsNamed(f.Subnet) {
				match = append(match, st.subnets[sn].nodes...)
			}
			slices.Sort(match)
		case f.NAT:
			for n := range st.nodes {
				if st.nodes[n].nat {
					match = append(match, int32(n))
				}
			}
		default:
			total = len(st.nodes)
			lo, hi := page(total, f.Offset, f.Limit)
			for n := lo; n < hi; n++ {
				nodes = append(nodes, st.exportNode(int32(n), now))
			}
			return nil
		}
		total = len(match)
		lo, hi := page(total, f.Offset, f.Limit)
		for _, n := range match[lo:hi] {
			nodes = append(nodes, st.exportNode(n, now))
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return nodes, total, nil
}

func page(total, offset, limit int) (lo, hi int) {
	lo = min(max(offset, 0), total)
	hi = total
	if limit > 0 && limit < hi-lo {
		hi = lo + limit
	}
	return lo, hi
}

// SetNodeActive takes a node offline or brings it back. Vessels on an
// inactive node cannot be acquired; vessels already held stay held (and
// show is_active false); donations on it stop counting for credits.
func (s *Server) SetNodeActive(id string, active bool) error {
	return s.changeNode(id, func(nd *node) { nd.active = active })
}

// SetNodeBroken marks a node broken or repaired. A broken node's vessels
// are not offered by acquire_resources, and its donations stop counting.
func (s *Server) SetNodeBroken(id string, broken bool) error {
	return s.changeNode(id, func(nd *node) { nd.broken = broken })
}

// SetNodeIP changes a node's address (a dotted IPv4 address or NAT$...),
// moving it to another subnet or behind NAT.
func (s *Server) SetNodeIP(id, ip string) error {
	if !validIP(ip) {
		return invalidf("node IP %q: want a dotted IPv4 address or NAT$...", ip)
	}
	return s.changeNode(id, func(nd *node) { nd.ip = ip })
}

func (s *Server) changeNode(id string, change func(*node)) error {
	return s.update(func(st *state, now int64) error {
		n, err := st.lookupNode(id)
		if err != nil {
			return err
		}
		st.updateNode(n, change)
		return nil
	})
}

// AddDonation records that the account donated the node. A node carries at
// most one donation; each donation on an active, non-broken node adds 10
// credits to the donor.
func (s *Server) AddDonation(nodeID, username string) error {
	return s.update(func(st *state, now int64) error {
		n, err := st.lookupNode(nodeID)
		if err != nil {
			return err
		}
		a, err := st.lookupAccount(username)
		if err != nil {
			return err
		}
		if st.nodes[n].donor != noOne {
			return existsf("node %q already has a donation", shorten(nodeID))
		}
		st.updateNode(n, func(nd *node) { nd.donor = a })
		st.accounts[a].donations = append(st.accounts[a].donations, n)
		return nil
	})
}

// RemoveDonation removes the node's donation, if any.
func (s *Server) RemoveDonation(nodeID string) error {
	return s.update(func(st *state, now int64) error {
		n, err := st.lookupNode(nodeID)
		if err != nil {
			return err
		}
		a := st.nodes[n].donor
		if a == noOne {
			return nil
		}
		st.updateNode(n, func(nd *node) { nd.donor = noOne })
		acc := st.accounts[a]
		acc.donations = slices.DeleteFunc(acc.donations, func(m int32) bool { return m == n })
		return nil
	})
}

// InjectFailure sets which acquisition attempts on the node fail,
// replacing its previous setting; Failure{} removes it. An attempt is one
// vessel tried by acquire_resources or acquire_specific_vessels; attempts
// on vessels that are already held or on inactive nodes fail anyway and do
// not count.
func (s *Server) InjectFailure(nodeID string, f mockapi.Failure) error {
	if f.Next < 0 || f.Next > 1<<30 {
		return invalidf("failure count %d out of range", f.Next)
	}
	return s.update(func(st *state, now int64) error {
		n, err := st.lookupNode(nodeID)
		if err != nil {
			return err
		}
		nd := &st.nodes[n]
		nd.fail, nd.failNext, nd.generated = f.Always, int32(f.Next), false
		st.touchNode(n)
		return nil
	})
}

// injectFailureFunc makes every acquisition attempt for which fail returns
// true fail; nil removes it. fail runs with the server's lock held and must
// not call the Server. It is not saved in the state file. (The package's
// tests use it to watch and steer the attempts.)
func (s *Server) injectFailureFunc(fail func(nodeID, vesselName string) bool) error {
	return s.update(func(st *state, now int64) error {
		st.failFunc = fail
		return nil
	})
}

// SetAcquireFailureRate makes every acquisition attempt fail with
// probability p (0 ≤ p ≤ 1), drawn from the seeded random source.
func (s *Server) SetAcquireFailureRate(p float64) error {
	if !(p >= 0 && p <= 1) {
		return invalidf("acquire failure rate %v: must be between 0 and 1", p)
	}
	return s.update(func(st *state, now int64) error {
		st.failRate = p
		return nil
	})
}

// ClearFailures removes every injected failure: per node, by function and
// by rate. With a state file it fails, changing nothing, if the nodes'
// change cannot be written.
func (s *Server) ClearFailures() error {
	return s.update(func(st *state, now int64) error {
		for n := range st.nodes {
			if nd := &st.nodes[n]; nd.fail || nd.failNext != 0 {
				nd.fail, nd.failNext, nd.generated = false, 0, false
				st.touchNode(int32(n))
			}
		}
		st.failFunc = nil
		st.failRate = 0
		return nil
	})
}
