package mockserver

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockHolderKnown says that a refused Open names the holder's process ID.
const lockHolderKnown = true

// lockHolder returns the ID of the process that holds an flock lock on
// f, from /proc/locks, or 0 if it cannot tell. A line there reads
//
//	1: FLOCK  ADVISORY  WRITE 2893 fe:00:9984590 0 EOF
//
// with the holder's ID and the file's device (major:minor, hex) and
// inode; lines with "->" are processes waiting, not holders. Some file
// systems (btrfs subvolumes, overlays) report another device there than
// stat does, so a holder of the right inode on another device counts
// only if one of its open files is f's file (/proc/<pid>/fd, readable
// for one's own processes).
func lockHolder(f *os.File) int {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer locks.Close()
	var others []int
	sc := bufio.NewScanner(locks)
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 6 || string(fields[1]) != "FLOCK" {
			continue // a POSIX lock, or a waiter ("->" shifts the fields)
		}
		pid, err := strconv.Atoi(string(fields[4]))
		id := bytes.Split(fields[5], []byte{':'})
		if err != nil || pid <= 0 || len(id) != 3 {
			continue
		}
		ino, err := strconv.ParseUint(string(id[2]), 10, 64)
		if err != nil || ino != uint64(st.Ino) {
			continue
		}
		maj, err1 := strconv.ParseUint(string(id[0]), 16, 64)
		min, err2 := strconv.ParseUint(string(id[1]), 16, 64)
		if err1 == nil && err2 == nil && maj == major && min == minor {
			return pid
		}
		others = append(others, pid)
	}
	for _, pid := range others {
		if hasOpen(pid, fi) {
			return pid
		}
	}
	return 0
}

// hasOpen reports whether process pid has the file fi open.
func hasOpen(pid int, fi os.FileInfo) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if ofi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && os.SameFile(ofi, fi) {
			return true
		}
	}
	return false
}
