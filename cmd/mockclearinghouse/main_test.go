package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// TestMain lets the test binary stand in for the command: with
// MOCKCLEARINGHOUSE_MAIN set it runs main with the arguments after "--".
// Tests that need a real process (to kill it) start themselves this way.
func TestMain(m *testing.M) {
	if os.Getenv("MOCKCLEARINGHOUSE_MAIN") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"mockclearinghouse"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startRun runs the command in process until the test ends, and returns
// the credentials it wrote.
func startRun(t *testing.T, args ...string) (credsfile.File, *syncbuf.Buffer, func() error) {
	t.Helper()
	return startRunStderr(t, io.Discard, args...)
}

// startRunStderr is startRun with the command's stderr going to stderr.
func startRunStderr(t *testing.T, stderr io.Writer, args ...string) (credsfile.File, *syncbuf.Buffer, func() error) {
	t.Helper()
	credsPath := filepath.Join(t.TempDir(), "creds.json")
	args = append([]string{"-addr", "127.0.0.1:0", "-creds-out", credsPath, "-cleanup-delay", "0"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out, stderr) }()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("run did not return after cancellation")
		}
	}
	var stopped bool
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	creds := waitForCreds(t, credsPath, done)
	waitForBanner(t, out, len(creds.Accounts))
	return creds, out, func() error { stopped = true; return stop() }
}

// waitForBanner waits until the command has printed its whole banner,
// which ends with a line per demo account. The command writes the creds
// file first, so a test that reads the banner as soon as the file exists
// can see only part of it.
func waitForBanner(t *testing.T, out *syncbuf.Buffer, accounts int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := out.WaitFor(ctx, func(s string) bool {
		i := strings.Index(s, "Demo accounts")
		return i >= 0 && strings.Count(s[i:], "\n  username ") == accounts
	})
	if err != nil {
		t.Fatalf("no complete banner after 20s:\n%s", out)
	}
}

func waitForCreds(t *testing.T, path string, done <-chan error) credsfile.File {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the command ended early: %v", err)
		default:
		}
		if _, err := os.Stat(path); err == nil {
			c, err := credsfile.Read(path)
			if err != nil {
				t.Fatalf("creds file: %v", err)
			}
			return *c
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no creds file after 20s")
	return credsfile.File{}
}

func clientFor(t *testing.T, c credsfile.File, i int, opts ...clearinghouse.Option) *clearinghouse.Client {
	t.Helper()
	opts = append([]clearinghouse.Option{clearinghouse.WithURL(c.URL), clearinghouse.WithAPIKey(c.Accounts[i].APIKey)}, opts...)
	if c.CAFile != "" {
		opts = append(opts, clearinghouse.WithCAFile(c.CAFile))
	}
	cl, err := clearinghouse.New(c.Accounts[i].Username, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// childCommand is the command as a child process: the test binary, which
// runs main with args (see TestMain).
func childCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "MOCKCLEARINGHOUSE_MAIN=1")
	return cmd
}

// startProcess runs the command as a child process on 127.0.0.1 with
// args, for at most timeout, and waits for the creds file it writes. It
// returns the process, its stderr, the result of its Wait and the
// credentials. When the test ends the process is killed if it still runs.
func startProcess(t *testing.T, timeout time.Duration, args ...string) (*exec.Cmd, *syncbuf.Buffer, <-chan error, credsfile.File) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	credsPath := filepath.Join(t.TempDir(), "creds.json")
	cmd := childCommand(ctx, append([]string{"-addr", "127.0.0.1:0", "-creds-out", credsPath}, args...)...)
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done, exited := make(chan error, 1), make(chan struct{})
	go func() {
		done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cancel() // kills the process if the test ended before it did
		<-exited
	})
	return cmd, stderr, done, waitForCreds(t, credsPath, done)
}

