package seattlersa

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// seeded returns a deterministic stream of random bytes.
func seeded(seed byte) io.Reader {
	return rand.NewChaCha8([32]byte{seed, 's', 'e', 'a', 't', 't', 'l', 'e'})
}

// vectorKey parses one of the python-generated keys in vectorKeys.
func vectorKey(t testing.TB, bits int) (*PublicKey, *PrivateKey) {
	t.Helper()
	k, ok := vectorKeys[bits]
	if !ok {
		t.Fatalf("no vector key of %d bits", bits)
	}
	pub, err := ParsePublicKey(k.pub)
	if err != nil {
		t.Fatalf("ParsePublicKey(vector %d): %v", bits, err)
	}
	priv, err := ParsePrivateKey(k.priv)
	if err != nil {
		t.Fatalf("ParsePrivateKey(vector %d): %v", bits, err)
	}
	return pub, priv
}

// generated returns a deterministic key pair made by GenerateKey.
func generated(t testing.TB, seed byte, bits int) (*PublicKey, *PrivateKey) {
	t.Helper()
	pub, priv, err := GenerateKey(seeded(seed), bits)
	if err != nil {
		t.Fatalf("GenerateKey(seed %d, %d): %v", seed, bits, err)
	}
	return pub, priv
}

// runPython runs script with python3, feeding in as JSON on stdin and
// decoding its stdout as JSON into out. Without python3 it skips the test
// on a developer machine (the literal vectors in crypt_test.go cover the
// same ground) and fails it under CI (internal/testskip).
func runPython(t *testing.T, script string, in, out any) {
	t.Helper()
	py := testskip.LookPath(t, "python3", "the independent cross-check")
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.Bytes())
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("decoding python3 output %q: %v", res, err)
	}
}

func TestParsePublicKey(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // canonical String(); empty when an error is expected
		kind error
	}{
		{name: "canonical", in: "17 3233", want: "17 3233"},
		{name: "leading zeros", in: "0017 003233", want: "17 3233"},
		{name: "plus signs", in: "+17 +3233", want: "17 3233"},
		{name: "surrounding and inner white space", in: " \t17\n\n3233\r\n", want: "17 3233"},
		{name: "e one below n", in: "3232 3233", want: "3232 3233"},
		{name: "python 512-bit", in: vectorKeys[512].pub, want: vectorKeys[512].pub},

		{name: "empty", in: "", kind: ErrMalformedKey},
		{name: "blank", in: " \t\n", kind: ErrMalformedKey},
		{name: "one token", in: "3233", kind: ErrMalformedKey},
		{name: "three tokens", in: "17 3233 1", kind: ErrMalformedKey},
		{name: "letters", in: "17 abc", kind: ErrMalformedKey},
		{name: "hex prefix", in: "0x11 3233", kind: ErrMalformedKey},
		{name: "underscore", in: "17 3_233", kind: ErrMalformedKey},
		{name: "decimal point", in: "17.0 3233", kind: ErrMalformedKey},
		{name: "lone sign", in: "+ 3233", kind: ErrMalformedKey},
		{name: "double sign", in: "--17 3233", kind: ErrMalformedKey},
		{name: "non-ASCII digits", in: "١٧ 3233", kind: ErrMalformedKey},
		{name: "comma separated", in: "17,3233", kind: ErrMalformedKey},

		{name: "e equals n", in: "3233 3233", kind: ErrInvalidKey},
		{name: "e above n", in: "5000 3233", kind: ErrInvalidKey},
		{name: "e zero", in: "0 3233", kind: ErrInvalidKey},
		{name: "e negative", in: "-17 3233", kind: ErrInvalidKey},
		{name: "n negative", in: "-17 -3", kind: ErrInvalidKey},
		{name: "n zero", in: "0 0", kind: ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePublicKey(tt.in)
			if tt.kind != nil {
				if !errors.Is(err, tt.kind) {
					t.Fatalf("ParsePublicKey(%q) error = %v, want one matching %v", tt.in, err, tt.kind)
				}
				if k != nil {
					t.Errorf("ParsePublicKey(%q) returned a key with an error", tt.in)
				}
				if !strings.HasPrefix(err.Error(), "seattlersa: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePublicKey(%q): %v", tt.in, err)
			}
			if have := k.String(); have != tt.want {
				t.Errorf("ParsePublicKey(%q).String()\nhave %q\nwant %q", tt.in, have, tt.want)
			}
		})
	}
}

