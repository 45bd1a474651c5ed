package clearinghouse

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// fixture is a mock clearinghouse on a loopback HTTP server with one account.
type fixture struct {
	mock     *mockserver.Server
	http     *httptest.Server
	url      string
	account  mockapi.Account
	requests atomic.Int64 // XML-RPC requests that reached the server
	clock    *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func newFixture(t *testing.T, opts ...mockserver.Option) *fixture {
	t.Helper()
	f := &fixture{clock: &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}}
	opts = append([]mockserver.Option{
		mockserver.WithClock(f.clock.now),
		mockserver.WithKeyBits(512),
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 120, NATFraction: 0.15, Seed: 7}),
	}, opts...)
	mock, err := mockserver.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.mock = mock
	acct, err := f.mock.AddAccount(mockapi.AccountSpec{Username: "alice", Password: "correct horse", Affiliation: "Test Lab"})
	if err != nil {
		t.Fatal(err)
	}
	f.account = acct
	f.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.mock.ServeHTTP(w, r)
	}))
	t.Cleanup(f.http.Close)
	f.url = f.http.URL + "/xmlrpc/"
	return f
}

func (f *fixture) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithURL(f.url), WithAPIKey(f.account.APIKey)}, opts...)
	c, err := New(f.account.Username, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantKind checks that err is a clearinghouse *Error of the given kind
// carrying the fault code (0 for none), reachable as an *xmlrpc.Fault.
func wantKind(t *testing.T, err error, kind error, code int) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", kind)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T (%v), want *clearinghouse.Error", err, err)
	}
	if !errors.Is(err, kind) || !errors.Is(err, ErrClearinghouse) {
		t.Fatalf("error %v does not match %v and ErrClearinghouse", err, kind)
	}
	for _, other := range []error{ErrCommunication, ErrInternal, ErrAuthentication, ErrInvalidRequest, ErrNotEnoughCredits, ErrUnableToAcquire, ErrInvalidArgument} {
		if other != kind && errors.Is(err, other) {
			t.Fatalf("error %v also matches %v", err, other)
		}
	}
	if ce.Code != code {
		t.Fatalf("fault code %d, want %d (%v)", ce.Code, code, err)
	}
	if code != 0 {
		var f *xmlrpc.Fault
		if !errors.As(err, &f) || f.Code != code || f.String != ce.Msg {
			t.Fatalf("the *xmlrpc.Fault is not reachable with errors.As: %v", err)
		}
	}
	return ce
}

func TestGetAccountInfo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	info, err := f.client(t).GetAccountInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := AccountInfo{Username: "alice", UserPort: f.account.UserPort, MaxVessels: 10, UserAffiliation: "Test Lab"}
	if *info != want {
		t.Fatalf("have %+v, want %+v", *info, want)
	}
}

func TestAcquireEachType(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	ctx := context.Background()
	for _, tc := range []struct {
		typ     ResourceType
		acquire func(context.Context, int) ([]Vessel, error)
	}{{LAN, c.AcquireLAN}, {WAN, c.AcquireWAN}, {NAT, c.AcquireNAT}, {Random, c.AcquireRandom}} {
		vs, err := tc.acquire(ctx, 2)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		if len(vs) != 2 {
			t.Fatalf("%s: %d vessels, want 2", tc.typ, len(vs))
		}
		subnet := func(v Vessel) string { return v.NodeIP[:strings.LastIndexByte(v.NodeIP, '.')] }
		for _, v := range vs {
			if v.Handle != Handle(v.NodeID+":"+v.VesselID) || v.IsActive == nil || !*v.IsActive || v.NodePort == 0 {
				t.Fatalf("%s: malformed vessel %+v", tc.typ, v)
			}
			if v.ExpiresIn != 4*time.Hour {
				t.Fatalf("%s: expires in %v, want 4h with a frozen clock", tc.typ, v.ExpiresIn)
			}
			if d := time.Until(v.ExpiresAt) - 4*time.Hour; d > time.Second || d < -time.Minute {
				t.Fatalf("%s: ExpiresAt %v is not about 4h from now", tc.typ, v.ExpiresAt)
			}
			if v.BehindNAT() != (tc.typ == NAT) && tc.typ != Random {
				t.Fatalf("%s: vessel on %s", tc.typ, v.NodeIP)
			}
		}
		switch tc.typ {
		case LAN:
			if subnet(vs[0]) != subnet(vs[1]) {
				t.Fatalf("LAN vessels on %s and %s", vs[0].NodeIP, vs[1].NodeIP)
			}
		case WAN:
			if subnet(vs[0]) == subnet(vs[1]) {
				t.Fatalf("WAN vessels on one subnet: %s and %s", vs[0].NodeIP, vs[1].NodeIP)
			}
		}
	}
	held, err := c.GetResourceInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 8 {
		t.Fatalf("holding %d vessels, want 8", len(held))
	}
}

