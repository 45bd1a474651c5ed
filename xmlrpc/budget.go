package xmlrpc

import (
	"container/list"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// BodyBudget bounds the memory that requests in progress hold at once, for
// WithBodyBudget. A request is charged the bytes of its body from before
// the first byte is read until its answer is written, so the charge
// covers reading, decoding and the handler. A body with a Content-Length
// is charged that length up front; a chunked or gzip-compressed body,
// whose size is not known in advance, is charged as its buffer grows.
// Bodies of at most Small bytes are not charged, so that small calls never
// wait behind big ones. Charged requests are also decoded at most Decoders
// at a time, so that decoding big bodies cannot take every processor from
// small calls.
//
// The budget counts body bytes, not all the memory a call uses: decoded
// values and the garbage of a growing buffer come on top, bounded by the
// decode limits (a decoded call takes at most a few times its body). Size
// Bytes accordingly.
//
// Zero fields take the defaults given in their comments.
type BodyBudget struct {
	// Bytes is the body bytes all charged requests may hold together;
	// default four times the body size limit. A smaller value than the
	// body size limit is raised to it, so that every acceptable request
	// can run alone.
	Bytes int64
	// Small is the size up to which a body is not charged; default
	// DefaultBudgetSmall.
	Small int64
	// Wait is how long a request may wait for its charge before it is
	// refused with 503 Service Unavailable; default DefaultBudgetWait. A
	// request whose length is known is refused before any of its body is
	// read. A waiting request holds its connection but no budget; a
	// longer wait slows down a client that sends again as soon as it is
	// refused.
	Wait time.Duration
	// RetryAfter is sent, in whole seconds, in the Retry-After header of
	// a refusal; default DefaultBudgetRetryAfter.
	RetryAfter time.Duration
	// ReadTimeout bounds the time to read a charged body, so that a slow
	// client cannot hold budget for long; default DefaultBudgetReadTimeout.
	// It needs a ResponseWriter that supports read deadlines, as the
	// net/http server's does.
	ReadTimeout time.Duration
	// Decoders is how many charged requests may be decoded at once;
	// default one less than runtime.GOMAXPROCS at the time the server is
	// built, and at least 1, so that a processor is left to small calls.
	// A charged request whose body has been read waits for a decoder for
	// as long as it takes (the bodies waiting hold at most Bytes between
	// them), or until its client goes away.
	Decoders int
}

// Defaults of BodyBudget.
const (
	DefaultBudgetSmall       = 8 << 10
	DefaultBudgetWait        = time.Second
	DefaultBudgetRetryAfter  = time.Second
	DefaultBudgetReadTimeout = 30 * time.Second
)

// WithBodyBudget bounds the request body bytes the server holds at once,
// as BodyBudget describes. Without it every request is read at once,
// each under the body size limit only. A negative field is an error.
func WithBodyBudget(b BodyBudget) Option {
	return serverOption("WithBodyBudget", func(s *Server) error {
		if err := checkNonNegative("WithBodyBudget",
			namedValue{"Bytes", b.Bytes},
			namedValue{"Small", b.Small},
			namedValue{"Wait", int64(b.Wait)},
			namedValue{"RetryAfter", int64(b.RetryAfter)},
			namedValue{"ReadTimeout", int64(b.ReadTimeout)},
			namedValue{"Decoders", int64(b.Decoders)},
		); err != nil {
			return err
		}
		s.budgetConfig = &b
		return nil
	})
}

// newBudget applies the defaults of BodyBudget, given the body size limit.
func newBudget(b BodyBudget, maxBody int64) *budget {
	if b.Bytes <= 0 {
		b.Bytes = 4 * maxBody
	}
	b.Bytes = max(b.Bytes, maxBody)
	if b.Small <= 0 {
		b.Small = DefaultBudgetSmall
	}
	if b.Wait <= 0 {
		b.Wait = DefaultBudgetWait
	}
	if b.RetryAfter <= 0 {
		b.RetryAfter = DefaultBudgetRetryAfter
	}
	if b.ReadTimeout <= 0 {
		b.ReadTimeout = DefaultBudgetReadTimeout
	}
	if b.Decoders <= 0 {
		b.Decoders = max(1, runtime.GOMAXPROCS(0)-1)
	}
	return &budget{
		cfg:        b,
		retryAfter: strconv.FormatInt(int64((b.RetryAfter+time.Second-1)/time.Second), 10),
		decoders:   make(chan struct{}, b.Decoders),
	}
}

// budget is a weighted semaphore over body bytes. Waiters are served in
// the order they came, so a big request is not starved by smaller ones;
// every wait is bounded by cfg.Wait, so no request holds part of the
// budget while waiting for more without a deadline.
type budget struct {
	cfg        BodyBudget
	retryAfter string // the Retry-After header's value

	decoders        chan struct{} // a token per charged request being decoded
	decodersWaiting atomic.Int32  // requests waiting for a token, for tests

	mu      sync.Mutex
	used    int64
	waiters list.List // of *budgetWaiter, oldest first
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed once the bytes are granted
}

// acquire takes n bytes, waiting at most cfg.Wait, less if done is closed.
// It reports whether it got them.
func (b *budget) acquire(done <-chan struct{}, n int64) bool {
	b.mu.Lock()
	if b.waiters.Len() == 0 && b.used+n <= b.cfg.Bytes {
		b.used += n
		b.mu.Unlock()
		return true
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	e := b.waiters.PushBack(w)
	b.mu.Unlock()

	t := time.NewTimer(b.cfg.Wait)
	defer t.Stop()
	select {
	case <-w.ready:
		return true
	case <-t.C:
	case <-done:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready:
		return true // granted as the wait ran out; the caller releases it
	default:
	}
	b.waiters.Remove(e)
	b.grantLocked() // w may have been holding up smaller waiters behind it
	return false
}

// startDecode takes a decoder for a charged request whose body has been
// read, waiting as long as it takes, or until done is closed; it reports
// whether it got one. The wait is bounded without a timer: the requests
// ahead hold at most cfg.Bytes of bodies, and decoding one is bounded by
// the decode limits.
func (b *budget) startDecode(done <-chan struct{}) bool {
	select {
	case b.decoders <- struct{}{}:
		return true
	default:
	}
	b.decodersWaiting.Add(1)
	defer b.decodersWaiting.Add(-1)
	select {
	case b.decoders <- struct{}{}:
		return true
	case <-done:
		return false
	}
}

// endDecode gives back the decoder startDecode took.
func (b *budget) endDecode() { <-b.decoders }

// release gives back n bytes.
func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.grantLocked()
}

// grantLocked serves waiters in order while they fit.
func (b *budget) grantLocked() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(*budgetWaiter)
		if b.used+w.n > b.cfg.Bytes {
			return
		}
		b.used += w.n
		b.waiters.Remove(e)
		close(w.ready)
	}
}