func TestParsePrivateKey(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string // canonical String(); empty when an error is expected
		wantN string
		kind  error
	}{
		{name: "textbook", in: "2753 61 53", want: "2753 61 53", wantN: "3233"},
		{name: "leading zeros and tabs", in: "\t02753\t061 0053 ", want: "2753 61 53", wantN: "3233"},
		{name: "plus sign", in: "+2753 +61 +53", want: "2753 61 53", wantN: "3233"},
		{name: "p equals q", in: "7 61 61", want: "7 61 61", wantN: "3721"},
		{name: "python 512-bit", in: vectorKeys[512].priv, want: vectorKeys[512].priv, wantN: strings.Fields(vectorKeys[512].pub)[1]},
		{name: "python 1024-bit", in: vectorKeys[1024].priv, want: vectorKeys[1024].priv, wantN: strings.Fields(vectorKeys[1024].pub)[1]},

		{name: "empty", in: "", kind: ErrMalformedKey},
		{name: "two tokens", in: "2753 61", kind: ErrMalformedKey},
		{name: "four tokens", in: "2753 61 53 1", kind: ErrMalformedKey},
		{name: "letters", in: "2753 61 fifty-three", kind: ErrMalformedKey},
		{name: "exponent notation", in: "2753 61 5.3e1", kind: ErrMalformedKey},

		{name: "p not prime", in: "2753 60 53", kind: ErrInvalidKey},
		{name: "q not prime", in: "2753 61 51", kind: ErrInvalidKey},
		{name: "p one", in: "2753 1 53", kind: ErrInvalidKey},
		{name: "p zero", in: "2753 0 53", kind: ErrInvalidKey},
		{name: "p negative prime", in: "2753 -61 53", kind: ErrInvalidKey},
		{name: "d zero", in: "0 61 53", kind: ErrInvalidKey},
		{name: "d negative", in: "-2753 61 53", kind: ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePrivateKey(tt.in)
			if tt.kind != nil {
				if !errors.Is(err, tt.kind) {
					t.Fatalf("ParsePrivateKey(%q) error = %v, want one matching %v", tt.in, err, tt.kind)
				}
				if k != nil {
					t.Errorf("ParsePrivateKey(%q) returned a key with an error", tt.in)
				}
				if tt.kind == ErrInvalidKey && err.Error() != "seattlersa: invalid private key" {
					t.Errorf("error\nhave %q\nwant %q", err, "seattlersa: invalid private key")
				}
				if !strings.HasPrefix(err.Error(), "seattlersa: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrivateKey(%q): %v", tt.in, err)
			}
			if have := k.String(); have != tt.want {
				t.Errorf("String()\nhave %q\nwant %q", have, tt.want)
			}
			if have := k.N().String(); have != tt.wantN {
				t.Errorf("N()\nhave %s\nwant %s", have, tt.wantN)
			}
		})
	}
}

// TestParsePrivateKeyErrorHidesKey checks that no error quotes the digits of
// the key it rejects.
func TestParsePrivateKeyErrorHidesKey(t *testing.T) {
	good := strings.Fields(vectorKeys[512].priv)
	d, p, q := good[0], good[1], good[2]
	pPlus1 := new(big.Int)
	pPlus1.SetString(p, 10)
	pPlus1.Add(pPlus1, big.NewInt(1))
	inputs := []string{
		d + " " + pPlus1.String() + " " + q, // p not prime
		d + " " + p,                         // too few tokens
		d + " " + p + " " + q + " " + q,     // too many tokens
		d + " " + p + " x" + q,              // q not decimal
		"-" + d + " " + p + " " + q,         // d negative
	}
	for _, in := range inputs {
		_, err := ParsePrivateKey(in)
		if err == nil {
			t.Fatalf("ParsePrivateKey accepted a bad key")
		}
		for _, secret := range []string{d, p, q, pPlus1.String(), d[:12], p[:12], q[:12]} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains private key digits", err)
			}
		}
	}
}

