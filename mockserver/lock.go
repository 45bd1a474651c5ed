package mockserver

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrStateLocked is matched by the error Open returns when another Server,
// in this process or another one, has the state file open, under any of
// its names. Two servers on one file would both acknowledge writes that
// the other then overwrites.
var ErrStateLocked = errors.New("mockserver: state file in use")

// How a state file is locked depends on the platform (lock_flock.go,
// lock_other.go). Each provides:
//
//   - lockState(path), which opens the state file at path and locks it,
//     or returns a nil file if there is none, with a *stateLock whose
//     release ends what the lock holds beyond the files;
//   - createStateFile(path, data, replace), the default fileOps.create:
//     it writes a new state file that is locked before it appears at path
//     (replacing the file there, or only if there is none: fs.ErrExist);
//   - adoptStateFile(f), the default fileOps.adopt, which makes Close on
//     the file release its lock;
//   - stillLinked(f), which reports whether a state file that compaction
//     replaced still has a name, through which a server could open it.

// lockedError is the error for a state file that the process with ID pid
// (0: unknown) holds.
func lockedError(statePath string, pid int, hint string) error {
	who := "another process (this system does not say which)"
	if pid > 0 {
		who = "process " + strconv.Itoa(pid)
	}
	return fmt.Errorf("%w: %s is held by %s%s", ErrStateLocked, statePath, who, hint)
}
