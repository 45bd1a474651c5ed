package xmlrpc

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
)

// Fault is an XML-RPC fault: the error a server reports in a
// <fault> response. The client returns it unchanged (reachable with
// errors.As through any wrapping); a handler that returns a *Fault has it
// sent to the caller as is.
type Fault struct {
	Code   int
	String string
}

// Error returns the code and the fault string, of which it shows at most
// the first 512 bytes (cut on a UTF-8 boundary, with a note of how much was
// cut), with control characters, bidirectional controls and bytes that
// are not UTF-8 escaped (\r, \x1b, \u202e, \xff): the server chooses
// the string, and String keeps all of it as sent.
func (f *Fault) Error() string { return "xmlrpc: " + f.detail() }

func (f *Fault) detail() string {
	return "fault " + strconv.Itoa(f.Code) + ": " + textclip.Show(f.String, maxFaultText)
}

// DecodeError reports a document that is not acceptable XML-RPC.
// Syntax is true when the input is not well-formed XML, uses an unsupported
// encoding or contains a DOCTYPE; it is false when the XML is well-formed but
// is not a valid XML-RPC message or holds a value outside what the codec
// accepts (such as <int>12x</int>).
type DecodeError struct {
	Offset int64 // byte offset in the document (after any transcoding to UTF-8)
	Line   int   // 1-based line of Offset
	Msg    string
	Syntax bool
}

// Error returns the message, with the line when known. Messages quote
// input only in short excerpts; Error shows at most 512 bytes of Msg all
// the same, escaped as Fault.Error escapes.
func (e *DecodeError) Error() string { return "xmlrpc: " + e.detail() }

func (e *DecodeError) detail() string {
	if e.Line > 0 {
		return "line " + strconv.Itoa(e.Line) + ": " + textclip.Show(e.Msg, maxMsgText)
	}
	return textclip.Show(e.Msg, maxMsgText)
}

// LimitError reports input that exceeds one of the configured Limits. It is
// returned instead of a DecodeError so callers can tell hostile or oversized
// input from a malformed document.
type LimitError struct {
	Limit LimitKind // which limit
	Max   int64     // its value
}

// Error names the limit and its value, such as "xmlrpc: body size limit
// of 10485760 exceeded".
func (e *LimitError) Error() string { return "xmlrpc: " + e.detail() }

func (e *LimitError) detail() string {
	return e.Limit.String() + " limit of " + strconv.FormatInt(e.Max, 10) + " exceeded"
}

// TypeError reports a well-formed value that cannot be stored in the Go
// value it is being decoded into, such as a <string> into an int field or
// an integer that overflows an int32.
type TypeError struct {
	Path  string       // where in the value, such as "[3].node_port"; empty at the top
	Value string       // the XML-RPC type, such as "string" or "int 2147483648"
	Type  reflect.Type // the Go type it could not be stored in
}

// Error names the value, the Go type and, when known, where the value was,
// escaped and cut as Fault.Error does.
func (e *TypeError) Error() string { return "xmlrpc: " + e.detail() }

func (e *TypeError) detail() string {
	where := ""
	if e.Path != "" {
		// A path can hold member names the server chose.
		where = " at " + textclip.Show(e.Path, maxPathText)
	}
	return "cannot decode " + textclip.Show(e.Value, maxMsgText) + " into Go value of type " + e.Type.String() + where
}

// HTTPError reports an HTTP response whose status is not 200 OK. That
// includes a redirect the client did not follow (see
// WithSameOriginRedirects): Location is then where it pointed.
type HTTPError struct {
	StatusCode int
	Status     string
	Body       []byte // at most the first 512 bytes of the body
	// Location is the target of a 3xx response that had one, resolved
	// against the request URL and with any password removed; "" otherwise.
	Location string

	refusal string // why the client did not follow Location
}

// Error returns the status and, for a redirect not followed, where it
// pointed and why it was not followed. The status (the server's reason
// phrase) is escaped and cut as Fault.Error does; the Location is quoted.
func (e *HTTPError) Error() string { return "xmlrpc: " + e.detail() }

