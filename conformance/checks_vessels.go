package conformance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// Acquire: acquire_resources (contract §5.1, §8).
func acquireChecks() []check {
	return []check{
		{"Random", needs{vessels: 2}, checkAcquireRandom},
		{"WAN", needs{vessels: 2}, checkAcquireWAN},
		{"LAN", needs{vessels: 2}, checkAcquireLAN},
		{"NAT", needs{vessels: 1}, checkAcquireNAT},
		{"ResourceInfo", needs{vessels: 2}, checkAcquireResourceInfo},
		{"BooleanCount", needs{vessels: 1}, checkAcquireBooleanCount},
		{"WireTypes", needs{vessels: 3}, checkAcquireWireTypes},
		{"ExtraMembers", needs{vessels: 1}, checkAcquireExtraMembers},
		{"AllOrNothing", needs{controls: true, isolated: true, vessels: 3}, checkAllOrNothing},
		{"FailNext", needs{controls: true, isolated: true, vessels: 2}, checkFailNext},
	}
}

// distinct reports the first value that appears twice, if any.
func distinct(vals []string) (dup string, ok bool) {
	seen := map[string]bool{}
	for _, v := range vals {
		if seen[v] {
			return v, false
		}
		seen[v] = true
	}
	return "", true
}

// commonChecks are what every acquired batch must satisfy: distinct
// handles, active nodes, and (a mock decision, §7) distinct nodes.
func (s *session) commonChecks(t T, what string, vs []vinfo) {
	t.Helper()
	if dup, ok := distinct(handlesOf(vs)); !ok {
		s.errorf(t, "%s: the vessel %s appears twice", what, dup)
	}
	nodes := make([]string, len(vs))
	for i, v := range vs {
		nodes[i] = v.NodeID
		if !v.Active {
			s.errorf(t, "%s: %s reports is_active false for a vessel just acquired", what, v.Handle)
		}
		if v.VesselID == "v1" && s.mock {
			s.errorf(t, "%s: %s is the extra vessel v1, which is never offered (§4)", what, v.Handle)
		}
	}
	if dup, ok := distinct(nodes); !ok && s.mock {
		s.errorf(t, "%s: two vessels on node %.40s...; the mock's port sets make every batch span distinct nodes (§7)", what, dup)
	}
}

func checkAcquireRandom(t T, s *session) {
	vs := s.acquireN(t, s.main(), "random", 2)
	s.commonChecks(t, "random 2", vs)
}

func checkAcquireWAN(t T, s *session) {
	vs := s.acquireN(t, s.main(), "wan", 2)
	s.commonChecks(t, "wan 2", vs)
	s.wantWAN(t, "wan 2", vs)
}

// wantWAN: no NAT, every vessel in another /24 (§8).
func (s *session) wantWAN(t T, what string, vs []vinfo) {
	t.Helper()
	subnets := make([]string, len(vs))
	for i, v := range vs {
		if strings.HasPrefix(v.NodeIP, "NAT$") {
			s.errorf(t, "%s: %s is behind NAT (%s)", what, v.Handle, v.NodeIP)
		}
		subnets[i] = subnetOf(v.NodeIP)
	}
	if dup, ok := distinct(subnets); !ok {
		s.errorf(t, "%s: two vessels in subnet %s", what, dup)
	}
}

func checkAcquireLAN(t T, s *session) {
	vs := s.acquireN(t, s.main(), "lan", 2)
	s.commonChecks(t, "lan 2", vs)
	s.wantLAN(t, "lan 2", vs, "")
}

// wantLAN: no NAT, all in one /24 (subnet, if given).
func (s *session) wantLAN(t T, what string, vs []vinfo, subnet string) {
	t.Helper()
	for _, v := range vs {
		if strings.HasPrefix(v.NodeIP, "NAT$") {
			s.errorf(t, "%s: %s is behind NAT", what, v.Handle)
		}
		if subnet == "" {
			subnet = subnetOf(v.NodeIP)
		}
		if subnetOf(v.NodeIP) != subnet {
			s.errorf(t, "%s: %s is in subnet %s, want all in %s", what, v.Handle, subnetOf(v.NodeIP), subnet)
		}
	}
}

func checkAcquireNAT(t T, s *session) {
	vs := s.acquireN(t, s.main(), "nat", 1)
	s.commonChecks(t, "nat 1", vs)
	for _, v := range vs {
		if !strings.HasPrefix(v.NodeIP, "NAT$") {
			s.errorf(t, "nat 1: %s has node_ip %q, want NAT$...", v.Handle, v.NodeIP)
		}
	}
}

