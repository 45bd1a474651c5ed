package clearinghouse

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// BenchmarkGetResourceInfo100 measures a full GetResourceInfo call for an
// account holding 100 vessels, against the in-process mock over loopback
// HTTP, next to the bare xmlrpc call it makes (same request, same typed
// decoding) as the baseline: the difference is this package's overhead.
func BenchmarkGetResourceInfo100(b *testing.B) {
	mock, err := mockserver.New(mockserver.WithKeyBits(512), mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 200, Seed: 3}))
	if err != nil {
		b.Fatal(err)
	}
	acct, err := mock.AddAccount(mockserver.AccountSpec{Username: "bench", Password: "bench password", Affiliation: "Bench", FreeCredits: 100})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()
	url := srv.URL + "/xmlrpc/"
	ctx := context.Background()
	c, err := New(acct.Username, WithAPIKey(acct.APIKey), WithURL(url))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.AcquireRandom(ctx, 100); err != nil {
		b.Fatal(err)
	}

	b.Run("clearinghouse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			vs, err := c.GetResourceInfo(ctx)
			if err != nil || len(vs) != 100 {
				b.Fatalf("%d vessels, %v", len(vs), err)
			}
		}
	})
	b.Run("xmlrpc", func(b *testing.B) {
		rpc, err := xmlrpc.NewClient(url)
		if err != nil {
			b.Fatal(err)
		}
		auth := map[string]any{"username": acct.Username, "api_key": acct.APIKey}
		b.ReportAllocs()
		for b.Loop() {
			var ws []wireVessel
			if err := rpc.Call(ctx, "get_resource_info", &ws, auth); err != nil || len(ws) != 100 {
				b.Fatalf("%d vessels, %v", len(ws), err)
			}
		}
	})
}
