package safefile

import (
	"errors"
	"os"
	"testing"
)

// TestReadFileGrowsPastSize reads a file whose size says 0 but which has
// more to read (Linux's /proc): the limit holds on what is read.
func TestReadFileGrowsPastSize(t *testing.T) {
	t.Parallel()
	const path = "/proc/self/maps"
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 || !fi.Mode().IsRegular() {
		t.Fatalf("%s: %v, %v; want a regular file of size 0", path, fi, err)
	}
	data, err := readWithin(t, path, 16)
	if !errors.Is(err, ErrTooLarge) || data != nil {
		t.Fatalf("have %d bytes, %v; want ErrTooLarge", len(data), err)
	}
	if data, err := readWithin(t, path, MaxCreds); err != nil || len(data) == 0 {
		t.Errorf("with a large limit: have %d bytes, %v", len(data), err)
	}
}
