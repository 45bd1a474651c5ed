package mockserver

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// vesselsOf returns the Vessel records for handles.
func vesselsOf(t *testing.T, s *Server, handles []string) []mockapi.Vessel {
	t.Helper()
	out := make([]mockapi.Vessel, len(handles))
	for i, h := range handles {
		node, name, _ := strings.Cut(h, ":")
		vs, _, err := s.Vessels(VesselFilter{NodeID: node})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if v.Name == name {
				out[i] = v
			}
		}
		if out[i].Handle == "" {
			t.Fatalf("no vessel %s", h)
		}
	}
	return out
}

func subnetOfIP(ip string) string {
	s, _ := subnetOf(ip)
	return s
}

func TestSelectionRules(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithSeed(7))
	// A mixed world: three LAN clusters, twenty lone WAN nodes, ten NAT
	// nodes; some nodes inactive or broken.
	addNodes(t, s, "lanA", sameSubnet("10.1.1", 12)...)
	addNodes(t, s, "lanB", sameSubnet("10.1.2", 6)...)
	addNodes(t, s, "lanC", sameSubnet("10.1.3", 9)...)
	addNodes(t, s, "wan", distinctSubnets(30, 20)...)
	addNodes(t, s, "nat", natAddrs(10)...)
	s.SetNodeActive("lanA0", false)
	s.SetNodeBroken("lanA1", true)
	s.SetNodeActive("wan0", false)
	s.SetNodeBroken("nat0", true)
	users := make([]mockapi.Account, 8)
	for i := range users {
		users[i] = addUser(t, s, fmt.Sprintf("user%d", i), func(a *mockapi.AccountSpec) {
			a.UserPort = userPortMin + 10*i + i // a different vessel for each
			a.FreeCredits = 100
		})
	}
	bad := map[string]bool{"lanA0": true, "lanA1": true, "wan0": true, "nat0": true}
	for round := range 20 {
		for _, u := range users {
			for _, tt := range []struct {
				typ string
				n   int
			}{{"lan", 1 + round%10}, {"wan", 1 + round%22}, {"nat", 1 + round%9}, {"random", 1 + round%46}} {
				got := acquire(t, s, u, tt.typ, tt.n)
				if len(got) != tt.n {
					t.Fatalf("%s %d: got %d", tt.typ, tt.n, len(got))
				}
				vs := vesselsOf(t, s, got)
				subnets := map[string]bool{}
				nodes := map[string]bool{}
				for _, v := range vs {
					if !slices.Contains(v.Ports, u.UserPort) {
						t.Fatalf("%s: vessel %s lacks port %d", tt.typ, v.Handle, u.UserPort)
					}
					if bad[v.NodeID] {
						t.Fatalf("%s: vessel on inactive or broken node %s", tt.typ, v.NodeID)
					}
					if nodes[v.NodeID] {
						t.Fatalf("%s: two vessels on node %s", tt.typ, v.NodeID)
					}
					nodes[v.NodeID] = true
					nat := strings.HasPrefix(v.NodeIP, "NAT$")
					switch tt.typ {
					case "nat":
						if !nat {
							t.Fatalf("nat gave %s", v.NodeIP)
						}
					case "wan", "lan":
						if nat {
							t.Fatalf("%s gave a NAT vessel", tt.typ)
						}
					}
					subnets[subnetOfIP(v.NodeIP)] = true
				}
				if tt.typ == "lan" && len(subnets) != 1 {
					t.Fatalf("lan %d spans subnets %v", tt.n, subnets)
				}
				if tt.typ == "wan" && len(subnets) != tt.n {
					t.Fatalf("wan %d spans %d subnets", tt.n, len(subnets))
				}
				mustCall(t, s, "release_resources", auth(u), anyList(got))
			}
		}
	}
	checkInvariants(t, s)
	// Upper limits: LAN clusters have 10, 6 and 9 usable nodes; 19 usable
	// lone WAN nodes; 9 usable NAT nodes.
	u := users[0]
	wantUnable := func(typ string, n int, detail string) {
		t.Helper()
		_, flt := call(t, s, "acquire_resources", auth(u), rspec(typ, int64(n)))
		wantFault(t, flt, 105, unableToAcquire+detail)
	}
	acquire(t, s, u, "lan", 10)
	wantUnable("lan", 11, "No subnets exist with at least 11 active nodes that have a vessel available on port 63100")
	// 10.1.1 is now fully held: 19 lone WAN subnets and 10.1.2, 10.1.3.
	wantUnable("wan", 22, "Requested 22 wan vessels, but we only have vessels with port 63100 available on 21 subnets.")
	wantUnable("random", 44, "Requested 44 rand vessels, but we only have 43 vessels with port 63100 available.")
	wantUnable("nat", 10, "Acquiring NAT vessels is currently disabled. ")
}

