package keeper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// The keeper's tests run in synctest bubbles: the keeper, the mock
// clearinghouse and the clients all read the bubble's clock, which starts
// at keeperT0 and moves only when every goroutine in the bubble is
// blocked. A simulated month takes milliseconds, every time a test checks
// is exact, and no test depends on how fast the machine is. Nothing in a
// bubble touches the network, whose waits would stop the clock: the
// clients reach the mock through an in-memory transport.

// keeperT0 is where the clock of every synctest bubble starts.
var keeperT0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// newMock returns an in-process mock clearinghouse.
func newMock(t *testing.T, opts ...mockserver.Option) *mockserver.Server {
	t.Helper()
	m, err := mockserver.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// handlerTransport is an http.RoundTripper that serves each request with a
// handler in the calling goroutine: no connection, no goroutine, so that
// every wait is one a synctest bubble can see through. A handler that
// returns after the request's context ended yields the context's error,
// as a real transport would.
type handlerTransport func(http.ResponseWriter, *http.Request)

func (h handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	in := r.Clone(r.Context()) // the server's copy, with a body to read
	in.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h(rec, in)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// peekCall reads the XML-RPC call a client is sending in r and returns
// its method and parameters (empty if it does not decode), with a copy of
// r to send on, whose body is the call again.
func peekCall(r *http.Request) (*http.Request, string, []any, error) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, "", nil, err
	}
	method, params, _ := xmlrpc.DecodeCall(bytes.NewReader(body))
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return r, method, params, nil
}

// errDropped is a transport failure: the connection closed unanswered.
var errDropped = errors.New("keeper test: connection closed without an answer")

// keeperEnv is a mock clearinghouse reached through an in-memory
// transport that records the keeper's calls and can make them fail. The
// keeper's client uses the path /xmlrpc/keeper; the test's own client
// (acting behind the keeper's back) uses /xmlrpc/. It must be made at the
// start of a synctest bubble.
type keeperEnv struct {
	mockAccount
	hc     *http.Client
	client *clearinghouse.Client // the keeper's
	direct *clearinghouse.Client // the test's own

	// latency delays each of the keeper's calls twice: before the mock
	// serves it and before its answer arrives. Set it before the keeper
	// starts.
	latency time.Duration
	// listing, if set, rewrites the keeper's get_resource_info answers:
	// it gets the number of the answer (0 for the first) and the vessels
	// the mock listed, and returns those the keeper sees. Set it before
	// the keeper starts.
	listing func(n int, vessels []any) []any
	// served, if set, is called after the mock has served each of the
	// keeper's calls, with the call and what the mock answered (nil
	// for a fault); it may look at the mock.
	served func(call keeperCall, result any)

	mu       sync.Mutex
	calls    []keeperCall
	faults   map[string][]string // method -> failure modes for its next calls
	listings int                 // get_resource_info answers rewritten so far
}

type keeperCall struct {
	method  string
	at      time.Time
	handles []clearinghouse.Handle // renew_resources only
	fault   string                 // the injected failure, if any
}

const (
	keeperURL = "http://clearinghouse.test/xmlrpc/keeper"
	directURL = "http://clearinghouse.test/xmlrpc/"
)

// mockAccount is a mock clearinghouse and the account a test acts as.
type mockAccount struct {
	mock *mockserver.Server
	acct mockapi.Account
}

// held returns what the mock says the account holds, by handle.
func (m *mockAccount) held(t *testing.T) map[clearinghouse.Handle]mockapi.Vessel {
	t.Helper()
	vs, err := m.mock.Holdings(m.acct.Username)
	if err != nil {
		t.Fatal(err)
	}
	held := make(map[clearinghouse.Handle]mockapi.Vessel, len(vs))
	for _, v := range vs {
		held[clearinghouse.Handle(v.Handle)] = v
	}
	return held
}