// checkAcquireResourceInfo: what get_resource_info reports matches what
// the acquisition returned, and released vessels leave it (§5.5).
func checkAcquireResourceInfo(t T, s *session) {
	a := s.main()
	vs := s.acquireN(t, a, "random", 2)
	held := s.holdingMap(t, a)
	for _, v := range vs {
		h, ok := held[v.Handle]
		switch {
		case !ok:
			s.errorf(t, "get_resource_info lacks %s, just acquired", v.Handle)
		case h.NodeID != v.NodeID || h.NodeIP != v.NodeIP || h.NodePort != v.NodePort || h.VesselID != v.VesselID || !h.Active:
			s.errorf(t, "get_resource_info describes %s as %+v, the acquisition as %+v", v.Handle, h, v)
		case h.Expires > v.Expires || h.Expires < v.Expires-s.slack:
			s.errorf(t, "%s: expires_in_seconds %d in get_resource_info, %d at acquisition", v.Handle, h.Expires, v.Expires)
		}
	}
	if s.mock {
		list := handlesOf(s.holding(t, a))
		if !slices.IsSorted(list) {
			s.errorf(t, "get_resource_info is not ascending by handle (mock decision §5.5): %v", list)
		}
	}
	s.mustRelease(t, a, vs[0].Handle)
	held = s.holdingMap(t, a)
	if _, ok := held[vs[0].Handle]; ok {
		s.errorf(t, "get_resource_info still lists %s after its release", vs[0].Handle)
	}
	if _, ok := held[vs[1].Handle]; !ok {
		s.errorf(t, "get_resource_info lost %s, which was not released", vs[1].Handle)
	}
}

// checkAcquireBooleanCount: a <boolean> true count is 1 (faithful quirk
// §5.1 step 4).
func checkAcquireBooleanCount(t T, s *session) {
	res, err := s.acquire(t, s.main(), rs("random", true), 1)
	if err != nil {
		if faultCode(err) == 105 && !s.mock {
			s.skipf(t, "the deployment cannot satisfy random 1 now: %v", err)
		}
		s.fatalf(t, "acquire_resources(random, true): %v", err)
	}
	s.infodicts(t, "acquire_resources(random, true)", res, 1)
}

// checkAcquireWireTypes: an untyped <value> is a str, and <int>, <i4>
// and <i8> are all ints (§1.1).
func checkAcquireWireTypes(t T, s *session) {
	a := s.main()
	auth := xmlStruct("username", xmlStr(a.name), "api_key", xmlStr(s.key(a)))
	for what, rspec := range map[string]string{
		"an untyped rspec_type": xmlStruct("rspec_type", xmlUntyped("random"), "number_of_nodes", "<value><int>1</int></value>"),
		"an <i4> count":         xmlStruct("rspec_type", xmlStr("random"), "number_of_nodes", "<value><i4>1</i4></value>"),
		"an <i8> count":         xmlStruct("rspec_type", xmlStr("random"), "number_of_nodes", "<value><i8>1</i8></value>"),
	} {
		res, err := s.rawAcquire(t, a, 1, false, xmlDoc("acquire_resources", auth, rspec))
		if err != nil {
			if faultCode(err) == 105 && !s.mock {
				s.skipf(t, "the deployment cannot satisfy random 1 now: %v", err)
			}
			s.errorf(t, "acquire_resources with %s: %v", what, err)
			continue
		}
		s.infodicts(t, "acquire_resources with "+what, res, 1)
	}
}

// checkAcquireExtraMembers: extra rspec keys are ignored (§1.1).
func checkAcquireExtraMembers(t T, s *session) {
	rspec := rs("random", int64(1))
	rspec["extra"] = "ignored"
	rspec["RSPEC_TYPE"] = int64(5)
	res, err := s.acquire(t, s.main(), rspec, 1)
	if err != nil {
		if faultCode(err) == 105 && !s.mock {
			s.skipf(t, "the deployment cannot satisfy random 1 now: %v", err)
		}
		s.fatalf(t, "acquire_resources with extra rspec members: %v", err)
	}
	s.infodicts(t, "acquire_resources with extra rspec members", res, 1)
}

// wantNothingHeld checks that a holds none of the vessels (or nothing at
// all on a created account).
func (s *session) wantNothingHeld(t T, what string, a *acct) {
	t.Helper()
	if held := s.holding(t, a); len(held) != 0 {
		s.errorf(t, "%s: the account holds %d vessels, want none (all or nothing)", what, len(held))
	}
}

// unable is the 105 fault string with a detail.
func unable(format string, args ...any) string { return msgUnable + fmt.Sprintf(format, args...) }

