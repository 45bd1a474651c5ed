package conformance

import (
	"context"
	"strings"
	"time"
)

// pyValues are one decoded value of every §1.1 class that is not a str,
// with the text Python 2's str(type(x)) gives for it.
var pyValues = []struct {
	name string
	v    any
	text string
}{
	{"unicode", "nön-ascii", "<type 'unicode'>"},
	{"int", int64(5), "<type 'int'>"},
	{"bool", true, "<type 'bool'>"},
	{"double", 1.5, "<type 'float'>"},
	{"dateTime", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), "<type 'instance'>"},
	{"base64", []byte("x"), "<type 'instance'>"},
	{"array", []any{"a"}, "<type 'list'>"},
	{"struct", map[string]any{"a": "b"}, "<type 'dict'>"},
	{"nil", nil, "<type 'NoneType'>"},
}

// authMethods are the methods that take auth, each with a second argument
// (if any) that would be invalid, to show that auth comes first (§3).
var authMethods = []struct {
	name string
	rest []any
}{
	{"acquire_resources", []any{map[string]any{}}},
	{"acquire_specific_vessels", []any{[]any{}}},
	{"release_resources", []any{[]any{}}},
	{"renew_resources", []any{[]any{}}},
	{"get_resource_info", nil},
	{"get_account_info", nil},
	{"get_public_key", nil},
}

// Auth: the auth and pwauth structs (contract §3).
func authChecks() []check {
	return []check{
		{"NotAStruct", needs{}, checkAuthNotAStruct},
		{"MissingMembers", needs{}, checkAuthMissingMembers},
		{"NonStringMembers", needs{}, checkAuthNonStringMembers},
		{"WrongKey", needs{}, checkAuthWrongKey},
		{"UnknownUser", needs{}, checkAuthUnknownUser},
		{"KeyExact", needs{}, checkAuthKeyExact},
		{"UsernameCase", needs{mock: true}, checkAuthUsernameCase},
		{"ExtraMembers", needs{}, checkAuthExtraMembers},
		{"UntypedStrings", needs{}, checkAuthUntypedStrings},
		{"PasswordAuth", needs{}, checkPasswordAuth},
		{"InactiveAccount", needs{controls: true, vessels: 1, expectsFaults: true}, checkInactiveAccount},
	}
}

func checkAuthNotAStruct(t T, s *session) {
	all := append([]struct {
		name string
		v    any
		text string
	}{{"str", "not a dict", "<type 'str'>"}}, pyValues...)
	for _, c := range all {
		if c.name == "struct" {
			continue
		}
		_, err := s.call(t, "get_account_info", c.v)
		s.wantFault(t, "get_account_info("+c.name+")", err, 102, msgAuthNotDict+c.text)
	}
	for _, m := range authMethods {
		_, err := s.call(t, m.name, append([]any{"not a dict"}, m.rest...)...)
		s.wantFault(t, m.name, err, 102, msgAuthNotDict+"<type 'str'>")
	}
}

func checkAuthMissingMembers(t T, s *session) {
	a := s.main()
	cases := map[string]map[string]any{
		"empty":          {},
		"username only":  {"username": a.name},
		"api_key only":   {"api_key": s.key(a)},
		"other case":     {"Username": a.name, "API_KEY": s.key(a)},
		"password":       {"username": a.name, "password": "x"},
		"non-string too": {"username": int64(5)}, // missing comes before the type check
	}
	for what, auth := range cases {
		_, err := s.call(t, "get_account_info", auth)
		s.wantFault(t, what, err, 102, msgAuthMissing)
	}
	for _, m := range authMethods {
		_, err := s.call(t, m.name, append([]any{map[string]any{"username": a.name}}, m.rest...)...)
		s.wantFault(t, m.name, err, 102, msgAuthMissing)
	}
}

