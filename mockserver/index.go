package mockserver

import (
	"math/rand/v2"
	"slices"
)

// The availability index. acquire_resources must not cost more with
// 100 000 nodes than with 1 000, so nothing in it walks the population.
//
// Vessels are grouped by port set (every default vessel vK shares its set
// with the vK of every other node, so there are a handful of groups). For
// each group the index keeps the available vessels in two unordered lists,
// one for vessels on NAT nodes and one for the rest, with each vessel
// remembering its position so it can be removed in O(1). For the non-NAT
// list it also keeps, per subnet, how many available vessels it holds (in
// a short list on the subnet), and buckets of subnets by that count. From
// these:
//
//   - random and nat draw K vessels uniformly without replacement from the
//     lists of the groups holding the user's port (a sparse Fisher-Yates
//     shuffle that touches only the positions it draws);
//   - wan knows the number of distinct subnets at once, and draws vessels
//     in random order until it has K subnets;
//   - lan draws up to 10 subnets uniformly from the buckets with at least n
//     vessels, and only then lists those subnets' vessels.
//
// A port that belongs to more than one group (only possible with custom
// vessel port sets) takes a slower path for wan and lan that merges the
// groups' subnet counts.

const (
	wanClass = 0 // vessels on nodes with an IP address
	natClass = 1 // vessels on nodes behind NAT
)

// portGroup is the set of vessels that share one port set.
type portGroup struct {
	ports []uint16  // sorted
	user  [2]uint64 // bit p-userPortMin is set for each user port in ports

	avail   [2][]availEntry // available vessels by class
	buckets [][]int32       // buckets[c]: subnets with exactly c available non-NAT vessels
	nsubs   int             // subnets with at least one
}

// availEntry is an available vessel and, so that a WAN walk need not
// look at the vessel and its node, the node's subnet.
type availEntry struct {
	v, sub int32
}

// subnetAvail counts the available vessels of one port group in one
// subnet. Each subnet keeps a short list of them, one per group present.
type subnetAvail struct {
	group uint16
	n     int32 // available vessels
	pos   int32 // position of the subnet in the group's buckets[n]
}

func newPortGroup(ports []uint16) *portGroup {
	g := &portGroup{ports: ports}
	for _, p := range ports {
		if p >= userPortMin && p <= userPortMax {
			i := p - userPortMin
			g.user[i/64] |= 1 << (i % 64)
		}
	}
	return g
}

func (g *portGroup) reset() {
	g.avail[0] = g.avail[0][:0]
	g.avail[1] = g.avail[1][:0]
	g.buckets = g.buckets[:0]
	g.nsubs = 0
}

func (g *portGroup) hasUserPort(p int) bool {
	if p < userPortMin || p > userPortMax {
		return false
	}
	i := p - userPortMin
	return g.user[i/64]&(1<<(i%64)) != 0
}

// find returns the index of the group's entry in the subnet's list, or -1.
func (sn *subnet) find(g uint16) int {
	for i := range sn.avail {
		if sn.avail[i].group == g {
			return i
		}
	}
	return -1
}

// addSub changes the count of group g's available vessels in subnet s by
// delta, moving the subnet between the group's buckets.
func (st *state) addSub(g uint16, s int32, delta int32) {
	grp := st.groups[g]
	sn := &st.subnets[s]
	i := sn.find(g)
	e := subnetAvail{group: g}
	if i >= 0 {
		e = sn.avail[i]
	}
	if e.n > 0 {
		b := grp.buckets[e.n]
		last := len(b) - 1
		if int(e.pos) != last {
			moved := b[last]
			b[e.pos] = moved
			ms := &st.subnets[moved]
			ms.avail[ms.find(g)].pos = e.pos
		}
		grp.buckets[e.n] = b[:last]
		grp.nsubs--
	}
	e.n += delta
	if e.n <= 0 {
		if i >= 0 {
			last := len(sn.avail) - 1
			sn.avail[i] = sn.avail[last]
			sn.avail = sn.avail[:last]
		}
		return
	}
	for int(e.n) >= len(grp.buckets) {
		grp.buckets = append(grp.buckets, nil)
	}
	e.pos = int32(len(grp.buckets[e.n]))
	grp.buckets[e.n] = append(grp.buckets[e.n], s)
	grp.nsubs++
	switch {
	case i >= 0:
		sn.avail[i] = e
	case sn.avail == nil:
		sn.avail = make([]subnetAvail, 1, min(len(st.groups), 8))
		sn.avail[0] = e
	default:
		sn.avail = append(sn.avail, e)
	}
}

