package conformance

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// HTTP: transport behaviour (contract §1).
func httpChecks() []check {
	return []check{
		{"BannerGET", needs{}, checkBannerGET},
		{"BannerEmptyPOST", needs{}, checkBannerEmptyPOST},
		{"BannerOtherMethods", needs{}, checkBannerOtherMethods},
		{"HEAD", needs{}, checkHEAD},
		{"ContentLength", needs{}, checkContentLength},
		{"AnyContentType", needs{}, checkAnyContentType},
		{"PathVariants", needs{}, checkPathVariants},
		{"MalformedBody", needs{}, checkMalformedBody},
		{"OtherPaths404", needs{mock: true}, checkOtherPaths404},
		{"ReplyContentType", needs{mock: true}, checkReplyContentType},
	}
}

// wantBanner checks the HTML banner answer of §1; head means no body.
func (s *session) wantBanner(t T, what string, resp *http.Response, body []byte, head bool) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		s.errorf(t, "%s: HTTP status %s, want 200 OK", what, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		s.errorf(t, "%s: Content-Type %q, want %q", what, ct, "text/html; charset=utf-8")
	}
	if len(resp.TransferEncoding) > 0 || resp.ContentLength < 0 {
		s.errorf(t, "%s: no explicit Content-Length (transfer encoding %v)", what, resp.TransferEncoding)
	} else if resp.ContentLength != int64(len(banner)) {
		s.errorf(t, "%s: Content-Length %d, want %d (the banner's length)", what, resp.ContentLength, len(banner))
	}
	switch {
	case head && len(body) != 0:
		s.errorf(t, "%s: a HEAD answer has a body of %d bytes", what, len(body))
	case !head && string(body) != banner:
		s.errorf(t, "%s: body\nhave %q\nwant %q", what, body, banner)
	}
}

func checkBannerGET(t T, s *session) {
	resp, body := s.do(t, http.MethodGet, "", "", nil)
	s.wantBanner(t, "GET", resp, body, false)
}

func checkBannerEmptyPOST(t T, s *session) {
	resp, body := s.do(t, http.MethodPost, "", "text/xml", []byte{})
	s.wantBanner(t, "POST with an empty body", resp, body, false)
}

func checkBannerOtherMethods(t T, s *session) {
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodOptions} {
		resp, body := s.do(t, m, "", "", nil)
		s.wantBanner(t, m, resp, body, false)
	}
}

func checkHEAD(t T, s *session) {
	resp, body := s.do(t, http.MethodHead, "", "", nil)
	s.wantBanner(t, "HEAD", resp, body, true)
}

// accountInfoDoc is a get_account_info call for a, as raw XML.
func (s *session) accountInfoDoc(a *acct) string {
	return xmlDoc("get_account_info", xmlStruct("username", xmlStr(a.name), "api_key", xmlStr(s.key(a))))
}

// checkContentLength: XML-RPC replies, results and faults alike, are HTTP
// 200 with an explicit Content-Length (§1).
func checkContentLength(t T, s *session) {
	a := s.main()
	docs := map[string]string{
		"a result": s.accountInfoDoc(a),
		"a fault":  xmlDoc("get_account_info", xmlStruct("username", xmlStr(s.nobody()), "api_key", xmlStr("x"))),
	}
	for what, doc := range docs {
		resp, body := s.do(t, http.MethodPost, "", "text/xml", []byte(doc))
		if resp.StatusCode != http.StatusOK {
			s.errorf(t, "%s: HTTP status %s, want 200 OK (faults travel inside HTTP 200)", what, resp.Status)
		}
		if len(resp.TransferEncoding) > 0 || resp.ContentLength != int64(len(body)) {
			s.errorf(t, "%s: Content-Length %d for a body of %d bytes (transfer encoding %v); want an explicit, exact Content-Length",
				what, resp.ContentLength, len(body), resp.TransferEncoding)
		}
	}
}

