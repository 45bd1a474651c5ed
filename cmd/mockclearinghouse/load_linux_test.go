//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// The load test and benchmark: the built command (without the race
// detector, which inflates memory) on loopback, flooded with large bodies
// while another process times small calls.
const (
	loadConns       = 100                               // connections attacking at once
	loadMaxHWM      = 512 << 20                         // the mock's peak RSS must stay below this
	loadAbortRSS    = 3 << 30                           // kill the mock past this, to spare the machine
	loadConnTimeout = 20 * time.Second                  // each attacking connection gives up after this
	loadBigBody     = 8_000_000                         // about 8 MB, the attack as reported
	loadNearLimit   = mockserver.MaxRequestBytes - 1024 // just under the mock's request size limit
	loadChunk       = 64 << 10                          // chunk size of the chunked phase
	loadValue       = "<value/>"                        // the filler
	loadDocHead     = `<?xml version="1.0"?><methodCall><methodName>release_resources</methodName><params><param><value><array><data>`
	loadDocTail     = `</data></array></value></param></params></methodCall>`
	loadSmallEvery  = 20 * time.Millisecond
	loadSettleAfter = time.Second

	// BenchmarkSmallCallsUnderFlood's windows.
	benchQuiet = 2 * time.Second // small calls before the flood: the baseline
	benchFlood = 8 * time.Second // small calls during the flood
)

// Environment variables that make the test binary a helper process (see
// TestHelperSmallCaller, TestHelperFlood and TestHelperBurn).
const (
	smallCallerEnv = "MOCKCLEARINGHOUSE_SMALL_CALLER" // the creds file
	floodEnv       = "MOCKCLEARINGHOUSE_FLOOD"        // the mock's host:port
	burnEnv        = "MOCKCLEARINGHOUSE_BURN"         // "1"
)

// TestParallelLargeBodies attacks the built command with 100 connections
// at once, each sending a maximum-size body of empty values, in three
// phases: an 8 MB body with a Content-Length, a body just under the mock's
// size limit (which the server must read), and an 8 MB chunked body.
// Throughout, another process calls get_account_info. The mock's peak RSS
// (VmHWM) must stay under 512 MiB, every attacking connection must get an
// answer and every small call must succeed. How fast the small calls are
// is BenchmarkSmallCallsUnderFlood's to measure, not a test's to assert:
// this test only logs the worst.
func TestParallelLargeBodies(t *testing.T) {
	if testing.Short() {
		testskip.Skipf(t, "builds the command and sends 2.4 GB over loopback; skipped with -short")
	}
	m := startLoadMock(t, buildMock(t))
	small := startSmallCaller(t, m.credsPath)

	value := []byte(loadValue)
	bigDoc := loadDoc(value, loadBigBody)
	nearDoc := loadDoc(value, loadNearLimit)
	start := time.Now()
	for _, ph := range []struct {
		name    string
		doc     []byte
		chunked bool
	}{
		{"8 MB with Content-Length", bigDoc, false},
		{"just under the limit", nearDoc, false},
		{"8 MB chunked", bigDoc, true},
	} {
		res := attack(m.addr, ph.doc, ph.chunked)
		t.Logf("phase %q: %s", ph.name, res)
		if res.timeouts > 0 {
			t.Errorf("phase %q: %d of %d connections got no answer within %v", ph.name, res.timeouts, loadConns, loadConnTimeout)
		}
	}
	time.Sleep(loadSettleAfter) // the RSS a second after the load, for the log
	small.stop(t)
	hwm, hwmErr := procStatusBytes(m.pid, "VmHWM")
	rss, _ := procStatusBytes(m.pid, "VmRSS")
	killedAt := m.stopWatch()
	t.Logf("%d attacking connections x 3 phases in %v; mock peak RSS %d MiB, RSS %v after the load %d MiB; %d small calls, worst %v",
		loadConns, time.Since(start).Round(time.Millisecond), hwm>>20, loadSettleAfter, rss>>20, len(small.latencies), small.worst().Round(time.Millisecond))

	if killedAt > 0 {
		t.Fatalf("the mock's RSS reached %d MiB; killed it (want a peak under %d MiB)", killedAt>>20, loadMaxHWM>>20)
	}
	if hwmErr != nil {
		t.Fatalf("reading VmHWM: %v", hwmErr)
	}
	if hwm >= loadMaxHWM {
		t.Errorf("peak RSS: have %d MiB, want under %d MiB", hwm>>20, loadMaxHWM>>20)
	}
	if len(small.latencies) < 10 {
		t.Errorf("small calls: have %d, want at least 10", len(small.latencies))
	}
	if small.err != nil {
		t.Errorf("a small call failed: %v", small.err)
	}
}