func TestAcquireFaults(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	ctx := context.Background()
	_, err := c.AcquireResources(ctx, "rand", 1)
	ce := wantKind(t, err, ErrInvalidRequest, 102)
	if ce.Msg != "rspec has invalid values." || ce.Method != "acquire_resources" {
		t.Fatalf("have %q in %s", ce.Msg, ce.Method)
	}
	_, err = c.AcquireWAN(ctx, 0)
	wantKind(t, err, ErrInvalidRequest, 102)
	_, err = c.AcquireRandom(ctx, 11)
	ce = wantKind(t, err, ErrNotEnoughCredits, 103)
	if ce.Msg != "You do not have enough vessel credits to acquire the number of vessels requested." {
		t.Fatalf("have %q", ce.Msg)
	}
	// With credits to spare, no subnet has 50 nodes.
	if err := f.mock.SetFreeCredits("alice", 100); err != nil {
		t.Fatal(err)
	}
	_, err = c.AcquireLAN(ctx, 50)
	ce = wantKind(t, err, ErrUnableToAcquire, 105)
	if !strings.HasPrefix(ce.Msg, "Unable to fulfill vessel acquire request at this given time. Details: ") {
		t.Fatalf("have %q", ce.Msg)
	}
	if held, _ := c.GetResourceInfo(ctx); len(held) != 0 {
		t.Fatalf("failed acquisitions left %d vessels held", len(held))
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	c, err := New("alice", WithURL(f.url), WithAPIKey("WRONGKEY"))
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"AcquireWAN":             func() error { _, err := c.AcquireWAN(ctx, 1); return err },
		"AcquireSpecificVessels": func() error { _, err := c.AcquireSpecificVessels(ctx, []Handle{"a:v2"}); return err },
		"ReleaseResources":       func() error { return c.ReleaseResources(ctx, []Handle{"a:v2"}) },
		"RenewResources":         func() error { return c.RenewResources(ctx, []Handle{"a:v2"}) },
		"GetResourceInfo":        func() error { _, err := c.GetResourceInfo(ctx); return err },
		"GetAccountInfo":         func() error { _, err := c.GetAccountInfo(ctx); return err },
		"GetPublicKey":           func() error { _, err := c.GetPublicKey(ctx); return err },
		"RegenerateAPIKey":       func() error { _, err := c.RegenerateAPIKey(ctx, "wrong password"); return err },
		"SetPublicKey":           func() error { return c.SetPublicKey(ctx, "wrong password", "3 1000") },
	}
	for name, call := range calls {
		err := call()
		ce := wantKind(t, err, ErrAuthentication, 101)
		if ce.Msg != "User auth failed." {
			t.Errorf("%s: have %q, want the server's string", name, ce.Msg)
		}
		if strings.Contains(err.Error(), "WRONGKEY") || strings.Contains(err.Error(), "wrong password") {
			t.Errorf("%s: a secret leaked into %q", name, err)
		}
	}
}

