package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		perm fs.FileMode
		old  string // "" for no file before
	}{
		{"new file", 0o600, ""},
		{"replaces a file", 0o644, "old contents, longer than the new ones\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			if tc.old != "" {
				if err := os.WriteFile(path, []byte(tc.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(path, []byte("new\n"), tc.perm); err != nil {
				t.Fatal(err)
			}
			checkRegular(t, path, "new\n", tc.perm)
			checkOnlyEntries(t, dir, "out")
		})
	}
}

// TestWriteReplacesSymlink plants a symbolic link at the target: the link
// is replaced by a regular file and its target is never written.
func TestWriteReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"link-to-victim", "dangling-link"} {
		path := filepath.Join(dir, name)
		target := victim
		if name == "dangling-link" {
			target = filepath.Join(dir, "would-be-created")
		}
		if err := os.Symlink(target, path); err != nil {
			if runtime.GOOS == "windows" {
				testskip.Platform.Skipf(t, "making a symbolic link needs a privilege on Windows: %v", err)
			}
			t.Fatal(err)
		}
		if err := Write(path, []byte("new\n"), 0o600); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkRegular(t, path, "new\n", 0o600)
	}
	checkRegular(t, victim, "precious\n", 0o644)
	checkOnlyEntries(t, dir, "dangling-link", "link-to-victim", "victim")
}

func TestWriteRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	checkRefused(t, sub)
	checkOnlyEntries(t, dir, "sub")
}

func checkRefused(t *testing.T, path string) {
	t.Helper()
	err := Write(path, []byte("x"), 0o600)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), path) {
		t.Errorf("%s: have %v, want a refusal naming the path", path, err)
	}
}

func TestWriteErrorNamesTarget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "out")
	err := Write(path, []byte("x"), 0o600)
	if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), ".tmp") {
		t.Fatalf("have %v, want an error naming %s and no temporary file", err, path)
	}
	if !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
		t.Errorf("have %v, want the cause kept", err)
	}
}

func TestCreateReturnsAppendableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	f, err := Create(path, []byte("head\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("tail\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkRegular(t, path, "head\ntail\n", 0o600)
}

func TestIsTemp(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{".state.tmp123", true},
		{".state.tmp0", true},
		{".state.tmp", false},
		{".state.tmp12x", false},
		{"state.tmp123", false},
		{".state.lock.tmp1", false},
		{".other.tmp1", false},
	} {
		if have := IsTemp("/x/state", tc.name); have != tc.want {
			t.Errorf("IsTemp(%q): have %v, want %v", tc.name, have, tc.want)
		}
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	for _, name := range []string{"state", ".state.tmp1", ".state.tmp42", ".state.tmpx", ".other.tmp1"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".state.tmp7"), 0o700); err != nil {
		t.Fatal(err)
	}
	removed, err := RemoveTemps(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, ".state.tmp1"), filepath.Join(dir, ".state.tmp42")}
	slices.Sort(removed)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	checkOnlyEntries(t, dir, ".other.tmp1", ".state.tmp7", ".state.tmpx", "state")
}

func checkRegular(t *testing.T, path, content string, perm fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != perm {
		t.Errorf("%s: have mode %v, want a regular file with %v", path, fi.Mode(), perm)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != content {
		t.Errorf("%s: have %q %v, want %q", path, data, err, content)
	}
}

func checkOnlyEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, e := range entries {
		have = append(have, e.Name())
	}
	if !slices.Equal(have, want) {
		t.Errorf("directory holds %q, want %q", have, want)
	}
}

// TestCreateLocked: lock sees the whole new file before the target's path
// does; without replace an existing target is kept and the call fails
// with fs.ErrExist; a failing lock fails the call. No temporary file is
// left in any case.
func TestCreateLocked(t *testing.T) {
	for _, tc := range []struct {
		name    string
		old     string // "" for no file before
		replace bool
		lockErr error
		want    string // the target's contents after
		wantErr error
	}{
		{"new file", "", false, nil, "new\n", nil},
		{"replaces", "old\n", true, nil, "new\n", nil},
		{"keeps an existing file", "old\n", false, nil, "old\n", fs.ErrExist},
		{"lock fails", "old\n", true, fs.ErrPermission, "old\n", fs.ErrPermission},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			if tc.old != "" {
				if err := os.WriteFile(path, []byte(tc.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			locked := false
			lock := func(f *os.File) error {
				locked = true
				if data, err := os.ReadFile(f.Name()); err != nil || string(data) != "new\n" {
					t.Errorf("lock saw %q %v, want the whole new file", data, err)
				}
				if data, err := os.ReadFile(path); string(data) != tc.old || tc.old == "" && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the target was %q %v when lock ran, want %q", data, err, tc.old)
				}
				return tc.lockErr
			}
			f, err := CreateLocked(path, []byte("new\n"), 0o600, lock, tc.replace)
			if f != nil {
				f.Close()
			}
			if !locked {
				t.Error("lock was not called")
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("have %v, want %v", err, tc.wantErr)
			}
			if err != nil && (!strings.Contains(err.Error(), path) || strings.Contains(err.Error(), ".tmp")) {
				t.Errorf("error %q should name %s and no temporary file", err, path)
			}
			checkRegular(t, path, tc.want, 0o600)
			checkOnlyEntries(t, dir, "out")
		})
	}
}
