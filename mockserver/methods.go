package mockserver

import (
	"context"
	"crypto/subtle"
	"strconv"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// The ten wire methods (contract §5). Each checks its arguments in exactly
// the contract's order; the first failing step decides the fault. Every
// method runs as one atomic update of the state.

// authenticate checks an auth struct (secret "api_key") or a pwauth struct
// (secret "password") and returns the account (contract §3).
func (st *state) authenticate(v any, secret string) (int32, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return 0, invalidRequest("Auth dict must be a dictionary, not a " + pyType(v))
	}
	user, hasUser := m["username"]
	key, hasKey := m[secret]
	if !hasUser || !hasKey {
		if secret == "password" {
			return 0, invalidRequest("PasswordAuth dict must contain both a 'username' and an 'password'.")
		}
		return 0, invalidRequest("Auth dict must contain both a 'username' and an 'api_key'.")
	}
	username, ok1 := user.(string)
	given, ok2 := key.(string)
	if !ok1 || !ok2 {
		return 0, badArgument()
	}
	i, ok := st.byName[username]
	if !ok || !st.accounts[i].active {
		return 0, fault(codeAuthentication, authFailedText)
	}
	want := st.accounts[i].apiKey
	if secret == "password" {
		want = st.accounts[i].password
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(given)) != 1 {
		return 0, fault(codeAuthentication, authFailedText)
	}
	st.authed = i
	return i, nil
}

// resolveHandles looks up handles that are all strings, in order
// (contract §5.2 step 5).
func (st *state) resolveHandles(handles []any) ([]int32, error) {
	out := make([]int32, 0, len(handles))
	for _, h := range handles {
		s := h.(string)
		i := strings.IndexByte(s, ':')
		if i < 0 || strings.IndexByte(s[i+1:], ':') >= 0 {
			return nil, invalidRequest("Invalid vesselhandle: " + s)
		}
		nodeID, name := s[:i], s[i+1:]
		v, ok := st.vesselByHandle(nodeID, name)
		if !ok {
			return nil, invalidRequest("There is no vessel with the node identifier: " + nodeID +
				" and vessel name: " + name)
		}
		out = append(out, v)
	}
	return out, nil
}

func (st *state) infodicts(vs []int32, now int64) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = st.infodict(v, now)
	}
	return out
}

// acquireResources is acquire_resources(auth, rspec) (contract §5.1).
func (s *Server) acquireResources(ctx context.Context, params []any) (any, error) {
	var out any
	err := s.update(func(st *state, now int64) error {
		a, err := st.authenticate(params[0], "api_key")
		if err != nil {
			return err
		}
		rspec, ok := params[1].(map[string]any)
		if !ok {
			return invalidRequest("rspec is an invalid data type.")
		}
		typ, ok := rspec["rspec_type"]
		if !ok {
			return invalidRequest("rspec is missing rspec_type")
		}
		count, ok := rspec["number_of_nodes"]
		if !ok {
			return invalidRequest("rspec is missing number_of_nodes")
		}
		n, isInt := pyInt(count)
		if !isStr(typ) || !isInt {
			return invalidRequest("rspec has invalid data types.")
		}
		switch typ {
		case "wan", "lan", "nat", "random":
		default:
			return invalidRequest("rspec has invalid values.")
		}
		if n < 1 {
			return invalidRequest("rspec has invalid values.")
		}
		acct := st.accounts[a]
		if n > int64(st.maxVessels(acct)-len(acct.held)) {
			return fault(codeNotEnoughCredits, notEnoughCredits)
		}
		got, detail, ok := st.acquireByType(a, typ.(string), int(n), now)
		if !ok {
			return fault(codeUnableToAcquire, unableToAcquire+detail)
		}
		s.watch.acquired(acct.name, got, st.handle, len(acct.held), now, answerLost(ctx), flightOf(ctx))
		// Read the clock again, as the historical server did when it
		// built the reply: a running clock shows 14399.
		out = st.infodicts(got, s.clock.now())
		return nil
	})
	return out, err
}

// acquireSpecificVessels is acquire_specific_vessels(auth, handles)
// (contract §5.2).
func (s *Server) acquireSpecificVessels(ctx context.Context, params []any) (any, error) {
	var out any
	err := s.update(func(st *state, now int64) error {
		a, err := st.authenticate(params[0], "api_key")
		if err != nil {
			return err
		}
		list, ok := params[1].([]any)
		if !ok {
			return invalidRequest(badHandleList)
		}
		// De-duplicate, keeping the first occurrence in request order.
		seen := make(map[string]bool, len(list))
		handles := make([]any, 0, len(list))
		for _, h := range list {
			if s, ok := h.(string); ok {
				if seen[s] {
					continue
				}
				seen[s] = true
			}
			handles = append(handles, h)
		}
		for _, h := range handles {
			if !isString(h) {
				return badArgument()
			}
		}
		vs, err := st.resolveHandles(handles)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return invalidRequest(emptyHandleList)
		}
		acct := st.accounts[a]
		if len(vs) > st.maxVessels(acct)-len(acct.held) {
			return fault(codeNotEnoughCredits, notEnoughCredits)
		}
		got := make([]int32, 0, len(vs))
		for _, v := range vs {
			if st.tryTake(v, a, now) {
				got = append(got, v)
			}
		}
		s.watch.acquired(acct.name, got, st.handle, len(acct.held), now, answerLost(ctx), flightOf(ctx))
		out = st.infodicts(got, s.clock.now())
		return nil
	})
	return out, err
}

