package mockserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// TestOpenLockedInProcess opens one state file twice in one process: the
// second Open must refuse, naming the file and the holder, until the first
// Server is closed.
func TestOpenLockedInProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))
	addUser(t, s, "alice")
	second, err := Open(context.Background(), path, frozen(t0)...)
	if err == nil {
		second.Close()
		t.Fatal("a second Open of the same state file succeeded")
	}
	checkLockedError(t, err, path, os.Getpid())
	// The refused Open changed nothing: the first server still writes.
	addUser(t, s, "bob")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := openState(t, path)
	defer r.Close()
	if n := len(listAccounts(t, r)); n != 2 {
		t.Fatalf("after the refused Open: %d accounts, want 2", n)
	}
}

// TestOpenLockSurvivesCompaction compacts the state file (which replaces
// it by a rename) and checks that the lock still holds.
func TestOpenLockSurvivesCompaction(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}), withCompactBytes(1))
	defer s.Close()
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, s, "alice") // compacts: the record passes the threshold
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Fatal("the state file was not replaced; the test proves nothing")
	}
	second, err := Open(context.Background(), path, frozen(t0)...)
	if err == nil {
		second.Close()
		t.Fatal("a second Open succeeded after compaction")
	}
	checkLockedError(t, err, path, os.Getpid())
	s.j.mu.Lock()
	defer s.j.mu.Unlock()
	if n := len(s.j.retired); n != 0 {
		t.Errorf("%d replaced files kept open with no name left, want 0", n)
	}
}

// TestOpenLockedAcrossProcesses holds the state file in a child process:
// Open here must refuse and name the child's PID; once the child is killed
// (SIGKILL: no chance to clean up) the file opens.
func TestOpenLockedAcrossProcesses(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" || runtime.GOOS == "plan9" {
		testskip.Platform.Skipf(t, "needs a subprocess and SIGKILL")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	h := startLockHelper(t, path)
	cmd := h.cmd
	_, err := Open(context.Background(), path, frozen(t0)...)
	checkLockedError(t, err, path, cmd.Process.Pid)

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	s, err := Open(context.Background(), path, frozen(t0)...)
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	defer s.Close()
	if _, err := s.Account("holder"); err != nil {
		t.Fatalf("the helper's account: %v", err)
	}
}

