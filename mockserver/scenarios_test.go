package mockserver

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// The scenarios of contract §13, from the historical test suites.

func TestScenarioBadAuth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := map[string]any{"username": "alice", "api_key": "wrong"}
	for name := range authMethods(f) {
		params := []any{bad}
		if methods[name].arity == 2 {
			params = append(params, []any{})
		}
		_, flt := call(t, f.s, name, params...)
		wantFault(t, flt, 101, "User auth failed.")
		if len(params) == 2 {
			params[1] = map[string]any{}
			_, flt = call(t, f.s, name, params...)
			wantFault(t, flt, 101, "User auth failed.")
		}
		params[0] = "not a dict"
		_, flt = call(t, f.s, name, params...)
		wantFault(t, flt, 102, "Auth dict must be a dictionary, not a <type 'str'>")
		params[0] = map[string]any{"username": "alice"}
		_, flt = call(t, f.s, name, params...)
		wantFault(t, flt, 102, "Auth dict must contain both a 'username' and an 'api_key'.")
	}
}

func TestScenarioBadRspecs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, r := range []any{
		rspec("random", int64(-10)),
		rspec("wtf", int64(3)),
		rspec(int64(42), "a string"),
		rspec("", int64(0)),
		map[string]any{"number_of_nodes": int64(10)},
		map[string]any{"bad": "keys"},
	} {
		_, flt := call(t, f.s, "acquire_resources", auth(f.alice), r)
		if flt == nil || flt.Code != 102 {
			t.Errorf("rspec %v: have %v, want fault 102", r, flt)
		}
	}
}

func TestScenarioCredits(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"wan", "lan", "nat", "random"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t)
			addNodes(t, s, "w", distinctSubnets(90, 12)...)
			addNodes(t, s, "l", sameSubnet("10.3.3", 12)...)
			addNodes(t, s, "n", natAddrs(12)...)
			u := addUser(t, s, "alice")
			_, flt := call(t, s, "acquire_resources", auth(u), rspec(typ, int64(11)))
			wantFault(t, flt, 103, notEnoughCredits)
			acquire(t, s, u, typ, 1)
			acquire(t, s, u, typ, 9)
			_, flt = call(t, s, "acquire_resources", auth(u), rspec(typ, int64(1)))
			wantFault(t, flt, 103, notEnoughCredits)
		})
	}
}

func TestScenarioSpecific(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	addNodes(t, s, "w", distinctSubnets(91, 20)...)
	u := addUser(t, s, "alice")
	four := acquire(t, s, u, "wan", 4)
	var six []string
	six = append(six, four...)
	for _, v := range mustVessels(t, s, VesselFilter{State: mockapi.StateAvailable}) {
		if len(six) == 6 {
			break
		}
		if !slices.Contains(six, v.Handle) {
			six = append(six, v.Handle)
		}
	}
	res := mustCall(t, s, "acquire_specific_vessels", auth(u), anyList(six))
	if got := handlesOf(t, res); len(got) != 2 || !slices.Equal(got, six[4:]) {
		t.Fatalf("got %v, want the 2 new ones %v", got, six[4:])
	}
	// 10 - 6 + 1 = 5 more handles, free ones: 103.
	var five []string
	for _, v := range mustVessels(t, s, VesselFilter{State: mockapi.StateAvailable}) {
		if len(five) < 5 {
			five = append(five, v.Handle)
		}
	}
	_, flt := call(t, s, "acquire_specific_vessels", auth(u), anyList(five))
	wantFault(t, flt, 103, notEnoughCredits)
	// Held handles count again: 6 held + the 6 held handles > 10.
	_, flt = call(t, s, "acquire_specific_vessels", auth(u), anyList(six))
	wantFault(t, flt, 103, notEnoughCredits)
}

