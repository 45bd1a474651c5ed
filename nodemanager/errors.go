package nodemanager

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
)

// Sentinels for the kinds of failure (docs/nodemanager-api.md §7.3). Use
// them with errors.Is:
//
//	if errors.Is(err, nodemanager.ErrInsufficientPermissions) { ... }
//
// Every error a call returns after local validation is an *Error and
// matches ErrNodeManager; a communication failure matches
// ErrCommunication, a refusal by the node ErrRefused and whichever of the
// more specific sentinels its text names. Bad input caught before any
// request matches ErrInvalidArgument and is not an *Error.
var (
	ErrNodeManager   error = &sentinel{"error"}                // every *Error
	ErrCommunication error = &sentinel{"communication failed"} // dial, I/O, framing, a malformed or oversized reply
	ErrReplyTooLarge error = &sentinel{"reply larger than the limit"}
	ErrUnreachable   error = &sentinel{"node unreachable"} // a NAT$ address: no call is made

	ErrRefused                 error = &sentinel{"refused"}                      // any reply with status Error or Warning
	ErrWarning                 error = &sentinel{"node warning"}                 // status Warning: a start or stop that did not finish in time
	ErrUnknownCall             error = &sentinel{"unknown call"}                 // "Unknown Call"
	ErrUnknownVessel           error = &sentinel{"unknown vessel"}               // "Unknown Vessel", "No such vessel"
	ErrBadSignature            error = &sentinel{"bad signature"}                // "Bad Signature on '…'": a bad signature, or an expired request
	ErrInsufficientPermissions error = &sentinel{"insufficient permissions"}     // "Insufficient Permissions"
	ErrSignatureProblem        error = &sentinel{"signature problem"}            // "Signature problem: …", "Illegal sequence id on '…'"
	ErrTimestamp               error = &sentinel{"timestamp not after the last"} // reasons "Timestamps out of order", "Timestamps match"
	ErrSequence                error = &sentinel{"bad sequence number"}          // "Invalid sequence transition", "Illegal sequence id on '…'"
	ErrDestination             error = &sentinel{"not destined for this node"}   // the node's key is not the one the request names
	ErrInternal                error = &sentinel{"node internal error"}          // "Internal Error"
	ErrFileNotFound            error = &sentinel{"file not found"}               // "Error, File Not Found", "File not found"

	ErrInvalidArgument error = &sentinel{"invalid argument"} // bad input caught before any request; not an *Error
)

type sentinel struct{ what string }

func (s *sentinel) Error() string { return "nodemanager: " + s.what }

// maxErrorText bounds the part of the node's text that Error shows.
const maxErrorText = 512

// Error is the error of a failed call.
type Error struct {
	Call   string // the wire call, such as "StartVesselEx"
	Addr   string // the node manager's address
	Vessel string // the vessel, for vessel calls
	// Status is "Error" or "Warning" when the node refused the call, ""
	// when it never answered properly.
	Status string
	// Text is the node's text in full (for a refusal), or what went wrong.
	// The client's private key never appears in it: its numbers are
	// replaced by "[redacted]", whatever the node sent.
	Text string
	// Err is the cause of a communication failure (a *net.OpError, a
	// framing error, context.DeadlineExceeded, ...), or nil.
	Err error

	kinds []error
}

// Error returns the call, where it went, the kind and at most 512 bytes
// of the text, quoted so that the node's bytes cannot forge lines.
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("nodemanager: " + e.Call)
	if e.Vessel != "" {
		sb.WriteString(" " + strconv.Quote(textclip.Clip(e.Vessel, 64)))
	}
	if e.Addr != "" {
		sb.WriteString(" at " + textclip.Show(e.Addr, 128))
	}
	sb.WriteString(": ")
	switch {
	case e.Status == string(nmproto.Warning):
		sb.WriteString("node warning: " + strconv.Quote(textclip.Clip(e.Text, maxErrorText)))
	case e.Status != "":
		sb.WriteString("node error: " + strconv.Quote(textclip.Clip(e.Text, maxErrorText)))
	default:
		what := "error"
		if len(e.kinds) > 0 {
			what = e.kinds[0].(*sentinel).what
		}
		sb.WriteString(what)
		if e.Text != "" {
			sb.WriteString(": " + textclip.Show(e.Text, maxErrorText))
		}
	}
	return sb.String()
}

