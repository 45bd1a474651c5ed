package mockserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

func startHTTP(t testing.TB, s *Server) string {
	t.Helper()
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestHTTPRouting(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	base := startHTTP(t, s)
	tests := []struct {
		name, method, path, body string
		chunked                  bool
		status                   int
		banner                   bool
		xml                      bool
	}{
		{name: "GET banner", method: "GET", path: "/xmlrpc/", status: 200, banner: true},
		{name: "GET without slash", method: "GET", path: "/xmlrpc", status: 200, banner: true},
		{name: "PUT banner", method: "PUT", path: "/xmlrpc/", body: "x", status: 200, banner: true},
		{name: "empty POST banner", method: "POST", path: "/xmlrpc/", status: 200, banner: true},
		{name: "empty chunked POST banner", method: "POST", path: "/xmlrpc/", chunked: true, status: 200, banner: true},
		{name: "POST is a call", method: "POST", path: "/xmlrpc/", body: callDoc("get_account_info"), status: 200, xml: true},
		{name: "chunked POST is a call", method: "POST", path: "/xmlrpc/", body: callDoc("get_account_info"), chunked: true, status: 200, xml: true},
		{name: "any path under /xmlrpc", method: "POST", path: "/xmlrpc/deeper/still", body: callDoc("get_account_info"), status: 200, xml: true},
		{name: "any path beginning /xmlrpc", method: "POST", path: "/xmlrpcfoo", body: callDoc("get_account_info"), status: 200, xml: true},
		{name: "other path", method: "GET", path: "/other", status: 404},
		{name: "admin off by default", method: "GET", path: "/admin/nodes", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(strings.NewReader(tc.body)) // unknown length: sent chunked
			}
			req, _ := http.NewRequest(tc.method, base+tc.path, body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.banner {
				if string(got) != banner || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.ContentLength != int64(len(banner)) {
					t.Fatalf("have %q (%s, length %d), want the banner", got, resp.Header.Get("Content-Type"), resp.ContentLength)
				}
			}
			if tc.xml {
				if resp.Header.Get("Content-Type") != "text/xml; charset=utf-8" || resp.ContentLength != int64(len(got)) {
					t.Fatalf("content type %q, length %d for %d bytes", resp.Header.Get("Content-Type"), resp.ContentLength, len(got))
				}
				var f *xmlrpc.Fault
				if err := xmlrpc.DecodeResponse(bytes.NewReader(got), nil); !errors.As(err, &f) || f.Code != codeInternal {
					t.Fatalf("have %v, want fault 100 for a call with no parameters", err)
				}
			}
		})
	}
	resp, err := http.Head(base + "/xmlrpc/")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(got) != 0 || resp.ContentLength != int64(len(banner)) {
		t.Fatalf("HEAD: status %d, %d body bytes, length %d", resp.StatusCode, len(got), resp.ContentLength)
	}
}

func TestHTTPAdminWhenEnabled(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, WithAdmin(true))
	base := startHTTP(t, s)
	resp, err := http.Get(base + "/admin/nodes")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
}

func callDoc(method string, params ...any) string {
	var b strings.Builder
	enc := xmlrpc.NewEncoder(&b)
	enc.SetAllowNil(true)
	enc.SetI8(true)
	if err := enc.EncodeCall(method, params...); err != nil {
		panic(err)
	}
	return b.String()
}

// postFault posts a raw body and returns the fault it gets.
func postFault(t *testing.T, url, body string) *xmlrpc.Fault {
	t.Helper()
	resp, err := http.Post(url, "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f *xmlrpc.Fault
	if err := xmlrpc.DecodeResponse(resp.Body, nil); !errors.As(err, &f) {
		t.Fatalf("have %v, want a fault", err)
	}
	return f
}

func TestHTTPFaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	url := startHTTP(t, s) + "/xmlrpc/"
	const expat = "<class 'xml.parsers.expat.ExpatError'>:"
	for _, body := range []string{
		"not xml at all",
		`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><methodCall><methodName>get_account_info</methodName></methodCall>`,
		`<methodCall><methodName>get_account_info</methodName><params><param><value><int>12x</int></value></param></params></methodCall>`,
		`<methodResponse><params><param><value>1</value></param></params></methodResponse>`,
	} {
		f := postFault(t, url, body)
		if f.Code != codeMalformed || !strings.HasPrefix(f.String, expat) {
			t.Errorf("%.40q: have fault %d %q, want 1 with the ExpatError prefix", body, f.Code, f.String)
		}
	}
	for _, name := range []string{"system.listMethods", "system.multicall", "_dispatch", "__init__", "nope"} {
		f := postFault(t, url, callDoc(name))
		want := "<class 'clearinghouse.common.exceptions.InvalidRequestError'>:The requested method '" + name + "' doesn't exist."
		if f.Code != codeMalformed || f.String != want {
			t.Errorf("%s: have fault %d %q", name, f.Code, f.String)
		}
	}
	f := postFault(t, url, callDoc("get_account_info", "a", "b"))
	if f.Code != codeInternal || f.String != "Internal error while handling the xmlrpc request." {
		t.Errorf("wrong arity: have fault %d %q", f.Code, f.String)
	}
}

