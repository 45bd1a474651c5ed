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
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
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
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "open\n" {
		t.Fatalf("the helper said %q %v, want %q", line, err, "open\n")
	}
	_, err = Open(context.Background(), path, frozen(t0)...)
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
	if _, err := s.Account("alice"); err != nil {
		t.Fatalf("the helper's account: %v", err)
	}
}

// TestOpenLockedHelper is the child process of TestOpenLockedAcrossProcesses:
// it opens the state file, adds an account, says "open" and waits for its
// standard input to close (or to be killed).
func TestOpenLockedHelper(t *testing.T) {
	path := os.Getenv("MOCKSERVER_LOCK_STATE")
	if path == "" {
		testskip.ChildProcess.Skipf(t, "runs only as TestOpenLockedAcrossProcesses's child")
	}
	s, err := Open(context.Background(), path, append(frozen(t0), WithKeyBits(512), WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := s.AddAccount(AccountSpec{Username: "alice", Password: "secret", Affiliation: "lock test"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("open")
	io.Copy(io.Discard, os.Stdin)
	s.Close()
	os.Exit(0)
}

func checkLockedError(t *testing.T, err error, path string, pid int) {
	t.Helper()
	if !errors.Is(err, ErrStateLocked) {
		t.Fatalf("have %v, want an error matching ErrStateLocked", err)
	}
	for _, want := range []string{path, "process " + strconv.Itoa(pid)} {
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