// checkAuthNonStringMembers: a username or api_key that is not a string
// gives fault 100, and that is checked before the user is looked up.
func checkAuthNonStringMembers(t T, s *session) {
	a := s.main()
	for _, c := range pyValues {
		if c.name == "unicode" {
			continue // any string is fine (§3 step 3)
		}
		_, err := s.call(t, "get_account_info", map[string]any{"username": a.name, "api_key": c.v})
		s.wantFault(t, "api_key "+c.name, err, 100, msgInternal)
		_, err = s.call(t, "get_account_info", map[string]any{"username": c.v, "api_key": s.key(a)})
		s.wantFault(t, "username "+c.name, err, 100, msgInternal)
	}
	for _, m := range authMethods {
		_, err := s.call(t, m.name, append([]any{map[string]any{"username": int64(1), "api_key": "x"}}, m.rest...)...)
		s.wantFault(t, m.name, err, 100, msgInternal)
	}
}

// checkAuthWrongKey: bad auth with any arguments gives 101 on every
// method (§3, §13): authentication comes before argument validation.
func checkAuthWrongKey(t T, s *session) {
	a := s.main()
	for _, m := range authMethods {
		_, err := s.call(t, m.name, append([]any{s.badAuth(a)}, m.rest...)...)
		s.wantFault(t, m.name, err, 101, msgAuthFailed)
	}
	bad := s.badAuth(a)
	for what, args := range map[string][]any{
		"acquire_resources with a string rspec":  {bad, "not a dict"},
		"acquire_resources with a valid rspec":   {bad, map[string]any{"rspec_type": "random", "number_of_nodes": 1}},
		"renew_resources with a string list":     {bad, "x"},
		"release_resources with an int element":  {bad, []any{int64(1)}},
		"acquire_specific_vessels with a handle": {bad, []any{"no-such-node:v2"}},
	} {
		_, err := s.call(t, strings.Fields(what)[0], args...)
		s.wantFault(t, what, err, 101, msgAuthFailed)
	}
}

func checkAuthUnknownUser(t T, s *session) {
	for what, name := range map[string]string{
		"an unknown user":          s.nobody(),
		"a non-ASCII username":     "nöbody_" + s.runID,
		"an empty username":        "",
		"the username of a handle": "node:v2",
	} {
		for _, m := range authMethods {
			_, err := s.call(t, m.name, append([]any{map[string]any{"username": name, "api_key": s.key(s.main())}}, m.rest...)...)
			s.wantFault(t, what+": "+m.name, err, 101, msgAuthFailed)
		}
	}
}

// checkAuthKeyExact: the api_key comparison is exact and case-sensitive.
func checkAuthKeyExact(t T, s *session) {
	a := s.main()
	key := s.key(a)
	variants := map[string]string{
		"empty":             "",
		"trailing space":    key + " ",
		"leading space":     " " + key,
		"one character cut": key[:len(key)-1],
		"doubled":           key + key,
	}
	if swapped := swapCase(key); swapped != key {
		variants["case swapped"] = swapped
	}
	for _, k := range variants {
		s.addSecrets(k) // derived from the key: as secret as the key
	}
	for what, k := range variants {
		_, err := s.call(t, "get_account_info", map[string]any{"username": a.name, "api_key": k})
		s.wantFault(t, what, err, 101, msgAuthFailed)
	}
}

func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, s)
}

// checkAuthUsernameCase: the mock's username lookup is exact and
// case-sensitive (mock decision §3; historically it followed the
// database's collation).
func checkAuthUsernameCase(t T, s *session) {
	a := s.main()
	variants := map[string]string{"username with a space added": a.name + " "}
	if swapCase(a.name) != a.name {
		variants["username case swapped"] = swapCase(a.name)
	}
	for what, name := range variants {
		_, err := s.call(t, "get_account_info", map[string]any{"username": name, "api_key": s.key(a)})
		s.wantFault(t, what, err, 101, msgAuthFailed)
	}
}

// checkAuthExtraMembers: extra struct keys are ignored (§1.1).
func checkAuthExtraMembers(t T, s *session) {
	a := s.main()
	auth := s.auth(a)
	auth["password"] = "ignored"
	auth["extra"] = []any{int64(1)}
	res, err := s.call(t, "get_account_info", auth)
	if err != nil {
		s.errorf(t, "get_account_info with extra auth members: %v", err)
		return
	}
	if info, _ := parseAccountInfo(res); info.UserName != a.name {
		s.errorf(t, "get_account_info with extra auth members: user_name %q, want %q", info.UserName, a.name)
	}
}