func TestKeyStringRoundTrip(t *testing.T) {
	for _, bits := range []int{128, 512, 1024} {
		pub, priv := generated(t, 1, bits)
		pub2, err := ParsePublicKey(pub.String())
		if err != nil {
			t.Fatalf("%d bits: ParsePublicKey(String()): %v", bits, err)
		}
		if pub2.E.Cmp(pub.E) != 0 || pub2.N.Cmp(pub.N) != 0 || pub2.String() != pub.String() {
			t.Errorf("%d bits: public key changed in a round trip\nhave %s\nwant %s", bits, pub2, pub)
		}
		priv2, err := ParsePrivateKey(priv.String())
		if err != nil {
			t.Fatalf("%d bits: ParsePrivateKey(String()): %v", bits, err)
		}
		if priv2.D.Cmp(priv.D) != 0 || priv2.P.Cmp(priv.P) != 0 || priv2.Q.Cmp(priv.Q) != 0 {
			t.Errorf("%d bits: private key changed in a round trip", bits)
		}
		if strings.Contains(pub.String(), "  ") || strings.Contains(priv.String(), "+") {
			t.Errorf("%d bits: non-canonical String output", bits)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	e := big.NewInt(PublicExponent)
	one := big.NewInt(1)
	for _, bits := range []int{128, 129, 255, 433, 512, 1024} {
		pub, priv := generated(t, 7, bits)
		if have := pub.N.BitLen(); have != bits {
			t.Errorf("%d bits: modulus has %d bits", bits, have)
		}
		if pub.E.Cmp(e) != 0 {
			t.Errorf("%d bits: e = %v, want %d", bits, pub.E, PublicExponent)
		}
		if priv.N().Cmp(pub.N) != 0 {
			t.Errorf("%d bits: private N() differs from public N", bits)
		}
		if !priv.P.ProbablyPrime(20) || !priv.Q.ProbablyPrime(20) || priv.P.Cmp(priv.Q) == 0 {
			t.Errorf("%d bits: p and q are not two distinct primes", bits)
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(priv.P, one), new(big.Int).Sub(priv.Q, one))
		if ed := new(big.Int).Mul(e, priv.D); ed.Mod(ed, phi).Cmp(one) != 0 {
			t.Errorf("%d bits: e·d is not 1 modulo (p-1)(q-1)", bits)
		}
		msg := []byte("round trip through a generated key")
		have, err := Decrypt(priv, Encrypt(pub, msg))
		if err != nil || !bytes.Equal(have, msg) {
			t.Errorf("%d bits: Decrypt(Encrypt(m)) = %q, %v; want %q", bits, have, err, msg)
		}
	}
}

func TestGenerateKeyDeterministic(t *testing.T) {
	for _, bits := range []int{512, 1024} {
		pubA, privA := generated(t, 42, bits)
		pubB, privB := generated(t, 42, bits)
		if pubA.String() != pubB.String() || privA.String() != privB.String() {
			t.Errorf("%d bits: the same seed gave different keys", bits)
		}
		pubC, _ := generated(t, 43, bits)
		if pubC.String() == pubA.String() {
			t.Errorf("%d bits: different seeds gave the same key", bits)
		}
	}
	// A nil reader means crypto/rand: two calls must differ.
	pub1, _, err1 := GenerateKey(nil, 256)
	pub2, _, err2 := GenerateKey(nil, 256)
	if err1 != nil || err2 != nil {
		t.Fatalf("GenerateKey(nil, 256): %v, %v", err1, err2)
	}
	if pub1.String() == pub2.String() {
		t.Errorf("GenerateKey(nil, 256) returned the same key twice")
	}
}

func TestGenerateKeyErrors(t *testing.T) {
	for _, bits := range []int{-1, 0, 64, 127} {
		if _, _, err := GenerateKey(seeded(1), bits); err == nil || !strings.HasPrefix(err.Error(), "seattlersa: ") {
			t.Errorf("GenerateKey(%d bits) error = %v, want a seattlersa error", bits, err)
		}
	}
	boom := errors.New("boom")
	if _, _, err := GenerateKey(iotest.ErrReader(boom), 512); !errors.Is(err, boom) {
		t.Errorf("GenerateKey(failing reader) error = %v, want one wrapping %v", err, boom)
	}
	short := bytes.NewReader(make([]byte, 40))
	if _, _, err := GenerateKey(short, 512); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Errorf("GenerateKey(short reader) error = %v, want an EOF", err)
	}
}

// TestGenerateKeyPython has python3 check generated keys independently:
// n = p·q of the right size, p and q pass Miller-Rabin, and RSA round trips.
func TestGenerateKeyPython(t *testing.T) {
	const script = `
import json, sys, random
rng = random.Random(1)
def mr(n):
    if n < 4: return n in (2, 3)
    d, s = n - 1, 0
    while d % 2 == 0: d //= 2; s += 1
    for _ in range(30):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1): continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1: break
        else: return False
    return True
out = []
for k in json.load(sys.stdin):
    e, n = map(int, k["pub"].split())
    d, p, q = map(int, k["priv"].split())
    ok = n == p * q and n.bit_length() == k["bits"] and e == 65537 and p != q and mr(p) and mr(q)
    for x in (2, 3, 12345, n - 2):
        ok = ok and pow(pow(x, e, n), d, n) == x
    out.append(ok)
print(json.dumps(out))
`
	type key struct {
		Bits int    `json:"bits"`
		Pub  string `json:"pub"`
		Priv string `json:"priv"`
	}
	var in []key
	for seed := byte(0); seed < 3; seed++ {
		for _, bits := range []int{128, 512, 1024} {
			pub, priv := generated(t, seed, bits)
			in = append(in, key{bits, pub.String(), priv.String()})
		}
	}
	var ok []bool
	runPython(t, script, in, &ok)
	if len(ok) != len(in) {
		t.Fatalf("python3 returned %d results for %d keys", len(ok), len(in))
	}
	for i, good := range ok {
		if !good {
			t.Errorf("python3 rejects generated %d-bit key %d", in[i].Bits, i)
		}
	}
}

// FuzzParse checks that the parsers and Decrypt never panic, and that every
// key they accept survives a String round trip.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", " ", "17 3233", "2753 61 53", "+17 -3233", "0 0", "1 2 3",
		"0017\t3233\n", "1_0 2", "0x10 20", "١٧ 3233", "- +", "99999999999999999999 1",
		vectorKeys[512].pub, vectorKeys[512].priv,
		cryptVectors[0].text, cryptVectors[1].text,
	} {
		f.Add(s)
	}
	_, priv := vectorKey(f, 512)
	f.Fuzz(func(t *testing.T, s string) {
		if pub, err := ParsePublicKey(s); err == nil {
			again, err := ParsePublicKey(pub.String())
			if err != nil || again.String() != pub.String() {
				t.Errorf("public key %q does not round-trip: %v", pub, err)
			}
			if pub.E.Sign() <= 0 || pub.E.Cmp(pub.N) >= 0 {
				t.Errorf("accepted invalid public key %q", pub)
			}
		} else if !errors.Is(err, ErrMalformedKey) && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePublicKey error %v matches no sentinel", err)
		}
		if k, err := ParsePrivateKey(s); err == nil {
			again, err := ParsePrivateKey(k.String())
			if err != nil || again.String() != k.String() {
				t.Errorf("private key does not round-trip: %v", err)
			}
		} else if !errors.Is(err, ErrMalformedKey) && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePrivateKey error %v matches no sentinel", err)
		}
		if _, err := Decrypt(priv, s); err != nil && !errors.Is(err, ErrMalformedCiphertext) {
			t.Errorf("Decrypt error %v does not match ErrMalformedCiphertext", err)
		}
		if _, err := DecryptAPIKey(priv, s); err != nil && !errors.Is(err, ErrMalformedCiphertext) && err != ErrKeyMismatch {
			t.Errorf("DecryptAPIKey error %v is neither malformed nor mismatch", err)
		}
	})
}