// releaseResources is release_resources(auth, handles) (contract §5.3).
func (s *Server) releaseResources(ctx context.Context, params []any) (any, error) {
	err := s.update(func(st *state, now int64) error {
		a, err := st.authenticate(params[0], "api_key")
		if err != nil {
			return err
		}
		list, ok := params[1].([]any)
		if !ok {
			return invalidRequest(badHandleList)
		}
		for _, h := range list {
			if !isString(h) {
				return badArgument()
			}
		}
		vs, err := st.resolveHandles(list)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return invalidRequest(emptyHandleList)
		}
		for _, v := range vs {
			if st.vessels[v].owner == a {
				st.release(v, now)
				s.watch.released(st.accounts[a].name, v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return 0, nil
}

// renewResources is renew_resources(auth, handles) (contract §5.4).
func (s *Server) renewResources(ctx context.Context, params []any) (any, error) {
	err := s.update(func(st *state, now int64) error {
		a, err := st.authenticate(params[0], "api_key")
		if err != nil {
			return err
		}
		list, ok := params[1].([]any)
		if !ok {
			return invalidRequest(badHandleList)
		}
		for _, h := range list {
			if !isStr(h) {
				return invalidRequest("Invalid data type for handle. Expected str, received " + pyType(h))
			}
		}
		vs, err := st.resolveHandles(list)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return invalidRequest(emptyHandleList)
		}
		acct := st.accounts[a]
		if held, max := len(acct.held), st.maxVessels(acct); held > max {
			return fault(codeNotEnoughCredits,
				"Vessels cannot be renewed because you are currently over your vessel credit limit: "+
					"Requested 0 vessels, already acquired "+strconv.Itoa(held)+", max allowed is "+strconv.Itoa(max))
		}
		for _, v := range vs {
			if st.vessels[v].owner == a {
				st.renew(v, now)
				s.watch.renewed(acct.name, v, st.handle, now)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return 0, nil
}

// getResourceInfo is get_resource_info(auth) (contract §5.5): the caller's
// vessels, ascending by handle.
func (s *Server) getResourceInfo(ctx context.Context, params []any) (any, error) {
	var out any
	err := s.update(func(st *state, now int64) error {
		a, err := st.authenticate(params[0], "api_key")
		if err != nil {
			return err
		}
		out = st.infodicts(st.heldSorted(a), now)
		if !answerLost(ctx) {
			s.watch.looked(st.accounts[a].name)
		}
		return nil
	})
	return out, err
}

// getAccountInfo is get_account_info(auth) (contract §5.6).
func (s *Server) getAccountInfo(ctx context.Context, params []any) (any, error) {
	var out any
	err := s.update(func(st *state, now int64) error {
		a, err := st.authenticate(params[0], "api_key")
		if err != nil {
			return err
		}
		acct := st.accounts[a]
		out = map[string]any{
			"user_port":        int(acct.port),
			"user_name":        acct.name,
			"max_vessels":      st.maxVessels(acct),
			"user_affiliation": acct.affiliation,
		}
		return nil
	})
	return out, err
}

// getPublicKey is get_public_key(auth) (contract §5.7).
func (s *Server) getPublicKey(ctx context.Context, params []any) (any, error) {
	var out any
	err := s.update(func(st *state, now int64) error {
		a, err := st.authenticate(params[0], "api_key")
		if err != nil {
			return err
		}
		out = st.accounts[a].pubKey
		return nil
	})
	return out, err
}

// getEncryptedAPIKey is get_encrypted_api_key(username) (contract §5.8).
// The encryption runs after the state lock is released, and its cost is
// bounded: seattlersa refuses keys over MaxModulusBits (a stored key that
// large, which set_public_key and AddAccount no longer accept, gives 100).
func (s *Server) getEncryptedAPIKey(ctx context.Context, params []any) (any, error) {
	username, ok := params[0].(string)
	if !ok {
		return nil, invalidRequest("Username must be a string.")
	}
	var pubKey, apiKey string
	err := s.update(func(st *state, now int64) error {
		i, ok := st.byName[username]
		if !ok || !st.accounts[i].active {
			return invalidRequest("Username does not exist.")
		}
		pubKey, apiKey = st.accounts[i].pubKey, st.accounts[i].apiKey
		return nil
	})
	if err != nil {
		return nil, err
	}
	pub, err := seattlersa.ParsePublicKey(pubKey)
	if err != nil {
		return nil, internalFault() // a key set_public_key accepted but RSA cannot use
	}
	text, err := seattlersa.EncryptAPIKey(nil, pub, apiKey)
	if err != nil {
		return nil, internalFault() // more than one block: a modulus under 433 bits
	}
	return text, nil
}

// regenerateAPIKey is regenerate_api_key(pwauth) (contract §5.9).
func (s *Server) regenerateAPIKey(ctx context.Context, params []any) (any, error) {
	key := seattlersa.NewAPIKey(nil)
	err := s.update(func(st *state, now int64) error {
		a, err := st.authenticate(params[0], "password")
		if err != nil {
			return err
		}
		st.accounts[a].apiKey = key
		st.touchAccount(a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// setPublicKey is set_public_key(pwauth, pubkey) (contract §5.10).
// The key is checked before the state lock is taken (the check needs no
// state); its result is reported after authentication, in the contract's
// order.
func (s *Server) setPublicKey(ctx context.Context, params []any) (any, error) {
	key, isString := params[1].(string)
	problem := ""
	if isString {
		problem = publicKeyProblem(key)
	}
	err := s.update(func(st *state, now int64) error {
		a, err := st.authenticate(params[0], "password")
		if err != nil {
			return err
		}
		if !isString {
			return invalidRequest("Invalid public key: Public key must be a string.")
		}
		if problem != "" {
			return invalidRequest("Invalid public key: " + problem)
		}
		acct := st.accounts[a]
		acct.pubKey = key
		acct.privKey = ""
		st.touchAccount(a)
		st.nmKeyChanged(a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return 0, nil
}
