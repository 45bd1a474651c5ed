//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// openNonBlocking opens path for reading with O_NONBLOCK, so that a named
// pipe with no writer opens at once rather than waiting for one (the
// fstat that follows refuses it), and with O_NOCTTY, so that a terminal
// never becomes the process's controlling terminal. For a regular file
// O_NONBLOCK changes nothing.
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}
