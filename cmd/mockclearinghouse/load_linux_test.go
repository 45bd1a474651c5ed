//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// Bounds of TestParallelLargeBodies (issue 9, item 3).
const (
	loadConns       = 100                               // connections attacking at once, per phase
	loadMaxHWM      = 512 << 20                         // the mock's peak RSS must stay below this
	loadMaxSmall    = time.Second                       // worst get_account_info latency allowed
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
)

// TestParallelLargeBodies attacks the built command (without the race
// detector, which inflates memory) on loopback with 100 connections at
// once, each sending a maximum-size body of empty values, in three phases:
// an 8 MB body with a Content-Length, a body just under the mock's size
// limit (which the server must read), and an 8 MB chunked body. Throughout,
// another client calls get_account_info. The mock's peak RSS (VmHWM) must
// stay under 512 MiB and every small call must answer within a second.
func TestParallelLargeBodies(t *testing.T) {
	if testing.Short() {
		testskip.Skipf(t, "builds the command and sends 2.4 GB over loopback; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "mockclearinghouse")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	credsPath := filepath.Join(dir, "creds.json")
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-creds-out", credsPath, "-nodes", "20", "-log-level", "error")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	creds := waitForCreds(t, credsPath, nil)
	addr := strings.TrimSuffix(strings.TrimPrefix(creds.URL, "http://"), "/xmlrpc/")
	pid := cmd.Process.Pid

	// The memory watch kills the mock if it runs away, so that a failing
	// run does not take the machine with it.
	stopWatch := make(chan struct{})
	watchDone := make(chan int64)
	go func() {
		var killedAt int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWatch:
				watchDone <- killedAt
				return
			case <-tick.C:
			}
			if rss, _ := procStatusBytes(pid, "VmRSS"); rss > loadAbortRSS && killedAt == 0 {
				killedAt = rss
				cmd.Process.Kill()
			}
		}
	}()

	// The small client, in a process of its own so that the load this
	// test generates does not delay it: one get_account_info after another.
	small := startSmallCaller(t, credsPath)

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
		res := attack(addr, ph.doc, ph.chunked)
		t.Logf("phase %q: %s", ph.name, res)
		if res.timeouts > 0 {
			t.Errorf("phase %q: %d of %d connections got no answer within %v", ph.name, res.timeouts, loadConns, loadConnTimeout)
		}
	}
	time.Sleep(loadSettleAfter)
	small.stop(t)
	hwm, hwmErr := procStatusBytes(pid, "VmHWM")
	rss, _ := procStatusBytes(pid, "VmRSS")
	close(stopWatch)
	killedAt := <-watchDone
	t.Logf("%d attacking connections x 3 phases in %v; mock peak RSS %d MiB, RSS %v after the load %d MiB; %d small calls, worst %v",
		loadConns, time.Since(start).Round(time.Millisecond), hwm>>20, loadSettleAfter, rss>>20, small.calls, small.worst.Round(time.Millisecond))

	if killedAt > 0 {
		t.Fatalf("the mock's RSS reached %d MiB; killed it (want a peak under %d MiB)", killedAt>>20, loadMaxHWM>>20)
	}
	if hwmErr != nil {
		t.Fatalf("reading VmHWM: %v", hwmErr)
	}
	if hwm >= loadMaxHWM {
		t.Errorf("peak RSS: have %d MiB, want under %d MiB", hwm>>20, loadMaxHWM>>20)
	}
	if small.calls < 10 {
		t.Errorf("small calls: have %d, want at least 10", small.calls)
	}
	if small.err != nil {
		t.Errorf("a small call failed: %v", small.err)
	}
	if small.worst >= loadMaxSmall {
		t.Errorf("worst get_account_info latency: have %v, want under %v", small.worst, loadMaxSmall)
	}
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

// smallCallerEnv names the creds file for TestHelperSmallCaller.
const smallCallerEnv = "MOCKCLEARINGHOUSE_SMALL_CALLER"

// TestHelperSmallCaller is not a test: TestParallelLargeBodies runs the
// test binary with only this test and smallCallerEnv set, to call
// get_account_info from another process until its stdin closes. It then
// prints the count, the worst latency and the first error, and exits.
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
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	s := &smallCaller{creds: *c}
	s.loop(stop)
	errText := ""
	if s.err != nil {
		errText = s.err.Error()
	}
	fmt.Printf("small-caller: %d %d %q\n", s.calls, s.worst, errText)
	os.Exit(0)
}

// smallCaller calls get_account_info in a loop and keeps the worst latency.
type smallCaller struct {
	creds credsfile.File
	calls int
	worst time.Duration
	err   error

	cmd   *exec.Cmd // in the test: the helper process
	stdin io.WriteCloser
	out   *bytes.Buffer
}

// startSmallCaller starts TestHelperSmallCaller in a process of its own.
func startSmallCaller(t *testing.T, credsPath string) *smallCaller {
	t.Helper()
	s := &smallCaller{out: &bytes.Buffer{}}
	s.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperSmallCaller$")
	s.cmd.Env = append(os.Environ(), smallCallerEnv+"="+credsPath)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill() })
	return s
}

// stop ends the helper process and reads its findings.
func (s *smallCaller) stop(t *testing.T) {
	t.Helper()
	s.stdin.Close()
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("small caller: %v\n%s", err, s.out)
	}
	for line := range strings.Lines(s.out.String()) {
		if rest, ok := strings.CutPrefix(line, "small-caller: "); ok {
			var errText string
			if _, err := fmt.Sscanf(rest, "%d %d %q", &s.calls, &s.worst, &errText); err != nil {
				t.Fatalf("small caller said %q: %v", line, err)
			}
			if errText != "" {
				s.err = errors.New(errText)
			}
			return
		}
	}
	t.Fatalf("small caller said nothing useful:\n%s", s.out)
}

func (s *smallCaller) loop(stop <-chan struct{}) {
	a := s.creds.Accounts[0]
	doc := `<?xml version="1.0"?><methodCall><methodName>get_account_info</methodName><params><param><value><struct>` +
		`<member><name>username</name><value><string>` + a.Username + `</string></value></member>` +
		`<member><name>api_key</name><value><string>` + a.APIKey + `</string></value></member>` +
		`</struct></value></param></params></methodCall>`
	hc := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	for {
		select {
		case <-stop:
			return
		case <-time.After(loadSmallEvery):
		}
		t0 := time.Now()
		resp, err := hc.Post(s.creds.URL, "text/xml", strings.NewReader(doc))
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && (resp.StatusCode != 200 || !bytes.Contains(body, []byte("user_name"))) {
				err = fmt.Errorf("HTTP %s: %.200s", resp.Status, body)
			}
		}
		d := time.Since(t0)
		s.calls++
		s.worst = max(s.worst, d)
		if err != nil && s.err == nil {
			s.err = err
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