// checkAllOrNothing: when too few acquisitions succeed, acquire_resources
// releases what it took (dirty, §8.1 step 3) and fails with 105.
func checkAllOrNothing(t T, s *session) {
	c := s.controls()
	s.withCleanupDelay(t, time.Hour)
	a := s.newAccount(t, 10)
	port := s.userPort(t, a)
	s.isolate(t)
	nodes := s.addNodes(t, 4, ownSubnets)
	for _, n := range nodes[2:] {
		s.must(t, "InjectFailure", c.InjectFailure(s.ctx(t), n, mockapi.Failure{Always: true}))
	}
	err := s.acquireFault(t, a, rs("wan", int64(3)), 3)
	s.wantFault(t, "wan 3 with 2 of 4 nodes failing", err, 105, unable(msgBatchFailed))
	s.wantNothingHeld(t, "after the failed wan 3", a)
	for _, n := range nodes[:2] {
		v := s.vesselState(t, s.vesselFor(t, n, port))
		if v.Owner != "" || !v.Dirty {
			s.errorf(t, "%s after the rollback: owner %q, dirty %v; want released and dirty", v.Handle, v.Owner, v.Dirty)
		}
	}
	// The two rolled-back vessels are dirty, so only the failing nodes'
	// two are available.
	err = s.acquireFault(t, a, rs("random", int64(3)), 3)
	s.wantFault(t, "random 3 after the rollback", err, 105,
		unable("Requested 3 rand vessels, but we only have 2 vessels with port %d available.", port))
	err = s.acquireFault(t, a, rs("random", int64(2)), 2)
	s.wantFault(t, "random 2 on the failing nodes", err, 105, unable(msgBatchFailed))
	s.wantNothingHeld(t, "after the failed random 2", a)
}

// checkFailNext: a node failing "the next k attempts" fails exactly k
// attempts, counted over calls (§11, §8.1).
func checkFailNext(t T, s *session) {
	c := s.controls()
	s.withCleanupDelay(t, 0)
	a := s.newAccount(t, 10)
	s.isolate(t)
	nodes := s.addNodes(t, 2, ownSubnets)
	s.must(t, "InjectFailure", c.InjectFailure(s.ctx(t), nodes[0], mockapi.Failure{Next: 1}))
	err := s.acquireFault(t, a, rs("wan", int64(2)), 2)
	s.wantFault(t, "wan 2 with one node failing once", err, 105, unable(msgBatchFailed))
	s.wantNothingHeld(t, "after the failed wan 2", a)
	res, err := s.acquire(t, a, rs("wan", int64(2)), 2)
	if err != nil {
		s.fatalf(t, "wan 2 once the failure is used up: %v", err)
	}
	s.infodicts(t, "wan 2", res, 2)
}

// Specific: acquire_specific_vessels (contract §5.2, §5.11).
func specificChecks() []check {
	return []check{
		{"Basic", needs{vessels: 2}, checkSpecificBasic},
		{"Duplicates", needs{vessels: 1}, checkSpecificDuplicates},
		{"HeldReturnsEmpty", needs{vessels: 1}, checkSpecificHeld},
		{"Foreign", needs{second: true, vessels: 1}, checkSpecificForeign},
		{"OneBadHandleFailsAll", needs{vessels: 1}, checkSpecificOneBad},
		{"NodeStates", needs{controls: true, vessels: 3}, checkSpecificNodeStates},
		{"BrokenNodeIsActive", needs{controls: true, vessels: 1}, checkSpecificBrokenNodeIsActive},
	}
}

// freeHandles acquires n vessels for a and releases them again, returning
// their handles: vessels that are known to exist and (for a moment) free.
func (s *session) freeHandles(t T, a *acct, n int) []string {
	t.Helper()
	hs := handlesOf(s.acquireN(t, a, "random", n))
	s.mustRelease(t, a, hs...)
	return hs
}

// takenMeanwhile skips a check against a deployment when another user
// took a vessel the suite had just released.
func (s *session) takenMeanwhile(t T, got, want int) {
	t.Helper()
	if got < want && !s.mock {
		s.skipf(t, "only %d of %d just-released vessels could be taken back; another user may have acquired them", got, want)
	}
}

func checkSpecificBasic(t T, s *session) {
	a := s.main()
	hs := s.freeHandles(t, a, 2)
	req := []string{hs[1], hs[0]}
	vs := s.mustSpecific(t, "acquire_specific_vessels", a, 2, -1, req...)
	s.takenMeanwhile(t, len(vs), 2)
	if len(vs) != 2 {
		s.fatalf(t, "acquire_specific_vessels returned %d vessels, want 2", len(vs))
	}
	s.checkLease(t, "acquire_specific_vessels", vs, acquireLease)
	if s.mock && (vs[0].Handle != req[0] || vs[1].Handle != req[1]) {
		s.errorf(t, "acquire_specific_vessels returned %v, want the request order %v (mock decision §5.2)", handlesOf(vs), req)
	}
	held := s.holdingMap(t, a)
	for _, h := range hs {
		if _, ok := held[h]; !ok {
			s.errorf(t, "get_resource_info lacks %s", h)
		}
	}
}