// exitCode is the exit status of a child process whose Wait returned err;
// an error other than an *exec.ExitError ends the test.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func TestRunServesAndStops(t *testing.T) {
	t.Parallel()
	creds, out, stop := startRun(t, "-accounts", "2", "-nodes", "50", "-admin")
	if len(creds.Accounts) != 2 || creds.Accounts[0].Username != "demo1" || creds.CAFile != "" {
		t.Fatalf("creds %+v", creds)
	}
	for _, a := range creds.Accounts {
		if a.Password == "" || len(a.APIKey) != 32 || a.PublicKey == "" || a.PrivateKey == "" {
			t.Fatalf("incomplete demo account %+v", a)
		}
	}
	if !strings.HasPrefix(creds.URL, "http://127.0.0.1:") || !strings.HasSuffix(creds.URL, "/xmlrpc/") {
		t.Fatalf("URL %q", creds.URL)
	}
	info, err := clientFor(t, creds, 1).GetAccountInfo(context.Background())
	if err != nil || info.Username != "demo2" {
		t.Fatalf("GetAccountInfo: %+v %v", info, err)
	}
	if want := strings.TrimSuffix(creds.URL, "xmlrpc/") + "admin/"; creds.AdminURL != want {
		t.Errorf("creds admin_url: have %q, want %q", creds.AdminURL, want)
	}
	resp, err := http.Get(creds.AdminURL + "nodes?limit=1")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, want := range []string{creds.URL, "demo1", creds.Accounts[0].APIKey} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up output lacks %q:\n%s", want, out.String())
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("run returned %v after cancellation", err)
	}
}

func TestRunTLS(t *testing.T) {
	t.Parallel()
	creds, _, _ := startRun(t, "-tls", "-nodes", "20")
	if !strings.HasPrefix(creds.URL, "https://") || creds.CAFile == "" {
		t.Fatalf("creds %+v", creds)
	}
	if creds.AdminURL != "" {
		t.Errorf("creds admin_url %q without -admin, want none", creds.AdminURL)
	}
	ctx := context.Background()
	if _, err := clientFor(t, creds, 0).GetAccountInfo(ctx); err != nil {
		t.Fatalf("verified with the CA file: %v", err)
	}
	noCA := creds
	noCA.CAFile = ""
	if _, err := clientFor(t, noCA, 0).GetAccountInfo(ctx); !errors.Is(err, clearinghouse.ErrCommunication) {
		t.Fatalf("without the CA file: %v, want a communication error", err)
	}
	if _, err := clientFor(t, noCA, 0, clearinghouse.WithInsecureSkipVerify()).GetAccountInfo(ctx); err != nil {
		t.Fatalf("insecure: %v", err)
	}
}

func TestRunStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "mock.state")
	creds, _, stop := startRun(t, "-state", state, "-nodes", "60")
	ctx := context.Background()
	c := clientFor(t, creds, 0)
	vs, err := c.AcquireWAN(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	again, _, _ := startRun(t, "-state", state, "-nodes", "60")
	if again.Accounts[0].APIKey != creds.Accounts[0].APIKey || again.Accounts[0].Password != creds.Accounts[0].Password {
		t.Fatal("the demo account's credentials changed across the restart")
	}
	held, err := clientFor(t, again, 0).GetResourceInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(clearinghouse.Handles(held)) != fmt.Sprint(sortedHandles(vs)) {
		t.Fatalf("after restart holding %v, want %v", clearinghouse.Handles(held), sortedHandles(vs))
	}
}

func sortedHandles(vs []clearinghouse.Vessel) []clearinghouse.Handle {
	hs := clearinghouse.Handles(vs)
	for i := range hs {
		for j := i + 1; j < len(hs); j++ {
			if hs[j] < hs[i] {
				hs[i], hs[j] = hs[j], hs[i]
			}
		}
	}
	return hs
}

func TestRunFlagErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-accounts", "-1"},
		{"-tls-cert", "x.pem"},
		{"-tls", "-tls-cert", "x.pem", "-tls-key", "y.pem"},
		{"-no-such-flag"},
		{"extra"},
		{"-addr", "256.0.0.1:99999"},
		{"-nodes", "-5"},
		{"-nat-fraction", "2"},
		{"-time-scale", "-1"},
		{"-acquire-failure-rate", "1.5"},
		{"-log-level", "loud"},
		{"-tls-cert", "/nonexistent.pem", "-tls-key", "/nonexistent.key", "-addr", "127.0.0.1:0"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	wantHelp(t, "-addr", "-nodes", "-nat-fraction", "-seed", "-accounts", "-creds-out", "-state", "-cleanup-delay",
		"-time-scale", "-acquire-failure-rate", "-tls", "-tls-cert", "-tls-key", "-admin", "-log-level")
}

// wantHelp runs the command with -h and checks that the usage it prints
// describes each of the flags names.
func wantHelp(t *testing.T, names ...string) {
	t.Helper()
	var help bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, io.Discard, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, name := range names {
		if !strings.Contains(help.String(), name+" ") && !strings.Contains(help.String(), name+"\n") {
			t.Errorf("-h does not describe %s", name)
		}
	}
}

// TestKilledMidStream kills the command with SIGKILL while a client is
// acquiring and releasing vessels, then restarts it on the same state
// file: every call the client saw acknowledged must be reflected.
func TestKilledMidStream(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "mock.state")
	credsPath := filepath.Join(dir, "creds.json")
	cmd := childCommand(context.Background(), "-addr", "127.0.0.1:0", "-state", state,
		"-creds-out", credsPath, "-nodes", "80", "-cleanup-delay", "0", "-log-level", "error")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error)
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	creds := waitForCreds(t, credsPath, exited)
	c := clientFor(t, creds, 0, clearinghouse.WithTimeout(5*time.Second))
	ctx := context.Background()

	// Acknowledged state: the handles held after the last successful call.
	held := map[clearinghouse.Handle]bool{}
	var pendingRelease clearinghouse.Handle // a release sent but not yet acknowledged
	var mu sync.Mutex
	var acked atomic.Int64
	enough := make(chan struct{}) // closed at the 40th acknowledged acquisition
	stopStream := make(chan struct{})
	streamDone := make(chan int)
	go func() {
		calls := 0
		defer func() { streamDone <- calls }()
		for {
			select {
			case <-stopStream:
				return
			default:
			}
			vs, err := c.AcquireRandom(ctx, 1)
			if err != nil {
				if errors.Is(err, clearinghouse.ErrNotEnoughCredits) {
					continue
				}
				return // the server is gone
			}
			mu.Lock()
			held[vs[0].Handle] = true
			full := len(held) >= 5 // keep well under the 10 credits
			mu.Unlock()
			calls++
			if acked.Add(1) == 40 {
				close(enough)
			}
			if full {
				mu.Lock()
				pendingRelease = vs[0].Handle
				mu.Unlock()
				if err := c.ReleaseResources(ctx, clearinghouse.Handles(vs)); err != nil {
					return
				}
				mu.Lock()
				delete(held, vs[0].Handle)
				pendingRelease = ""
				mu.Unlock()
				calls++
			}
		}
	}()
	// Kill once a good number of calls went through, however slow the
	// machine is (or after 30 s, or when the stream stopped: the check
	// of the count below then says so).
	select {
	case <-enough:
	case <-exited:
	case <-time.After(30 * time.Second):
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	<-exited
	close(stopStream)
	calls := <-streamDone
	if calls < 5 {
		t.Fatalf("only %d calls were acknowledged before the kill; the test proves nothing", calls)
	}

	os.Remove(credsPath)
	again, _, _ := startRun(t, "-state", state, "-nodes", "80")
	after, err := clientFor(t, again, 0).GetResourceInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[clearinghouse.Handle]bool{}
	for _, v := range after {
		have[v.Handle] = true
	}
	mu.Lock()
	defer mu.Unlock()
	// The one call in flight at the kill may or may not have landed; every
	// acknowledged one must have.
	for h := range held {
		if !have[h] && h != pendingRelease {
			t.Errorf("acknowledged acquisition of %s lost", h)
		}
	}
	if extra := len(have) - len(held); extra > 1 {
		t.Errorf("%d vessels held that no acknowledged call explains", extra)
	}
	t.Logf("%d acknowledged calls before SIGKILL; %d vessels held after restart", calls, len(after))
}