// checkAnyContentType: the handler accepts any request content type (§1).
func checkAnyContentType(t T, s *session) {
	a := s.main()
	for _, ct := range []string{"text/xml", "application/xml", "application/x-www-form-urlencoded", "application/octet-stream", ""} {
		resp, body := s.do(t, http.MethodPost, "", ct, []byte(s.accountInfoDoc(a)))
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<methodResponse>") ||
			strings.Contains(string(body), "<fault>") {
			s.errorf(t, "Content-Type %q: have HTTP %s with body %.120q, want a get_account_info result", ct, resp.Status, body)
		}
	}
}

// checkPathVariants: every path beginning with /xmlrpc reaches the handler (§1).
func checkPathVariants(t T, s *session) {
	u, err := url.Parse(s.url())
	if err != nil || (u.Path != "/xmlrpc/" && u.Path != "/xmlrpc") {
		s.skipf(t, "the target's URL path is not /xmlrpc/, so the variants cannot be derived")
	}
	doc := []byte(s.accountInfoDoc(s.main()))
	for _, p := range []string{"/xmlrpc", "/xmlrpc/", "/xmlrpc/further/segments"} {
		resp, body := s.do(t, http.MethodPost, p, "text/xml", doc)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<name>user_name</name>") {
			s.errorf(t, "POST %s: have HTTP %s with body %.120q, want a get_account_info result", p, resp.Status, body)
		}
	}
}

// checkMalformedBody: a body that is not a methodCall gets fault 1 (§2
// step 1); the mock's string starts with the expat class (mock decision).
func checkMalformedBody(t T, s *session) {
	for what, doc := range map[string]string{
		"not XML":                 "this is not XML",
		"a methodResponse":        `<?xml version="1.0"?><methodResponse><params><param><value><int>1</int></value></param></params></methodResponse>`,
		"a truncated document":    `<?xml version="1.0"?><methodCall><methodName>get_account_info</methodName><params><param><value><struct>`,
		"white space only":        "  \n ",
		"two values in one param": `<?xml version="1.0"?><methodCall><methodName>get_account_info</methodName><params><param><value><int>1</int></value><value><int>2</int></value></param></params></methodCall>`,
	} {
		_, err := s.rawCall(t, doc)
		if s.mock {
			s.wantFaultPrefix(t, what, err, 1, msgExpatPrefix)
		} else {
			s.wantFault(t, what, err, 1, "")
		}
	}
}

// checkOtherPaths404: paths outside /xmlrpc answer 404 (mock decision
// §1). "/" and "/status" are left out: issue 6 puts the mock's status
// page there, which the contract's text does not foresee yet.
func checkOtherPaths404(t T, s *session) {
	for _, p := range []string{"/RPC2", "/XMLRPC/", "/xml", "/api/xmlrpc/", "/favicon.ico"} {
		resp, _ := s.do(t, http.MethodGet, p, "", nil)
		if resp.StatusCode != http.StatusNotFound {
			s.errorf(t, "GET %s: HTTP status %s, want 404", p, resp.Status)
		}
	}
}

// checkReplyContentType: XML-RPC replies are text/xml; charset=utf-8
// (mock decision §1).
func checkReplyContentType(t T, s *session) {
	for i, doc := range []string{s.accountInfoDoc(s.main()), xmlDoc("no_such_method")} {
		resp, _ := s.do(t, http.MethodPost, "", "text/xml", []byte(doc))
		if ct := resp.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
			s.errorf(t, "reply %d: Content-Type %q, want %q", i, ct, "text/xml; charset=utf-8")
		}
	}
}

// Dispatch: method lookup and arity (contract §2).
func dispatchChecks() []check {
	return []check{
		{"UnknownMethod", needs{}, checkUnknownMethod},
		{"SystemMethods", needs{}, checkSystemMethods},
		{"PrivateNames", needs{mock: true}, checkPrivateNames},
		{"Arity", needs{}, checkArity},
		{"DecoderLimits", needs{mock: true, vessels: 1, expectsFaults: true}, checkDecoderLimits},
	}
}

func checkUnknownMethod(t T, s *session) {
	for _, name := range []string{"no_such_method", "acquire_resource", "GET_ACCOUNT_INFO", "getAccountInfo", "get.account.info"} {
		_, err := s.call(t, name, s.badAuth(s.main()))
		s.wantFault(t, name, err, 1, unknownMethodMsg(name))
	}
}