// checkSpecificDuplicates: the list is de-duplicated (§5.2 step 3).
func checkSpecificDuplicates(t T, s *session) {
	a := s.main()
	h := s.freeHandles(t, a, 1)[0]
	vs := s.mustSpecific(t, "acquire_specific_vessels([h, h, h])", a, 1, -1, h, h, h)
	s.takenMeanwhile(t, len(vs), 1)
	if len(vs) != 1 || vs[0].Handle != h {
		s.errorf(t, "acquire_specific_vessels([h, h, h]) returned %v, want [h] once", handlesOf(vs))
	}
}

// checkSpecificHeld: a vessel the caller holds is skipped, not an error,
// and the result is an empty array (§5.2 steps 8-9).
func checkSpecificHeld(t T, s *session) {
	a := s.main()
	h := s.acquireN(t, a, "random", 1)[0].Handle
	res, err := s.specific(t, a, handleArgs(h), 0)
	if err != nil {
		s.fatalf(t, "acquire_specific_vessels of a held vessel: %v", err)
	}
	if list, ok := res.([]any); !ok || len(list) != 0 {
		s.errorf(t, "acquire_specific_vessels of a held vessel returned %s of %d, want an empty array", typeName(res), len(list))
	}
	if _, ok := s.holdingMap(t, a)[h]; !ok {
		s.errorf(t, "the vessel is no longer held")
	}
}

// checkSpecificForeign: another user's vessel is skipped (§5.11).
func checkSpecificForeign(t T, s *session) {
	a, b := s.main(), s.second(t)
	h := s.acquireN(t, b, "random", 1)[0].Handle
	if vs := s.mustSpecific(t, "acquire_specific_vessels of a foreign vessel", a, 0, -1, h); len(vs) != 0 {
		s.errorf(t, "acquire_specific_vessels took %v from another user", handlesOf(vs))
	}
	if _, ok := s.holdingMap(t, b)[h]; !ok {
		s.errorf(t, "the other user lost %s", h)
	}
	if _, ok := s.holdingMap(t, a)[h]; ok {
		s.errorf(t, "the caller holds %s, another user's vessel", h)
	}
}

// checkSpecificOneBad: one bad handle fails the whole call (§5.2 step 5).
func checkSpecificOneBad(t T, s *session) {
	a := s.main()
	h := s.freeHandles(t, a, 1)[0]
	err := s.specificFault(t, a, handleArgs(h, "nocolon"), 1)
	s.wantFault(t, "acquire_specific_vessels([free, bad])", err, 102, msgBadHandle+"nocolon")
	if _, ok := s.holdingMap(t, a)[h]; ok {
		s.errorf(t, "a call that failed with 102 acquired %s", h)
	}
}

// checkSpecificNodeStates: acquire_specific_vessels skips vessels on
// inactive nodes and vessels whose node fails, never with 105, but takes
// vessels on broken nodes, without the user's port, and dirty ones, which
// stay dirty (§5.2 step 8, faithful quirks).
func checkSpecificNodeStates(t T, s *session) {
	c := s.controls()
	s.withCleanupDelay(t, time.Hour)
	a := s.newAccount(t, 10)
	port := s.userPort(t, a)
	other := 63100
	if port == other {
		other = 63101
	}
	sub := s.subnet()
	ids := s.addNodeSpecs(t, []mockapi.NodeSpec{
		{ID: s.nextName("cfnode"), IP: sub + ".1", Inactive: true},
		{ID: s.nextName("cfnode"), IP: sub + ".2", Broken: true},
		{ID: s.nextName("cfnode"), IP: sub + ".3", Vessels: []mockapi.VesselSpec{{Name: "v2", Ports: []int{other}}}},
		{ID: s.nextName("cfnode"), IP: sub + ".4"},
		{ID: s.nextName("cfnode"), IP: sub + ".5"},
	})
	inactive, broken, portless, failing, dirty := ids[0]+":v2", ids[1]+":v2", ids[2]+":v2", ids[3]+":v2", ids[4]+":v2"
	s.must(t, "InjectFailure", c.InjectFailure(s.ctx(t), ids[3], mockapi.Failure{Always: true}))

	take := func(what, h string, want bool) {
		t.Helper()
		res, err := s.specific(t, a, handleArgs(h), 1)
		if err != nil {
			s.errorf(t, "%s: %v", what, err)
			return
		}
		vs := s.infodicts(t, what, res, -1)
		if got := len(vs) == 1 && vs[0].Handle == h; got != want || (!want && len(vs) != 0) {
			s.errorf(t, "%s: returned %v, want taken %v", what, handlesOf(vs), want)
		}
	}
	take("a vessel on an inactive node", inactive, false)
	take("a vessel whose node fails (never 105)", failing, false)
	take("a vessel on a broken node", broken, true)
	take("a vessel without the user's port", portless, true)
	take("a free, clean vessel", dirty, true)
	s.mustRelease(t, a, dirty, broken, portless)
	if v := s.vesselState(t, dirty); !v.Dirty || v.Owner != "" {
		s.errorf(t, "after release: dirty %v owner %q, want dirty and free", v.Dirty, v.Owner)
	}
	take("a dirty vessel", dirty, true)
	if v := s.vesselState(t, dirty); !v.Dirty || v.Owner != a.name {
		s.errorf(t, "a dirty vessel taken by acquire_specific_vessels: dirty %v owner %q, want it owned and still dirty", v.Dirty, v.Owner)
	}
}

