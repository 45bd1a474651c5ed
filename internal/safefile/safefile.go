package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Limits for each kind of file, in bytes.
const (
	// MaxKey bounds a file holding one key: a Seattle private or public
	// key (seattlersa refuses key strings over 8 KiB), an API key, a PEM
	// private key (an 8192-bit RSA key is under 7 KiB).
	MaxKey = 64 << 10
	// MaxToken bounds a file holding a bearer token (the mock refuses
	// tokens over 4096 bytes).
	MaxToken = 8 << 10
	// MaxCerts bounds a PEM file of certificates: a server's chain, or a
	// CA bundle (a system's whole bundle is about 220 KiB).
	MaxCerts = 4 << 20
	// MaxCreds bounds a creds file (mockclearinghouse -creds-out): its
	// largest, 1000 demo accounts with 4096-bit keys, is about 4 MiB.
	MaxCreds = 16 << 20
	// MaxFaults bounds a JSON fault profile, as the mock's
	// /admin/faults bounds the body that carries one.
	MaxFaults = 1 << 20
)

// ErrNotRegular is matched (errors.Is) by the error for a path that is not
// a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is matched (errors.Is) by the error for a file larger than
// the limit.
var ErrTooLarge = errors.New("file too large")

// ReadFile returns the contents of the regular file at path, which must
// hold at most limit bytes (see the package documentation). It never
// reads more than limit+1 bytes, and never blocks on opening the file.
func ReadFile(path string, limit int64) ([]byte, error) {
	if limit < 0 {
		return nil, fmt.Errorf("safefile: negative limit %d", limit)
	}
	// A first look, so that a device is refused without being opened at
	// all (opening some devices does something).
	fi, err := os.Stat(path)
	if err != nil {
		// As os.ReadFile says it: "open PATH: no such file or directory".
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Op = "open"
		}
		return nil, err
	}
	if err := checkRegular(path, fi); err != nil {
		return nil, err
	}
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// What was opened may not be what was looked at: look again, at the
	// open file this time.
	ofi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, ofi); err != nil {
		return nil, err
	}
	if ofi.Size() > limit {
		return nil, tooLarge(path, limit)
	}
	// The size may change while the file is read: the limit holds
	// whatever it becomes.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLarge(path, limit)
	}
	return data, nil
}

// checkRegular is the error for fi if it is not a regular file.
func checkRegular(path string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, Kind(fi.Mode()))}
}

func tooLarge(path string, limit int64) error {
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (the limit is %s)", ErrTooLarge, size(limit))}
}

// Kind names the type of a file that is not a regular file, for a
// message: "a directory", "a named pipe", "a character device"...
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDir != 0:
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

// size writes a number of bytes for a message: "64 KiB", "1 MiB", or
// "1000 bytes" when it is not a whole number of either.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
