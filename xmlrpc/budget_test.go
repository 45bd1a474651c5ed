package xmlrpc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestServerReadsKnownLengthOnce checks that a body with a Content-Length
// is read into one buffer of that size: no doubling, no copies.
func TestServerReadsKnownLengthOnce(t *testing.T) {
	srv := mustServer(t)
	mustRegister(t, srv, "echo", func(_ context.Context, params []any) (any, error) { return len(params), nil })
	const pad = 1 << 20
	doc := "<methodCall><methodName>echo</methodName><params>" + strings.Repeat(" ", pad) + "</params></methodCall>"
	serve := func() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(doc)))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<int>0</int>") {
			t.Fatalf("answer: %d %s", rec.Code, rec.Body)
		}
	}
	serve() // warm up pools
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	serve()
	runtime.ReadMemStats(&after)
	// The body itself, plus a little for the request and the answer.
	if have, want := after.TotalAlloc-before.TotalAlloc, uint64(len(doc))+32<<10; have > want {
		t.Errorf("bytes allocated serving a %d-byte body: have %d, want at most %d", len(doc), have, want)
	}
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// inUse returns the bytes currently charged.
func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// waiting returns the number of requests waiting for their charge.
func (b *budget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiters.Len()
}

func TestBudgetDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in      BodyBudget
		maxBody int64
		want    BodyBudget
		retry   string
	}{
		{"zero", BodyBudget{}, 1000, BodyBudget{Bytes: 4000, Small: DefaultBudgetSmall, Wait: DefaultBudgetWait,
			RetryAfter: DefaultBudgetRetryAfter, ReadTimeout: DefaultBudgetReadTimeout, Decoders: max(1, runtime.GOMAXPROCS(0)-1)}, "1"},
		{"raised to the body limit", BodyBudget{Bytes: 10, Small: 1, Wait: 1, RetryAfter: 2500 * time.Millisecond, ReadTimeout: 1, Decoders: 3},
			1000, BodyBudget{Bytes: 1000, Small: 1, Wait: 1, RetryAfter: 2500 * time.Millisecond, ReadTimeout: 1, Decoders: 3}, "3"},
	} {
		b := newBudget(tc.in, tc.maxBody)
		if b.cfg != tc.want || b.retryAfter != tc.retry || cap(b.decoders) != tc.want.Decoders {
			t.Errorf("%s: have %+v Retry-After %q, %d decoders; want %+v %q", tc.name, b.cfg, b.retryAfter, cap(b.decoders), tc.want, tc.retry)
		}
	}
}

func TestBudgetAcquire(t *testing.T) {
	t.Parallel()
	long := BodyBudget{Bytes: 100, Wait: 10 * time.Second}

	t.Run("fits at once, then times out", func(t *testing.T) {
		t.Parallel()
		// In a bubble, time moves only when every goroutine waits: the
		// refusal comes after exactly the wait, however loaded the machine.
		synctest.Test(t, func(t *testing.T) {
			b := newBudget(BodyBudget{Bytes: 100, Wait: 30 * time.Millisecond}, 100)
			if !b.acquire(nil, 60) {
				t.Fatal("60 of 100 free: refused")
			}
			t0 := time.Now()
			if b.acquire(nil, 50) {
				t.Fatal("50 with 40 free: granted")
			}
			if d := time.Since(t0); d != 30*time.Millisecond {
				t.Errorf("refusal after %v, want after the 30ms wait", d)
			}
			if b.inUse() != 60 || b.waiting() != 0 {
				t.Errorf("after a refusal: %d in use, %d waiting; want 60, 0", b.inUse(), b.waiting())
			}
			b.release(60)
			if b.inUse() != 0 {
				t.Errorf("after release: %d in use", b.inUse())
			}
		})
	})

	t.Run("first come first served", func(t *testing.T) {
		t.Parallel()
		b := newBudget(long, 100)
		b.acquire(nil, 60)
		var order []int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, n := range []int64{50, 10} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if b.acquire(nil, n) {
					mu.Lock()
					order = append(order, n)
					mu.Unlock()
				}
			}()
			waitFor(t, fmt.Sprintf("%d waiters", i+1), func() bool { return b.waiting() == i+1 })
		}
		// 10 would fit, but it came after 50, which does not.
		if b.inUse() != 60 {
			t.Fatalf("10 overtook 50: %d in use", b.inUse())
		}
		b.release(60)
		wg.Wait()
		if fmt.Sprint(order) != "[50 10]" && fmt.Sprint(order) != "[10 50]" || b.inUse() != 60 {
			t.Errorf("after release: granted %v, %d in use; want both, 60", order, b.inUse())
		}
	})

	t.Run("a waiter that gives up lets the next one in", func(t *testing.T) {
		t.Parallel()
		b := newBudget(long, 100)
		b.acquire(nil, 60)
		giveUp := make(chan struct{})
		big := make(chan bool)
		go func() { big <- b.acquire(giveUp, 50) }()
		waitFor(t, "50 waits", func() bool { return b.waiting() == 1 })
		small := make(chan bool)
		go func() { small <- b.acquire(nil, 10) }()
		waitFor(t, "10 waits", func() bool { return b.waiting() == 2 })
		close(giveUp)
		if receive(t, big, "answer for 50") {
			t.Fatal("50 granted after giving up")
		}
		if !receive(t, small, "answer for 10") {
			t.Fatal("10 refused")
		}
		if b.inUse() != 70 || b.waiting() != 0 {
			t.Errorf("%d in use, %d waiting; want 70, 0", b.inUse(), b.waiting())
		}
	})
}

