package mockserver

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// mountTinyTmpfs mounts a tmpfs of the given size on a fresh directory
// and unmounts it when the test ends. It skips the test when it cannot,
// CI included (the documented exception testskip.NoTmpfs): mounting needs
// root (the development machine runs tests as root; CI runners usually do
// not, and TestJournalWriteFailureRollsBack covers the same ground with
// injected errors there).
func mountTinyTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testskip.NoTmpfs.Skipf(t, "mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		testskip.NoTmpfs.Skipf(t, "mount refused: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return
		}
	}
}

// TestDiskFullTmpfs really fills the state file's disk: a write must fail
// with fault 100 and leave no trace, reads must keep working, writes must
// work again once there is space, and nothing acknowledged may be lost.
// The compaction threshold is tiny, so compaction fails on the full disk
// too and must leave the old file in use and no temporary file behind.
func TestDiskFullTmpfs(t *testing.T) {
	t.Parallel()
	dir := mountTinyTmpfs(t, "256k")
	path := filepath.Join(dir, "state")
	logs := &syncbuf.Buffer{}
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 40, Seed: 3}), withCompactBytes(1024),
		WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	defer s.Close()
	u := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.FreeCredits = 1000 })

	filler := filepath.Join(dir, "filler")
	fill(t, filler)

	// Acknowledged holdings; calls until one fails (the state file's last
	// page may still have room for a few records).
	var held []string
	failed := false
	calls := 0
	for i := 0; i < 500 && !failed; i++ {
		calls++
		res, flt := call(t, s, "acquire_resources", auth(u), rspec("wan", int64(1)))
		if flt != nil {
			wantFault(t, flt, 100, internalErrorText)
			failed = true
			break
		}
		hs := handlesOf(t, res)
		held = append(held, hs...)
		if i%2 == 1 {
			if _, flt := call(t, s, "release_resources", auth(u), []any{hs[0]}); flt != nil {
				wantFault(t, flt, 100, internalErrorText)
				failed = true
				break
			}
			held = slices.DeleteFunc(held, func(h string) bool { return h == hs[0] })
		}
	}
	if !failed {
		t.Fatal("500 calls on a full disk all succeeded; the test proves nothing")
	}
	t.Logf("the disk was full after %d acquisitions", calls)
	logText := logs.String()
	if !strings.Contains(logText, path) || strings.Contains(logText, ".tmp") {
		t.Errorf("the log should name the state file %s, not a temporary file:\n%s", path, logText)
	}
	if !strings.Contains(logText, "compacting the state file failed") {
		t.Errorf("no compaction was tried on the full disk:\n%s", logText)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 { // state, filler
		t.Errorf("files left in the state directory: %v", entries)
	}

	// Reads keep working and show exactly the acknowledged holdings.
	checkHeld(t, s, u, held)
	// A write still fails while the disk is full, and is not acknowledged.
	if _, err := s.Call(t.Context(), "acquire_resources", auth(u), rspec("wan", int64(1))); err == nil {
		// The failed call's rollback may have freed a page; that is fine.
		t.Log("a write succeeded on the full disk after the rollback")
		res := mustCall(t, s, "get_resource_info", auth(u))
		held = nil
		for _, v := range res.([]any) {
			held = append(held, v.(map[string]any)["handle"].(string))
		}
	}
	checkHeld(t, s, u, held)

	// Space comes back: writes work again and survive a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	held = append(held, acquire(t, s, u, "wan", 2)...)
	checkHeld(t, s, u, held)
	r := reopen(t, s, path)
	checkHeld(t, r, u, held)
	checkInvariants(t, r)
}