// Is makes an *Error match ErrNodeManager and its kinds.
func (e *Error) Is(target error) bool {
	if target == ErrNodeManager {
		return true
	}
	for _, k := range e.kinds {
		if k == target {
			return true
		}
	}
	return false
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// refusal builds the error for a reply with status Error or Warning,
// classifying its text.
func refusal(call, addr, vessel string, r nmproto.Reply, redact func(string) string) *Error {
	text := redact(r.Body)
	e := &Error{Call: call, Addr: addr, Vessel: vessel, Status: string(r.Status), Text: text}
	e.kinds = append(e.kinds, ErrRefused)
	if r.Status == nmproto.Warning {
		e.kinds = append(e.kinds, ErrWarning)
		return e
	}
	switch {
	case text == nmproto.TextUnknownCall:
		e.kinds = append(e.kinds, ErrUnknownCall)
	case text == nmproto.TextUnknownVessel, text == "No such vessel", strings.HasPrefix(text, "No such vessel '"):
		e.kinds = append(e.kinds, ErrUnknownVessel)
	case strings.HasPrefix(text, nmproto.TextBadSignaturePrefix):
		e.kinds = append(e.kinds, ErrBadSignature)
	case text == nmproto.TextInsufficientPermissions:
		e.kinds = append(e.kinds, ErrInsufficientPermissions)
	case strings.HasPrefix(text, nmproto.TextIllegalSequencePrefix):
		e.kinds = append(e.kinds, ErrSignatureProblem, ErrSequence)
	case strings.HasPrefix(text, nmproto.TextSignatureProblemPrefix):
		e.kinds = append(e.kinds, ErrSignatureProblem)
		reasons := text[len(nmproto.TextSignatureProblemPrefix):]
		if strings.Contains(reasons, nmproto.ReasonTimestampsOrder) || strings.Contains(reasons, nmproto.ReasonTimestampsMatch) {
			e.kinds = append(e.kinds, ErrTimestamp)
		}
		if strings.Contains(reasons, nmproto.ReasonInvalidSequence) {
			e.kinds = append(e.kinds, ErrSequence)
		}
		if strings.Contains(reasons, nmproto.ReasonNotDestined) {
			e.kinds = append(e.kinds, ErrDestination)
		}
	case text == nmproto.TextInternalError:
		e.kinds = append(e.kinds, ErrInternal)
	case text == "Error, File Not Found", text == "File not found":
		e.kinds = append(e.kinds, ErrFileNotFound)
	}
	return e
}

// failure builds the error for a call that got no proper answer. When
// ctx is done, its error joins the cause so that errors.Is finds
// context.DeadlineExceeded or context.Canceled.
func failure(ctx context.Context, call, addr, vessel string, kind error, cause error, redact func(string) string) *Error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(cause, ctxErr) {
		cause = &ctxCause{ctx: ctxErr, err: cause}
	}
	e := &Error{Call: call, Addr: addr, Vessel: vessel, Err: cause, kinds: []error{kind}}
	if kind == ErrReplyTooLarge {
		e.kinds = append(e.kinds, ErrCommunication)
	}
	if cause != nil {
		e.Text = redact(trimPrefix(cause.Error()))
	}
	return e
}

// ctxCause is a failure that happened because the context ended.
type ctxCause struct{ ctx, err error }

func (c *ctxCause) Error() string   { return c.ctx.Error() + ": " + c.err.Error() }
func (c *ctxCause) Unwrap() []error { return []error{c.ctx, c.err} }

func trimPrefix(s string) string {
	for _, p := range []string{"nmproto: ", "nodemanager: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// invalidArgument reports bad input found before any request was sent.
func invalidArgument(msg string) error { return &argumentError{msg: msg} }

type argumentError struct{ msg string }

func (e *argumentError) Error() string { return "nodemanager: invalid argument: " + e.msg }
func (e *argumentError) Unwrap() error { return ErrInvalidArgument }
