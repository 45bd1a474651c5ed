package mockserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// t0 is the frozen start time of test servers.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var testKeys = sync.OnceValue(func() [2]string {
	pub, priv, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{1}), 512)
	if err != nil {
		panic(err)
	}
	return [2]string{pub.String(), priv.String()}
})

// newServer returns New(opts...), closed when the test ends; an error
// ends the test.
func newServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// listNodes returns Nodes(f); an error ends the test.
func listNodes(t testing.TB, s *Server, f NodeFilter) ([]mockapi.Node, int) {
	t.Helper()
	nodes, total, err := s.Nodes(f)
	if err != nil {
		t.Fatal(err)
	}
	return nodes, total
}

// listAccounts returns Accounts(); an error ends the test.
func listAccounts(t testing.TB, s *Server) []mockapi.Account {
	t.Helper()
	accts, err := s.Accounts()
	if err != nil {
		t.Fatal(err)
	}
	return accts
}

// must ends the test if err is not nil.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newTestServer returns an in-memory server with no population and a
// clock frozen at t0.
func newTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	base := []Option{
		WithPopulation(PopulationConfig{}),
		WithClock(func() time.Time { return t0 }),
		WithTimeScale(0),
	}
	return newServer(t, append(base, opts...)...)
}

// addUser adds an account named name with the shared test key pair.
func addUser(t testing.TB, s *Server, name string, mod ...func(*mockapi.AccountSpec)) mockapi.Account {
	t.Helper()
	keys := testKeys()
	spec := mockapi.AccountSpec{
		Username: name, Password: "pw-" + name, Affiliation: "Test University",
		PublicKey: keys[0], PrivateKey: keys[1], UserPort: 63100,
	}
	for _, m := range mod {
		m(&spec)
	}
	a, err := s.AddAccount(spec)
	if err != nil {
		t.Fatalf("AddAccount(%s): %v", name, err)
	}
	return a
}

func auth(a mockapi.Account) map[string]any {
	return map[string]any{"username": a.Username, "api_key": a.APIKey}
}

func pwauth(a mockapi.Account) map[string]any {
	return map[string]any{"username": a.Username, "password": a.Password}
}

func rspec(typ any, n any) map[string]any {
	return map[string]any{"rspec_type": typ, "number_of_nodes": n}
}

// call runs a wire method and returns its result or fault.
func call(t testing.TB, s *Server, method string, params ...any) (any, *xmlrpc.Fault) {
	t.Helper()
	res, err := s.Call(context.Background(), method, params...)
	if err == nil {
		return res, nil
	}
	var f *xmlrpc.Fault
	if !errors.As(err, &f) {
		t.Fatalf("%s: error %v is not a fault", method, err)
	}
	return nil, f
}

// mustCall runs a wire method that must succeed.
func mustCall(t testing.TB, s *Server, method string, params ...any) any {
	t.Helper()
	res, f := call(t, s, method, params...)
	if f != nil {
		t.Fatalf("%s: fault %d %q", method, f.Code, f.String)
	}
	return res
}

func wantFault(t testing.TB, f *xmlrpc.Fault, code int, text string) {
	t.Helper()
	if f == nil {
		t.Fatalf("have success, want fault %d %q", code, text)
	}
	if f.Code != code || f.String != text {
		t.Fatalf("have fault %d %q\nwant fault %d %q", f.Code, f.String, code, text)
	}
}

// acquire calls acquire_resources and returns the handles.
func acquire(t testing.TB, s *Server, a mockapi.Account, typ string, n int) []string {
	t.Helper()
	return handlesOf(t, mustCall(t, s, "acquire_resources", auth(a), rspec(typ, int64(n))))
}

func handlesOf(t testing.TB, res any) []string {
	t.Helper()
	list, ok := res.([]any)
	if !ok {
		t.Fatalf("result %T is not a list", res)
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.(map[string]any)["handle"].(string)
	}
	return out
}

func anyList[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// addNodes adds count nodes with the default template at the given IPs.
func addNodes(t testing.TB, s *Server, prefix string, ips ...string) []string {
	t.Helper()
	specs := make([]mockapi.NodeSpec, len(ips))
	for i, ip := range ips {
		specs[i] = mockapi.NodeSpec{ID: prefix + strconv.Itoa(i), IP: ip}
	}
	nodes, err := s.AddNodes(specs)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}

// sameSubnet returns n addresses in subnet (e.g. "10.0.1").
func sameSubnet(subnet string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = subnet + "." + strconv.Itoa(i+1)
	}
	return out
}

// distinctSubnets returns n addresses, each in its own /24 under first.
func distinctSubnets(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%d.%d.%d.1", first, i/256, i%256)
	}
	return out
}

func natAddrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("NAT$%04x", i)
	}
	return out
}

// checkInvariants verifies every derived structure against the vessels,
// nodes and accounts.
func checkInvariants(t testing.TB, s *Server) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.st.check(); err != nil {
		t.Fatal(err)
	}
}

