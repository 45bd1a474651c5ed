//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "errors"

// unixPerms reports whether file modes say who may read a file.
const unixPerms = false

// isTerminal cannot tell on this system; passwords then need
// --password-stdin, and keep prints plain lines.
func isTerminal(fd uintptr) bool { return false }

func echoOff(fd uintptr) (func(), error) {
	return nil, errors.New("turning off echo is not supported on this system")
}