// runRefused runs the command as a child process with args, expecting it
// to refuse to start: it returns the exit status and stderr. If the
// command serves instead (it prints where it listens) or runs for a
// minute, it is killed and the test ends.
func runRefused(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := childCommand(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	served := make(chan error, 1)
	go func() {
		served <- stdout.WaitFor(ctx, func(out string) bool { return strings.Contains(out, "listening at") })
	}()
	select {
	case err := <-exited:
		return exitCode(t, err), stderr.String()
	case err := <-served:
		cmd.Process.Kill() // ends ctx's wait too, if it was what ended
		<-exited
		if err != nil {
			t.Fatalf("the command neither served nor exited within a minute; stderr:\n%s", stderr)
		}
		t.Fatalf("the command served with %q; stderr:\n%s", args, stderr)
	}
	return 0, ""
}

// recordStarts returns the byte offsets at which the records of a
// well-formed state file start, read without the mockserver package: a
// header line, then records whose header line opens with the decimal
// length of the payload that follows it (and a newline after that).
func recordStarts(t *testing.T, data []byte) []int {
	t.Helper()
	var starts []int
	pos := bytes.IndexByte(data, '\n') + 1
	for pos < len(data) {
		nl, sp := bytes.IndexByte(data[pos:], '\n'), bytes.IndexByte(data[pos:], ' ')
		if nl < 0 || sp < 0 || sp > nl {
			t.Fatalf("no record header at byte %d", pos)
		}
		n, err := strconv.Atoi(string(data[pos : pos+sp]))
		if err != nil {
			t.Fatalf("record header at byte %d: %v", pos, err)
		}
		starts = append(starts, pos)
		pos += nl + 1 + n + 1
	}
	return starts
}

// TestRunRefusesDamagedState is the scenario with real processes:
// five acknowledged acquisitions, SIGKILL, then one digit of the length of
// a record in the middle of the state file raised. The next start must
// fail (status 1) with a message that names the file, the record and its
// byte offset, and leave the file as it was, instead of dropping every
// record from the damaged one on.
func TestRunRefusesDamagedState(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "mock.state")
	cmd, _, done, creds := startProcess(t, 2*time.Minute, "-state", state, "-nodes", "40", "-accounts", "1", "-log-level", "error")
	c := clientFor(t, creds, 0)
	for range 5 {
		if _, err := c.AcquireWAN(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	<-done
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	starts := recordStarts(t, data)
	if len(starts) < 7 {
		t.Fatalf("%d records in the state file, want at least 7 (snapshot, account, five acquisitions)", len(starts))
	}
	rec := len(starts) - 2 // an acquisition with two more records after it
	off := starts[rec-1]
	if data[off] == '9' {
		data[off] = '8'
	} else {
		data[off] = '9'
	}
	if err := os.WriteFile(state, data, 0o600); err != nil {
		t.Fatal(err)
	}

	code, msg := runRefused(t, "-state", state, "-nodes", "40", "-accounts", "1")
	if code != 1 {
		t.Errorf("exit status %d, want 1; stderr:\n%s", code, msg)
	}
	for _, want := range []string{"corrupt state file", state, fmt.Sprint("record ", rec), fmt.Sprint("byte offset ", off)} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr does not say %q:\n%s", want, msg)
		}
	}
	if after, err := os.ReadFile(state); err != nil || !bytes.Equal(after, data) {
		t.Errorf("the refused state file was changed (%d bytes, were %d) %v", len(after), len(data), err)
	}
}