// errBusy means a request could not get its charge in time.
var errBusy = errors.New("xmlrpc: server busy")

// requestBody is a request body read into memory and the budget it holds.
type requestBody struct {
	data    []byte
	charged int64
	pooled  *[]byte // where data came from, if from smallBodyPool
}

// free returns a pooled buffer to the pool; data must not be used after.
func (rb *requestBody) free() {
	if rb.pooled != nil {
		smallBodyPool.Put(rb.pooled)
		rb.pooled = nil
	}
	rb.data = nil
}

// smallBodyCap is the size of the pooled buffers that small bodies of
// known length are read into, and the first buffer size for a body of
// unknown length.
const smallBodyCap = 4 << 10

var smallBodyPool = sync.Pool{New: func() any { b := make([]byte, smallBodyCap); return &b }}

// readBody reads the request body under the body size limit, charging the
// budget if there is one. known is the body's length, or -1 when it is not
// known in advance. The caller must release rb.charged, also on error,
// and free rb once done with its data.
// The error is errBusy, a body size *LimitError, or a *transportFailure.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, body io.Reader, known int64) (rb requestBody, err error) {
	b := s.budget
	charge := func(total int64) error {
		if b == nil || total <= b.cfg.Small || total <= rb.charged {
			return nil
		}
		if !b.acquire(r.Context().Done(), total-rb.charged) {
			return errBusy
		}
		if rb.charged == 0 {
			// From now on a slow client holds budget: bound the read. The
			// net/http server lifts the deadline itself once the body has
			// been read to its end, before its background read that
			// notices a client going away.
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(b.cfg.ReadTimeout))
		}
		rb.charged = total
		return nil
	}
	if known >= 0 {
		// One buffer of the declared size: no growth, no copy.
		if err := charge(known); err != nil {
			return rb, err
		}
		if known <= smallBodyCap && (b == nil || known <= b.cfg.Small) {
			rb.pooled = smallBodyPool.Get().(*[]byte)
			rb.data = (*rb.pooled)[:known]
		} else {
			rb.data = make([]byte, known)
		}
		if _, err := io.ReadFull(body, rb.data); err != nil {
			return rb, &transportFailure{err: err}
		}
		return rb, nil
	}

	limit := s.limits.MaxBodyBytes
	rb.data, err = readLimited(&transportReader{r: body}, make([]byte, 0, min(smallBodyCap, limit)), limit, charge)
	return rb, err
}

// refuseBusy answers a request that could not get its charge in time. The
// connection is closed, as the body is left unread.
func (s *Server) refuseBusy(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Retry-After", s.budget.retryAfter)
	h.Set("Connection", "close")
	http.Error(w, "xmlrpc: server busy, retry later", http.StatusServiceUnavailable)
}
