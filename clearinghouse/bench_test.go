package clearinghouse

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
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
	acct, err := mock.AddAccount(mockapi.AccountSpec{Username: "bench", Password: "bench password", Affiliation: "Bench", FreeCredits: 100})
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

// BenchmarkGetResourceInfoVsBare measures GetResourceInfo against a bare
// net/http server that answers every POST with the same canned bytes (a
// CPython server's get_resource_info answer with 10, 100 or 1000 vessels,
// from xmlrpc/testdata), next to its baseline: a bare net/http POST of the
// same request bytes to the same server, reading the whole answer with
// io.ReadAll. The ratio client/bare is what this package and its codec
// cost on top of moving the bytes; docs/performance.md reports it.
func BenchmarkGetResourceInfoVsBare(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		answer, err := os.ReadFile(filepath.Join("..", "xmlrpc", "testdata", "resource_info_"+strconv.Itoa(n)+".xml"))
		if err != nil {
			b.Fatal(err)
		}
		var request atomic.Pointer[[]byte] // the client's request, as sent
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			request.CompareAndSwap(nil, &body)
			w.Header().Set("Content-Type", "text/xml")
			w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
			w.Write(answer)
		}))
		b.Cleanup(srv.Close)
		ctx := context.Background()
		c, err := New("bench", WithAPIKey("BENCHKEY"), WithURL(srv.URL+"/xmlrpc/"))
		if err != nil {
			b.Fatal(err)
		}
		if vs, err := c.GetResourceInfo(ctx); err != nil || len(vs) != n {
			b.Fatalf("%d vessels, %v", len(vs), err)
		}
		body := *request.Load()
		bare := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		b.Cleanup(bare.CloseIdleConnections)

		b.Run(strconv.Itoa(n)+"/client", func(b *testing.B) {
			b.SetBytes(int64(len(answer)))
			b.ReportAllocs()
			for b.Loop() {
				vs, err := c.GetResourceInfo(ctx)
				if err != nil || len(vs) != n {
					b.Fatalf("%d vessels, %v", len(vs), err)
				}
			}
		})
		post := func(b *testing.B, read func(io.Reader) (int64, error)) {
			b.SetBytes(int64(len(answer)))
			b.ReportAllocs()
			for b.Loop() {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/xmlrpc/", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", "text/xml")
				resp, err := bare.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				got, err := read(resp.Body)
				resp.Body.Close()
				if err != nil || got != int64(len(answer)) {
					b.Fatalf("%d bytes, %v", got, err)
				}
			}
		}
		// bare keeps the answer, as a program that wants the bytes would.
		b.Run(strconv.Itoa(n)+"/bare", func(b *testing.B) {
			post(b, func(r io.Reader) (int64, error) {
				data, err := io.ReadAll(r)
				return int64(len(data)), err
			})
		})
		// discard only moves the bytes: the floor.
		b.Run(strconv.Itoa(n)+"/discard", func(b *testing.B) {
			post(b, func(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) })
		})
	}
}
