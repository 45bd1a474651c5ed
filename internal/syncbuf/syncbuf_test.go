package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// TestBufferConcurrent writes from several goroutines while reading; run
// with -race it proves the locking, and every write must land whole.
func TestBufferConcurrent(t *testing.T) {
	t.Parallel()
	var b Buffer
	const writers, lines = 4, 200
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range lines {
				if n, err := b.Write([]byte("line\n")); n != 5 || err != nil {
					t.Errorf("Write: %d, %v", n, err)
				}
			}
		})
	}
	for range 50 {
		_ = b.String()
	}
	wg.Wait()
	if have := b.String(); have != strings.Repeat("line\n", writers*lines) {
		t.Errorf("have %d bytes, want %d lines of 5", len(have), writers*lines)
	}
}
