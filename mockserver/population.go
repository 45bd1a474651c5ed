package mockserver

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// PopulationConfig describes a generated population of nodes.
//
// Of the Nodes nodes, round(Nodes × NATFraction) sit behind NAT and have
// addresses "NAT$" followed by 16 hex digits. About a quarter of the others
// form LAN clusters of 8 to 16 nodes sharing a /24; every other node has a
// /24 of its own, so a WAN request can span as many subnets as there are
// such nodes. Node ids have the real "<e> <n>" form (e = 65537 and a
// 309-digit odd n between 2^1023 and 2^1024; they are not usable keys).
// Nearly all nodes listen on port 1224, a few on another port from the node
// manager's list. Every node gets the default vessel template (contract §7):
// vessels v2 to v9, where v(k+2) owns ports 63100+10k to 63109+10k (the
// extra vessel v1 is not a vessel record). The same configuration always
// gives the same nodes, ids, addresses and vessel names, in the same order.
type PopulationConfig struct {
	Nodes       int
	NATFraction float64
	Seed        int64
}

// MaxPopulation bounds PopulationConfig.Nodes. Generating the largest
// population takes about 7 seconds and 1 GB of memory (measured on a
// shared 2-core machine); 5 million took 48 seconds and 5 GB.
const MaxPopulation = 1_000_000

// ctxCheckEvery is how many nodes population generation builds between
// looks at its context.
const ctxCheckEvery = 4096

// stopped returns ctx's error when i, a long loop's count of nodes, is a
// multiple of ctxCheckEvery and ctx is done, and nil otherwise: the loop
// calls it on every round and looks at ctx only every ctxCheckEvery nodes.
func stopped(ctx context.Context, i int) error {
	if i%ctxCheckEvery != 0 {
		return nil
	}
	return ctx.Err()
}

func (p PopulationConfig) validate() error {
	if p.Nodes < 0 || p.Nodes > MaxPopulation {
		return fmt.Errorf("mockserver: population of %d nodes: must be between 0 and %d", p.Nodes, MaxPopulation)
	}
	if !(p.NATFraction >= 0 && p.NATFraction <= 1) {
		return fmt.Errorf("mockserver: NAT fraction %v: must be between 0 and 1", p.NATFraction)
	}
	return nil
}

// nodeManagerPorts are the ports a node manager tries, in order.
var nodeManagerPorts = [...]int{1224, 2888, 9625, 10348, 39303, 48126, 52862, 57344, 64310}

// defaultNodePort is the usual node manager port.
const defaultNodePort = 1224

// defaultTemplate is the §7 vessel template: v2..v9, each with ten ports.
func defaultTemplate() []mockapi.VesselSpec {
	out := make([]mockapi.VesselSpec, 8)
	for k := range out {
		ports := make([]int, 10)
		for i := range ports {
			ports[i] = userPortMin + 10*k + i
		}
		out[k] = mockapi.VesselSpec{Name: "v" + strconv.Itoa(k+2), Ports: ports}
	}
	return out
}

// builtVessel is a validated vessel definition: its number and port group.
type builtVessel struct {
	num   uint16
	group uint16
}

func (st *state) buildVessels(specs []mockapi.VesselSpec) []builtVessel {
	out := make([]builtVessel, len(specs))
	for i, v := range specs {
		num, _ := parseVesselName(v.Name)
		out[i] = builtVessel{num: num, group: uint16(st.internGroup(sortedPorts(v.Ports)))}
	}
	return out
}

// newGroups returns how many port sets the specs would add.
func (st *state) newGroups(specs []mockapi.NodeSpec) int {
	seen := map[string]bool{}
	for _, spec := range specs {
		for _, v := range spec.Vessels {
			key := groupKey(sortedPorts(v.Ports))
			if _, ok := st.groupKey[key]; !ok {
				seen[key] = true
			}
		}
	}
	return len(seen)
}

// addNodeRaw appends a node and its vessels without building any derived
// structure; the caller attaches or rebuilds. The caller has checked that
// the port sets fit (newGroups).
func (st *state) addNodeRaw(spec mockapi.NodeSpec) int32 {
	vs := spec.Vessels
	if vs == nil {
		vs = defaultTemplate()
	}
	return st.appendNode(spec.ID, spec.IP, spec.Port, !spec.Inactive, spec.Broken, st.buildVessels(vs))
}

func (st *state) appendNode(id, ip string, port int, active, broken bool, vessels []builtVessel) int32 {
	if port == 0 {
		port = defaultNodePort
	}
	n := int32(len(st.nodes))
	st.nodes = append(st.nodes, node{
		id: id, ip: ip, port: int32(port),
		first: int32(len(st.vessels)), count: int32(len(vessels)),
		donor: noOne, active: active, broken: broken, subnet: noOne,
	})
	for _, v := range vessels {
		st.vessels = append(st.vessels, vessel{
			node: n, owner: noOne, group: v.group, num: v.num, pos: -1, heap: -1,
		})
	}
	st.byID[id] = n
	return n
}