func TestSpecificReleaseRenew(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	ctx := context.Background()
	free, _, err := f.mock.Vessels(mockserver.VesselFilter{State: "free", Limit: 3})
	if err != nil || len(free) != 3 {
		t.Fatalf("free vessels: %v %v", free, err)
	}
	handles := []Handle{Handle(free[0].Handle), Handle(free[1].Handle), Handle(free[1].Handle)}
	got, err := c.AcquireSpecificVessels(ctx, handles)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Handle != handles[0] || got[1].Handle != handles[1] {
		t.Fatalf("acquired %v, want the two distinct handles in order", Handles(got))
	}
	// Held by the caller: skipped, not returned.
	got, err = c.AcquireSpecificVessels(ctx, handles[:1])
	if err != nil || len(got) != 0 {
		t.Fatalf("re-acquiring a held vessel: %v %v", Handles(got), err)
	}
	_, err = c.AcquireSpecificVessels(ctx, []Handle{"no-colon"})
	if ce := wantKind(t, err, ErrInvalidRequest, 102); ce.Msg != "Invalid vesselhandle: no-colon" {
		t.Fatalf("have %q", ce.Msg)
	}

	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(time.Hour)
	f.clock.mu.Unlock()
	if err := c.RenewResources(ctx, Handles(got[:0])); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("renewing nothing: %v", err)
	}
	if err := c.RenewResources(ctx, handles[:1]); err != nil {
		t.Fatal(err)
	}
	held, err := c.GetResourceInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expires := map[Handle]time.Duration{}
	for _, v := range held {
		expires[v.Handle] = v.ExpiresIn
	}
	if expires[handles[0]] != 7*24*time.Hour || expires[handles[1]] != 3*time.Hour {
		t.Fatalf("after renewing one of two: %v", expires)
	}
	if err := c.ReleaseResources(ctx, handles); err != nil {
		t.Fatal(err)
	}
	if held, _ := c.GetResourceInfo(ctx); len(held) != 0 {
		t.Fatalf("after release: %v", Handles(held))
	}
	err = c.ReleaseResources(ctx, []Handle{Handle(free[2].NodeID + ":v999")})
	wantKind(t, err, ErrInvalidRequest, 102)
}

func TestKeysAndAPIKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	ctx := context.Background()
	pub, err := c.GetPublicKey(ctx)
	if err != nil || pub != f.account.PublicKey {
		t.Fatalf("GetPublicKey: %q %v", pub, err)
	}
	newKey, err := c.RegenerateAPIKey(ctx, f.account.Password)
	if err != nil {
		t.Fatal(err)
	}
	if len(newKey) != 32 || newKey == f.account.APIKey {
		t.Fatalf("new key %q", newKey)
	}
	// The client now uses the new key; the old one is dead.
	if _, err := c.GetAccountInfo(ctx); err != nil {
		t.Fatalf("with the regenerated key: %v", err)
	}
	old, _ := New("alice", WithURL(f.url), WithAPIKey(f.account.APIKey))
	_, err = old.GetAccountInfo(ctx)
	wantKind(t, err, ErrAuthentication, 101)

	err = c.SetPublicKey(ctx, f.account.Password, "1 2 3")
	if ce := wantKind(t, err, ErrInvalidRequest, 102); ce.Msg != "Invalid public key: Public key is not of a correct format." {
		t.Fatalf("have %q", ce.Msg)
	}
	if err := c.SetPublicKey(ctx, f.account.Password, "3 1000003"); err != nil {
		t.Fatal(err)
	}
	if pub, _ := c.GetPublicKey(ctx); pub != "3 1000003" {
		t.Fatalf("public key now %q", pub)
	}
	// A 20-bit modulus cannot hold the encrypted key in one block: fault 100.
	_, err = c.GetEncryptedAPIKey(ctx, "alice")
	if ce := wantKind(t, err, ErrInternal, 100); ce.Msg != "Internal error while handling the xmlrpc request." {
		t.Fatalf("have %q", ce.Msg)
	}
}