// newKeeperEnv starts the mock with the account alice, who has the given
// free credits (0 for the default), and the mock options given.
func newKeeperEnv(t *testing.T, freeCredits int, opts ...mockserver.Option) *keeperEnv {
	t.Helper()
	if now := time.Now(); !now.Equal(keeperT0) {
		t.Fatalf("the time is %v, want %v: not at the start of a synctest bubble", now, keeperT0)
	}
	e := &keeperEnv{faults: make(map[string][]string)}
	e.mock = newMock(t, append([]mockserver.Option{
		mockserver.WithKeyBits(512),
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 40, NATFraction: 0.1, Seed: 11}),
	}, opts...)...)
	acct, err := e.mock.AddAccount(mockapi.AccountSpec{
		Username: "alice", Password: "correct horse", Affiliation: "Test Lab", FreeCredits: freeCredits,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.acct = acct
	e.hc = &http.Client{Transport: e}
	e.client = e.newClient(t, keeperURL, acct.APIKey)
	e.direct = e.newClient(t, directURL, acct.APIKey)
	return e
}

// newClient returns a client of alice's that reaches url through the
// in-memory transport and authenticates with key.
func (e *keeperEnv) newClient(t *testing.T, url, key string) *clearinghouse.Client {
	t.Helper()
	c, err := clearinghouse.New(e.acct.Username, clearinghouse.WithURL(url),
		clearinghouse.WithAPIKey(key), clearinghouse.WithHTTPClient(e.hc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// RoundTrip serves a request in the calling goroutine: one of the
// test's own with the mock; one of the keeper's after recording it, with
// the failure injected for it if any.
func (e *keeperEnv) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/xmlrpc/keeper" {
		return handlerTransport(e.mock.ServeHTTP).RoundTrip(r)
	}
	r, method, params, err := peekCall(r)
	if err != nil {
		return nil, err
	}
	call := keeperCall{method: method, at: time.Now()}
	if method == "renew_resources" && len(params) == 2 {
		list, _ := params[1].([]any)
		for _, h := range list {
			s, _ := h.(string)
			call.handles = append(call.handles, clearinghouse.Handle(s))
		}
	}
	e.mu.Lock()
	if q := e.faults[method]; len(q) > 0 {
		call.fault, e.faults[method] = q[0], q[1:]
	}
	e.calls = append(e.calls, call)
	e.mu.Unlock()
	if e.latency > 0 {
		if err := delay(r.Context(), e.latency); err != nil {
			return nil, err
		}
		defer delay(r.Context(), e.latency)
	}
	if call.fault == "drop" {
		return nil, errDropped
	}
	if call.fault == "lost" { // applied, and the answer never arrives
		handlerTransport(e.mock.ServeHTTP).RoundTrip(r)
		return nil, errDropped
	}
	return handlerTransport(func(w http.ResponseWriter, r *http.Request) {
		switch call.fault {
		case "500":
			http.Error(w, "injected failure", http.StatusInternalServerError)
		case "fault":
			w.Header().Set("Content-Type", "text/xml")
			xmlrpc.EncodeFault(w, &xmlrpc.Fault{Code: clearinghouse.CodeInternal, String: "injected internal error"})
		case "ok": // claims success without doing anything
			w.Header().Set("Content-Type", "text/xml")
			xmlrpc.EncodeResponse(w, 0)
		case "invalid": // the clearinghouse refuses an argument (fault 102)
			w.Header().Set("Content-Type", "text/xml")
			xmlrpc.EncodeFault(w, &xmlrpc.Fault{Code: clearinghouse.CodeInvalidRequest, String: "injected invalid request"})
		case "empty": // an empty list, for a call that should return vessels
			w.Header().Set("Content-Type", "text/xml")
			xmlrpc.EncodeResponse(w, []any{})
		default:
			e.serve(w, r, call)
		}
	}).RoundTrip(r)
}

// serve has the mock serve one of the keeper's calls, then applies
// listing and served.
func (e *keeperEnv) serve(w http.ResponseWriter, r *http.Request, call keeperCall) {
	if e.listing == nil && e.served == nil {
		e.mock.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	e.mock.ServeHTTP(rec, r)
	var result any
	if err := xmlrpc.DecodeResponse(bytes.NewReader(rec.Body.Bytes()), &result); err != nil {
		result = nil // a fault, passed on as it is
	}
	body := rec.Body.Bytes()
	if list, ok := result.([]any); ok && call.method == "get_resource_info" && e.listing != nil {
		e.mu.Lock()
		n := e.listings
		e.listings++
		e.mu.Unlock()
		var buf bytes.Buffer
		if err := xmlrpc.EncodeResponse(&buf, e.listing(n, list)); err != nil {
			panic(err)
		}
		body = buf.Bytes()
	}
	if e.served != nil {
		e.served(call, result)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// delay waits for d, or until ctx ends.
func delay(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// failNext makes the keeper's next calls of method fail, one mode each:
// "500" (an HTTP error), "drop" (the connection is closed unanswered),
// "lost" (the call is applied, then the connection is closed unanswered),
// "fault" (fault 100), "ok" (success claimed, nothing done) or "empty" (an
// empty list of vessels).
func (e *keeperEnv) failNext(method string, modes ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults[method] = append(e.faults[method], modes...)
}

// keeperCalls returns the keeper's calls of method.
func (e *keeperEnv) keeperCalls(method string) []keeperCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []keeperCall
	for _, c := range e.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

func (e *keeperEnv) acquire(t *testing.T, n int) []clearinghouse.Handle {
	t.Helper()
	vs, err := e.direct.AcquireRandom(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	hs := clearinghouse.Handles(vs)
	slices.Sort(hs)
	return hs
}

func (e *keeperEnv) release(t *testing.T, hs ...clearinghouse.Handle) {
	t.Helper()
	if err := e.direct.ReleaseResources(context.Background(), hs); err != nil {
		t.Fatal(err)
	}
}

// mustHold fails unless the mock holds every handle with time left.
func (e *keeperEnv) mustHold(t *testing.T, hs []clearinghouse.Handle) {
	t.Helper()
	held, now := e.held(t), time.Now()
	for _, h := range hs {
		v, ok := held[h]
		if !ok || !v.Expires.After(now) {
			t.Fatalf("at %v the mock no longer holds %s (lease ends %v)", now.Sub(keeperT0), brief(h), v.Expires)
		}
	}
}

// sleepUntil lets the bubble's clock run to at.
func sleepUntil(at time.Time) { time.Sleep(time.Until(at)) }

// keeperRun is a keeper running in its own goroutine.
type keeperRun struct {
	k      *Keeper
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// mustNew returns New's keeper, failing the test on an error.
func mustNew(t *testing.T, c *clearinghouse.Client, hs []clearinghouse.Handle, opts ...Option) *Keeper {
	t.Helper()
	k, err := New(c, hs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// start runs a keeper with the keeper's client; the run is stopped at
// cleanup. The mock's clock is the bubble's, and the keeper is told so
// (WithMaxClockRate(1)): it schedules by real time from its first look,
// so that the tests of its schedule and of its failure handling can
// expect exact times. clock_test.go tests the default, which measures.
func (e *keeperEnv) start(t *testing.T, hs []clearinghouse.Handle, opts ...Option) *keeperRun {
	t.Helper()
	return startKeeper(t, mustNew(t, e.client, hs, append([]Option{WithMaxClockRate(1)}, opts...)...))
}

// startAfterLoss starts a keeper of n of alice's vessels, the one at
// index lost already released behind its back, so that the keeper finds
// it lost and replaces it with typ, backing off from a minute to an hour;
// the keeper's first acquisition fails with mode (see failNext). It
// returns once the keeper is idle.
func (e *keeperEnv) startAfterLoss(t *testing.T, n, lost int, mode string, typ clearinghouse.ResourceType) *keeperRun {
	t.Helper()
	hs := e.acquire(t, n)
	e.release(t, hs[lost])
	e.failNext("acquire_resources", mode)
	r := e.start(t, hs, WithReplacement(typ), WithBackoff(time.Minute, time.Hour))
	r.idle()
	return r
}

func startKeeper(t *testing.T, k *Keeper) *keeperRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &keeperRun{k: k, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- k.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// idle waits until every goroutine in the bubble is blocked and returns
// when the keeper will wake up next: zero if it waits for no time.
func (r *keeperRun) idle() time.Time {
	synctest.Wait()
	return r.k.Snapshot().NextWake
}

// next lets the clock run to the keeper's next wake-up, waits until the
// keeper is idle again and returns the time it woke up.
func (r *keeperRun) next(t *testing.T) time.Time {
	t.Helper()
	at := r.idle()
	if at.IsZero() {
		t.Fatal("the keeper waits for no time")
	}
	sleepUntil(at)
	synctest.Wait()
	return at
}

// wait returns what Run returned. Run must have returned by the time
// every other goroutine in the bubble is blocked.
func (r *keeperRun) wait(t *testing.T) error {
	t.Helper()
	r.once.Do(func() {
		synctest.Wait()
		select {
		case r.err = <-r.done:
		default:
			t.Fatal("Run did not return")
		}
	})
	return r.err
}

// stop cancels the run and returns what Run returned.
func (r *keeperRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

// drain returns the events delivered so far.
func drain(k *Keeper) []Event {
	var evs []Event
	for {
		select {
		case ev, ok := <-k.Events():
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

func eventKinds(evs []Event) []EventKind {
	out := make([]EventKind, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

func wantEvents(t *testing.T, evs []Event, kinds ...EventKind) {
	t.Helper()
	if have := eventKinds(evs); !slices.Equal(have, kinds) {
		t.Fatalf("events %v (%v), want %v", have, evs, kinds)
	}
}

func wantHandles(t *testing.T, what string, have, want []clearinghouse.Handle) {
	t.Helper()
	if !slices.Equal(have, want) {
		t.Fatalf("%s: have %s, want %s", what, brief(have...), brief(want...))
	}
}

// brief names handles by the end of their node id and their vessel name,
// for failure messages: node ids are long public keys.
func brief(hs ...clearinghouse.Handle) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		s := string(h)
		if j := strings.LastIndexByte(s, ':'); j > 8 {
			s = "…" + s[j-8:]
		}
		parts[i] = s
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func sortedHandles(groups ...[]clearinghouse.Handle) []clearinghouse.Handle {
	var out []clearinghouse.Handle
	for _, g := range groups {
		out = append(out, g...)
	}
	slices.Sort(out)
	return out
}

// wantKind checks that err is a *clearinghouse.Error of the given kind
// carrying the fault code.
func wantKind(t *testing.T, err, kind error, code int) {
	t.Helper()
	var ce *clearinghouse.Error
	if !errors.As(err, &ce) || !errors.Is(err, kind) || ce.Code != code {
		t.Fatalf("error %v, want a *clearinghouse.Error matching %v with fault code %d", err, kind, code)
	}
}

// TestKeeperThirtyDays keeps three vessels for a simulated month and
// checks that the mock holds them at every step and that renewals follow
// the documented schedule: each vessel when less than the margin is left,
// together with those due within half a margin, and no more often.
func TestKeeperThirtyDays(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		a := e.acquire(t, 1)
		sleepUntil(keeperT0.Add(20 * time.Minute))
		b := e.acquire(t, 1)
		sleepUntil(keeperT0.Add(2 * time.Hour))
		c := e.acquire(t, 1)
		ab, all := sortedHandles(a, b), sortedHandles(a, b, c)

		r := e.start(t, all, WithRenewMargin(time.Hour), WithCheckInterval(6*time.Hour))
		r.idle()
		if have, want := r.k.Snapshot().NextRenewal, keeperT0.Add(3*time.Hour); !have.Equal(want) {
			t.Fatalf("first renewal planned at %v, want %v", have.Sub(keeperT0), want.Sub(keeperT0))
		}
		end := keeperT0.Add(30 * 24 * time.Hour)
		for steps := 0; time.Now().Before(end); steps++ {
			if steps > 500 {
				t.Fatal("too many wake-ups")
			}
			r.next(t)
			e.mustHold(t, all)
		}

		// A and B (acquired 20 minutes apart) are due at 3h and renewed in
		// one call; C is due 2 hours later, too far to join them. A renewal
		// gives 7 days, renewed again 1 hour before: every 167 hours.
		type renewal struct {
			at      time.Duration
			handles []clearinghouse.Handle
		}
		var want []renewal
		for i := range 5 {
			base := time.Duration(i) * 167 * time.Hour
			want = append(want, renewal{base + 3*time.Hour, ab}, renewal{base + 5*time.Hour, c})
		}
		calls := e.keeperCalls("renew_resources")
		if len(calls) != len(want) {
			t.Fatalf("%d renew_resources calls, want %d", len(calls), len(want))
		}
		for i, call := range calls {
			if have := call.at.Sub(keeperT0); have != want[i].at || !slices.Equal(call.handles, want[i].handles) {
				t.Fatalf("renewal %d: have %v %v, want %v %v", i, have, call.handles, want[i].at, want[i].handles)
			}
		}

		snap := r.k.Snapshot()
		if snap.Renewals != 10 || snap.Lost != 0 || snap.LastError != nil || len(snap.Vessels) != 3 {
			t.Fatalf("snapshot %+v, want 10 renewals, 3 vessels, no loss or error", snap)
		}
		for _, v := range snap.Vessels {
			if v.Renewals != 5 {
				t.Fatalf("%s renewed %d times, want 5", v.Handle, v.Renewals)
			}
		}
		evs := drain(r.k)
		for _, ev := range evs {
			if ev.Kind != EventRenewed {
				t.Fatalf("unexpected event %v", ev)
			}
		}
		if len(evs) != 10 {
			t.Fatalf("%d renewed events, want 10", len(evs))
		}
		if err := r.stop(t); err != nil {
			t.Fatalf("Run returned %v after cancel, want nil", err)
		}
	})
}

// TestKeeperRenewedElsewhere: a vessel another program renewed is not
// renewed again until it is due.
func TestKeeperRenewedElsewhere(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 1)
		r := e.start(t, hs, WithRenewMargin(time.Hour), WithCheckInterval(0))
		if at := r.idle(); !at.Equal(keeperT0.Add(3 * time.Hour)) {
			t.Fatalf("keeper wakes at %v, want 3h", at.Sub(keeperT0))
		}
		sleepUntil(keeperT0.Add(2 * time.Hour))
		if err := e.direct.RenewResources(context.Background(), hs); err != nil {
			t.Fatal(err)
		}
		if at := r.next(t); !at.Equal(keeperT0.Add(3 * time.Hour)) {
			t.Fatalf("woke at %v", at.Sub(keeperT0))
		}
		if n := len(e.keeperCalls("renew_resources")); n != 0 {
			t.Fatalf("%d renewals of a vessel with 7 days left", n)
		}
		want := keeperT0.Add(2*time.Hour + renewLease - time.Hour)
		if next := r.k.Snapshot().NextRenewal; !next.Equal(want) {
			t.Fatalf("next renewal at %v, want %v", next.Sub(keeperT0), want.Sub(keeperT0))
		}
		if at := r.next(t); !at.Equal(want) {
			t.Fatalf("woke at %v, want %v", at.Sub(keeperT0), want.Sub(keeperT0))
		}
		if calls := e.keeperCalls("renew_resources"); len(calls) != 1 || !calls[0].at.Equal(want) {
			t.Fatalf("renewals %+v, want one at %v", calls, want.Sub(keeperT0))
		}
		e.mustHold(t, hs)
	})
}

// TestKeeperLost: vessels gone at the start, and one released behind the
// keeper's back, are each reported exactly once.
func TestKeeperLost(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 4)
		e.release(t, hs[3])
		bogus := clearinghouse.Handle("no-such-node:v1")
		r := e.start(t, append(slices.Clone(hs), bogus, hs[0]), WithRenewMargin(time.Hour), WithCheckInterval(30*time.Minute))
		r.idle()
		evs := drain(r.k)
		wantEvents(t, evs, EventLost)
		wantHandles(t, "lost at start", evs[0].Handles, sortedHandles([]clearinghouse.Handle{bogus, hs[3]}))

		e.release(t, hs[1])
		r.next(t)
		evs = drain(r.k)
		wantEvents(t, evs, EventLost)
		wantHandles(t, "lost", evs[0].Handles, hs[1:2])

		for time.Now().Before(keeperT0.Add(6 * time.Hour)) {
			r.next(t)
		}
		evs = drain(r.k)
		wantEvents(t, evs, EventRenewed)
		wantHandles(t, "renewed", evs[0].Handles, []clearinghouse.Handle{hs[0], hs[2]})
		e.mustHold(t, []clearinghouse.Handle{hs[0], hs[2]})

		snap := r.k.Snapshot()
		if snap.Lost != 3 || snap.Target != 5 || len(snap.Vessels) != 2 || snap.Vessels[0].Handle != hs[0] || snap.Vessels[1].Handle != hs[2] {
			t.Fatalf("snapshot %+v, want 3 lost and %v kept out of 5", snap, []clearinghouse.Handle{hs[0], hs[2]})
		}
	})
}

// TestKeeperTransientFailures: renewals that fail with HTTP errors, dropped
// connections and internal faults are retried with a backoff that is cut
// short so that the lease never runs out.
func TestKeeperTransientFailures(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 1)
		modes := []string{"500", "fault", "drop", "500", "drop", "fault", "drop"}
		e.failNext("renew_resources", modes...)
		r := e.start(t, hs, WithRenewMargin(time.Hour), WithBackoff(time.Minute, 2*time.Hour), WithCheckInterval(0))
		r.idle()

		// The backoff doubles from 1 minute: 1, 2, 4, 8, 16 minutes; the 32
		// minutes after the sixth failure would end past expiry, so the
		// seventh attempt comes 1 minute (the call timeout) before it, and
		// the eighth after half of what is left.
		expiry := keeperT0.Add(4 * time.Hour)
		attempts := []time.Duration{-60 * time.Minute, -59 * time.Minute, -57 * time.Minute, -53 * time.Minute,
			-45 * time.Minute, -29 * time.Minute, -time.Minute, -30 * time.Second}
		for i, want := range attempts {
			at := r.next(t)
			if at.Sub(expiry) != want {
				t.Fatalf("attempt %d at expiry%v, want expiry%v", i+1, at.Sub(expiry), want)
			}
			e.mustHold(t, hs)
			evs := drain(r.k)
			if i == len(attempts)-1 {
				wantEvents(t, evs, EventRenewed)
				break
			}
			wantEvents(t, evs, EventError)
			kind := clearinghouse.ErrCommunication
			if modes[i] == "fault" {
				kind = clearinghouse.ErrInternal
			}
			if !errors.Is(evs[0].Err, kind) || !slices.Equal(evs[0].Handles, hs) {
				t.Fatalf("event %v, want %v for %v", evs[0], kind, hs)
			}
			if have, want := evs[0].Retry.Sub(expiry), attempts[i+1]; have != want {
				t.Fatalf("retry at expiry%v, want expiry%v", have, want)
			}
		}
		if n := len(e.keeperCalls("renew_resources")); n != len(attempts) {
			t.Fatalf("%d renewal attempts, want %d", n, len(attempts))
		}
		held := e.held(t)[hs[0]]
		if want := expiry.Add(-30*time.Second + renewLease); !held.Expires.Equal(want) {
			t.Fatalf("lease ends %v, want %v", held.Expires, want)
		}
		if snap := r.k.Snapshot(); snap.Renewals != 1 || !errors.Is(snap.LastError, clearinghouse.ErrCommunication) {
			t.Fatalf("snapshot %+v, want 1 renewal and the last error kept", snap)
		}
	})
}

// TestKeeperCheckFailures: get_resource_info failing is retried, and does
// not stop a renewal that is due.
func TestKeeperCheckFailures(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 1)
		e.failNext("get_resource_info", "drop", "500")
		r := e.start(t, hs, WithRenewMargin(time.Hour), WithBackoff(time.Minute, time.Hour), WithCheckInterval(0))
		r.idle()
		evs := drain(r.k)
		wantEvents(t, evs, EventError)
		if snap := r.k.Snapshot(); len(snap.Vessels) != 1 || !snap.Vessels[0].ExpiresAt.IsZero() || !snap.NextRenewal.IsZero() {
			t.Fatalf("before any get_resource_info answer: %+v", snap)
		}
		if at := r.next(t); !at.Equal(keeperT0.Add(time.Minute)) {
			t.Fatalf("first retry at %v", at.Sub(keeperT0))
		}
		if at := r.next(t); !at.Equal(keeperT0.Add(3 * time.Minute)) {
			t.Fatalf("second retry at %v", at.Sub(keeperT0))
		}
		wantEvents(t, drain(r.k), EventError)
		expiry := keeperT0.Add(4 * time.Hour)
		if snap := r.k.Snapshot(); !snap.Vessels[0].ExpiresAt.Equal(expiry) || !snap.LastCheck.Equal(keeperT0.Add(3*time.Minute)) {
			t.Fatalf("after the check: %+v", snap)
		}

		e.failNext("get_resource_info", "500", "500") // before and after the renewal
		if at := r.next(t); !at.Equal(expiry.Add(-time.Hour)) {
			t.Fatalf("renewal at %v", at.Sub(keeperT0))
		}
		// The renewal succeeded, but no look has shown it: the keeper
		// schedules by the lease it claims to give, and neither reports
		// it renewed nor vouches for the vessel.
		evs = drain(r.k)
		wantEvents(t, evs, EventError, EventError)
		e.mustHold(t, hs)
		renewal := expiry.Add(-time.Hour)
		if snap := r.k.Snapshot(); !snap.Vessels[0].ExpiresAt.Equal(renewal.Add(renewLease)) || snap.Renewals != 1 || snap.Vessels[0].Held {
			t.Fatalf("after a renewal it could not confirm: %+v", snap)
		}
		if at := r.next(t); !at.Equal(expiry.Add(-58 * time.Minute)) {
			t.Fatalf("check retried at %v, want 1 then 2 minutes of backoff", at.Sub(expiry))
		}
		evs = drain(r.k)
		wantEvents(t, evs, EventRenewed)
		if !evs[0].Time.Equal(renewal) {
			t.Fatalf("renewal reported at %v, want the time it was sent, %v", evs[0].Time.Sub(keeperT0), renewal.Sub(keeperT0))
		}
		if snap := r.k.Snapshot(); !snap.Vessels[0].Held || !snap.Vessels[0].Seen.Equal(expiry.Add(-58*time.Minute)) {
			t.Fatalf("after the look that confirmed the renewal: %+v", snap)
		}
	})
}

// TestKeeperRenewalNotExtended: a renewal that claims success but leaves
// the lease short is reported and retried with backoff, not in a loop.
func TestKeeperRenewalNotExtended(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 1)
		e.failNext("renew_resources", "ok")
		r := e.start(t, hs, WithRenewMargin(time.Hour), WithBackoff(time.Minute, time.Hour), WithCheckInterval(0))
		r.idle()
		r.next(t)
		evs := drain(r.k)
		wantEvents(t, evs, EventError)
		if !strings.Contains(evs[0].Err.Error(), "keeper: renew_resources succeeded but the lease of 1 vessel(s) did not grow") {
			t.Fatalf("error %v", evs[0].Err)
		}
		if at := r.next(t); !at.Equal(keeperT0.Add(3*time.Hour + time.Minute)) {
			t.Fatalf("retry at %v", at.Sub(keeperT0))
		}
		wantEvents(t, drain(r.k), EventRenewed)
		e.mustHold(t, hs)
		if held := e.held(t)[hs[0]]; !held.Expires.Equal(keeperT0.Add(3*time.Hour + time.Minute + renewLease)) {
			t.Fatalf("lease ends %v", held.Expires)
		}
	})
}

