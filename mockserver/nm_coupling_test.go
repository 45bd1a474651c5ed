package mockserver

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// The clearinghouse's state and the node managers move together, as the
// real backend couples them (docs/nodemanager-api.md §8.4).

// TestNodeManagerAcquireSetsUser: the user key is the account's public
// key, in the node manager's canonical form, as soon as the acquisition is
// answered, and the node listens already.
func TestNodeManagerAcquireSetsUser(t *testing.T) {
	t.Parallel()
	s := nmServer(t, WithPopulation(PopulationConfig{Nodes: 10, Seed: 2}))
	pub, priv := testKeys()[0], testKeys()[1]
	fields := strings.Fields(pub)
	a := addUser(t, s, "alice", func(spec *mockapi.AccountSpec) { spec.PublicKey = "+" + fields[0] + "   0" + fields[1] })
	res := mustCall(t, s, "acquire_resources", auth(a), rspec("wan", int64(1)))
	info := res.([]any)[0].(map[string]any)
	handle := info["handle"].(string)
	addr := info["node_ip"].(string) + ":" + strconv.Itoa(info["node_port"].(int))
	v, err := s.VesselNodeManager(handle)
	must(t, err)
	if len(v.UserKeys) != 1 || v.UserKeys[0] != pub || v.Addr != addr {
		t.Fatalf("after the acquisition: %+v, reported at %s", v, addr)
	}
	reply := nmSay(t, addr, nmproto.GetVessels)
	if !strings.Contains(reply, "UserKey: "+pub+"\n") {
		t.Errorf("GetVessels does not show the user key:\n%s", reply)
	}
	sg := newSigner(t, pub, priv, handle, addr)
	wantReply(t, "the user's call", sg.say(nmproto.ListFilesInVessel), "\nSuccess")
}

// TestNodeManagerBackendTimestamp: the clearinghouse's ChangeUsers leaves
// its timestamp on the vessel, so a request signed before the acquisition
// is refused as out of order, and one signed after it is accepted.
func TestNodeManagerBackendTimestamp(t *testing.T) {
	t.Parallel()
	clock := &nmClock{}
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	clock.set(now)
	s := nmServer(t, WithPopulation(PopulationConfig{Nodes: 10, Seed: 2}), withNMClock(clock))
	a := addUser(t, s, "alice")
	handle := acquire(t, s, a, "wan", 1)[0]
	sg := newSigner(t, a.PublicKey, a.PrivateKey, handle, nmAddr(t, s, handle))
	meta, ok := nmMeta(t, s, handle)
	if !ok || !strings.Contains(meta, "!"+nmproto.FormatFloat(nmproto.NTPTime(now), nmproto.FullForm)+"!") {
		t.Fatalf("stored trailer %q, want the acquisition's time", meta)
	}
	at := nmproto.NTPTime(now)
	wantReply(t, "a second before", nmSay(t, sg.addr, sg.at(at-1, nmproto.ListFilesInVessel)),
		"Signature problem: Timestamps out of order\nError")
	wantReply(t, "the same time", nmSay(t, sg.addr, sg.at(at, nmproto.ListFilesInVessel)),
		"Signature problem: Timestamps match\nError")
	wantReply(t, "a millisecond after", nmSay(t, sg.addr, sg.at(at+0.001, nmproto.ListFilesInVessel)), "\nSuccess")
	// Expiry is judged on the node managers' (wall) clock, not the mock
	// clock, which here is frozen in 2030.
	wantReply(t, "expired", nmSay(t, sg.addr, sg.at(at-3600.5, nmproto.ListFilesInVessel)),
		"Bad Signature on '"+sg.at(at-3600.5, nmproto.ListFilesInVessel)+"'\nError")
}

// TestNodeManagerSetPublicKey: set_public_key moves the held vessels to
// the new key before it answers; the old key is refused there.
func TestNodeManagerSetPublicKey(t *testing.T) {
	t.Parallel()
	s := nmServer(t, WithPopulation(PopulationConfig{Nodes: 10, Seed: 2}), WithCleanupDelay(time.Hour))
	a := addUser(t, s, "alice")
	hs := acquire(t, s, a, "wan", 2)
	mustCall(t, s, "release_resources", auth(a), anyList(hs[1:])) // dirty for an hour
	pub2, priv2, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{9}), 512)
	must(t, err)
	mustCall(t, s, "set_public_key", pwauth(a), pub2.String())
	held, _ := s.VesselNodeManager(hs[0])
	released, _ := s.VesselNodeManager(hs[1])
	if len(held.UserKeys) != 1 || held.UserKeys[0] != pub2.String() {
		t.Errorf("held vessel's users %v, want the new key", held.UserKeys)
	}
	if len(released.UserKeys) != 1 || released.UserKeys[0] != a.PublicKey {
		t.Errorf("released vessel's users %v, want the old key until its cleanup", released.UserKeys)
	}
	addr := nmAddr(t, s, hs[0])
	oldKey := newSigner(t, a.PublicKey, a.PrivateKey, hs[0], addr)
	newKey := newSigner(t, pub2.String(), priv2.String(), hs[0], addr)
	wantReply(t, "old key", oldKey.say(nmproto.ListFilesInVessel), "Insufficient Permissions\nError")
	wantReply(t, "new key", newKey.say(nmproto.ListFilesInVessel), "\nSuccess")
}

