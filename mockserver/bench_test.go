package mockserver

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

var benchSizes = []int{1000, 100000}

func benchServer(b *testing.B, nodes int, opts ...Option) (*Server, mockapi.Account) {
	b.Helper()
	base := []Option{
		WithPopulation(PopulationConfig{Nodes: nodes, NATFraction: 0.1, Seed: 1}),
		WithClock(func() time.Time { return t0 }), WithTimeScale(0),
	}
	s, err := Open(context.Background(), "", append(base, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	keys := testKeys()
	u, err := s.AddAccount(mockapi.AccountSpec{Username: "bench", Password: "benchpw", Affiliation: "bench",
		PublicKey: keys[0], PrivateKey: keys[1], UserPort: 63100, FreeCredits: 1000})
	if err != nil {
		b.Fatal(err)
	}
	return s, u
}

// BenchmarkStartup measures New with a generated population.
func BenchmarkStartup(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := New(WithPopulation(PopulationConfig{Nodes: n, NATFraction: 0.1, Seed: 1}))
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

// BenchmarkAcquireRelease10 is one acquire_resources of 10 vessels and the
// release_resources of them: the work must not grow with the population.
func BenchmarkAcquireRelease10(b *testing.B) {
	ctx := context.Background()
	for _, typ := range []string{"wan", "random", "nat", "lan"} {
		for _, n := range benchSizes {
			b.Run(typ+"/"+strconv.Itoa(n), func(b *testing.B) {
				s, u := benchServer(b, n)
				count := int64(10)
				if typ == "lan" {
					count = 8 // LAN clusters have 8 to 16 nodes
				}
				a, r := auth(u), rspec(typ, count)
				b.ReportAllocs()
				for b.Loop() {
					res, err := s.Call(ctx, "acquire_resources", a, r)
					if err != nil {
						b.Fatal(err)
					}
					list := res.([]any)
					hs := make([]any, len(list))
					for i, e := range list {
						hs[i] = e.(map[string]any)["handle"]
					}
					if _, err := s.Call(ctx, "release_resources", a, hs); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkGetResourceInfo10 is get_resource_info with 10 vessels held,
// without HTTP.
func BenchmarkGetResourceInfo10(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			s, u := benchServer(b, n)
			if _, err := s.Call(context.Background(), "acquire_resources", auth(u), rspec("wan", int64(10))); err != nil {
				b.Fatal(err)
			}
			a := auth(u)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Call(context.Background(), "get_resource_info", a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAcquireReleasePersistent is the acquire-release cycle with a
// state file: two journal records, each written and fsynced.
func BenchmarkAcquireReleasePersistent(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "state")
			s, err := Open(context.Background(), path, WithPopulation(PopulationConfig{Nodes: n, NATFraction: 0.1, Seed: 1}))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			keys := testKeys()
			u, err := s.AddAccount(mockapi.AccountSpec{Username: "bench", Password: "benchpw", Affiliation: "bench",
				PublicKey: keys[0], UserPort: 63100})
			if err != nil {
				b.Fatal(err)
			}
			a, r := auth(u), rspec("wan", int64(10))
			b.ReportAllocs()
			for b.Loop() {
				res, err := s.Call(ctx, "acquire_resources", a, r)
				if err != nil {
					b.Fatal(err)
				}
				list := res.([]any)
				hs := make([]any, len(list))
				for i, e := range list {
					hs[i] = e.(map[string]any)["handle"]
				}
				if _, err := s.Call(ctx, "release_resources", a, hs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMemoryPerVessel reports the live heap a generated population
// takes, per vessel (8 per node), node ids included.
func BenchmarkMemoryPerVessel(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var perVessel float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s, err := New(WithPopulation(PopulationConfig{Nodes: n, NATFraction: 0.1, Seed: 1}))
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perVessel = float64(after.HeapAlloc-before.HeapAlloc) / float64(8*n)
				runtime.KeepAlive(s)
			}
			b.ReportMetric(perVessel, "B/vessel")
		})
	}
}
