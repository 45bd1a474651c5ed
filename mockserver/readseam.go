package mockserver

import (
	"slices"
	"strconv"
	"strings"
)

// The read seam: everything the views (the status page, status.go, and
// the admin JSON's GET /admin/state, admin.go) learn about the state that
// the exported methods do not tell them. It is computed here, under the
// state lock, into plain values; the views format those values and never
// read a field or an index of the state themselves (TestViewsUseReadSeam
// holds them to it). Both views show the same counts because both get
// them from one function, state.stats.

// overview is one consistent reading for a view: the clock, the settings
// and the counts, all taken under the lock at the same instant.
type overview struct {
	now          int64   // the mock clock, Unix nanoseconds
	scale        float64 // see WithTimeScale
	cleanupDelay int64
	failureRate  float64
	seed         int64
	persistent   bool // the server has a state file
	stats        stats
}

// stats counts what the mock holds.
type stats struct {
	accounts, bannedAccounts int

	nodes, liveNodes           int // live: active and not broken
	inactiveNodes, brokenNodes int
	subnets                    int // /24 subnets with at least one node
	liveSubnets                int // subnets with a live node: how far a wan request can spread
	subnetsWithAvailable       int // subnets with an available vessel
	vessels                    vesselCounts

	// Nodes behind NAT, and their vessels: all, held and available.
	natNodes, natLiveNodes            int
	natVessels, natHeld, natAvailable int
}

// vesselCounts counts vessels by state; see VesselFilter.State.
type vesselCounts struct {
	total     int
	held      int // owned and not expired
	dirty     int // free and not yet cleaned
	available int
}

// free returns how many vessels have no owner, dirty ones included.
func (c vesselCounts) free() int { return c.total - c.held }

// overview takes the state lock once, applies the passage of time like
// every call, and returns the settings and counts (ErrClosed after Close).
// read, if not nil, runs under the same lock with the counts, so that what
// it reads of the seam (subnetRows, accountRows) matches them.
func (s *Server) overview(read func(st *state, c stats)) (overview, error) {
	var out overview
	err := s.update(func(st *state, now int64) error {
		out = overview{
			now: now, scale: s.clock.scale, cleanupDelay: st.cleanupDelay, failureRate: st.failRate,
			seed: st.seed, persistent: s.j != nil, stats: st.stats(),
		}
		if read != nil {
			read(st, out.stats)
		}
		return nil
	})
	return out, err
}

// stats counts the state: one pass over the accounts, the nodes, the held
// vessels (the expiry heap), the port groups and the subnets, and none over
// all vessels, so that the status page stays cheap with 100 000 nodes.
func (st *state) stats() stats {
	var c stats
	c.accounts = len(st.accounts)
	for _, a := range st.accounts {
		if !a.active {
			c.bannedAccounts++
		}
	}
	c.nodes = len(st.nodes)
	for i := range st.nodes {
		nd := &st.nodes[i]
		live := nd.usable()
		if live {
			c.liveNodes++
		}
		if !nd.active {
			c.inactiveNodes++
		}
		if nd.broken {
			c.brokenNodes++
		}
		if nd.nat {
			c.natNodes++
			c.natVessels += int(nd.count)
			if live {
				c.natLiveNodes++
			}
		}
	}
	c.vessels = vesselCounts{total: len(st.vessels), held: len(st.expiry.items), dirty: st.freeDirty}
	for _, it := range st.expiry.items {
		if st.nodes[st.vessels[it.v].node].nat {
			c.natHeld++
		}
	}
	for _, g := range st.groups {
		c.vessels.available += len(g.avail[wanClass]) + len(g.avail[natClass])
		c.natAvailable += len(g.avail[natClass])
	}
	c.liveSubnets = st.liveSubnets
	for i := range st.subnets {
		sn := &st.subnets[i]
		if len(sn.nodes) == 0 {
			continue
		}
		c.subnets++
		if len(sn.avail) > 0 {
			c.subnetsWithAvailable++
		}
	}
	return c
}

// subnetRow counts one subnet's nodes and vessels.
type subnetRow struct {
	name                              string // "a.b.c", the text before the last '.' of its addresses
	nodes, live, vessels, held, avail int
}

