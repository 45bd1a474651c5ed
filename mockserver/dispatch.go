package mockserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// The fault codes the mock answers with (contract §2.1), the same names
// and values as the clearinghouse package's.
const (
	codeMalformed        = 1   // a malformed request or an unknown method
	codeInternal         = 100 // wrong arity, a credential or handle that is no string, any unexpected error
	codeAuthentication   = 101 // unknown or banned user, wrong API key or password
	codeInvalidRequest   = 102 // a bad argument shape or value, an unknown handle
	codeNotEnoughCredits = 103 // acquiring beyond the credits, renewing while over them
	codeUnableToAcquire  = 105 // acquire_resources cannot be satisfied (and acquires nothing)
)

// Fixed fault strings.
const (
	internalErrorText = "Internal error while handling the xmlrpc request."
	authFailedText    = "User auth failed."
	notEnoughCredits  = "You do not have enough vessel credits to acquire the number of vessels requested."
	unableToAcquire   = "Unable to fulfill vessel acquire request at this given time. Details: "
	emptyHandleList   = "The list of vessels cannot be empty."
	badHandleList     = "Invalid data type for handle list."
)

func fault(code int, text string) *xmlrpc.Fault {
	return &xmlrpc.Fault{Code: code, String: text}
}

func internalFault() *xmlrpc.Fault { return fault(codeInternal, internalErrorText) }

func invalidRequest(text string) *xmlrpc.Fault { return fault(codeInvalidRequest, text) }

// argumentError marks a fault 100 that argument validation raised (a
// credential or handle that is no string), as opposed to one from a
// failure of the mock's own, for the behaviour report.
type argumentError struct{ f *xmlrpc.Fault }

func (e *argumentError) Error() string { return e.f.Error() }
func (e *argumentError) Unwrap() error { return e.f }

// badArgument is fault 100 for an argument of the wrong type.
func badArgument() error { return &argumentError{internalFault()} }

// unknownMethodFault is the fault for a method name that is not one of the
// ten (contract §2 step 2).
func unknownMethodFault(name string) *xmlrpc.Fault {
	return fault(codeMalformed, "<class 'clearinghouse.common.exceptions.InvalidRequestError'>:The requested method '"+
		name+"' doesn't exist.")
}

type method struct {
	arity int
	fn    func(s *Server, ctx context.Context, params []any) (any, error)
}

// methods are the only names reachable on the wire (contract §5).
var methods = map[string]method{
	"acquire_resources":        {2, (*Server).acquireResources},
	"acquire_specific_vessels": {2, (*Server).acquireSpecificVessels},
	"release_resources":        {2, (*Server).releaseResources},
	"renew_resources":          {2, (*Server).renewResources},
	"get_resource_info":        {1, (*Server).getResourceInfo},
	"get_account_info":         {1, (*Server).getAccountInfo},
	"get_public_key":           {1, (*Server).getPublicKey},
	"get_encrypted_api_key":    {1, (*Server).getEncryptedAPIKey},
	"regenerate_api_key":       {1, (*Server).regenerateAPIKey},
	"set_public_key":           {2, (*Server).setPublicKey},
}

// methodNames are the ten wire methods in the contract's order.
var methodNames = [...]string{
	"acquire_resources", "acquire_specific_vessels", "release_resources", "renew_resources",
	"get_resource_info", "get_account_info", "get_public_key", "get_encrypted_api_key",
	"regenerate_api_key", "set_public_key",
}

// call dispatches one decoded XML-RPC call (contract §2 steps 2-4): an
// unknown name gets fault 1, a wrong number of parameters fault 100 before
// any authentication, and the method's own faults follow its validation
// order. Any other error or a panic becomes fault 100; its details go to
// the log, never to the caller. The error is always a *xmlrpc.Fault.
//
// ctx is not consulted: a call, once started, runs to completion so that it
// is atomic.
func (s *Server) call(ctx context.Context, name string, params []any) (result any, err error) {
	m, ok := methods[name]
	if !ok {
		return nil, unknownMethodFault(name)
	}
	if len(params) != m.arity {
		s.noteRefused(name, params, codeInternal)
		return nil, internalFault()
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.ErrorContext(ctx, "mockserver: method panicked", "method", name, "panic", fmt.Sprint(r))
			result, err = nil, internalFault()
		}
	}()
	res, err := m.fn(s, ctx, params)
	if err != nil {
		var f *xmlrpc.Fault
		if errors.As(err, &f) {
			var ae *argumentError
			if f.Code == codeAuthentication || f.Code == codeInvalidRequest || errors.As(err, &ae) {
				s.noteRefused(name, params, f.Code)
			}
			return nil, f
		}
		s.log.ErrorContext(ctx, "mockserver: method failed", "method", name, "err", err)
		return nil, internalFault()
	}
	return res, nil
}

// noteRefused tells the behaviour report of a call refused for its
// credentials or its arguments, under the username it names ("" if none
// the log could show).
func (s *Server) noteRefused(method string, params []any, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := callUsername(method, params)
	_, account := s.st.byName[name]
	s.watch.refused(name, account, method, code, s.clock.now())
}

// Call runs one wire method in process, exactly as the XML-RPC endpoint
// would after decoding: params must hold the Go values package xmlrpc
// decodes to (int64, bool, string, float64, time.Time, []byte, nil, []any,
// map[string]any). Faults come back as *xmlrpc.Fault. It is meant for
// tests that want the mock's behaviour without HTTP.
func (s *Server) Call(ctx context.Context, method string, params ...any) (any, error) {
	if params == nil {
		params = []any{}
	}
	return s.call(ctx, method, params)
}
