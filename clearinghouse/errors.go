package clearinghouse

import (
	"errors"
	"strconv"

	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// Sentinels for the kinds of failure, matching the exception hierarchy of
// the original Python client. Use them with errors.Is:
//
//	if errors.Is(err, clearinghouse.ErrNotEnoughCredits) { ... }
//
// Every error a method returns after local validation matches
// ErrClearinghouse and exactly one of the other six. A sentinel's text is
// "clearinghouse: " followed by the words given below, such as
// "clearinghouse: communication failed"; an *Error shows the words once,
// after its method.
var (
	ErrClearinghouse    error = &sentinel{"error"}                       // any failure below (SeattleClearinghouseError)
	ErrCommunication    error = &sentinel{"communication failed"}        // network, TLS, HTTP status, undecodable or wrongly shaped response
	ErrInternal         error = &sentinel{"internal error"}              // faults 1, 100, 104 and unknown codes
	ErrAuthentication   error = &sentinel{"authentication failed"}       // fault 101, or a private key that does not match
	ErrInvalidRequest   error = &sentinel{"invalid request"}             // fault 102
	ErrNotEnoughCredits error = &sentinel{"not enough vessel credits"}   // fault 103
	ErrUnableToAcquire  error = &sentinel{"unable to acquire resources"} // fault 105
	ErrInvalidArgument  error = &sentinel{"invalid argument"}            // bad input caught before any request; not an ErrClearinghouse
)

// sentinel is the type of the sentinels: its text is "clearinghouse: "
// and what failed; an *Error shows only what, after its own prefix.
type sentinel struct{ what string }

func (s *sentinel) Error() string { return "clearinghouse: " + s.what }

// kindText is what an *Error says of its kind: a sentinel without the
// package name, any other error (an *Error built by hand) in full.
func kindText(kind error) string {
	if kind == nil {
		return "error"
	}
	if s, ok := kind.(*sentinel); ok { // the sentinel itself, not one wrapped
		return s.what
	}
	return kind.Error()
}

// The fault codes the clearinghouse sends (contract §2.1), as found in
// Error.Code and xmlrpc.Fault.Code. Code 104 is retired; it and any code
// not listed are ErrInternal, like 1 and 100.
const (
	CodeMalformed        = 1   // an undecodable request or an unknown method: ErrInternal
	CodeInternal         = 100 // ErrInternal
	CodeAuthentication   = 101 // ErrAuthentication
	CodeInvalidRequest   = 102 // ErrInvalidRequest
	CodeNotEnoughCredits = 103 // ErrNotEnoughCredits
	CodeUnableToAcquire  = 105 // ErrUnableToAcquire
)

// Error is the error of a failed call. Kind is one of the sentinels;
// errors.Is matches it and ErrClearinghouse. The cause is reachable with
// errors.As: an *xmlrpc.Fault for a fault (with the server's code and
// string), or an *xmlrpc.TransportError, *xmlrpc.HTTPError,
// *xmlrpc.DecodeError and so on for a communication failure.
//
// The client's secrets (its API keys, the passwords given to it, its
// private key) never appear in an Error, whatever the server sent: Msg and
// the cause are copies in which every server-supplied text is redacted in
// full, the fault's String included (the *xmlrpc.Fault that errors.As
// finds is that copy, not the decoder's). Below an *xmlrpc.TransportError,
// the network and TLS errors of the standard library are the originals,
// wrapped so that the message is redacted and escaped.
type Error struct {
	Method string // the wire method, such as "acquire_resources"
	Kind   error  // ErrCommunication, ErrInternal, ErrAuthentication, ...
	Code   int    // the fault code, or 0 when there was no fault
	Msg    string // the fault string, or a description of the failure
	Err    error  // the cause
}

// maxMsgText bounds the part of Msg that Error shows.
const maxMsgText = 512

// Error returns the method, the kind, the fault code if any and at most
// 512 bytes of Msg (the server chooses a fault string's length; Msg keeps
// all of it), with control characters, bidirectional controls and bytes
// that are not UTF-8 escaped (\r, \x1b, \u202e, \xff; Msg keeps them).
func (e *Error) Error() string {
	s := "clearinghouse: " + e.Method + ": " + kindText(e.Kind)
	if e.Code != 0 {
		s += " (fault " + strconv.Itoa(e.Code) + ")"
	}
	if e.Msg != "" {
		s += ": " + textclip.Show(e.Msg, maxMsgText)
	}
	return s
}

// Unwrap returns the kind and the cause, so errors.Is and errors.As see
// both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Is makes every *Error match ErrClearinghouse.
func (e *Error) Is(target error) bool { return target == ErrClearinghouse }

// kindOfFault maps a fault code to its sentinel, as the original client did.
func kindOfFault(code int) error {
	switch code {
	case CodeAuthentication:
		return ErrAuthentication
	case CodeInvalidRequest:
		return ErrInvalidRequest
	case CodeNotEnoughCredits:
		return ErrNotEnoughCredits
	case CodeUnableToAcquire:
		return ErrUnableToAcquire
	}
	return ErrInternal
}

// wrap turns whatever a call returned into an *Error (or nil), with the
// client's secrets redacted from everything the server sent.
func (c *Client) wrap(method string, err error) error {
	if err == nil {
		return nil
	}
	err = c.redactor().cause(err)
	var f *xmlrpc.Fault
	if errors.As(err, &f) {
		return &Error{Method: method, Kind: kindOfFault(f.Code), Code: f.Code, Msg: f.String, Err: err}
	}
	return &Error{Method: method, Kind: ErrCommunication, Msg: trimPrefix(err.Error()), Err: err}
}

func trimPrefix(s string) string {
	for _, p := range []string{"xmlrpc: ", "clearinghouse: "} {
		if len(s) >= len(p) && s[:len(p)] == p {
			return s[len(p):]
		}
	}
	return s
}

// invalidArgument reports bad input found before any request was sent.
func invalidArgument(msg string) error {
	return &argumentError{msg: msg}
}

type argumentError struct{ msg string }

func (e *argumentError) Error() string { return "clearinghouse: invalid argument: " + e.msg }
func (e *argumentError) Unwrap() error { return ErrInvalidArgument }