func TestPrivateKeyPath(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	c, err := New("alice", WithURL(f.url), WithPrivateKey(f.account.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	before := f.requests.Load()
	if before != 0 {
		t.Fatalf("New made %d requests", before)
	}
	info, err := c.GetAccountInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Username != "alice" || f.requests.Load() != 2 {
		t.Fatalf("info %+v after %d requests, want 2 (fetch the key, then the call)", info, f.requests.Load())
	}
	if _, err := c.GetAccountInfo(ctx); err != nil || f.requests.Load() != 3 {
		t.Fatalf("the fetched key is not reused: %v, %d requests", err, f.requests.Load())
	}

	// A key pair that is not the account's.
	other, err := f.mock.AddAccount(mockapi.AccountSpec{Username: "bob", Password: "bob's password", Affiliation: "Other Lab"})
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := New("alice", WithURL(f.url), WithPrivateKey(other.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.FetchAPIKey(ctx)
	if ce := wantKind(t, err, ErrAuthentication, 0); ce.Msg != mismatchMsg {
		t.Fatalf("have %q", ce.Msg)
	}
	_, err = wrong.GetResourceInfo(ctx)
	wantKind(t, err, ErrAuthentication, 0)
	if strings.Contains(err.Error(), other.PrivateKey[:20]) {
		t.Fatal("the private key leaked into the error")
	}

	ghost, _ := New("nobody", WithURL(f.url), WithPrivateKey(other.PrivateKey))
	err = ghost.FetchAPIKey(ctx)
	if ce := wantKind(t, err, ErrInvalidRequest, 102); ce.Msg != "Username does not exist." {
		t.Fatalf("have %q", ce.Msg)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "alice.privatekey")
	if err := os.WriteFile(path, []byte(f.account.PrivateKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := New("alice", WithURL(f.url), WithPrivateKeyFile(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := fromFile.FetchAPIKey(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLocalValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	ctx := context.Background()
	checks := map[string]error{
		"empty acquire list": func() error { _, err := c.AcquireSpecificVessels(ctx, nil); return err }(),
		"empty release list": c.ReleaseResources(ctx, []Handle{}),
		"empty renew list":   c.RenewResources(ctx, nil),
		"count over int32":   func() error { _, err := c.AcquireWAN(ctx, 1<<31); return err }(),
		"count under int32":  func() error { _, err := c.AcquireWAN(ctx, -1<<31-1); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrClearinghouse) {
			t.Errorf("%s: have %v, want ErrInvalidArgument and not ErrClearinghouse", name, err)
		}
	}
	if n := f.requests.Load(); n != 0 {
		t.Fatalf("local validation sent %d requests", n)
	}

	var zeroOption Option
	empty := filepath.Join(t.TempDir(), "empty.pem")
	os.WriteFile(empty, []byte("no certificates here\n"), 0o644)
	constructors := map[string][]Option{
		"no key":               {WithURL(f.url)},
		"bad private key":      {WithPrivateKey("1 2")},
		"composite prime":      {WithPrivateKey("3 15 7")},
		"missing key file":     {WithPrivateKeyFile(filepath.Join(t.TempDir(), "none"))},
		"empty CA file":        {WithAPIKey("k"), WithCAFile(empty)},
		"missing CA file":      {WithAPIKey("k"), WithCAFile(filepath.Join(t.TempDir(), "none.pem"))},
		"HTTP client and CA":   {WithAPIKey("k"), WithHTTPClient(http.DefaultClient), WithInsecureSkipVerify()},
		"nil HTTP client":      {WithAPIKey("k"), WithHTTPClient(nil)},
		"bad URL":              {WithAPIKey("k"), WithURL("ftp://example.org/")},
		"empty URL":            {WithAPIKey("k"), WithURL("")},
		"zero timeout":         {WithAPIKey("k"), WithTimeout(0)},
		"negative retries":     {WithAPIKey("k"), WithRetries(-1, 0)},
		"empty user agent":     {WithAPIKey("k"), WithUserAgent("")},
		"nil certificate pool": {WithAPIKey("k"), WithCertPool(nil)},
		"zero Option":          {WithAPIKey("k"), zeroOption},
	}
	for name, opts := range constructors {
		_, err := New("alice", opts...)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: have %v, want ErrInvalidArgument", name, err)
		}
		if name == "zero Option" && (err == nil || err.Error() != "clearinghouse: invalid argument: zero Option") {
			t.Errorf("zero Option: have %v", err)
		}
		if name == "empty CA file" && (err == nil || !strings.Contains(err.Error(), empty)) {
			t.Errorf("empty CA file: %v does not name the file", err)
		}
	}
	if _, err := New("", WithAPIKey("k")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty username: %v", err)
	}
	if c, err := New("alice", WithAPIKey("k")); err != nil || c.URL() != DefaultURL {
		t.Errorf("default URL: %v %v", c, err)
	}
}

// TestEmptyAPIKeyIgnored holds WithAPIKey to its word: an empty key is
// ignored, so it neither clears a key given before nor counts as one.
func TestEmptyAPIKeyIgnored(t *testing.T) {
	t.Parallel()
	c, err := New("alice", WithAPIKey("k"), WithAPIKey(""))
	if err != nil {
		t.Fatalf("WithAPIKey(\"k\"), WithAPIKey(\"\"): %v", err)
	}
	if have := c.currentAPIKey(); have != "k" {
		t.Errorf("key in use: have %q, want %q", have, "k")
	}
	if _, err := New("alice", WithAPIKey("")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("WithAPIKey(\"\") alone: have %v, want ErrInvalidArgument", err)
	}
}

// TestOptionFilesRefused gives WithPrivateKeyFile and WithCAFile a
// directory and a file one byte over their limit: each is an invalid
// argument that names the path and says what is wrong, read no further.
func TestOptionFilesRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sized := func(name string, n int64) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, n); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bigKey, bigCA := sized("big.privatekey", 64<<10+1), sized("big.pem", 4<<20+1)
	for _, tc := range []struct {
		name string
		opt  Option
		want string
	}{
		{"private key file: a directory", WithPrivateKeyFile(dir), "private key file: read " + dir + ": not a regular file (a directory)"},
		{"private key file: too large", WithPrivateKeyFile(bigKey), "private key file: read " + bigKey + ": file too large (the limit is 64 KiB)"},
		{"CA file: a directory", WithCAFile(dir), "CA file: read " + dir + ": not a regular file (a directory)"},
		{"CA file: too large", WithCAFile(bigCA), "CA file: read " + bigCA + ": file too large (the limit is 4 MiB)"},
	} {
		_, err := New("alice", WithAPIKey("k"), tc.opt)
		if !errors.Is(err, ErrInvalidArgument) || err.Error() != "clearinghouse: invalid argument: "+tc.want {
			t.Errorf("%s: have %v, want ErrInvalidArgument %q", tc.name, err, tc.want)
		}
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := httptest.NewUnstartedServer(f.mock)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake is expected
	ts.StartTLS()
	t.Cleanup(ts.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	url := ts.URL + "/xmlrpc/"
	key := WithAPIKey(f.account.APIKey)

	verified, err := New("alice", WithURL(url), key, WithCAFile(caFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verified.GetAccountInfo(ctx); err != nil {
		t.Fatalf("with the CA file: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	withPool, _ := New("alice", WithURL(url), key, WithCertPool(pool))
	if _, err := withPool.GetAccountInfo(ctx); err != nil {
		t.Fatalf("with the cert pool: %v", err)
	}
	unverified, _ := New("alice", WithURL(url), key)
	_, err = unverified.GetAccountInfo(ctx)
	wantKind(t, err, ErrCommunication, 0)
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("have %v, want an x509.UnknownAuthorityError inside", err)
	}
	insecure, _ := New("alice", WithURL(url), key, WithInsecureSkipVerify())
	if _, err := insecure.GetAccountInfo(ctx); err != nil {
		t.Fatalf("insecure: %v", err)
	}
}

// misbehaving returns the URL of a server that answers with h.
func misbehaving(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL + "/xmlrpc/"
}

func TestCommunicationFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		cause   any // a pointer to the error type errors.As must find
	}{
		{"status 500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, new(*xmlrpc.HTTPError)},
		{"non-XML body", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>hello</html>")) }, new(*xmlrpc.DecodeError)},
		{"wrong result shape", func(w http.ResponseWriter, r *http.Request) {
			xmlrpc.EncodeResponse(w, "not a struct")
		}, new(*xmlrpc.TypeError)},
		{"closed mid-response", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(`<?xml version="1.0"?><methodResponse><params>`))
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, new(*xmlrpc.TransportError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := New("alice", WithURL(misbehaving(t, tc.handler)), WithAPIKey("secretapikey"))
			_, err := c.GetAccountInfo(ctx)
			wantKind(t, err, ErrCommunication, 0)
			if !errors.As(err, tc.cause) {
				t.Fatalf("have %v, want %T inside", err, tc.cause)
			}
			if strings.Contains(err.Error(), "secretapikey") {
				t.Fatalf("API key in %q", err)
			}
		})
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	url := misbehaving(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client leaving
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	c, _ := New("alice", WithURL(url), WithAPIKey("k"), WithTimeout(50*time.Millisecond))
	_, err := c.GetAccountInfo(context.Background())
	wantKind(t, err, ErrCommunication, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("have %v, want DeadlineExceeded inside", err)
	}
	c2, _ := New("alice", WithURL(url), WithAPIKey("k"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = c2.AcquireWAN(ctx, 1)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCommunication) {
		t.Fatalf("have %v, want Canceled inside ErrCommunication", err)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var attempts atomic.Int64
	flaky := misbehaving(t, func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) <= 2 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		f.mock.ServeHTTP(w, r)
	})
	c, _ := New("alice", WithURL(flaky), WithAPIKey(f.account.APIKey), WithRetries(3, time.Millisecond))
	if _, err := c.GetAccountInfo(context.Background()); err != nil {
		t.Fatalf("read-only call after two dropped connections: %v", err)
	}
	if attempts.Load() != 3 {
		t.Fatalf("%d attempts, want 3", attempts.Load())
	}
	attempts.Store(0)
	_, err := c.AcquireWAN(context.Background(), 1)
	wantKind(t, err, ErrCommunication, 0)
	if attempts.Load() != 1 {
		t.Fatalf("an acquisition was tried %d times, want exactly 1", attempts.Load())
	}
	attempts.Store(0)
	none, _ := New("alice", WithURL(flaky), WithAPIKey(f.account.APIKey))
	if _, err := none.GetAccountInfo(context.Background()); err == nil || attempts.Load() != 1 {
		t.Fatalf("retries are off by default: %v after %d attempts", err, attempts.Load())
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				vs, err := c.AcquireRandom(ctx, 1)
				if err != nil && !errors.Is(err, ErrNotEnoughCredits) {
					errs <- err
					return
				}
				if _, err := c.GetResourceInfo(ctx); err != nil {
					errs <- err
					return
				}
				if len(vs) == 1 {
					if err := c.ReleaseResources(ctx, Handles(vs)); err != nil {
						errs <- err
						return
					}
				}
			}
			if i == 0 {
				if _, err := c.RegenerateAPIKey(ctx, f.account.Password); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		// A call that raced with the key change may fail authentication.
		if !errors.Is(err, ErrAuthentication) {
			t.Error(err)
		}
	}
	if _, err := c.GetAccountInfo(ctx); err != nil {
		t.Fatalf("after the regeneration: %v", err)
	}
}

// TestErrorStrings pins the error text format.
func TestErrorStrings(t *testing.T) {
	e := &Error{Method: "renew_resources", Kind: ErrNotEnoughCredits, Code: 103, Msg: "over the limit"}
	if have, want := e.Error(), "clearinghouse: renew_resources: not enough vessel credits (fault 103): over the limit"; have != want {
		t.Fatalf("have %q, want %q", have, want)
	}
	if have := invalidArgument("x").Error(); have != "clearinghouse: invalid argument: x" {
		t.Fatalf("have %q", have)
	}
	// Each sentinel's own text names the package, as every error of the
	// package does; an *Error shows the kind without repeating it.
	for _, tc := range []struct {
		kind       error
		want, what string
	}{
		{ErrClearinghouse, "clearinghouse: error", "error"},
		{ErrCommunication, "clearinghouse: communication failed", "communication failed"},
		{ErrInternal, "clearinghouse: internal error", "internal error"},
		{ErrAuthentication, "clearinghouse: authentication failed", "authentication failed"},
		{ErrInvalidRequest, "clearinghouse: invalid request", "invalid request"},
		{ErrNotEnoughCredits, "clearinghouse: not enough vessel credits", "not enough vessel credits"},
		{ErrUnableToAcquire, "clearinghouse: unable to acquire resources", "unable to acquire resources"},
		{ErrInvalidArgument, "clearinghouse: invalid argument", "invalid argument"},
	} {
		if have := tc.kind.Error(); have != tc.want {
			t.Errorf("sentinel: have %q, want %q", have, tc.want)
		}
		e := &Error{Method: "m", Kind: tc.kind}
		if have, want := e.Error(), "clearinghouse: m: "+tc.what; have != want {
			t.Errorf("*Error of kind %v: have %q, want %q", tc.kind, have, want)
		}
	}
	// A Kind left nil (an *Error built by hand) still prints.
	if have, want := (&Error{Method: "m"}).Error(), "clearinghouse: m: error"; have != want {
		t.Errorf("nil Kind: have %q, want %q", have, want)
	}
	for code, kind := range map[int]error{CodeMalformed: ErrInternal, CodeInternal: ErrInternal, CodeAuthentication: ErrAuthentication,
		CodeInvalidRequest: ErrInvalidRequest, CodeNotEnoughCredits: ErrNotEnoughCredits, 104: ErrInternal,
		CodeUnableToAcquire: ErrUnableToAcquire, 999: ErrInternal} {
		if got := kindOfFault(code); got != kind {
			t.Errorf("fault %d: %v, want %v", code, got, kind)
		}
	}
}

// TestRedirectRefused: a redirect to another server is a communication
// error, with the client's own transport and with WithHTTPClient (whose
// *http.Client would follow it), and the other server receives nothing:
// no call, no API key.
func TestRedirectRefused(t *testing.T) {
	t.Parallel()
	var stolen atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		xmlrpc.EncodeResponse(w, map[string]any{"user_name": "alice"})
	}))
	t.Cleanup(other.Close)
	for _, status := range []int{301, 302, 303, 307, 308} {
		endpoint := misbehaving(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/xmlrpc/", status)
		})
		for name, opts := range map[string][]Option{
			"own transport":  nil,
			"WithHTTPClient": {WithHTTPClient(&http.Client{})},
		} {
			c, err := New("alice", append([]Option{WithURL(endpoint), WithAPIKey("redirectedapikey")}, opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetAccountInfo(context.Background())
			wantKind(t, err, ErrCommunication, 0)
			var he *xmlrpc.HTTPError
			if !errors.As(err, &he) || he.StatusCode != status || he.Location != other.URL+"/xmlrpc/" {
				t.Errorf("%d, %s: have %v, want an *xmlrpc.HTTPError for the redirect", status, name, err)
			}
			if strings.Contains(err.Error(), "redirectedapikey") {
				t.Errorf("API key in %q", err)
			}
		}
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the other server received %d requests, want none", n)
	}
}

// roundTripFunc is an http.RoundTripper made of a function: it runs in the
// calling goroutine and opens no connection, so it works in a synctest
// bubble.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRetryBackoff: a read-only call that keeps failing in transport is
// tried 1+n times, waiting backoff, then twice that, and so on; a context
// cancelled during a wait ends the call at once, without another attempt.
// The bubble's clock makes the waits exact.
func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		var attempts []time.Duration
		down := errors.New("connection refused")
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			attempts = append(attempts, time.Since(t0))
			return nil, down
		})}
		c, err := New("alice", WithAPIKey("k"), WithURL("http://clearinghouse.test/xmlrpc/"),
			WithHTTPClient(hc), WithRetries(3, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetAccountInfo(context.Background())
		wantKind(t, err, ErrCommunication, 0)
		if !errors.Is(err, down) {
			t.Fatalf("have %v, want the transport's error inside", err)
		}
		want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
		if !slices.Equal(attempts, want) {
			t.Fatalf("attempts at %v, want %v", attempts, want)
		}

		// Cancelled a minute into a wait of an hour.
		attempts = nil
		t0 = time.Now()
		slow, err := New("alice", WithAPIKey("k"), WithURL("http://clearinghouse.test/xmlrpc/"),
			WithHTTPClient(hc), WithRetries(3, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := slow.GetResourceInfo(ctx)
			done <- err
		}()
		time.Sleep(time.Minute)
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			wantKind(t, err, ErrCommunication, 0)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not match context.Canceled", err)
			}
			if elapsed := time.Since(t0); elapsed != time.Minute {
				t.Fatalf("the call returned %v after it started, want 1m (when it was cancelled)", elapsed)
			}
		default:
			t.Fatal("the call still waits after its context was cancelled")
		}
		if want := []time.Duration{0}; !slices.Equal(attempts, want) {
			t.Fatalf("attempts at %v, want %v", attempts, want)
		}
	})
}

// TestHandleRebuilt: a vessel that arrives without a handle, or with an
// empty one, gets "<node_id>:<vessel_id>", the form the clearinghouse
// gives handles (contract §4); a handle that arrives is kept as sent.
// Every call that returns vessels does this.
func TestHandleRebuilt(t *testing.T) {
	t.Parallel()
	vessels := []any{
		map[string]any{"node_id": "3 1001", "node_ip": "10.0.0.1", "node_port": 1224, "vessel_id": "v3",
			"is_active": true, "expires_in_seconds": 14400},
		map[string]any{"node_id": "3 1002", "node_ip": "10.0.1.1", "node_port": 1224, "vessel_id": "v7",
			"handle": "", "expires_in_seconds": 14400},
		map[string]any{"node_id": "3 1003", "node_ip": "10.0.2.1", "node_port": 1224, "vessel_id": "v9",
			"handle": "as sent", "expires_in_seconds": 14400},
	}
	url := misbehaving(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		xmlrpc.EncodeResponse(w, vessels)
	})
	c, err := New("alice", WithAPIKey("k"), WithURL(url))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := []Handle{"3 1001:v3", "3 1002:v7", "as sent"}
	for name, call := range map[string]func() ([]Vessel, error){
		"GetResourceInfo":        func() ([]Vessel, error) { return c.GetResourceInfo(ctx) },
		"AcquireResources":       func() ([]Vessel, error) { return c.AcquireWAN(ctx, 3) },
		"AcquireSpecificVessels": func() ([]Vessel, error) { return c.AcquireSpecificVessels(ctx, want) },
	} {
		vs, err := call()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if have := Handles(vs); !slices.Equal(have, want) {
			t.Errorf("%s: handles %q, want %q", name, have, want)
		}
		if len(vs) == 3 && (vs[0].NodeID != "3 1001" || vs[0].VesselID != "v3" || vs[0].NodePort != 1224 || vs[0].ExpiresIn != 4*time.Hour) {
			t.Errorf("%s: first vessel %+v", name, vs[0])
		}
	}
}