// overLimitEnv sets up an account whose only credits come from a donation,
// holding three vessels kept with a 1-hour margin; the donated node's id
// is returned so that the test can take it offline.
func overLimitEnv(t *testing.T) (*keeperEnv, *keeperRun, []clearinghouse.Handle, string) {
	t.Helper()
	e := newKeeperEnv(t, mockapi.NoFreeCredits)
	nodes, _, err := e.mock.Nodes(mockserver.NodeFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	donated := nodes[0].ID
	if err := e.mock.AddDonation(donated, e.acct.Username); err != nil {
		t.Fatal(err)
	}
	hs := e.acquire(t, 3)
	// A daily check, so that the keeper still has a timer once all is lost.
	r := e.start(t, hs, WithRenewMargin(time.Hour), WithBackoff(time.Minute, 30*time.Minute), WithCheckInterval(24*time.Hour))
	r.idle()
	if err := e.mock.SetNodeActive(donated, false); err != nil {
		t.Fatal(err)
	}
	return e, r, hs, donated
}

// TestKeeperNotEnoughCredits: a renewal refused because the account is
// over its credit limit is reported clearly and retried slowly; once the
// donation is back, renewals resume.
func TestKeeperNotEnoughCredits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e, r, hs, donated := overLimitEnv(t)
		expiry := keeperT0.Add(4 * time.Hour)
		for _, step := range []struct{ at, retry time.Duration }{
			{-time.Hour, -30 * time.Minute},   // the slowest backoff, 30 minutes
			{-30 * time.Minute, -time.Minute}, // cut short to keep the call timeout
			{-time.Minute, -30 * time.Second}, // halving what is left
			{-30 * time.Second, -15 * time.Second},
		} {
			if at := r.next(t); at.Sub(expiry) != step.at {
				t.Fatalf("attempt at expiry%v, want expiry%v", at.Sub(expiry), step.at)
			}
			evs := drain(r.k)
			wantEvents(t, evs, EventError)
			var ce *clearinghouse.Error
			if !errors.Is(evs[0].Err, clearinghouse.ErrNotEnoughCredits) || !errors.As(evs[0].Err, &ce) || ce.Code != clearinghouse.CodeNotEnoughCredits {
				t.Fatalf("event error %v, want fault 103", evs[0].Err)
			}
			if evs[0].Retry.Sub(expiry) != step.retry || !slices.Equal(evs[0].Handles, hs) {
				t.Fatalf("event %v, want a retry at expiry%v for %v", evs[0], step.retry, hs)
			}
			snap := r.k.Snapshot()
			if !snap.OverCreditLimit || !errors.Is(snap.LastError, clearinghouse.ErrNotEnoughCredits) || snap.Renewals != 0 {
				t.Fatalf("snapshot %+v, want over the credit limit", snap)
			}
			e.mustHold(t, hs)
		}
		if err := e.mock.SetNodeActive(donated, true); err != nil {
			t.Fatal(err)
		}
		if at := r.next(t); at.Sub(expiry) != -15*time.Second {
			t.Fatalf("attempt at expiry%v", at.Sub(expiry))
		}
		wantEvents(t, drain(r.k), EventRenewed)
		snap := r.k.Snapshot()
		if snap.OverCreditLimit || snap.Renewals != 1 || len(snap.Vessels) != 3 {
			t.Fatalf("snapshot %+v after the donation came back", snap)
		}
		e.mustHold(t, hs)
		if held := e.held(t)[hs[0]]; !held.Expires.Equal(expiry.Add(-15*time.Second + renewLease)) {
			t.Fatalf("lease ends %v", held.Expires)
		}
	})
}

