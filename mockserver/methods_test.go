package mockserver

import (
	"context"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// fixture is a small world: 4 WAN nodes, 3 LAN nodes in one /24, 2 NAT
// nodes, all with the default template, and three accounts on port 63100.
type fixture struct {
	s                *Server
	alice, bob, gone mockapi.Account
	wan, lan, nat    []string
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	s := newTestServer(t, opts...)
	f := &fixture{s: s}
	f.wan = addNodes(t, s, "wan", distinctSubnets(20, 4)...)
	f.lan = addNodes(t, s, "lan", sameSubnet("10.9.8", 3)...)
	f.nat = addNodes(t, s, "nat", natAddrs(2)...)
	f.alice = addUser(t, s, "alice")
	f.bob = addUser(t, s, "bob")
	f.gone = addUser(t, s, "gone", func(a *mockapi.AccountSpec) { a.Inactive = true })
	return f
}

func TestUnknownMethods(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, name := range []string{
		"_dispatch", "__init__", "system.listMethods", "system.multicall", "system.methodHelp",
		"acquire_lan_resources", "Acquire_Resources", "", "get_resource_info ", "_get_auth",
	} {
		_, flt := call(t, f.s, name, auth(f.alice))
		wantFault(t, flt, 1, "<class 'clearinghouse.common.exceptions.InvalidRequestError'>:The requested method '"+
			name+"' doesn't exist.")
	}
}

func TestArity(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := map[string]any{"username": "nobody", "api_key": "x"}
	for _, name := range methodNames {
		arity := methods[name].arity
		for _, n := range []int{0, arity - 1, arity + 1, arity + 2} {
			if n == arity || n < 0 {
				continue
			}
			params := make([]any, n)
			for i := range params {
				params[i] = bad // bad auth: arity is checked first
			}
			_, flt := call(t, f.s, name, params...)
			wantFault(t, flt, 100, "Internal error while handling the xmlrpc request.")
		}
	}
}

// authMethods are the methods whose first parameter is an auth struct,
// with a second parameter that would be valid.
func authMethods(f *fixture) map[string][]any {
	return map[string][]any{
		"acquire_resources":        {rspec("wan", int64(1))},
		"acquire_specific_vessels": {[]any{f.wan[0] + ":v2"}},
		"release_resources":        {[]any{f.wan[0] + ":v2"}},
		"renew_resources":          {[]any{f.wan[0] + ":v2"}},
		"get_resource_info":        nil,
		"get_account_info":         nil,
		"get_public_key":           nil,
	}
}

func TestAuthFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const (
		missing = "Auth dict must contain both a 'username' and an 'api_key'."
		failed  = "User auth failed."
		intern  = "Internal error while handling the xmlrpc request."
	)
	tests := []struct {
		name string
		auth any
		code int
		text string
	}{
		{"string", "not a dict", 102, "Auth dict must be a dictionary, not a <type 'str'>"},
		{"unicode", "n\u00f6", 102, "Auth dict must be a dictionary, not a <type 'unicode'>"},
		{"int", int64(3), 102, "Auth dict must be a dictionary, not a <type 'int'>"},
		{"bool", true, 102, "Auth dict must be a dictionary, not a <type 'bool'>"},
		{"double", 2.5, 102, "Auth dict must be a dictionary, not a <type 'float'>"},
		{"list", []any{}, 102, "Auth dict must be a dictionary, not a <type 'list'>"},
		{"nil", nil, 102, "Auth dict must be a dictionary, not a <type 'NoneType'>"},
		{"dateTime", t0, 102, "Auth dict must be a dictionary, not a <type 'instance'>"},
		{"base64", []byte("x"), 102, "Auth dict must be a dictionary, not a <type 'instance'>"},
		{"username only", map[string]any{"username": "alice"}, 102, missing},
		{"api_key only", map[string]any{"api_key": f.alice.APIKey}, 102, missing},
		{"empty struct", map[string]any{}, 102, missing},
		{"password instead", map[string]any{"username": "alice", "password": f.alice.Password}, 102, missing},
		{"int username", map[string]any{"username": int64(1), "api_key": f.alice.APIKey}, 100, intern},
		{"nil api_key", map[string]any{"username": "alice", "api_key": nil}, 100, intern},
		{"list api_key", map[string]any{"username": "alice", "api_key": []any{}}, 100, intern},
		{"unknown user", map[string]any{"username": "nobody", "api_key": f.alice.APIKey}, 101, failed},
		{"wrong key", map[string]any{"username": "alice", "api_key": f.bob.APIKey}, 101, failed},
		{"key case", map[string]any{"username": "alice", "api_key": strings.ToLower(f.alice.APIKey)}, 101, failed},
		{"username case", map[string]any{"username": "Alice", "api_key": f.alice.APIKey}, 101, failed},
		{"inactive", auth(f.gone), 101, failed},
		{"unicode username", map[string]any{"username": "al\u00efce", "api_key": "x"}, 101, failed},
	}
	for name, rest := range authMethods(f) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				_, flt := call(t, f.s, name, append([]any{tt.auth}, rest...)...)
				wantFault(t, flt, tt.code, tt.text)
			})
		}
		// Authentication comes before any argument validation (§3, §13).
		if len(rest) > 0 {
			bad := map[string]any{"username": "nobody", "api_key": "x"}
			for _, junk := range []any{[]any{}, map[string]any{}, "x", nil} {
				_, flt := call(t, f.s, name, bad, junk)
				wantFault(t, flt, 101, failed)
				_, flt = call(t, f.s, name, "not a dict", junk)
				wantFault(t, flt, 102, "Auth dict must be a dictionary, not a <type 'str'>")
			}
		}
	}
}

func TestPasswordAuthFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const (
		missing = "PasswordAuth dict must contain both a 'username' and an 'password'."
		failed  = "User auth failed."
	)
	tests := []struct {
		name string
		auth any
		code int
		text string
	}{
		{"string", "x", 102, "Auth dict must be a dictionary, not a <type 'str'>"},
		{"list", []any{"alice"}, 102, "Auth dict must be a dictionary, not a <type 'list'>"},
		{"username only", map[string]any{"username": "alice"}, 102, missing},
		{"api key instead", auth(f.alice), 102, missing},
		{"int password", map[string]any{"username": "alice", "password": int64(5)}, 100, "Internal error while handling the xmlrpc request."},
		{"wrong password", map[string]any{"username": "alice", "password": f.bob.Password}, 101, failed},
		{"unknown", map[string]any{"username": "zed", "password": "whatever"}, 101, failed},
		{"inactive", pwauth(f.gone), 101, failed},
	}
	for _, m := range []struct {
		name string
		rest []any
	}{
		{"regenerate_api_key", nil},
		{"set_public_key", []any{"3 5"}},
	} {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				_, flt := call(t, f.s, m.name, append([]any{tt.auth}, m.rest...)...)
				wantFault(t, flt, tt.code, tt.text)
			})
		}
	}
	// Nothing changed.
	a, _ := f.s.Account("alice")
	if a.APIKey != f.alice.APIKey || a.PublicKey != f.alice.PublicKey {
		t.Fatal("a failed call changed the account")
	}
}

