//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mockserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// stateLock is an flock(2) lock on <state>.lock, held for as long as the
// Server is open and released by Close or by the process's death, however
// it dies. flock locks belong to an open file description, so a second
// Open in the same process, which opens the lock file again, conflicts
// with the first just as another process does. (On Linux an NFS mount
// emulates flock with POSIX locks, which a process cannot conflict with
// itself on: there only other processes are kept out.)
//
// The lock file is never removed: removing it while another process waits
// to lock it would let a third process lock a new file of the same name.
type stateLock struct {
	f *os.File
}

func lockState(statePath string) (*stateLock, error) {
	lp := lockPath(statePath)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("mockserver: lock file %s is a symbolic link; refusing to use it", lp)
	}
	if err != nil {
		return nil, fmt.Errorf("mockserver: locking state file %s: %w", statePath, err)
	}
	fail := func(err error) (*stateLock, error) {
		f.Close()
		return nil, err
	}
	if fi, err := f.Stat(); err != nil {
		return fail(fmt.Errorf("mockserver: locking state file %s: %w", statePath, err))
	} else if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("mockserver: lock file %s is not a regular file", lp))
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		holder, _ := io.ReadAll(io.LimitReader(f, 32))
		return fail(lockedError(statePath, string(holder), ""))
	}
	if err != nil {
		return fail(fmt.Errorf("mockserver: locking state file %s: %w", statePath, err))
	}
	// Informational only: no fsync, and a crash leaving a stale number is
	// harmless because the lock, not the number, is what counts.
	if err := f.Truncate(0); err == nil {
		f.WriteAt(pidLine(os.Getpid()), 0)
	}
	return &stateLock{f: f}, nil
}

// release unlocks the state file. It unlocks explicitly before closing:
// a child process that this one is forking at that moment shares the open
// file description until it execs, and closing alone would leave the lock
// held until then.
func (l *stateLock) release() error {
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
