//go:build ignore

// This file is the kolo/xmlrpc side of rows 1 of the performance table.
// internal/benchtable copies it, without the build line above, into a
// temporary module that requires github.com/kolo/xmlrpc, so that this
// project's go.mod stays free of dependencies. It reads the payloads from
// the directory in BENCH_PAYLOADS, the same files the project's own
// benchmarks read (xmlrpc/testdata/resource_info_N.xml).

package peers

import (
	"os"
	"path/filepath"
	"testing"

	kolo "github.com/kolo/xmlrpc"
)

// vessel is the get_resource_info infodict, declared as for our decoder.
type vessel struct {
	NodeID           string `xmlrpc:"node_id"`
	NodeIP           string `xmlrpc:"node_ip"`
	NodePort         int    `xmlrpc:"node_port"`
	VesselID         string `xmlrpc:"vessel_id"`
	Handle           string `xmlrpc:"handle"`
	IsActive         bool   `xmlrpc:"is_active"`
	ExpiresInSeconds int    `xmlrpc:"expires_in_seconds"`
}

func benchmarkKolo(b *testing.B, n string, want int) {
	data, err := os.ReadFile(filepath.Join(os.Getenv("BENCH_PAYLOADS"), "resource_info_"+n+".xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var v []vessel
	for b.Loop() {
		v = nil
		resp := kolo.Response(data)
		if err := resp.Err(); err != nil {
			b.Fatal(err)
		}
		if err := resp.Unmarshal(&v); err != nil {
			b.Fatal(err)
		}
	}
	if len(v) != want || v[0].NodePort != 1224 || v[0].Handle == "" {
		b.Fatalf("decoded wrongly: %d vessels, first %+v", len(v), v[0])
	}
}

func BenchmarkDecodeKolo10(b *testing.B)   { benchmarkKolo(b, "10", 10) }
func BenchmarkDecodeKolo100(b *testing.B)  { benchmarkKolo(b, "100", 100) }
func BenchmarkDecodeKolo1000(b *testing.B) { benchmarkKolo(b, "1000", 1000) }
