//go:build unix

package safefile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestReadFileSpecial reads the files the issue found commands hanging or
// growing on: each is refused at once, without reading.
func TestReadFileSpecial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	fifoLink := filepath.Join(dir, "fifo-link")
	if err := os.Symlink(fifo, fifoLink); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	for _, tc := range []struct {
		path, kind string
	}{
		{"/dev/zero", "a character device"},
		{"/dev/null", "a character device"},
		{fifo, "a named pipe"},
		{fifoLink, "a named pipe"},
		{sock, "a socket"},
	} {
		data, err := readWithin(t, tc.path, MaxKey)
		if !errors.Is(err, ErrNotRegular) || data != nil {
			t.Errorf("%s: have %d bytes, %v; want ErrNotRegular", tc.path, len(data), err)
			continue
		}
		if want := "read " + tc.path + ": not a regular file (" + tc.kind + ")"; err.Error() != want {
			t.Errorf("have %q, want %q", err, want)
		}
	}
}

// TestReadFileFIFOWithWriter refuses a named pipe that a writer holds
// open and keeps filling: nothing of it is read.
func TestReadFileFIFOWithWriter(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// O_RDWR opens a FIFO at once on Linux and the BSDs, and keeps it
	// with a writer for as long as the test runs.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.Write([]byte("secret")); err != nil {
		t.Fatal(err)
	}
	if _, err := readWithin(t, fifo, MaxKey); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("have %v, want ErrNotRegular", err)
	}
	buf := make([]byte, 16)
	if n, err := w.Read(buf); err != nil || string(buf[:n]) != "secret" {
		t.Errorf("the pipe holds %q, %v; want it untouched", buf[:n], err)
	}
}

func TestReadFileSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := writeFile(t, dir, "key", 10)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if data, err := readWithin(t, link, MaxKey); err != nil || len(data) != 10 {
		t.Errorf("a link to a regular file: have %d bytes, %v; want 10 bytes", len(data), err)
	}
	toDir := filepath.Join(dir, "todir")
	if err := os.Symlink(dir, toDir); err != nil {
		t.Fatal(err)
	}
	if _, err := readWithin(t, toDir, MaxKey); !errors.Is(err, ErrNotRegular) {
		t.Errorf("a link to a directory: have %v, want ErrNotRegular", err)
	}
}
