package mockserver

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

const (
	// userPortMin and userPortMax bound the user ports (contract §7).
	userPortMin  = 63100
	userPortMax  = 63179
	numUserPorts = userPortMax - userPortMin + 1

	// DefaultFreeCredits is the free vessel credits of a new account.
	DefaultFreeCredits = 10
	creditsPerDonation = 10

	// AcquireLease and RenewLease are how long a vessel is held after an
	// acquisition and after a renewal (contract §9).
	AcquireLease = 4 * time.Hour
	RenewLease   = 7 * 24 * time.Hour

	natPrefix = "NAT$"
	noOne     = -1
)

// account is one user. Its index in state.accounts never changes.
type account struct {
	name        string
	password    string
	apiKey      string
	pubKey      string // stored verbatim, as set_public_key received it
	privKey     string // "" when the clearinghouse does not know it
	affiliation string
	port        int32
	free        int
	active      bool

	// Derived from the vessels and nodes (rebuilt on load).
	held      map[int32]struct{} // vessels owned and not expired
	donations []int32            // donated nodes
}

// node is one node manager. Its vessels are state.vessels[first:first+count].
type node struct {
	id       string
	ip       string
	port     int32
	first    int32
	count    int32
	donor    int32 // account index, or noOne
	failNext int32 // the next failNext acquisition attempts fail
	active   bool
	broken   bool
	fail     bool // every acquisition attempt fails
	// generated is true for a node made by the population generator that
	// no control has changed since; a snapshot then need not store it.
	generated bool

	// Derived from ip.
	nat    bool
	subnet int32 // index into state.subnets, or noOne behind NAT
}

// vessel is one vessel record, kept small: a population of 100 000 nodes
// has 800 000 of them. It takes 40 bytes (TestVesselSize), which is why
// one field, since, holds the start of whichever state the vessel is in
// rather than one field per state; read it through leaseStart and
// dirtySince, and change the times only through lease, makeDirty and
// makeClean.
type vessel struct {
	// since is when the vessel entered its current state: for an owned
	// vessel the start of its lease (its acquisition or last renewal:
	// Vessel.Acquired), for a free dirty vessel the instant it became
	// dirty (Vessel.DirtySince), and 0 for a free clean vessel.
	since int64
	// expires is when the lease of an owned vessel runs out
	// (date_expires); 0 for a free vessel.
	expires int64
	node    int32
	owner   int32 // account index, or noOne

	// Derived.
	pos  int32 // position in its group's available list, or -1
	heap int32 // position in state.expiry (owned) or state.cleanup (dirty), or -1

	group uint16 // index into state.groups: the vessel's port set
	num   uint16 // the vessel is named "v" + num
	dirty bool
}

// maxGroups bounds the number of distinct vessel port sets, and
// maxVesselNumber the N of a vessel name vN, so both fit in a uint16.
const (
	maxGroups       = 1 << 16
	maxVesselNumber = 1<<16 - 1
)

func (v *vessel) name() string { return "v" + strconv.Itoa(int(v.num)) }

// leaseStart returns when the lease of an owned vessel began (its
// acquisition or last renewal), and false for a free vessel.
func (v *vessel) leaseStart() (int64, bool) { return v.since, v.owner != noOne }

// dirtySince returns when a free dirty vessel became dirty, and false for
// an owned or a clean one.
func (v *vessel) dirtySince() (int64, bool) { return v.since, v.owner == noOne && v.dirty }

// lease records a lease from start to end; the caller sets the owner. A
// dirty vessel taken by acquire_specific_vessels stays dirty.
func (v *vessel) lease(start, end int64) { v.since, v.expires = start, end }

// makeDirty records that the vessel, now free, became dirty at at.
func (v *vessel) makeDirty(at int64) { v.since, v.expires, v.dirty = at, 0, true }

// makeClean records that the free vessel has been cleaned.
func (v *vessel) makeClean() { v.since, v.dirty = 0, false }

// subnet is the set of non-NAT nodes whose IP shares the text before the
// last '.'.
type subnet struct {
	name  string
	nodes []int32       // every non-NAT node in it, whatever its state
	live  int32         // those that are active and not broken
	avail []subnetAvail // available vessels here, per port group (index.go)
}

// changes records what a call changed, for the journal. It is nil when the
// server has no state file.
type changes struct {
	vessels  map[int32]struct{}
	nodes    map[int32]bool // true if the node was added
	accounts map[int32]struct{}
	// The node managers' changes (nmpersist.go): vessels whose state
	// changed, those whose files were all removed, files written or
	// deleted.
	nm      map[int32]struct{}
	nmReset map[int32]struct{}
	nmFiles map[nmFileKey]struct{}
	// full asks for a snapshot record instead of a delta: after Reset,
	// and after the clock is set or advanced (expiries it caused are not
	// journaled and might not be derivable again on load) or rescaled
	// (so that a record holds the clock a rollback returns to).
	full bool
}

