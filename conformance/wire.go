package conformance

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/internal/safefile"
	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

// httpClientFor returns an HTTP client trusting the system roots plus the
// CA certificates in caFile (if any).
func httpClientFor(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Keep a connection per concurrent caller (Sampling/UserPorts uses 8):
	// with the default 2, the others are closed after every call and each
	// new one costs a TLS handshake.
	tr.MaxIdleConnsPerHost = 8
	if caFile != "" {
		pem, err := safefile.ReadFile(caFile, safefile.MaxCerts)
		if err != nil {
			return nil, fmt.Errorf("conformance: CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("conformance: no CA certificates found in %s", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

// call makes one XML-RPC call and returns the decoded result (canonical Go
// types: int64, bool, string, float64, []any, map[string]any, ...). A
// call that may give vessels goes through the budget's bookkeeping: it
// must fail (the checks that want it to succeed use acquire or specific),
// and claims what it asks for when it carries an account's credentials
// (see asked). When the run stops, the check ends, skipped.
func (s *session) call(t T, method string, args ...any) (any, error) {
	t.Helper()
	if acquiringMethod(method) {
		_, authentic := s.accountIn(args)
		return s.acquiring(t, method, args, asked(method, args, authentic), true)
	}
	var res any
	err := s.client().Call(s.ctx(t), method, &res, args...)
	t.record().noteFault(method, err)
	s.stopCheck(t, err)
	return res, err
}

// mustCall is call for calls that must succeed.
func (s *session) mustCall(t T, method string, args ...any) any {
	t.Helper()
	res, err := s.call(t, method, args...)
	if err != nil {
		s.fatalf(t, "%s: %v", method, err)
	}
	return res
}

// faultProblem compares a call's error with the fault wanted. It returns
// "" if it matches; otherwise a description, and whether only the fault
// string differs (which RelaxStrings tolerates). want is compared exactly,
// or as a prefix when prefix is true; "" skips the string comparison.
func faultProblem(err error, code int, want string, prefix bool) (problem string, stringOnly bool) {
	if err == nil {
		return fmt.Sprintf("have success, want fault %d %q", code, want), false
	}
	var f *xmlrpc.Fault
	if !errors.As(err, &f) {
		return fmt.Sprintf("have error %v, want fault %d %q", err, code, want), false
	}
	if f.Code != code {
		return fmt.Sprintf("have fault %d %q, want fault %d %q", f.Code, f.String, code, want), false
	}
	if want == "" {
		return "", false
	}
	if f.String == want || prefix && strings.HasPrefix(f.String, want) {
		return "", false
	}
	how := "want"
	if prefix {
		how = "want prefix"
	}
	return fmt.Sprintf("fault %d string:\nhave %q\n%s %q", code, f.String, how, want), true
}

// wantFault checks that err is the fault code with exactly the string
// want ("" for any string).
func (s *session) wantFault(t T, what string, err error, code int, want string) {
	t.Helper()
	s.judgeFault(t, what, err, code, want, false)
}

// wantFaultPrefix checks the code and that the string starts with prefix.
func (s *session) wantFaultPrefix(t T, what string, err error, code int, prefix string) {
	t.Helper()
	s.judgeFault(t, what, err, code, prefix, true)
}

func (s *session) judgeFault(t T, what string, err error, code int, want string, prefix bool) {
	t.Helper()
	problem, stringOnly := faultProblem(err, code, want, prefix)
	switch {
	case problem == "":
	case stringOnly && s.relax:
		s.warnf(t, "%s: %s", what, problem)
	default:
		s.errorf(t, "%s: %s", what, problem)
	}
}

// faultCode returns the code of a fault error, or 0.
func faultCode(err error) int {
	var f *xmlrpc.Fault
	if errors.As(err, &f) {
		return f.Code
	}
	return 0
}

// Fixed fault strings of the contract.
const (
	msgInternal       = "Internal error while handling the xmlrpc request."
	msgAuthFailed     = "User auth failed."
	msgAuthMissing    = "Auth dict must contain both a 'username' and an 'api_key'."
	msgPwAuthMissing  = "PasswordAuth dict must contain both a 'username' and an 'password'."
	msgAuthNotDict    = "Auth dict must be a dictionary, not a "
	msgNotEnough      = "You do not have enough vessel credits to acquire the number of vessels requested."
	msgUnable         = "Unable to fulfill vessel acquire request at this given time. Details: "
	msgBadList        = "Invalid data type for handle list."
	msgEmptyList      = "The list of vessels cannot be empty."
	msgBadHandle      = "Invalid vesselhandle: "
	msgBadHandleType  = "Invalid data type for handle. Expected str, received "
	msgRSpecType      = "rspec is an invalid data type."
	msgRSpecNoType    = "rspec is missing rspec_type"
	msgRSpecNoCount   = "rspec is missing number_of_nodes"
	msgRSpecTypes     = "rspec has invalid data types."
	msgRSpecValues    = "rspec has invalid values."
	msgUserNotString  = "Username must be a string."
	msgNoUser         = "Username does not exist."
	msgKeyNotString   = "Invalid public key: Public key must be a string."
	msgKeyFormat      = "Invalid public key: Public key is not of a correct format."
	msgKeyInvalid     = "Invalid public key: Public key is invalid."
	msgRenewOverLimit = "Vessels cannot be renewed because you are currently over your vessel credit limit: Requested 0 vessels, already acquired %d, max allowed is %d"
	msgNATDisabled    = "Acquiring NAT vessels is currently disabled. "
	msgBatchFailed    = "Failed to acquire enough vessels to fulfill the request"
	msgExpatPrefix    = "<class 'xml.parsers.expat.ExpatError'>:"
	banner            = `<b>This is the SeattleGeni XML-RPC Service.</b><br>Please see <a href=https://seattle.poly.edu/wiki/SeattleGeniApi>https://seattle.poly.edu/wiki/SeattleGeniApi</a> for more information.`
)

func unknownMethodMsg(name string) string {
	return "<class 'clearinghouse.common.exceptions.InvalidRequestError'>:The requested method '" + name + "' doesn't exist."
}

func noVesselMsg(handle string) string {
	node, name, _ := strings.Cut(handle, ":")
	return "There is no vessel with the node identifier: " + node + " and vessel name: " + name
}

// Raw HTTP, for what an XML-RPC client cannot send.

// do sends an HTTP request to the target's URL with path replacing the
// URL's path when not empty, and returns the response with its body.
func (s *session) do(t T, method, path, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	u := s.url()
	if path != "" {
		u = withPath(u, path)
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.ctx(t), method, u, r)
	if err != nil {
		s.fatalf(t, "building a %s request: %v", method, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// Ask for the body as sent: a transparently decompressed response
	// would hide its Content-Length.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := s.httpClient().Do(req)
	if err != nil {
		s.stopCheck(t, err)
		s.fatalf(t, "%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		s.stopCheck(t, err)
		s.fatalf(t, "%s %s: reading the body: %v", method, path, err)
	}
	return resp, data
}

// withPath replaces the path of an absolute URL.
func withPath(u, path string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	j := strings.IndexByte(u[i+3:], '/')
	if j < 0 {
		return u + path
	}
	return u[:i+3+j] + path
}

// rawCall posts an XML-RPC document as is and decodes the response. A
// document whose method may give vessels goes through rawAcquire.
func (s *session) rawCall(t T, doc string) (any, error) {
	t.Helper()
	if acquiringMethod(strings.TrimSuffix(rawMethod(doc), " (raw)")) {
		s.fatalf(t, "conformance: suite bug: a raw %s call must go through rawAcquire", rawMethod(doc))
	}
	res, err, problem := s.rawExchange(t, doc)
	if problem != "" {
		s.stopCheck(t, err)
		s.fatalf(t, "raw call: %s", problem)
	}
	return res, err
}

// rawAcquire is rawCall for a document whose method may give a vessels:
// it claims mayTake vessels of budget and settles the outcome, and when
// the call must fail (expectFault), gives back what a wrong success gave.
func (s *session) rawAcquire(t T, a *acct, mayTake int, expectFault bool, doc string) (any, error) {
	t.Helper()
	done := s.claim(t, a, mayTake)
	defer done()
	what := rawMethod(doc)
	res, err, problem := s.rawExchange(t, doc)
	hs, whole := handlesIn(res)
	if problem != "" && err == nil {
		err = errors.New(problem)
	}
	s.settle(t, a, what, hs, err, problem == "" && (err == nil && whole || isFault(err)))
	if problem != "" {
		s.stopCheck(t, err)
		s.fatalf(t, "raw call: %s", problem)
	}
	if err == nil && expectFault {
		s.giveBack(t, a, what, hs)
	}
	return res, err
}

// rawExchange posts doc and decodes the answer. problem is not "" when
// there is no XML-RPC answer to judge: no HTTP answer, a status other
// than 200, or a body that does not decode.
func (s *session) rawExchange(t T, doc string) (res any, err error, problem string) {
	t.Helper()
	req, rerr := http.NewRequestWithContext(s.ctx(t), http.MethodPost, s.url(), strings.NewReader(doc))
	if rerr != nil {
		return nil, nil, "building the request: " + rerr.Error()
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Accept-Encoding", "identity")
	resp, herr := s.httpClient().Do(req)
	if herr != nil {
		return nil, herr, herr.Error()
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	switch {
	case rerr != nil:
		return nil, rerr, "reading the body: " + rerr.Error()
	case resp.StatusCode != http.StatusOK:
		return nil, nil, fmt.Sprintf("HTTP status %s, want 200 OK", resp.Status)
	}
	err = xmlrpc.DecodeResponse(bytes.NewReader(body), &res)
	if err != nil && !isFault(err) {
		return nil, err, fmt.Sprintf("undecodable response: %v", err)
	}
	t.record().noteFault(rawMethod(doc), err)
	return res, err, ""
}

// rawMethod is the methodName of a raw document, for the report.
func rawMethod(doc string) string {
	_, rest, ok := strings.Cut(doc, "<methodName>")
	name, _, ok2 := strings.Cut(rest, "</methodName>")
	if !ok || !ok2 || len(name) > 64 {
		return "(raw document)"
	}
	return html.UnescapeString(name) + " (raw)"
}

// xmlDoc builds a methodCall from raw <value> fragments.
func xmlDoc(method string, values ...string) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<methodCall><methodName>" + html.EscapeString(method) + "</methodName><params>")
	for _, v := range values {
		b.WriteString("<param>" + v + "</param>")
	}
	b.WriteString("</params></methodCall>")
	return b.String()
}

// xmlStr is a typed <string> value; xmlUntyped the same without the type.
func xmlStr(v string) string     { return "<value><string>" + html.EscapeString(v) + "</string></value>" }
func xmlUntyped(v string) string { return "<value>" + html.EscapeString(v) + "</value>" }

// xmlStruct builds a struct from member names and raw values, in order.
func xmlStruct(kv ...string) string {
	var b strings.Builder
	b.WriteString("<value><struct>")
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString("<member><name>" + html.EscapeString(kv[i]) + "</name>" + kv[i+1] + "</member>")
	}
	b.WriteString("</struct></value>")
	return b.String()
}

// Vessel results.

// vinfo is a parsed infodict (contract §4.1).
type vinfo struct {
	NodeID, NodeIP, VesselID, Handle string
	NodePort                         int64
	Active                           bool
	Expires                          int64
}

var (
	vesselIDPattern = regexp.MustCompile(`^v[0-9]+$`)
	ipv4Pattern     = regexp.MustCompile(`^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$`)
)

// infodictMembers are the exact members of an infodict.
var infodictMembers = []string{"node_id", "node_ip", "node_port", "vessel_id", "handle", "is_active", "expires_in_seconds"}

// parseInfodicts checks that res is an array of infodicts with exactly
// the 7 members and their XML-RPC types, and returns them with every
// problem found.
func parseInfodicts(res any) ([]vinfo, []string) {
	list, ok := res.([]any)
	if !ok {
		return nil, []string{fmt.Sprintf("result is %s, want an array of infodicts", typeName(res))}
	}
	var out []vinfo
	var problems []string
	for i, el := range list {
		m, ok := el.(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("[%d] is %s, want a struct", i, typeName(el)))
			continue
		}
		var v vinfo
		bad := func(key, want string) {
			problems = append(problems, fmt.Sprintf("[%d].%s is %s, want %s", i, key, typeName(m[key]), want))
		}
		for key := range m {
			if !contains(infodictMembers, key) {
				problems = append(problems, fmt.Sprintf("[%d] has the extra member %q (want exactly the 7 of §4.1)", i, key))
			}
		}
		var okS bool
		if v.NodeID, okS = m["node_id"].(string); !okS {
			bad("node_id", "a string")
		}
		if v.NodeIP, okS = m["node_ip"].(string); !okS {
			bad("node_ip", "a string")
		}
		if v.VesselID, okS = m["vessel_id"].(string); !okS {
			bad("vessel_id", "a string")
		}
		if v.Handle, okS = m["handle"].(string); !okS {
			bad("handle", "a string")
		}
		if p, ok := m["node_port"].(int64); ok {
			v.NodePort = p
		} else {
			bad("node_port", "an int")
		}
		if a, ok := m["is_active"].(bool); ok {
			v.Active = a
		} else {
			bad("is_active", "a boolean")
		}
		if e, ok := m["expires_in_seconds"].(int64); ok {
			v.Expires = e
		} else {
			bad("expires_in_seconds", "an int")
		}
		if v.NodeID != "" && v.VesselID != "" && v.Handle != v.NodeID+":"+v.VesselID {
			problems = append(problems, fmt.Sprintf("[%d].handle %q is not node_id:vessel_id", i, v.Handle))
		}
		if strings.Contains(v.NodeID, ":") {
			problems = append(problems, fmt.Sprintf("[%d].node_id contains ':'", i))
		}
		if v.VesselID != "" && !vesselIDPattern.MatchString(v.VesselID) {
			problems = append(problems, fmt.Sprintf("[%d].vessel_id %q is not v<number>", i, v.VesselID))
		}
		if v.NodeIP != "" && !strings.HasPrefix(v.NodeIP, "NAT$") && !ipv4Pattern.MatchString(v.NodeIP) {
			problems = append(problems, fmt.Sprintf("[%d].node_ip %q is neither dotted IPv4 nor NAT$...", i, v.NodeIP))
		}
		if v.NodePort < 1 || v.NodePort > 65535 {
			problems = append(problems, fmt.Sprintf("[%d].node_port %d is not a port", i, v.NodePort))
		}
		out = append(out, v)
	}
	return out, problems
}

// typeName describes a decoded value by its XML-RPC type.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "missing or nil"
	case string:
		return "a string"
	case int64:
		return "an int"
	case bool:
		return "a boolean"
	case float64:
		return "a double"
	case []any:
		return "an array"
	case map[string]any:
		return "a struct"
	case []byte:
		return "base64"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// infodicts parses a result that must be infodicts, reporting shape
// problems as failures, and checks the count when n >= 0.
func (s *session) infodicts(t T, what string, res any, n int) []vinfo {
	t.Helper()
	vs, problems := parseInfodicts(res)
	for _, p := range problems {
		s.errorf(t, "%s: %s", what, p)
	}
	if n >= 0 && len(vs) != n {
		s.errorf(t, "%s: have %d infodicts, want %d", what, len(vs), n)
	}
	return vs
}

func handlesOf(vs []vinfo) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Handle
	}
	return out
}

// handleArgs turns handles into an XML-RPC array argument.
func handleArgs(hs ...string) []any {
	out := make([]any, len(hs))
	for i, h := range hs {
		out[i] = h
	}
	return out
}

// handlesIn returns the handles a result carries, even a malformed one,
// so that nothing acquired escapes the ledger; whole says the result is
// a list and every element of it named a handle.
func handlesIn(res any) (hs []string, whole bool) {
	list, whole := res.([]any)
	for _, el := range list {
		m, _ := el.(map[string]any)
		if h, ok := m["handle"].(string); ok {
			hs = append(hs, h)
		} else if n, ok := m["node_id"].(string); ok {
			if v, ok := m["vessel_id"].(string); ok {
				hs = append(hs, n+":"+v)
				continue
			}
			whole = false
		} else {
			whole = false
		}
	}
	return hs, whole
}

// acquire calls acquire_resources for a with rspec, a call that may
// succeed. It claims budget for what the call asks (at least 1, and
// mayTake if more) first; vessels it returns go into the ledger, and
// after a lost answer the suite looks (see budget.go).
func (s *session) acquire(t T, a *acct, rspec any, mayTake int) (any, error) {
	t.Helper()
	return s.acquiring(t, "acquire_resources", []any{s.auth(a), rspec}, max(mayTake, rspecCount(rspec)), false)
}

// acquireFault is acquire for a call that must fail: whatever a wrong
// success gives is released at once, and fails the check.
func (s *session) acquireFault(t T, a *acct, rspec any, mayTake int) error {
	t.Helper()
	_, err := s.acquiring(t, "acquire_resources", []any{s.auth(a), rspec}, max(mayTake, rspecCount(rspec)), true)
	return err
}

// acquireN acquires n vessels of typ for a and checks the result's shape,
// count and lease. Against a target that is not the mock, a 105 (the
// deployment cannot satisfy the request right now) skips the check.
func (s *session) acquireN(t T, a *acct, typ string, n int) []vinfo {
	t.Helper()
	what := fmt.Sprintf("acquire_resources(%s, %d)", typ, n)
	res, err := s.acquire(t, a, map[string]any{"rspec_type": typ, "number_of_nodes": n}, n)
	if err != nil {
		if faultCode(err) == 105 && !s.mock {
			s.wantFaultPrefix(t, what, err, 105, msgUnable)
			s.skipf(t, "the deployment cannot satisfy %s now: %v", what, err)
		}
		s.fatalf(t, "%s: %v", what, err)
	}
	vs := s.infodicts(t, what, res, n)
	s.checkLease(t, what, vs, acquireLease)
	return vs
}

// Lease lengths in seconds (contract §9).
const (
	acquireLease = 4 * 60 * 60
	renewLease   = 7 * 24 * 60 * 60
)

// checkLease checks that every vessel's expires_in_seconds is a fresh
// lease of the given length: at most it, and at least it minus the slack.
func (s *session) checkLease(t T, what string, vs []vinfo, lease int64) {
	t.Helper()
	for _, v := range vs {
		if v.Expires > lease || v.Expires < lease-s.slack {
			s.errorf(t, "%s: %s expires in %d s, want a fresh lease of %d s (within %d s)", what, v.Handle, v.Expires, lease, s.slack)
		}
	}
}

// specific calls acquire_specific_vessels, claiming mayTake vessels of
// budget: how many of the listed vessels a could get that it does not
// hold (0 for a list naming no vessel the server has). Returned vessels
// go into the ledger.
func (s *session) specific(t T, a *acct, list any, mayTake int) (any, error) {
	t.Helper()
	return s.acquiring(t, "acquire_specific_vessels", []any{s.auth(a), list}, mayTake, false)
}

// specificFault is specific for a call that must fail: whatever a wrong
// success gives is released at once, and fails the check.
func (s *session) specificFault(t T, a *acct, list any, mayTake int) error {
	t.Helper()
	_, err := s.acquiring(t, "acquire_specific_vessels", []any{s.auth(a), list}, mayTake, true)
	return err
}

// mustSpecific is specific for a call that must succeed: it fails the
// check on a fault, and returns the vessels, checking their count when
// n >= 0 (as infodicts does). what names the call in messages.
func (s *session) mustSpecific(t T, what string, a *acct, mayTake, n int, hs ...string) []vinfo {
	t.Helper()
	res, err := s.specific(t, a, handleArgs(hs...), mayTake)
	if err != nil {
		s.fatalf(t, "%s: %v", what, err)
	}
	return s.infodicts(t, what, res, n)
}

// release calls release_resources with the handles; on success the ledger
// forgets them.
func (s *session) release(t T, a *acct, hs ...string) error {
	t.Helper()
	res, err := s.call(t, "release_resources", s.auth(a), handleArgs(hs...))
	if err == nil {
		s.disown(a, hs...)
		s.wantIntZero(t, "release_resources", res)
	}
	return err
}

func (s *session) mustRelease(t T, a *acct, hs ...string) {
	t.Helper()
	if err := s.release(t, a, hs...); err != nil {
		s.fatalf(t, "release_resources: %v", err)
	}
}

func (s *session) renew(t T, a *acct, hs ...string) error {
	t.Helper()
	res, err := s.call(t, "renew_resources", s.auth(a), handleArgs(hs...))
	if err == nil {
		s.wantIntZero(t, "renew_resources", res)
	}
	return err
}

func (s *session) mustRenew(t T, a *acct, hs ...string) {
	t.Helper()
	if err := s.renew(t, a, hs...); err != nil {
		s.fatalf(t, "renew_resources: %v", err)
	}
}

// wantIntZero checks the "returns nothing" result: the int 0, never nil
// (contract §1, §15).
func (s *session) wantIntZero(t T, what string, res any) {
	t.Helper()
	if n, ok := res.(int64); !ok || n != 0 {
		s.errorf(t, "%s returned %s %v, want the int 0", what, typeName(res), res)
	}
}

// holding returns a's vessels from get_resource_info.
func (s *session) holding(t T, a *acct) []vinfo {
	t.Helper()
	res := s.mustCall(t, "get_resource_info", s.auth(a))
	return s.infodicts(t, "get_resource_info", res, -1)
}

// holdingMap is holding keyed by handle.
func (s *session) holdingMap(t T, a *acct) map[string]vinfo {
	t.Helper()
	m := map[string]vinfo{}
	for _, v := range s.holding(t, a) {
		m[v.Handle] = v
	}
	return m
}

// acctInfo is get_account_info's result.
type acctInfo struct {
	UserPort, MaxVessels int64
	UserName, Affil      string
}

func (s *session) accountInfo(t T, a *acct) acctInfo {
	t.Helper()
	res := s.mustCall(t, "get_account_info", s.auth(a))
	info, problems := parseAccountInfo(res)
	for _, p := range problems {
		s.errorf(t, "get_account_info: %s", p)
	}
	return info
}

// parseAccountInfo checks the exact 4 members of §4.2 and their types.
func parseAccountInfo(res any) (acctInfo, []string) {
	m, ok := res.(map[string]any)
	if !ok {
		return acctInfo{}, []string{"result is " + typeName(res) + ", want a struct"}
	}
	var info acctInfo
	var problems []string
	want := map[string]string{"user_port": "an int", "user_name": "a string", "max_vessels": "an int", "user_affiliation": "a string"}
	for k := range m {
		if _, ok := want[k]; !ok {
			problems = append(problems, fmt.Sprintf("extra member %q (want exactly the 4 of §4.2)", k))
		}
	}
	for k, w := range want {
		if typeName(m[k]) != w {
			problems = append(problems, fmt.Sprintf("%s is %s, want %s", k, typeName(m[k]), w))
		}
	}
	info.UserPort, _ = m["user_port"].(int64)
	info.MaxVessels, _ = m["max_vessels"].(int64)
	info.UserName, _ = m["user_name"].(string)
	info.Affil, _ = m["user_affiliation"].(string)
	return info, problems
}

// subnetOf is the text before the last '.' of an IPv4 address.
func subnetOf(ip string) string {
	if i := strings.LastIndexByte(ip, '.'); i >= 0 {
		return ip[:i]
	}
	return ""
}

// must fails the check on a control error.
func (s *session) must(t T, what string, err error) {
	t.Helper()
	if err != nil {
		s.fatalf(t, "control %s: %v", what, err)
	}
}
