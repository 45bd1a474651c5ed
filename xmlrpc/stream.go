package xmlrpc

import (
	"bytes"
	"errors"
	"io"
)

// This file lets the decoder parse a document while it is still arriving,
// as the client does with a response: a body that comes over the network
// in pieces is parsed piece by piece, so that the parsing overlaps the
// transfer instead of following it.
//
// Streaming is an optimisation that never changes an outcome. The parser
// runs on the validated prefix of the document that has arrived (the
// scanner's buf, extended by more); the scanner's fast paths ask for more
// bytes when they come near the end of that prefix (lookahead), and its
// general paths cannot succeed on a construct cut short by the end of the
// prefix: they fail. A document is only accepted once all of it was read
// under the body limit and validated (complete, which epilog calls). Any
// failure before that, and anything streaming does not handle (a
// declared charset other than UTF-8, a CR to normalise, a character that
// is not allowed), sends the decoder back to the general way: read the
// whole body, prepare it and parse it from the start. So errors, their
// order (body limit and transport errors before syntax) and their text are
// those of the general way.

// source reads a document for a streaming parser.
type source struct {
	r       io.Reader
	limit   int64
	raw     []byte // everything read so far
	from    int    // where the document starts in raw, after a byte order mark
	checked int    // raw[:checked] is validated
	eof     bool
	readErr error // the error a Read returned, other than io.EOF
	// stopped is set when streaming can go no further: the body reached
	// the limit, or a part of it needs the general way.
	stopped  bool
	complete bool // all of the body was read and validated; see scanner.complete
}

// streamStart is how much of the body is read before parsing starts: the
// XML declaration must be in it.
const streamStart = 512

// newSource returns a source that reads r into buf, which it grows to
// sizeHint+1 bytes up front when the body's length is announced.
func newSource(r io.Reader, buf []byte, limit, sizeHint int64) *source {
	if sizeHint > 0 && sizeHint <= limit && int64(cap(buf)) < sizeHint+1 {
		buf = make([]byte, 0, sizeHint+1) // room to see the end without growing
	}
	return &source{r: r, limit: limit, raw: buf[:0]}
}

// start reads the beginning of the body and checks that it can be
// streamed: UTF-8, with the whole XML declaration, if any, in hand. It
// returns where the content after the declaration starts, relative to
// the document.
func (src *source) start() (int, bool) {
	for len(src.raw) < streamStart && src.read() {
	}
	if src.readErr != nil || src.stopped {
		return 0, false
	}
	raw := src.raw
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		src.from = 3
	} else if bytes.HasPrefix(raw, []byte("\xfe\xff")) || bytes.HasPrefix(raw, []byte("\xff\xfe")) ||
		bytes.HasPrefix(raw, []byte("\x00\x00\xfe\xff")) || bytes.HasPrefix(raw, []byte("\x00<")) ||
		bytes.HasPrefix(raw, []byte("<\x00")) || len(raw) < 6 {
		return 0, false // an error, or too short to matter: the general way
	}
	start, enc, err := declaration(raw[src.from:])
	if err != nil || enc != encUTF8 {
		return 0, false
	}
	src.checked = src.from
	src.validate()
	return start, !src.stopped
}

// read reads once into raw, growing it when it is full, and validates
// what it can. It reports whether reading may go on.
func (src *source) read() bool {
	if src.eof || src.readErr != nil || src.stopped {
		return false
	}
	if int64(len(src.raw)) >= src.limit {
		// Only the general way tells a body of exactly the limit from a
		// longer one (readLimited reads one more byte).
		src.stopped = true
		return false
	}
	if len(src.raw) == cap(src.raw) {
		grown := min(int64(max(2*cap(src.raw), 32<<10)), src.limit)
		src.raw = append(make([]byte, 0, grown), src.raw...)
	}
	room := min(int64(cap(src.raw)-len(src.raw)), src.limit-int64(len(src.raw)))
	n, err := src.r.Read(src.raw[len(src.raw) : len(src.raw)+int(room)])
	src.raw = src.raw[:len(src.raw)+n]
	switch {
	case err == io.EOF:
		src.eof = true
	case err != nil:
		src.readErr = err
	}
	return src.readErr == nil
}

// validate checks the bytes read since the last call, up to the last
// whole character, and reports whether any became valid. A CR, which
// would have to be normalised, or anything not allowed stops streaming.
func (src *source) validate() bool {
	end := len(src.raw)
	if !src.eof {
		// Stop before a character that may be cut: after the last ASCII
		// byte.
		for end > src.checked && src.raw[end-1] >= 0x80 {
			end--
		}
	}
	if end <= src.checked || src.stopped {
		return false
	}
	if sawCR, err := checkChars(src.raw[src.checked:end]); sawCR || err != nil {
		src.stopped = true
		return false
	}
	src.checked = end
	return true
}

// more reads until more of the document is validated, and reports
// whether it is.
func (src *source) more() bool {
	for src.read() {
		if src.validate() {
			return true
		}
	}
	return src.validate() // the last piece, at the end of the body
}

// visible is the validated part of the document.
func (src *source) visible() []byte { return src.raw[src.from:src.checked] }

// finish reads the rest of the body under the limit, as the general way
// does, and returns all of it.
func (src *source) finish() ([]byte, error) {
	if src.readErr != nil {
		return src.raw, src.readErr
	}
	if !src.eof {
		raw, err := readLimited(src.r, src.raw, src.limit, nil)
		src.raw, src.eof = raw, true
		if err != nil {
			src.readErr = err
			return raw, err
		}
	}
	return src.raw, nil
}

// errStreamStopped is what complete returns when the document has to be
// parsed the general way; the decoder never returns it.
var errStreamStopped = errors.New("xmlrpc: streaming stopped")

// lookahead makes at least n bytes past s.pos visible, if the document
// has them. It is cheap when not streaming or when they are there.
func (s *scanner) lookahead(n int) {
	for s.src != nil && len(s.buf)-s.pos < n && s.more() {
	}
}

// more makes more of a streamed document visible, and reports whether it
// did.
func (s *scanner) more() bool {
	if s.src == nil || !s.src.more() {
		return false
	}
	s.buf = s.src.visible()
	return true
}

// complete reads and validates the rest of a streamed document; from then
// on the scanner has all of it, as when not streaming.
func (s *scanner) complete() error {
	src := s.src
	if src == nil {
		return nil
	}
	if _, err := src.finish(); err != nil {
		return err
	}
	src.validate()
	if src.stopped || src.checked != len(src.raw) {
		return errStreamStopped
	}
	s.buf, s.src, src.complete = src.visible(), nil, true
	return nil
}
