package mockserver

import (
	"crypto/rand"
	"encoding/binary"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Where the simulated node managers listen (docs/nodemanager-api.md §8.5).
//
// The population's addresses are public /24s. With node managers on, each
// subnet of the state (state.subnets, numbered in the order the subnets
// first appeared) is shown as a /24 of 127.0.0.0/8, keeping the host
// byte: subnet k is 127.p.q where p<<8|q = 1 + (base-1+k) mod 65535, base
// being the server's region, drawn at random when the server is made so
// that mocks running side by side rarely share an address. 127.0.0.0/24
// is never used. Distinct subnets therefore stay distinct, and nodes of
// one subnet share theirs, for the first 65 535 subnets; past that the
// numbering wraps, and subnet k shares its /24 with subnet k-65535.
//
// Where only 127.0.0.1 can be bound (macOS without aliases), every node
// is shown at 127.0.0.1 and listens on a port of its own that the system
// picks: the /24 structure is then not visible.

// loopbackSubnets is how many /24s of 127.0.0.0/8 the mapping uses: all
// but 127.0.0.0/24.
const loopbackSubnets = 1<<16 - 1

// nmAddressing is how a server shows node addresses with node managers
// on. It never changes after the server is made.
type nmAddressing struct {
	base     int  // the region: the /24 number of subnet 0, 1 to 65535
	loopOnly bool // only 127.0.0.1 can be bound
}

// newAddressing picks a region at random and finds out whether the
// machine can bind addresses of 127.0.0.0/8 other than 127.0.0.1 (it
// tries 127.0.0.2). forceLoopOnly pretends it cannot (tests).
func newAddressing(forceLoopOnly bool) nmAddressing {
	var b [8]byte
	rand.Read(b[:]) // crypto/rand.Read never fails
	a := nmAddressing{base: 1 + int(binary.LittleEndian.Uint64(b[:])%loopbackSubnets), loopOnly: forceLoopOnly}
	if !a.loopOnly {
		ln, err := net.Listen("tcp4", "127.0.0.2:0")
		if err != nil {
			a.loopOnly = true
		} else {
			ln.Close()
		}
	}
	return a
}

// subnet returns the /24 of 127.0.0.0/8 that shows subnet k, as "127.p.q".
func (a nmAddressing) subnet(k int32) string {
	q := 1 + (a.base-1+int(k))%loopbackSubnets
	return "127." + strconv.Itoa(q>>8) + "." + strconv.Itoa(q&0xff)
}

// subnetIndexes returns the subnet numbers below count that name (a
// "127.p.q" the mapping gives out) shows, and nil for any other name.
func (a nmAddressing) subnetIndexes(name string, count int) []int32 {
	if a.loopOnly {
		return nil
	}
	key := subnetKey(name)
	if key>>16 != 127 || key&0xffff == 0 {
		return nil
	}
	q := int(key & 0xffff)
	var out []int32
	for k := (q - a.base + loopbackSubnets) % loopbackSubnets; k < count; k += loopbackSubnets {
		out = append(out, int32(k))
	}
	return out
}

// nodeIP returns the address node n is shown at with node managers on:
// its subnet's loopback /24 and its own host byte, 127.0.0.1 where only
// that can be bound, or its address unchanged behind NAT (and for an
// address that has no subnet, which validIP never lets in).
func (st *state) nmNodeIP(n int32) string {
	nd := &st.nodes[n]
	if nd.nat || nd.subnet < 0 {
		return nd.ip
	}
	if st.nm.addr.loopOnly {
		return "127.0.0.1"
	}
	host := nd.ip[strings.LastIndexByte(nd.ip, '.')+1:]
	return st.nm.addr.subnet(nd.subnet) + "." + host
}

// reportedIP returns the address the mock gives for node n everywhere it
// shows one (the wire's node_ip, Node.IP, Vessel.NodeIP, the admin JSON,
// the status page): the stored address, or with node managers on the
// address its node manager listens at.
func (st *state) reportedIP(n int32) string {
	if st.nm == nil {
		return st.nodes[n].ip
	}
	return st.nmNodeIP(n)
}

// reportedPort returns the port the mock gives for node n: the stored
// port, or the port its node manager is bound to while it listens (which
// differs when the stored one was taken, and always where only 127.0.0.1
// can be bound).
func (st *state) reportedPort(n int32) int {
	if st.nm != nil {
		if p, ok := st.nm.bound[n]; ok {
			return p
		}
	}
	return int(st.nodes[n].port)
}

// reportedSubnet returns the name the views give subnet k: "a.b.c", or
// with node managers on "127.p.q" (unchanged where only 127.0.0.1 can be
// bound, for want of anything better to show).
func (st *state) reportedSubnet(k int32) string {
	if st.nm == nil || st.nm.addr.loopOnly {
		return st.subnets[k].name
	}
	return st.nm.addr.subnet(k)
}

// subnetsNamed returns the subnets a NodeFilter.Subnet names: the one whose
// stored name it is, and with node managers on those shown under it.
func (st *state) subnetsNamed(name string) []int32 {
	var out []int32
	if k, ok := st.subnetByKey[name]; ok {
		out = append(out, k)
	}
	if st.nm != nil {
		for _, k := range st.nm.addr.subnetIndexes(name, len(st.subnets)) {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}