// internGroup returns the index of the group for a port set (sorted).
func (st *state) internGroup(ports []uint16) int32 {
	key := groupKey(ports)
	if i, ok := st.groupKey[key]; ok {
		return i
	}
	if len(st.groups) >= maxGroups {
		panic("mockserver: too many vessel port sets") // callers check newGroups first
	}
	i := int32(len(st.groups))
	g := newPortGroup(slices.Clone(ports))
	st.groups = append(st.groups, g)
	st.groupKey[key] = i
	for p := userPortMin; p <= userPortMax; p++ {
		if g.hasUserPort(p) {
			st.portGroups[p-userPortMin] = append(st.portGroups[p-userPortMin], i)
		}
	}
	return i
}

func groupKey(ports []uint16) string {
	key := make([]byte, 0, 2*len(ports))
	for _, p := range ports {
		key = append(key, byte(p>>8), byte(p))
	}
	return string(key)
}

// index adds vessel v to the availability index if it is available and
// not already there.
func (st *state) index(v int32) {
	ves := &st.vessels[v]
	if ves.pos >= 0 || !st.available(ves) {
		return
	}
	nd := &st.nodes[ves.node]
	g := st.groups[ves.group]
	class := wanClass
	if nd.nat {
		class = natClass
	}
	ves.pos = int32(len(g.avail[class]))
	g.avail[class] = append(g.avail[class], availEntry{v, nd.subnet})
	if !nd.nat && nd.subnet >= 0 {
		st.addSub(ves.group, nd.subnet, 1)
	}
}

// unindex removes vessel v from the availability index if it is there. It
// must run before anything that changes the node's NAT flag or subnet.
func (st *state) unindex(v int32) {
	ves := &st.vessels[v]
	if ves.pos < 0 {
		return
	}
	nd := &st.nodes[ves.node]
	g := st.groups[ves.group]
	class := wanClass
	if nd.nat {
		class = natClass
	}
	list := g.avail[class]
	last := int32(len(list) - 1)
	moved := list[last]
	list[ves.pos] = moved
	st.vessels[moved.v].pos = ves.pos
	g.avail[class] = list[:last]
	ves.pos = -1
	if !nd.nat && nd.subnet >= 0 {
		st.addSub(ves.group, nd.subnet, -1)
	}
}

// groupsFor returns the groups whose port set holds user port p.
func (st *state) groupsFor(p int) []int32 {
	if p < userPortMin || p > userPortMax {
		return nil
	}
	return st.portGroups[p-userPortMin]
}

// availableLists returns the available-vessel lists for port p in the
// given classes.
func (st *state) availableLists(p int, classes ...int) (lists [][]availEntry, total int) {
	for _, gi := range st.groupsFor(p) {
		g := st.groups[gi]
		for _, c := range classes {
			if l := g.avail[c]; len(l) > 0 {
				lists = append(lists, l)
				total += len(l)
			}
		}
	}
	return lists, total
}

// wanSubnetCount returns the number of distinct subnets holding an
// available non-NAT vessel with port p.
func (st *state) wanSubnetCount(p int) int {
	gs := st.groupsFor(p)
	switch len(gs) {
	case 0:
		return 0
	case 1:
		return st.groups[gs[0]].nsubs
	}
	return len(st.mergedSubnetCounts(gs))
}

func (st *state) mergedSubnetCounts(gs []int32) map[int32]int32 {
	m := map[int32]int32{}
	for _, gi := range gs {
		g := st.groups[gi]
		for c := 1; c < len(g.buckets); c++ {
			for _, s := range g.buckets[c] {
				m[s] += int32(c)
			}
		}
	}
	return m
}

