package mockserver

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"
)

// The journal appends records to the state file (format: persist.go).
//
// A mutating call appends its record and waits until it is durable: the
// first waiter to find no I/O in progress writes every pending record with
// one write and one fsync (group commit), and the others wait for it.
//
// A write or fsync that fails loses the records of that batch and of every
// call queued behind them, whose state they build on. Their callers get an
// error, none of them is acknowledged, and the server rolls back: it cuts
// the file back to its last durable size, fsyncs it, and rebuilds its state
// (and its clock) by replaying the file, as if the lost calls had never
// happened. Calls that follow work again as soon as the disk does: a full
// disk makes writes fail while reads keep answering, and writes succeed
// once there is space. A read that raced with the failure, having seen the
// lost changes, gets an error too.
//
// If fsync fails, nothing is known about what of the batch reached the
// disk (Linux may even drop the dirty pages and report the error only
// once), so the batch is treated as lost, never retried: the truncation and
// a fresh fsync make the file its durable prefix again. If the rollback
// fails as well (the truncation, its fsync or the re-read), the server is
// "broken": every call fails, without touching the state, until a later
// call's attempt to roll back succeeds. A crash while broken can leave the
// lost records in the file, where the next Open finds them; they were
// never acknowledged, which makes them like a call in flight at a crash.
//
// Compaction that fails (for lack of space, say) leaves the old file in
// use, with nothing lost, and is not tried again until the journal has
// grown by another half of the threshold or compactRetryDelay has passed.

// compactRetryDelay is how long a failed compaction waits, at most, before
// it is tried again.
const compactRetryDelay = time.Minute

// journalFile is what the journal needs of its open state file. Its
// Close releases the file's lock (lock_flock.go).
type journalFile interface {
	WriteAt(p []byte, off int64) (int, error)
	ReadAt(p []byte, off int64) (int, error)
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Close() error
}

// fileOps are the journal's file operations. Tests replace them to inject
// failures (ENOSPC, EIO) and to record the order of writes, fsyncs and
// answers.
type fileOps struct {
	// create atomically puts a new file holding data, locked, at path,
	// replacing the file there or, unless replace, failing with an error
	// matching fs.ErrExist if there is one; and returns it open for
	// appending.
	create func(path string, data []byte, replace bool) (journalFile, error)
	// adopt wraps a state file that Open found, opened and locked.
	adopt func(f *os.File) journalFile
}

func defaultFileOps() fileOps {
	return fileOps{create: createStateFile, adopt: adoptStateFile}
}

// entry is one record on its way to the disk.
type entry struct {
	seq   uint64
	data  []byte
	clock clockAnchors // the server's clock when the record was made
	state entryState
	err   error // why the record was lost
}

type entryState uint8

const (
	pending entryState = iota
	durable
	lost
)

func (e *entry) lose(err error) {
	if e.state == pending {
		e.state, e.err = lost, err
	}
}

// journal is a state file being appended to.
type journal struct {
	path string
	srv  *Server // for the rollback, which replaces the server's state
	ops  fileOps
	log  *slog.Logger
	now  func() time.Time // real time, for the compaction back-off

	compactBytes int64
	version      int // the file's format (persist.go); compaction writes format 2

	mu      sync.Mutex
	cond    *sync.Cond
	f       journalFile
	retired []journalFile // files compaction replaced, kept for their locks (retire)
	pending []*entry
	seq     uint64 // last record appended
	tail    *entry // last record appended
	busy    bool   // a goroutine is writing, compacting or rolling back
	broken  error  // a rollback failed: no call may see the state
	size    int64  // durable bytes in the file
	base    int64  // bytes in the file after its snapshot
	bulk    int64  // bytes of node manager files and logs in that snapshot, as written
	clock   clockAnchors
	// Compaction back-off after a failure.
	retrySize int64
	retryAt   time.Time

	onAppend func() // for tests: runs after each append, with mu held
}