// checkSpecificBrokenNodeIsActive: is_active tells whether the node is
// active, whether or not it is broken (§4.1; acquire_specific_vessels
// takes vessels on broken nodes, §5.2).
func checkSpecificBrokenNodeIsActive(t T, s *session) {
	a := s.newAccount(t, 1)
	ids := s.addNodeSpecs(t, []mockapi.NodeSpec{{ID: s.nextName("cfnode"), IP: s.subnet() + ".1", Broken: true}})
	h := ids[0] + ":v2"
	for _, v := range s.mustSpecific(t, "acquire_specific_vessels on a broken node", a, 1, 1, h) {
		if !v.Active {
			s.errorf(t, "acquire_specific_vessels on a broken, active node: is_active false, want true")
		}
	}
	if v, ok := s.holdingMap(t, a)[h]; !ok || !v.Active {
		s.errorf(t, "get_resource_info for a vessel on a broken, active node: listed %v, is_active %v; want listed with is_active true", ok, v.Active)
	}
}

// Release: release_resources (contract §5.3).
func releaseChecks() []check {
	return []check{
		{"Frees", needs{vessels: 2}, checkReleaseFrees},
		{"Duplicates", needs{vessels: 1}, checkReleaseDuplicates},
		{"NotHeld", needs{vessels: 1}, checkReleaseNotHeld},
		{"Foreign", needs{second: true, vessels: 1}, checkReleaseForeign},
		{"OneBadHandleFailsAll", needs{vessels: 1}, checkReleaseOneBad},
		{"FreesCredits", needs{controls: true, vessels: 1}, checkReleaseFreesCredits},
		{"InactiveNode", needs{controls: true, vessels: 1}, checkReleaseInactiveNode},
		{"Dirty", needs{controls: true, isolated: true, vessels: 1}, checkReleaseDirty},
	}
}

func checkReleaseFrees(t T, s *session) {
	a := s.main()
	vs := s.acquireN(t, a, "random", 2)
	s.mustRelease(t, a, vs[0].Handle) // checks the int 0
	held := s.holdingMap(t, a)
	if _, ok := held[vs[0].Handle]; ok {
		s.errorf(t, "%s is still held after its release", vs[0].Handle)
	}
	if _, ok := held[vs[1].Handle]; !ok {
		s.errorf(t, "%s was released too", vs[1].Handle)
	}
}

// checkReleaseDuplicates: duplicates are processed again, harmlessly.
func checkReleaseDuplicates(t T, s *session) {
	a := s.main()
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.mustRelease(t, a, h, h, h)
	if _, ok := s.holdingMap(t, a)[h]; ok {
		s.errorf(t, "%s is still held", h)
	}
}

// checkReleaseNotHeld: a vessel the caller does not hold is skipped.
func checkReleaseNotHeld(t T, s *session) {
	a := s.main()
	h := s.freeHandles(t, a, 1)[0]
	s.mustRelease(t, a, h)
}

func checkReleaseForeign(t T, s *session) {
	a, b := s.main(), s.second(t)
	h := s.acquireN(t, b, "random", 1)[0].Handle
	res, err := s.call(t, "release_resources", s.auth(a), handleArgs(h))
	if err != nil {
		s.fatalf(t, "release_resources of a foreign vessel: %v", err)
	}
	s.wantIntZero(t, "release_resources of a foreign vessel", res)
	if _, ok := s.holdingMap(t, b)[h]; !ok {
		s.errorf(t, "another user's release took %s from its holder", h)
	}
}

func checkReleaseOneBad(t T, s *session) {
	a := s.main()
	h := s.acquireN(t, a, "random", 1)[0].Handle
	_, err := s.call(t, "release_resources", s.auth(a), handleArgs(h, "nocolon"))
	s.wantFault(t, "release_resources([held, bad])", err, 102, msgBadHandle+"nocolon")
	if _, ok := s.holdingMap(t, a)[h]; !ok {
		s.errorf(t, "a call that failed with 102 released %s", h)
	}
}