func newChanges() *changes {
	return &changes{
		vessels:  map[int32]struct{}{},
		nodes:    map[int32]bool{},
		accounts: map[int32]struct{}{},
		nm:       map[int32]struct{}{},
	}
}

func (c *changes) empty() bool {
	return !c.full && len(c.vessels) == 0 && len(c.nodes) == 0 && len(c.accounts) == 0 && len(c.nm) == 0
}

// state is everything a Server knows. It is guarded by Server.mu; nothing
// in it is safe for concurrent use.
type state struct {
	accounts []*account
	byName   map[string]int32
	nodes    []node
	byID     map[string]int32
	vessels  []vessel
	groups   []*portGroup
	groupKey map[string]int32
	// portGroups[p-userPortMin] lists the groups whose port set holds p.
	portGroups  [numUserPorts][]int32
	subnets     []subnet
	subnetByKey map[string]int32
	liveSubnets int // subnets with at least one live node
	// subnetOrder caches the subnets' indexes sorted by address
	// (subnetsByAddress); it is stale when its length differs.
	subnetOrder []int32

	expiry    vheap // owned vessels by date_expires
	cleanup   vheap // dirty, unowned vessels on usable nodes by dirty_since
	freeDirty int   // vessels without an owner that are dirty

	population PopulationConfig // what the generated nodes came from
	generated  int              // nodes[:generated] came from the generator

	cleanupDelay int64
	rng          *rand.Rand
	seed         int64
	failRate     float64
	failFunc     func(nodeID, vesselName string) bool

	changes  *changes
	deriving bool // changes follow from the clock: not journaled

	// The behaviour report's hooks (watch.go), set by Server.locked:
	// watch hears of leases that run out, and authed is the account the
	// call in progress authenticated as, or noOne.
	watch  *watch
	authed int32

	// nm is the node managers' part (nmstate.go), nil when they are off.
	nm *nmState
}

func newState(seed int64) *state {
	return &state{
		byName:      map[string]int32{},
		byID:        map[string]int32{},
		groupKey:    map[string]int32{},
		subnetByKey: map[string]int32{},
		rng:         newRand(seed),
		seed:        seed,
		authed:      noOne,
	}
}

func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x636c656172696e67))
}

func (st *state) touchVessel(v int32) {
	if st.changes != nil && !st.deriving {
		st.changes.vessels[v] = struct{}{}
	}
}

func (st *state) touchNode(n int32) {
	if st.changes != nil && !st.deriving {
		if _, ok := st.changes.nodes[n]; !ok {
			st.changes.nodes[n] = false
		}
	}
}

func (st *state) touchNewNode(n int32) {
	if st.changes != nil {
		st.changes.nodes[n] = true
	}
}

func (st *state) touchAccount(a int32) {
	if st.changes != nil {
		st.changes.accounts[a] = struct{}{}
	}
}

// usable reports whether vessels on the node can be acquired through
// acquire_resources and cleaned: active and not broken.
func (n *node) usable() bool { return n.active && !n.broken }

// available reports whether acquire_resources may hand the vessel out
// (ignoring ports): no owner, clean, on a usable node (contract §8).
func (st *state) available(v *vessel) bool {
	return v.owner == noOne && !v.dirty && st.nodes[v.node].usable()
}

// subnetOf returns the text before the last '.', and false if there is none.
func subnetOf(ip string) (string, bool) {
	i := strings.LastIndexByte(ip, '.')
	if i < 0 {
		return "", false
	}
	return ip[:i], true
}

func (st *state) internSubnet(name string) int32 {
	if i, ok := st.subnetByKey[name]; ok {
		return i
	}
	i := int32(len(st.subnets))
	st.subnets = append(st.subnets, subnet{name: name})
	st.subnetByKey[name] = i
	return i
}

// setLive adds sign to the live count of the node's subnet if the node is
// live (active, not broken, not behind NAT).
func (st *state) setLive(n int32, sign int32) {
	nd := &st.nodes[n]
	if nd.nat || nd.subnet < 0 || !nd.usable() {
		return
	}
	sn := &st.subnets[nd.subnet]
	before := sn.live > 0
	sn.live += sign
	switch after := sn.live > 0; {
	case after && !before:
		st.liveSubnets++
	case before && !after:
		st.liveSubnets--
	}
}

