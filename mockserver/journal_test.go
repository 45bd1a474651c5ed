package mockserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// faultFiles wraps the journal's file operations: it can make any of them
// fail and records the order in which they run.
type faultFiles struct {
	mu     sync.Mutex
	fail   map[string]error // operation -> error it returns
	once   map[string]bool  // the failure happens once only
	events []string
	// hold, if set, runs before a failing write, with no lock held.
	hold func()
}

func newFaultFiles() *faultFiles {
	return &faultFiles{fail: map[string]error{}, once: map[string]bool{}}
}

// option installs the wrapper on a server.
func (ff *faultFiles) option() Option {
	return option(func(c *config) error {
		inner := defaultFileOps()
		c.files = fileOps{
			create: func(path string, data []byte, replace bool) (journalFile, error) {
				if err := ff.event("create"); err != nil {
					return nil, &os.PathError{Op: "open", Path: filepath.Join(filepath.Dir(path), ".state.tmp123"), Err: err}
				}
				f, err := inner.create(path, data, replace)
				if err != nil {
					return nil, err
				}
				return &faultFile{f, ff}, nil
			},
			adopt: func(f *os.File) journalFile { return &faultFile{inner.adopt(f), ff} },
		}
		return nil
	})
}

// set makes op fail with err from now on (err nil: succeed again).
func (ff *faultFiles) set(op string, err error) {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	delete(ff.once, op)
	if err == nil {
		delete(ff.fail, op)
	} else {
		ff.fail[op] = err
	}
}

// setOnce makes the next op fail with err.
func (ff *faultFiles) setOnce(op string, err error) {
	ff.set(op, err)
	ff.mu.Lock()
	defer ff.mu.Unlock()
	ff.once[op] = true
}

// event records op and returns the error it should fail with.
func (ff *faultFiles) event(op string) error {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	err := ff.fail[op]
	if err != nil {
		if ff.once[op] {
			delete(ff.fail, op)
			delete(ff.once, op)
		}
		op += " (fails)"
	}
	ff.events = append(ff.events, op)
	return err
}

func (ff *faultFiles) note(what string) { ff.event(what) }

// take returns the events so far and forgets them.
func (ff *faultFiles) take() []string {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	ev := ff.events
	ff.events = nil
	return ev
}

func (ff *faultFiles) count(op string) int {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	n := 0
	for _, e := range ff.events {
		if e == op || strings.HasPrefix(e, op+" ") {
			n++
		}
	}
	return n
}

type faultFile struct {
	journalFile
	ff *faultFiles
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	err := f.ff.event("write")
	if err == nil {
		return f.journalFile.WriteAt(p, off)
	}
	f.ff.mu.Lock()
	hold := f.ff.hold
	f.ff.mu.Unlock()
	if hold != nil {
		hold()
	}
	// A disk that fills up takes part of the write.
	n, _ := f.journalFile.WriteAt(p[:len(p)/2], off)
	return n, &os.PathError{Op: "write", Path: "/somewhere/.state.tmp123", Err: err}
}

func (f *faultFile) Sync() error {
	if err := f.ff.event("sync"); err != nil {
		return &os.PathError{Op: "sync", Path: "/somewhere/.state.tmp123", Err: err}
	}
	return f.journalFile.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.ff.event("truncate"); err != nil {
		return &os.PathError{Op: "truncate", Path: "/somewhere/.state.tmp123", Err: err}
	}
	return f.journalFile.Truncate(size)
}

// openFaulty opens a server with a population of the given number of
// nodes on a fresh state file, at path, whose operations ff controls, with
// the server's log going to logs. The server is closed at cleanup.
func openFaulty(t *testing.T, nodes int, opts ...Option) (s *Server, path string, ff *faultFiles, logs *syncbuf.Buffer) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "state")
	ff = newFaultFiles()
	logs = &syncbuf.Buffer{}
	opts = append([]Option{ff.option(), WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		WithPopulation(PopulationConfig{Nodes: nodes, Seed: 5})}, opts...)
	s = openState(t, path, opts...)
	t.Cleanup(func() { s.Close() })
	return s, path, ff, logs
}