func TestAcquireResourcesFaults(t *testing.T) {
	t.Parallel()
	const (
		badType    = "rspec is an invalid data type."
		noType     = "rspec is missing rspec_type"
		noCount    = "rspec is missing number_of_nodes"
		badTypes   = "rspec has invalid data types."
		badValues  = "rspec has invalid values."
		noCredits  = "You do not have enough vessel credits to acquire the number of vessels requested."
		unableText = "Unable to fulfill vessel acquire request at this given time. Details: "
	)
	tests := []struct {
		name  string
		rspec any
		code  int
		text  string
	}{
		{"string rspec", "wan", 102, badType},
		{"list rspec", []any{"wan", int64(1)}, 102, badType},
		{"nil rspec", nil, 102, badType},
		{"empty struct", map[string]any{}, 102, noType},
		{"count only", map[string]any{"number_of_nodes": int64(10)}, 102, noType},
		{"bad keys", map[string]any{"bad": "keys"}, 102, noType},
		{"type only", map[string]any{"rspec_type": "wan"}, 102, noCount},
		{"int type", rspec(int64(42), "a string"), 102, badTypes},
		{"double count", rspec("wan", 1.0), 102, badTypes},
		{"string count", rspec("wan", "3"), 102, badTypes},
		{"nil count", rspec("wan", nil), 102, badTypes},
		{"unicode type", rspec("w\u00e4n", int64(1)), 102, badTypes},
		{"nil type", rspec(nil, int64(1)), 102, badTypes},
		{"empty type zero", rspec("", int64(0)), 102, badValues},
		{"rand", rspec("rand", int64(1)), 102, badValues},
		{"upper case", rspec("WAN", int64(1)), 102, badValues},
		{"random negative", rspec("random", int64(-10)), 102, badValues},
		{"zero", rspec("lan", int64(0)), 102, badValues},
		{"false count", rspec("wan", false), 102, badValues},
		{"wtf", rspec("wtf", int64(3)), 102, badValues},
		{"over credits", rspec("wan", int64(11)), 103, noCredits},
		{"huge count", rspec("random", int64(1)<<62), 103, noCredits},
		{"wan too many", rspec("wan", int64(6)), 105,
			unableText + "Requested 6 wan vessels, but we only have vessels with port 63100 available on 5 subnets."},
		{"random too many", rspec("random", int64(10)), 105,
			unableText + "Requested 10 rand vessels, but we only have 9 vessels with port 63100 available."},
		{"nat too many", rspec("nat", int64(3)), 105, unableText + "Acquiring NAT vessels is currently disabled. "},
		{"lan too many", rspec("lan", int64(4)), 105,
			unableText + "No subnets exist with at least 4 active nodes that have a vessel available on port 63100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			_, flt := call(t, f.s, "acquire_resources", auth(f.alice), tt.rspec)
			wantFault(t, flt, tt.code, tt.text)
			if held, _ := f.s.Holdings("alice"); len(held) != 0 {
				t.Fatalf("a failed acquisition left %d vessels held", len(held))
			}
		})
	}
}

func TestAcquireResourcesSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ   string
		count any
		want  int
	}{
		{"wan", int64(5), 5},
		{"lan", int64(3), 3},
		{"nat", int64(2), 2},
		{"random", int64(9), 9},
		{"wan", true, 1}, // a boolean count passes as 1
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			res := mustCall(t, f.s, "acquire_resources", auth(f.alice), rspec(tt.typ, tt.count))
			list := res.([]any)
			if len(list) != tt.want {
				t.Fatalf("have %d vessels, want %d", len(list), tt.want)
			}
			for _, e := range list {
				checkInfodict(t, f.s, e, 14400)
			}
			checkInvariants(t, f.s)
		})
	}
}

// checkInfodict checks the 7 members of an infodict (contract §4.1).
func checkInfodict(t *testing.T, s *Server, e any, expires int64) {
	t.Helper()
	d, ok := e.(map[string]any)
	if !ok {
		t.Fatalf("infodict is %T", e)
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"expires_in_seconds", "handle", "is_active", "node_id", "node_ip", "node_port", "vessel_id"}
	if !slices.Equal(keys, want) {
		t.Fatalf("infodict keys %v, want %v", keys, want)
	}
	id, name := d["node_id"].(string), d["vessel_id"].(string)
	if d["handle"] != id+":"+name {
		t.Errorf("handle %q is not node_id:vessel_id", d["handle"])
	}
	n, err := s.Node(id)
	if err != nil {
		t.Fatal(err)
	}
	if d["node_ip"] != n.IP || d["node_port"] != n.Port || d["is_active"] != n.Active {
		t.Errorf("infodict %v does not match node %+v", d, n)
	}
	if d["expires_in_seconds"] != expires {
		t.Errorf("expires_in_seconds %v, want %d", d["expires_in_seconds"], expires)
	}
}

func TestAcquireSpecificVesselsFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const (
		intern = "Internal error while handling the xmlrpc request."
	)
	good := f.wan[0] + ":v2"
	tests := []struct {
		name    string
		handles any
		code    int
		text    string
	}{
		{"string", good, 102, "Invalid data type for handle list."},
		{"struct", map[string]any{}, 102, "Invalid data type for handle list."},
		{"nil", nil, 102, "Invalid data type for handle list."},
		{"int element", []any{int64(1)}, 100, intern},
		{"bad handle then int", []any{"nocolon", int64(1)}, 100, intern},
		{"list element", []any{good, []any{}}, 100, intern},
		{"struct element", []any{map[string]any{}}, 100, intern},
		{"nil element", []any{nil}, 100, intern},
		{"no colon", []any{"nocolon"}, 102, "Invalid vesselhandle: nocolon"},
		{"two colons", []any{good, "a:b:c"}, 102, "Invalid vesselhandle: a:b:c"},
		{"extra vessel", []any{f.wan[0] + ":v1"}, 102,
			"There is no vessel with the node identifier: " + f.wan[0] + " and vessel name: v1"},
		{"unknown node", []any{good, "nonode:v2"}, 102,
			"There is no vessel with the node identifier: nonode and vessel name: v2"},
		{"leading zero", []any{f.wan[0] + ":v02"}, 102,
			"There is no vessel with the node identifier: " + f.wan[0] + " and vessel name: v02"},
		{"empty parts", []any{":"}, 102, "There is no vessel with the node identifier:  and vessel name: "},
		{"non-ascii", []any{"n\u00f6de:v2"}, 102, "There is no vessel with the node identifier: n\u00f6de and vessel name: v2"},
		{"empty", []any{}, 102, "The list of vessels cannot be empty."},
		{"over credits", anyList(allHandles(f)[:11]), 103,
			"You do not have enough vessel credits to acquire the number of vessels requested."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, flt := call(t, f.s, "acquire_specific_vessels", auth(f.alice), tt.handles)
			wantFault(t, flt, tt.code, tt.text)
		})
	}
	if held, _ := f.s.Holdings("alice"); len(held) != 0 {
		t.Fatalf("failed calls left %d vessels held", len(held))
	}
}

// allHandles returns every vessel handle of the fixture.
func allHandles(f *fixture) []string {
	vs, _, _ := f.s.Vessels(VesselFilter{})
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Handle
	}
	return out
}

func TestAcquireSpecificVessels(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := []string{f.wan[0] + ":v2", f.wan[1] + ":v5", f.nat[0] + ":v9"}
	// Duplicates are dropped, request order is kept, ports are ignored
	// (v5 and v9 do not hold port 63100).
	res := mustCall(t, f.s, "acquire_specific_vessels", auth(f.alice), []any{h[2], h[0], h[2], h[1], h[0]})
	if have, want := handlesOf(t, res), []string{h[2], h[0], h[1]}; !slices.Equal(have, want) {
		t.Fatalf("have %v, want %v", have, want)
	}
	for _, e := range res.([]any) {
		checkInfodict(t, f.s, e, 14400)
	}
	// Held by the caller or by someone else: skipped, not an error.
	res = mustCall(t, f.s, "acquire_specific_vessels", auth(f.alice), []any{h[0]})
	if len(res.([]any)) != 0 {
		t.Fatalf("re-acquiring a held vessel returned %v", res)
	}
	res = mustCall(t, f.s, "acquire_specific_vessels", auth(f.bob), []any{h[0], f.wan[0] + ":v3"})
	if have := handlesOf(t, res); !slices.Equal(have, []string{f.wan[0] + ":v3"}) {
		t.Fatalf("bob got %v", have)
	}
	// An inactive node's vessel is skipped; a broken node's is not, nor
	// a dirty one.
	if err := f.s.SetNodeActive(f.wan[2], false); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetNodeBroken(f.wan[3], true); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetCleanupDelay(time.Hour); err != nil {
		t.Fatal(err)
	}
	mustCall(t, f.s, "release_resources", auth(f.alice), []any{h[1]}) // now dirty for an hour
	res = mustCall(t, f.s, "acquire_specific_vessels", auth(f.bob), []any{f.wan[2] + ":v2", f.wan[3] + ":v2", h[1]})
	if have, want := handlesOf(t, res), []string{f.wan[3] + ":v2", h[1]}; !slices.Equal(have, want) {
		t.Fatalf("have %v, want %v", have, want)
	}
	vs, _, _ := f.s.Vessels(VesselFilter{NodeID: f.wan[1]})
	for _, v := range vs {
		if v.Name == "v5" && (!v.Dirty || v.Owner != "bob") {
			t.Fatalf("a dirty vessel acquired specifically should stay dirty: %+v", v)
		}
	}
	checkInvariants(t, f.s)
}