// TestRunTLSPlantedSymlinks plants symbolic links where the command writes
// the CA certificate and the creds file (the README puts them in /tmp):
// the links' targets must stay untouched and the outputs be regular files.
func TestRunTLSPlantedSymlinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	victims := map[string]string{}
	for _, name := range []string{"mockclearinghouse-ca.pem", "creds.json"} {
		victim := filepath.Join(dir, "victim-"+name)
		if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
			if runtime.GOOS == "windows" {
				testskip.Platform.Skipf(t, "making a symbolic link needs a privilege on Windows: %v", err)
			}
			t.Fatal(err)
		}
		victims[name] = victim
	}
	credsPath := filepath.Join(dir, "creds.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-tls", "-creds-out", credsPath, "-nodes", "10"}, io.Discard, io.Discard)
	}()
	t.Cleanup(func() { cancel(); <-done })
	// The creds file is written last; wait until it is a regular file.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if fi, err := os.Lstat(credsPath); err == nil && fi.Mode().IsRegular() {
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the command ended early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no regular creds file after 20s")
		}
	}
	for name, victim := range victims {
		if data, _ := os.ReadFile(victim); string(data) != "precious\n" {
			t.Errorf("%s: the planted link's target was overwritten: have %.40q, want %q", name, data, "precious\n")
		}
		if fi, err := os.Lstat(filepath.Join(dir, name)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: have %v %v, want a regular file", name, fi.Mode(), err)
		}
	}
}

// TestRunStateLocked starts a second command on the state file of a
// running one: it must refuse at once, naming the file.
func TestRunStateLocked(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "mock.state")
	startRun(t, "-state", state, "-nodes", "10")
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-state", state, "-nodes", "10"}, io.Discard, io.Discard)
	if !errors.Is(err, mockserver.ErrStateLocked) || !strings.Contains(err.Error(), state) {
		t.Fatalf("have %v, want an error matching mockserver.ErrStateLocked that names %s", err, state)
	}
}

// TestRunStateLockedThroughHardLink runs the command as two processes on
// one state file under two names (hard links, made after the first
// started and before it started): the second must exit with status 1,
// naming its path and the first's process ID, and the file must survive
// SIGKILL of the holder with every acknowledged acquisition.
func TestRunStateLockedThroughHardLink(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
	default:
		testskip.Platform.Skipf(t, "the state file's lock is on its name here, not on the file (no flock)")
	}
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "s.state")
	holder, _, done, creds := startProcess(t, 2*time.Minute, "-state", state, "-nodes", "20", "-accounts", "1", "-log-level", "error")
	held, err := clientFor(t, creds, 0).AcquireWAN(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(path string, pid int) {
		t.Helper()
		code, stderr := runRefused(t, "-state", path, "-nodes", "20", "-accounts", "1")
		if code != 1 {
			t.Errorf("%s: exit status %d, want 1; stderr:\n%s", filepath.Base(path), code, stderr)
		}
		for _, want := range []string{"state file in use", path, fmt.Sprint("process ", pid)} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: stderr does not say %q:\n%s", filepath.Base(path), want, stderr)
			}
		}
	}
	linked := filepath.Join(dir, "hard.state")
	if err := os.Link(state, linked); err != nil {
		t.Fatal(err)
	}
	refused(linked, holder.Process.Pid)

	// The holder dies; another one starts on the link, made before it.
	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	again, _, done, creds := startProcess(t, 2*time.Minute, "-state", linked, "-nodes", "20", "-accounts", "1", "-log-level", "error")
	refused(state, again.Process.Pid)
	have, err := clientFor(t, creds, 0).GetResourceInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(clearinghouse.Handles(have)) != fmt.Sprint(sortedHandles(held)) {
		t.Errorf("after SIGKILL and a start through the link: holding %v, want %v", clearinghouse.Handles(have), sortedHandles(held))
	}
	again.Process.Kill()
	<-done
}