// TestKeeperOverLimitLeasesRunOut: what the keeper cannot do. While the
// account stays over its limit the leases run out; the keeper keeps trying
// until the end (never more than once a second) and then reports the
// vessels lost, once.
func TestKeeperOverLimitLeasesRunOut(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e, r, hs, _ := overLimitEnv(t)
		expiry := keeperT0.Add(4 * time.Hour)
		var lost []Event
		for steps := 0; len(lost) == 0; steps++ {
			if steps > 30 {
				t.Fatal("too many attempts")
			}
			r.next(t)
			for _, ev := range drain(r.k) {
				if ev.Kind == EventLost {
					lost = append(lost, ev)
				}
			}
		}
		var have []time.Duration
		for _, c := range e.keeperCalls("renew_resources") {
			have = append(have, c.at.Sub(expiry))
		}
		// Retries at 30 and 29 minutes, then at half of what is left,
		// in whole seconds as get_resource_info reports it.
		want := []time.Duration{-time.Hour, -30 * time.Minute, -time.Minute, -30 * time.Second, -15 * time.Second,
			-7500 * time.Millisecond, -4 * time.Second, -2 * time.Second, -time.Second}
		if !slices.Equal(have, want) {
			t.Fatalf("renewal attempts at %v, want %v (relative to expiry)", have, want)
		}
		if !lost[0].Time.Equal(expiry) {
			t.Fatalf("loss noticed at expiry%v", lost[0].Time.Sub(expiry))
		}
		wantHandles(t, "lost", lost[0].Handles, hs)
		for range 3 {
			r.next(t)
		}
		if evs := drain(r.k); len(evs) != 0 {
			t.Fatalf("events %v after the loss", evs)
		}
		snap := r.k.Snapshot()
		if snap.Lost != 3 || len(snap.Vessels) != 0 || snap.OverCreditLimit || !snap.NextRenewal.IsZero() {
			t.Fatalf("snapshot %+v, want 3 lost and nothing kept", snap)
		}
	})
}