// TestJournalWriteFailureRollsBack makes a write or an fsync fail: the
// call gets fault 100 and leaves no trace, reads keep answering, a write
// works again once the fault is gone, and nothing acknowledged is lost.
func TestJournalWriteFailureRollsBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		op    string
		err   error
		once  bool
		cause string
	}{
		{"write", syscall.ENOSPC, false, "no space left on device"},
		// An fsync that keeps failing fails the rollback's fsync too:
		// TestJournalRollbackFails.
		{"sync", syscall.EIO, true, "input/output error"},
	} {
		t.Run(tc.op, func(t *testing.T) {
			t.Parallel()
			s, path, ff, logs := openFaulty(t, 30)
			u := addUser(t, s, "alice")
			held := acquire(t, s, u, "wan", 2)
			before := view(t, s)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}

			fail := func() {
				if tc.once {
					ff.setOnce(tc.op, tc.err)
				} else {
					ff.set(tc.op, tc.err)
				}
			}
			fail()
			_, flt := call(t, s, "acquire_resources", auth(u), rspec("wan", int64(3)))
			wantFault(t, flt, 100, internalErrorText)
			fail()
			_, flt = call(t, s, "release_resources", auth(u), []any{held[0]})
			wantFault(t, flt, 100, internalErrorText)
			fail()
			if err := s.SetTime(t0.Add(time.Hour)); err == nil || !errors.Is(err, tc.err) ||
				!strings.Contains(err.Error(), path) || strings.Contains(err.Error(), ".tmp") {
				t.Errorf("SetTime: have %v, want an error wrapping %v that names %s and no temporary file", err, tc.err, path)
			}

			// Nothing of the failed calls is visible, reads answer, and the
			// file is back at its durable size.
			checkHeld(t, s, u, held)
			mustCall(t, s, "get_account_info", auth(u))
			compareViews(t, view(t, s), before)
			checkInvariants(t, s)
			if fi2, err := os.Stat(path); err != nil || fi2.Size() != fi.Size() {
				t.Errorf("state file size after the rollback: have %d %v, want %d", fi2.Size(), err, fi.Size())
			}
			logText := logs.String()
			if !strings.Contains(logText, "path="+path) || !strings.Contains(logText, tc.cause) || strings.Contains(logText, ".tmp") {
				t.Errorf("the log should name %s and %q, and no temporary file:\n%s", path, tc.cause, logText)
			}

			// The fault goes away: writes work and survive a restart.
			ff.set(tc.op, nil)
			held = append(held, acquire(t, s, u, "wan", 1)...)
			checkHeld(t, s, u, held)
			checkInvariants(t, reopenSame(t, s, path))
		})
	}
}

// TestJournalFailedBatch fails a write that carries several calls' records
// (group commit), with more calls queued behind it: every one of them gets
// an error and none of them leaves a trace.
//
// The failing write waits until every call has queued its record (a
// signal from the journal, not a deadline: the first write may carry one
// record or several, however the calls were scheduled), or until a call
// returns early, which the test then reports. Whatever happens, the held
// write is released before the server is closed, so that a failing test
// cannot hang the package.
func TestJournalFailedBatch(t *testing.T) {
	t.Parallel()
	s, path, ff, _ := openFaulty(t, 40)
	var users []mockapi.Account
	for i := range 6 {
		users = append(users, addUser(t, s, fmt.Sprintf("user%d", i)))
	}
	before := view(t, s)

	appended, returned, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var releaseOnce, returnOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) }) // runs before openFaulty's Close
	n, atFailure := 0, -1                                           // appends so far, and when the write failed
	s.j.mu.Lock()
	s.j.onAppend = func() {
		if n++; n == len(users) {
			close(appended)
		}
	}
	s.j.mu.Unlock()
	ff.mu.Lock()
	ff.hold = func() {
		select {
		case <-appended:
		case <-returned:
		case <-release:
		}
		s.j.mu.Lock()
		atFailure = n
		s.j.mu.Unlock()
	}
	ff.mu.Unlock()
	ff.set("write", syscall.ENOSPC)

	var wg sync.WaitGroup
	faults := make([]error, len(users))
	for i, u := range users {
		wg.Go(func() {
			_, faults[i] = s.Call(t.Context(), "acquire_resources", auth(u), rspec("wan", int64(1)))
			returnOnce.Do(func() { close(returned) })
		})
	}
	wg.Wait()
	s.j.mu.Lock()
	s.j.onAppend = nil
	s.j.mu.Unlock()
	if atFailure != len(users) {
		t.Errorf("the write failed with %d of %d calls' records queued", atFailure, len(users))
	}
	for i, err := range faults {
		if err == nil {
			t.Errorf("user%d's acquisition succeeded through a failed write", i)
		}
	}
	compareViews(t, view(t, s), before)
	checkInvariants(t, s)

	ff.set("write", nil)
	acquire(t, s, users[0], "wan", 1)
	reopenSame(t, s, path)
}

