//go:build unix

package filetest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the test binary play the misbehaving command: with
// FILETEST_CHILD set it does what the variable says and exits.
func TestMain(m *testing.M) {
	switch arg := os.Getenv("FILETEST_CHILD"); {
	case arg == "":
		os.Exit(m.Run())
	case arg == "refuse":
		fmt.Fprintln(os.Stderr, "cmd: -key-file: read /some/path: not a regular file (a directory)")
		os.Exit(2)
	case strings.HasPrefix(arg, "read:"):
		// What the commands did before internal/safefile.
		data, err := os.ReadFile(strings.TrimPrefix(arg, "read:"))
		fmt.Println(len(data), err)
		os.Exit(0)
	}
	os.Exit(99)
}

func child(what string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FILETEST_CHILD="+what)
	return cmd
}

func TestCases(t *testing.T) {
	t.Parallel()
	cs := Cases(t, 64<<10)
	if len(cs) != 4 {
		t.Fatalf("have %d cases, want 4", len(cs))
	}
	modes := map[string]os.FileMode{}
	for _, c := range cs {
		fi, err := os.Stat(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		modes[c.Name] = fi.Mode()
		if c.Name == "over-the-limit" && (fi.Size() != 64<<10+1 || !fi.Mode().IsRegular() || c.Want != "file too large (the limit is 64 KiB)") {
			t.Errorf("%s: %v, %d bytes, want %q: want a regular file of 65537 bytes", c.Name, fi.Mode(), fi.Size(), c.Want)
		}
	}
	if modes["dev-zero"]&os.ModeCharDevice == 0 || modes["fifo"]&os.ModeNamedPipe == 0 || !modes["directory"].IsDir() {
		t.Errorf("modes %v", modes)
	}
	for limit, want := range map[int64]string{1000: "1000 bytes", 8 << 10: "8 KiB", 16 << 20: "16 MiB"} {
		if have := sizeText(limit); have != want {
			t.Errorf("sizeText(%d) = %q, want %q", limit, have, want)
		}
	}
}

func TestRunExits(t *testing.T) {
	t.Parallel()
	r := Run(t, child("refuse"))
	if r.Code != 2 || r.Killed != "" || !strings.Contains(r.Stderr, "not a regular file") || r.Took > Bound {
		t.Fatalf("have %+v, want exit status 2 with the message", r)
	}
	// Expect accepts it for a case it describes.
	Expect(t, child("refuse"), 2, "-key-file", Case{"directory", "/some/path", "not a regular file (a directory)"})
}

// TestRunKillsHang runs a child that opens a named pipe no one writes:
// the guard must kill it at Bound.
func TestRunKillsHang(t *testing.T) {
	t.Parallel()
	var fifo string
	for _, c := range Cases(t, 1) {
		if c.Name == "fifo" {
			fifo = c.Path
		}
	}
	r := Run(t, child("read:"+fifo))
	if r.Code != -1 || !strings.Contains(r.Killed, "still running after") || r.Took < Bound {
		t.Fatalf("have %+v, want the child killed at %v", r, Bound)
	}
	if r.Took > 2*Bound {
		t.Errorf("killed after %v, want soon after %v", r.Took, Bound)
	}
}

// TestExpectFails checks that Expect fails a test whose command gives the
// wrong status, or says nothing of the path.
func TestExpectFails(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		code int
		flag string
		path string
	}{
		{1, "-key-file", "/some/path"},
		{2, "-other-flag", "/some/path"},
		{2, "-key-file", "/another/path"},
	} {
		ft := &fakeT{TB: t}
		Expect(ft, child("refuse"), c.code, c.flag, Case{"directory", c.path, "a directory"})
		if !ft.failed {
			t.Errorf("status %d, flag %s, path %s: Expect did not fail", c.code, c.flag, c.path)
		}
	}
}

// fakeT records a failure instead of failing the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }
func (f *fakeT) Logf(string, ...any)   {}