// checkReleaseFreesCredits: released vessels stop counting (§6).
func checkReleaseFreesCredits(t T, s *session) {
	a := s.newAccount(t, 1)
	h := s.acquireN(t, a, "random", 1)[0].Handle
	err := s.acquireFault(t, a, rs("random", int64(1)), 1)
	s.wantFault(t, "a second vessel on 1 credit", err, 103, msgNotEnough)
	s.mustRelease(t, a, h)
	s.acquireN(t, a, "random", 1)
}

// checkReleaseInactiveNode: vessels on inactive nodes are listed with
// is_active false and can be released (§5.3, §5.5).
func checkReleaseInactiveNode(t T, s *session) {
	c := s.controls()
	a := s.newAccount(t, 1)
	node := s.addNodes(t, 1, ownSubnets)[0]
	h := node + ":v2"
	s.mustSpecific(t, "acquire_specific_vessels", a, 1, 1, h)
	s.must(t, "SetNodeActive", c.SetNodeActive(s.ctx(t), node, false))
	held := s.holdingMap(t, a)
	if v, ok := held[h]; !ok || v.Active {
		s.errorf(t, "get_resource_info after the node went inactive: %+v (listed %v), want it listed with is_active false", v, ok)
	}
	s.mustRelease(t, a, h)
	if _, ok := s.holdingMap(t, a)[h]; ok {
		s.errorf(t, "the vessel on the inactive node is still held after its release")
	}
}

// checkReleaseDirty: a released vessel is dirty and not offered again
// until the cleanup delay has passed (§5.3, §9).
func checkReleaseDirty(t T, s *session) {
	s.withCleanupDelay(t, time.Hour)
	a := s.newAccount(t, 1)
	port := s.userPort(t, a)
	s.isolate(t)
	s.addNodes(t, 1, ownSubnets)
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.mustRelease(t, a, h)
	if v := s.vesselState(t, h); !v.Dirty || v.Owner != "" || v.Available {
		s.errorf(t, "after release: %+v, want free, dirty and unavailable", v)
	}
	err := s.acquireFault(t, a, rs("random", int64(1)), 1)
	s.wantFault(t, "random 1 while the only vessel is dirty", err, 105,
		unable("Requested 1 rand vessels, but we only have 0 vessels with port %d available.", port))
	s.advance(t, time.Hour+time.Second)
	if got := s.acquireN(t, a, "random", 1)[0].Handle; got != h {
		s.errorf(t, "after the cleanup delay random 1 gave %s, want the cleaned %s", got, h)
	}
}

// Renew: renew_resources (contract §5.4, §9).
func renewChecks() []check {
	return []check{
		{"SevenDays", needs{vessels: 1}, checkRenewSevenDays},
		{"ResetNotExtended", needs{vessels: 1}, checkRenewReset},
		{"Duplicates", needs{vessels: 1}, checkRenewDuplicates},
		{"Partial", needs{second: true, vessels: 3}, checkRenewPartial},
		{"OneBadHandleFailsAll", needs{vessels: 1}, checkRenewOneBad},
		{"OverLimit", needs{controls: true, vessels: 2}, checkRenewOverLimit},
	}
}

func checkRenewSevenDays(t T, s *session) {
	a := s.main()
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.mustRenew(t, a, h) // checks the int 0
	s.checkLease(t, "after renew_resources", []vinfo{s.holdingMap(t, a)[h]}, renewLease)
}

// checkRenewReset: renewing again resets to 7 days, it does not add 7
// more (§15).
func checkRenewReset(t T, s *session) {
	a := s.main()
	h := s.acquireN(t, a, "random", 1)[0].Handle
	for range 3 {
		s.mustRenew(t, a, h)
	}
	s.checkLease(t, "after three renewals", []vinfo{s.holdingMap(t, a)[h]}, renewLease)
}

func checkRenewDuplicates(t T, s *session) {
	a := s.main()
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.mustRenew(t, a, h, h, h)
	s.checkLease(t, "after renewing [h, h, h]", []vinfo{s.holdingMap(t, a)[h]}, renewLease)
}

// checkRenewPartial: only the listed vessels the caller holds are
// renewed; foreign and released ones keep their dates (§13).
func checkRenewPartial(t T, s *session) {
	a, b := s.main(), s.second(t)
	vs := s.acquireN(t, a, "random", 3)
	s.mustRelease(t, a, vs[2].Handle)
	theirs := s.acquireN(t, b, "random", 1)[0]
	s.mustRenew(t, a, vs[0].Handle, theirs.Handle, vs[2].Handle)
	held := s.holdingMap(t, a)
	s.checkLease(t, "the renewed vessel", []vinfo{held[vs[0].Handle]}, renewLease)
	if v := held[vs[1].Handle]; v.Expires > acquireLease {
		s.errorf(t, "a vessel not listed was renewed too (expires in %d s)", v.Expires)
	}
	if _, ok := held[vs[2].Handle]; ok {
		s.errorf(t, "renewing a released vessel made it held again")
	}
	if v := s.holdingMap(t, b)[theirs.Handle]; v.Expires > acquireLease {
		s.errorf(t, "another user's vessel was renewed by the caller (expires in %d s)", v.Expires)
	}
}