// TestJournalRollbackFails makes the rollback fail too (its truncation, or
// its fsync when fsync keeps failing): no call may see the state, reads
// included, and the log says so. While the fault stays, Close reports it
// and the file still holds what was acknowledged; once the fault goes
// away, the running server recovers by itself.
func TestJournalRollbackFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		op       string // the rollback's operation that fails
		recovers bool   // the fault goes away before Close
	}{
		{"truncate", "truncate", false},
		{"sync", "sync", false},
		{"truncate, then recovers", "truncate", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, path, ff, logs := openFaulty(t, 30)
			u := addUser(t, s, "alice")
			held := acquire(t, s, u, "wan", 1)

			ff.setOnce("write", syscall.EIO)
			ff.set(tc.op, syscall.EIO)
			_, flt := call(t, s, "acquire_resources", auth(u), rspec("wan", int64(2)))
			wantFault(t, flt, 100, internalErrorText)
			for _, method := range []string{"get_resource_info", "get_account_info", "get_resource_info", "get_resource_info"} {
				_, flt = call(t, s, method, auth(u))
				wantFault(t, flt, 100, internalErrorText)
			}
			if !strings.Contains(logs.String(), "every call fails until") {
				t.Errorf("the log does not say that calls fail:\n%s", logs.String())
			}

			if tc.recovers {
				ff.set(tc.op, nil)
				checkHeld(t, s, u, held)
				held = append(held, acquire(t, s, u, "wan", 1)...)
				checkHeld(t, reopenSame(t, s, path), u, held)
				return
			}
			if err := s.Close(); err == nil {
				t.Error("Close succeeded with a state that is not on disk")
			}
			r := openState(t, path)
			defer r.Close()
			checkHeld(t, r, u, held)
		})
	}
}

// TestJournalRollbackRestoresClock loses an Advance: the clock goes back
// to where the last durable record left it, and leases the lost Advance
// expired are held again.
func TestJournalRollbackRestoresClock(t *testing.T) {
	t.Parallel()
	for _, scale := range []float64{0, 1, 60} {
		t.Run(fmt.Sprint(scale), func(t *testing.T) {
			t.Parallel()
			src := t0
			var mu sync.Mutex
			clock := WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return src })
			s, _, ff, _ := openFaulty(t, 30, clock, WithTimeScale(scale))
			u := addUser(t, s, "alice")
			held := acquire(t, s, u, "wan", 2)
			mu.Lock()
			src = src.Add(time.Second)
			mu.Unlock()
			want := s.Now()
			ff.set("write", syscall.ENOSPC)
			if err := s.Advance(30 * 24 * time.Hour); err == nil {
				t.Fatal("Advance succeeded through a failed write")
			}
			ff.set("write", nil)
			if have := s.Now(); !have.Equal(want) {
				t.Errorf("clock after the rollback: have %v, want %v", have, want)
			}
			checkHeld(t, s, u, held)
		})
	}
}

// TestJournalRollbackKeepsTimeScale changes the time scale and then loses
// a write: the rollback must not run the time since the last durable
// record again at the new scale. A change of scale whose own write is lost
// is undone.
func TestJournalRollbackKeepsTimeScale(t *testing.T) {
	t.Parallel()
	src := t0
	var mu sync.Mutex
	clock := WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return src })
	s, _, ff, _ := openFaulty(t, 30, clock)
	u := addUser(t, s, "alice")
	held := acquire(t, s, u, "wan", 2)
	mu.Lock()
	src = src.Add(time.Hour)
	mu.Unlock()
	must(t, s.SetTimeScale(MaxTimeScale))
	want := s.Now()
	ff.set("write", syscall.ENOSPC)
	_, flt := call(t, s, "acquire_resources", auth(u), rspec("wan", int64(1)))
	wantFault(t, flt, 100, internalErrorText)
	ff.set("write", nil)
	if have := s.Now(); !have.Equal(want) {
		t.Errorf("clock after the rollback: have %v, want %v", have, want)
	}
	if have := s.TimeScale(); have != MaxTimeScale {
		t.Errorf("time scale after the rollback: have %v, want %v", have, MaxTimeScale)
	}
	checkHeld(t, s, u, held)

	// A change of scale whose own write fails is undone with it.
	ff.set("write", syscall.ENOSPC)
	if err := s.SetTimeScale(1); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("SetTimeScale through a failed write: have %v, want ENOSPC", err)
	}
	ff.set("write", nil)
	if have := s.TimeScale(); have != MaxTimeScale {
		t.Errorf("time scale after a lost SetTimeScale: have %v, want %v", have, MaxTimeScale)
	}
	if have := s.Now(); !have.Equal(want) {
		t.Errorf("clock after a lost SetTimeScale: have %v, want %v", have, want)
	}
}

