package syncbuf

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
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

// TestWaitFor: WaitFor returns once a write makes cond hold, however the
// writes are cut, and returns the context's error when it ends first.
func TestWaitFor(t *testing.T) {
	t.Parallel()
	var b Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- b.WaitFor(ctx, func(out string) bool { return strings.Contains(out, "ready\n") })
	}()
	for _, part := range []string{"starting\n", "rea", "dy", "\nmore\n"} {
		select {
		case err := <-done:
			t.Fatalf("WaitFor returned %v before %q was written; have %q", err, part, b.String())
		default:
		}
		b.Write([]byte(part))
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	// Already true: at once, without a write.
	if err := b.WaitFor(ctx, func(out string) bool { return strings.HasPrefix(out, "starting") }); err != nil {
		t.Fatalf("WaitFor on what is there: %v", err)
	}
	short, cancelShort := context.WithCancel(context.Background())
	go func() {
		b.Write([]byte("unrelated\n"))
		cancelShort()
	}()
	if err := b.WaitFor(short, func(out string) bool { return strings.Contains(out, "never") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitFor with a context that ends: have %v, want context.Canceled", err)
	}
}