// TestFlagRanges gives each numeric flag a value out of its range: the
// error must name the flag, the value and the range, and be a usage error.
func TestFlagRanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string // in the message
	}{
		{[]string{"-nodes", "-5"}, []string{"-nodes", "-5", "0", "1000000"}},
		{[]string{"-nodes", "1000001"}, []string{"-nodes", "1000001", "1000000"}},
		{[]string{"-accounts", "1000000000"}, []string{"-accounts", "1000000000", "0", "1000"}},
		{[]string{"-accounts", "-1"}, []string{"-accounts", "-1", "1000"}},
		{[]string{"-time-scale", "1e12"}, []string{"-time-scale", "1e+12", "0", "1000"}},
		{[]string{"-time-scale", "-1"}, []string{"-time-scale", "-1", "1000"}},
		{[]string{"-time-scale", "NaN"}, []string{"-time-scale", "NaN"}},
		{[]string{"-time-scale", "+Inf"}, []string{"-time-scale", "+Inf"}},
		{[]string{"-nat-fraction", "2"}, []string{"-nat-fraction", "2", "0", "1"}},
		{[]string{"-nat-fraction", "NaN"}, []string{"-nat-fraction", "NaN"}},
		{[]string{"-acquire-failure-rate", "1.5"}, []string{"-acquire-failure-rate", "1.5", "0", "1"}},
		{[]string{"-acquire-failure-rate", "-0.1"}, []string{"-acquire-failure-rate", "-0.1"}},
		{[]string{"-cleanup-delay", "-1s"}, []string{"-cleanup-delay", "-1s", "720h"}},
		{[]string{"-cleanup-delay", "1000000h"}, []string{"-cleanup-delay", "1000000h", "720h"}},
		{[]string{"-addr", "127.0.0.1:99999"}, []string{"-addr", "127.0.0.1:99999", "port"}},
		{[]string{"-addr", "localhost"}, []string{"-addr", "localhost"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := parseFlags(tc.args, &stderr)
			if err == nil {
				t.Fatal("accepted")
			}
			if !isUsageError(err) {
				t.Errorf("%v is not a usage error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
		})
	}
	for _, args := range [][]string{
		{"-nodes", "0", "-accounts", "0", "-time-scale", "0", "-nat-fraction", "1", "-acquire-failure-rate", "1", "-cleanup-delay", "0"},
		{"-nodes", "1000000", "-accounts", "1000", "-time-scale", "1000", "-cleanup-delay", "720h", "-seed", "-9223372036854775808"},
	} {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// TestRunCancelledDuringStartup cancels the context while the command
// builds the largest population, or creates the most demo accounts, the
// flags allow: run must give up promptly with the context's error.
func TestRunCancelledDuringStartup(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-nodes", "1000000", "-accounts", "0"},
		{"-nodes", "0", "-accounts", "1000"},
		{"-nodes", "1000000", "-accounts", "0", "-state", "STATE"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			for i, a := range args {
				if a == "STATE" {
					args[i] = filepath.Join(t.TempDir(), "state")
				}
			}
			// The stage to interrupt: the population (and state file),
			// or the demo accounts.
			stage := `msg="starting up"`
			if args[1] == "0" {
				stage = `msg="creating demo accounts"`
			}
			ctx, cancel := context.WithCancel(context.Background())
			var stderr syncbuf.Buffer
			done, exited := make(chan error, 1), make(chan struct{})
			go func() {
				done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-log-level", "debug"}, args...), io.Discard, &stderr)
				close(exited)
			}()
			// A failing test still stops run, and waits (boundedly) for it.
			t.Cleanup(func() {
				cancel()
				select {
				case <-exited:
				case <-time.After(30 * time.Second):
					t.Error("run still running 30 s after its context was cancelled")
				}
			})
			waitCtx, stopWaiting := context.WithTimeout(context.Background(), 30*time.Second)
			defer stopWaiting()
			go func() {
				select {
				case <-exited: // run ended early: stop waiting for its log
					stopWaiting()
				case <-waitCtx.Done():
				}
			}()
			if err := stderr.WaitFor(waitCtx, func(out string) bool { return strings.Contains(out, stage) }); err != nil {
				t.Fatalf("no %s in the log (%v):\n%s", stage, err, stderr.String())
			}
			cancel()
			start := time.Now()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("run returned %v, want context.Canceled", err)
				}
				t.Logf("returned %v after the cancellation", time.Since(start).Round(time.Millisecond))
			case <-time.After(2 * time.Second):
				t.Fatal("run did not return within 2s of the cancellation")
			}
		})
	}
}