// checkAuthUntypedStrings: an untyped <value> is a string (§1.1).
func checkAuthUntypedStrings(t T, s *session) {
	a := s.main()
	res, err := s.rawCall(t, xmlDoc("get_account_info", xmlStruct("username", xmlUntyped(a.name), "api_key", xmlUntyped(s.key(a)))))
	if err != nil {
		s.errorf(t, "get_account_info with untyped auth values: %v", err)
		return
	}
	if info, _ := parseAccountInfo(res); info.UserName != a.name {
		s.errorf(t, "get_account_info with untyped auth values: user_name %q, want %q", info.UserName, a.name)
	}
}

// checkPasswordAuth: the pwauth struct of regenerate_api_key and
// set_public_key (§3). Every call here fails authentication or an
// earlier step, so nothing changes.
func checkPasswordAuth(t T, s *session) {
	a := s.main()
	wrong := "conformance-wrong-password-" + s.runID
	for _, m := range []struct {
		name string
		rest []any
	}{
		{"regenerate_api_key", nil},
		{"set_public_key", []any{int64(5)}}, // an invalid key: authentication comes first
	} {
		call := func(what string, first any, code int, want string) {
			t.Helper()
			_, err := s.call(t, m.name, append([]any{first}, m.rest...)...)
			s.wantFault(t, m.name+" "+what, err, code, want)
		}
		call("with a string", "not a dict", 102, msgAuthNotDict+"<type 'str'>")
		call("with an array", []any{}, 102, msgAuthNotDict+"<type 'list'>")
		call("with an api_key instead of the password", s.auth(a), 102, msgPwAuthMissing)
		call("with no members", map[string]any{}, 102, msgPwAuthMissing)
		call("with only a password", map[string]any{"password": wrong}, 102, msgPwAuthMissing)
		call("with an int password", map[string]any{"username": a.name, "password": int64(5)}, 100, msgInternal)
		call("with an int username", map[string]any{"username": int64(5), "password": wrong}, 100, msgInternal)
		call("with a wrong password", map[string]any{"username": a.name, "password": wrong}, 101, msgAuthFailed)
		call("with the API key as password", map[string]any{"username": a.name, "password": s.key(a)}, 101, msgAuthFailed)
		call("with an unknown user", map[string]any{"username": s.nobody(), "password": wrong}, 101, msgAuthFailed)
	}
}

// checkInactiveAccount: an inactive account behaves exactly like a
// missing one on every path (§3, §5.8).
func checkInactiveAccount(t T, s *session) {
	c := s.controls()
	a := s.newAccount(t, 1)
	s.accountInfo(t, a) // works while active
	s.must(t, "SetAccountActive", c.SetAccountActive(s.ctx(t), a.name, false))
	t.Cleanup(func() {
		if err := s.cleanupDo(func(ctx context.Context) error { return c.SetAccountActive(ctx, a.name, true) }); err != nil {
			s.errorf(t, "cleanup: reactivating %s: %v", a.name, err)
		}
	})
	for _, m := range authMethods {
		_, err := s.call(t, m.name, append([]any{s.auth(a)}, m.rest...)...)
		s.wantFault(t, m.name, err, 101, msgAuthFailed)
	}
	_, err := s.call(t, "get_encrypted_api_key", a.name)
	s.wantFault(t, "get_encrypted_api_key", err, 102, msgNoUser)
	pw := map[string]any{"username": a.name, "password": a.password}
	_, err = s.call(t, "regenerate_api_key", pw)
	s.wantFault(t, "regenerate_api_key", err, 101, msgAuthFailed)
	_, err = s.call(t, "set_public_key", pw, "3 55")
	s.wantFault(t, "set_public_key", err, 101, msgAuthFailed)
}

// AccountInfo: get_account_info and credits (contract §4.2, §6, §7).
func accountInfoChecks() []check {
	return []check{
		{"Shape", needs{}, checkAccountInfoShape},
		{"Stable", needs{}, checkAccountInfoStable},
		{"NotReducedByHoldings", needs{vessels: 1}, checkMaxNotReduced},
		{"Donations", needs{controls: true}, checkDonationCredits},
		{"VesselsHaveUserPort", needs{controls: true, vessels: 2}, checkVesselsHaveUserPort},
		{"ResourceInfoEmpty", needs{controls: true}, checkResourceInfoEmpty},
	}
}