func TestLANNoActiveSubnet(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	addNodes(t, s, "nat", natAddrs(5)...)
	ids := addNodes(t, s, "lan", sameSubnet("10.0.0", 3)...)
	u := addUser(t, s, "alice")
	for _, id := range ids {
		s.SetNodeBroken(id, true)
	}
	_, flt := call(t, s, "acquire_resources", auth(u), rspec("lan", int64(2)))
	wantFault(t, flt, 105, unableToAcquire+"No subnets exist with at least 2 active nodes")
	// A subnet with live nodes but no free vessel is the other message.
	s.SetNodeBroken(ids[0], false)
	s.SetCleanupDelay(time.Hour)
	h := acquire(t, s, u, "lan", 1)
	mustCall(t, s, "release_resources", auth(u), anyList(h))
	_, flt = call(t, s, "acquire_resources", auth(u), rspec("lan", int64(1)))
	wantFault(t, flt, 105, unableToAcquire+"No subnets exist with at least 1 active nodes that have a vessel available on port 63100")
}

func TestAllOrNothing(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"wan", "nat", "random", "lan"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, WithCleanupDelay(time.Hour))
			var ids []string
			switch typ {
			case "nat":
				ids = addNodes(t, s, "n", natAddrs(10)...)
			case "lan":
				ids = addNodes(t, s, "n", sameSubnet("10.2.3", 10)...)
			default:
				ids = addNodes(t, s, "n", distinctSubnets(40, 10)...)
			}
			for _, id := range ids[:4] {
				if err := s.InjectFailure(id, mockapi.Failure{Always: true}); err != nil {
					t.Fatal(err)
				}
			}
			u := addUser(t, s, "alice")
			detail := "Failed to acquire enough vessels to fulfill the request"
			if typ == "lan" {
				detail = "" // swallowed; no other subnet to try
			}
			_, flt := call(t, s, "acquire_resources", auth(u), rspec(typ, int64(7)))
			wantFault(t, flt, 105, unableToAcquire+detail)
			if held, _ := s.Holdings("alice"); len(held) != 0 {
				t.Fatalf("rollback left %d vessels", len(held))
			}
			// The six that were acquired and rolled back are dirty now.
			dirty, _, _ := s.Vessels(VesselFilter{State: mockapi.StateDirty})
			if len(dirty) != 6 {
				t.Fatalf("%d dirty vessels after rollback, want 6", len(dirty))
			}
			for _, v := range dirty {
				if slices.Contains(ids[:4], v.NodeID) {
					t.Fatalf("failing node %s has a dirty vessel", v.NodeID)
				}
			}
			checkInvariants(t, s)
			// Six is possible, but not while they are dirty.
			_, flt = call(t, s, "acquire_resources", auth(u), rspec(typ, int64(6)))
			if flt == nil || flt.Code != 105 {
				t.Fatalf("acquired dirty vessels: %v", flt)
			}
			s.Advance(time.Hour)
			acquire(t, s, u, typ, 6)
		})
	}
}

// attemptLog records acquisition attempts through injectFailureFunc.
type attemptLog struct {
	mu       sync.Mutex
	attempts []string
	fail     func(node string) bool
}

func (l *attemptLog) hook(node, vessel string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts = append(l.attempts, node)
	return l.fail(node)
}