func TestHTTPLogsOneLinePerCallWithoutSecrets(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	s := newTestServer(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	u := addUser(t, s, "carol")
	url := startHTTP(t, s) + "/xmlrpc/"
	c, err := xmlrpc.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.Call(ctx, "get_account_info", nil, map[string]any{"username": "carol", "api_key": u.APIKey})
	c.Call(ctx, "get_account_info", nil, map[string]any{"username": "carol", "api_key": "WRONG-SECRET-KEY"})
	c.Call(ctx, "regenerate_api_key", nil, map[string]any{"username": "carol", "password": u.Password})
	c.Call(ctx, "get_encrypted_api_key", nil, "carol")
	out := logs.String()
	if n := strings.Count(out, "msg=call"); n != 4 {
		t.Fatalf("%d call lines, want 4:\n%s", n, out)
	}
	for _, want := range []string{"method=get_account_info", "username=carol", "fault=101", "method=regenerate_api_key", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{u.APIKey, "WRONG-SECRET-KEY", u.Password, u.PrivateKey[:20]} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret reached the log:\n%s", out)
		}
	}
}

// benchHTTP returns the URL of a mock over loopback HTTP whose account
// holds 10 vessels, with the auth struct to call it.
func benchHTTP(b *testing.B) (string, map[string]any, *Server) {
	s, u := benchServer(b, 1000)
	a := auth(u)
	if _, err := s.Call(context.Background(), "acquire_resources", a, rspec("wan", int64(10))); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	b.Cleanup(hs.Close)
	return hs.URL + "/xmlrpc/", a, s
}

// keepAliveClient is shared by the concurrent clients of a benchmark, with
// enough idle connections for all of them.
func keepAliveClient(b *testing.B) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// BenchmarkHTTPGetResourceInfo10 compares get_resource_info (10 vessels)
// through the mock's HTTP handler with a bare net/http handler writing a
// canned response of the same size, both with 16 concurrent keep-alive
// clients. The target: the mock at no less than half the canned
// rate, that is canned ns/op at least 0.5 times the mock's.
func BenchmarkHTTPGetResourceInfo10(b *testing.B) {
	url, a, _ := benchHTTP(b)
	body := callDoc("get_resource_info", a)
	resp, err := http.Post(url, "text/xml", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	canned, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(canned, []byte("expires_in_seconds")) {
		b.Fatalf("unexpected response %s", canned)
	}
	cannedSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(canned)
	}))
	b.Cleanup(cannedSrv.Close)

	run := func(b *testing.B, target string) {
		hc := keepAliveClient(b)
		b.SetBytes(int64(len(canned)))
		b.ReportAllocs()
		b.SetParallelism(16 / runtime.GOMAXPROCS(0))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := hc.Post(target, "text/xml", strings.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if n != int64(len(canned)) {
					b.Errorf("%d bytes, want %d", n, len(canned))
					return
				}
			}
		})
	}
	b.Run("mock", func(b *testing.B) { run(b, url) })
	b.Run("canned", func(b *testing.B) { run(b, cannedSrv.URL) })
}

// BenchmarkHTTPAcquireRelease is an acquire of 10 WAN vessels and their
// release, each a call through the mock's HTTP handler.
func BenchmarkHTTPAcquireRelease(b *testing.B) {
	s, u := benchServer(b, 1000)
	hs := httptest.NewServer(s)
	b.Cleanup(hs.Close)
	c, err := xmlrpc.NewClient(hs.URL+"/xmlrpc/", xmlrpc.WithHTTPClient(keepAliveClient(b)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	a := auth(u)
	b.ReportAllocs()
	for b.Loop() {
		var got []map[string]any
		if err := c.Call(ctx, "acquire_resources", &got, a, map[string]any{"rspec_type": "wan", "number_of_nodes": 10}); err != nil {
			b.Fatal(err)
		}
		handles := make([]string, len(got))
		for i, v := range got {
			handles[i] = v["handle"].(string)
		}
		if err := c.Call(ctx, "release_resources", nil, a, handles); err != nil {
			b.Fatal(err)
		}
	}
}