// TestExitCodes runs the command as a process: a usage error exits 2 with
// its message, a failure at run time 1, -h 0.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		want string // on stderr
	}{
		{[]string{"-time-scale", "1e12"}, 2, "-time-scale 1e+12: must be between 0 and 1000"},
		{[]string{"-no-such-flag"}, 2, "flag provided but not defined: -no-such-flag"},
		{[]string{"-tls-cert", "/nonexistent.pem", "-tls-key", "/nonexistent.key"}, 2, "-tls-cert: open /nonexistent.pem: no such file or directory"},
		{[]string{"-admin", "-admin-token-file", "/nonexistent"}, 2, "-admin-token-file: open /nonexistent: no such file or directory"},
		{[]string{"-state", "/dev/null"}, 2, "-state /dev/null: not a regular file (a character device)"},
		{[]string{"-h"}, 0, "-time-scale"},
		{[]string{"-faults-spec", "*:explode"}, 2, `-faults-spec: mockserver: fault spec: rule 1 ("*:explode"): field "explode": want a fault kind`},
		{[]string{"-admin-host", "mock.internal"}, 2, "-admin-token, -admin-token-file and -admin-host need -admin"},
		{[]string{"-admin", "-admin-token", "tok", "-admin-token-file", "/nonexistent"}, 2, "give -admin-token or -admin-token-file, not both"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := childCommand(ctx, append([]string{"-addr", "127.0.0.1:0", "-nodes", "5"}, tc.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("the command did not exit within 20s; stderr:\n%s", stderr.String())
			}
			if code := exitCode(t, err); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit code %d, stderr:\n%s\nwant exit code %d and %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

// TestSignalDuringStartup sends SIGTERM to the command while it builds the
// largest population: it must exit promptly, saying it was interrupted.
func TestSignalDuringStartup(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := childCommand(ctx, "-addr", "127.0.0.1:0", "-nodes", "1000000", "-log-level", "debug")
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exec.CommandContext kills the child when ctx ends; cancel first,
	// so that a test that fails never leaves it running.
	t.Cleanup(func() { cancel(); cmd.Wait() })
	// main installs its signal handler before run logs that start-up
	// begins; the population then takes seconds more.
	if err := stderr.WaitFor(ctx, func(out string) bool { return strings.Contains(out, `msg="starting up"`) }); err != nil {
		t.Fatalf("no start-up line within 30 s: %v\nstderr %q", err, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := cmd.Wait()
	took := time.Since(start)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || took > 2*time.Second ||
		!strings.Contains(stderr.String(), "interrupted while starting") {
		t.Fatalf("have %v after %v, stderr %q; want exit code 1 within 2s, saying it was interrupted", err, took, stderr.String())
	}
}

// TestRunTLSRelativeCredsOut: with -creds-out a relative path, the creds
// file's ca_file still names the CA certificate for a reader in any
// directory. It was written relative to the working directory, which a
// reader resolves against the creds file's directory (chconfig), so
// `-creds-out s/creds.json` sent the CLI to s/s/mockclearinghouse-ca.pem.
func TestRunTLSRelativeCredsOut(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "s"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-tls", "-creds-out", "s/creds.json", "-nodes", "10"}, io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("run did not return after cancellation")
		}
	})
	creds := waitForCreds(t, filepath.Join(dir, "s", "creds.json"), done)
	if !filepath.IsAbs(creds.CAFile) {
		t.Fatalf("ca_file %q is relative", creds.CAFile)
	}
	if want := filepath.Join(dir, "s", "mockclearinghouse-ca.pem"); creds.CAFile != want {
		t.Fatalf("ca_file %q, want %q", creds.CAFile, want)
	}
	if _, err := os.Stat(creds.CAFile); err != nil {
		t.Fatal(err)
	}
}