// generatePopulation adds the population and builds the indexes. It gives
// up with ctx's error once ctx is done, leaving st unusable.
func (st *state) generatePopulation(ctx context.Context, p PopulationConfig) error {
	if err := st.generatePopulationRaw(ctx, p); err != nil {
		return err
	}
	return st.rebuild(ctx)
}

// generatePopulationRaw appends the generated nodes (raw, see addNodeRaw).
// Changing anything here changes populations already saved in state
// files: bump populationVersion.
func (st *state) generatePopulationRaw(ctx context.Context, p PopulationConfig) error {
	st.population = p
	rng := rand.New(rand.NewPCG(uint64(p.Seed), 0x706f70756c617465))
	nat := int(math.Round(float64(p.Nodes) * p.NATFraction))
	wan := p.Nodes - nat

	ips := make([]string, 0, p.Nodes)
	used := map[uint32]bool{}
	prefix := func() string {
		for {
			a := 1 + rng.IntN(223)
			switch a {
			case 10, 100, 127, 169, 172, 192:
				continue
			}
			b, c := rng.IntN(256), rng.IntN(256)
			key := uint32(a)<<16 | uint32(b)<<8 | uint32(c)
			if used[key] {
				continue
			}
			used[key] = true
			return strconv.Itoa(a) + "." + strconv.Itoa(b) + "." + strconv.Itoa(c) + "."
		}
	}
	// Every loop looks at ctx every so often; none of the looks draws
	// from rng, so the population does not depend on them.
	clustered := 0
	for target, k := wan/4, 0; target-clustered >= 8; k++ {
		if err := stopped(ctx, 8*k); err != nil { // a cluster has 8 to 16 nodes
			return err
		}
		size := min(8+rng.IntN(9), target-clustered)
		pre := prefix()
		hosts := rng.Perm(254)[:size]
		for _, h := range hosts {
			ips = append(ips, pre+strconv.Itoa(h+1))
		}
		clustered += size
	}
	for i := range wan - clustered {
		if err := stopped(ctx, i); err != nil {
			return err
		}
		ips = append(ips, prefix()+strconv.Itoa(1+rng.IntN(254)))
	}
	for i := range nat {
		if err := stopped(ctx, i); err != nil {
			return err
		}
		ips = append(ips, natPrefix+fmt.Sprintf("%016x", rng.Uint64()))
	}
	// Shuffle cannot be stopped; once ctx is done its remaining swaps do
	// nothing, and only its random draws are left.
	swaps, cancelled := 0, false
	rng.Shuffle(len(ips), func(i, j int) {
		if cancelled {
			return
		}
		if swaps++; stopped(ctx, swaps) != nil {
			cancelled = true
			return
		}
		ips[i], ips[j] = ips[j], ips[i]
	})
	if cancelled {
		return ctx.Err()
	}

	template := st.buildVessels(defaultTemplate())
	st.byID = make(map[string]int32, len(ips))
	st.subnetByKey = make(map[string]int32, len(ips))
	st.vessels = make([]vessel, 0, len(ips)*len(template))
	st.nodes = make([]node, 0, len(ips))
	digits := make([]byte, 0, 320)
	for i, ip := range ips {
		if err := stopped(ctx, i); err != nil {
			return err
		}
		var id string
		for {
			digits = fakeModulus(rng, append(digits[:0], "65537 "...))
			id = string(digits)
			if _, dup := st.byID[id]; !dup {
				break
			}
		}
		port := defaultNodePort
		if rng.IntN(20) == 0 {
			port = nodeManagerPorts[1+rng.IntN(len(nodeManagerPorts)-1)]
		}
		n := st.appendNode(id, ip, port, true, false, template)
		st.nodes[n].generated = true
	}
	st.generated = len(st.nodes)
	return nil
}

// fakeModulus appends a random odd 309-digit decimal number in
// [1.0e308, 1.7e308), which has exactly 1024 bits.
func fakeModulus(rng *rand.Rand, dst []byte) []byte {
	dst = append(dst, '1', byte('0'+rng.IntN(7)))
	for remaining := 306; remaining > 0; {
		x := rng.Uint64()
		for i := 0; i < 19 && remaining > 0; i++ {
			dst = append(dst, byte('0'+x%10))
			x /= 10
			remaining--
		}
	}
	return append(dst, byte('1'+2*rng.IntN(5)))
}