// BenchmarkSmallCallsUnderFlood measures how long a small call
// (get_account_info) takes while 100 connections keep sending bodies just
// under the mock's 4 MiB limit, each a new request as soon as the last
// one is answered. The mock, the flood and the small caller are three
// processes at the same priority; with busy=2, two more processes spin on
// the CPU throughout, as other work on a loaded machine would. Each
// iteration starts a fresh mock, times small calls for benchQuiet alone
// (the baseline), then for benchFlood under the flood.
//
// Metrics: small-p50-ms, small-p99-ms, small-max-ms (small calls under
// the flood), quiet-p50-ms (the baseline), p99/quiet (the ratio of the
// two), big-ok/s (large calls the mock read and answered), big-503/s
// (refused for the body budget) and peak-RSS-MiB (the mock's VmHWM). The
// allocations reported are the benchmark's own, not the mock's. Run it
// with:
//
//	go test -run '^$' -bench SmallCallsUnderFlood -benchtime 1x -count 5 ./cmd/mockclearinghouse/
func BenchmarkSmallCallsUnderFlood(b *testing.B) {
	bin := buildMock(b)
	for _, busy := range []int{0, 2} {
		b.Run("busy="+strconv.Itoa(busy), func(b *testing.B) {
			b.ReportAllocs()
			var quiet, loaded []time.Duration
			var flood floodResult
			var peak int64
			for b.Loop() {
				q, l, f, hwm := floodRun(b, bin, busy)
				quiet, loaded = append(quiet, q...), append(loaded, l...)
				flood.add(f)
				peak = max(peak, hwm)
			}
			if len(loaded) == 0 || len(quiet) == 0 {
				b.Fatal("no small calls timed")
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			slices.Sort(quiet)
			slices.Sort(loaded)
			b.ReportMetric(0, "ns/op") // the wall time of a run says nothing
			b.ReportMetric(ms(percentile(loaded, 50)), "small-p50-ms")
			b.ReportMetric(ms(percentile(loaded, 99)), "small-p99-ms")
			b.ReportMetric(ms(loaded[len(loaded)-1]), "small-max-ms")
			b.ReportMetric(ms(percentile(quiet, 50)), "quiet-p50-ms")
			b.ReportMetric(float64(percentile(loaded, 99))/float64(percentile(quiet, 50)), "p99/quiet")
			secs := benchFlood.Seconds() * float64(b.N)
			b.ReportMetric(float64(flood.status[200])/secs, "big-ok/s")
			b.ReportMetric(float64(flood.status[503])/secs, "big-503/s")
			b.ReportMetric(float64(peak>>20), "peak-RSS-MiB")
		})
	}
}

// floodRun is one iteration of BenchmarkSmallCallsUnderFlood: the small
// calls' latencies alone and under the flood, what the flood saw, and the
// mock's peak RSS.
func floodRun(b *testing.B, bin string, busy int) (quiet, loaded []time.Duration, flood floodResult, hwm int64) {
	b.Helper()
	m := startLoadMock(b, bin)
	for range busy {
		stop := startHelper(b, "TestHelperBurn", burnEnv+"=1", "burn: started")
		defer stop()
	}
	small := startSmallCaller(b, m.credsPath)
	time.Sleep(benchQuiet) // a measurement window, not a wait for readiness
	small.stop(b)
	if small.err != nil {
		b.Fatalf("a small call failed before the flood: %v", small.err)
	}
	quiet = small.latencies

	fl := startFlood(b, m.addr)
	small = startSmallCaller(b, m.credsPath)
	time.Sleep(benchFlood) // the measurement window
	small.stop(b)
	flood = fl.stop(b)
	if small.err != nil {
		b.Errorf("a small call failed under the flood: %v", small.err)
	}
	hwm, err := procStatusBytes(m.pid, "VmHWM")
	if err != nil {
		b.Fatalf("reading VmHWM: %v", err)
	}
	if killedAt := m.stopWatch(); killedAt > 0 {
		b.Fatalf("the mock's RSS reached %d MiB; killed it", killedAt>>20)
	}
	return quiet, small.latencies, flood, hwm
}

// percentile returns the p-th percentile of sorted durations (nearest
// rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// buildMock builds the command, without the race detector, and returns
// the path of the binary.
func buildMock(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "mockclearinghouse")
	build := exec.Command(testskip.GoCommand(tb, "the load test"), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// loadMock is the built command running in a process of its own, with a
// watch that kills it if its memory runs away, so that a failing run does
// not take the machine with it.
type loadMock struct {
	addr, credsPath string
	pid             int
	stopOnce        sync.Once
	stopWatchCh     chan struct{}
	watchDone       chan int64 // the RSS at which the watch killed the mock, or 0
	killedAt        int64
}

// startLoadMock starts bin with 20 nodes and one demo account, and
// returns once it listens (it prints its banner after that).
func startLoadMock(tb testing.TB, bin string) *loadMock {
	tb.Helper()
	m := &loadMock{credsPath: filepath.Join(tb.TempDir(), "creds.json"), stopWatchCh: make(chan struct{}), watchDone: make(chan int64, 1)}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-creds-out", m.credsPath, "-nodes", "20", "-log-level", "error")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		m.stopWatch()
		cmd.Process.Kill()
		<-exited
	})
	// The first line of the banner comes once the creds file is written
	// and the mock listens; the rest is drained.
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "Mock Seattle Clearinghouse listening at ") {
		tb.Fatalf("the mock did not start: %q %v", lines.Text(), lines.Err())
	}
	go io.Copy(io.Discard, stdout)
	c, err := credsfile.Read(m.credsPath)
	if err != nil {
		tb.Fatal(err)
	}
	m.addr = strings.TrimSuffix(strings.TrimPrefix(c.URL, "http://"), "/xmlrpc/")
	m.pid = cmd.Process.Pid
	go func() {
		var killedAt int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.stopWatchCh:
				m.watchDone <- killedAt
				return
			case <-tick.C:
			}
			if rss, _ := procStatusBytes(m.pid, "VmRSS"); rss > loadAbortRSS && killedAt == 0 {
				killedAt = rss
				cmd.Process.Kill()
			}
		}
	}()
	return m
}

