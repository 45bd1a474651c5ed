//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"sync"
	"syscall"
	"unsafe"
)

const unixPerms = true

func getTermios(fd uintptr) (*syscall.Termios, error) {
	var t syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, ioctlGetTermios, uintptr(unsafe.Pointer(&t))); e != 0 {
		return nil, e
	}
	return &t, nil
}

func setTermios(fd uintptr, t *syscall.Termios) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, ioctlSetTermios, uintptr(unsafe.Pointer(t))); e != 0 {
		return e
	}
	return nil
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd uintptr) bool {
	_, err := getTermios(fd)
	return err == nil
}

// echoOff turns off echo on the terminal fd (keeping canonical line
// editing and the signal keys) and returns a function, safe to call more
// than once, that restores the previous settings.
func echoOff(fd uintptr) (restore func(), err error) {
	old, err := getTermios(fd)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Lflag &^= syscall.ECHO
	t.Lflag |= syscall.ICANON | syscall.ISIG
	if err := setTermios(fd, &t); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { setTermios(fd, old) }) }, nil
}
