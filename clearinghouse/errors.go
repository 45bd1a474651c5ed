package clearinghouse

import (
	"errors"
	"strconv"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// Sentinels for the kinds of failure, matching the exception hierarchy of
// the original Python client. Use them with errors.Is:
//
//	if errors.Is(err, clearinghouse.ErrNotEnoughCredits) { ... }
//
// Every error a method returns after local validation matches
// ErrClearinghouse and exactly one of the other six.
var (
	ErrClearinghouse    = errors.New("clearinghouse error")             // any failure below (SeattleClearinghouseError)
	ErrCommunication    = errors.New("communication failed")            // network, TLS, HTTP status, undecodable or wrongly shaped response
	ErrInternal         = errors.New("internal error")                  // faults 1, 100, 104 and unknown codes
	ErrAuthentication   = errors.New("authentication failed")           // fault 101, or a private key that does not match
	ErrInvalidRequest   = errors.New("invalid request")                 // fault 102
	ErrNotEnoughCredits = errors.New("not enough vessel credits")       // fault 103
	ErrUnableToAcquire  = errors.New("unable to acquire resources")     // fault 105
	ErrInvalidArgument  = errors.New("clearinghouse: invalid argument") // bad input caught before any request; not an ErrClearinghouse
)

// Fault codes the clearinghouse sends.
const (
	FaultInternal         = 100
	FaultAuth             = 101
	FaultInvalidRequest   = 102
	FaultNotEnoughCredits = 103
	FaultUnableToAcquire  = 105
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
// wrapped so that the message is redacted.
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
// all of it).
func (e *Error) Error() string {
	s := "clearinghouse: " + e.Method + ": " + e.Kind.Error()
	if e.Code != 0 {
		s += " (fault " + strconv.Itoa(e.Code) + ")"
	}
	if e.Msg != "" {
		s += ": " + clip(e.Msg, maxMsgText)
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
	case FaultAuth:
		return ErrAuthentication
	case FaultInvalidRequest:
		return ErrInvalidRequest
	case FaultNotEnoughCredits:
		return ErrNotEnoughCredits
	case FaultUnableToAcquire:
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

func (e *argumentError) Error() string { return ErrInvalidArgument.Error() + ": " + e.msg }
func (e *argumentError) Unwrap() error { return ErrInvalidArgument }
