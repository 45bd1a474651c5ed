package mockserver

import (
	"context"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

func allNodes(t *testing.T, s *Server) []mockapi.Node {
	t.Helper()
	nodes, total := listNodes(t, s, NodeFilter{})
	if len(nodes) != total {
		t.Fatalf("Nodes returned %d of %d", len(nodes), total)
	}
	return nodes
}

func TestPopulationDeterminism(t *testing.T) {
	t.Parallel()
	cfg := PopulationConfig{Nodes: 500, NATFraction: 0.2, Seed: 42}
	a := allNodes(t, newTestServer(t, WithPopulation(cfg)))
	b := allNodes(t, newTestServer(t, WithPopulation(cfg), WithSeed(99)))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same population config gave different nodes")
	}
	cfg.Seed = 43
	c := allNodes(t, newTestServer(t, WithPopulation(cfg)))
	if reflect.DeepEqual(a, c) {
		t.Fatal("different population seeds gave the same nodes")
	}
}

var natAddr = regexp.MustCompile(`^NAT\$[0-9a-f]{16}$`)

func TestPopulationShape(t *testing.T) {
	t.Parallel()
	for _, cfg := range []PopulationConfig{
		{Nodes: 200, NATFraction: 0.1, Seed: 1},
		{Nodes: 1000, NATFraction: 0.3, Seed: 2},
		{Nodes: 37, NATFraction: 0, Seed: 3},
		{Nodes: 10, NATFraction: 1, Seed: 4},
	} {
		t.Run(strconv.Itoa(cfg.Nodes), func(t *testing.T) {
			t.Parallel()
			nodes := allNodes(t, newTestServer(t, WithPopulation(cfg)))
			if len(nodes) != cfg.Nodes {
				t.Fatalf("%d nodes, want %d", len(nodes), cfg.Nodes)
			}
			ids := map[string]bool{}
			subnets := map[string]int{}
			nat, at1224 := 0, 0
			lo := new(big.Int).Lsh(big.NewInt(1), 1023)
			for _, n := range nodes {
				if ids[n.ID] {
					t.Fatalf("duplicate id")
				}
				ids[n.ID] = true
				e, mod, ok := strings.Cut(n.ID, " ")
				x, good := new(big.Int).SetString(mod, 10)
				if !ok || e != "65537" || !good || x.BitLen() != 1024 || x.Bit(0) != 1 || x.Cmp(lo) < 0 {
					t.Fatalf("id %q is not 65537 and an odd 1024-bit number", n.ID)
				}
				if !slices.Contains(nodeManagerPorts[:], n.Port) {
					t.Fatalf("port %d", n.Port)
				}
				if n.Port == 1224 {
					at1224++
				}
				if strings.HasPrefix(n.IP, "NAT$") {
					if !natAddr.MatchString(n.IP) {
						t.Fatalf("NAT address %q", n.IP)
					}
					nat++
				} else {
					if !validIP(n.IP) {
						t.Fatalf("address %q", n.IP)
					}
					subnets[subnetOfIP(n.IP)]++
				}
				if !n.Active || n.Broken || n.Donor != "" {
					t.Fatalf("node state %+v", n)
				}
				if len(n.Vessels) != 8 {
					t.Fatalf("%d vessels", len(n.Vessels))
				}
				for k, v := range n.Vessels {
					if v.Name != "v"+strconv.Itoa(k+2) || v.Ports[0] != 63100+10*k || v.Ports[9] != 63109+10*k || len(v.Ports) != 10 {
						t.Fatalf("vessel %+v does not follow the template", v)
					}
				}
			}
			if want := int(math.Round(float64(cfg.Nodes) * cfg.NATFraction)); nat != want {
				t.Fatalf("%d NAT nodes, want %d", nat, want)
			}
			wan := cfg.Nodes - nat
			clustered := 0
			for sn, c := range subnets {
				switch {
				case c == 1:
				case c >= 8 && c <= 16:
					clustered += c
				default:
					t.Fatalf("subnet %s has %d nodes", sn, c)
				}
			}
			if clustered > wan/4 || clustered < wan/4-7 {
				t.Fatalf("%d of %d non-NAT nodes clustered, want about a quarter", clustered, wan)
			}
			if at1224 < cfg.Nodes*8/10 {
				t.Fatalf("only %d of %d nodes on port 1224", at1224, cfg.Nodes)
			}
		})
	}
}

