package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// openPTY opens a pseudo-terminal pair with package syscall alone. The
// master's descriptor is reached through SyscallConn only, so that it
// stays non-blocking and read deadlines work on it. Where no
// pseudo-terminal can be opened the test skips, and fails under CI
// (internal/testskip).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		testskip.Skipf(t, "no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	var n uint32
	var unlock int32
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
			errno = e
			return
		}
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock)))
	})
	if errno != 0 {
		testskip.Skipf(t, "cannot set up a pseudo-terminal: %v", errno)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		testskip.Skipf(t, "cannot open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func echoOn(t *testing.T, f *os.File) bool {
	t.Helper()
	tio, err := getTermios(f.Fd())
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&syscall.ECHO != 0
}

// TestPasswordFromTerminal types the password into a real terminal: it
// must not be echoed, and echo must be back on afterwards.
func TestPasswordFromTerminal(t *testing.T) {
	t.Parallel()
	master, slave := openPTY(t)
	if !isTerminal(slave.Fd()) || !echoOn(t, slave) {
		t.Fatal("the new terminal should echo")
	}
	f := newFixture(t)
	stderr := &syncbuf.Buffer{}
	done := make(chan result, 1)
	go func() {
		done <- exec(t, invocation{stdin: slave, stderr: stderr}, "--creds", f.creds, "regenerate-api-key")
	}()
	waitFor(t, stderr, "Password for alice at "+f.url+": ")
	if echoOn(t, slave) {
		t.Error("echo is on while the password is read")
	}
	if _, err := master.Write([]byte(alicePassword + "\n")); err != nil {
		t.Fatal(err)
	}
	r := finish(t, done)
	want(t, r, exitOK)
	if acct, _ := f.mock.Account("alice"); strings.TrimSpace(r.stdout) != acct.APIKey {
		t.Errorf("have stdout %q, want the new key", r.stdout)
	}
	if !echoOn(t, slave) {
		t.Error("echo was not restored")
	}
	// What the terminal showed: nothing of the password.
	master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	buf := make([]byte, 4096)
	n, _ := master.Read(buf)
	if strings.Contains(string(buf[:n]), alicePassword) {
		t.Errorf("the password was echoed: %q", buf[:n])
	}
}

// TestPasswordInterrupted: Ctrl-C (the context ending) at the prompt
// restores the terminal and exits with 130.
func TestPasswordInterrupted(t *testing.T) {
	t.Parallel()
	_, slave := openPTY(t)
	f := newFixture(t)
	stderr := &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result, 1)
	go func() {
		done <- exec(t, invocation{ctx: ctx, stdin: slave, stderr: stderr}, "--creds", f.creds, "set-public-key", f.alice.PublicKey)
	}()
	waitFor(t, stderr, "Password for alice")
	if echoOn(t, slave) {
		t.Error("echo is on while the password is read")
	}
	cancel()
	r := finish(t, done)
	if r.code != exitInterrupted || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("have exit %d, stderr %q", r.code, stderr.String())
	}
	if !echoOn(t, slave) {
		t.Error("echo was not restored after the interruption")
	}
}
