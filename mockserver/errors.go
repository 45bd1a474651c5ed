package mockserver

import (
	"errors"
	"fmt"
)

// Errors returned by the test controls. Each control error matches one of
// them with errors.Is; the admin handler maps them to HTTP status codes.
var (
	ErrNotFound = errors.New("mockserver: not found")      // no such account or node
	ErrExists   = errors.New("mockserver: already exists") // duplicate username, node id or donation
	ErrInvalid  = errors.New("mockserver: invalid value")  // a spec or argument the mock does not accept
)

// controlError is a control failure with its own message that matches a
// sentinel. Messages never contain a password, API key or private key.
type controlError struct {
	kind error
	msg  string
}

func (e *controlError) Error() string { return "mockserver: " + e.msg }
func (e *controlError) Unwrap() error { return e.kind }

func invalidf(format string, args ...any) error {
	return &controlError{ErrInvalid, fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &controlError{ErrNotFound, fmt.Sprintf(format, args...)}
}

func existsf(format string, args ...any) error {
	return &controlError{ErrExists, fmt.Sprintf(format, args...)}
}