func TestDefaultPopulation(t *testing.T) {
	t.Parallel()
	s := newServer(t, WithKeyBits(512), WithClock(func() time.Time { return t0 }))
	if _, total := listNodes(t, s, NodeFilter{}); total != 200 {
		t.Fatalf("default population: %d nodes", total)
	}
	// Both kinds of request work out of the box.
	u, err := s.AddAccount(mockapi.AccountSpec{Username: "demo", Password: "secret1", Affiliation: "Somewhere",
		FreeCredits: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.APIKey) != 32 || !strings.HasPrefix(u.PublicKey, "65537 ") || u.PrivateKey == "" {
		t.Fatalf("generated credentials look wrong")
	}
	if u.UserPort < userPortMin || u.UserPort > userPortMax {
		t.Fatalf("user port %d", u.UserPort)
	}
	got := acquire(t, s, u, "wan", 100)
	mustCall(t, s, "release_resources", auth(u), anyList(got))
	acquire(t, s, u, "lan", 8)
	acquire(t, s, u, "nat", 10)
	// The generated key pair works for get_encrypted_api_key.
	mustCall(t, s, "get_encrypted_api_key", "demo")
}

func TestPopulationOptionErrors(t *testing.T) {
	t.Parallel()
	for _, opt := range []Option{
		WithPopulation(PopulationConfig{Nodes: -1}),
		WithPopulation(PopulationConfig{Nodes: 10, NATFraction: 1.5}),
		WithPopulation(PopulationConfig{Nodes: 10, NATFraction: math.NaN()}),
		WithTimeScale(-1),
		WithCleanupDelay(-time.Second),
		WithAcquireFailureRate(2),
		WithKeyBits(64),
		WithKeyBits(seattlersa.MaxModulusBits + 1), // GenerateKey refuses it
		WithClock(nil),
	} {
		if _, err := Open(context.Background(), "", opt); err == nil {
			t.Error("invalid option accepted by Open")
		}
		if s, err := New(opt); err == nil || s != nil {
			t.Errorf("New with an invalid option: have %v, %v; want nil and an error", s, err)
		}
	}
}

// TestZeroOption checks that a zero Option, which sets nothing, is an
// error from New and Open rather than a panic or a silent no-op.
func TestZeroOption(t *testing.T) {
	t.Parallel()
	const want = "mockserver: zero Option"
	if _, err := New(WithKeyBits(512), Option{}); err == nil || err.Error() != want {
		t.Errorf("New(Option{}): have %v, want %q", err, want)
	}
	if _, err := Open(context.Background(), "", Option{}); err == nil || err.Error() != want {
		t.Errorf("Open(Option{}): have %v, want %q", err, want)
	}
}

func TestAccountSpecValidation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	keys := testKeys()
	ok := mockapi.AccountSpec{Username: "good_name1", Password: "secret", Affiliation: "ABC",
		PublicKey: keys[0], PrivateKey: keys[1]}
	for _, tt := range []struct {
		name string
		mod  func(*mockapi.AccountSpec)
	}{
		{"short username", func(a *mockapi.AccountSpec) { a.Username = "ab" }},
		{"long username", func(a *mockapi.AccountSpec) { a.Username = strings.Repeat("a", 41) }},
		{"underscore first", func(a *mockapi.AccountSpec) { a.Username = "_abc" }},
		{"dash", func(a *mockapi.AccountSpec) { a.Username = "a-bc" }},
		{"short password", func(a *mockapi.AccountSpec) { a.Password = "12345" }},
		{"password is username", func(a *mockapi.AccountSpec) { a.Password = a.Username }},
		{"short affiliation", func(a *mockapi.AccountSpec) { a.Affiliation = "ab" }},
		{"long affiliation", func(a *mockapi.AccountSpec) { a.Affiliation = strings.Repeat("x", 201) }},
		{"port low", func(a *mockapi.AccountSpec) { a.UserPort = 63099 }},
		{"port high", func(a *mockapi.AccountSpec) { a.UserPort = 63180 }},
		{"credits", func(a *mockapi.AccountSpec) { a.FreeCredits = -2 }},
		{"bad public key", func(a *mockapi.AccountSpec) { a.PublicKey = "5 3"; a.PrivateKey = "" }},
		{"private without public", func(a *mockapi.AccountSpec) { a.PublicKey = "" }},
		{"bad private key", func(a *mockapi.AccountSpec) { a.PrivateKey = "1 4 6" }},
		{"mismatched pair", func(a *mockapi.AccountSpec) { a.PublicKey = "65537 " + smallModulus(t) }},
		{"long api key", func(a *mockapi.AccountSpec) { a.APIKey = strings.Repeat("K", 101) }},
	} {
		spec := ok
		tt.mod(&spec)
		_, err := s.AddAccount(spec)
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
			continue
		}
		if spec.Password != spec.Username && strings.Contains(err.Error(), spec.Password) ||
			strings.Contains(err.Error(), "4 6") {
			t.Errorf("%s: error %q shows a secret", tt.name, err)
		}
	}
	if _, err := s.AddAccount(ok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAccount(ok); err == nil {
		t.Fatal("duplicate username accepted")
	}
	// Supplied values are kept verbatim.
	spec := ok
	spec.Username, spec.APIKey, spec.UserPort, spec.FreeCredits = "verbatim", "my-own-key", 63179, 3
	spec.PublicKey, spec.PrivateKey = "3 5", ""
	a, err := s.AddAccount(spec)
	if err != nil {
		t.Fatal(err)
	}
	if a.APIKey != "my-own-key" || a.UserPort != 63179 || a.FreeCredits != 3 || a.PublicKey != "3 5" || a.PrivateKey != "" {
		t.Fatalf("account %+v", a)
	}
}

