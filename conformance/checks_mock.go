package conformance

import (
	"fmt"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// Selection: acquire_resources against populations the suite builds
// (contract §8 and the §13 scenarios). Each check isolates its own nodes:
// every other node is inactive while it runs.
func selectionChecks() []check {
	iso := func(n int) needs { return needs{controls: true, isolated: true, vessels: n} }
	return []check{
		{"MixedPopulation", iso(23), checkSelectionMixed},
		{"LANCluster", iso(29), checkSelectionLAN},
		{"LANNoSubnets", iso(1), checkSelectionLANNoSubnets},
		{"LANBatchFails", iso(2), checkSelectionLANBatchFails},
		{"WANSubnets", iso(3), checkSelectionWANSubnets},
		{"NATOnly", iso(2), checkSelectionNATOnly},
		{"Eligibility", iso(2), checkSelectionEligibility},
		{"WANFailover", iso(50), checkSelectionWANFailover},
		{"CandidateLimit", iso(1), checkSelectionCandidateLimit},
		{"CandidateCount", iso(10), checkSelectionCandidateCount},
		{"LANSubnetLimit", iso(10), checkSelectionLANSubnetLimit},
	}
}

// acquireExact acquires n of typ for a (which must succeed) and releases
// them again unless keep.
func (s *session) acquireExact(t T, a *acct, typ string, n int, keep bool) []vinfo {
	t.Helper()
	vs := s.acquireN(t, a, typ, n)
	s.commonChecks(t, fmt.Sprintf("%s %d", typ, n), vs)
	if !keep {
		s.mustRelease(t, a, handlesOf(vs)...)
	}
	return vs
}

// checkSelectionMixed: §13: 3 same-subnet + 7 distinct-subnet + 13 NAT
// nodes: random 23 / 24, wan 8 / 9, nat 13 / 14.
func checkSelectionMixed(t T, s *session) {
	s.withCleanupDelay(t, 0)
	a := s.newAccount(t, 30)
	port := s.userPort(t, a)
	s.isolate(t)
	s.addNodes(t, 3, oneSubnet)
	s.addNodes(t, 7, ownSubnets)
	s.addNodes(t, 13, behindNAT)

	s.acquireExact(t, a, "random", 23, false)
	err := s.acquireFault(t, a, rs("random", int64(24)), 24)
	s.wantFault(t, "random 24", err, 105, unable("Requested 24 rand vessels, but we only have 23 vessels with port %d available.", port))

	vs := s.acquireExact(t, a, "wan", 8, false)
	s.wantWAN(t, "wan 8", vs)
	err = s.acquireFault(t, a, rs("wan", int64(9)), 9)
	s.wantFault(t, "wan 9", err, 105, unable("Requested 9 wan vessels, but we only have vessels with port %d available on 8 subnets.", port))

	for _, v := range s.acquireExact(t, a, "nat", 13, false) {
		if !strings.HasPrefix(v.NodeIP, "NAT$") {
			s.errorf(t, "nat 13: %s is not behind NAT", v.Handle)
		}
	}
	err = s.acquireFault(t, a, rs("nat", int64(14)), 14)
	s.wantFault(t, "nat 14", err, 105, unable(msgNATDisabled))
	s.wantNothingHeld(t, "after the failed requests", a)
}

// checkSelectionLAN: §13: 29 same-subnet + 7 distinct-subnet nodes: lan 5
// lands in the big subnet, lan 29 succeeds, lan 30 is 105 (B).
func checkSelectionLAN(t T, s *session) {
	s.withCleanupDelay(t, 0)
	a := s.newAccount(t, 30)
	port := s.userPort(t, a)
	s.isolate(t)
	big := s.addNodes(t, 29, oneSubnet)
	s.addNodes(t, 7, ownSubnets)
	n, err := s.controls().Node(s.ctx(t), big[0])
	s.must(t, "Node", err)
	bigSubnet := subnetOf(n.IP)

	s.wantLAN(t, "lan 5", s.acquireExact(t, a, "lan", 5, false), bigSubnet)
	s.wantLAN(t, "lan 29", s.acquireExact(t, a, "lan", 29, false), bigSubnet)
	err = s.acquireFault(t, a, rs("lan", int64(30)), 30)
	s.wantFault(t, "lan 30", err, 105, unable("No subnets exist with at least 30 active nodes that have a vessel available on port %d", port))
	s.wantLAN(t, "lan 1", s.acquireExact(t, a, "lan", 1, false), "")
}

// checkSelectionLANNoSubnets: with no active, non-broken, non-NAT node,
// lan fails with detail (A), even though other kinds of request work.
func checkSelectionLANNoSubnets(t T, s *session) {
	a := s.newAccount(t, 5)
	s.isolate(t)
	s.addNodes(t, 1, behindNAT)
	sub := s.subnet()
	s.addNodeSpecs(t, []mockapi.NodeSpec{
		{ID: s.nextName("cfnode"), IP: sub + ".1", Broken: true},
		{ID: s.nextName("cfnode"), IP: sub + ".2", Inactive: true},
	})
	err := s.acquireFault(t, a, rs("lan", int64(1)), 1)
	s.wantFault(t, "lan 1 with a NAT node, a broken node and an inactive one", err, 105, unable("No subnets exist with at least 1 active nodes"))
	s.acquireExact(t, a, "random", 1, false)
}

// checkSelectionLANBatchFails: a subnet that qualifies but whose nodes
// all fail gives 105 with an empty detail (C).
func checkSelectionLANBatchFails(t T, s *session) {
	c := s.controls()
	a := s.newAccount(t, 5)
	s.isolate(t)
	for _, n := range s.addNodes(t, 3, oneSubnet) {
		s.must(t, "InjectFailure", c.InjectFailure(s.ctx(t), n, mockapi.Failure{Always: true}))
	}
	err := s.acquireFault(t, a, rs("lan", int64(2)), 2)
	s.wantFault(t, "lan 2 on a failing subnet", err, 105, msgUnable)
	s.wantNothingHeld(t, "after the failed lan 2", a)
}

// checkSelectionWANSubnets: wan takes one vessel per /24 at most.
func checkSelectionWANSubnets(t T, s *session) {
	s.withCleanupDelay(t, 0)
	a := s.newAccount(t, 5)
	port := s.userPort(t, a)
	s.isolate(t)
	s.addNodes(t, 3, oneSubnet)
	s.addNodes(t, 1, ownSubnets)
	s.wantWAN(t, "wan 2", s.acquireExact(t, a, "wan", 2, false))
	err := s.acquireFault(t, a, rs("wan", int64(3)), 3)
	s.wantFault(t, "wan 3 over 2 subnets", err, 105, unable("Requested 3 wan vessels, but we only have vessels with port %d available on 2 subnets.", port))
	s.acquireExact(t, a, "random", 3, false)
}

// checkSelectionNATOnly: NAT nodes serve random and nat, never wan or lan.
func checkSelectionNATOnly(t T, s *session) {
	s.withCleanupDelay(t, 0)
	a := s.newAccount(t, 5)
	port := s.userPort(t, a)
	s.isolate(t)
	s.addNodes(t, 2, behindNAT)
	err := s.acquireFault(t, a, rs("wan", int64(1)), 1)
	s.wantFault(t, "wan 1 with only NAT nodes", err, 105, unable("Requested 1 wan vessels, but we only have vessels with port %d available on 0 subnets.", port))
	err = s.acquireFault(t, a, rs("lan", int64(1)), 1)
	s.wantFault(t, "lan 1 with only NAT nodes", err, 105, unable("No subnets exist with at least 1 active nodes"))
	s.acquireExact(t, a, "nat", 2, false)
	s.acquireExact(t, a, "random", 2, false)
}

// checkSelectionEligibility: acquire_resources offers only free, clean
// vessels with the user's port on active, non-broken nodes (§8).
func checkSelectionEligibility(t T, s *session) {
	s.withCleanupDelay(t, time.Hour)
	a, b := s.newAccount(t, 5), s.newAccount(t, 5)
	port := s.userPort(t, a)
	other := 63100
	if port == other {
		other = 63101
	}
	s.isolate(t)
	sub := s.subnet()
	ids := s.addNodeSpecs(t, []mockapi.NodeSpec{
		{ID: s.nextName("cfnode"), IP: sub + ".1"},
		{ID: s.nextName("cfnode"), IP: sub + ".2", Broken: true},
		{ID: s.nextName("cfnode"), IP: sub + ".3", Inactive: true},
		{ID: s.nextName("cfnode"), IP: sub + ".4", Vessels: []mockapi.VesselSpec{{Name: "v2", Ports: []int{other}}}},
		{ID: s.nextName("cfnode"), IP: sub + ".5"},
		{ID: s.nextName("cfnode"), IP: sub + ".6"},
	})
	good := s.vesselFor(t, ids[0], port)
	dirty := s.vesselFor(t, ids[4], port)
	held := s.vesselFor(t, ids[5], port)
	// Make one vessel dirty and another held by someone else.
	for _, h := range []string{dirty, held} {
		s.mustSpecific(t, "acquire_specific_vessels for the other account", b, 1, 1, h)
	}
	s.mustRelease(t, b, dirty)

	err := s.acquireFault(t, a, rs("random", int64(2)), 2)
	s.wantFault(t, "random 2 with one eligible vessel", err, 105, unable("Requested 2 rand vessels, but we only have 1 vessels with port %d available.", port))
	if got := s.acquireExact(t, a, "random", 1, true)[0].Handle; got != good {
		s.errorf(t, "random 1 gave %s, want the only eligible vessel %s", got, good)
	}
	// With that one held, nothing is eligible: wan finds no subnet, and
	// lan finds active subnets but none with an available vessel (B).
	err = s.acquireFault(t, a, rs("wan", int64(1)), 1)
	s.wantFault(t, "wan 1 with no eligible vessel", err, 105, unable("Requested 1 wan vessels, but we only have vessels with port %d available on 0 subnets.", port))
	err = s.acquireFault(t, a, rs("lan", int64(1)), 1)
	s.wantFault(t, "lan 1 with no eligible vessel", err, 105, unable("No subnets exist with at least 1 active nodes that have a vessel available on port %d", port))
}

// checkSelectionWANFailover: §13: 100 WAN nodes, every other one failing,
// 4 donations (50 credits): wan 50 succeeds after several rounds (§8.1).
func checkSelectionWANFailover(t T, s *session) {
	c := s.controls()
	a := s.newAccount(t, 10)
	s.isolate(t)
	nodes := s.addNodes(t, 100, ownSubnets)
	failing := map[string]bool{}
	for i, n := range nodes {
		if i%2 == 1 {
			failing[n] = true
			s.must(t, "InjectFailure", c.InjectFailure(s.ctx(t), n, mockapi.Failure{Always: true}))
		}
	}
	for i := 0; i < 8; i += 2 {
		s.must(t, "AddDonation", c.AddDonation(s.ctx(t), nodes[i], a.name))
	}
	if m := s.accountInfo(t, a).MaxVessels; m != 50 {
		s.fatalf(t, "max_vessels %d with 10 free credits and 4 donations, want 50", m)
	}
	vs := s.acquireExact(t, a, "wan", 50, true)
	s.wantWAN(t, "wan 50", vs)
	for _, v := range vs {
		if failing[v.NodeID] {
			s.errorf(t, "wan 50 returned %s, on a node whose acquisitions all fail", v.Handle)
		}
	}
}

// checkSelectionCandidateLimit: random and wan try only the first
// K = 2n+10 candidates of their random list (§8). With 60 nodes of which
// only one does not fail, a request for 1 finds it with probability
// 12/60; a server that tried every candidate would always succeed. Ten
// tries of each type all succeeding has a probability of 1e-7.
func checkSelectionCandidateLimit(t T, s *session) {
	c := s.controls()
	s.withCleanupDelay(t, 0)
	a := s.newAccount(t, 1)
	s.isolate(t)
	nodes := s.addNodes(t, 60, ownSubnets)
	for _, n := range nodes[1:] {
		s.must(t, "InjectFailure", c.InjectFailure(s.ctx(t), n, mockapi.Failure{Always: true}))
	}
	for _, typ := range []string{"random", "wan"} {
		ok := 0
		for range 10 {
			res, err := s.acquire(t, a, rs(typ, int64(1)), 1)
			if err != nil {
				s.wantFault(t, typ+" 1", err, 105, unable(msgBatchFailed))
				continue
			}
			ok++
			s.mustRelease(t, a, handlesOf(s.infodicts(t, typ+" 1", res, 1))...)
		}
		s.logf(t, "%s 1: %d of 10 tries found the one working node among 60 (expected about 2)", typ, ok)
		if ok == 10 {
			s.errorf(t, "%s 1 succeeded 10 times in 10; only the first 12 of 60 candidates may be tried", typ)
		}
	}
}

// Expiry: leases, renewal and cleanup with the mock clock (contract §9).
func expiryChecks() []check {
	return append([]check{
		{"LeaseRunsOut", needs{controls: true, vessels: 2}, checkExpiryLease},
		{"RenewResets", needs{controls: true, vessels: 1}, checkExpiryRenew},
		{"ReacquireAfterCleanupDelay", needs{controls: true, isolated: true, vessels: 1}, checkExpiryReacquire},
		{"ExpiredThenSpecific", needs{controls: true, vessels: 1}, checkExpirySpecific},
		{"CleanupWaitsForNode", needs{controls: true, vessels: 1}, checkExpiryCleanupWaits},
	}, exactChecks()...)
}

// checkExpiryLease: a vessel vanishes when its 4 hours are up; it no
// longer counts, and release and renew skip it.
func checkExpiryLease(t T, s *session) {
	a := s.newAccount(t, 1)
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.advance(t, acquireLease*time.Second-10*time.Second)
	v, ok := s.holdingMap(t, a)[h]
	if !ok || v.Expires > 10 || v.Expires < 10-s.slack {
		s.errorf(t, "10 s before expiry: held %v, expires_in_seconds %d; want about 10", ok, v.Expires)
	}
	err := s.acquireFault(t, a, rs("random", int64(1)), 1)
	s.wantFault(t, "random 1 while holding 1 of 1", err, 103, msgNotEnough)
	s.advance(t, 11*time.Second)
	if _, ok := s.holdingMap(t, a)[h]; ok {
		s.fatalf(t, "the vessel is still listed after its lease ran out")
	}
	s.mustRelease(t, a, h)
	s.mustRenew(t, a, h)
	if _, ok := s.holdingMap(t, a)[h]; ok {
		s.errorf(t, "renewing an expired vessel made it held again")
	}
	s.acquireN(t, a, "random", 1) // the expired vessel no longer counts
}

// checkExpiryRenew: renew resets the lease to 7 days from now, however
// much was left, and the vessel then lasts exactly that long.
func checkExpiryRenew(t T, s *session) {
	a := s.newAccount(t, 1)
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.advance(t, time.Hour)
	s.mustRenew(t, a, h)
	s.checkLease(t, "renewed after 1 h", []vinfo{s.holdingMap(t, a)[h]}, renewLease)
	s.advance(t, 6*24*time.Hour)
	v := s.holdingMap(t, a)[h]
	if v.Expires > 24*60*60 || v.Expires < 24*60*60-s.slack {
		s.errorf(t, "6 days after a renewal: expires_in_seconds %d, want about one day", v.Expires)
	}
	s.mustRenew(t, a, h)
	s.checkLease(t, "renewed again with a day left", []vinfo{s.holdingMap(t, a)[h]}, renewLease)
	s.advance(t, renewLease*time.Second+time.Second)
	if _, ok := s.holdingMap(t, a)[h]; ok {
		s.errorf(t, "the vessel outlived its renewed lease")
	}
}

// checkExpiryReacquire: an expired vessel is dirty; acquire_resources
// offers it again only after the cleanup delay (§9). Also drives the
// clock with SetTime.
func checkExpiryReacquire(t T, s *session) {
	c := s.controls()
	s.withCleanupDelay(t, time.Hour)
	a := s.newAccount(t, 1)
	port := s.userPort(t, a)
	s.isolate(t)
	s.addNodes(t, 1, ownSubnets)
	h := s.acquireN(t, a, "random", 1)[0].Handle
	now, err := c.Now(s.ctx(t))
	s.must(t, "Now", err)
	s.must(t, "SetTime", c.SetTime(s.ctx(t), now.Add(acquireLease*time.Second)))
	s.wantNothingHeld(t, "after the lease ran out", a)
	if v := s.vesselState(t, h); v.Owner != "" || !v.Dirty {
		s.errorf(t, "the expired vessel: owner %q dirty %v, want free and dirty", v.Owner, v.Dirty)
	}
	err = s.acquireFault(t, a, rs("random", int64(1)), 1)
	s.wantFault(t, "random 1 before the cleanup delay", err, 105,
		unable("Requested 1 rand vessels, but we only have 0 vessels with port %d available.", port))
	s.advance(t, time.Hour+time.Second)
	if got := s.acquireN(t, a, "random", 1)[0].Handle; got != h {
		s.errorf(t, "after the cleanup delay random 1 gave %s, want %s again", got, h)
	}
}

// checkExpirySpecific: an expired vessel is free for
// acquire_specific_vessels at once, dirty or not (§5.11, §9).
func checkExpirySpecific(t T, s *session) {
	s.withCleanupDelay(t, time.Hour)
	a := s.newAccount(t, 1)
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.advance(t, acquireLease*time.Second+time.Second)
	vs := s.mustSpecific(t, "acquire_specific_vessels of the expired vessel", a, 1, 1, h)
	s.checkLease(t, "the vessel taken again", vs, acquireLease)
	if v := s.vesselState(t, h); v.Owner != a.name || !v.Dirty {
		s.errorf(t, "the expired vessel taken again: owner %q dirty %v, want owned and still dirty", v.Owner, v.Dirty)
	}
}

// Restart: the target stops and starts again on its state; accounts,
// keys and holdings survive.
func restartChecks() []check {
	return append([]check{
		{"StateSurvives", needs{restart: true, vessels: 3}, checkRestart},
	}, durabilityChecks()...)
}

func checkRestart(t T, s *session) {
	a := s.main()
	vs := s.acquireN(t, a, "random", 2)
	s.mustRenew(t, a, vs[0].Handle)
	before := s.holdingMap(t, a)
	var created *acct
	var createdHandle string
	if s.controls() != nil {
		created = s.newAccount(t, 2)
		createdHandle = s.acquireN(t, created, "random", 1)[0].Handle
	}
	s.mu.Lock()
	targets := append([]*acct(nil), s.accounts[:len(s.tg.Accounts)]...)
	s.mu.Unlock()
	infos := map[*acct]acctInfo{}
	for _, x := range targets {
		infos[x] = s.accountInfo(t, x)
	}

	start := time.Now()
	s.restart(t)
	elapsed := int64(time.Since(start)/time.Second) + 1
	s.logf(t, "restarted in %v; now at %s", time.Since(start).Round(time.Millisecond), s.url())

	after := s.holdingMap(t, a)
	for h, b := range before {
		v, ok := after[h]
		switch {
		case !ok:
			s.errorf(t, "after the restart %s is no longer held", h)
		case v.Expires > b.Expires || v.Expires < b.Expires-elapsed-s.slack:
			s.errorf(t, "after the restart %s expires in %d s, before in %d s (%d s passed)", h, v.Expires, b.Expires, elapsed)
		}
	}
	for _, x := range targets {
		if info := s.accountInfo(t, x); info != infos[x] {
			s.errorf(t, "account %s after the restart: %+v, before: %+v", x.name, info, infos[x])
		}
	}
	if created != nil {
		if _, ok := s.holdingMap(t, created)[createdHandle]; !ok {
			s.errorf(t, "the account created through Controls lost its vessel in the restart")
		}
		if _, err := s.controls().Now(s.ctx(t)); err != nil {
			s.errorf(t, "the Controls do not answer after the restart: %v", err)
		}
	}
}

// restart runs the target's Restart hook and reconnects.
func (s *session) restart(t T) {
	t.Helper()
	s.mu.Lock()
	hook := s.tg.Restart
	s.mu.Unlock()
	s.relaunch(t, "restarting", hook)
}

// checkExpiryCleanupWaits: a dirty vessel on a broken node stays dirty
// past the cleanup delay until the node is repaired, and an owned vessel
// is never cleaned (§9).
func checkExpiryCleanupWaits(t T, s *session) {
	c := s.controls()
	s.withCleanupDelay(t, time.Hour)
	a := s.newAccount(t, 1)
	node := s.addNodes(t, 1, ownSubnets)[0]
	h := node + ":v2"
	take := func() {
		t.Helper()
		s.mustSpecific(t, "acquire_specific_vessels", a, 1, 1, h)
	}
	take()
	s.mustRelease(t, a, h)
	take() // dirty, and now owned
	s.advance(t, time.Hour+time.Second)
	if v := s.vesselState(t, h); !v.Dirty {
		s.errorf(t, "an owned dirty vessel was cleaned")
	}
	s.mustRelease(t, a, h)
	s.must(t, "SetNodeBroken", c.SetNodeBroken(s.ctx(t), node, true))
	s.advance(t, time.Hour+time.Second)
	if v := s.vesselState(t, h); !v.Dirty || v.Available {
		s.errorf(t, "a dirty vessel on a broken node past the cleanup delay: dirty %v available %v, want dirty", v.Dirty, v.Available)
	}
	s.must(t, "SetNodeBroken", c.SetNodeBroken(s.ctx(t), node, false))
	s.advance(t, time.Hour+time.Second)
	if v := s.vesselState(t, h); v.Dirty || !v.Available {
		s.errorf(t, "the vessel once its node is repaired and the delay has passed: dirty %v available %v, want clean and available", v.Dirty, v.Available)
	}
}
