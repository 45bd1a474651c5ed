package mockserver

import (
	"math/big"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// MaxFreeCredits bounds an account's free credits, so that max_vessels
// always fits an XML-RPC <int>.
const MaxFreeCredits = 1 << 30

func validUsername(u string) bool {
	if len(u) < 3 || len(u) > 40 || u[0] == '_' {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// publicKeyProblem checks a public key string the way set_public_key does
// (contract §5.10) and returns "" if it is acceptable, or the text after
// "Invalid public key: ". On top of the contract's checks (format first,
// then e < n), a key the mock could not serve within bounded work is
// "invalid" too: a string over seattlersa.MaxKeyStringBytes (refused
// before any number is parsed) or an e or n over seattlersa.MaxModulusBits.
// The work is linear in len(s).
func publicKeyProblem(s string) string {
	const (
		badFormat = "Public key is not of a correct format."
		invalid   = "Public key is invalid."
	)
	fields := pySplitN(s, 3)
	if len(fields) != 2 {
		return badFormat
	}
	for _, f := range fields {
		digits := f
		if digits != "" && (digits[0] == '+' || digits[0] == '-') {
			digits = digits[1:]
		}
		if digits == "" {
			return badFormat
		}
		for j := 0; j < len(digits); j++ {
			if digits[j] < '0' || digits[j] > '9' {
				return badFormat
			}
		}
	}
	if len(s) > seattlersa.MaxKeyStringBytes {
		return invalid
	}
	var v [2]*big.Int
	for i, f := range fields {
		x, ok := new(big.Int).SetString(f, 10)
		if !ok {
			return badFormat
		}
		v[i] = x
	}
	e, n := v[0], v[1]
	if e.BitLen() > seattlersa.MaxModulusBits || n.BitLen() > seattlersa.MaxModulusBits || e.Cmp(n) >= 0 {
		return invalid
	}
	return ""
}

// storedKeysProblem checks the keys of an account read from a state file.
// The public key gets set_public_key's checks; the private key, which the
// mock only stores and hands back, is only bounded in length (the primality
// tests of AddAccount would make loading a large state file slow).
func storedKeysProblem(pub, priv string) string {
	if p := publicKeyProblem(pub); p != "" {
		return "invalid public key: " + p
	}
	if len(priv) > seattlersa.MaxKeyStringBytes {
		return "private key longer than " + strconv.Itoa(seattlersa.MaxKeyStringBytes) + " bytes"
	}
	return ""
}

func validateAccountSpec(spec *mockapi.AccountSpec) error {
	if !validUsername(spec.Username) {
		return invalidf("username %q: want 3-40 characters of 0-9, A-Z, a-z and _, not starting with _", spec.Username)
	}
	if utf8.RuneCountInString(spec.Password) < 6 {
		return invalidf("account %s: password must have at least 6 characters", spec.Username)
	}
	if spec.Password == spec.Username {
		return invalidf("account %s: password must differ from the username", spec.Username)
	}
	if n := utf8.RuneCountInString(spec.Affiliation); n < 3 || n > 200 {
		return invalidf("account %s: affiliation must have 3-200 characters", spec.Username)
	}
	if spec.APIKey != "" && !seattlersa.ValidAPIKey(spec.APIKey) {
		return invalidf("account %s: API key must be 1-%d printable ASCII characters other than '!', without white space",
			spec.Username, seattlersa.MaxAPIKeyLen)
	}
	if spec.UserPort != 0 && (spec.UserPort < userPortMin || spec.UserPort > userPortMax) {
		return invalidf("account %s: user port %d outside %d-%d", spec.Username, spec.UserPort, userPortMin, userPortMax)
	}
	if spec.FreeCredits < mockapi.NoFreeCredits || spec.FreeCredits > MaxFreeCredits {
		return invalidf("account %s: free credits %d: want 0 (the default), %d (none) or up to %d",
			spec.Username, spec.FreeCredits, mockapi.NoFreeCredits, MaxFreeCredits)
	}
	if spec.PublicKey != "" {
		if p := publicKeyProblem(spec.PublicKey); p != "" {
			return invalidf("account %s: invalid public key: %s", spec.Username, p)
		}
	}
	if spec.PrivateKey != "" {
		if spec.PublicKey == "" {
			return invalidf("account %s: a private key needs its public key", spec.Username)
		}
		priv, err := seattlersa.ParsePrivateKey(spec.PrivateKey)
		if err != nil {
			return invalidf("account %s: invalid private key", spec.Username)
		}
		pub, err := seattlersa.ParsePublicKey(spec.PublicKey)
		if err != nil || pub.N.Cmp(priv.N()) != 0 {
			return invalidf("account %s: the private key does not belong to the public key", spec.Username)
		}
	}
	return nil
}

// AddAccount adds an account as spec describes and returns it with its
// credentials (the generated ones included). FreeCredits is at most
// MaxFreeCredits, 0 meaning DefaultFreeCredits; a generated key pair has
// WithKeyBits bits, and is made before the state lock is taken.
func (s *Server) AddAccount(spec mockapi.AccountSpec) (mockapi.Account, error) {
	if err := validateAccountSpec(&spec); err != nil {
		return mockapi.Account{}, err
	}
	if spec.APIKey == "" {
		spec.APIKey = seattlersa.NewAPIKey(nil)
	}
	if spec.PublicKey == "" {
		pub, priv, err := seattlersa.GenerateKey(nil, s.cfg.keyBits)
		if err != nil {
			return mockapi.Account{}, err
		}
		spec.PublicKey, spec.PrivateKey = pub.String(), priv.String()
	}
	free := spec.FreeCredits
	switch free {
	case 0:
		free = DefaultFreeCredits
	case mockapi.NoFreeCredits:
		free = 0
	}
	var out mockapi.Account
	err := s.update(func(st *state, now int64) error {
		if _, dup := st.byName[spec.Username]; dup {
			return existsf("account %s already exists", spec.Username)
		}
		port := spec.UserPort
		if port == 0 {
			port = userPortMin + st.rng.IntN(numUserPorts)
		}
		i := int32(len(st.accounts))
		st.accounts = append(st.accounts, &account{
			name: spec.Username, password: spec.Password, apiKey: spec.APIKey,
			pubKey: spec.PublicKey, privKey: spec.PrivateKey, affiliation: spec.Affiliation,
			port: int32(port), free: free, active: !spec.Inactive,
			held: map[int32]struct{}{},
		})
		st.byName[spec.Username] = i
		st.touchAccount(i)
		out = st.exportAccount(i)
		return nil
	})
	return out, err
}

func (st *state) exportAccount(i int32) mockapi.Account {
	a := st.accounts[i]
	out := mockapi.Account{
		Username: a.name, Password: a.password, APIKey: a.apiKey,
		PublicKey: a.pubKey, PrivateKey: a.privKey, Affiliation: a.affiliation,
		UserPort: int(a.port), FreeCredits: a.free, MaxVessels: st.maxVessels(a),
		Vessels: len(a.held), Active: a.active,
	}
	for _, n := range a.donations {
		out.Donations = append(out.Donations, st.nodes[n].id)
	}
	slices.Sort(out.Donations)
	return out
}

func (st *state) lookupAccount(username string) (int32, error) {
	i, ok := st.byName[username]
	if !ok {
		return 0, notFoundf("no account %q", username)
	}
	return i, nil
}

// Account returns a copy of the named account, credentials included.
func (s *Server) Account(username string) (mockapi.Account, error) {
	var out mockapi.Account
	err := s.update(func(st *state, now int64) error {
		i, err := st.lookupAccount(username)
		if err != nil {
			return err
		}
		out = st.exportAccount(i)
		return nil
	})
	return out, err
}

// Accounts returns copies of every account, in the order they were added.
func (s *Server) Accounts() ([]mockapi.Account, error) {
	var out []mockapi.Account
	err := s.update(func(st *state, now int64) error {
		out = make([]mockapi.Account, len(st.accounts))
		for i := range st.accounts {
			out[i] = st.exportAccount(int32(i))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetFreeCredits changes an account's free vessel credits (0 to
// MaxFreeCredits), as a clearinghouse administrator could.
func (s *Server) SetFreeCredits(username string, n int) error {
	if n < 0 || n > MaxFreeCredits {
		return invalidf("free credits %d outside 0-%d", n, MaxFreeCredits)
	}
	return s.update(func(st *state, now int64) error {
		i, err := st.lookupAccount(username)
		if err != nil {
			return err
		}
		st.accounts[i].free = n
		st.touchAccount(i)
		return nil
	})
}

// SetAccountActive activates or bans an account. A banned account behaves
// exactly like one that does not exist on every wire call; its vessels
// stay held until they expire.
func (s *Server) SetAccountActive(username string, active bool) error {
	return s.update(func(st *state, now int64) error {
		i, err := st.lookupAccount(username)
		if err != nil {
			return err
		}
		st.accounts[i].active = active
		st.touchAccount(i)
		return nil
	})
}
