package nmproto

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// Session framing (docs/nodemanager-api.md §2.2): a message is its length
// in ASCII decimal, "\n", then the payload. One request and one reply
// travel per connection.

// maxHeaderBytes is how many bytes the original reader took for the size
// and its "\n": 20, so at most 19 characters of size.
const maxHeaderBytes = 20

var (
	// ErrSessionEOF is the error of ReadMessage for a size of -1, the
	// original's way of saying that the peer closed the session.
	ErrSessionEOF = errors.New("nmproto: the peer closed the session (size -1)")

	// ErrBadHeader is matched by the error of ReadMessage for a size
	// header the original refused: a character other than a digit or "-"
	// after the first, more than 19 characters, a negative size other
	// than -1, or no integer at all.
	ErrBadHeader = errors.New("nmproto: bad message size header")

	// ErrTooLarge is matched by the error of ReadMessage for a message
	// longer than the caller's limit; nothing of its payload is read.
	ErrTooLarge = errors.New("nmproto: message longer than the limit")
)

// SizeError is the error for a message over the limit.
type SizeError struct {
	Size, Limit uint64
}

func (e *SizeError) Error() string {
	return "nmproto: message of " + strconv.FormatUint(e.Size, 10) + " bytes is longer than the limit of " +
		strconv.FormatUint(e.Limit, 10)
}

// Unwrap makes the error match ErrTooLarge.
func (e *SizeError) Unwrap() error { return ErrTooLarge }

// AppendMessage appends the framed payload to dst.
func AppendMessage(dst []byte, payload string) []byte {
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, '\n')
	return append(dst, payload...)
}

// WriteMessage writes the framed payload to w, in one write where w
// allows it (a net.Conn gets both parts in one writev).
func WriteMessage(w io.Writer, payload string) error {
	header := strconv.AppendInt(make([]byte, 0, maxHeaderBytes), int64(len(payload)), 10)
	header = append(header, '\n')
	if len(payload) <= 64<<10 {
		_, err := w.Write(append(header, payload...))
		return err
	}
	bufs := net.Buffers{header, []byte(payload)}
	_, err := bufs.WriteTo(w)
	return err
}

// ReadMessage reads one framed message from r and returns its payload. It
// reads the header one byte at a time and then exactly the payload, so
// nothing after the message is consumed.
//
// The header rules are the original reader's: the first character is not
// checked, later ones must be digits or "-", "\n" must come within 20
// bytes, and the text must then read as an integer the way Python's int()
// reads it. So " 5" and "+5" are 5, leading zeros are fine, and "a5",
// "5-" and 20 digits are errors matching ErrBadHeader. A size of -1 gives
// ErrSessionEOF, 0 an empty payload. A size over limit gives an error
// matching ErrTooLarge before any payload is read, and the payload is
// read into a buffer that grows as bytes arrive, so a sender that claims
// a large size and sends little costs little memory.
//
// An empty input gives io.EOF; one that ends in the header or the payload
// gives an error matching io.ErrUnexpectedEOF. Errors of r are returned
// wrapped.
func ReadMessage(r io.Reader, limit int64) (string, error) {
	size, err := readHeader(r)
	if err != nil {
		return "", err
	}
	if limit < 0 {
		limit = 0
	}
	if size > uint64(limit) {
		return "", &SizeError{Size: size, Limit: uint64(limit)}
	}
	if size == 0 {
		return "", nil
	}
	var sb strings.Builder
	sb.Grow(int(min(size, 1<<20)))
	n, err := io.CopyN(&sb, r, int64(size))
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return "", fmt.Errorf("nmproto: message cut short after %d of %d bytes: %w", n, size, err)
	}
	return sb.String(), nil
}

// readHeader reads the size line and returns the size; -1 and the other
// errors are reported as errors.
func readHeader(r io.Reader) (uint64, error) {
	var buf [maxHeaderBytes]byte
	header := buf[:0]
	br, _ := r.(io.ByteReader)
	var one [1]byte
	for i := 0; ; i++ {
		if i == maxHeaderBytes {
			return 0, headerError(header, "longer than 19 characters")
		}
		var c byte
		var err error
		if br != nil {
			c, err = br.ReadByte()
		} else {
			_, err = io.ReadFull(r, one[:])
			c = one[0]
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if i == 0 {
					return 0, io.EOF
				}
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("nmproto: reading the message size: %w", err)
		}
		if c == '\n' {
			break
		}
		if i > 0 && (c < '0' || c > '9') && c != '-' {
			return 0, headerError(append(header, c), fmt.Sprintf("character %q is not a digit", []byte{c}))
		}
		header = append(header, c)
	}
	v, err := parsePyInt(string(header))
	if err != nil {
		return 0, headerError(header, "not an integer")
	}
	if v.neg {
		if v.digits == "1" {
			return 0, ErrSessionEOF
		}
		return 0, headerError(header, "negative size")
	}
	size, err := strconv.ParseUint(v.digits, 10, 64)
	if err != nil { // 19 digits fit in 64 bits; kept for safety
		return 0, headerError(header, "size out of range")
	}
	return size, nil
}

func headerError(header []byte, why string) error {
	return fmt.Errorf("%w %q: %s", ErrBadHeader, header, why)
}
