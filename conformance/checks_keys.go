package conformance

import (
	"errors"
	"math/big"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// Keys: get_public_key and get_encrypted_api_key (contract §5.7, §5.8, §10).
func keyChecks() []check {
	return []check{
		{"PublicKey", needs{}, checkPublicKey},
		{"EncryptedAPIKey", needs{privateKey: true}, checkEncryptedAPIKey},
		{"EncryptedAPIKeyFaults", needs{}, checkEncryptedAPIKeyFaults},
		{"EncryptedAPIKeyBlockSize", needs{controls: true}, checkEncryptedAPIKeyBlockSize},
		{"ClientPrivateKey", needs{privateKey: true}, checkClientPrivateKey},
		{"EncryptedAPIKeyPadding", needs{privateKey: true}, checkEncryptedAPIKeyPadding},
	}
}

// decimalTokens reports whether s is exactly n whitespace-separated
// unsigned decimal integers.
func decimalTokens(s string, n int) bool {
	f := strings.Fields(s)
	if len(f) != n {
		return false
	}
	for _, tok := range f {
		if strings.Trim(tok, "0123456789") != "" {
			return false
		}
	}
	return true
}

func checkPublicKey(t T, s *session) {
	a := s.main()
	res := s.mustCall(t, "get_public_key", s.auth(a))
	key, ok := res.(string)
	if !ok {
		s.fatalf(t, "get_public_key returned %s, want a string", typeName(res))
	}
	if !decimalTokens(key, 2) {
		s.fatalf(t, "get_public_key returned %.60q..., want \"<e> <n>\"", key)
	}
	pub, err := seattlersa.ParsePublicKey(key)
	if err != nil {
		s.fatalf(t, "get_public_key: %v", err)
	}
	if pub.E.Cmp(pub.N) >= 0 {
		s.errorf(t, "get_public_key: e >= n")
	}
	if a.privateKey != "" {
		priv, err := seattlersa.ParsePrivateKey(a.privateKey)
		if err == nil && priv.N().Cmp(pub.N) != 0 {
			s.errorf(t, "get_public_key: the modulus is not the one of the account's private key")
		}
	}
}

// decryptProblem decrypts a get_encrypted_api_key result and checks the
// §10 payload: R (20 distinct characters of A-Z a-z 0-9), "!", the key.
func decryptProblem(priv *seattlersa.PrivateKey, ct, apiKey string) string {
	_, problem := decryptPadding(priv, ct, apiKey)
	return problem
}

// decryptPadding is decryptProblem that also returns the padding R of a
// payload without a problem.
func decryptPadding(priv *seattlersa.PrivateKey, ct, apiKey string) (r, problem string) {
	if ct != strings.TrimSpace(ct) || !decimalTokens(ct, 1) {
		return "", "the ciphertext is not one decimal number without surrounding white space"
	}
	plain, err := seattlersa.Decrypt(priv, ct)
	if err != nil {
		return "", "the ciphertext does not decrypt: " + err.Error()
	}
	r, key, ok := strings.Cut(string(plain), "!")
	if !ok || strings.Contains(key, "!") {
		return "", "the plaintext is not <R>!<api key>"
	}
	if len(r) != 20 {
		return "", "the padding R does not have 20 characters"
	}
	seen := map[rune]bool{}
	for _, c := range r {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') || seen[c] {
			return "", "the padding R is not 20 distinct characters of A-Z, a-z and 0-9"
		}
		seen[c] = true
	}
	if key != apiKey {
		return "", "the decrypted API key is not the account's"
	}
	return r, ""
}

func checkEncryptedAPIKey(t T, s *session) {
	a := s.main()
	priv, err := seattlersa.ParsePrivateKey(a.privateKey)
	if err != nil {
		s.fatalf(t, "the main account's private key does not parse")
	}
	var cts []string
	for range 2 {
		res := s.mustCall(t, "get_encrypted_api_key", a.name)
		ct, ok := res.(string)
		if !ok {
			s.fatalf(t, "get_encrypted_api_key returned %s, want a string", typeName(res))
		}
		if p := decryptProblem(priv, ct, s.key(a)); p != "" {
			s.errorf(t, "get_encrypted_api_key: %s", p)
		}
		cts = append(cts, ct)
	}
	if cts[0] == cts[1] {
		s.errorf(t, "get_encrypted_api_key gave the same ciphertext twice; the padding R must be random")
	}
}

func checkEncryptedAPIKeyFaults(t T, s *session) {
	for _, c := range pyValues {
		if c.name == "unicode" {
			continue
		}
		_, err := s.call(t, "get_encrypted_api_key", c.v)
		s.wantFault(t, "username "+c.name, err, 102, msgUserNotString)
	}
	for what, name := range map[string]string{
		"an unknown user":   s.nobody(),
		"a non-ASCII user":  "nöbody_" + s.runID, // any string passes step 1
		"an empty username": "",
	} {
		_, err := s.call(t, "get_encrypted_api_key", name)
		s.wantFault(t, what, err, 102, msgNoUser)
	}
}