// budgetServer is a server with a 64 KiB body limit and budget, whose
// "hold" method blocks until release is called.
type budgetServer struct {
	*Server
	held    chan struct{} // receives when hold starts
	release func()
}

func newBudgetServer(t *testing.T, b BodyBudget) *budgetServer {
	t.Helper()
	unblock := make(chan struct{})
	var once sync.Once
	bs := &budgetServer{held: make(chan struct{}, 1), release: func() { once.Do(func() { close(unblock) }) }}
	t.Cleanup(bs.release)
	bs.Server = mustServer(t, WithLimits(Limits{MaxBodyBytes: 64 << 10}), WithBodyBudget(b))
	mustRegister(t, bs.Server, "echo", func(_ context.Context, params []any) (any, error) { return len(params), nil })
	mustRegister(t, bs.Server, "hold", func(_ context.Context, params []any) (any, error) {
		bs.held <- struct{}{}
		<-unblock
		return len(params), nil
	})
	mustRegister(t, bs.Server, "panic", func(context.Context, []any) (any, error) { panic("on purpose") })
	return bs
}

// paddedCall is a call of method with no parameters, padded with spaces
// to size bytes.
func paddedCall(method string, size int) string {
	head := "<methodCall><methodName>" + method + "</methodName><params>"
	tail := "</params></methodCall>"
	return head + strings.Repeat(" ", max(0, size-len(head)-len(tail))) + tail
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, s)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// budgetRequest describes one request of the budget tests.
type budgetRequest struct {
	name    string
	body    []byte
	chunked bool // no Content-Length
	gzip    bool
}

func (br budgetRequest) serve(h http.Handler) (*httptest.ResponseRecorder, int64, time.Duration) {
	cr := &countingReader{r: bytes.NewReader(br.body)}
	req := httptest.NewRequest("POST", "/RPC2", cr)
	req.ContentLength = int64(len(br.body))
	if br.chunked {
		req.ContentLength = -1
	}
	if br.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	t0 := time.Now()
	h.ServeHTTP(rec, req)
	return rec, cr.n.Load(), time.Since(t0)
}