func TestBatchOrder(t *testing.T) {
	t.Parallel()
	// 100 WAN nodes, every other one failing, 4 donations: 50 credits,
	// 50 WAN vessels (contract §13), in the exact rounds of §8.1.
	s := newTestServer(t, WithSeed(3))
	ids := addNodes(t, s, "w", distinctSubnets(50, 100)...)
	failing := map[string]bool{}
	for i, id := range ids {
		if i%2 == 1 {
			failing[id] = true
		}
	}
	u := addUser(t, s, "alice")
	for _, id := range ids[:4] {
		if err := s.AddDonation(id, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	log := &attemptLog{fail: func(n string) bool { return failing[n] }}
	must(t, s.injectFailureFunc(log.hook))
	got := acquire(t, s, u, "wan", 50)
	if len(got) != 50 {
		t.Fatalf("got %d", len(got))
	}
	for _, h := range got {
		if failing[strings.Split(h, ":")[0]] {
			t.Fatalf("acquired a vessel on a failing node")
		}
	}
	// Replay the rounds over the recorded attempt order.
	acquired, i, rounds := 0, 0, 0
	for acquired < 50 {
		size := 50 - acquired
		if i+size > len(log.attempts) {
			t.Fatalf("round %d needs %d attempts, only %d recorded", rounds+1, size, len(log.attempts)-i)
		}
		for _, n := range log.attempts[i : i+size] {
			if !failing[n] {
				acquired++
			}
		}
		i += size
		rounds++
	}
	if i != len(log.attempts) {
		t.Fatalf("%d attempts recorded, the rounds account for %d", len(log.attempts), i)
	}
	if rounds < 3 {
		t.Fatalf("only %d rounds; the scenario should need several", rounds)
	}
	t.Logf("%d attempts in %d rounds", i, rounds)
}

func TestInjectedFailures(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ids := addNodes(t, s, "w", distinctSubnets(60, 3)...)
	u := addUser(t, s, "alice")
	h := func(i int) string { return ids[i] + ":v2" }

	// Next k: the next two attempts on node 0 fail, the third succeeds.
	s.InjectFailure(ids[0], mockapi.Failure{Next: 2})
	for i := range 3 {
		res := mustCall(t, s, "acquire_specific_vessels", auth(u), []any{h(0)})
		if have, want := len(res.([]any)), map[bool]int{true: 1, false: 0}[i == 2]; have != want {
			t.Fatalf("attempt %d: got %d vessels, want %d", i+1, have, want)
		}
	}
	if n, _ := s.Node(ids[0]); n.Failure.Next != 0 {
		t.Fatalf("failure counter left at %d", n.Failure.Next)
	}
	// Attempts on held vessels do not consume the counter.
	s.InjectFailure(ids[0], mockapi.Failure{Next: 1})
	mustCall(t, s, "acquire_specific_vessels", auth(u), []any{h(0)})
	if n, _ := s.Node(ids[0]); n.Failure.Next != 1 {
		t.Fatal("an attempt on a held vessel consumed the failure counter")
	}
	// Always, until cleared.
	s.InjectFailure(ids[1], mockapi.Failure{Always: true})
	for range 3 {
		if res := mustCall(t, s, "acquire_specific_vessels", auth(u), []any{h(1)}); len(res.([]any)) != 0 {
			t.Fatal("an always-failing node gave a vessel")
		}
	}
	// Rate 1 fails everything; ClearFailures removes all of it.
	s.SetAcquireFailureRate(1)
	if res := mustCall(t, s, "acquire_specific_vessels", auth(u), []any{h(2)}); len(res.([]any)) != 0 {
		t.Fatal("rate 1 did not fail")
	}
	must(t, s.ClearFailures())
	res := mustCall(t, s, "acquire_specific_vessels", auth(u), []any{h(1), h(2)})
	if len(res.([]any)) != 2 {
		t.Fatal("ClearFailures left failures")
	}
	if err := s.InjectFailure("nope", mockapi.Failure{Always: true}); err == nil {
		t.Fatal("unknown node accepted")
	}
	if err := s.SetAcquireFailureRate(1.5); err == nil {
		t.Fatal("rate 1.5 accepted")
	}
}

func TestFailureRate(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithAcquireFailureRate(0.5), WithSeed(11))
	addNodes(t, s, "w", distinctSubnets(70, 200)...)
	u := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.FreeCredits = 1000 })
	ok, fail := 0, 0
	for range 50 {
		_, flt := call(t, s, "acquire_resources", auth(u), rspec("wan", int64(2)))
		if flt == nil {
			ok++
		} else {
			fail++
		}
	}
	if ok == 0 {
		t.Fatal("nothing succeeded at rate 0.5 with K = 14 candidates")
	}
	res := mustCall(t, s, "get_resource_info", auth(u)).([]any)
	if len(res) != 2*ok {
		t.Fatalf("holding %d vessels after %d successes", len(res), ok)
	}
	checkInvariants(t, s)
}