func TestReleaseResources(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	intern := "Internal error while handling the xmlrpc request."
	mine := acquire(t, f.s, f.alice, "wan", 2)
	theirs := acquire(t, f.s, f.bob, "nat", 1)
	free := f.lan[0] + ":v9"
	faults := []struct {
		name    string
		handles any
		code    int
		text    string
	}{
		{"string", "x", 102, "Invalid data type for handle list."},
		{"int element", []any{mine[0], int64(1)}, 100, intern},
		{"bool element", []any{true}, 100, intern},
		{"bad then int", []any{"bad", 2.5}, 100, intern},
		{"no colon", []any{mine[0], "bad"}, 102, "Invalid vesselhandle: bad"},
		{"unknown", []any{"x:v2"}, 102, "There is no vessel with the node identifier: x and vessel name: v2"},
		{"empty", []any{}, 102, "The list of vessels cannot be empty."},
	}
	for _, tt := range faults {
		_, flt := call(t, f.s, "release_resources", auth(f.alice), tt.handles)
		wantFault(t, flt, tt.code, tt.text)
	}
	if held, _ := f.s.Holdings("alice"); len(held) != 2 {
		t.Fatalf("failed releases changed holdings: %d", len(held))
	}
	// Foreign and free vessels are skipped; duplicates are harmless.
	res := mustCall(t, f.s, "release_resources", auth(f.alice), []any{mine[0], theirs[0], free, mine[0]})
	if res != 0 {
		t.Fatalf("release returned %v, want 0", res)
	}
	held, _ := f.s.Holdings("alice")
	if len(held) != 1 || held[0].Handle != mine[1] {
		t.Fatalf("alice holds %v", held)
	}
	if held, _ := f.s.Holdings("bob"); len(held) != 1 {
		t.Fatal("bob's vessel was released by alice")
	}
	// Release works on inactive nodes and when over the credit limit.
	node := strings.SplitN(mine[1], ":", 2)[0]
	if err := f.s.SetNodeActive(node, false); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetFreeCredits("alice", 0); err != nil {
		t.Fatal(err)
	}
	mustCall(t, f.s, "release_resources", auth(f.alice), []any{mine[1]})
	if held, _ := f.s.Holdings("alice"); len(held) != 0 {
		t.Fatal("release on an inactive node did nothing")
	}
	checkInvariants(t, f.s)
}