// TestKeeperReplacement: lost vessels are replaced; a failed acquisition
// is reported and retried with backoff until it succeeds.
func TestKeeperReplacement(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 3)
		r := e.start(t, hs, WithReplacement(clearinghouse.Random), WithRenewMargin(time.Hour),
			WithCheckInterval(30*time.Minute), WithBackoff(time.Minute, 10*time.Minute))
		r.idle()
		wantEvents(t, drain(r.k))

		e.release(t, hs[0])
		at := r.next(t)
		evs := drain(r.k)
		wantEvents(t, evs, EventLost, EventReplaced)
		wantHandles(t, "lost", evs[0].Handles, hs[:1])
		if len(evs[1].Handles) != 1 || slices.Contains(hs, evs[1].Handles[0]) {
			t.Fatalf("replaced by %v", evs[1].Handles)
		}
		first := evs[1].Handles[0]
		snap := r.k.Snapshot()
		if len(snap.Vessels) != 3 || snap.Lost != 1 || snap.Replaced != 1 {
			t.Fatalf("snapshot %+v", snap)
		}
		for _, v := range snap.Vessels {
			if v.Replacement != (v.Handle == first) {
				t.Fatalf("vessel %s: Replacement %v", v.Handle, v.Replacement)
			}
			if v.Handle == first && !v.ExpiresAt.Equal(at.Add(4*time.Hour)) {
				t.Fatalf("replacement expires at %v, want 4 hours after %v", v.ExpiresAt, at)
			}
		}
		e.mustHold(t, []clearinghouse.Handle{first, hs[1], hs[2]})

		if err := e.mock.SetAcquireFailureRate(1); err != nil {
			t.Fatal(err)
		}
		e.release(t, hs[1])
		at = r.next(t)
		evs = drain(r.k)
		wantEvents(t, evs, EventLost, EventError)
		if !errors.Is(evs[1].Err, clearinghouse.ErrUnableToAcquire) || !evs[1].Retry.Equal(at.Add(time.Minute)) {
			t.Fatalf("event %v, want clearinghouse.ErrUnableToAcquire retried in 1m", evs[1])
		}
		if next := r.next(t); !next.Equal(at.Add(time.Minute)) {
			t.Fatalf("retry after %v", next.Sub(at))
		}
		evs = drain(r.k)
		wantEvents(t, evs, EventError)
		if evs[0].Retry.Sub(at) != 3*time.Minute {
			t.Fatalf("second retry after %v, want 2 more minutes", evs[0].Retry.Sub(at))
		}
		if err := e.mock.ClearFailures(); err != nil {
			t.Fatal(err)
		}
		r.next(t)
		evs = drain(r.k)
		wantEvents(t, evs, EventReplaced)
		if n := len(e.keeperCalls("acquire_resources")); n != 4 {
			t.Fatalf("%d acquisitions, want 4", n)
		}
		snap = r.k.Snapshot()
		if len(snap.Vessels) != 3 || snap.Lost != 2 || snap.Replaced != 2 || snap.Target != 3 {
			t.Fatalf("snapshot %+v", snap)
		}
		e.mustHold(t, clearinghouse.Handles(vesselsOf(snap.Vessels)))

		// The replacements are renewed on their own schedule.
		for time.Now().Before(keeperT0.Add(6 * time.Hour)) {
			r.next(t)
		}
		e.mustHold(t, clearinghouse.Handles(vesselsOf(r.k.Snapshot().Vessels)))
	})
}

