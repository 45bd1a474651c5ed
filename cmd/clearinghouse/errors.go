package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

// exitCodeTable is the table printed by --help and kept in doc.go. The
// second column is the kind of the error, the "kind" of the JSON error
// object that --json prints (errorKind).
const exitCodeTable = `  0                   success
  1    internal       internal error (from the clearinghouse, or unexpected)
  2    usage          bad flags or arguments, missing or unreadable credentials
  3    auth           wrong username, API key, password or private key
  4    credits        not enough vessel credits, or renewing over the limit
  5    unable         not enough suitable vessels available to acquire
  6    invalid        the clearinghouse rejected an argument as invalid
  7    communication  unreachable, TLS, HTTP or malformed response
  8    lost           keep: every kept vessel lost (expired, released, node gone)
  130  interrupted    interrupted before the command finished`

// errorKind names the kind of error an exit code reports, for the JSON
// error object: a word of the exit-code table, "" for 0.
func errorKind(code int) string {
	switch code {
	case exitOK:
		return ""
	case exitUsage:
		return "usage"
	case exitAuth:
		return "auth"
	case exitCredits:
		return "credits"
	case exitUnable:
		return "unable"
	case exitInvalid:
		return "invalid"
	case exitCommunication:
		return "communication"
	case exitLost:
		return "lost"
	case exitInterrupted:
		return "interrupted"
	}
	return "internal"
}

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
	cmd       string // the subcommand
	username  string
	url       string
	urlSource string // where the URL came from, such as "--url"
	caSource  string // where the CA file came from; "" without one
	creds     string // the creds file in use; "" without one
	keySrc    string // where the API key or private key came from
	password  bool   // the call authenticated with a password
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
	// Where the URL came from, when a creds file is in use: a mock
	// started again since it wrote the file may listen elsewhere.
	from, fromCreds := "", ci.creds != "" && ci.urlSource == "creds file "+ci.creds
	if ci.creds != "" {
		from = " (the URL is from " + ci.urlSource + ")"
	}
	switch {
	case errors.As(err, &unknownCA):
		switch {
		case ci.caSource != "" && ci.caSource == ci.urlSource:
			return "the server's certificate is not signed by the CA file of " + ci.caSource + "; was the creds file written by another run of the mock? or --insecure to skip verification (tests only)"
		case ci.caSource != "":
			return "the server's certificate is not signed by the CA file from " + ci.caSource + " nor by a CA the system trusts; pass the server's CA with --ca-file, or --insecure to skip verification (tests only)"
		case ci.creds != "":
			return "the server's certificate is not signed by a CA the system trusts; pass its CA with --ca-file (a mock started with -tls names its CA in the ca_file of its creds file), or --insecure to skip verification (tests only)"
		}
		return "the server's certificate is not signed by a trusted CA; pass --ca-file (for the mock: the ca_file in its creds file, or use --creds), or --insecure to skip verification (tests only)"
	case errors.As(err, &hostErr), errors.As(err, &certErr):
		return "the server's certificate does not fit " + ci.url + "; check --url, or --insecure to skip verification (tests only)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "no answer from " + ci.url + " in time; is the URL right? raise --timeout if the server is slow"
	case errors.As(err, &opErr), errors.Is(err, io.ErrUnexpectedEOF):
		switch {
		case fromCreds:
			return "could not talk to " + ci.url + from + "; is the mock that wrote it still running? a mock started again writes the file again, and may listen elsewhere"
		case ci.creds != "":
			return "could not talk to " + ci.url + from + "; is the URL right and the server running?"
		}
		return "could not talk to " + ci.url + "; is the URL right (--url, CLEARINGHOUSE_URL) and the server running? for the mock use --creds with its creds file"
	case errors.As(err, &httpErr) && speaksHTTPS(httpErr, ci.url):
		return "the server speaks HTTPS: try https://" + strings.TrimPrefix(ci.url, "http://")
	case errors.As(err, &httpErr), errors.As(err, &decodeErr):
		return "the server at " + ci.url + " did not answer like a clearinghouse" + from + "; is the URL right (it usually ends in /xmlrpc/)?"
	}
	if ci.creds != "" {
		return "is the URL right (" + ci.url + ")?" + from
	}
	return "is the URL right (" + ci.url + ")? for the mock use --creds with its creds file, or --url and --ca-file from it"
}

// speaksHTTPS reports whether e, the answer to a request to the http://
// URL url, is a server's refusal of plain HTTP on its HTTPS port: a 400
// whose body says so, as Go's server ("Client sent an HTTP request to an
// HTTPS server."), nginx ("The plain HTTP request was sent to HTTPS port")
// and Apache ("speaking plain HTTP to an SSL-enabled server port") do.
func speaksHTTPS(e *xmlrpc.HTTPError, url string) bool {
	if e.StatusCode != http.StatusBadRequest || !strings.HasPrefix(url, "http://") {
		return false
	}
	body := strings.ToLower(string(e.Body))
	return strings.Contains(body, "https") || strings.Contains(body, "ssl") || strings.Contains(body, "tls")
}

// message is the error's text as the command prints it: starting with
// "clearinghouse: ".
func (e *cliError) message() string {
	if strings.HasPrefix(e.msg, "clearinghouse: ") {
		return e.msg
	}
	return "clearinghouse: " + e.msg
}

// jsonError is the object a failing command prints on stdout with
// --json, on one line: the message and the hint printed on stderr, the
// kind of error (errorKind) and the exit status.
type jsonError struct {
	Error string `json:"error"`
	Kind  string `json:"kind"`
	Exit  int    `json:"exit"`
	Hint  string `json:"hint,omitempty"`
}

// writeJSONError prints e as a JSON error object on one line of stdout,
// through writeJSONLine: the secrets the command knows are redacted from
// it and control characters are \u escapes, as in all its JSON.
func (a *app) writeJSONError(e *cliError) {
	a.writeJSONLine(jsonError{Error: e.message(), Kind: errorKind(e.code), Exit: e.code, Hint: e.hint})
}

// report prints an error and its hint to w, each made fit to print by
// clean (app.clean): the message may quote what a server sent, and the
// package's redaction knows only the client's own secrets.
func report(w io.Writer, e *cliError, clean func(string) string) {
	fmt.Fprintln(w, clean(e.message()))
	if e.hint != "" {
		fmt.Fprintln(w, "  hint: "+clean(e.hint))
	}
}
