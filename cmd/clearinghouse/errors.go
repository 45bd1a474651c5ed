package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// Exit codes. They are part of the command's interface: scripts branch on
// them, so they never change meaning.
const (
	exitOK            = 0   // success
	exitInternal      = 1   // the clearinghouse reported an internal error, or something unexpected failed
	exitUsage         = 2   // bad flags or arguments, missing or unreadable credentials
	exitAuth          = 3   // authentication failed (API key, password or private key)
	exitCredits       = 4   // not enough vessel credits
	exitUnable        = 5   // the clearinghouse could not acquire the vessels asked for
	exitInvalid       = 6   // the clearinghouse rejected the request as invalid
	exitCommunication = 7   // the clearinghouse could not be reached or answered nonsense
	exitLost          = 8   // keep: every kept vessel was lost (and --replace was not given)
	exitInterrupted   = 130 // interrupted (Ctrl-C) before the command finished
)

// exitCodeTable is the table printed by --help and kept in doc.go.
const exitCodeTable = `  0    success
  1    internal error (reported by the clearinghouse, or unexpected)
  2    usage error: bad flags or arguments, missing or unreadable credentials
  3    authentication failed: wrong username, API key, password or private key
  4    not enough vessel credits (acquiring, or renewing while over the limit)
  5    unable to acquire: not enough suitable vessels available
  6    invalid request: the clearinghouse rejected an argument
  7    communication failure: unreachable, TLS, HTTP or malformed response
  8    keep: every kept vessel was lost (expired, released elsewhere, node gone)
  130  interrupted`

// cliError is an error the command reports itself: a message, what to do
// next, and the exit code.
type cliError struct {
	code int
	msg  string
	hint string
	err  error
}

func (e *cliError) Error() string { return e.msg }
func (e *cliError) Unwrap() error { return e.err }

// usageErr reports bad input: exit code 2.
func usageErr(hint, format string, args ...any) *cliError {
	return &cliError{code: exitUsage, msg: fmt.Sprintf(format, args...), hint: hint}
}

// callInfo is what the error report knows of the failed call, to make the
// hint specific.
type callInfo struct {
	cmd      string // the subcommand
	username string
	url      string
	keySrc   string // where the API key or private key came from
	password bool   // the call authenticated with a password
}

// classify turns any error into an exit code, a message and a hint.
func classify(ctx context.Context, err error, ci callInfo) *cliError {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce
	}
	if ctx.Err() != nil {
		return &cliError{code: exitInterrupted, msg: "interrupted", err: err}
	}
	e := &cliError{msg: err.Error(), err: err}
	var ch *clearinghouse.Error
	errors.As(err, &ch)
	switch {
	case errors.Is(err, clearinghouse.ErrInvalidArgument):
		e.code = exitUsage
		e.hint = "check the arguments; see `clearinghouse " + ci.cmd + " --help`"
	case errors.Is(err, clearinghouse.ErrAuthentication):
		e.code = exitAuth
		switch {
		case ci.password:
			e.hint = "the password for user " + quoteUser(ci.username) + " was not accepted; check the username (--user, CLEARINGHOUSE_USERNAME) and the password"
		case ch != nil && ch.Method == "get_encrypted_api_key":
			e.hint = "the private key (" + ci.keySrc + ") does not belong to user " + quoteUser(ci.username) +
				"; check --private-key-file or CLEARINGHOUSE_PRIVATE_KEY_FILE, or give the API key instead"
		default:
			e.hint = "check the username (--user, CLEARINGHOUSE_USERNAME) and the API key (" + ci.keySrc +
				"); if the key was regenerated, get the new one with `clearinghouse regenerate-api-key`"
		}
	case errors.Is(err, clearinghouse.ErrNotEnoughCredits):
		e.code = exitCredits
		if ci.cmd == "renew" || ci.cmd == "keep" {
			e.hint = "the account holds more vessels than its credits allow, so nothing can be renewed; release some with `clearinghouse release HANDLE...` (see `clearinghouse account`)"
		} else {
			e.hint = "the account has no credits left for that many vessels; ask for fewer, or release vessels with `clearinghouse release HANDLE...` or `clearinghouse release --all` (see `clearinghouse account`)"
		}
	case errors.Is(err, clearinghouse.ErrUnableToAcquire):
		e.code = exitUnable
		e.hint = "not enough suitable vessels are free right now; ask for fewer, try another type (lan, wan, nat, random), or try again later"
	case errors.Is(err, clearinghouse.ErrInvalidRequest):
		e.code = exitInvalid
		if ch != nil && ch.Method == "get_encrypted_api_key" {
			e.hint = "the clearinghouse does not know user " + quoteUser(ci.username) + "; check --user or CLEARINGHOUSE_USERNAME"
		} else {
			e.hint = "the clearinghouse rejected an argument; see `clearinghouse " + ci.cmd + " --help`"
		}
	case errors.Is(err, clearinghouse.ErrCommunication):
		e.code = exitCommunication
		e.hint = communicationHint(err, ci)
	case errors.Is(err, clearinghouse.ErrInternal):
		e.code = exitInternal
		e.hint = "the clearinghouse failed internally; try again later"
	default:
		e.code = exitInternal
	}
	return e
}

func quoteUser(u string) string {
	if u == "" {
		return "(none)"
	}
	return u
}

func communicationHint(err error, ci callInfo) string {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *x509.CertificateInvalidError
	var netErr net.Error
	var opErr *net.OpError
	var httpErr *xmlrpc.HTTPError
	var decodeErr *xmlrpc.DecodeError
	switch {
	case errors.As(err, &unknownCA):
		return "the server's certificate is not signed by a trusted CA; pass --ca-file (for the mock: the ca_file in its creds file, or use --creds), or --insecure to skip verification (tests only)"
	case errors.As(err, &hostErr), errors.As(err, &certErr):
		return "the server's certificate does not fit " + ci.url + "; check --url, or --insecure to skip verification (tests only)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "no answer from " + ci.url + " in time; is the URL right? raise --timeout if the server is slow"
	case errors.As(err, &opErr), errors.Is(err, io.ErrUnexpectedEOF):
		return "could not talk to " + ci.url + "; is the URL right (--url, CLEARINGHOUSE_URL) and the server running? for the mock use --creds with its creds file"
	case errors.As(err, &httpErr), errors.As(err, &decodeErr):
		return "the server at " + ci.url + " did not answer like a clearinghouse; is the URL right (it usually ends in /xmlrpc/)?"
	}
	return "is the URL right (" + ci.url + ")? for the mock use --creds with its creds file, or --url and --ca-file from it"
}

// report prints an error and its hint to w, each made fit to print by
// clean (app.clean): the message may quote what a server sent, and the
// package's redaction knows only the client's own secrets.
func report(w io.Writer, e *cliError, clean func(string) string) {
	msg := e.msg
	if !strings.HasPrefix(msg, "clearinghouse: ") {
		msg = "clearinghouse: " + msg
	}
	fmt.Fprintln(w, clean(msg))
	if e.hint != "" {
		fmt.Fprintln(w, "  hint: "+clean(e.hint))
	}
}