// TestKeeperReplacementLostAnswer: an acquisition whose answer is lost
// may have been applied. The keeper must look at the account's holdings
// before it acquires again, and keep what the lost answer acquired, or
// not acquire again if nothing was; it must never hold more than its
// target. The case where another program acquires meanwhile, so that the
// keeper cannot tell its vessels from the other's, is reported and
// nothing is adopted.
func TestKeeperReplacementLostAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mode    string // how the first acquisition fails
		other   bool   // another program acquires a vessel before the retry
		acquire int    // acquisitions the keeper makes in all
		held    int    // what alice holds at the end
	}{
		{name: "applied", mode: "lost", acquire: 1, held: 3},
		{name: "not applied", mode: "drop", acquire: 2, held: 3},
		{name: "HTTP error", mode: "500", acquire: 2, held: 3},
		{name: "another program", mode: "lost", other: true, acquire: 2, held: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newKeeperEnv(t, 0)
				r := e.startAfterLoss(t, 3, 0, tc.mode, clearinghouse.Random)
				evs := drain(r.k)
				wantEvents(t, evs, EventLost, EventError)
				if !errors.Is(evs[1].Err, clearinghouse.ErrCommunication) || !evs[1].Retry.Equal(keeperT0.Add(time.Minute)) {
					t.Fatalf("event %v, want clearinghouse.ErrCommunication retried in 1m", evs[1])
				}
				var other []clearinghouse.Handle
				if tc.other {
					other = e.acquire(t, 1)
				}
				r.next(t)
				evs = drain(r.k)
				acqs := e.keeperCalls("acquire_resources")
				if len(acqs) != tc.acquire {
					t.Fatalf("%d acquisitions, want %d", len(acqs), tc.acquire)
				}
				// Before acquiring again, the keeper looked.
				if len(acqs) == 2 {
					looked := false
					for _, c := range e.keeperCalls("get_resource_info") {
						looked = looked || c.at.After(acqs[0].at) && !c.at.After(acqs[1].at)
					}
					if !looked {
						t.Fatal("the keeper acquired again without calling get_resource_info in between")
					}
				}
				snap := r.k.Snapshot()
				kept := clearinghouse.Handles(vesselsOf(snap.Vessels))
				if len(kept) != 3 || snap.Replaced != 1 {
					t.Fatalf("snapshot %+v, want 3 vessels, 1 replaced", snap)
				}
				e.mustHold(t, kept)
				if n := len(e.held(t)); n != tc.held {
					t.Fatalf("alice holds %d vessels, want %d", n, tc.held)
				}
				switch {
				case tc.other:
					wantEvents(t, evs, EventError, EventReplaced)
					if !strings.Contains(evs[0].Err.Error(), "keeper: 2 vessel(s) appeared after an acquisition of 1 whose answer was lost; not adopted") ||
						len(evs[0].Handles) != 2 || !slices.Contains(evs[0].Handles, other[0]) {
						t.Fatalf("event %v (handles %v), want the keeper's report of 2 vessels it cannot place", evs[0], evs[0].Handles)
					}
					if !evs[0].Retry.Equal(keeperT0.Add(time.Minute)) {
						t.Fatalf("event %v: retry at %v, want at once (1m)", evs[0], evs[0].Retry.Sub(keeperT0))
					}
					if slices.Contains(kept, other[0]) {
						t.Fatalf("the keeper took the other program's vessel %s", other[0])
					}
				default:
					wantEvents(t, evs, EventReplaced)
				}
			})
		})
	}
}