// stopWatch ends the memory watch and returns the RSS at which it killed
// the mock, or 0.
func (m *loadMock) stopWatch() int64 {
	m.stopOnce.Do(func() {
		close(m.stopWatchCh)
		m.killedAt = <-m.watchDone
	})
	return m.killedAt
}

// loadDoc is a release_resources call whose handle list is empty values,
// size bytes in all (give or take one value).
func loadDoc(value []byte, size int) []byte {
	n := (size - len(loadDocHead) - len(loadDocTail)) / len(value)
	doc := make([]byte, 0, size)
	doc = append(doc, loadDocHead...)
	doc = append(doc, bytes.Repeat(value, n)...)
	return append(doc, loadDocTail...)
}

// procStatusBytes reads a "kB" field of /proc/<pid>/status, in bytes.
func procStatusBytes(pid int, field string) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("/proc status line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		return kb << 10, err
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// helperProcess is the test binary running one TestHelper function, which
// works until its stdin closes and then prints its findings.
type helperProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncbuf.Buffer // stdout and stderr
}

// startHelper runs the test function name in a process of its own with
// env set. If ready is not "", it returns once the helper has printed a
// line beginning with it. The returned function ends the helper (closes
// its stdin and waits for it).
func startHelper(tb testing.TB, name, env, ready string) (stop func() *helperProcess) {
	tb.Helper()
	h := &helperProcess{out: &syncbuf.Buffer{}}
	h.cmd = exec.Command(os.Args[0], "-test.run=^"+name+"$")
	h.cmd.Env = append(os.Environ(), env)
	h.cmd.Stderr = h.out
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.cmd.Process.Kill() })
	lines := bufio.NewReader(stdout)
	if ready != "" {
		line, err := lines.ReadString('\n')
		if !strings.HasPrefix(line, ready) {
			tb.Fatalf("%s did not start: %q %v", name, line, err)
		}
	}
	copied := make(chan struct{})
	go func() { io.Copy(h.out, lines); close(copied) }()
	var once sync.Once
	return func() *helperProcess {
		once.Do(func() {
			h.stdin.Close()
			<-copied
			if err := h.cmd.Wait(); err != nil {
				tb.Fatalf("%s: %v\n%s", name, err, h.out)
			}
		})
		return h
	}
}

