//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package mockserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// stateLock is, on platforms without flock(2) in package syscall (Windows,
// Plan 9, WebAssembly, Solaris, illumos, AIX), a best-effort lock: the lock
// file is created with O_EXCL and removed by Close. It keeps a second
// server, in this process or another, off the file while the first runs.
// A process that dies without Close (killed, crashed, power lost) leaves
// the lock file behind, and Open then refuses the state file until someone
// who knows that no server uses it deletes <state>.lock; the error says so.
// A stale lock that needs a human is preferred to no lock, which would let
// two servers silently lose each other's acknowledged writes.
type stateLock struct {
	path string
}

func lockState(statePath string) (*stateLock, error) {
	lp := lockPath(statePath)
	f, err := os.OpenFile(lp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		holder, _ := os.ReadFile(lp)
		if len(holder) > 32 {
			holder = holder[:32]
		}
		return nil, lockedError(statePath, string(holder),
			"; if no mock server uses it (one that crashed leaves the lock file behind), delete the lock file")
	}
	if err != nil {
		return nil, fmt.Errorf("mockserver: locking state file %s: %w", statePath, err)
	}
	_, err = f.Write(pidLine(os.Getpid()))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(lp)
		return nil, fmt.Errorf("mockserver: locking state file %s: %w", statePath, err)
	}
	return &stateLock{path: lp}, nil
}

// release deletes the lock file.
func (l *stateLock) release() error {
	return os.Remove(l.path)
}
