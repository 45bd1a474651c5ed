package keeper

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// The fault tests need real HTTP connections: the mock's fault profile
// takes a connection over to reset it or to close it short, which the
// in-memory transport of keeper_test.go cannot show. They still run in a
// synctest bubble, so that a simulated month takes seconds: the mock's
// http.Server serves connections made with net.Pipe, which are channels
// inside the bubble (a goroutine waiting on one is durably blocked, as
// the testing/synctest documentation's net.Pipe example relies on), and
// the client's http.Transport dials such pipes. A pipe has no SO_LINGER,
// so the mock's reset closes it; the client then reads EOF where TCP
// would give ECONNRESET, and either way the call fails with
// clearinghouse.ErrCommunication (TestPipeNetReset checks it).

// pipeNet is an in-memory network: each DialContext makes a net.Pipe and
// hands its server end to Accept. It is a net.Listener for http.Server.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeNet() *pipeNet {
	return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// Accept returns the server end of the next connection dialed.
func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

// Close stops Accept and DialContext.
func (p *pipeNet) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

// Addr is the listener's address.
func (p *pipeNet) Addr() net.Addr { return pipeAddr{} }

// DialContext returns the client end of a new pipe once the server has
// accepted it.
func (p *pipeNet) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.conns <- server:
		return client, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, net.ErrClosed
	}
}

// faultEnv is a mock clearinghouse with a fault profile, served over
// in-memory connections, and the clients that reach it. It must be made
// at the start of a synctest bubble; its cleanup stops the server and
// closes every connection, so that the bubble can end.
type faultEnv struct {
	mockAccount                       // the mock and alice
	client      *clearinghouse.Client // the keeper's, over HTTP with faults

	mu    sync.Mutex
	calls map[string]int // wire calls sent by the keeper's client, per method
}

// faultURL is where the keeper's client sends its calls; the host is
// never resolved: every dial makes a pipe.
const faultURL = "http://clearinghouse.test/xmlrpc/"

// newFaultEnv starts the mock with the fault profile spec (compact form)
// and the account alice with the default credits.
func newFaultEnv(t *testing.T, spec string) *faultEnv {
	t.Helper()
	profile, err := mockserver.ParseFaultSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	e := &faultEnv{calls: make(map[string]int)}
	e.mock = newMock(t,
		mockserver.WithKeyBits(512),
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 60, NATFraction: 0.1, Seed: 12}),
		mockserver.WithClock(time.Now), // the bubble's clock
		mockserver.WithCleanupDelay(0),
		mockserver.WithFaults(profile),
	)
	e.acct, err = e.mock.AddAccount(mockapi.AccountSpec{
		Username: "alice", Password: "correct horse", Affiliation: "Test Lab",
	})
	if err != nil {
		t.Fatal(err)
	}

	pn := newPipeNet()
	srv := &http.Server{Handler: e.mock}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(pn) }()
	tr := &http.Transport{DialContext: pn.DialContext, MaxIdleConnsPerHost: 4}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close() // closes pn and every connection
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		e.mock.Close()
	})
	hc := &http.Client{Transport: countingTransport{e, tr}}
	e.client, err = clearinghouse.New(e.acct.Username, clearinghouse.WithURL(faultURL),
		clearinghouse.WithAPIKey(e.acct.APIKey), clearinghouse.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// countingTransport counts the calls it sends by method.
type countingTransport struct {
	e    *faultEnv
	next http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r, method, _, err := peekCall(r)
	if err != nil {
		return nil, err
	}
	c.e.mu.Lock()
	c.e.calls[method]++
	c.e.mu.Unlock()
	return c.next.RoundTrip(r)
}

// callCounts returns the calls sent so far, per method.
func (e *faultEnv) callCounts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.calls)
}

// call runs method in process (no HTTP, so no fault) as alice.
func (e *faultEnv) call(t *testing.T, method string, args ...any) any {
	t.Helper()
	auth := map[string]any{"username": e.acct.Username, "api_key": e.acct.APIKey}
	res, err := e.mock.Call(context.Background(), method, append([]any{auth}, args...)...)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res
}

// TestPipeNetReset checks the premise of the fault tests: over pipes, the
// mock's injected faults reach the project's client as they do over TCP
// (an ErrCommunication, the call applied or not), and the next call
// works.
func TestPipeNetReset(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newFaultEnv(t, "seed=1;acquire_resources:reset_after,next=1;acquire_resources:reset_before,next=1;"+
			"acquire_resources:unavailable,next=1;get_resource_info:truncate,next=1;get_resource_info:drip=64/1s,next=1")
		ctx := context.Background()
		// The first acquisition is applied and its answer lost; the next
		// two are refused unapplied: alice holds one vessel throughout.
		for i := range 3 {
			_, err := e.client.AcquireWAN(ctx, 1)
			if !errors.Is(err, clearinghouse.ErrCommunication) {
				t.Fatalf("acquisition %d: have %v, want ErrCommunication", i+1, err)
			}
			// A reset is a transport failure (EOF over a pipe, where TCP
			// gives ECONNRESET); the 503 is an HTTP error.
			var te *xmlrpc.TransportError
			var he *xmlrpc.HTTPError
			if i < 2 && !errors.As(err, &te) || i == 2 && (!errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable) {
				t.Fatalf("acquisition %d: have %v, want a transport failure, a transport failure, then HTTP 503", i+1, err)
			}
			if n := len(e.held(t)); n != 1 {
				t.Fatalf("after acquisition %d alice holds %d vessels, want 1", i+1, n)
			}
		}
		if _, err := e.client.GetResourceInfo(ctx); !errors.Is(err, clearinghouse.ErrCommunication) {
			t.Fatalf("truncated get_resource_info: have %v, want ErrCommunication", err)
		}
		start := time.Now()
		vs, err := e.client.GetResourceInfo(ctx)
		if err != nil || len(vs) != 1 {
			t.Fatalf("dripped get_resource_info: %v, %v", vs, err)
		}
		if d := time.Since(start); d < 5*time.Second {
			t.Fatalf("the dripped answer took %v of the bubble's time, want several seconds", d)
		}
		st := e.mock.Faults()
		for _, k := range []mockserver.FaultKind{mockserver.FaultResetAfter, mockserver.FaultResetBefore,
			mockserver.FaultUnavailable, mockserver.FaultTruncate, mockserver.FaultDrip} {
			if st.Injected[k] != 1 {
				t.Errorf("injected %s %d times, want 1", k, st.Injected[k])
			}
		}
		if n := e.callCounts()["acquire_resources"]; n != 3 {
			t.Errorf("%d acquisitions sent, want 3 (the transport must not repeat one)", n)
		}
	})
}