// TestServerBodyBudget fills the budget with one call that holds it, then
// checks that big requests of every kind are refused quickly with 503 and
// Retry-After, those of known length unread; that small ones pass; and
// that all pass once the budget is free again.
func TestServerBodyBudget(t *testing.T) {
	t.Parallel()
	srv := newBudgetServer(t, BodyBudget{Bytes: 64 << 10, Small: 1 << 10, Wait: 20 * time.Millisecond, RetryAfter: 2 * time.Second})
	big := paddedCall("echo", 40<<10)
	requests := []budgetRequest{
		{name: "known length", body: []byte(big)},
		{name: "chunked", body: []byte(big), chunked: true},
		{name: "gzip", body: gzipped(t, big), gzip: true},
	}
	holding := make(chan *httptest.ResponseRecorder)
	go func() {
		rec, _, _ := budgetRequest{body: []byte(paddedCall("hold", 40<<10))}.serve(srv)
		holding <- rec
	}()
	receive(t, srv.held, "start of the holding call")
	if have := srv.budget.inUse(); have != 40<<10 {
		t.Fatalf("budget in use while a 40 KiB call runs: have %d, want %d", have, 40<<10)
	}

	for _, br := range requests {
		rec, read, took := br.serve(srv)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" || rec.Header().Get("Connection") != "close" {
			t.Errorf("%s, budget full: have %d Retry-After %q Connection %q, want 503 \"2\" \"close\"",
				br.name, rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Connection"))
		}
		// Generous: only a refusal that waits for the holding call (which
		// runs until release) is a bug.
		if took > 5*time.Second {
			t.Errorf("%s, budget full: refused after %v, want about the 20ms wait", br.name, took)
		}
		if !br.chunked && !br.gzip && read != 0 {
			t.Errorf("%s, budget full: %d bytes of the body read, want none", br.name, read)
		}
		if br.chunked && read >= int64(len(br.body)) {
			t.Errorf("%s, budget full: the whole body read, want it refused part way", br.name)
		}
	}
	for _, br := range []budgetRequest{
		{name: "small", body: []byte(paddedCall("echo", 1<<10))},
		{name: "small chunked", body: []byte(paddedCall("echo", 1<<10)), chunked: true},
		{name: "small gzip", body: gzipped(t, paddedCall("echo", 1<<10)), gzip: true},
	} {
		if rec, _, _ := br.serve(srv); rec.Code != 200 || !strings.Contains(rec.Body.String(), "<int>0</int>") {
			t.Errorf("%s, budget full: have %d %q, want 200 and a result", br.name, rec.Code, rec.Body)
		}
	}

	srv.release()
	if rec := receive(t, holding, "answer to the holding call"); rec.Code != 200 {
		t.Fatalf("the holding call: %d %s", rec.Code, rec.Body)
	}
	if have := srv.budget.inUse(); have != 0 {
		t.Fatalf("budget in use after the call: have %d, want 0", have)
	}
	for _, br := range requests {
		if rec, _, _ := br.serve(srv); rec.Code != 200 || !strings.Contains(rec.Body.String(), "<int>0</int>") {
			t.Errorf("%s, budget free: have %d %q, want 200 and a result", br.name, rec.Code, rec.Body)
		}
		if have := srv.budget.inUse(); have != 0 {
			t.Errorf("%s: budget in use afterwards: have %d, want 0", br.name, have)
		}
	}
}

// TestServerBodyBudgetSmallDoesNotQueue checks that a small call passes
// while a big one is waiting for budget.
func TestServerBodyBudgetSmallDoesNotQueue(t *testing.T) {
	t.Parallel()
	srv := newBudgetServer(t, BodyBudget{Bytes: 64 << 10, Small: 1 << 10, Wait: 10 * time.Second})
	holding := make(chan int)
	go func() {
		rec, _, _ := budgetRequest{body: []byte(paddedCall("hold", 40<<10))}.serve(srv)
		holding <- rec.Code
	}()
	receive(t, srv.held, "start of the holding call")
	waiting := make(chan int)
	go func() {
		rec, _, _ := budgetRequest{body: []byte(paddedCall("echo", 40<<10))}.serve(srv)
		waiting <- rec.Code
	}()
	waitFor(t, "the second big call waits", func() bool { return srv.budget.waiting() == 1 })
	rec, _, _ := budgetRequest{body: []byte(paddedCall("echo", 512))}.serve(srv)
	if rec.Code != 200 {
		t.Errorf("small call behind a waiting big one: have %d, want 200", rec.Code)
	}
	if srv.budget.waiting() != 1 {
		t.Errorf("the big call stopped waiting before the small one was answered")
	}
	srv.release()
	if code := receive(t, holding, "answer to the holding call"); code != 200 {
		t.Errorf("holding call: have %d, want 200", code)
	}
	if code := receive(t, waiting, "answer to the waiting call"); code != 200 {
		t.Errorf("waiting call, once the budget is free: have %d, want 200", code)
	}
}