func checkAccountInfoShape(t T, s *session) {
	for _, a := range s.accounts {
		info := s.accountInfo(t, a)
		if info.UserName != a.name {
			s.errorf(t, "%s: user_name %q, want the username", a.name, info.UserName)
		}
		if info.UserPort < 63100 || info.UserPort > 63179 {
			s.errorf(t, "%s: user_port %d outside 63100-63179 (§7)", a.name, info.UserPort)
		}
		if info.MaxVessels < 0 {
			s.errorf(t, "%s: max_vessels %d is negative", a.name, info.MaxVessels)
		}
	}
}

func checkAccountInfoStable(t T, s *session) {
	a := s.main()
	first := s.accountInfo(t, a)
	for range 3 {
		if again := s.accountInfo(t, a); again != first {
			s.errorf(t, "get_account_info changed between calls: %+v, then %+v", first, again)
		}
	}
}

// checkMaxNotReduced: max_vessels is the total, not reduced by the
// vessels held (§4.2).
func checkMaxNotReduced(t T, s *session) {
	a := s.main()
	before := s.accountInfo(t, a).MaxVessels
	s.acquireN(t, a, "random", 1)
	if after := s.accountInfo(t, a).MaxVessels; after != before {
		s.errorf(t, "max_vessels %d after acquiring a vessel, want %d as before", after, before)
	}
}

// checkDonationCredits: max_vessels = free credits + 10 per donation on
// an active, non-broken node (§6).
func checkDonationCredits(t T, s *session) {
	c := s.controls()
	a := s.newAccount(t, 3)
	want := func(what string, n int64) {
		t.Helper()
		if have := s.accountInfo(t, a).MaxVessels; have != n {
			s.errorf(t, "%s: max_vessels %d, want %d", what, have, n)
		}
	}
	want("3 free credits", 3)
	nodes := s.addNodes(t, 2, ownSubnets)
	s.must(t, "AddDonation", c.AddDonation(s.ctx(t), nodes[0], a.name))
	want("one donation", 13)
	s.must(t, "SetNodeActive", c.SetNodeActive(s.ctx(t), nodes[0], false))
	want("the donated node inactive", 3)
	s.must(t, "SetNodeActive", c.SetNodeActive(s.ctx(t), nodes[0], true))
	want("the donated node active again", 13)
	s.must(t, "SetNodeBroken", c.SetNodeBroken(s.ctx(t), nodes[0], true))
	want("the donated node broken", 3)
	s.must(t, "SetNodeBroken", c.SetNodeBroken(s.ctx(t), nodes[0], false))
	want("the donated node repaired", 13)
	s.must(t, "AddDonation", c.AddDonation(s.ctx(t), nodes[1], a.name))
	want("two donations", 23)
	s.must(t, "SetFreeCredits", c.SetFreeCredits(s.ctx(t), a.name, 0))
	want("no free credits, two donations", 20)
}

// checkVesselsHaveUserPort: every vessel acquire_resources hands out
// owns the user's port (§7), seen through Controls.
func checkVesselsHaveUserPort(t T, s *session) {
	a := s.main()
	port := s.userPort(t, a)
	vs := append(s.acquireN(t, a, "random", 1), s.acquireN(t, a, "wan", 1)...)
	held, err := s.controls().Holdings(s.ctx(t), a.name)
	s.must(t, "Holdings", err)
	for _, v := range vs {
		found := false
		for _, h := range held {
			if h.Handle == v.Handle {
				found = true
				if !containsInt(h.Ports, port) {
					s.errorf(t, "vessel %s has ports %v, which lack the user's port %d", v.Handle, h.Ports, port)
				}
			}
		}
		if !found {
			s.errorf(t, "Controls do not show %s among the holdings", v.Handle)
		}
	}
}

func containsInt(list []int, x int) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// checkResourceInfoEmpty: an account without vessels gets an empty array
// (§5.5), not nil and not a fault.
func checkResourceInfoEmpty(t T, s *session) {
	a := s.newAccount(t, 1)
	res := s.mustCall(t, "get_resource_info", s.auth(a))
	if list, ok := res.([]any); !ok || len(list) != 0 {
		s.errorf(t, "get_resource_info of a new account: %s %v, want an empty array", typeName(res), res)
	}
}
