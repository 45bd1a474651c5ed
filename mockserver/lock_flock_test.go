//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mockserver

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLockAtPath: a file locked after a compaction replaced it, or after
// it was removed, is not the state file any more, and lockState must
// start over.
func TestLockAtPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !atPath(f, path) {
		t.Fatal("the file at the path is not at the path")
	}
	linked := filepath.Join(dir, "linked")
	must(t, os.Link(path, linked))
	replacement := filepath.Join(dir, "new")
	if err := os.WriteFile(replacement, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, os.Rename(replacement, path))
	if atPath(f, path) {
		t.Error("a replaced file is still taken for the file at the path")
	}
	if !atPath(f, linked) || !stillLinked(adoptStateFile(f)) {
		t.Error("the replaced file is not taken for the file at its other name")
	}
	must(t, os.Remove(linked))
	if atPath(f, linked) || stillLinked(adoptStateFile(f)) {
		t.Error("a file with no name left is taken for a state file")
	}
}