// placeNode derives the node's NAT flag and subnet from its IP and adds it
// to the subnet's member list.
func (st *state) placeNode(n int32) {
	nd := &st.nodes[n]
	nd.nat = strings.HasPrefix(nd.ip, natPrefix)
	nd.subnet = noOne
	if nd.nat {
		return
	}
	name, ok := subnetOf(nd.ip)
	if !ok {
		return
	}
	nd.subnet = st.internSubnet(name)
	sn := &st.subnets[nd.subnet]
	sn.nodes = append(sn.nodes, n)
}

// unplaceNode removes the node from its subnet's member list.
func (st *state) unplaceNode(n int32) {
	nd := &st.nodes[n]
	if nd.subnet < 0 {
		return
	}
	sn := &st.subnets[nd.subnet]
	for i, m := range sn.nodes {
		if m == n {
			last := len(sn.nodes) - 1
			sn.nodes[i] = sn.nodes[last]
			sn.nodes = sn.nodes[:last]
			break
		}
	}
	nd.subnet = noOne
}

// attach builds every derived structure for node n and its vessels from
// their stored fields: subnet membership, live counts, donations, holdings,
// heaps and the availability index.
func (st *state) attach(n int32) {
	st.placeNode(n)
	st.setLive(n, 1)
	nd := &st.nodes[n]
	if nd.donor != noOne {
		a := st.accounts[nd.donor]
		a.donations = append(a.donations, n)
	}
	for v := nd.first; v < nd.first+nd.count; v++ {
		ves := &st.vessels[v]
		ves.pos, ves.heap = -1, -1
		switch {
		case ves.owner != noOne:
			st.accounts[ves.owner].held[v] = struct{}{}
			st.push(&st.expiry, v, ves.expires)
		case ves.dirty:
			st.freeDirty++
			if nd.usable() {
				at, _ := ves.dirtySince()
				st.push(&st.cleanup, v, at)
			}
		}
		st.index(v)
	}
}

// rebuild recomputes every derived structure from the stored fields, after
// a load. It gives up with ctx's error once ctx is done, leaving st
// unusable.
func (st *state) rebuild(ctx context.Context) error {
	for _, g := range st.groups {
		g.reset()
	}
	for i := range st.subnets {
		sn := &st.subnets[i]
		sn.nodes, sn.live, sn.avail = sn.nodes[:0], 0, sn.avail[:0]
	}
	st.liveSubnets = 0
	st.freeDirty = 0
	st.expiry.items = st.expiry.items[:0]
	st.cleanup.items = st.cleanup.items[:0]
	for _, a := range st.accounts {
		a.held = map[int32]struct{}{}
		a.donations = nil
	}
	for n := range st.nodes {
		if err := stopped(ctx, n); err != nil {
			return err
		}
		st.attach(int32(n))
	}
	return nil
}

// updateNode applies change to node n and brings every derived structure
// up to date.
func (st *state) updateNode(n int32, change func(nd *node)) {
	nd := &st.nodes[n]
	for v := nd.first; v < nd.first+nd.count; v++ {
		st.unindex(v)
	}
	st.setLive(n, -1)
	oldIP := nd.ip
	change(nd)
	nd.generated = false
	if nd.ip != oldIP {
		st.unplaceNode(n)
		st.placeNode(n)
	}
	st.setLive(n, 1)
	usable := nd.usable()
	for v := nd.first; v < nd.first+nd.count; v++ {
		ves := &st.vessels[v]
		if at, dirty := ves.dirtySince(); usable && dirty && ves.heap < 0 {
			// Dirty vessels wait for their node; cleaning resumes now.
			st.push(&st.cleanup, v, at)
		}
		st.index(v)
		// The record carries the vessels as they are: cleaning done by
		// the clock is not journaled, and a replay, which sees the node
		// as it ends up, could not redo what was done while it was usable.
		st.touchVessel(v)
	}
	st.touchNode(n)
	st.nmTouchNode(n)
}

// take gives vessel v to account a at time now for the acquisition lease.
// The caller has checked that v has no owner.
func (st *state) take(v, a int32, now int64) {
	ves := &st.vessels[v]
	st.unindex(v)
	wasDirty := ves.dirty
	if ves.dirty {
		st.freeDirty-- // a dirty vessel taken by acquire_specific_vessels
	}
	if ves.heap >= 0 {
		st.remove(&st.cleanup, v)
	}
	ves.owner = a
	ves.lease(now, now+int64(AcquireLease))
	st.push(&st.expiry, v, ves.expires)
	st.accounts[a].held[v] = struct{}{}
	st.touchVessel(v)
	st.nmAcquired(v, a, wasDirty)
}

// release clears the owner of vessel v and marks it dirty since at.
func (st *state) release(v int32, at int64) {
	ves := &st.vessels[v]
	delete(st.accounts[ves.owner].held, v)
	st.remove(&st.expiry, v)
	ves.owner = noOne
	ves.makeDirty(at)
	st.freeDirty++
	if st.nodes[ves.node].usable() {
		st.push(&st.cleanup, v, at)
	}
	st.touchVessel(v)
}