// TestKeeperReplacementLookFails: while the look that must come before an
// acquisition fails, the keeper does not acquire; it looks again after
// the backoff.
func TestKeeperReplacementLookFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		r := e.startAfterLoss(t, 2, 0, "lost", clearinghouse.Random)
		wantEvents(t, drain(r.k), EventLost, EventError)
		e.failNext("get_resource_info", "500", "drop")
		for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
			if at := r.next(t); at.Sub(keeperT0) != want {
				t.Fatalf("wake-up %d after %v, want %v", i+1, at.Sub(keeperT0), want)
			}
			if n := len(e.keeperCalls("acquire_resources")); n != 1 {
				t.Fatalf("wake-up %d: %d acquisitions, want 1", i+1, n)
			}
		}
		evs := drain(r.k)
		wantEvents(t, evs, EventError, EventError, EventReplaced)
		if snap := r.k.Snapshot(); len(snap.Vessels) != 2 || snap.Replaced != 1 || len(e.held(t)) != 2 {
			t.Fatalf("snapshot %+v, alice holds %d; want 2 vessels, 1 replaced", snap, len(e.held(t)))
		}
	})
}

// TestKeeperReplacementShortAnswer: an acquisition that returns fewer
// vessels than asked for is asked again after the backoff, not at once.
func TestKeeperReplacementShortAnswer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		r := e.startAfterLoss(t, 2, 1, "empty", clearinghouse.LAN)
		wantEvents(t, drain(r.k), EventLost)
		if at := r.next(t); !at.Equal(keeperT0.Add(time.Minute)) {
			t.Fatalf("asked again after %v, want 1m", at.Sub(keeperT0))
		}
		wantEvents(t, drain(r.k), EventReplaced)
		if n := len(e.keeperCalls("acquire_resources")); n != 2 {
			t.Fatalf("%d acquisitions, want 2", n)
		}
		if snap := r.k.Snapshot(); len(snap.Vessels) != 2 || snap.Replaced != 1 {
			t.Fatalf("snapshot %+v", snap)
		}
	})
}

func vesselsOf(kvs []Vessel) []clearinghouse.Vessel {
	out := make([]clearinghouse.Vessel, len(kvs))
	for i, kv := range kvs {
		out[i] = kv.Vessel
	}
	return out
}

// TestKeeperAuthentication: authentication failures end Run with
// clearinghouse.ErrAuthentication, at the start or later.
func TestKeeperAuthentication(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 1)

		bad := e.newClient(t, keeperURL, "not the key")
		r := startKeeper(t, mustNew(t, bad, hs))
		err := r.wait(t)
		wantKind(t, err, clearinghouse.ErrAuthentication, clearinghouse.CodeAuthentication)
		evs := drain(r.k)
		wantEvents(t, evs, EventError)
		if _, open := <-r.k.Events(); open {
			t.Fatal("Events not closed after Run returned")
		}
		if r.k.Snapshot().Running {
			t.Fatal("still running")
		}

		r = e.start(t, hs, WithCheckInterval(time.Minute))
		r.idle()
		if err := e.mock.SetAccountActive(e.acct.Username, false); err != nil {
			t.Fatal(err)
		}
		r.next(t)
		wantKind(t, r.wait(t), clearinghouse.ErrAuthentication, clearinghouse.CodeAuthentication)
	})
}

// TestKeeperSnapshotConcurrent reads snapshots while the keeper loses,
// replaces and renews vessels; every snapshot must be consistent. The
// reader runs outside the bubble, so that it spins truly in parallel with
// the keeper without keeping the bubble's clock from moving.
func TestKeeperSnapshotConcurrent(t *testing.T) {
	t.Parallel()
	var (
		shared atomic.Pointer[Keeper]
		stop   atomic.Bool
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		for !stop.Load() {
			k := shared.Load()
			if k == nil {
				runtime.Gosched()
				continue
			}
			s := k.Snapshot()
			if len(s.Vessels) != s.Target-s.Lost+s.Replaced+s.Found {
				t.Errorf("inconsistent snapshot: %d vessels, target %d, lost %d, replaced %d, found %d", len(s.Vessels), s.Target, s.Lost, s.Replaced, s.Found)
				return
			}
			if !slices.IsSortedFunc(s.Vessels, func(a, b Vessel) int { return strings.Compare(string(a.Handle), string(b.Handle)) }) {
				t.Errorf("vessels not sorted")
				return
			}
			if len(s.Vessels) > 0 {
				s.Vessels[0].Handle = "scribbled" // a copy: must not reach the keeper
			}
			runtime.Gosched()
		}
	})
	defer wg.Wait()
	defer stop.Store(true)
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 4)
		r := e.start(t, hs, WithReplacement(clearinghouse.Random), WithRenewMargin(time.Hour), WithCheckInterval(20*time.Minute))
		shared.Store(r.k)
		for i := range 3 {
			r.idle()
			e.release(t, r.k.Snapshot().Vessels[i].Handle)
			r.next(t)
		}
		for time.Now().Before(keeperT0.Add(5 * time.Hour)) {
			r.next(t)
		}
		stop.Store(true)
		snap := r.k.Snapshot()
		if snap.Lost != 3 || snap.Replaced != 3 || len(snap.Vessels) != 4 || snap.Renewals == 0 {
			t.Fatalf("snapshot %+v", snap)
		}
		for _, v := range snap.Vessels {
			if v.Handle == "scribbled" {
				t.Fatal("a snapshot shares memory with the keeper")
			}
		}
		e.mustHold(t, clearinghouse.Handles(vesselsOf(snap.Vessels)))
	})
}

// TestKeeperEventsDropped: a full Events buffer never holds the keeper up;
// what does not fit is counted.
func TestKeeperEventsDropped(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		e := newKeeperEnv(t, 0)
		hs := e.acquire(t, 3)
		r := e.start(t, append(slices.Clone(hs), "gone:v1"), WithEventBuffer(1), WithCheckInterval(10*time.Minute))
		r.idle()
		e.release(t, hs[0])
		r.next(t)
		e.release(t, hs[1])
		r.next(t)
		snap := r.k.Snapshot()
		if snap.DroppedEvents != 2 || snap.Lost != 3 {
			t.Fatalf("snapshot %+v, want 2 dropped events and 3 lost", snap)
		}
		evs := drain(r.k)
		wantEvents(t, evs, EventLost)
		wantHandles(t, "first event", evs[0].Handles, []clearinghouse.Handle{"gone:v1"})
	})
}