// lanSubnets returns up to max subnets, in random order, chosen uniformly
// among those with at least n available non-NAT vessels with port p.
func (st *state) lanSubnets(p, n, max int) []int32 {
	gs := st.groupsFor(p)
	var lists [][]int32
	total := 0
	switch len(gs) {
	case 0:
		return nil
	case 1:
		g := st.groups[gs[0]]
		for c := n; c < len(g.buckets); c++ {
			if len(g.buckets[c]) > 0 {
				lists = append(lists, g.buckets[c])
				total += len(g.buckets[c])
			}
		}
	default:
		var q []int32
		for s, c := range st.mergedSubnetCounts(gs) {
			if int(c) >= n {
				q = append(q, s)
			}
		}
		slices.Sort(q) // map order is not seeded; keep results reproducible
		lists, total = [][]int32{q}, len(q)
	}
	smp := newSampler(st.rng, lists, total)
	var out []int32
	for len(out) < max {
		s, ok := smp.next()
		if !ok {
			break
		}
		out = append(out, s)
	}
	return out
}

// subnetCandidates returns the available vessels with port p on the
// subnet's nodes, in random order.
func (st *state) subnetCandidates(s int32, p int) []int32 {
	var out []int32
	for _, n := range st.subnets[s].nodes {
		nd := &st.nodes[n]
		for v := nd.first; v < nd.first+nd.count; v++ {
			ves := &st.vessels[v]
			if ves.pos >= 0 && st.groups[ves.group].hasUserPort(p) {
				out = append(out, v)
			}
		}
	}
	st.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// sampler draws elements uniformly at random without replacement from the
// concatenation of some lists, without copying or shuffling them: it runs a
// Fisher-Yates shuffle over virtual positions and remembers only the
// positions it has disturbed. The lists must not change while it is used.
type sampler[T any] struct {
	rng   *rand.Rand
	lists [][]T
	total int
	drawn int
	moved map[int]int // virtual position -> position of the element now there
}

func newSampler[T any](rng *rand.Rand, lists [][]T, total int) *sampler[T] {
	return &sampler[T]{rng: rng, lists: lists, total: total}
}

func (s *sampler[T]) next() (T, bool) {
	if s.drawn >= s.total {
		var zero T
		return zero, false
	}
	j := s.drawn + s.rng.IntN(s.total-s.drawn)
	pick := s.get(j)
	if j != s.drawn {
		if s.moved == nil {
			s.moved = map[int]int{}
		}
		s.moved[j] = s.get(s.drawn)
	}
	s.drawn++
	return s.at(pick), true
}

func (s *sampler[T]) get(i int) int {
	if m, ok := s.moved[i]; ok {
		return m
	}
	return i
}

func (s *sampler[T]) at(i int) T {
	for _, l := range s.lists {
		if i < len(l) {
			return l[i]
		}
		i -= len(l)
	}
	panic("mockserver: sampler position out of range")
}

// vheap is a min-heap of vessels by key. Each vessel's position is kept in
// vessel.heap; a vessel is in at most one heap at a time.
type vheap struct {
	items []heapItem
}

type heapItem struct {
	key int64
	v   int32
}

func (st *state) push(h *vheap, v int32, key int64) {
	h.items = append(h.items, heapItem{key, v})
	i := len(h.items) - 1
	st.vessels[v].heap = int32(i)
	st.up(h, i)
}

func (st *state) remove(h *vheap, v int32) {
	i := int(st.vessels[v].heap)
	last := len(h.items) - 1
	if i != last {
		st.swap(h, i, last)
	}
	h.items = h.items[:last]
	st.vessels[v].heap = -1
	if i != last && !st.down(h, i) {
		st.up(h, i)
	}
}

func (st *state) fix(h *vheap, v int32, key int64) {
	i := int(st.vessels[v].heap)
	h.items[i].key = key
	if !st.down(h, i) {
		st.up(h, i)
	}
}

func (st *state) swap(h *vheap, i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	st.vessels[h.items[i].v].heap = int32(i)
	st.vessels[h.items[j].v].heap = int32(j)
}

func (st *state) up(h *vheap, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h.items[p].key <= h.items[i].key {
			return
		}
		st.swap(h, i, p)
		i = p
	}
}

func (st *state) down(h *vheap, i int) bool {
	start := i
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h.items[r].key < h.items[l].key {
			c = r
		}
		if h.items[i].key <= h.items[c].key {
			break
		}
		st.swap(h, i, c)
		i = c
	}
	return i > start
}
