package mockserver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrStateLocked is matched by the error Open returns when another Server,
// in this process or another one, has the state file open. Two servers on
// one file would both acknowledge writes that the other then overwrites.
var ErrStateLocked = errors.New("mockserver: state file in use")

// The lock on a state file is taken on a separate file beside it,
// <state>.lock, because compaction replaces the state file by a rename: a
// lock on the state file itself would stay with the old, unlinked copy.
// The holder writes its process ID into the lock file, for the error the
// next one gets. See lock_flock.go and lock_other.go.

func lockPath(statePath string) string { return statePath + ".lock" }

// lockedError is the error for a state file that holder (the lock file's
// contents) has locked.
func lockedError(statePath, holder, hint string) error {
	who := "another process"
	if pid, err := strconv.Atoi(strings.TrimSpace(holder)); err == nil && pid > 0 {
		who = "process " + strconv.Itoa(pid)
	}
	return fmt.Errorf("%w: %s is held by %s (lock file %s)%s", ErrStateLocked, statePath, who, lockPath(statePath), hint)
}

func pidLine(pid int) []byte { return []byte(strconv.Itoa(pid) + "\n") }