// checkSystemMethods: no system.* methods exist (§1, §2).
func checkSystemMethods(t T, s *session) {
	for name, args := range map[string][]any{
		"system.listMethods":     nil,
		"system.methodHelp":      {"get_account_info"},
		"system.methodSignature": {"get_account_info"},
		"system.multicall":       {[]any{map[string]any{"methodName": "get_account_info", "params": []any{s.badAuth(s.main())}}}},
		"system.getCapabilities": nil,
	} {
		_, err := s.call(t, name, args...)
		s.wantFault(t, name, err, 1, unknownMethodMsg(name))
	}
}

// checkPrivateNames: only the 10 public names are reachable (§2, §14 item 2).
func checkPrivateNames(t T, s *session) {
	for _, name := range []string{"_dispatch", "__init__", "__class__", "_private", "authenticate"} {
		_, err := s.call(t, name, s.badAuth(s.main()))
		s.wantFault(t, name, err, 1, unknownMethodMsg(name))
	}
}

// methodArity lists the 10 methods and their parameter counts (§5).
var methodArity = []struct {
	name  string
	arity int
	pw    bool // takes pwauth
}{
	{"acquire_resources", 2, false},
	{"acquire_specific_vessels", 2, false},
	{"release_resources", 2, false},
	{"renew_resources", 2, false},
	{"get_resource_info", 1, false},
	{"get_account_info", 1, false},
	{"get_public_key", 1, false},
	{"get_encrypted_api_key", 1, false},
	{"regenerate_api_key", 1, true},
	{"set_public_key", 2, true},
}

// checkArity: too few or too many parameters give fault 100, before
// authentication (§2 step 3): every call here carries bad credentials.
func checkArity(t T, s *session) {
	a := s.main()
	for _, m := range methodArity {
		first := any(s.badAuth(a))
		switch {
		case m.pw:
			first = map[string]any{"username": a.name, "password": "conformance-wrong-password-" + s.runID}
		case m.name == "get_encrypted_api_key":
			first = s.nobody()
		}
		filler := []any{first, []any{}, map[string]any{}, "x"}
		for _, n := range []int{m.arity - 1, m.arity + 1, m.arity + 2} {
			if n < 0 {
				continue
			}
			_, err := s.call(t, m.name, filler[:n]...)
			s.wantFault(t, m.name+" with "+strconv.Itoa(n)+" parameters", err, 100, msgInternal)
		}
	}
	// A methodCall without a <params> element has no parameters.
	_, err := s.rawCall(t, `<?xml version="1.0"?><methodCall><methodName>get_account_info</methodName></methodCall>`)
	s.wantFault(t, "get_account_info without <params>", err, 100, msgInternal)
}

// checkDecoderLimits: values the mock's decoder rejects get fault 1
// (§14 item 4), with the expat prefix (mock decision §2).
func checkDecoderLimits(t T, s *session) {
	auth := xmlStruct("username", xmlStr(s.main().name), "api_key", xmlStr(s.key(s.main())))
	for what, v := range map[string]string{
		"an integer beyond int64": "<value><i8>99999999999999999999</i8></value>",
		"a NaN double":            "<value><double>NaN</double></value>",
		"an unparseable dateTime": "<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>",
		"junk base64":             "<value><base64>!!!</base64></value>",
	} {
		_, err := s.rawAcquire(t, s.main(), 1, true, xmlDoc("acquire_resources", auth, xmlStruct("rspec_type", xmlStr("random"), "number_of_nodes", v)))
		s.wantFaultPrefix(t, what, err, 1, msgExpatPrefix)
	}
	_, err := s.rawCall(t, `<?xml version="1.0"?><!DOCTYPE methodCall [<!ENTITY x "y">]><methodCall><methodName>get_account_info</methodName><params/></methodCall>`)
	s.wantFaultPrefix(t, "a DOCTYPE", err, 1, msgExpatPrefix)
}
