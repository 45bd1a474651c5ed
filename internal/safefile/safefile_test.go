package safefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readBound bounds each ReadFile in the tests: a read that hangs fails
// its test instead of hanging the package.
const readBound = 5 * time.Second

// readWithin calls ReadFile in a goroutine and fails t if it does not
// return within readBound.
func readWithin(t *testing.T, path string, limit int64) ([]byte, error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		data, err := ReadFile(path, limit)
		ch <- result{data, err}
	}()
	select {
	case r := <-ch:
		return r.data, r.err
	case <-time.After(readBound):
		t.Fatalf("ReadFile(%s) still running after %v", path, readBound)
		return nil, nil
	}
}

func writeFile(t *testing.T, dir, name string, n int) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, bytes.Repeat([]byte{'k'}, n), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadFileRegular(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		size  int
		limit int64
	}{
		{"empty, limit 0", 0, 0},
		{"empty", 0, 1 << 10},
		{"under the limit", 100, 1 << 10},
		{"exactly the limit", 1 << 10, 1 << 10},
		{"exactly a large limit", 3<<20 + 5, 3<<20 + 5},
	} {
		path := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "-"), tc.size)
		data, err := readWithin(t, path, tc.limit)
		if err != nil || len(data) != tc.size {
			t.Errorf("%s: have %d bytes, %v; want %d bytes, no error", tc.name, len(data), err, tc.size)
		}
	}
}

func TestReadFileTooLarge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		size  int
		limit int64
		want  string
	}{
		{1, 0, "the limit is 0 bytes"},
		{2, 1, "the limit is 1 byte"},
		{1<<10 + 1, 1 << 10, "the limit is 1 KiB"},
		{64<<10 + 1, MaxKey, "the limit is 64 KiB"},
		{1<<20 + 1, MaxFaults, "the limit is 1 MiB"},
		{1001, 1000, "the limit is 1000 bytes"},
	} {
		path := writeFile(t, dir, "big", tc.size)
		data, err := readWithin(t, path, tc.limit)
		if !errors.Is(err, ErrTooLarge) || data != nil {
			t.Errorf("%d bytes, limit %d: have %d bytes, %v; want ErrTooLarge", tc.size, tc.limit, len(data), err)
			continue
		}
		want := "read " + path + ": file too large (" + tc.want + ")"
		if err.Error() != want {
			t.Errorf("%d bytes, limit %d: have %q, want %q", tc.size, tc.limit, err, want)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Path != path {
			t.Errorf("%d bytes: %#v is not a *fs.PathError for %s", tc.size, err, path)
		}
	}
}

func TestReadFileDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, err := readWithin(t, dir, MaxKey)
	if !errors.Is(err, ErrNotRegular) || data != nil {
		t.Fatalf("have %q, %v; want ErrNotRegular", data, err)
	}
	if want := "read " + dir + ": not a regular file (a directory)"; err.Error() != want {
		t.Errorf("have %q, want %q", err, want)
	}
}

func TestReadFileMissing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "none")
	data, err := readWithin(t, path, MaxKey)
	if !errors.Is(err, fs.ErrNotExist) || data != nil {
		t.Fatalf("have %q, %v; want fs.ErrNotExist", data, err)
	}
	if want := "open " + path + ": no such file or directory"; err.Error() != want {
		t.Errorf("have %q, want %q, as os.ReadFile says it", err, want)
	}
}

func TestReadFileNegativeLimit(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "f", 1)
	if data, err := readWithin(t, path, -1); err == nil || !strings.HasPrefix(err.Error(), "safefile: ") || data != nil {
		t.Fatalf("have %q, %v; want an error from safefile", data, err)
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		0: "0 bytes", 1: "1 byte", 1000: "1000 bytes", 1 << 10: "1 KiB", 1536: "1536 bytes",
		64 << 10: "64 KiB", 1 << 20: "1 MiB", 16 << 20: "16 MiB", 1<<20 + 1<<10: "1025 KiB",
	} {
		if have := size(n); have != want {
			t.Errorf("size(%d) = %q, want %q", n, have, want)
		}
	}
}
