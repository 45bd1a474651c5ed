//go:build unix

package filetest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
)

// Bound is how long a command may take to refuse a file, from its start
// as a process to its exit. The commands take milliseconds; the rest is
// room for a loaded machine and the race detector.
const Bound = 5 * time.Second

// MaxRSS is the resident memory past which Run kills the command (Linux
// only): far above what a command needs to refuse a file, far below
// what hurts the machine.
const MaxRSS = 256 << 20

// Case is a path that a file flag must refuse.
type Case struct {
	Name string // what the path is, for the test's name
	Path string
	Want string // what the message must say about it
}

// Cases returns the paths a file flag whose limit is limit must refuse:
// /dev/zero, a named pipe and a directory in a fresh temporary directory,
// and a file of limit+1 bytes there (sparse: quick to make however large).
func Cases(t testing.TB, limit int64) []Case {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "dir")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	f, err := os.OpenFile(big, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = f.Truncate(limit + 1)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return []Case{
		{"dev-zero", "/dev/zero", "not a regular file (a character device)"},
		{"fifo", fifo, "not a regular file (a named pipe)"},
		{"directory", sub, "not a regular file (a directory)"},
		{"over-the-limit", big, "file too large (the limit is " + sizeText(limit) + ")"},
	}
}

// sizeText writes limit as safefile's messages do.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// Result is how a command run by Run ended.
type Result struct {
	Code   int // exit status; -1 if it did not exit by itself
	Stdout string
	Stderr string
	Took   time.Duration
	Killed string // why Run killed it, or ""
}

// Run starts cmd (its Stdout and Stderr must be unset) and waits for it
// to exit, killing it if it runs longer than Bound or, on Linux, if its
// resident memory passes MaxRSS. A process left over when the test ends
// is killed then.
func Run(t testing.TB, cmd *exec.Cmd) Result {
	t.Helper()
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var waitErr error
	done := false
	t.Cleanup(func() {
		if !done {
			cmd.Process.Kill()
			<-exited
		}
	})
	killed := ""
	deadline := time.NewTimer(Bound)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !done {
		select {
		case waitErr = <-exited:
			done = true
		case <-deadline.C:
			killed = "still running after " + Bound.String()
		case <-tick.C:
			if rss := residentBytes(cmd.Process.Pid); rss > MaxRSS {
				killed = "resident memory " + strconv.FormatInt(rss>>20, 10) + " MiB, past the guard's " + strconv.Itoa(MaxRSS>>20) + " MiB"
			}
		}
		if killed != "" && !done {
			cmd.Process.Kill()
			waitErr = <-exited
			done = true
		}
	}
	r := Result{Code: -1, Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(start), Killed: killed}
	var ee *exec.ExitError
	switch {
	case killed != "":
	case errors.As(waitErr, &ee):
		r.Code = ee.ExitCode()
	case waitErr == nil:
		r.Code = 0
	default:
		t.Fatalf("waiting for the command: %v", waitErr)
	}
	return r
}

// residentBytes is the resident memory of process pid, from Linux's
// /proc; 0 elsewhere, or once the process is gone.
func residentBytes(pid int) int64 {
	if runtime.GOOS != "linux" {
		return 0
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(data, []byte("\nVmRSS:"))
	if !ok {
		return 0
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(line)), " kB"), 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}

// Expect runs cmd with Run and fails t unless it exits by itself with
// status code within Bound, with a message on stderr that names flag,
// the case's path, and what is wrong with it.
func Expect(t testing.TB, cmd *exec.Cmd, code int, flag string, c Case) Result {
	t.Helper()
	r := Run(t, cmd)
	if r.Killed != "" {
		t.Fatalf("%s %s: killed, %s; stderr:\n%s", flag, c.Path, r.Killed, clip(r.Stderr))
	}
	if r.Code != code || !strings.Contains(r.Stderr, flag) || !strings.Contains(r.Stderr, c.Path) || !strings.Contains(r.Stderr, c.Want) {
		t.Errorf("%s %s: exit status %d after %v, stderr:\n%s\nwant status %d and a message naming %s, %s and saying %q",
			flag, c.Path, r.Code, r.Took.Round(time.Millisecond), clip(r.Stderr), code, flag, c.Path, c.Want)
	}
	t.Logf("%s %s: exit status %d after %v", flag, c.Name, r.Code, r.Took.Round(time.Millisecond))
	return r
}

// clip keeps a message short: a command that printed a file's contents
// could print megabytes.
func clip(s string) string {
	const max = 2000
	if len(s) <= max {
		return s
	}
	return s[:max] + "... (" + strconv.Itoa(len(s)-max) + " more bytes)"
}
