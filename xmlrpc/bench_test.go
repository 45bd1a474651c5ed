package xmlrpc

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchVessel is the infodict of get_resource_info, as a caller declares it.
type benchVessel struct {
	NodeID           string `xmlrpc:"node_id"`
	NodeIP           string `xmlrpc:"node_ip"`
	NodePort         int    `xmlrpc:"node_port"`
	VesselID         string `xmlrpc:"vessel_id"`
	Handle           string `xmlrpc:"handle"`
	IsActive         bool   `xmlrpc:"is_active"`
	ExpiresInSeconds int    `xmlrpc:"expires_in_seconds"`
}

func readPayload(tb testing.TB, n string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "resource_info_"+n+".xml"))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func benchmarkDecodeTyped(b *testing.B, n string) {
	data := readPayload(b, n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var v []benchVessel
	for b.Loop() {
		v = nil
		if err := DecodeResponse(bytes.NewReader(data), &v); err != nil {
			b.Fatal(err)
		}
	}
	if len(v) == 0 || v[0].NodePort != 1224 || v[0].Handle == "" {
		b.Fatalf("decoded wrongly: %+v", v)
	}
}

func BenchmarkDecodeTyped10(b *testing.B)   { benchmarkDecodeTyped(b, "10") }
func BenchmarkDecodeTyped100(b *testing.B)  { benchmarkDecodeTyped(b, "100") }
func BenchmarkDecodeTyped1000(b *testing.B) { benchmarkDecodeTyped(b, "1000") }

func benchmarkDecodeAny(b *testing.B, n string) {
	data := readPayload(b, n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := DecodeResponse(bytes.NewReader(data), &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAny100(b *testing.B)  { benchmarkDecodeAny(b, "100") }
func BenchmarkDecodeAny1000(b *testing.B) { benchmarkDecodeAny(b, "1000") }

func benchmarkEncode(b *testing.B, n string) {
	var v []benchVessel
	if err := DecodeResponse(bytes.NewReader(readPayload(b, n)), &v); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := EncodeResponse(io.Discard, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode100(b *testing.B)  { benchmarkEncode(b, "100") }
func BenchmarkEncode1000(b *testing.B) { benchmarkEncode(b, "1000") }