// line returns the helper's output line that begins with prefix, without
// the prefix.
func (h *helperProcess) line(tb testing.TB, prefix string) string {
	tb.Helper()
	for line := range strings.Lines(h.out.String()) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			return strings.TrimSuffix(rest, "\n")
		}
	}
	tb.Fatalf("the helper said no %q:\n%s", prefix, h.out)
	return ""
}

// untilStdinCloses returns a channel closed when stdin reaches its end.
func untilStdinCloses() <-chan struct{} {
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	return stop
}

// TestHelperSmallCaller is not a test: the load test and benchmark run
// the test binary with only this test and smallCallerEnv set, to call
// get_account_info from another process until its stdin closes. It then
// prints every latency and the first error, and exits.
func TestHelperSmallCaller(t *testing.T) {
	path := os.Getenv(smallCallerEnv)
	if path == "" {
		return // an ordinary run
	}
	c, err := credsfile.Read(path)
	if err != nil {
		fmt.Printf("small-caller: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("small-caller: started")
	lat, err := callSmall(*c, untilStdinCloses())
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	fmt.Printf("small-error: %q\n", errText)
	var b strings.Builder
	for _, d := range lat {
		b.WriteString(" " + strconv.FormatInt(int64(d), 10))
	}
	fmt.Printf("small-latencies:%s\n", b.String())
	os.Exit(0)
}

// smallCalls is what a small caller saw.
type smallCalls struct {
	latencies []time.Duration
	err       error // the first
}

func (s smallCalls) worst() time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	return slices.Max(s.latencies)
}

// smallCallerProcess is a running TestHelperSmallCaller.
type smallCallerProcess struct {
	smallCalls
	end func() *helperProcess
}

// startSmallCaller starts TestHelperSmallCaller in a process of its own,
// so that the load a test generates does not delay it.
func startSmallCaller(tb testing.TB, credsPath string) *smallCallerProcess {
	tb.Helper()
	return &smallCallerProcess{end: startHelper(tb, "TestHelperSmallCaller", smallCallerEnv+"="+credsPath, "small-caller: started")}
}

// stop ends the small caller and reads what it saw.
func (s *smallCallerProcess) stop(tb testing.TB) {
	tb.Helper()
	h := s.end()
	var errText string
	if _, err := fmt.Sscanf(h.line(tb, "small-error: "), "%q", &errText); err != nil {
		tb.Fatalf("small caller: %v\n%s", err, h.out)
	}
	if errText != "" {
		s.err = errors.New(errText)
	}
	for _, f := range strings.Fields(h.line(tb, "small-latencies:")) {
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			tb.Fatalf("small caller: latency %q: %v", f, err)
		}
		s.latencies = append(s.latencies, time.Duration(ns))
	}
}

