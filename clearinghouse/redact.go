package clearinghouse

import (
	"errors"
	"slices"

	"github.com/seattletestbed/clearinghouse-go/internal/redact"
	"github.com/seattletestbed/clearinghouse-go/internal/textclip"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// The client keeps its own secrets out of every error it returns, whatever
// the server sent back: a server may echo the credentials it received, or
// know others (the historical clearinghouse stored users' private keys).
//
// The secrets are the API key in use, up to maxRemembered earlier ones
// (replaced by RegenerateAPIKey or fetched), up to maxRemembered passwords
// given to SetPublicKey and RegenerateAPIKey, and the numbers of the
// private key. Package internal/redact finds each in every form an error
// text may give it (as it is, Go-quoted, JSON, HTML- and XML-escaped,
// URL-escaped, in any case), and a beginning of one where a text was cut
// (before "..."); the keys also in pieces (8 bytes or more of an API key,
// 16 of a private key's digits), the passwords only whole (a password
// holds words, which must not vanish from every message). Each is
// replaced by "[redacted]". Every text is redacted
// in full before any message cuts it, so no cut leaves a long beginning of
// a secret behind. Secrets shorter than minSecretLen bytes are not looked
// for: they would match ordinary words, and no real credential is that
// short (API keys have 32 characters, the clearinghouse's passwords at
// least 6, private key numbers hundreds of digits).

// redactedText replaces a secret in error text.
const redactedText = "[redacted]"

// minSecretLen is the length below which a secret is not redacted.
const minSecretLen = 6

// maxRemembered bounds the earlier API keys and the passwords the client
// remembers for redaction.
const maxRemembered = 4

// remember appends s to list unless it is empty or already there, dropping
// the oldest entries beyond maxRemembered.
func remember(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	list = append(list, s)
	if len(list) > maxRemembered {
		list = slices.Delete(list, 0, len(list)-maxRemembered)
	}
	return list
}

// redactor replaces secrets in text.
type redactor struct {
	r *redact.Redactor
}

// newRedactor returns a redactor for the keys (API keys, the private
// key's numbers: random, found in pieces too) and the passwords (chosen by
// people: found whole).
func newRedactor(keys, passwords []string) redactor {
	return redactor{redact.New(redactedText, minSecretLen, keys, passwords)}
}

// redact returns s with every secret replaced.
func (r redactor) redact(s string) string { return r.r.Redact(s) }

// cause returns a copy of err, a cause from package xmlrpc, in which the
// text that came from the server is redacted: a *xmlrpc.Fault whose
// String is redacted in full, an *xmlrpc.HTTPError with its status, body
// and location redacted, and so on. Errors of other types, and the
// standard library's errors inside an *xmlrpc.TransportError, are wrapped
// so that their message is redacted; errors.As still finds the originals
// below the wrapper.
func (r redactor) cause(err error) error {
	switch e := err.(type) {
	case *xmlrpc.Fault:
		return &xmlrpc.Fault{Code: e.Code, String: r.redact(e.String)}
	case *xmlrpc.HTTPError:
		cp := *e
		cp.Status, cp.Location = r.redact(e.Status), r.redact(e.Location)
		cp.Body = []byte(r.redact(string(e.Body)))
		return &cp
	case *xmlrpc.DecodeError:
		cp := *e
		cp.Msg = r.redact(e.Msg)
		return &cp
	case *xmlrpc.TypeError:
		cp := *e
		cp.Path, cp.Value = r.redact(e.Path), r.redact(e.Value)
		return &cp
	case *xmlrpc.TransportError:
		return &xmlrpc.TransportError{Err: r.wrapped(e.Err)}
	case *xmlrpc.LimitError:
		return e
	}
	return r.wrapped(err)
}

func (r redactor) wrapped(err error) error {
	var re *redactedError
	if errors.As(err, &re) {
		return err
	}
	return &redactedError{msg: textclip.Escape(r.redact(err.Error())), err: err}
}

// redactedError shows a redacted message, escaped (textclip.Escape), for
// an error it keeps reachable through Unwrap.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