// checkEncryptedAPIKeyBlockSize: a modulus under 433 bits cannot hold the
// payload in one block, which is fault 100; 433 bits is enough (§5.8, §10).
func checkEncryptedAPIKeyBlockSize(t T, s *session) {
	for _, bits := range []int{432, 433} {
		pub, priv, err := seattlersa.GenerateKey(nil, bits)
		if err != nil {
			s.fatalf(t, "generating a %d-bit key: %v", bits, err)
		}
		a := s.newAccountWithKey(t, 1, pub.String(), priv.String())
		res, err := s.call(t, "get_encrypted_api_key", a.name)
		if bits < 433 {
			s.wantFault(t, "a 432-bit key", err, 100, msgInternal)
			continue
		}
		if err != nil {
			s.errorf(t, "a 433-bit key: %v", err)
			continue
		}
		ct, _ := res.(string)
		if p := decryptProblem(priv, ct, s.key(a)); p != "" {
			s.errorf(t, "a 433-bit key: %s", p)
		}
	}
}

// checkClientPrivateKey: the client library, given only the private key,
// fetches the API key (§12.2); a key pair that is not the account's is an
// authentication error.
func checkClientPrivateKey(t T, s *session) {
	a := s.main()
	c, err := clearinghouse.New(a.name, clearinghouse.WithPrivateKey(a.privateKey),
		clearinghouse.WithURL(s.url()), clearinghouse.WithHTTPClient(s.httpClient()))
	if err != nil {
		s.fatalf(t, "clearinghouse.New: %v", err)
	}
	info, err := c.GetAccountInfo(s.ctx(t))
	if err != nil {
		s.fatalf(t, "GetAccountInfo with only the private key: %v", err)
	}
	if info.Username != a.name {
		s.errorf(t, "GetAccountInfo: user_name %q, want %q", info.Username, a.name)
	}
	_, other := s.sharedKeyPair(t)
	c2, err := clearinghouse.New(a.name, clearinghouse.WithPrivateKey(other),
		clearinghouse.WithURL(s.url()), clearinghouse.WithHTTPClient(s.httpClient()))
	if err != nil {
		s.fatalf(t, "clearinghouse.New: %v", err)
	}
	err = c2.FetchAPIKey(s.ctx(t))
	if !errors.Is(err, clearinghouse.ErrAuthentication) {
		s.errorf(t, "FetchAPIKey with a foreign private key: %v, want ErrAuthentication", err)
	}
}

// AccountChanges: regenerate_api_key and set_public_key (contract §5.9,
// §5.10), which change an account for good.
func accountChangeChecks() []check {
	return []check{
		{"RegenerateAPIKey", needs{changes: true}, checkRegenerateAPIKey},
		{"SetPublicKey", needs{changes: true}, checkSetPublicKey},
		{"APIKeyAlphabet", needs{controls: true}, checkAPIKeyAlphabet},
	}
}

// changeable returns the account whose key the check may change: a fresh
// one on a mock, else the main account.
func (s *session) changeable(t T) *acct {
	t.Helper()
	if s.controls() != nil {
		return s.newAccount(t, 1)
	}
	return s.main()
}

const apiKeyAlphabet = "0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ"

// apiKeyProblem checks the §4 key format: 32 distinct characters of
// 0-9 and A-Z without O.
func apiKeyProblem(k string) string {
	if len(k) != 32 {
		return "the new API key does not have 32 characters"
	}
	seen := map[rune]bool{}
	for _, c := range k {
		if !strings.ContainsRune(apiKeyAlphabet, c) || seen[c] {
			return "the new API key is not 32 distinct characters of 0-9 and A-Z without O"
		}
		seen[c] = true
	}
	return ""
}

// regenerateKey calls regenerate_api_key for a with its password and
// returns the new key, which the session uses for a from then on. For an
// account the suite did not create it notes that the key was replaced.
func (s *session) regenerateKey(t T, a *acct) string {
	t.Helper()
	res, err := s.call(t, "regenerate_api_key", map[string]any{"username": a.name, "password": a.password})
	if err != nil {
		s.fatalf(t, "regenerate_api_key: %v", err)
	}
	key, ok := res.(string)
	if !ok {
		s.fatalf(t, "regenerate_api_key returned %s, want a string", typeName(res))
	}
	s.setKey(a, key)
	if !a.created {
		s.logf(t, "note: the API key of %s has been replaced; fetch the new one with the account's private key", a.name)
	}
	return key
}

