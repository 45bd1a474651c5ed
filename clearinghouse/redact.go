package clearinghouse

import (
	"cmp"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// The client keeps its own secrets out of every error it returns, whatever
// the server sent back: a server may echo the credentials it received, or
// know others (the historical clearinghouse stored users' private keys).
//
// The secrets are the API key in use, up to maxRemembered earlier ones
// (replaced by RegenerateAPIKey or fetched), up to maxRemembered passwords
// given to SetPublicKey and RegenerateAPIKey, and the numbers of the
// private key. Each is replaced by "[redacted]" as it is, URL-escaped and
// Go-quoted (the forms this module's own error texts may give it). Text a
// server altered on purpose (encoded, reversed, cut) is not recognised,
// and neither is a fragment: the xmlrpc decoder quotes at most 40 bytes of
// a bad value, which could hold part of a secret. Secrets shorter than
// minSecretLen bytes are not looked for: they would match ordinary words,
// and no real credential is that short (API keys have 32 characters, the
// clearinghouse's passwords at least 6, private key numbers hundreds of
// digits).

// redacted replaces a secret in error text.
const redacted = "[redacted]"

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
	forms []string // every form of every secret, longest first
}

// newRedactor returns a redactor for the secrets.
func newRedactor(secrets ...string) redactor {
	var forms []string
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		q := strconv.QuoteToASCII(s)
		for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s), q[1 : len(q)-1]} {
			if !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
	}
	// Longest first, so that a secret holding a shorter one goes whole.
	slices.SortFunc(forms, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return redactor{forms: forms}
}

// redact returns s with every secret replaced.
func (r redactor) redact(s string) string {
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, redacted)
		}
	}
	return s
}

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
	return &redactedError{msg: r.redact(err.Error()), err: err}
}

// redactedError shows a redacted message for an error it keeps reachable
// through Unwrap.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
