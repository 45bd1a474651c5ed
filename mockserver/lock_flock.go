//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mockserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/seattletestbed/clearinghouse-go/internal/atomicfile"
)

// Here the lock is an flock(2) lock on the state file itself, held for as
// long as the Server is open and released by Close or by the process's
// death, however it dies. It belongs to the file, not to a name, so a
// second server is refused whichever name it opens the file by: a hard
// link made before or after the first server started included. flock
// locks belong to an open file description, so a second Open in the same
// process conflicts with the first just as another process does. (On
// Linux an NFS mount emulates flock with POSIX locks, which a process
// cannot conflict with itself on: there only other processes are kept
// out.)
//
// Compaction replaces the state file with a new one by a rename: the new
// file is locked before the rename puts it at the path, so there is no
// moment when the path names an unlocked file. The old file keeps its
// lock while the server runs if another name still links it (a hard link
// someone made), since a server opened through that name would read the
// journal as it was before the compaction and append to it; otherwise it
// is closed.
//
// A server that opens the path just before a compaction may lock the old
// file just after it was closed: lockState checks, once it holds the
// lock, that the file it locked is still the one at the path, and starts
// over if not. A new state file is linked into place (link(2) never
// replaces a file), so two servers creating one at once cannot both win.
//
// The error a refused server gets names the holder's process ID, which
// only Linux tells (/proc/locks); see lockHolder.

// lockFollowsFile says that the lock is on the file, whatever its name.
const lockFollowsFile = true

type stateLock struct{}

func (l *stateLock) release() error { return nil }

// maxLockAttempts bounds lockState's starting over when the file it
// locked was replaced meanwhile, which takes a compaction each time.
const maxLockAttempts = 100

func lockState(path string) (*stateLock, *os.File, error) {
	for range maxLockAttempts {
		f, err := openStateFile(path)
		if err != nil || f == nil {
			return &stateLock{}, nil, err
		}
		err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := lockHolder(f)
			f.Close()
			return nil, nil, lockedError(path, pid, "")
		}
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("mockserver: locking state file %s: %w", path, err)
		}
		if atPath(f, path) {
			return &stateLock{}, f, nil
		}
		unlockAndClose(f)
	}
	return nil, nil, fmt.Errorf("mockserver: locking state file %s: it was replaced %d times while being locked", path, maxLockAttempts)
}

// atPath reports whether f, just locked, is the file at path and not one
// a compaction replaced (or someone removed) since it was opened.
func atPath(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil || !stillLinkedInfo(fi) {
		return false
	}
	li, err := os.Lstat(path)
	return err == nil && os.SameFile(fi, li)
}

func createStateFile(path string, data []byte, replace bool) (journalFile, error) {
	f, err := atomicfile.CreateLocked(path, data, 0o600, func(f *os.File) error {
		return flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	}, replace)
	if err != nil {
		return nil, err
	}
	return lockedFile{f}, nil
}

func adoptStateFile(f *os.File) journalFile { return lockedFile{f} }

func stillLinked(f journalFile) bool {
	fi, err := f.Stat()
	return err == nil && stillLinkedInfo(fi)
}

func stillLinkedInfo(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink > 0
}

// lockedFile is a locked state file.
type lockedFile struct{ *os.File }

// Close unlocks the file before closing it: a child process that this one
// is forking at that moment shares the open file description until it
// execs, and closing alone would leave the lock held until then.
func (f lockedFile) Close() error {
	return unlockAndClose(f.File)
}

func unlockAndClose(f *os.File) error {
	err := flock(f, syscall.LOCK_UN)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}