func checkRegenerateAPIKey(t T, s *session) {
	a := s.changeable(t)
	old := s.key(a)
	for i := range 2 {
		key := s.regenerateKey(t, a)
		if p := apiKeyProblem(key); p != "" {
			s.errorf(t, "regenerate_api_key (%d): %s", i+1, p)
		}
		if key == old {
			s.errorf(t, "regenerate_api_key (%d) returned the old key", i+1)
		}
		_, err := s.call(t, "get_account_info", map[string]any{"username": a.name, "api_key": old})
		s.wantFault(t, "the old key", err, 101, msgAuthFailed)
		if info := s.accountInfo(t, a); info.UserName != a.name {
			s.errorf(t, "the new key: user_name %q, want %q", info.UserName, a.name)
		}
		old = key
	}
}

func checkSetPublicKey(t T, s *session) {
	a := s.changeable(t)
	pw := map[string]any{"username": a.name, "password": a.password}
	bad := []struct {
		what string
		key  any
		want string
	}{
		{"an int", int64(5), msgKeyNotString},
		{"an array", []any{"65537", "99"}, msgKeyNotString},
		{"letters", "abc def", msgKeyFormat},
		{"one number", "65537", msgKeyFormat},
		{"three numbers", "3 55 7", msgKeyFormat},
		{"an empty string", "", msgKeyFormat},
		{"a decimal point", "1.5 77", msgKeyFormat},
		{"hexadecimal", "0x10 77", msgKeyFormat},
		{"e greater than n", "77 5", msgKeyInvalid},
		{"e equal to n", "77 77", msgKeyInvalid},
	}
	if s.mock {
		bad = append(bad, struct {
			what string
			key  any
			want string
		}{"nil (§14 item 5)", nil, msgKeyNotString})
	}
	if s.mock {
		bad = append(bad, struct {
			what string
			key  any
			want string
		}{"non-ASCII digits (mock decision §5.10)", "\u0663 \u0665\u0665", msgKeyFormat})
	}
	before := s.mustCall(t, "get_public_key", s.auth(a))
	for _, c := range bad {
		_, err := s.call(t, "set_public_key", pw, c.key)
		s.wantFault(t, c.what, err, 102, c.want)
	}
	if after := s.mustCall(t, "get_public_key", s.auth(a)); after != before {
		s.fatalf(t, "a rejected set_public_key changed the stored key")
	}
	orig, _ := before.(string)

	// The new key: on a mock a fresh pair; elsewhere the same key written
	// differently, so the account's private key keeps working.
	var newKey string
	var newPriv *seattlersa.PrivateKey
	if a.created {
		pub, priv, err := seattlersa.GenerateKey(nil, 512)
		if err != nil {
			s.fatalf(t, "generating a key: %v", err)
		}
		s.addSecrets(priv.String())
		newKey, newPriv = "  "+pub.E.String()+"   "+pub.N.String()+" ", priv
	} else {
		f := strings.Fields(orig)
		if len(f) != 2 {
			s.fatalf(t, "the stored public key is not two numbers")
		}
		e, _ := new(big.Int).SetString(f[0], 10)
		newKey = " " + e.String() + "  " + f[1] + " "
		t.Cleanup(func() {
			ctx, cancel := s.cleanupCtx()
			defer cancel()
			if err := s.client().Call(ctx, "set_public_key", nil, pw, orig); err != nil {
				s.errorf(t, "cleanup: restoring the public key of %s: %v", a.name, err)
			}
		})
		if a.privateKey != "" {
			newPriv, _ = seattlersa.ParsePrivateKey(a.privateKey)
		}
	}
	if a.created {
		// Mock decision §5.10: a token may carry a sign; the string is
		// stored as given.
		for _, k := range []string{"+3 +55", "3\t55"} {
			if _, err := s.call(t, "set_public_key", pw, k); err != nil {
				s.errorf(t, "set_public_key(%q): %v", k, err)
			} else if got := s.mustCall(t, "get_public_key", s.auth(a)); got != k {
				s.errorf(t, "get_public_key after set_public_key(%q): %q", k, got)
			}
		}
	}
	res, err := s.call(t, "set_public_key", pw, newKey)
	if err != nil {
		s.fatalf(t, "set_public_key: %v", err)
	}
	s.wantIntZero(t, "set_public_key", res)
	if got := s.mustCall(t, "get_public_key", s.auth(a)); got != newKey {
		s.errorf(t, "get_public_key after set_public_key:\nhave %q\nwant %q (stored verbatim)", got, newKey)
	}
	if newPriv != nil {
		ct, _ := s.mustCall(t, "get_encrypted_api_key", a.name).(string)
		if p := decryptProblem(newPriv, ct, s.key(a)); p != "" {
			s.errorf(t, "get_encrypted_api_key after set_public_key: %s", p)
		}
	}
	if a.created {
		// The old key pair no longer decrypts it.
		oldPriv, err := seattlersa.ParsePrivateKey(a.privateKey)
		if err == nil {
			ct, _ := s.mustCall(t, "get_encrypted_api_key", a.name).(string)
			if decryptProblem(oldPriv, ct, s.key(a)) == "" {
				s.errorf(t, "the old private key still decrypts the API key after set_public_key")
			}
		}
	}
}