func TestRenewResources(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mine := acquire(t, f.s, f.alice, "wan", 2)
	faults := []struct {
		name    string
		handles any
		text    string
	}{
		{"string", "x", "Invalid data type for handle list."},
		{"nil", nil, "Invalid data type for handle list."},
		{"int element", []any{mine[0], int64(1)}, "Invalid data type for handle. Expected str, received <type 'int'>"},
		{"unicode element", []any{mine[0], "\u00e9:v2"}, "Invalid data type for handle. Expected str, received <type 'unicode'>"},
		{"first offender decides", []any{"bad", true, int64(1)}, "Invalid data type for handle. Expected str, received <type 'bool'>"},
		{"nil element", []any{nil}, "Invalid data type for handle. Expected str, received <type 'NoneType'>"},
		{"double element", []any{1.5}, "Invalid data type for handle. Expected str, received <type 'float'>"},
		{"list element", []any{[]any{}}, "Invalid data type for handle. Expected str, received <type 'list'>"},
		{"struct element", []any{map[string]any{}}, "Invalid data type for handle. Expected str, received <type 'dict'>"},
		{"dateTime element", []any{t0}, "Invalid data type for handle. Expected str, received <type 'instance'>"},
		{"no colon", []any{"bad"}, "Invalid vesselhandle: bad"},
		{"unknown", []any{mine[0], "x:v2"}, "There is no vessel with the node identifier: x and vessel name: v2"},
		{"empty", []any{}, "The list of vessels cannot be empty."},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			_, flt := call(t, f.s, "renew_resources", auth(f.alice), tt.handles)
			wantFault(t, flt, 102, tt.text)
		})
	}
	f.s.Advance(time.Hour)
	if res := mustCall(t, f.s, "renew_resources", auth(f.alice), []any{mine[0], mine[0]}); res != 0 {
		t.Fatalf("renew returned %v, want 0", res)
	}
	held, _ := f.s.Holdings("alice")
	exp := map[string]time.Time{}
	for _, v := range held {
		exp[v.Handle] = v.Expires
	}
	if have, want := exp[mine[0]], t0.Add(time.Hour+RenewLease); !have.Equal(want) {
		t.Errorf("renewed expiry %v, want %v", have, want)
	}
	if have, want := exp[mine[1]], t0.Add(AcquireLease); !have.Equal(want) {
		t.Errorf("unlisted vessel expiry %v, want %v", have, want)
	}
	// Renew resets rather than extends.
	f.s.Advance(time.Hour)
	mustCall(t, f.s, "renew_resources", auth(f.alice), []any{mine[0]})
	held, _ = f.s.Holdings("alice")
	for _, v := range held {
		if v.Handle == mine[0] && !v.Expires.Equal(t0.Add(2*time.Hour+RenewLease)) {
			t.Errorf("second renew: expiry %v", v.Expires)
		}
	}
	res := mustCall(t, f.s, "get_resource_info", auth(f.alice)).([]any)
	for _, e := range res {
		if d := e.(map[string]any); d["handle"] == mine[0] {
			checkInfodict(t, f.s, d, int64(RenewLease/time.Second))
		}
	}
}

func TestGetResourceInfo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := mustCall(t, f.s, "get_resource_info", auth(f.alice))
	if l, ok := res.([]any); !ok || len(l) != 0 {
		t.Fatalf("empty holdings: have %#v, want an empty list", res)
	}
	got := acquire(t, f.s, f.alice, "random", 6)
	f.s.Advance(90 * time.Minute)
	if err := f.s.SetNodeActive(strings.SplitN(got[0], ":", 2)[0], false); err != nil {
		t.Fatal(err)
	}
	res = mustCall(t, f.s, "get_resource_info", auth(f.alice))
	hs := handlesOf(t, res)
	want := slices.Clone(got)
	slices.Sort(want)
	if !slices.Equal(hs, want) {
		t.Fatalf("have %v, want %v (sorted by handle)", hs, want)
	}
	for _, e := range res.([]any) {
		checkInfodict(t, f.s, e, int64((AcquireLease-90*time.Minute)/time.Second))
	}
}

func TestGetAccountInfoAndPublicKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := mustCall(t, f.s, "get_account_info", auth(f.alice))
	want := map[string]any{
		"user_port": 63100, "user_name": "alice", "max_vessels": 10, "user_affiliation": "Test University",
	}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("have %#v, want %#v", res, want)
	}
	acquire(t, f.s, f.alice, "wan", 3) // held vessels do not reduce max_vessels
	if err := f.s.AddDonation(f.wan[3], "alice"); err != nil {
		t.Fatal(err)
	}
	res = mustCall(t, f.s, "get_account_info", auth(f.alice))
	if res.(map[string]any)["max_vessels"] != 20 {
		t.Fatalf("max_vessels %v, want 20", res.(map[string]any)["max_vessels"])
	}
	if res := mustCall(t, f.s, "get_public_key", auth(f.alice)); res != f.alice.PublicKey {
		t.Fatalf("get_public_key: have %v", res)
	}
}

func TestGetEncryptedAPIKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	faults := []struct {
		name string
		user any
		code int
		text string
	}{
		{"int", int64(1), 102, "Username must be a string."},
		{"nil", nil, 102, "Username must be a string."},
		{"list", []any{"alice"}, 102, "Username must be a string."},
		{"unknown", "nobody", 102, "Username does not exist."},
		{"unicode unknown", "n\u00f6body", 102, "Username does not exist."},
		{"inactive", "gone", 102, "Username does not exist."},
		{"case", "ALICE", 102, "Username does not exist."},
	}
	for _, tt := range faults {
		_, flt := call(t, f.s, "get_encrypted_api_key", tt.user)
		wantFault(t, flt, tt.code, tt.text)
	}
	// With the 512-bit key: decrypt, split on "!", compare (§13).
	res := mustCall(t, f.s, "get_encrypted_api_key", "alice").(string)
	if strings.TrimSpace(res) != res || strings.Contains(res, " ") {
		t.Fatalf("ciphertext %q has white space", res)
	}
	priv, err := seattlersa.ParsePrivateKey(f.alice.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := seattlersa.Decrypt(priv, res)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(plain), "!")
	if len(parts) != 2 || len(parts[0]) != 20 || parts[1] != f.alice.APIKey {
		t.Fatalf("decrypted payload does not hold the API key")
	}
	// A key too small for one block, or one RSA cannot use, gives 100.
	for _, key := range []string{"3 5", "-3 5", "65537 " + smallModulus(t)} {
		mustCall(t, f.s, "set_public_key", pwauth(f.bob), key)
		_, flt := call(t, f.s, "get_encrypted_api_key", "bob")
		wantFault(t, flt, 100, "Internal error while handling the xmlrpc request.")
	}
}

// smallModulus returns a 400-bit modulus: one block cannot hold 53 bytes.
func smallModulus(t *testing.T) string {
	t.Helper()
	pub, _, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{2}), 400)
	if err != nil {
		t.Fatal(err)
	}
	return pub.N.String()
}

func TestRegenerateAPIKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := mustCall(t, f.s, "regenerate_api_key", pwauth(f.alice)).(string)
	if len(res) != 32 || res == f.alice.APIKey {
		t.Fatalf("new key %d characters, same as old: %v", len(res), res == f.alice.APIKey)
	}
	seen := map[rune]bool{}
	for _, r := range res {
		if seen[r] || !strings.ContainsRune("0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ", r) {
			t.Fatalf("key %q: repeated or foreign character %q", res, r)
		}
		seen[r] = true
	}
	_, flt := call(t, f.s, "get_account_info", auth(f.alice))
	wantFault(t, flt, 101, "User auth failed.")
	mustCall(t, f.s, "get_account_info", map[string]any{"username": "alice", "api_key": res})
	if a, _ := f.s.Account("alice"); a.APIKey != res {
		t.Fatal("Account does not show the new key")
	}
}

func TestSetPublicKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	faults := []struct {
		name string
		key  any
		text string
	}{
		{"int", int64(3), "Invalid public key: Public key must be a string."},
		{"nil", nil, "Invalid public key: Public key must be a string."},
		{"list", []any{"3", "5"}, "Invalid public key: Public key must be a string."},
		{"empty", "", "Invalid public key: Public key is not of a correct format."},
		{"one token", "65537", "Invalid public key: Public key is not of a correct format."},
		{"three tokens", "1 2 3", "Invalid public key: Public key is not of a correct format."},
		{"letters", "a b", "Invalid public key: Public key is not of a correct format."},
		{"decimal point", "3.0 5", "Invalid public key: Public key is not of a correct format."},
		{"bare sign", "+ 5", "Invalid public key: Public key is not of a correct format."},
		{"hex", "0x3 5", "Invalid public key: Public key is not of a correct format."},
		{"unicode digits", "\uff13 5", "Invalid public key: Public key is not of a correct format."},
		{"e greater", "5 3", "Invalid public key: Public key is invalid."},
		{"e equal", "7 +7", "Invalid public key: Public key is invalid."},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			_, flt := call(t, f.s, "set_public_key", pwauth(f.alice), tt.key)
			wantFault(t, flt, 102, tt.text)
		})
	}
	for _, key := range []string{"3 5", "  +3\t05 ", "-9 -2", "3\u00a05", f.bob.PublicKey} {
		if res := mustCall(t, f.s, "set_public_key", pwauth(f.alice), key); res != 0 {
			t.Fatalf("set_public_key returned %v", res)
		}
		if have := mustCall(t, f.s, "get_public_key", auth(f.alice)); have != key {
			t.Fatalf("get_public_key: have %q, want %q (verbatim)", have, key)
		}
		if a, _ := f.s.Account("alice"); a.PrivateKey != "" {
			t.Fatal("set_public_key kept the private key")
		}
	}
}

