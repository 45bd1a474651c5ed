//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package mockserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/atomicfile"
	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
)

// stateLock is, on platforms without flock(2) in package syscall (Windows,
// Plan 9, WebAssembly, Solaris, illumos, AIX), a best-effort lock: a file
// beside the state file, <state>.lock, created with O_EXCL and removed by
// Close. It keeps a second server off the state file while the first
// runs, as long as both open it by the same name: a hard link to the
// state file has a lock file of its own, so here two servers on two names
// of one file are not kept apart. A process that dies without Close
// (killed, crashed, power lost) leaves the lock file behind, and Open then
// refuses the state file until someone who knows that no server uses it
// deletes <state>.lock; the error says so. A stale lock that needs a
// human is preferred to no lock, which would let two servers silently
// lose each other's acknowledged writes.
type stateLock struct {
	path string
}

// lockFollowsFile says that the lock is on a name of the file, not on it.
const lockFollowsFile = false

// lockHolderKnown says that a refused Open names the holder's process ID
// (which the lock file holds).
const lockHolderKnown = true

func lockPath(statePath string) string { return statePath + ".lock" }

func lockState(path string) (*stateLock, *os.File, error) {
	lp := lockPath(path)
	f, err := os.OpenFile(lp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// The lock file holds a pid: read no more than one could need
		// (whatever someone put at that name), and no non-regular file.
		holder, _ := safefile.ReadFile(lp, 32)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(holder)))
		return nil, nil, lockedError(path, pid,
			" (lock file "+lp+"); if no mock server uses it (one that crashed leaves the lock file behind), delete the lock file")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("mockserver: locking state file %s: %w", path, err)
	}
	_, err = f.Write([]byte(strconv.Itoa(os.Getpid()) + "\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(lp)
		return nil, nil, fmt.Errorf("mockserver: locking state file %s: %w", path, err)
	}
	l := &stateLock{path: lp}
	sf, err := openStateFile(path)
	if err != nil {
		l.release()
		return nil, nil, err
	}
	return l, sf, nil
}

// release deletes the lock file.
func (l *stateLock) release() error {
	return os.Remove(l.path)
}

// createStateFile replaces the file at path whatever replace says: the
// lock file keeps every other server off the path.
func createStateFile(path string, data []byte, replace bool) (journalFile, error) {
	f, err := atomicfile.Create(path, data, 0o600)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func adoptStateFile(f *os.File) journalFile { return f }

// stillLinked is false: the old file's lock is the lock file, held on.
func stillLinked(f journalFile) bool { return false }