func mustVessels(t *testing.T, s *Server, f VesselFilter) []mockapi.Vessel {
	t.Helper()
	vs, _, err := s.Vessels(f)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestScenarioPartialRenew(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	addNodes(t, s, "w", distinctSubnets(92, 10)...)
	alice, bob := addUser(t, s, "alice"), addUser(t, s, "bob")
	mine := acquire(t, s, alice, "wan", 4)
	theirs := acquire(t, s, bob, "wan", 2)
	mustCall(t, s, "release_resources", auth(alice), []any{mine[3]})
	s.Advance(time.Hour)
	mustCall(t, s, "renew_resources", auth(alice), []any{mine[0], mine[1], mine[3], theirs[0]})
	exp := map[string]time.Time{}
	for _, v := range mustVessels(t, s, VesselFilter{State: mockapi.StateOwned}) {
		exp[v.Handle] = v.Expires
	}
	renewed, original := t0.Add(time.Hour+RenewLease), t0.Add(AcquireLease)
	for h, want := range map[string]time.Time{
		mine[0]: renewed, mine[1]: renewed, mine[2]: original, theirs[0]: original, theirs[1]: original,
	} {
		if !exp[h].Equal(want) {
			t.Errorf("%s expires %v, want %v", h, exp[h], want)
		}
	}
	if _, held := exp[mine[3]]; held {
		t.Error("renew revived a released vessel")
	}
}

func TestScenarioSelectionCounts(t *testing.T) {
	t.Parallel()
	// 3 same-subnet + 7 distinct-subnet + 13 NAT nodes, one eligible
	// vessel each (the template has exactly one vessel per user port).
	s := newTestServer(t)
	addNodes(t, s, "l", sameSubnet("10.4.4", 3)...)
	addNodes(t, s, "w", distinctSubnets(93, 7)...)
	addNodes(t, s, "n", natAddrs(13)...)
	u := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.FreeCredits = 100 })
	tests := []struct {
		typ    string
		ok     int
		detail string
	}{
		{"random", 23, "Requested 24 rand vessels, but we only have 23 vessels with port 63100 available."},
		{"wan", 8, "Requested 9 wan vessels, but we only have vessels with port 63100 available on 8 subnets."},
		{"nat", 13, "Acquiring NAT vessels is currently disabled. "},
	}
	for _, tt := range tests {
		got := acquire(t, s, u, tt.typ, tt.ok)
		mustCall(t, s, "release_resources", auth(u), anyList(got))
		_, flt := call(t, s, "acquire_resources", auth(u), rspec(tt.typ, int64(tt.ok+1)))
		wantFault(t, flt, 105, unableToAcquire+tt.detail)
	}
}

func TestScenarioLANSubnets(t *testing.T) {
	t.Parallel()
	// 29 same-subnet + 7 distinct-subnet nodes: lan 1 considers 8
	// subnets, lan 5 only the big one; 29 succeeds, 30 does not.
	s := newTestServer(t)
	addNodes(t, s, "l", sameSubnet("10.5.5", 29)...)
	addNodes(t, s, "w", distinctSubnets(94, 7)...)
	u := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.FreeCredits = 100 })

	// With every attempt failing, each considered subnet's whole list is
	// tried before the next: the attempts reveal the subnets considered.
	subnetsTried := func(n int) map[string]int {
		log := &attemptLog{fail: func(string) bool { return true }}
		must(t, s.injectFailureFunc(log.hook))
		defer func() { must(t, s.injectFailureFunc(nil)) }()
		_, flt := call(t, s, "acquire_resources", auth(u), rspec("lan", int64(n)))
		wantFault(t, flt, 105, unableToAcquire)
		out := map[string]int{}
		for _, id := range log.attempts {
			n, _ := s.Node(id)
			out[subnetOfIP(n.IP)]++
		}
		return out
	}
	if tried := subnetsTried(1); len(tried) != 8 || tried["10.5.5"] != 29 {
		t.Fatalf("lan 1 tried %v, want 8 subnets with all 29 of 10.5.5", tried)
	}
	if tried := subnetsTried(5); len(tried) != 1 || tried["10.5.5"] != 29 {
		t.Fatalf("lan 5 tried %v, want only 10.5.5", tried)
	}
	got := acquire(t, s, u, "lan", 29)
	mustCall(t, s, "release_resources", auth(u), anyList(got))
	_, flt := call(t, s, "acquire_resources", auth(u), rspec("lan", int64(30)))
	wantFault(t, flt, 105, unableToAcquire+"No subnets exist with at least 30 active nodes that have a vessel available on port 63100")
}

func TestScenarioLANTenSubnets(t *testing.T) {
	t.Parallel()
	// At most 10 subnets are considered.
	s := newTestServer(t)
	addNodes(t, s, "w", distinctSubnets(95, 25)...)
	u := addUser(t, s, "alice")
	log := &attemptLog{fail: func(string) bool { return true }}
	must(t, s.injectFailureFunc(log.hook))
	_, flt := call(t, s, "acquire_resources", auth(u), rspec("lan", int64(1)))
	wantFault(t, flt, 105, unableToAcquire)
	if len(log.attempts) != 10 {
		t.Fatalf("%d subnets tried, want 10", len(log.attempts))
	}
}

func TestScenarioDonations(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	ids := addNodes(t, s, "w", distinctSubnets(96, 100)...)
	for i, id := range ids {
		if i%2 == 1 {
			s.InjectFailure(id, mockapi.Failure{Always: true})
		}
	}
	u := addUser(t, s, "alice")
	for _, id := range ids[10:14] {
		if err := s.AddDonation(id, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := s.Account("alice"); a.MaxVessels != 50 {
		t.Fatalf("max vessels %d, want 50", a.MaxVessels)
	}
	got := acquire(t, s, u, "wan", 50)
	for _, h := range got {
		id := strings.Split(h, ":")[0]
		if i := slices.Index(ids, id); i%2 == 1 {
			t.Fatalf("vessel on failing node %d", i)
		}
	}
}