// TestKeeperOptions: a bad option or a nil client makes New fail at once;
// a second Run is refused.
func TestKeeperOptions(t *testing.T) {
	t.Parallel()
	c, err := clearinghouse.New("alice", clearinghouse.WithAPIKey("k"), clearinghouse.WithURL("http://127.0.0.1:1/xmlrpc/"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		client *clearinghouse.Client
		opt    Option
	}{
		{"zero margin", c, WithRenewMargin(0)},
		{"negative margin", c, WithRenewMargin(-time.Hour)},
		{"margin of a whole lease", c, WithRenewMargin(7 * 24 * time.Hour)},
		{"unknown type", c, WithReplacement("fast")},
		{"zero backoff", c, WithBackoff(0, time.Second)},
		{"max below min", c, WithBackoff(time.Minute, time.Second)},
		{"negative buffer", c, WithEventBuffer(-1)},
		{"negative check interval", c, WithCheckInterval(-time.Second)},
		{"zero call timeout", c, WithCallTimeout(0)},
		{"clock rate below 1", c, WithMaxClockRate(0.5)},
		{"clock rate NaN", c, WithMaxClockRate(math.NaN())},
		{"infinite clock rate", c, WithMaxClockRate(math.Inf(1))},
		{"zero Option", c, Option{}},
		{"nil client", nil, WithEventBuffer(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := New(tc.client, []clearinghouse.Handle{"a:v1"}, WithCheckInterval(time.Minute), tc.opt)
			if k != nil || !errors.Is(err, clearinghouse.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), "keeper: invalid argument: ") {
				t.Fatalf("New returned %v, %v; want no keeper and ErrInvalidArgument", k, err)
			}
		})
	}

	k, err := New(c, nil, WithRenewMargin(time.Hour), WithReplacement(clearinghouse.NAT), WithBackoff(time.Second, time.Second),
		WithEventBuffer(0), WithCheckInterval(0), WithCallTimeout(time.Second), WithMaxClockRate(1))
	if err != nil {
		t.Fatalf("New with good options: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := k.Run(ctx); err != nil {
		t.Fatalf("Run with a cancelled context: %v", err)
	}
	if _, open := <-k.Events(); open {
		t.Fatal("Events not closed")
	}
	if err := k.Run(context.Background()); !errors.Is(err, clearinghouse.ErrInvalidArgument) || !strings.HasPrefix(err.Error(), "keeper: ") {
		t.Fatalf("second Run returned %v, want ErrInvalidArgument", err)
	}
}

func TestKeeperEventStrings(t *testing.T) {
	t.Parallel()
	at := keeperT0
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Kind: EventRenewed, Time: at, Handles: []clearinghouse.Handle{"a:v1", "b:v2"}}, "renewed 2 vessels"},
		{Event{Kind: EventLost, Time: at, Handles: []clearinghouse.Handle{"a:v1"}}, "lost 1 vessel"},
		{Event{Kind: EventReplaced, Time: at, Handles: []clearinghouse.Handle{"c:v3"}}, "replaced 1 vessel"},
		{Event{Kind: EventFound, Time: at, Handles: []clearinghouse.Handle{"c:v3"}}, "found 1 vessel"},
		{Event{Kind: EventError, Time: at, Err: errors.New("clearinghouse: boom"), Retry: at.Add(90 * time.Second)},
			"error: clearinghouse: boom (retrying in 1m30s)"},
		{Event{Kind: EventKind(9)}, "EventKind(9)"},
	}
	for _, tc := range tests {
		if have := tc.ev.String(); have != tc.want {
			t.Errorf("have %q, want %q", have, tc.want)
		}
	}
}

// TestKeeperCancel: Run returns nil as soon as its context is cancelled,
// before any time passes, while waiting on a long timer, on a retry
// backoff and in a call that does not answer. Each case runs in its own
// bubble, and synctest.Test fails if a goroutine of the bubble is left
// blocked at its end: Run leaves none behind.
func TestKeeperCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string
	}{
		{"long timer", "/xmlrpc/"},
		{"retry backoff", "/failing"},
		{"unanswered call", "/hanging"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				mock := newMock(t, mockserver.WithKeyBits(512), mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 10, Seed: 3}))
				acct, err := mock.AddAccount(mockapi.AccountSpec{Username: "alice", Password: "correct horse", Affiliation: "Test Lab"})
				if err != nil {
					t.Fatal(err)
				}
				hanging := make(chan struct{}, 1)
				hc := &http.Client{Transport: handlerTransport(func(w http.ResponseWriter, r *http.Request) {
					switch r.URL.Path {
					case "/failing":
						http.Error(w, "down", http.StatusServiceUnavailable)
					case "/hanging":
						hanging <- struct{}{}
						<-r.Context().Done()
					default:
						mock.ServeHTTP(w, r)
					}
				})}
				client := func(path string) *clearinghouse.Client {
					c, err := clearinghouse.New(acct.Username, clearinghouse.WithAPIKey(acct.APIKey),
						clearinghouse.WithURL("http://clearinghouse.test"+path), clearinghouse.WithHTTPClient(hc))
					if err != nil {
						t.Fatal(err)
					}
					return c
				}
				vs, err := client("/xmlrpc/").AcquireRandom(context.Background(), 1)
				if err != nil {
					t.Fatal(err)
				}
				k := mustNew(t, client(tc.path), clearinghouse.Handles(vs), WithBackoff(time.Hour, time.Hour))
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- k.Run(ctx) }()

				synctest.Wait()
				if tc.path == "/hanging" {
					select {
					case <-hanging:
					default:
						t.Fatal("the keeper's call never reached the server")
					}
				} else if k.Snapshot().NextWake.IsZero() {
					t.Fatal("the keeper is not waiting for a time")
				}
				// The clock stands still until every goroutine is blocked,
				// and Wait returns then instead of moving it: Run must
				// return without waiting for any time to pass.
				cancel()
				synctest.Wait()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("Run returned %v, want nil", err)
					}
				default:
					t.Fatal("Run did not return after cancel without waiting")
				}
				if tc.name == "retry backoff" && !errors.Is(k.Snapshot().LastError, clearinghouse.ErrCommunication) {
					t.Errorf("retry backoff: last error %v", k.Snapshot().LastError)
				}
			})
		})
	}
}

// TestKeeperCancelNetwork cancels Run in a call over a real connection to
// a server that never answers: Run returns nil, and every goroutine it
// and the transport started ends once the idle connections are closed.
// The bounds only catch a hang. Not parallel: it counts goroutines.
func TestKeeperCancelNetwork(t *testing.T) {
	before := runtime.NumGoroutine()
	hanging := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		hanging <- struct{}{}
		<-r.Context().Done()
	}))
	tr := &http.Transport{}
	c, err := clearinghouse.New("alice", clearinghouse.WithAPIKey("k"), clearinghouse.WithURL(srv.URL+"/xmlrpc/"),
		clearinghouse.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	k := mustNew(t, c, []clearinghouse.Handle{"a:v1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	select {
	case <-hanging:
	case <-time.After(10 * time.Second):
		t.Fatal("the keeper's call never reached the server")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	tr.CloseIdleConnections()
	srv.Close()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
	}
}
