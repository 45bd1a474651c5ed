//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package mockserver

import "os"

// lockHolderKnown says that a refused Open cannot name the holder.
const lockHolderKnown = false

// lockHolder returns 0: these systems do not say which process holds an
// flock lock, and the error says so.
func lockHolder(f *os.File) int { return 0 }