func TestCallRecoversPanics(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	must(t, f.s.injectFailureFunc(func(string, string) bool { panic("boom") }))
	_, flt := call(t, f.s, "acquire_resources", auth(f.alice), rspec("wan", int64(1)))
	wantFault(t, flt, 100, "Internal error while handling the xmlrpc request.")
	must(t, f.s.injectFailureFunc(nil))
	acquire(t, f.s, f.alice, "wan", 1)
}

func TestCallIgnoresContext(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.s.Call(ctx, "get_account_info", auth(f.alice)); err != nil {
		t.Fatal(err)
	}
}

// TestSetPublicKeySizeCap: set_public_key refuses a key over
// seattlersa.MaxModulusBits, however it is written, as invalid and at once;
// malformed text keeps its own message whatever its length; a key at the
// cap with a full-size exponent still serves get_encrypted_api_key.
func TestSetPublicKeySizeCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	one := big.NewInt(1)
	atCap := new(big.Int).Lsh(one, seattlersa.MaxModulusBits-1)
	atCap.Add(atCap, one) // exactly MaxModulusBits bits
	over := new(big.Int).Lsh(one, seattlersa.MaxModulusBits)
	over.Add(over, one)
	eFull := new(big.Int).Sub(atCap, big.NewInt(2))
	const (
		invalid = "Invalid public key: Public key is invalid."
		format  = "Invalid public key: Public key is not of a correct format."
	)
	tests := []struct{ name, key, text string }{
		{"200 000-digit modulus", "65537 " + strings.Repeat("7", 200_000), invalid},
		{"1 MiB of digits", "3 " + strings.Repeat("1", 1<<20), invalid},
		{"modulus one bit over the cap", "3 " + over.String(), invalid},
		{"negative exponent over the cap", "-" + over.String() + " 5", invalid},
		{"short values padded past the length cap", "3" + strings.Repeat(" ", seattlersa.MaxKeyStringBytes) + "5", invalid},
		{"1 MiB, not decimal", "3 " + strings.Repeat("x", 1<<20), format},
		{"1 MiB of tokens", strings.Repeat("1 ", 1<<19), format},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, flt := call(t, f.s, "set_public_key", pwauth(f.alice), tt.key)
			took := time.Since(start)
			wantFault(t, flt, 102, tt.text)
			if took > 500*time.Millisecond {
				t.Errorf("refusing took %v, want well under a second", took)
			}
		})
	}
	if have := mustCall(t, f.s, "get_public_key", auth(f.alice)); have != f.alice.PublicKey {
		t.Fatalf("a refused key replaced the stored one")
	}

	key := eFull.String() + " " + atCap.String()
	mustCall(t, f.s, "set_public_key", pwauth(f.bob), key)
	start := time.Now()
	res := mustCall(t, f.s, "get_encrypted_api_key", "bob").(string)
	t.Logf("get_encrypted_api_key with a %d-bit key and e = n-2: %v", seattlersa.MaxModulusBits, time.Since(start))
	c, ok := new(big.Int).SetString(res, 10)
	if !ok || c.Sign() <= 0 || c.Cmp(atCap) >= 0 || strings.TrimSpace(res) != res {
		t.Fatalf("get_encrypted_api_key at the cap: have %.40q..., want one decimal number below n", res)
	}
}