// TestOpenLockedHelper is the child process of TestOpenLockedAcrossProcesses
// and TestOpenLockedHardLinksAcrossProcesses: it opens the state file (which
// it compacts after every change), adds the account holder, says "open", and then
// for each line "write" on its standard input adds another account and
// says "written", until its standard input closes (or it is killed).
func TestOpenLockedHelper(t *testing.T) {
	path := os.Getenv("MOCKSERVER_LOCK_STATE")
	if path == "" {
		testskip.ChildProcess.Skipf(t, "runs only as TestOpenLockedAcrossProcesses's child")
	}
	s, err := Open(context.Background(), path, append(frozen(t0), WithKeyBits(512), withCompactBytes(1),
		WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	add := func(name string) {
		if _, err := s.AddAccount(mockapi.AccountSpec{Username: name, Password: "secret", Affiliation: "lock test"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	add("holder")
	fmt.Println("open")
	sc := bufio.NewScanner(os.Stdin)
	for i := 0; sc.Scan(); i++ {
		if sc.Text() == "write" {
			add(fmt.Sprint("user", i))
			fmt.Println("written")
		}
	}
	s.Close()
	os.Exit(0)
}

// lockHelper is TestOpenLockedHelper running on the state file at path.
type lockHelper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startLockHelper starts TestOpenLockedHelper on path and waits until it
// holds the file. It is killed when the test ends.
func startLockHelper(t *testing.T, path string) *lockHelper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenLockedHelper$")
	cmd.Env = append(os.Environ(), "MOCKSERVER_LOCK_STATE="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A helper that hangs is killed, which ends a read of its output
	// that waits: a failing test must not hang the package.
	watchdog := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	t.Cleanup(func() { watchdog.Stop(); stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	h := &lockHelper{cmd, stdin, bufio.NewReader(out)}
	h.expect(t, "open")
	return h
}

// expect reads the helper's next line, which must be want.
func (h *lockHelper) expect(t *testing.T, want string) {
	t.Helper()
	line, err := h.out.ReadString('\n')
	if line != want+"\n" {
		h.cmd.Process.Kill()
		t.Fatalf("the helper said %q %v, want %q", line, err, want)
	}
}

// TestOpenLockedHardLinksAcrossProcesses is TestOpenLockedThroughHardLinks
// with the holder in another process: paths made by hard links before its
// Open, after it, and after a compaction are refused with its PID; once
// it is killed with SIGKILL, the file opens with everything it wrote.
func TestOpenLockedHardLinksAcrossProcesses(t *testing.T) {
	if !lockFollowsFile {
		testskip.Platform.Skipf(t, "the state file's lock is on its name here, not on the file (no flock)")
	}
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	savedState(t, path, WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))
	before := filepath.Join(dir, "linked-before")
	must(t, os.Link(path, before))
	h := startLockHelper(t, path) // compacted once already: it added holder
	after := filepath.Join(dir, "linked-after")
	must(t, os.Link(path, after))
	refused := func(paths ...string) {
		t.Helper()
		for _, p := range paths {
			r, err := Open(context.Background(), p, frozen(t0)...)
			if err == nil {
				r.Close()
				t.Errorf("%s: Open succeeded while another process holds the file", filepath.Base(p))
				continue
			}
			checkLockedError(t, err, p, h.cmd.Process.Pid)
		}
	}
	refused(path, before, after)
	old, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(h.stdin, "write")
	h.expect(t, "written")
	if now, err := os.Stat(path); err != nil || os.SameFile(old, now) {
		t.Fatalf("the helper's write did not replace the state file (%v); the test proves nothing", err)
	}
	compacted := filepath.Join(dir, "linked-after-compaction")
	must(t, os.Link(path, compacted))
	refused(path, before, after, compacted)

	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
	r := openState(t, compacted)
	defer r.Close()
	if n := len(listAccounts(t, r)); n != 3 {
		t.Errorf("after the holder died: %d accounts, want 3 (alice, holder, user0)", n)
	}
}

// checkLockedError checks that err is ErrStateLocked naming path and the
// process pid (where the system says which process holds a lock).
func checkLockedError(t *testing.T, err error, path string, pid int) {
	t.Helper()
	if !errors.Is(err, ErrStateLocked) {
		t.Fatalf("have %v, want an error matching ErrStateLocked", err)
	}
	holder := "process " + strconv.Itoa(pid)
	if !lockHolderKnown {
		holder = "another process"
	}
	for _, want := range []string{path, holder} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestOpenRefusesSymlinkedState plants a symbolic link where the state
// file goes, pointing at another server's state file: Open must refuse it
// rather than read or append through the link, and the target must stay
// as it was.
func TestOpenRefusesSymlinkedState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	_, want := savedState(t, victim, WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))
	for _, name := range []string{"link", "dangling"} {
		path := filepath.Join(dir, name)
		target := victim
		if name == "dangling" {
			target = filepath.Join(dir, "nowhere")
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		s, err := Open(context.Background(), path, frozen(t0)...)
		if err == nil {
			addUser(t, s, "mallory")
			s.Close()
			t.Errorf("%s: Open accepted a symbolic link as the state file", name)
		} else if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("%s: have %v, want an error naming %s as a symbolic link", name, err, path)
		}
	}
	if have, _ := os.ReadFile(victim); string(have) != string(want) {
		t.Error("the link's target changed")
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("the dangling link's target was created")
	}
}

// TestOpenLockedThroughHardLinks opens a state file and tries it again
// through hard links made before and after the Open, and after a
// compaction replaced the file: every path to a file the server holds is
// refused with its process ID, the one the compaction left included
// (it still holds the journal up to then, and its links may be opened).
func TestOpenLockedThroughHardLinks(t *testing.T) {
	if !lockFollowsFile {
		testskip.Platform.Skipf(t, "the state file's lock is on its name here, not on the file (no flock)")
	}
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	savedState(t, path, WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))
	before := filepath.Join(dir, "linked-before")
	must(t, os.Link(path, before))
	s := openState(t, path, withCompactBytes(1))
	t.Cleanup(func() { s.Close() })
	after := filepath.Join(dir, "linked-after")
	must(t, os.Link(path, after))
	refused := func(paths ...string) {
		t.Helper()
		for _, p := range paths {
			r, err := Open(context.Background(), p, frozen(t0)...)
			if err == nil {
				r.Close()
				t.Errorf("%s: a second Open succeeded", filepath.Base(p))
				continue
			}
			checkLockedError(t, err, p, os.Getpid())
		}
	}
	refused(path, before, after)

	old, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, s, "bob") // compacts: the record passes the threshold
	now, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(old, now) {
		t.Fatal("the state file was not replaced; the test proves nothing")
	}
	s.j.mu.Lock()
	kept := len(s.j.retired)
	s.j.mu.Unlock()
	// Open compacted too (the threshold is 1 byte): the file linked
	// before it, and the one linked after it, are kept.
	if kept != 2 {
		t.Errorf("%d replaced files kept locked, want 2", kept)
	}
	compacted := filepath.Join(dir, "linked-after-compaction")
	must(t, os.Link(path, compacted))
	refused(path, before, after, compacted)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, before, compacted} {
		r := openState(t, p)
		r.Close()
	}
}

// TestOpenCreateRace opens a state file that does not exist yet from
// several goroutines at once: one creates it and the others are refused,
// and what the one writes is what the file holds.
func TestOpenCreateRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	const n = 4
	servers := make([]*Server, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			servers[i], errs[i] = Open(context.Background(), path, append(frozen(t0), WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))...)
		})
	}
	close(start)
	wg.Wait()
	var winner *Server
	for i, s := range servers {
		switch {
		case errs[i] == nil && winner == nil:
			winner = s
			t.Cleanup(func() { s.Close() })
		case errs[i] == nil:
			s.Close()
			t.Errorf("Open %d succeeded too", i)
		case !errors.Is(errs[i], ErrStateLocked):
			t.Errorf("Open %d: have %v, want ErrStateLocked", i, errs[i])
		}
	}
	if winner == nil {
		t.Fatal("no Open succeeded")
	}
	addUser(t, winner, "alice")
	r := reopen(t, winner, path)
	if n := len(listAccounts(t, r)); n != 1 {
		t.Fatalf("the file holds %d accounts, want the winner's 1", n)
	}
}