func TestNodeSpecValidation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	for _, spec := range []mockapi.NodeSpec{
		{ID: "a:b", IP: "1.2.3.4"},
		{ID: "x", IP: "1.2.3"},
		{ID: "x", IP: "1.2.3.256"},
		{ID: "x", IP: "::1"},
		{ID: "x", IP: "nat$1"},
		{ID: "x", IP: ""},
		{ID: "x", IP: "1.2.3.4", Port: 70000},
		{ID: "x", IP: "1.2.3.4", Vessels: []mockapi.VesselSpec{{Name: "w2", Ports: []int{1}}}},
		{ID: "x", IP: "1.2.3.4", Vessels: []mockapi.VesselSpec{{Name: "v2", Ports: nil}}},
		{ID: "x", IP: "1.2.3.4", Vessels: []mockapi.VesselSpec{{Name: "v2", Ports: []int{1}}, {Name: "v2", Ports: []int{2}}}},
		{ID: "x", IP: "1.2.3.4", Vessels: []mockapi.VesselSpec{{Name: "v2", Ports: []int{1}}, {Name: "v3", Ports: []int{1}}}},
		{ID: "x", IP: "1.2.3.4", Vessels: []mockapi.VesselSpec{{Name: "v2", Ports: make([]int, 11)}}},
	} {
		if _, err := s.AddNode(spec); err == nil {
			t.Errorf("%+v accepted", spec)
		}
	}
	if _, err := s.AddNodes([]mockapi.NodeSpec{{ID: "dup", IP: "1.2.3.4"}, {ID: "dup", IP: "1.2.3.5"}}); err == nil {
		t.Error("duplicate ids in one batch accepted")
	}
	if _, total := listNodes(t, s, NodeFilter{}); total != 0 {
		t.Fatalf("a failed AddNodes added %d nodes", total)
	}
	n, err := s.AddNode(mockapi.NodeSpec{IP: "NAT$x", Port: 2888, Vessels: []mockapi.VesselSpec{}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(n.ID, "65537 ") || len(n.Vessels) != 0 || n.Port != 2888 {
		t.Fatalf("node %+v", n)
	}
	if _, err := s.AddNode(mockapi.NodeSpec{ID: n.ID, IP: "1.1.1.1"}); err == nil {
		t.Fatal("existing id accepted")
	}
}

func TestNodeFilters(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	addNodes(t, s, "a", sameSubnet("10.6.6", 5)...)
	addNodes(t, s, "b", natAddrs(3)...)
	addNodes(t, s, "c", distinctSubnets(7, 4)...)
	if nodes, total := listNodes(t, s, NodeFilter{Subnet: "10.6.6", Offset: 1, Limit: 2}); total != 5 ||
		len(nodes) != 2 || nodes[0].ID != "a1" || nodes[1].ID != "a2" {
		t.Fatalf("subnet page: %d %v", total, nodes)
	}
	if nodes, total := listNodes(t, s, NodeFilter{NAT: true}); total != 3 || nodes[2].ID != "b2" {
		t.Fatalf("nat: %d", total)
	}
	if nodes, total := listNodes(t, s, NodeFilter{Offset: 10, Limit: 5}); total != 12 || len(nodes) != 2 {
		t.Fatalf("page: %d %d", total, len(nodes))
	}
	if err := s.SetNodeIP("a0", "10.6.7.1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNodeIP("a1", "NAT$moved"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNodeIP("a2", "10.6.6"); err == nil {
		t.Fatal("bad IP accepted")
	}
	if _, total := listNodes(t, s, NodeFilter{Subnet: "10.6.6"}); total != 3 {
		t.Fatalf("after moves: %d in 10.6.6", total)
	}
	if _, total := listNodes(t, s, NodeFilter{NAT: true}); total != 4 {
		t.Fatalf("after moves: %d NAT", total)
	}
	checkInvariants(t, s)
	if _, err := s.Node("zzz"); err == nil {
		t.Fatal("unknown node found")
	}
}

func TestVesselSize(t *testing.T) {
	if have := unsafe.Sizeof(vessel{}); have != 40 {
		t.Fatalf("vessel record is %d bytes, want 40", have)
	}
}

// TestOptionRanges checks the bounds of the options that take a number,
// the same that cmd/mockclearinghouse enforces on its flags.
func TestOptionRanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  Option
		ok   bool
	}{
		{"time scale 0", WithTimeScale(0), true},
		{"time scale max", WithTimeScale(MaxTimeScale), true},
		{"time scale 1e12", WithTimeScale(1e12), false},
		{"time scale inf", WithTimeScale(math.Inf(1)), false},
		{"time scale NaN", WithTimeScale(math.NaN()), false},
		{"nodes max", WithPopulation(PopulationConfig{Nodes: MaxPopulation}), true},
		{"nodes max+1", WithPopulation(PopulationConfig{Nodes: MaxPopulation + 1}), false},
		{"cleanup delay max", WithCleanupDelay(MaxCleanupDelay), true},
		{"cleanup delay max+1", WithCleanupDelay(MaxCleanupDelay + 1), false},
		{"cleanup delay 100 years", WithCleanupDelay(100 * 365 * 24 * time.Hour), false},
		{"failure rate NaN", WithAcquireFailureRate(math.NaN()), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultConfig()
			err := tc.opt.apply(&cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("have %v, want ok=%v", err, tc.ok)
			}
		})
	}
	s := newTestServer(t)
	if err := s.SetCleanupDelay(MaxCleanupDelay + 1); err == nil {
		t.Error("SetCleanupDelay accepted a delay above MaxCleanupDelay")
	}
}

// TestPackageValuesAreFresh checks that DefaultPopulation hands out new
// values: what a caller does to one changes neither the next
// one nor the servers made afterwards.
func TestPackageValuesAreFresh(t *testing.T) {
	t.Parallel()
	p := DefaultPopulation()
	p.Nodes = 3
	if have := DefaultPopulation(); have.Nodes != 200 || have.NATFraction != 0.1 || have.Seed != 1 {
		t.Errorf("DefaultPopulation after a caller changed its copy: %+v", have)
	}
	for _, name := range methodNames {
		if _, ok := methods[name]; !ok {
			t.Errorf("methodNames lists %q, which the dispatch table lacks", name)
		}
	}
	if len(methods) != len(methodNames) {
		t.Errorf("the dispatch table has %d methods, methodNames %d", len(methods), len(methodNames))
	}
	s := newServer(t, WithKeyBits(512), WithClock(func() time.Time { return t0 }))
	if _, total := listNodes(t, s, NodeFilter{}); total != 200 {
		t.Errorf("a server made after DefaultPopulation's copy changed: %d nodes, want 200", total)
	}
}