func checkRenewOneBad(t T, s *session) {
	a := s.main()
	h := s.acquireN(t, a, "random", 1)[0].Handle
	err := s.renew(t, a, h, "nocolon")
	s.wantFault(t, "renew_resources([held, bad])", err, 102, msgBadHandle+"nocolon")
	if v := s.holdingMap(t, a)[h]; v.Expires > acquireLease {
		s.errorf(t, "a call that failed with 102 renewed %s", h)
	}
}

// checkRenewOverLimit: an account over its credit limit (its donation
// went offline) gets 103 with its numbers on renew and on acquire; at the
// limit, renew works (§5.4 step 6, §6).
func checkRenewOverLimit(t T, s *session) {
	c := s.controls()
	a := s.newAccount(t, 1)
	donated := s.addNodes(t, 1, ownSubnets)[0]
	s.must(t, "AddDonation", c.AddDonation(s.ctx(t), donated, a.name))
	vs := s.acquireN(t, a, "random", 2)
	s.must(t, "SetNodeActive", c.SetNodeActive(s.ctx(t), donated, false))
	if m := s.accountInfo(t, a).MaxVessels; m != 1 {
		s.errorf(t, "max_vessels %d with the donated node offline, want 1", m)
	}
	err := s.renew(t, a, vs[0].Handle)
	s.wantFault(t, "renew while holding 2 of 1", err, 103, fmt.Sprintf(msgRenewOverLimit, 2, 1))
	// Handles are checked before credits (§5.4 steps 4-6).
	s.wantFault(t, "renew of a bad handle while over the limit", s.renew(t, a, "nocolon"), 102, msgBadHandle+"nocolon")
	_, err = s.call(t, "renew_resources", s.auth(a), []any{})
	s.wantFault(t, "renew of an empty list while over the limit", err, 102, msgEmptyList)
	err = s.acquireFault(t, a, rs("random", int64(1)), 1)
	s.wantFault(t, "acquire while over the limit", err, 103, msgNotEnough)
	s.mustRelease(t, a, vs[1].Handle) // release is never blocked by credits
	if err := s.renew(t, a, vs[0].Handle); err != nil {
		s.errorf(t, "renew at exactly the limit: %v", err)
	}
}

// Credits: the 103 boundary (contract §6).
func creditChecks() []check {
	return []check{
		{"Boundary", needs{vessels: 1}, checkCreditBoundary},
		{"LimitScenario", needs{controls: true, vessels: 11}, checkCreditLimitScenario},
		{"SpecificScenario", needs{controls: true, vessels: 6}, checkCreditSpecificScenario},
		{"HeldCountedAgain", needs{controls: true, vessels: 2}, checkCreditHeldCountedAgain},
		{"DuplicatesCountedOnce", needs{controls: true, vessels: 1}, checkCreditDuplicatesOnce},
		{"ZeroCredits", needs{controls: true, vessels: 1}, checkCreditZero},
		{"ValidationBeforeCredits", needs{controls: true, vessels: 1, expectsFaults: true}, checkValidationBeforeCredits},
	}
}

// checkCreditBoundary: on the main account, one vessel more than the
// credits left gives 103; all of them succeed, and then one more is 103.
// Against a deployment this needs a budget of credits-left + 1.
func checkCreditBoundary(t T, s *session) {
	a := s.main()
	left := int(s.accountInfo(t, a).MaxVessels) - len(s.holding(t, a))
	if left < 0 {
		s.skipf(t, "the main account is over its credit limit")
	}
	if left+1 > s.budget-s.heldCount() {
		s.skipf(t, "needs a budget of %d vessels (the account's credits left + 1), and the budget is %d: set %s=%d or more to run it", left+1, s.budget, EnvAllowAcquire, left+1)
	}
	err := s.acquireFault(t, a, rs("random", int64(left+1)), left+1)
	s.wantFault(t, fmt.Sprintf("random %d with %d credits left", left+1, left), err, 103, msgNotEnough)
	if left > 0 {
		s.acquireN(t, a, "random", left)
	}
	err = s.acquireFault(t, a, rs("random", int64(1)), 1)
	s.wantFault(t, "random 1 with no credits left", err, 103, msgNotEnough)
}

