// Package syncbuf holds Buffer, the output a test hands to something that
// writes while the test reads: a command run in process or as a child
// process, a server's log. The tests of several packages share it.
//
// A test that waits for a line of that output (a command's "listening"
// banner, a log line saying start-up has begun) calls WaitFor, which wakes
// on each write: the output is the readiness signal, and no sleep guesses
// how long it takes.
package syncbuf

import (
	"bytes"
	"context"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent use by writers and
// readers. The zero value is an empty buffer ready to use.
type Buffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed by the next Write; nil when no one waits
}

// Write appends p to the buffer, and wakes the callers of WaitFor.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor waits until cond holds for what has been written so far,
// checking it at once and after each write, and returns nil; or until ctx
// ends, and returns its error. cond must not call the Buffer's methods.
func (b *Buffer) WaitFor(ctx context.Context, cond func(out string) bool) error {
	for {
		b.mu.Lock()
		if cond(b.buf.String()) {
			b.mu.Unlock()
			return nil
		}
		if b.written == nil {
			b.written = make(chan struct{})
		}
		written := b.written
		b.mu.Unlock()
		select {
		case <-written:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