// callSmall calls get_account_info every loadSmallEvery until stop is
// closed, on one keep-alive connection, and returns each call's latency
// and the first error.
func callSmall(creds credsfile.File, stop <-chan struct{}) ([]time.Duration, error) {
	a := creds.Accounts[0]
	doc := `<?xml version="1.0"?><methodCall><methodName>get_account_info</methodName><params><param><value><struct>` +
		`<member><name>username</name><value><string>` + a.Username + `</string></value></member>` +
		`<member><name>api_key</name><value><string>` + a.APIKey + `</string></value></member>` +
		`</struct></value></param></params></methodCall>`
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	var lat []time.Duration
	var first error
	for {
		select {
		case <-stop:
			return lat, first
		case <-time.After(loadSmallEvery):
		}
		t0 := time.Now()
		resp, err := hc.Post(creds.URL, "text/xml", strings.NewReader(doc))
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && (resp.StatusCode != 200 || !bytes.Contains(body, []byte("user_name"))) {
				err = fmt.Errorf("HTTP %s: %.200s", resp.Status, body)
			}
		}
		lat = append(lat, time.Since(t0))
		if err != nil && first == nil {
			first = err
		}
	}
}

// TestHelperFlood is not a test: BenchmarkSmallCallsUnderFlood runs the
// test binary with only this test and floodEnv set to the mock's address,
// to keep loadConns connections sending bodies just under the mock's
// limit until its stdin closes. It then prints the answers by status and
// exits, leaving the requests in progress.
func TestHelperFlood(t *testing.T) {
	addr := os.Getenv(floodEnv)
	if addr == "" {
		return // an ordinary run
	}
	doc := loadDoc([]byte(loadValue), loadNearLimit)
	stop := untilStdinCloses()
	var mu sync.Mutex
	res := floodResult{status: map[int]int{}}
	for range loadConns {
		go func() {
			for {
				status, err := attackOnce(addr, doc, false)
				mu.Lock()
				switch {
				case status != 0:
					res.status[status]++
				case isTimeout(err):
					res.timeouts++
				default:
					res.errors++
				}
				mu.Unlock()
			}
		}()
	}
	fmt.Println("flood: started")
	<-stop
	mu.Lock()
	fmt.Printf("flood-result: %s\n", res.encode())
	os.Exit(0)
}

// floodResult counts the answers a flood got.
type floodResult struct {
	status           map[int]int
	errors, timeouts int // connections that ended without an answer
}

func (r *floodResult) add(o floodResult) {
	if r.status == nil {
		r.status = map[int]int{}
	}
	for k, v := range o.status {
		r.status[k] += v
	}
	r.errors += o.errors
	r.timeouts += o.timeouts
}

// encode writes r as "errors timeouts status=count ...".
func (r floodResult) encode() string {
	s := fmt.Sprintf("%d %d", r.errors, r.timeouts)
	for _, k := range slices.Sorted(maps.Keys(r.status)) {
		s += fmt.Sprintf(" %d=%d", k, r.status[k])
	}
	return s
}

func decodeFloodResult(s string) (floodResult, error) {
	r := floodResult{status: map[int]int{}}
	f := strings.Fields(s)
	if len(f) < 2 {
		return r, fmt.Errorf("flood result %q", s)
	}
	var err1, err2 error
	r.errors, err1 = strconv.Atoi(f[0])
	r.timeouts, err2 = strconv.Atoi(f[1])
	if err := errors.Join(err1, err2); err != nil {
		return r, err
	}
	for _, kv := range f[2:] {
		k, v, _ := strings.Cut(kv, "=")
		status, err1 := strconv.Atoi(k)
		n, err2 := strconv.Atoi(v)
		if err := errors.Join(err1, err2); err != nil {
			return r, err
		}
		r.status[status] = n
	}
	return r, nil
}

