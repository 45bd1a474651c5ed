package mockserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
)

// Server is a stateful mock Seattle Clearinghouse. All its methods are safe
// for concurrent use; every wire call and every control runs atomically
// under one mutex.
type Server struct {
	mu     sync.Mutex
	st     *state
	clock  clock
	cfg    config
	log    *slog.Logger
	admin  bool
	j      *journal   // nil without a state file
	lock   *stateLock // nil without a state file
	closed bool
	watch  *watch // the behaviour report's record; guarded by mu

	faults *faultEngine // the fault profile (faults.go), wire layer

	// The node managers (nm*.go): nmNet is nil when they are off.
	nmAddr     nmAddressing
	nmNet      *nmNet
	nmVersions uint64 // guarded by mu; see nmState.versions

	// Reserved for the XML-RPC endpoint (http.go), built on first use.
	httpOnce    sync.Once
	httpHandler http.Handler
}

// New returns an in-memory Server populated per the options
// (DefaultPopulation unless WithPopulation says otherwise), or the error of
// the first invalid option. It does no I/O; it is Open without a state
// file and without a way to cancel generating the population (which takes
// seconds only for populations far above the default).
func New(opts ...Option) (*Server, error) {
	return Open(context.Background(), "", opts...)
}

// Open returns a Server backed by the state file at path, or an in-memory
// one if path is empty.
//
// If the file does not exist it is created with the population the options
// describe. If it exists it is authoritative: accounts, keys, nodes,
// vessels, donations and absolute expiry times come from it and the
// population options are ignored. With a time scale of 1 the clock is the
// (offset-adjusted) wall clock, so leases keep running out while the server
// is down; with any other scale it resumes from the reading last saved. A
// damaged file is an error matching ErrCorruptState that names the record
// and its byte offset, and the file is left exactly as it was; only what a
// crash leaves after the last acknowledged record (the start of a record
// whose write it cut short, and zero bytes) is dropped.
//
// Every mutating call on a file-backed server is durable before it returns.
// Close flushes and compacts the file.
//
// Open gives up, with ctx's error, once ctx is done while it generates the
// population (which takes seconds for the largest, MaxPopulation) or
// replays the state file; the file is then left as it was.
//
// Only one Server at a time may have a state file open: Open locks it
// until Close, and an Open of a locked file, in this process or another,
// fails with an error matching ErrStateLocked that names the path it was
// given and, on Linux, the holder's process ID. On Linux, macOS and the
// BSDs the lock is an flock(2) lock on the file itself, which the system
// drops when the holder dies: every name of the file is refused, hard
// links made before or after Open included, and a compaction moves the
// lock to the new file before it takes the path (the old one stays locked
// while it has another name). Elsewhere (Windows, Plan 9, WebAssembly,
// Solaris, illumos, AIX) the lock is a file <path>.lock, created
// exclusively and removed by Close: it guards that one name only, and a
// holder that dies without Close leaves it, to be deleted by hand. A path
// that is a symbolic link, or not a regular file, is refused.
func Open(ctx context.Context, path string, opts ...Option) (*Server, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.logger,
		admin: cfg.admin,
		clock: newClock(cfg.source, cfg.scale),
		watch: newWatch(),
	}
	s.faults = newFaultEngine(cfg.faults)
	if cfg.nodeManagers {
		s.nmAddr = newAddressing(cfg.nmLoopOnly)
		s.nmNet = newNMNet(s, s.nmAddr.loopOnly)
		s.log.Info("mockserver: " + s.nmStartup())
	}
	if path == "" {
		if s.st, err = s.freshState(ctx); err != nil {
			return nil, err
		}
		return s, nil
	}
	if err := s.openFile(ctx, path); err != nil {
		return nil, err
	}
	// Vessels held in the file have their nodes listen from the start.
	s.mu.Lock()
	s.nmBeginLocked()
	s.mu.Unlock()
	return s, nil
}

// freshState builds the state the configuration describes: the generated
// population, no accounts.
func (s *Server) freshState(ctx context.Context) (*state, error) {
	st := newState(s.cfg.seed)
	st.cleanupDelay = int64(s.cfg.cleanupDelay)
	st.failRate = s.cfg.failRate
	if err := st.generatePopulation(ctx, s.cfg.population); err != nil {
		return nil, err
	}
	return st, nil
}

// Close makes the state durable, compacts the state file and closes it,
// releasing its lock. A compaction that fails (for lack of space, say) is
// logged and leaves the complete journal in place, so it is no error; the
// error says that the state may not be durable. Calls made after Close
// fail. Close on a Server without a state file only
// stops it. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	j := s.j
	s.mu.Unlock()
	s.faults.close()
	if s.nmNet != nil {
		s.nmNet.close()
	}
	if j == nil {
		return nil
	}
	// A compaction that fails leaves the journal, complete, in use: it
	// is logged, not an error.
	_ = j.compact(s, true)
	err := j.close()
	if cerr := s.lock.release(); err == nil {
		err = cerr
	}
	return err
}

// ErrClosed is returned by controls called after Close.
var ErrClosed = errors.New("mockserver: server closed")

// update runs fn with the state lock held, at the current mock time and
// after applying expiry and cleanup up to it. With a state file it then
// waits, without the lock, until everything fn changed (and everything any
// earlier call changed) is on disk. It returns fn's error, or the journal's
// if the changes were lost, which also rolls back the state.
func (s *Server) update(fn func(st *state, now int64) error) error {
	e, err := s.locked(fn)
	if s.j == nil || e == nil {
		return err
	}
	if jerr := s.j.wait(e); jerr != nil {
		return jerr
	}
	if s.j.needsCompaction() {
		// A failed compaction is logged; the old file stays in use and
		// this call's record is already durable.
		_ = s.j.compact(s, false)
	}
	return err
}

// locked runs fn under the state lock and returns the journal entry the
// caller must wait for (nil if none).
func (s *Server) locked(fn func(st *state, now int64) error) (e *entry, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.j != nil {
		// After a failed write whose rollback failed too, the state
		// holds changes that are not on disk: no call may see them.
		if err := s.j.recoverLocked(); err != nil {
			return nil, err
		}
	}
	s.nmBeginLocked()
	now := s.clock.now()
	st := s.st
	st.watch, st.authed = s.watch, noOne
	st.advance(now)
	defer func() {
		s.nmEndLocked()
		if st.authed != noOne {
			s.watch.activity(st.accounts[st.authed].name, now)
			st.authed = noOne
		}
		// Even a failed call (or a panicking one) may have changed the
		// state, such as vessels left dirty by an acquisition rollback.
		// The record carries the clock as fn left it: Advance and SetTime
		// move it.
		e = s.commitLocked(s.clock.now())
	}()
	return nil, fn(st, now)
}

// commitLocked appends a journal record for the changes made under the
// lock, if any, and returns the entry the caller must wait for: its own,
// or for a call that changed nothing, the last one not yet durable.
func (s *Server) commitLocked(now int64) *entry {
	if s.j == nil {
		return nil
	}
	c := s.st.changes
	if c.empty() {
		return s.j.pendingTail()
	}
	var rec []byte
	if c.full {
		rec = encodeSnapshot(s.st, now, s.clock.offset())
	} else {
		rec = encodeDelta(s.st, c, now, s.clock.offset())
	}
	s.st.changes = newChanges()
	return s.j.append(rec, s.clock.anchors())
}
