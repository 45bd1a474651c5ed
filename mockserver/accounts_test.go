package mockserver

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// TestAddAccountKeySizeCap: AddAccount (and so the /admin/ control)
// refuses keys over seattlersa.MaxModulusBits at once, and accepts a
// public key at the cap.
func TestAddAccountKeySizeCap(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	one := big.NewInt(1)
	atCap := new(big.Int).Lsh(one, seattlersa.MaxModulusBits-1)
	atCap.Add(atCap, one)
	over := new(big.Int).Lsh(one, seattlersa.MaxModulusBits)
	over.Add(over, one)
	half := new(big.Int).Lsh(one, seattlersa.MaxModulusBits/2+1)
	half.Add(half, one)
	keys := testKeys()
	tests := []struct {
		name     string
		pub, prv string
	}{
		{"public modulus over the cap", "3 " + over.String(), ""},
		{"public key of 200 000 digits", "65537 " + strings.Repeat("7", 200_000), ""},
		{"public key of 1 MiB", "3 " + strings.Repeat("1", 1<<20), ""},
		{"private modulus over the cap", "3 " + over.String(), "3 " + half.String() + " " + half.String()},
		{"private key of 1 MiB", keys[0], "3 61 " + strings.Repeat("1", 1<<20)},
		{"private d over the cap", keys[0], over.String() + " 61 53"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := s.AddAccount(mockapi.AccountSpec{
				Username: "big" + string(rune('a'+i)), Password: "password", Affiliation: "Test U",
				PublicKey: tt.pub, PrivateKey: tt.prv,
			})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("AddAccount: %v, want ErrInvalid", err)
			}
			if took := time.Since(start); took > 500*time.Millisecond {
				t.Errorf("refusing took %v, want well under a second", took)
			}
			if len(err.Error()) > 200 {
				t.Errorf("the error has %d bytes; it must not quote the key", len(err.Error()))
			}
		})
	}
	e := new(big.Int).Sub(atCap, big.NewInt(2))
	if _, err := s.AddAccount(mockapi.AccountSpec{Username: "atcap", Password: "password", Affiliation: "Test U",
		PublicKey: e.String() + " " + atCap.String()}); err != nil {
		t.Fatalf("AddAccount with a key at the cap: %v", err)
	}
	mustCall(t, s, "get_encrypted_api_key", "atcap")
}

// TestStateFileKeySizeCap: a state file whose account holds a key over
// the cap (written before the cap existed, or by hand) is refused on
// load, the way set_public_key would refuse the key.
func TestStateFileKeySizeCap(t *testing.T) {
	t.Parallel()
	over := new(big.Int).Lsh(big.NewInt(1), seattlersa.MaxModulusBits)
	over.Add(over, big.NewInt(1))
	for name, rec := range map[string]accountRecord{
		"public key":  {PublicKey: "3 " + over.String()},
		"private key": {PublicKey: testKeys()[0], PrivateKey: "3 61 " + strings.Repeat("1", 1<<20)},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			a, data := savedState(t, path)
			rec.Index, rec.Username, rec.Password, rec.APIKey = 0, a.Username, a.Password, a.APIKey
			rec.Affiliation, rec.Port, rec.Free, rec.Active = a.Affiliation, int32(a.UserPort), a.FreeCredits, true
			data = appendFrame(data, mustMarshal(record{Type: "delta", Accounts: []accountRecord{rec}}))
			err := openCorrupt(t, path, data)
			if strings.Contains(err.Error(), over.String()[:20]) || len(err.Error()) > 300 {
				t.Errorf("error %.300q quotes the key", err)
			}
		})
	}
}