// renew resets the lease of an owned vessel to now + RenewLease.
func (st *state) renew(v int32, now int64) {
	ves := &st.vessels[v]
	ves.lease(now, now+int64(RenewLease))
	st.fix(&st.expiry, v, ves.expires)
	st.touchVessel(v)
}

// advance applies the passage of time up to now: expired vessels are
// released at the instant they expired (contract §9, mock decision), and
// dirty vessels whose cleanup delay has passed become clean if their node
// is usable (otherwise they wait for the node).
func (st *state) advance(now int64) {
	st.deriving = true
	defer func() { st.deriving = false }()
	for len(st.expiry.items) > 0 && st.expiry.items[0].key <= now {
		v := st.expiry.items[0].v
		ves := &st.vessels[v]
		if st.watch != nil {
			st.watch.lapsed(st.accounts[ves.owner].name, v, st.handle, ves.expires)
		}
		st.release(v, ves.expires)
	}
	for len(st.cleanup.items) > 0 && now-st.cleanup.items[0].key >= st.cleanupDelay {
		v := st.cleanup.items[0].v
		st.remove(&st.cleanup, v)
		ves := &st.vessels[v]
		if !st.nodes[ves.node].usable() {
			continue
		}
		ves.makeClean()
		st.freeDirty--
		st.index(v)
		st.touchVessel(v)
		st.nmCleaned(v)
	}
}

// maxVessels is the account's credit total (contract §6).
func (st *state) maxVessels(a *account) int {
	d := 0
	for _, n := range a.donations {
		if st.nodes[n].usable() {
			d++
		}
	}
	return a.free + creditsPerDonation*d
}

// failAttempt reports whether an injected failure makes this acquisition
// attempt on vessel v fail (contract §11). The per-node "next k" counter is
// consumed only by attempts that reach it.
func (st *state) failAttempt(v int32) bool {
	ves := &st.vessels[v]
	nd := &st.nodes[ves.node]
	if nd.fail {
		return true
	}
	if nd.failNext > 0 {
		nd.failNext--
		nd.generated = false
		st.touchNode(ves.node)
		return true
	}
	if st.failFunc != nil && st.failFunc(nd.id, ves.name()) {
		return true
	}
	return st.failRate > 0 && st.rng.Float64() < st.failRate
}

// tryTake is one acquisition attempt (contract §8.1 step 2 and §5.2 step
// 8): it fails if the vessel has an owner, its node is not active, or an
// injected failure fires; otherwise v goes to account a.
func (st *state) tryTake(v, a int32, now int64) bool {
	ves := &st.vessels[v]
	if ves.owner != noOne || !st.nodes[ves.node].active || st.failAttempt(v) {
		return false
	}
	st.take(v, a, now)
	return true
}

// vesselByHandle finds the vessel a handle's two parts name.
func (st *state) vesselByHandle(nodeID, name string) (int32, bool) {
	n, ok := st.byID[nodeID]
	if !ok {
		return 0, false
	}
	num, ok := parseVesselName(name)
	if !ok {
		return 0, false
	}
	nd := &st.nodes[n]
	for v := nd.first; v < nd.first+nd.count; v++ {
		if st.vessels[v].num == num {
			return v, true
		}
	}
	return 0, false
}

// parseVesselName parses "v<N>" with N in canonical decimal form, at
// most maxVesselNumber.
func parseVesselName(s string) (uint16, bool) {
	if len(s) < 2 || len(s) > 6 || s[0] != 'v' {
		return 0, false
	}
	n, err := strconv.ParseUint(s[1:], 10, 16)
	if err != nil || strconv.FormatUint(n, 10) != s[1:] {
		return 0, false
	}
	return uint16(n), true
}

func (st *state) handle(v int32) string {
	ves := &st.vessels[v]
	return st.nodes[ves.node].id + ":" + ves.name()
}

// infodict is the vessel's entry in acquire and get_resource_info results
// (contract §4.1).
func (st *state) infodict(v int32, now int64) map[string]any {
	ves := &st.vessels[v]
	nd := &st.nodes[ves.node]
	name := ves.name()
	return map[string]any{
		"node_id":            nd.id,
		"node_ip":            st.reportedIP(ves.node),
		"node_port":          st.reportedPort(ves.node),
		"vessel_id":          name,
		"handle":             nd.id + ":" + name,
		"is_active":          nd.active,
		"expires_in_seconds": floorSeconds(ves.expires - now),
	}
}

// floorSeconds returns floor(ns / 1s).
func floorSeconds(ns int64) int64 {
	s := ns / int64(time.Second)
	if ns%int64(time.Second) < 0 {
		s--
	}
	return s
}