// TestNodeManagerCleanup: after a release, until the cleanup delay has
// passed, the old user's key works and the files stay; then the vessel
// has no users and is reset. The same after an expiry. Without the
// cleanup's node manager listening (no vessel held there, no admin
// control asking) the node closes its listener.
func TestNodeManagerCleanup(t *testing.T) {
	t.Parallel()
	s := nmServer(t, WithPopulation(PopulationConfig{Nodes: 10, Seed: 2}), WithCleanupDelay(time.Hour))
	a := addUser(t, s, "alice")
	hs := acquire(t, s, a, "wan", 2)
	sgs := make([]*nmSigner, 2)
	for i, h := range hs {
		v, _ := s.VesselNodeManager(h)
		sgs[i] = newSigner(t, a.PublicKey, a.PrivateKey, h, v.Addr)
		wantReply(t, "upload", sgs[i].say(nmproto.AddFileToVessel, "f", "data"), "\nSuccess")
		wantReply(t, "start", sgs[i].say(nmproto.StartVessel, "f"), "Started\nSuccess")
	}
	nmAddr(t, s, hs[0]) // keep the first node listening after its cleanup
	mustCall(t, s, "release_resources", auth(a), anyList(hs[:1]))
	must(t, s.Advance(59*time.Minute))
	wantReply(t, "before the cleanup", sgs[0].say(nmproto.ListFilesInVessel), "f\nSuccess")
	must(t, s.Advance(time.Minute))
	wantReply(t, "after the cleanup", sgs[0].say(nmproto.ListFilesInVessel), "Insufficient Permissions\nError")
	v, _ := s.VesselNodeManager(hs[0])
	if v.Status != "Fresh" || len(v.Files) != 0 || len(v.UserKeys) != 0 || v.Log != "" || v.Addr == "" {
		t.Errorf("after the cleanup: %+v", v)
	}
	if !strings.Contains(nmSay(t, sgs[0].addr, nmproto.GetVessels), "Status: Fresh\n") {
		t.Error("GetVessels does not show the cleaned vessel Fresh")
	}

	// The second vessel's lease runs out (4 hours after the acquisition),
	// an hour later the cleanup.
	must(t, s.Advance(AcquireLease-time.Hour))
	if held, _ := s.Holdings(a.Username); len(held) != 0 {
		t.Fatalf("holding %d vessels after the lease", len(held))
	}
	wantReply(t, "expired, before the cleanup", sgs[1].say(nmproto.ReadVesselLog), func() string {
		v, _ := s.VesselNodeManager(hs[1])
		return v.Log + "\nSuccess"
	}())
	must(t, s.Advance(time.Hour))
	if _, err := nmExchange(sgs[1].addr, sgs[1].sign(nmproto.ReadVesselLog)); err == nil {
		t.Error("the node of the cleaned vessel still listens")
	}
	v, _ = s.VesselNodeManager(hs[1])
	if v.Addr != "" || v.Status != "Fresh" || len(v.UserKeys) != 0 {
		t.Errorf("after the expiry's cleanup: %+v", v)
	}
	if st, _ := s.NodeManagers(); st.Listeners != 1 {
		t.Errorf("%d listeners, want the one an admin control asked for", st.Listeners)
	}
}

// TestNodeManagerDirtySpecific: a dirty vessel taken by
// acquire_specific_vessels gets the cleanup it was owed before its new
// user does.
func TestNodeManagerDirtySpecific(t *testing.T) {
	t.Parallel()
	s := nmServer(t, WithPopulation(PopulationConfig{Nodes: 10, Seed: 2}), WithCleanupDelay(time.Hour))
	a := addUser(t, s, "alice")
	b := addUser(t, s, "bob")
	h := acquire(t, s, a, "wan", 1)[0]
	sg := newSigner(t, a.PublicKey, a.PrivateKey, h, nmAddr(t, s, h))
	wantReply(t, "upload", sg.say(nmproto.AddFileToVessel, "secret", "alice's"), "\nSuccess")
	mustCall(t, s, "release_resources", auth(a), []any{h})
	mustCall(t, s, "acquire_specific_vessels", auth(b), []any{h})
	v, _ := s.VesselNodeManager(h)
	if len(v.Files) != 0 || v.Status != "Fresh" {
		t.Errorf("bob's vessel still has alice's files: %+v", v)
	}
	if len(v.UserKeys) != 1 || v.UserKeys[0] != b.PublicKey {
		t.Errorf("users %v, want bob's key", v.UserKeys)
	}
}

// TestNodeManagerReset: Reset closes every listener and forgets every node
// manager's state.
func TestNodeManagerReset(t *testing.T) {
	t.Parallel()
	s := nmServer(t, WithPopulation(PopulationConfig{Nodes: 10, Seed: 2}))
	a := addUser(t, s, "alice")
	h := acquire(t, s, a, "wan", 1)[0]
	addr := nmAddr(t, s, h)
	must(t, s.AppendVesselLog(h, "x"))
	must(t, s.Reset())
	if st, _ := s.NodeManagers(); st.Listeners != 0 || st.DiskUsed != 0 {
		t.Errorf("after Reset: %+v", st)
	}
	if _, err := nmExchange(addr, nmproto.GetVessels); err == nil {
		t.Error("the node still listens after Reset")
	}
}