func TestSeedDeterminism(t *testing.T) {
	t.Parallel()
	run := func(seed int64) []string {
		s := newTestServer(t, WithSeed(seed), WithPopulation(PopulationConfig{Nodes: 300, NATFraction: 0.1, Seed: 5}))
		u := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.FreeCredits = 200; a.UserPort = 0 })
		var out []string
		for _, typ := range []string{"wan", "lan", "nat", "random"} {
			out = append(out, acquire(t, s, u, typ, 5)...)
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different selections")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave the same selections")
	}
}

// TestRandomSelectionIsUniform checks that the sampler gives every
// available vessel a fair chance.
func TestRandomSelectionIsUniform(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	addNodes(t, s, "w", distinctSubnets(80, 10)...)
	u := addUser(t, s, "alice")
	counts := map[string]int{}
	const rounds = 3000
	for range rounds {
		got := acquire(t, s, u, "random", 1)
		counts[got[0]]++
		mustCall(t, s, "release_resources", auth(u), anyList(got))
	}
	for h, c := range counts {
		if c < rounds/10/2 || c > rounds/10*2 {
			t.Errorf("%s chosen %d times of %d", h, c, rounds)
		}
	}
	if len(counts) != 10 {
		t.Errorf("only %d of 10 vessels ever chosen", len(counts))
	}
}

func TestMultiGroupPort(t *testing.T) {
	t.Parallel()
	// Custom port sets that overlap on port 63105 across nodes take the
	// slower merged path; the rules must hold there too.
	s := newTestServer(t)
	ports := func(lo int) []int {
		out := make([]int, 10)
		for i := range out {
			out[i] = lo + i
		}
		return out
	}
	var specs []mockapi.NodeSpec
	for i := range 6 {
		lo := 63100 + i%3 // three different sets, all holding 63105
		specs = append(specs, mockapi.NodeSpec{ID: fmt.Sprintf("a%d", i), IP: fmt.Sprintf("10.7.7.%d", i+1),
			Vessels: []mockapi.VesselSpec{{Name: "v2", Ports: ports(lo)}}})
		specs = append(specs, mockapi.NodeSpec{ID: fmt.Sprintf("b%d", i), IP: fmt.Sprintf("10.8.%d.1", i),
			Vessels: []mockapi.VesselSpec{{Name: "v2", Ports: ports(lo)}}})
	}
	if _, err := s.AddNodes(specs); err != nil {
		t.Fatal(err)
	}
	u := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.UserPort = 63105; a.FreeCredits = 20 })
	got := acquire(t, s, u, "lan", 6)
	if sn := subnetOfIP(vesselsOf(t, s, got)[0].NodeIP); sn != "10.7.7" {
		t.Fatalf("lan 6 landed in %s", sn)
	}
	mustCall(t, s, "release_resources", auth(u), anyList(got))
	acquire(t, s, u, "wan", 7)
	// Five vessels are left, all in 10.7.7.
	_, flt := call(t, s, "acquire_resources", auth(u), rspec("wan", int64(2)))
	wantFault(t, flt, 105, unableToAcquire+"Requested 2 wan vessels, but we only have vessels with port 63105 available on 1 subnets.")
	checkInvariants(t, s)
}