// TestServerBodyBudgetDecoders takes the only decoder away and checks that
// a small call is still answered, that a charged call waits for a decoder
// holding its budget and is answered once one is free, that a handler
// does not hold a decoder, and that a call whose client goes away while
// it waits gives its budget back.
func TestServerBodyBudgetDecoders(t *testing.T) {
	t.Parallel()
	srv := newBudgetServer(t, BodyBudget{Bytes: 64 << 10, Small: 1 << 10, Decoders: 1})
	b := srv.budget
	b.decoders <- struct{}{} // the only decoder, taken

	if rec, _, _ := (budgetRequest{body: []byte(paddedCall("echo", 512))}).serve(srv); rec.Code != 200 {
		t.Errorf("small call while no decoder is free: have %d %q, want 200", rec.Code, rec.Body)
	}
	answered := make(chan int)
	go func() {
		rec, _, _ := budgetRequest{body: []byte(paddedCall("echo", 20<<10))}.serve(srv)
		answered <- rec.Code
	}()
	waitFor(t, "the charged call waits for a decoder", func() bool { return b.decodersWaiting.Load() == 1 })
	if have := b.inUse(); have != 20<<10 {
		t.Errorf("budget in use while the charged call waits: have %d, want %d", have, 20<<10)
	}
	<-b.decoders // free it
	if code := receive(t, answered, "answer once a decoder is free"); code != 200 {
		t.Errorf("charged call: have %d, want 200", code)
	}

	// A handler runs without a decoder: another charged call passes
	// while one is held in its handler.
	holding := make(chan int)
	go func() {
		rec, _, _ := budgetRequest{body: []byte(paddedCall("hold", 20<<10))}.serve(srv)
		holding <- rec.Code
	}()
	receive(t, srv.held, "start of the holding call")
	if rec, _, _ := (budgetRequest{body: []byte(paddedCall("echo", 20<<10))}).serve(srv); rec.Code != 200 {
		t.Errorf("charged call while another runs its handler: have %d, want 200", rec.Code)
	}
	srv.release()
	if code := receive(t, holding, "answer to the holding call"); code != 200 {
		t.Errorf("holding call: have %d, want 200", code)
	}

	// The client goes away while its call waits for a decoder.
	b.decoders <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan int)
	go func() {
		body := []byte(paddedCall("echo", 20<<10))
		req := httptest.NewRequestWithContext(ctx, "POST", "/RPC2", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		gone <- rec.Code
	}()
	waitFor(t, "the charged call waits for a decoder", func() bool { return b.decodersWaiting.Load() == 1 })
	cancel()
	if code := receive(t, gone, "return of the abandoned call"); code != http.StatusBadRequest {
		t.Errorf("abandoned call: have %d, want %d", code, http.StatusBadRequest)
	}
	if b.inUse() != 0 || b.decodersWaiting.Load() != 0 || len(b.decoders) != 1 {
		t.Errorf("after the abandoned call: %d bytes in use, %d waiting, %d decoders taken; want 0, 0, 1 (the test's)",
			b.inUse(), b.decodersWaiting.Load(), len(b.decoders))
	}
	<-b.decoders
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestServerBodyBudgetReleased checks that every way a charged request
// can end gives its budget back.
func TestServerBodyBudgetReleased(t *testing.T) {
	t.Parallel()
	srv := newBudgetServer(t, BodyBudget{Bytes: 64 << 10, Small: 1 << 10})
	big := paddedCall("echo", 20<<10)
	for _, tc := range []struct {
		name   string
		body   io.Reader
		length int64
		status int
		fault  string
	}{
		{"answered", strings.NewReader(big), int64(len(big)), 200, ""},
		{"parse error", strings.NewReader(big[:len(big)-1]), int64(len(big) - 1), 200, "<name>faultCode</name>"},
		{"unknown method", strings.NewReader(paddedCall("nope", 20<<10)), 20 << 10, 200, "method not found"},
		{"handler panic", strings.NewReader(paddedCall("panic", 20<<10)), 20 << 10, 200, "internal error"},
		{"cut short", &failingReader{data: []byte(big[:10<<10]), err: io.ErrUnexpectedEOF}, int64(len(big)), 400, ""},
		{"cut short, chunked", &failingReader{data: []byte(big[:10<<10]), err: io.ErrUnexpectedEOF}, -1, 400, ""},
		{"over the limit, chunked", strings.NewReader(paddedCall("echo", 100<<10)), -1, 413, ""},
	} {
		req := httptest.NewRequest("POST", "/RPC2", tc.body)
		req.ContentLength = tc.length
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.fault) {
			t.Errorf("%s: have %d %.100q, want %d containing %q", tc.name, rec.Code, rec.Body, tc.status, tc.fault)
		}
		if have := srv.budget.inUse(); have != 0 {
			t.Errorf("%s: budget in use afterwards: have %d, want 0", tc.name, have)
		}
	}
}