// TestJournalSyncBeforeAnswer records the file operations of a mutating
// call: its record is written and fsynced before the call answers. A call
// that changes nothing does no I/O.
func TestJournalSyncBeforeAnswer(t *testing.T) {
	t.Parallel()
	s, _, ff, _ := openFaulty(t, 30)
	u := addUser(t, s, "alice")
	ff.take()
	acquire(t, s, u, "wan", 1)
	ff.note("answer")
	mustCall(t, s, "get_resource_info", auth(u))
	ff.note("answer")
	if have, want := ff.take(), []string{"write", "sync", "answer", "answer"}; !slices.Equal(have, want) {
		t.Fatalf("file operations: have %q, want %q", have, want)
	}
}

// TestJournalCompactionBackoff makes compaction fail for lack of space: the
// old file stays in use with everything in it, and compaction is not tried
// on every call but once the journal has grown further or time has passed.
func TestJournalCompactionBackoff(t *testing.T) {
	t.Parallel()
	const threshold = 4096
	s, path, ff, logs := openFaulty(t, 40, withCompactBytes(threshold))
	var mu sync.Mutex
	now := time.Now()
	s.j.mu.Lock()
	s.j.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s.j.mu.Unlock()
	u := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.FreeCredits = 1000 })
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ff.take()
	ff.set("create", syscall.ENOSPC)
	size := func() int64 {
		s.j.mu.Lock()
		defer s.j.mu.Unlock()
		return s.j.size - s.j.base
	}
	// Grow past the threshold: one attempt, which fails.
	for size() <= threshold {
		acquire(t, s, u, "wan", 1)
	}
	if n := ff.count("create"); n != 1 {
		t.Fatalf("%d compaction attempts after passing the threshold, want 1", n)
	}
	if !strings.Contains(logs.String(), "path="+path) || strings.Contains(logs.String(), ".tmp") {
		t.Errorf("the log should name %s, not a temporary file:\n%s", path, logs.String())
	}
	// Less than half a threshold more: no new attempt.
	for start := size(); size() < start+threshold/4; {
		acquire(t, s, u, "wan", 1)
	}
	if n := ff.count("create"); n != 1 {
		t.Fatalf("%d compaction attempts while backing off, want 1", n)
	}
	// Half a threshold more: another attempt.
	for start := size(); size() < start+threshold/2 && ff.count("create") == 1; {
		acquire(t, s, u, "wan", 1)
	}
	if n := ff.count("create"); n != 2 {
		t.Fatalf("%d compaction attempts after the journal grew by half the threshold, want 2", n)
	}
	// Time passes: another attempt on the next call.
	mu.Lock()
	now = now.Add(compactRetryDelay)
	mu.Unlock()
	acquire(t, s, u, "wan", 1)
	if n := ff.count("create"); n != 3 {
		t.Fatalf("%d compaction attempts after %v, want 3", n, compactRetryDelay)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("the state file was replaced though every compaction failed")
	}
	// The old file holds everything; once there is space, compaction works.
	want := view(t, s)
	r := openCopy(t, path)
	compareViews(t, view(t, r), want)
	r.Close()
	ff.set("create", nil)
	mu.Lock()
	now = now.Add(compactRetryDelay)
	mu.Unlock()
	acquire(t, s, u, "wan", 1)
	if n := size(); n != 0 {
		t.Fatalf("%d bytes after the snapshot after a successful compaction, want 0", n)
	}
	reopenSame(t, s, path)
}

// TestOpenRemovesLeftoverTemps leaves the temporary files of a compaction
// that was killed: Open removes them, but only once it holds the lock.
func TestOpenRemovesLeftoverTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))
	leftover := filepath.Join(dir, ".state.tmp12345")
	other := filepath.Join(dir, ".other.tmp1")
	for _, p := range []string{leftover, other} {
		if err := os.WriteFile(p, []byte("half a snapshot"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Held by s: a refused Open must not touch what may be s's own
	// compaction in progress.
	if _, err := Open(context.Background(), path, frozen(t0)...); !errors.Is(err, ErrStateLocked) {
		t.Fatalf("have %v, want ErrStateLocked", err)
	}
	if _, err := os.Stat(leftover); err != nil {
		t.Fatalf("a refused Open removed a temporary file: %v", err)
	}
	reopen(t, s, path)
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover temporary file still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file's temporary file was removed: %v", err)
	}
}