func (st *state) check() error {
	held := make([]int, len(st.accounts))
	type gc struct{ g, class int }
	availCount := map[gc]int{}
	subCount := map[[2]int32]int32{}
	for i := range st.vessels {
		v := int32(i)
		ves := &st.vessels[i]
		nd := &st.nodes[ves.node]
		if v < nd.first || v >= nd.first+nd.count {
			return fmt.Errorf("vessel %d outside its node's range", v)
		}
		if ves.owner != noOne {
			held[ves.owner]++
			if _, ok := st.accounts[ves.owner].held[v]; !ok {
				return fmt.Errorf("vessel %d owned by %d but not in its held set", v, ves.owner)
			}
			if ves.heap < 0 || st.expiry.items[ves.heap].v != v || st.expiry.items[ves.heap].key != ves.expires {
				return fmt.Errorf("owned vessel %d not in the expiry heap", v)
			}
			if ves.pos >= 0 {
				return fmt.Errorf("owned vessel %d is indexed as available", v)
			}
		} else if ves.heap >= 0 {
			if !ves.dirty || int(ves.heap) >= len(st.cleanup.items) || st.cleanup.items[ves.heap].v != v {
				return fmt.Errorf("free vessel %d has a bad heap position", v)
			}
		}
		if want := st.available(ves); want != (ves.pos >= 0) {
			return fmt.Errorf("vessel %d available %v but indexed %v", v, want, ves.pos >= 0)
		}
		if ves.pos >= 0 {
			class := wanClass
			if nd.nat {
				class = natClass
			}
			if e := st.groups[ves.group].avail[class][ves.pos]; e.v != v || e.sub != nd.subnet {
				return fmt.Errorf("vessel %d: wrong index position", v)
			}
			availCount[gc{int(ves.group), class}]++
			if !nd.nat && nd.subnet >= 0 {
				subCount[[2]int32{int32(ves.group), nd.subnet}]++
			}
		}
	}
	if freeDirty := countFreeDirty(st); st.freeDirty != freeDirty {
		return fmt.Errorf("free dirty vessels: counted %d, have %d", st.freeDirty, freeDirty)
	}
	for a, acct := range st.accounts {
		if len(acct.held) != held[a] {
			return fmt.Errorf("account %s: held set %d, owned vessels %d", acct.name, len(acct.held), held[a])
		}
	}
	nsubs := make([]int, len(st.groups))
	entries := 0
	for si := range st.subnets {
		for _, e := range st.subnets[si].avail {
			key := [2]int32{int32(e.group), int32(si)}
			if subCount[key] != e.n {
				return fmt.Errorf("group %d subnet %d: count %d, want %d", e.group, si, e.n, subCount[key])
			}
			if st.groups[e.group].buckets[e.n][e.pos] != int32(si) {
				return fmt.Errorf("group %d subnet %d: bad bucket position", e.group, si)
			}
			nsubs[e.group]++
			entries++
		}
	}
	if entries != len(subCount) {
		return fmt.Errorf("%d subnet entries, want %d", entries, len(subCount))
	}
	for gi, g := range st.groups {
		for class := range 2 {
			if len(g.avail[class]) != availCount[gc{gi, class}] {
				return fmt.Errorf("group %d class %d: list %d, available %d", gi, class, len(g.avail[class]), availCount[gc{gi, class}])
			}
		}
		if nsubs[gi] != g.nsubs {
			return fmt.Errorf("group %d: nsubs %d, want %d", gi, g.nsubs, nsubs[gi])
		}
	}
	live := 0
	for si := range st.subnets {
		n := int32(0)
		for _, m := range st.subnets[si].nodes {
			if st.nodes[m].subnet != int32(si) {
				return fmt.Errorf("node %d listed in subnet %d", m, si)
			}
			if st.nodes[m].usable() {
				n++
			}
		}
		if n != st.subnets[si].live {
			return fmt.Errorf("subnet %d: live %d, want %d", si, st.subnets[si].live, n)
		}
		if n > 0 {
			live++
		}
	}
	if live != st.liveSubnets {
		return fmt.Errorf("live subnets %d, want %d", st.liveSubnets, live)
	}
	for _, h := range []*vheap{&st.expiry, &st.cleanup} {
		for i := 1; i < len(h.items); i++ {
			if h.items[(i-1)/2].key > h.items[i].key {
				return fmt.Errorf("heap order broken at %d", i)
			}
		}
	}
	return nil
}

// countFreeDirty counts the dirty vessels without an owner, the slow way.
func countFreeDirty(st *state) int {
	n := 0
	for i := range st.vessels {
		if v := &st.vessels[i]; v.owner == noOne && v.dirty {
			n++
		}
	}
	return n
}

// checkHeld checks that u holds exactly the vessels want, by the wire.
func checkHeld(t *testing.T, s *Server, u mockapi.Account, want []string) {
	t.Helper()
	res, err := s.Call(t.Context(), "get_resource_info", auth(u))
	if err != nil {
		t.Fatalf("get_resource_info: %v", err)
	}
	var have []string
	for _, v := range res.([]any) {
		have = append(have, v.(map[string]any)["handle"].(string))
	}
	want = slices.Clone(want)
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Fatalf("holding %d vessels %v, want the %d acknowledged %v", len(have), shortList(have), len(want), shortList(want))
	}
}

func shortList(hs []string) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = shorten(h)
	}
	return out
}
