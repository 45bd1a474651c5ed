package conformance

import (
	"context"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// Durability: every change is on disk before it is answered (contract
// §11, §16.2). A graceful restart proves little, since a server that shuts
// down cleanly can write everything it holds in memory at that moment; so
// each Kill check makes one kind of change, kills the target (Target.Kill:
// SIGKILL for a process) and checks that the change survived, on the wire
// and, with Controls, in the state they report. Each check's change is the
// last write before the kill, so an earlier record of the same object
// cannot mask a change that was never written.

func durabilityChecks() []check {
	kill := func(n needs) needs { n.kill = true; return n }
	return []check{
		{"TimersSurvive", needs{restart: true, controls: true, vessels: 1}, checkTimersSurvive},
		{"KillAfterAcquire", kill(needs{vessels: 1}), checkKillAfterAcquire},
		{"KillAfterSpecific", kill(needs{vessels: 1}), checkKillAfterSpecific},
		{"KillAfterRelease", kill(needs{vessels: 1}), checkKillAfterRelease},
		{"KillAfterRenew", kill(needs{vessels: 1}), checkKillAfterRenew},
		{"KillAfterRegenerateAPIKey", kill(needs{changes: true}), checkKillAfterRegenerate},
		{"KillAfterSetPublicKey", kill(needs{changes: true}), checkKillAfterSetPublicKey},
		{"KillAfterAddAccount", kill(needs{controls: true}), checkKillAfterAddAccount},
		{"KillAfterAccountChanges", kill(needs{controls: true}), checkKillAfterAccountChanges},
		{"KillAfterAddNodes", kill(needs{controls: true, vessels: 1}), checkKillAfterAddNodes},
		{"KillAfterNodeChanges", kill(needs{controls: true}), checkKillAfterNodeChanges},
		{"KillAfterDonation", kill(needs{controls: true}), checkKillAfterDonation},
		{"KillAfterFailureUsed", kill(needs{controls: true, vessels: 1}), checkKillAfterFailureUsed},
		{"KillAfterInjectFailure", kill(needs{controls: true, vessels: 1}), checkKillAfterInjectFailure},
		{"KillAfterClockChange", kill(needs{controls: true}), checkKillAfterClockChange},
	}
}

// kill runs the target's Kill hook and reconnects.
func (s *session) kill(t T) {
	t.Helper()
	s.mu.Lock()
	hook := s.tg.Kill
	s.mu.Unlock()
	start := time.Now()
	s.relaunch(t, "killing", hook)
	s.logf(t, "killed and started again in %v", time.Since(start).Round(time.Millisecond))
}

// relaunch runs a Restart or Kill hook and reconnects to the new instance.
func (s *session) relaunch(t T, what string, hook func(T, *Target) error) {
	t.Helper()
	s.mu.Lock()
	tg := s.tg
	s.mu.Unlock()
	if err := hook(t, &tg); err != nil {
		s.fatalf(t, "%s the target: %v", what, err)
	}
	s.mu.Lock()
	s.tg = tg
	err := s.connect()
	s.mu.Unlock()
	if err != nil {
		// Not under s.mu: reporting redacts through the session, which
		// takes it.
		s.fatalf(t, "%v", err)
	}
}

// durableAccount is the account a Kill check changes: a fresh one with
// Controls, else the main account.
func (s *session) durableAccount(t T, credits int) *acct {
	t.Helper()
	if s.controls() != nil {
		return s.newAccount(t, credits)
	}
	return s.main()
}

// vesselBefore returns what the Controls say of h, if there are Controls.
func (s *session) vesselBefore(t T, h string) (mockapi.Vessel, bool) {
	t.Helper()
	if s.controls() == nil {
		return mockapi.Vessel{}, false
	}
	return s.vesselState(t, h), true
}

// wantSameVessel checks that the Controls report h after the kill as they
// did before it: owner, lease times, dirty flag and since when.
func (s *session) wantSameVessel(t T, what, h string, before mockapi.Vessel, ok bool) {
	t.Helper()
	if !ok {
		return
	}
	after := s.vesselState(t, h)
	if after.Owner != before.Owner || after.Dirty != before.Dirty || !after.Acquired.Equal(before.Acquired) ||
		!after.Expires.Equal(before.Expires) || !after.DirtySince.Equal(before.DirtySince) {
		s.errorf(t, "%s: the vessel after the kill: owner %q, acquired %s, expires %s, dirty %v since %s;\nbefore: owner %q, acquired %s, expires %s, dirty %v since %s",
			what, after.Owner, stamp(after.Acquired), stamp(after.Expires), after.Dirty, stamp(after.DirtySince),
			before.Owner, stamp(before.Acquired), stamp(before.Expires), before.Dirty, stamp(before.DirtySince))
	}
}

// wantHeldAfterKill checks that get_resource_info lists h after the kill
// with the lease it had (less the time that passed).
func (s *session) wantHeldAfterKill(t T, what string, a *acct, h string, before int64, start time.Time) {
	t.Helper()
	elapsed := int64(time.Since(start)/time.Second) + 1
	v, ok := s.holdingMap(t, a)[h]
	switch {
	case !ok:
		s.errorf(t, "%s: after the kill get_resource_info no longer lists the vessel", what)
	case v.Expires > before || v.Expires < before-elapsed-s.slack:
		s.errorf(t, "%s: after the kill the vessel expires in %d s, before it in %d s (%d s passed)", what, v.Expires, before, elapsed)
	}
}

// checkKillAfterAcquire: an acquisition survives a kill.
func checkKillAfterAcquire(t T, s *session) {
	a := s.durableAccount(t, 1)
	v := s.acquireN(t, a, "random", 1)[0]
	before, ok := s.vesselBefore(t, v.Handle)
	start := time.Now()
	s.kill(t)
	s.wantHeldAfterKill(t, "acquire_resources", a, v.Handle, v.Expires, start)
	s.wantSameVessel(t, "acquire_resources", v.Handle, before, ok)
}

// checkKillAfterSpecific: an acquire_specific_vessels survives a kill.
func checkKillAfterSpecific(t T, s *session) {
	a := s.durableAccount(t, 1)
	h := s.freeHandles(t, a, 1)[0]
	vs := s.mustSpecific(t, "acquire_specific_vessels", a, 1, -1, h)
	s.takenMeanwhile(t, len(vs), 1)
	if len(vs) != 1 {
		s.fatalf(t, "acquire_specific_vessels of a free vessel returned %d vessels, want 1", len(vs))
	}
	before, ok := s.vesselBefore(t, h)
	start := time.Now()
	s.kill(t)
	s.wantHeldAfterKill(t, "acquire_specific_vessels", a, h, vs[0].Expires, start)
	s.wantSameVessel(t, "acquire_specific_vessels", h, before, ok)
}

// checkKillAfterRelease: a release survives a kill: the vessel stays
// free, and (with Controls) dirty since its release.
func checkKillAfterRelease(t T, s *session) {
	if s.controls() != nil {
		s.withCleanupDelay(t, time.Hour) // so that the dirty flag lasts
	}
	a := s.durableAccount(t, 1)
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.mustRelease(t, a, h)
	before, ok := s.vesselBefore(t, h)
	if ok && (!before.Dirty || before.Owner != "") {
		s.errorf(t, "after release: owner %q, dirty %v; want free and dirty", before.Owner, before.Dirty)
	}
	s.kill(t)
	if _, held := s.holdingMap(t, a)[h]; held {
		s.errorf(t, "after the kill the released vessel is held again")
	}
	s.wantSameVessel(t, "release_resources", h, before, ok)
}

// checkKillAfterRenew: a renewal survives a kill.
func checkKillAfterRenew(t T, s *session) {
	a := s.durableAccount(t, 1)
	h := s.acquireN(t, a, "random", 1)[0].Handle
	s.mustRenew(t, a, h)
	v := s.holdingMap(t, a)[h]
	before, ok := s.vesselBefore(t, h)
	start := time.Now()
	s.kill(t)
	s.wantHeldAfterKill(t, "renew_resources", a, h, v.Expires, start)
	s.wantSameVessel(t, "renew_resources", h, before, ok)
}

// checkKillAfterRegenerate: a new API key survives a kill, and the old
// one stays dead.
func checkKillAfterRegenerate(t T, s *session) {
	a := s.changeable(t)
	old := s.key(a)
	s.regenerateKey(t, a)
	s.kill(t)
	if _, err := s.call(t, "get_account_info", s.auth(a)); err != nil {
		s.errorf(t, "after the kill the new API key does not work: %v", err)
	}
	_, err := s.call(t, "get_account_info", map[string]any{"username": a.name, "api_key": old})
	s.wantFault(t, "after the kill the old API key", err, 101, msgAuthFailed)
}

// checkKillAfterSetPublicKey: a new public key survives a kill, stored
// verbatim. The key is the account's own, written with other spacing (and
// restored afterwards on an account the suite did not create).
func checkKillAfterSetPublicKey(t T, s *session) {
	a := s.changeable(t)
	pw := map[string]any{"username": a.name, "password": a.password}
	orig, _ := s.mustCall(t, "get_public_key", s.auth(a)).(string)
	f := strings.Fields(orig)
	if len(f) != 2 {
		s.fatalf(t, "the stored public key is not two numbers")
	}
	newKey := "  " + f[0] + "   " + f[1] + "\t"
	if !a.created {
		t.Cleanup(func() {
			ctx, cancel := s.cleanupCtx()
			defer cancel()
			if err := s.client().Call(ctx, "set_public_key", nil, pw, orig); err != nil {
				s.errorf(t, "cleanup: restoring the public key of %s: %v", a.name, err)
			}
		})
	}
	res, err := s.call(t, "set_public_key", pw, newKey)
	if err != nil {
		s.fatalf(t, "set_public_key: %v", err)
	}
	s.wantIntZero(t, "set_public_key", res)
	s.kill(t)
	if got := s.mustCall(t, "get_public_key", s.auth(a)); got != newKey {
		s.errorf(t, "after the kill get_public_key returns %.40q..., want the key set before it, verbatim", got)
	}
}

// checkKillAfterAddAccount: an account made through the Controls survives
// a kill, with its key, port and credits.
func checkKillAfterAddAccount(t T, s *session) {
	a := s.newAccount(t, 3)
	info := s.accountInfo(t, a)
	s.kill(t)
	res, err := s.call(t, "get_account_info", s.auth(a))
	if err != nil {
		s.fatalf(t, "after the kill the new account does not authenticate: %v", err)
	}
	if after, _ := parseAccountInfo(res); after != info {
		s.errorf(t, "after the kill get_account_info gives %+v, before %+v", after, info)
	}
}

// checkKillAfterAccountChanges: new free credits and a ban survive a kill.
func checkKillAfterAccountChanges(t T, s *session) {
	c := s.controls()
	a, b := s.newAccount(t, 1), s.newAccount(t, 1)
	s.must(t, "SetFreeCredits", c.SetFreeCredits(s.ctx(t), a.name, 7))
	s.must(t, "SetAccountActive", c.SetAccountActive(s.ctx(t), b.name, false))
	t.Cleanup(func() {
		if err := s.cleanupDo(func(ctx context.Context) error { return s.controls().SetAccountActive(ctx, b.name, true) }); err != nil {
			s.errorf(t, "cleanup: reactivating %s: %v", b.name, err)
		}
	})
	s.kill(t)
	if m := s.accountInfo(t, a).MaxVessels; m != 7 {
		s.errorf(t, "after the kill max_vessels is %d, want the 7 free credits set before it", m)
	}
	_, err := s.call(t, "get_account_info", s.auth(b))
	s.wantFault(t, "after the kill the account banned before it", err, 101, msgAuthFailed)
}

// checkKillAfterAddNodes: nodes added through the Controls survive a kill,
// with their vessels.
func checkKillAfterAddNodes(t T, s *session) {
	nodes := s.addNodes(t, 2, ownSubnets)
	s.kill(t)
	for _, id := range nodes {
		n, err := s.controls().Node(s.ctx(t), id)
		if err != nil {
			s.errorf(t, "after the kill the added node is unknown: %v", err)
			continue
		}
		if !n.Active || len(n.Vessels) != 8 {
			s.errorf(t, "after the kill the added node is active %v with %d vessels, want active with 8", n.Active, len(n.Vessels))
		}
	}
	a := s.newAccount(t, 1)
	s.mustSpecific(t, "after the kill acquire_specific_vessels of a vessel of an added node", a, 1, 1, nodes[0]+":v2")
}

// checkKillAfterNodeChanges: a node taken offline, one broken and one
// moved survive a kill.
func checkKillAfterNodeChanges(t T, s *session) {
	c := s.controls()
	nodes := s.addNodes(t, 3, ownSubnets)
	ip := s.subnet() + ".9"
	s.must(t, "SetNodeActive", c.SetNodeActive(s.ctx(t), nodes[0], false))
	s.must(t, "SetNodeBroken", c.SetNodeBroken(s.ctx(t), nodes[1], true))
	s.must(t, "SetNodeIP", c.SetNodeIP(s.ctx(t), nodes[2], ip))
	s.kill(t)
	want := []struct {
		what           string
		active, broken bool
	}{{"taken offline", false, false}, {"broken", true, true}, {"moved", true, false}}
	for i, id := range nodes {
		n, err := s.controls().Node(s.ctx(t), id) // the Controls of the new instance
		s.must(t, "Node", err)
		if n.Active != want[i].active || n.Broken != want[i].broken {
			s.errorf(t, "after the kill the node %s before it is active %v, broken %v; want active %v, broken %v",
				want[i].what, n.Active, n.Broken, want[i].active, want[i].broken)
		}
		if i == 2 && n.IP != ip {
			s.errorf(t, "after the kill the node moved to %s before it has the IP %s", ip, n.IP)
		}
	}
	s.must(t, "SetNodeBroken", s.controls().SetNodeBroken(s.ctx(t), nodes[1], false))
}

// checkKillAfterDonation: a donation survives a kill (§6).
func checkKillAfterDonation(t T, s *session) {
	a := s.newAccount(t, 1)
	node := s.addNodes(t, 1, ownSubnets)[0]
	s.must(t, "AddDonation", s.controls().AddDonation(s.ctx(t), node, a.name))
	s.kill(t)
	if m := s.accountInfo(t, a).MaxVessels; m != 11 {
		s.errorf(t, "after the kill max_vessels is %d, want 11 (1 free credit and the donation made before it)", m)
	}
}

// checkKillAfterFailureUsed: an injected "fail the next attempt" that an
// attempt used up stays used up after a kill (§11).
func checkKillAfterFailureUsed(t T, s *session) {
	a := s.newAccount(t, 1)
	node := s.addNodes(t, 1, ownSubnets)[0]
	h := node + ":v2"
	s.must(t, "InjectFailure", s.controls().InjectFailure(s.ctx(t), node, mockapi.Failure{Next: 1}))
	if vs := s.mustSpecific(t, "acquire_specific_vessels on a node failing once", a, 1, -1, h); len(vs) != 0 {
		s.fatalf(t, "acquire_specific_vessels on a node failing once took %v", handlesOf(vs))
	}
	s.kill(t)
	if vs := s.mustSpecific(t, "acquire_specific_vessels after the kill", a, 1, -1, h); len(vs) != 1 {
		s.errorf(t, "after the kill acquire_specific_vessels took %d vessels, want 1: the injected failure was used up before the kill", len(vs))
	}
}

// checkKillAfterInjectFailure: an injected failure is node state (§11):
// a node set to fail every attempt still fails after a kill.
func checkKillAfterInjectFailure(t T, s *session) {
	a := s.newAccount(t, 1)
	node := s.addNodes(t, 1, ownSubnets)[0]
	s.must(t, "InjectFailure", s.controls().InjectFailure(s.ctx(t), node, mockapi.Failure{Always: true}))
	s.kill(t)
	if vs := s.mustSpecific(t, "acquire_specific_vessels after the kill", a, 1, -1, node+":v2"); len(vs) != 0 {
		s.errorf(t, "after the kill acquire_specific_vessels took a vessel of a node set to fail every attempt before it")
	}
}

// checkKillAfterClockChange: the mock clock, set and advanced through the
// Controls, does not go back in a kill (§11: the clock resumes from the
// state file).
func checkKillAfterClockChange(t T, s *session) {
	c := s.controls()
	for _, step := range []struct {
		what   string
		change func(now time.Time) error
	}{
		{"SetTime", func(now time.Time) error { return c.SetTime(s.ctx(t), now.Add(time.Hour)) }},
		{"Advance", func(time.Time) error { return s.controls().Advance(s.ctx(t), time.Hour) }},
	} {
		s.must(t, step.what, step.change(s.now(t)))
		before := s.now(t)
		s.kill(t)
		if after := s.now(t); after.Before(before.Add(-time.Second)) {
			s.errorf(t, "after %s and a kill the mock clock reads %s, before the kill %s: it went back %v",
				step.what, stamp(after), stamp(before), before.Sub(after).Round(time.Millisecond))
		}
	}
}

// checkTimersSurvive: after a restart, a dirty vessel is still cleaned
// once the cleanup delay has passed, and a held one still expires at the
// end of its lease (§9): the restarted target rebuilt its timers.
func checkTimersSurvive(t T, s *session) {
	s.withCleanupDelay(t, time.Hour)
	a := s.newAccount(t, 2)
	nodes := s.addNodes(t, 2, ownSubnets)
	held, dirty := nodes[0]+":v2", nodes[1]+":v2"
	s.mustSpecific(t, "acquire_specific_vessels", a, 2, 2, held, dirty)
	s.mustRelease(t, a, dirty)
	s.restart(t)
	s.advance(t, time.Hour+time.Second)
	if v := s.vesselState(t, dirty); v.Dirty || !v.Available {
		s.errorf(t, "a vessel released before the restart, once the cleanup delay has passed: dirty %v, available %v; want clean and available", v.Dirty, v.Available)
	}
	if _, ok := s.holdingMap(t, a)[held]; !ok {
		s.errorf(t, "the vessel held across the restart is gone an hour into its lease")
	}
	s.advance(t, acquireLease*time.Second)
	if _, ok := s.holdingMap(t, a)[held]; ok {
		s.errorf(t, "the vessel held across the restart is still listed after its lease has ended")
	}
	if v := s.vesselState(t, held); v.Owner != "" {
		s.errorf(t, "the vessel held across the restart still has the owner %q after its lease has ended", v.Owner)
	}
}