// pow2Plus returns 2^k + c.
func pow2Plus(k uint, c int64) *big.Int {
	x := new(big.Int).Lsh(big.NewInt(1), k)
	return x.Add(x, big.NewInt(c))
}

// failIfRead is a random source that must not be used.
type failIfRead struct{ t *testing.T }

func (r failIfRead) Read(p []byte) (int, error) {
	r.t.Error("the randomness was read")
	return 0, errors.New("unexpected read")
}

// within runs f and fails the test if it does not return within d. A
// runaway f keeps running in the background; the test has failed anyway.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		t.Logf("%s: %v", what, time.Since(start))
	case <-time.After(d):
		t.Fatalf("%s: still running after %v, want it refused at once", what, d)
	}
}

// TestKeySizeLimits checks that keys beyond MaxModulusBits, and key
// strings beyond MaxKeyStringBytes, are refused as invalid, and refused
// before any work that grows with their size (big-number parsing,
// primality tests).
func TestKeySizeLimits(t *testing.T) {
	atCap := pow2Plus(MaxModulusBits-1, 1)          // exactly MaxModulusBits bits
	overCap := pow2Plus(MaxModulusBits, 1)          // one bit more
	eFull := new(big.Int).Sub(atCap, big.NewInt(2)) // a full-size exponent
	huge := strings.Repeat("7", 200_000)            // the reported attack
	mega := strings.Repeat("1", 1<<20)
	// F19 = 2^(2^19)+1 has no small factor, so a primality test of it
	// would run a full Miller-Rabin round on a 524 289-bit number.
	f19 := pow2Plus(1<<19, 1).String()
	halfOver := pow2Plus(MaxModulusBits/2+1, 1).String() // two of these multiply to more than the cap

	publicOK := []string{
		eFull.String() + " " + atCap.String(),
		"3 " + atCap.String(),
		"00000" + "3 " + atCap.String(), // leading zeros are still fine
	}
	for _, s := range publicOK {
		k, err := ParsePublicKey(s)
		if err != nil {
			t.Fatalf("ParsePublicKey(key of %d bits): %v", MaxModulusBits, err)
		}
		if k.N.BitLen() != MaxModulusBits {
			t.Fatalf("modulus has %d bits, want %d", k.N.BitLen(), MaxModulusBits)
		}
	}

	tests := []struct {
		name    string
		parse   func(string) error
		in      string
		wantMsg string // a part of the error text
	}{
		{"public: modulus one bit over", parsePub, "3 " + overCap.String(), "bits"},
		{"public: 200 000-digit modulus", parsePub, "65537 " + huge, "bytes"},
		{"public: 200 000-digit modulus and exponent", parsePub, huge[1:] + " " + huge, "bytes"},
		{"public: 1 MiB of digits", parsePub, "3 " + mega, "bytes"},
		{"public: short values padded past the length cap", parsePub, "3" + strings.Repeat(" ", MaxKeyStringBytes) + "5", "bytes"},
		{"public: token just over the digit bound", parsePub, "3 " + strings.Repeat("9", maxKeyDigits+1), "bits"},
		{"private: modulus over the cap", parsePriv, "3 " + halfOver + " " + halfOver, "bits"},
		{"private: d over the cap", parsePriv, overCap.String() + " 61 53", "bits"},
		{"private: huge prime candidate", parsePriv, "3 " + f19 + " 53", "bytes"},
		{"private: 1 MiB of digits", parsePriv, "3 61 " + mega, "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			within(t, 2*time.Second, tt.name, func() { err = tt.parse(tt.in) })
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("have error %v, want one matching ErrInvalidKey", err)
			}
			if !strings.HasPrefix(err.Error(), "seattlersa: ") || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q: want the package prefix and a mention of %q", err, tt.wantMsg)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error has %d bytes; it must not quote the key", len(err.Error()))
			}
		})
	}

	// A string over the length cap is refused unread, whatever it holds.
	if _, err := ParsePublicKey("3 " + strings.Repeat("x", MaxKeyStringBytes)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("long malformed key: %v, want ErrInvalidKey", err)
	}

	t.Run("GenerateKey", func(t *testing.T) {
		_, _, err := GenerateKey(failIfRead{t}, MaxModulusBits+1)
		if err == nil || !strings.HasPrefix(err.Error(), "seattlersa: ") {
			t.Errorf("GenerateKey(%d bits) error = %v, want a seattlersa error", MaxModulusBits+1, err)
		}
	})
	t.Run("EncryptAPIKey", func(t *testing.T) {
		large := &PublicKey{E: eFull, N: pow2Plus(MaxModulusBits, 1)}
		var err error
		within(t, 2*time.Second, "EncryptAPIKey above the cap", func() {
			_, err = EncryptAPIKey(seeded(1), large, "KEY")
		})
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("EncryptAPIKey with a %d-bit modulus: %v, want ErrInvalidKey", large.N.BitLen(), err)
		}
	})
	t.Run("maxKeyDigits", func(t *testing.T) {
		max := new(big.Int).Sub(pow2Plus(MaxModulusBits, 0), big.NewInt(1))
		if have, want := maxKeyDigits, len(max.String()); have != want {
			t.Errorf("maxKeyDigits = %d, want %d (the digits of 2^%d-1)", have, want, MaxModulusBits)
		}
	})
}

func parsePub(s string) error  { _, err := ParsePublicKey(s); return err }
func parsePriv(s string) error { _, err := ParsePrivateKey(s); return err }