// checkCreditLimitScenario: §13: with 10 credits, 11 of any type is 103;
// 1 then 9 of one type both succeed; then 1 more is 103.
func checkCreditLimitScenario(t T, s *session) {
	a := s.newAccount(t, 10)
	for _, typ := range []string{"random", "wan", "lan", "nat"} {
		err := s.acquireFault(t, a, rs(typ, int64(11)), 11)
		s.wantFault(t, typ+" 11 on 10 credits", err, 103, msgNotEnough)
	}
	s.acquireN(t, a, "random", 1)
	s.acquireN(t, a, "random", 9)
	for _, typ := range []string{"random", "wan"} {
		err := s.acquireFault(t, a, rs(typ, int64(1)), 1)
		s.wantFault(t, typ+" 1 on 10 credits, all used", err, 103, msgNotEnough)
	}
}

// checkCreditSpecificScenario: §13: acquire 4, then request 6 handles
// including the 4: 2 are returned; then 10-6+1 handles give 103.
func checkCreditSpecificScenario(t T, s *session) {
	a := s.newAccount(t, 10)
	six := handlesOf(s.acquireN(t, a, "random", 6))
	s.mustRelease(t, a, six[4:]...)
	if vs := s.mustSpecific(t, "acquire_specific_vessels(6 handles, 4 held)", a, 2, 2, six...); len(vs) == 2 &&
		(vs[0].Handle != six[4] || vs[1].Handle != six[5]) {
		s.errorf(t, "returned %v, want the 2 that were free", handlesOf(vs))
	}
	err := s.specificFault(t, a, handleArgs(six[:5]...), 0)
	s.wantFault(t, "acquire_specific_vessels(5 handles) holding 6 of 10", err, 103, msgNotEnough)
}

// checkCreditHeldCountedAgain: handles the caller holds count again in
// acquire_specific_vessels (faithful quirk §5.2 step 7).
func checkCreditHeldCountedAgain(t T, s *session) {
	a := s.newAccount(t, 2)
	hs := handlesOf(s.acquireN(t, a, "random", 2))
	err := s.specificFault(t, a, handleArgs(hs[0]), 0)
	s.wantFault(t, "acquire_specific_vessels([held]) holding 2 of 2", err, 103, msgNotEnough)
}

// checkCreditDuplicatesOnce: the de-duplicated list is what counts.
func checkCreditDuplicatesOnce(t T, s *session) {
	a := s.newAccount(t, 1)
	h := s.freeHandles(t, a, 1)[0]
	s.mustSpecific(t, "acquire_specific_vessels([h, h]) on 1 credit", a, 1, 1, h, h)
}

// checkCreditZero: no free credits and no donation: nothing; a donation
// brings 10 (§6).
func checkCreditZero(t T, s *session) {
	a := s.newAccount(t, 0)
	if m := s.accountInfo(t, a).MaxVessels; m != 0 {
		s.errorf(t, "max_vessels %d, want 0", m)
	}
	err := s.acquireFault(t, a, rs("random", int64(1)), 1)
	s.wantFault(t, "random 1 on 0 credits", err, 103, msgNotEnough)
	node := s.addNodes(t, 1, ownSubnets)[0]
	s.must(t, "AddDonation", s.controls().AddDonation(s.ctx(t), node, a.name))
	if m := s.accountInfo(t, a).MaxVessels; m != 10 {
		s.errorf(t, "max_vessels %d after a donation, want 10", m)
	}
	s.acquireN(t, a, "random", 1)
}

// checkValidationBeforeCredits: on an account without credits, argument
// faults still come first (§5.1 steps 2-5 before 6, §5.2 steps 2-6
// before 7).
func checkValidationBeforeCredits(t T, s *session) {
	a := s.newAccount(t, 0)
	for what, rspec := range map[string]any{
		"an rspec of another type": "x",
		"a missing count":          map[string]any{"rspec_type": "wan"},
		"a double count":           rs("wan", 1.0),
		"an unknown type":          rs("wtf", int64(1)),
		"a zero count":             rs("wan", int64(0)),
	} {
		err := s.acquireFault(t, a, rspec, 0)
		if code := faultCode(err); code != 102 {
			s.errorf(t, "acquire_resources with %s on 0 credits: %v, want fault 102 before the credit check", what, err)
		}
	}
	err := s.acquireFault(t, a, rs("wan", int64(1)), 0)
	s.wantFault(t, "a valid rspec on 0 credits", err, 103, msgNotEnough)
	for what, list := range map[string]any{
		"a string":       "x",
		"an int handle":  []any{int64(1)},
		"a bad handle":   []any{"nocolon"},
		"an empty list":  []any{},
		"unknown vessel": []any{"conformance-no-such-node-" + s.runID + ":v2"},
	} {
		err := s.specificFault(t, a, list, 0)
		if code := faultCode(err); code != 100 && code != 102 {
			s.errorf(t, "acquire_specific_vessels with %s on 0 credits: %v, want its argument fault before the credit check", what, err)
		}
	}
}
