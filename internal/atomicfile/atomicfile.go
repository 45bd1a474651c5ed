// Package atomicfile writes files so that a reader, a crash or a planted
// symbolic link never sees or causes a partial or misdirected write.
//
// Write (and Create, which also returns the new file open for appending)
// puts the data in a new temporary file in the target's directory, created
// with O_EXCL so that it cannot be an existing file or link, fsyncs it,
// renames it over the target and fsyncs the directory. rename(2) replaces a
// symbolic link at the target rather than following it, so a link someone
// planted where an output goes is replaced by a regular file and its target
// is never written. A target that exists and is neither a regular file nor a
// symbolic link (a directory, a device, a FIFO, a socket) is refused: the
// caller surely did not mean to replace /dev/null.
//
// CreateLocked lets the caller lock the new file before it can be opened
// at the target's path, and can refuse to replace an existing target (it
// then links the file into place instead of renaming it).
//
// A crash between creating and renaming the temporary file leaves it
// behind; its name is "." + the target's base name + ".tmp" + digits, and
// RemoveTemps deletes such leftovers for a target whose writer knows that
// no other writer is active (it holds a lock).
//
// Errors name the target, never the temporary file.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write atomically replaces the file at path with one holding data, with
// permission bits perm exactly (they are set with fchmod, so the umask does
// not narrow them).
func Write(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, data, perm)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return wrap(path, "closing", err)
	}
	return nil
}

// Create is Write that returns the new file, open for reading and writing
// and positioned at its end, for a caller that appends to it later (a
// journal). The caller closes it.
func Create(path string, data []byte, perm fs.FileMode) (*os.File, error) {
	return CreateLocked(path, data, perm, nil, true)
}

// CreateLocked is Create for a file that must be locked before anyone can
// open it at path. It calls lock (unless nil) with the temporary file,
// written and synced, before the file takes the target's place; if lock
// fails, so does CreateLocked. With replace false an existing target is
// never replaced: the file is put in place with link(2), and a target that
// exists makes CreateLocked fail with an error matching fs.ErrExist. (On a
// file system without hard links it falls back to a rename after checking
// that the target does not exist, which another writer can race.)
func CreateLocked(path string, data []byte, perm fs.FileMode, lock func(*os.File) error, replace bool) (*os.File, error) {
	if err := checkTarget(path); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return nil, wrap(path, "creating a temporary file", err)
	}
	fail := func(what string, err error) (*os.File, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, wrap(path, what, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail("setting the mode", err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("writing", err)
	}
	if err := f.Sync(); err != nil {
		return fail("syncing", err)
	}
	if lock != nil {
		if err := lock(f); err != nil {
			return fail("locking", err)
		}
	}
	if replace {
		if err := os.Rename(f.Name(), path); err != nil {
			return fail("renaming the temporary file", err)
		}
	} else if err := placeNew(f.Name(), path); err != nil {
		return fail("putting the new file in place", err)
	}
	if err := SyncDir(dir); err != nil {
		// The new file is in place, but the rename may not survive a
		// crash: report it, as the data is not known to be durable.
		f.Close()
		return nil, wrap(path, "syncing the directory", err)
	}
	return f, nil
}

// placeNew gives the file at temp the name path, which must not exist,
// and removes the name temp.
func placeNew(temp, path string) error {
	err := os.Link(temp, path)
	if err == nil {
		// A failure leaves a second name, which RemoveTemps deletes.
		os.Remove(temp)
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	// No hard links here (or no permission for them): check, then rename.
	if _, lerr := os.Lstat(path); lerr == nil {
		return &fs.PathError{Op: "link", Path: path, Err: fs.ErrExist}
	} else if !errors.Is(lerr, fs.ErrNotExist) {
		return lerr
	}
	return os.Rename(temp, path)
}

// checkTarget refuses a target that exists and is neither a regular file
// nor a symbolic link. It only gives a clear error early: the rename
// itself never follows a link, whatever happens in between.
func checkTarget(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return wrap(path, "inspecting the target", err)
	case fi.Mode().IsRegular() || fi.Mode()&fs.ModeSymlink != 0:
		return nil
	}
	return fmt.Errorf("atomicfile: %s exists and is not a regular file (%v); refusing to replace it", path, fi.Mode().Type())
}

// tempPrefix is the start of the name of a temporary file for path.
func tempPrefix(path string) string {
	return "." + filepath.Base(path) + ".tmp"
}

// IsTemp reports whether name (a base name) is a temporary file that Write
// or Create could have made for target.
func IsTemp(target, name string) bool {
	rest, ok := strings.CutPrefix(name, tempPrefix(target))
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RemoveTemps deletes the temporary files that interrupted writes of path
// left in its directory and returns their paths. Call it only when no
// other Write or Create for path can be running (the caller holds a lock).
// It removes what it can and returns the first error.
func RemoveTemps(path string) ([]string, error) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, wrap(path, "listing the directory", err)
	}
	var removed []string
	var first error
	for _, e := range entries {
		if !IsTemp(path, e.Name()) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil {
			if first == nil {
				first = wrap(path, "removing a leftover temporary file", err)
			}
			continue
		}
		removed = append(removed, p)
	}
	return removed, first
}

// wrap names the target and the step, and drops the temporary file's name
// from an *fs.PathError or an *os.LinkError so that the error speaks of
// the file the caller knows.
func wrap(path, what string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError // rename and link name both files
	if errors.As(err, &pe) {
		err = pe.Err
	} else if errors.As(err, &le) {
		err = le.Err
	}
	return fmt.Errorf("atomicfile: %s: %s: %w", path, what, err)
}