// subnetRows returns the rows of the non-empty subnets from the offset-th
// (0-based) on, at most limit of them, in address order. It walks the
// subnets in that order and stops at the end of the page.
func (st *state) subnetRows(offset, limit int) []subnetRow {
	var out []subnetRow
	k := 0
	for _, i := range st.subnetsByAddress() {
		sn := &st.subnets[i]
		if len(sn.nodes) == 0 {
			continue
		}
		k++
		if k <= offset {
			continue
		}
		if len(out) == limit {
			break
		}
		row := subnetRow{name: st.reportedSubnet(i), nodes: len(sn.nodes), live: int(sn.live)}
		for _, a := range sn.avail {
			row.avail += int(a.n)
		}
		for _, n := range sn.nodes {
			nd := &st.nodes[n]
			row.vessels += int(nd.count)
			for v := nd.first; v < nd.first+nd.count; v++ {
				if st.vessels[v].owner != noOne {
					row.held++
				}
			}
		}
		out = append(out, row)
	}
	return out
}

// subnetsByAddress returns the indexes of the state's subnets sorted by
// address, from a cache that stays valid while no subnet is added
// (subnets are only ever appended).
func (st *state) subnetsByAddress() []int32 {
	if len(st.subnetOrder) == len(st.subnets) {
		return st.subnetOrder
	}
	keys := make([]uint64, len(st.subnets))
	for i := range st.subnets {
		keys[i] = subnetKey(st.reportedSubnet(int32(i)))<<32 | uint64(i)
	}
	slices.Sort(keys)
	idx := make([]int32, len(keys))
	for i, k := range keys {
		idx[i] = int32(uint32(k))
	}
	st.subnetOrder = idx
	return idx
}

// subnetKey turns "a.b.c" into a number that sorts subnets by address.
// Names that are not three decimal octets sort last.
func subnetKey(name string) uint64 {
	var key uint64
	parts := 0
	for part := range strings.SplitSeq(name, ".") {
		n, err := strconv.ParseUint(part, 10, 8)
		if err != nil || parts == 3 {
			return 1 << 31
		}
		key = key<<8 | n
		parts++
	}
	if parts != 3 {
		return 1 << 31
	}
	return key
}

// accountRow is what a view may show of an account: no credential.
type accountRow struct {
	name, affiliation string
	port              int
	held, max         int // vessels held, credits
	donations         int
	banned            bool
	soonest           []heldVessel // the held vessels that expire first
	more              int          // held vessels not in soonest
}

// heldVessel is one held vessel of an accountRow. The vessel is named
// "v" + num; the view builds the name, outside the lock.
type heldVessel struct {
	nodeID, nodeIP string
	num            int
	expires        int64
	nodeUsable     bool
}

// accountRows returns the accounts from the offset-th (0-based) on, at
// most limit of them, in the order they were added, each with up to k of
// its vessels, those that expire first.
func (st *state) accountRows(offset, limit, k int) []accountRow {
	var out []accountRow
	for i := offset; i >= 0 && i < len(st.accounts) && len(out) < limit; i++ {
		a := st.accounts[i]
		row := accountRow{
			name: a.name, affiliation: a.affiliation, port: int(a.port),
			held: len(a.held), max: st.maxVessels(a), donations: len(a.donations), banned: !a.active,
		}
		soonest := st.soonestHeld(a, k)
		for _, v := range soonest {
			ves := &st.vessels[v]
			nd := &st.nodes[ves.node]
			row.soonest = append(row.soonest, heldVessel{
				nodeID: nd.id, nodeIP: st.reportedIP(ves.node), num: int(ves.num), expires: ves.expires, nodeUsable: nd.usable(),
			})
		}
		row.more = len(a.held) - len(soonest)
		out = append(out, row)
	}
	return out
}

// soonestHeld returns up to k of the account's vessels, those that expire
// first (ties by position), in one pass over its holdings.
func (st *state) soonestHeld(a *account, k int) []int32 {
	if k <= 0 {
		return nil
	}
	less := func(x, y int32) bool {
		tx, ty := st.vessels[x].expires, st.vessels[y].expires
		return tx < ty || tx == ty && x < y
	}
	top := make([]int32, 0, k)
	for v := range a.held {
		if len(top) == k && !less(v, top[k-1]) {
			continue
		}
		i := len(top)
		if i < k {
			top = append(top, v)
		} else {
			i = k - 1
		}
		for ; i > 0 && less(v, top[i-1]); i-- {
			top[i] = top[i-1]
		}
		top[i] = v
	}
	return top
}