// TestAddAccountAPIKeyShape: a seeded API key must be one a client can
// recover through get_encrypted_api_key (seattlersa.ValidAPIKey): 1-100
// printable ASCII characters other than "!".
func TestAddAccountAPIKeyShape(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	tests := []struct {
		key string
		ok  bool
	}{
		{"LEAKCHECK0123456789ABCDEFGHIJKLM", true},
		{strings.Repeat("K", 100), true},
		{"a-b_c.d~e", true},
		{strings.Repeat("K", 101), false},
		{"KEY!KEY", false},
		{"KEY KEY", false},
		{"KEY\n", false},
		{"K\u00c9Y", false},
	}
	for i, tt := range tests {
		spec := mockapi.AccountSpec{Username: "key" + string(rune('a'+i)), Password: "password", Affiliation: "Test U",
			APIKey: tt.key, PublicKey: testKeys()[0], PrivateKey: testKeys()[1]}
		_, err := s.AddAccount(spec)
		if tt.ok && err != nil {
			t.Errorf("AddAccount(API key %q): %v", tt.key, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("AddAccount(API key %q): %v, want ErrInvalid", tt.key, err)
		}
		if err != nil && strings.Contains(err.Error(), tt.key) {
			t.Errorf("the error %q quotes the API key", err)
		}
	}
}

// TestAccountRedacted checks that an Account printed by mistake, with any
// verb, alone or inside something else, or logged, shows no password, API
// key or private key, but still names the account.
func TestAccountRedacted(t *testing.T) {
	t.Parallel()
	s := newTestServer(t)
	a := addUser(t, s, "alice", func(spec *mockapi.AccountSpec) { spec.APIKey = "APIKEY-SECRET-0123456789" })
	secrets := append([]string{a.Password, a.APIKey}, strings.Fields(a.PrivateKey)...)
	type wrapper struct{ A mockapi.Account }
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("added", "account", a)
	for _, tc := range []struct {
		name string
		text string
	}{
		{"%v", fmt.Sprintf("%v", a)},
		{"%+v", fmt.Sprintf("%+v", a)},
		{"%#v", fmt.Sprintf("%#v", a)},
		{"%s", fmt.Sprintf("%s", a)},
		{"%q", fmt.Sprintf("%q", a)},
		{"pointer %+v", fmt.Sprintf("%+v", &a)},
		{"slice %v", fmt.Sprintf("%v", []mockapi.Account{a})},
		{"slice %#v", fmt.Sprintf("%#v", []mockapi.Account{a})},
		{"struct field %+v", fmt.Sprintf("%+v", wrapper{a})},
		{"Println", fmt.Sprintln(a)},
		{"slog", logs.String()},
	} {
		for _, secret := range secrets {
			if strings.Contains(tc.text, secret) {
				t.Errorf("%s shows a secret", tc.name) // not quoted: it would show it too
				break
			}
		}
		if !strings.Contains(tc.text, "alice") {
			t.Errorf("%s does not name the account: %s", tc.name, tc.text)
		}
	}
	if have, want := fmt.Sprintf("%#v", a), `mockapi.Account{Username: "alice", Affiliation: "Test University", UserPort: 63100, `+
		`FreeCredits: 10, MaxVessels: 10, Donations: []string(nil), Vessels: 0, Active: true}`; have != want {
		t.Errorf("GoString:\nhave %s\nwant %s", have, want)
	}
}

// TestUserPortsCoverRange adds accounts without a chosen port and checks
// that every port they get is a user port (contract §7) and that every one
// of the 80 is used. The seed is new on every run (and logged), so that
// the test keeps sampling the generator rather than one fixed sequence.
// With ports drawn uniformly, a given port stays unused after n accounts
// with probability (79/80)^n; for n = 2000 the chance that any of the 80
// does is below 80 × (79/80)^2000 ≈ 1e-9, the false-alarm rate.
func TestUserPortsCoverRange(t *testing.T) {
	t.Parallel()
	const accounts = 2000
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	s := newTestServer(t, WithSeed(seed))
	pub := testKeys()[0]
	used := map[int]int{}
	for i := range accounts {
		// A public key alone spares the private key's checks.
		a, err := s.AddAccount(mockapi.AccountSpec{Username: fmt.Sprintf("user%04d", i), Password: "secret1",
			Affiliation: "Test University", PublicKey: pub})
		if err != nil {
			t.Fatal(err)
		}
		if a.UserPort < userPortMin || a.UserPort > userPortMax {
			t.Fatalf("account %s got port %d, outside %d-%d", a.Username, a.UserPort, userPortMin, userPortMax)
		}
		used[a.UserPort]++
	}
	for p := userPortMin; p <= userPortMax; p++ {
		if used[p] == 0 {
			t.Errorf("port %d unused by %d accounts (seed %d)", p, accounts, seed)
		}
	}
}