func (e *HTTPError) detail() string {
	s := "HTTP status " + textclip.Show(e.Status, maxStatusText)
	if e.Location != "" {
		s += ": redirect to " + quoteClipped(e.Location, maxLocationText) + " not followed"
		if e.refusal != "" {
			s += ": " + e.refusal
		}
	}
	return s
}

// TransportError reports a failure to send the request or to receive the
// whole response: a refused connection, a TLS failure, a timeout, a
// cancelled context or a body cut short. Err is the underlying error and is
// reachable through errors.Is and errors.As.
type TransportError struct {
	Err error
}

// Error returns the cause's message, of which it shows at most 512 bytes,
// escaped as Fault.Error escapes.
func (e *TransportError) Error() string { return "xmlrpc: " + e.detail() }

func (e *TransportError) detail() string {
	return "transport: " + textclip.Show(e.Err.Error(), maxMsgText)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// ParamsError reports parameters that do not fit a handler: the wrong
// number, or a value of the wrong type. UnmarshalParams returns it; a
// Server answers it with the invalid-parameters fault (-32602 by default).
type ParamsError struct {
	Msg string
	Err error // the underlying *TypeError or *LimitError, if any
}

// Error returns Msg after the words of the invalid-parameters fault.
func (e *ParamsError) Error() string { return "xmlrpc: " + e.detail() }

func (e *ParamsError) detail() string { return "invalid method parameters: " + e.Msg }

// Unwrap returns Err.
func (e *ParamsError) Unwrap() error { return e.Err }

// An UnsupportedTypeError is returned by the encoder for a Go value that has
// no XML-RPC form (a channel, a function, a complex number, a map whose key
// is not a string).
type UnsupportedTypeError struct {
	Type reflect.Type
}

// Error names the type.
func (e *UnsupportedTypeError) Error() string { return "xmlrpc: " + e.detail() }

func (e *UnsupportedTypeError) detail() string { return "unsupported type: " + e.Type.String() }

// EncodeError reports a Go value of a supported type that cannot be
// represented on the wire: an integer outside the enabled range, a NaN
// float, a string that is not valid XML text, a time outside years 0-9999,
// a nil without AllowNil.
type EncodeError struct {
	Msg string
}

// Error returns Msg.
func (e *EncodeError) Error() string { return "xmlrpc: " + e.detail() }

func (e *EncodeError) detail() string { return e.Msg }

// detailer is implemented by every error type of this package: detail
// is the message Error returns, built from the fields, without the
// "xmlrpc: " that Error puts in front.
type detailer interface {
	error
	detail() string
}

// errorDetail returns the text of err for a fault string or a
// *ParamsError: the detail of an error of this package, or the whole
// text of any other error (a wrapped error of this package included,
// since its wrapper's words come first).
func errorDetail(err error) string {
	if d, ok := err.(detailer); ok {
		return d.detail()
	}
	return err.Error()
}

func encodeErrorf(format string, args ...any) error {
	return &EncodeError{Msg: fmt.Sprintf(format, args...)}
}

// Bounds on the server-supplied text an error message carries. The fields
// of the errors keep the full text; only Error() is bounded (and escaped,
// so that no server can drive a terminal through it), so that a hostile
// server cannot make an error message megabytes long. With the fixed
// parts, no message of this package exceeds 1 KiB.
const (
	maxFaultText    = 512 // Fault.String in Fault.Error
	maxMsgText      = 512 // DecodeError.Msg, TransportError's cause
	maxStatusText   = 128 // HTTPError.Status
	maxLocationText = 256 // HTTPError.Location
	maxPathText     = 256 // TypeError.Path
)

// quoteClipped quotes s for an error message with strconv.QuoteToASCII
// (so control and non-ASCII characters are escaped), keeping at most max
// bytes of s and of the quoted form.
func quoteClipped(s string, max int) string {
	s, more := textclip.Cut(s, max)
	q := strconv.QuoteToASCII(s)
	cut := len(q) > max
	if cut {
		q = q[:max]
	}
	switch {
	case more > 0:
		q += "... (" + strconv.Itoa(more) + " more bytes)"
	case cut:
		q += "..."
	}
	return q
}
