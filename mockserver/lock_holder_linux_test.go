package mockserver

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLockHolder locks a file here: /proc/locks names this process, for
// another open file of the same file too, and no one for a file no one
// locked. hasOpen, the check for file systems whose /proc/locks device
// differs from stat's, finds this process's open file and no other.
func TestLockHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "locked")
	other := filepath.Join(dir, "other")
	for _, p := range []string{path, other} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	held, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	must(t, flock(held, syscall.LOCK_EX|syscall.LOCK_NB))
	probe, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	if pid := lockHolder(probe); pid != os.Getpid() {
		t.Errorf("holder of a file locked here: have %d, want %d", pid, os.Getpid())
	}
	free, err := os.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	defer free.Close()
	if pid := lockHolder(free); pid != 0 {
		t.Errorf("holder of a file no one locked: have %d, want 0", pid)
	}
	fi, err := held.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if !hasOpen(os.Getpid(), fi) {
		t.Error("hasOpen does not find a file this process has open")
	}
	must(t, free.Close())
	ofi, err := os.Stat(other)
	if err != nil {
		t.Fatal(err)
	}
	if hasOpen(os.Getpid(), ofi) {
		t.Error("hasOpen finds a file this process closed")
	}
}