// floodProcess is a running TestHelperFlood.
type floodProcess struct{ end func() *helperProcess }

// startFlood starts TestHelperFlood against addr and returns once its
// connections are being opened.
func startFlood(tb testing.TB, addr string) *floodProcess {
	tb.Helper()
	return &floodProcess{end: startHelper(tb, "TestHelperFlood", floodEnv+"="+addr, "flood: started")}
}

// stop ends the flood and returns what it got.
func (f *floodProcess) stop(tb testing.TB) floodResult {
	tb.Helper()
	h := f.end()
	r, err := decodeFloodResult(h.line(tb, "flood-result: "))
	if err != nil {
		tb.Fatalf("flood: %v", err)
	}
	return r
}

// TestHelperBurn is not a test: with burnEnv set, BenchmarkSmallCallsUnderFlood
// runs it to keep one CPU busy until its stdin closes, as other work on a
// loaded machine would.
func TestHelperBurn(t *testing.T) {
	if os.Getenv(burnEnv) == "" {
		return // an ordinary run
	}
	runtime.GOMAXPROCS(1)
	stop := untilStdinCloses()
	fmt.Println("burn: started")
	x := uint64(1)
	for {
		for range 1 << 16 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		select {
		case <-stop:
			fmt.Printf("burn: done %d\n", x&1)
			os.Exit(0)
		default:
		}
	}
}

// attackResult sums up one phase.
type attackResult struct {
	status   map[int]int // answers by HTTP status
	resets   int         // connections that ended without an answer, by error
	timeouts int         // connections that saw nothing within loadConnTimeout
	slowest  time.Duration
}

func (r attackResult) String() string {
	return fmt.Sprintf("statuses %v, %d connection errors, %d timeouts, slowest %v",
		r.status, r.resets, r.timeouts, r.slowest.Round(time.Millisecond))
}

// attack opens loadConns connections to addr at once; each sends doc as
// one POST to /xmlrpc/ and waits for the answer.
func attack(addr string, doc []byte, chunked bool) attackResult {
	var (
		mu  sync.Mutex
		res = attackResult{status: map[int]int{}}
		wg  sync.WaitGroup
	)
	gate := make(chan struct{})
	for range loadConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			t0 := time.Now()
			status, err := attackOnce(addr, doc, chunked)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			res.slowest = max(res.slowest, d)
			switch {
			case status != 0:
				res.status[status]++
			case isTimeout(err):
				res.timeouts++
			default:
				res.resets++
			}
		}()
	}
	close(gate)
	wg.Wait()
	runtime.GC() // the test's own copies of the answers, not the mock's
	return res
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// attackOnce sends one request on a fresh connection, writing while it
// reads, and returns the answer's status, or 0 and the error that ended it.
func attackOnce(addr string, doc []byte, chunked bool) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, loadConnTimeout)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(loadConnTimeout))
	go func() {
		w := bufio.NewWriterSize(conn, loadChunk+16)
		fmt.Fprintf(w, "POST /xmlrpc/ HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\n", addr)
		if !chunked {
			fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", len(doc))
			w.Write(doc)
			w.Flush()
			return
		}
		io.WriteString(w, "Transfer-Encoding: chunked\r\n\r\n")
		for rest := doc; len(rest) > 0; {
			n := min(len(rest), loadChunk)
			fmt.Fprintf(w, "%x\r\n", n)
			w.Write(rest[:n])
			if _, err := io.WriteString(w, "\r\n"); err != nil {
				return
			}
			rest = rest[n:]
		}
		io.WriteString(w, "0\r\n\r\n")
		w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