func newJournal(s *Server, path string, f journalFile, size int64) *journal {
	j := &journal{
		path: path, srv: s, ops: s.cfg.files, log: s.log, now: time.Now,
		compactBytes: s.cfg.compactBytes, version: 2,
		f: f, size: size, base: size,
	}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// fileErr names the state file and the step in an error from a file
// operation, and drops the name an *fs.PathError carries, which may be a
// temporary file's.
func fileErr(what, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("mockserver: %s state file %s: %w", what, path, err)
}

// append queues a record and returns its entry. It is called with the
// state lock held, so records are in the order of the calls.
func (j *journal) append(data []byte, clock clockAnchors) *entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e := &entry{seq: j.seq, data: data, clock: clock}
	j.pending = append(j.pending, e)
	j.tail = e
	if j.onAppend != nil {
		j.onAppend()
	}
	return e
}

// pendingTail returns the last record appended if it is not yet durable,
// or nil. A call that changed nothing waits for it: what it saw must not
// be answered before it is on disk. It is called with the state lock held.
func (j *journal) pendingTail() *entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.tail != nil && j.tail.state == pending {
		return j.tail
	}
	return nil
}

// wait returns once e is on disk, or the error that lost it.
func (j *journal) wait(e *entry) error {
	if e == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		switch e.state {
		case durable:
			return nil
		case lost:
			return e.err
		}
		if j.busy {
			j.cond.Wait()
			continue
		}
		if len(j.pending) == 0 {
			// Cannot happen: a pending entry is queued or being written.
			return fmt.Errorf("mockserver: state file %s: record %d vanished", j.path, e.seq)
		}
		j.flushLocked()
	}
}

// flushLocked writes the pending records. It is called with j.mu held and
// not busy, and releases it during the I/O. If the write fails it rolls
// the server back (taking the state lock) and returns the error.
func (j *journal) flushLocked() error {
	if len(j.pending) == 0 {
		return nil
	}
	j.busy = true
	defer j.cond.Broadcast()
	batch := j.pending
	j.pending = nil
	off := j.size
	j.mu.Unlock()
	var buf []byte
	for _, e := range batch {
		if j.version == 1 {
			buf = appendFrameV1(buf, e.data)
		} else {
			buf = appendFrame(buf, e.data)
		}
	}
	_, err := j.f.WriteAt(buf, off)
	if err != nil {
		err = fileErr("writing", j.path, err)
	} else if err = j.f.Sync(); err != nil {
		err = fileErr("syncing", j.path, err)
	}
	if err == nil {
		j.mu.Lock()
		j.busy = false
		j.size += int64(len(buf))
		for _, e := range batch {
			e.state = durable
		}
		j.clock = batch[len(batch)-1].clock
		return nil
	}
	j.log.Error("mockserver: a write to the state file failed; the calls it carried fail and the server rolls back",
		"path", j.path, "err", err)
	// Lock order: the state lock, then j.mu.
	j.srv.mu.Lock()
	j.mu.Lock()
	for _, e := range batch {
		e.lose(err)
	}
	j.rollbackLocked(err)
	j.busy = false
	j.srv.mu.Unlock()
	return err
}

// rollbackLocked loses every record not yet durable, with cause, and
// rebuilds the server's state from the file. It is called with the state
// lock and j.mu held and no other I/O in flight. If the rollback fails the
// journal is broken until a later one succeeds.
func (j *journal) rollbackLocked(cause error) {
	for _, e := range j.pending {
		e.lose(cause)
	}
	j.pending = nil
	if err := j.srv.reloadLocked(); err != nil {
		j.broken = fmt.Errorf("mockserver: state file %s: rolling back after a failed write: %w", j.path, err)
		j.log.Error("mockserver: rolling back to the state file failed; every call fails until it succeeds",
			"path", j.path, "err", err)
		return
	}
	j.broken = nil
	j.log.Warn("mockserver: rolled back to the last durable state in the state file", "path", j.path, "bytes", j.size)
}