// TestServerBodyBudgetReadTimeout checks, over real connections, that a
// client that stalls in a charged body loses its connection and gives the
// budget back after ReadTimeout, and that a handler running longer than
// ReadTimeout after its body was read is not cut off.
func TestServerBodyBudgetReadTimeout(t *testing.T) {
	t.Parallel()
	srv := newBudgetServer(t, BodyBudget{Bytes: 64 << 10, Small: 1 << 10, ReadTimeout: 200 * time.Millisecond})
	var ctxErr atomic.Value
	mustRegister(t, srv.Server, "slow", func(ctx context.Context, params []any) (any, error) {
		select {
		case <-ctx.Done():
			ctxErr.Store(ctx.Err())
		case <-time.After(600 * time.Millisecond):
		}
		return len(params), nil
	})
	hs := startHTTP(t, srv)

	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := paddedCall("echo", 32<<10)
	fmt.Fprintf(conn, "POST /RPC2 HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", hs.Listener.Addr(), len(body), body[:1<<10])
	waitFor(t, "the stalled body is charged", func() bool { return srv.budget.inUse() == int64(len(body)) })
	t0 := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("stalled body: have HTTP %d, want 400 or a closed connection", resp.StatusCode)
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("stalled body: no answer after 5 s, want one after the 200ms read timeout")
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("stalled body: answered after %v, want about 200ms", d)
	}
	waitFor(t, "the budget is free", func() bool { return srv.budget.inUse() == 0 })

	c, err := NewClient(hs.URL+"/RPC2", WithHTTPClient(hs.Client()))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	long := strings.Repeat("x", 8<<10)
	if err := c.Call(context.Background(), "slow", &n, long, long); err != nil || n != 2 {
		t.Fatalf("slow handler after a charged body: %v, %d", err, n)
	}
	if e := ctxErr.Load(); e != nil {
		t.Errorf("slow handler's context: have %v, want not cancelled", e)
	}
}

// benchSmallCall is the size of call the budget must not slow down: a
// get_account_info with its auth struct.
const benchSmallCall = `<?xml version="1.0"?><methodCall><methodName>get_account_info</methodName><params><param><value><struct>` +
	`<member><name>username</name><value><string>demo1</string></value></member>` +
	`<member><name>api_key</name><value><string>0123456789ABCDEFGHIJKLMNPQRSTUVW</string></value></member>` +
	`</struct></value></param></params></methodCall>`

// BenchmarkServerSmallCall serves a small call without a budget, with an
// idle one, and with one that a big call holds in full; compare the three.
func BenchmarkServerSmallCall(b *testing.B) {
	handler := func(_ context.Context, params []any) (any, error) {
		return map[string]any{"user_name": params[0].(map[string]any)["username"], "max_vessels": 10}, nil
	}
	for _, bc := range []struct {
		name   string
		budget bool
		full   bool
	}{
		{"budget off", false, false},
		{"budget idle", true, false},
		{"budget full", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var opts []Option
			if bc.budget {
				opts = append(opts, WithBodyBudget(BodyBudget{Bytes: 1 << 20}))
			}
			srv := mustServer(b, opts...)
			if err := srv.Register("get_account_info", handler); err != nil {
				b.Fatal(err)
			}
			if bc.full {
				srv.budget.acquire(nil, 1<<20)
			}
			body := strings.NewReader(benchSmallCall)
			req := httptest.NewRequest("POST", "/RPC2", body)
			b.ReportAllocs()
			b.SetBytes(int64(len(benchSmallCall)))
			for b.Loop() {
				body.Reset(benchSmallCall)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("HTTP %d", rec.Code)
				}
			}
		})
	}
}