// recoverLocked retries a failed rollback. It is called with the state
// lock held, before a call looks at the state, and returns an error while
// the state cannot be trusted.
func (j *journal) recoverLocked() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken == nil || j.busy {
		return j.broken
	}
	j.rollbackLocked(j.broken)
	return j.broken
}

// needsCompaction reports whether the records after the last snapshot have
// grown past the threshold, or past the node managers' files and logs in
// that snapshot if those are larger (so that they are rewritten at most
// once per as many bytes appended), and a recent failure does not hold it
// back.
func (j *journal) needsCompaction() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.broken == nil && !j.busy && j.compactDueLocked()
}

func (j *journal) compactDueLocked() bool {
	if j.size-j.base <= max(j.compactBytes, j.bulk) {
		return false
	}
	return j.retryAt.IsZero() || j.size >= j.retrySize || !j.now().Before(j.retryAt)
}

// compact replaces the state file with a fresh snapshot. The state lock is
// held only while the snapshot is encoded. A failed compaction leaves the
// old file in use, with every record in it, and holds back the next
// attempt. Unless always is set, it does nothing if compaction is not due
// (another one got there first, or a failure holds it back).
func (j *journal) compact(s *Server, always bool) error {
	j.mu.Lock()
	for j.busy {
		j.cond.Wait()
	}
	if j.broken != nil {
		defer j.mu.Unlock()
		return j.broken
	}
	if !always && !j.compactDueLocked() {
		j.mu.Unlock()
		return nil
	}
	// Bring the old file up to date first, so a failed compaction loses
	// nothing.
	if err := j.flushLocked(); err != nil {
		j.mu.Unlock()
		return err
	}
	j.busy = true
	j.mu.Unlock()

	s.mu.Lock()
	now := s.clock.now()
	snap := encodeSnapshot(s.st, now, s.clock.offset())
	bulk := s.st.nmBulk()
	clock := s.clock.anchors()
	j.mu.Lock()
	upTo := j.seq // every record so far is in the snapshot
	j.mu.Unlock()
	s.mu.Unlock()

	buf := appendFrame([]byte(fileMagic), snap)
	f, err := j.ops.create(j.path, buf, true)

	j.mu.Lock()
	defer j.mu.Unlock()
	j.busy = false
	defer j.cond.Broadcast()
	if err != nil {
		err = fileErr("compacting", j.path, err)
		j.retrySize = j.size + j.compactBytes/2
		j.retryAt = j.now().Add(compactRetryDelay)
		j.log.Warn("mockserver: compacting the state file failed; the old one stays in use",
			"path", j.path, "err", err, "retry_after", compactRetryDelay)
		return err
	}
	old := j.f
	j.f = f
	j.version = 2
	j.size, j.base, j.bulk = int64(len(buf)), int64(len(buf)), bulk
	j.clock = clock
	j.retrySize, j.retryAt = 0, time.Time{}
	// Records newer than the snapshot stay queued for the new file.
	kept := j.pending[:0]
	for _, e := range j.pending {
		if e.seq <= upTo {
			e.state = durable
		} else {
			kept = append(kept, e)
		}
	}
	j.pending = kept
	j.retire(old)
	return nil
}

// retire closes a state file that compaction replaced, unless another name
// still links it: then it stays open, and locked, while the server runs,
// so that no server opens it by that name and appends to a journal that
// has moved on. It is called with j.mu held.
func (j *journal) retire(old journalFile) {
	if !stillLinked(old) {
		old.Close()
		return
	}
	j.retired = append(j.retired, old)
	j.log.Info("mockserver: the state file compaction replaced has another name; it stays locked while the server runs",
		"path", j.path)
}

// close flushes what is pending and closes the file.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.busy {
		j.cond.Wait()
	}
	err := j.flushLocked()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	for _, f := range j.retired {
		f.Close()
	}
	j.retired = nil
	if j.broken != nil {
		return j.broken
	}
	return err
}
