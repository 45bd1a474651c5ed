package seattlersa

import (
	"crypto/sha1"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The three keys of the node-manager vectors (nodemanager-api.md §9),
// made by the original rsa_gen_pubpriv_keys: 64 bits (4 blocks per
// signature), 128 bits (2 blocks) and 1024 bits (1 block).
var nmKeys = map[string]struct{ pub, priv string }{
	"A": {"65537 13461006132574472873", "13007492819394379409 3509145229 3835978637"},
	"B": {"65537 182251121044948309552626685019603406019", "151769796941408653747716791572778982785 12291774357636164383 14827079943240764893"},
	"C": {
		"65537 158057885246331618531380098863678608240487134684288652168194944242990592464962607186325387360374638111312000577992777171193661162284444086839034466845202249317724630787583620813943001390917370277886989073516233063403717696690346802277697886030698505088349069514169552163973881929287904234294307838044904921649",
		"144759577736859525750477252149084961203881155456536884036369762703465589384995507440755736843794603099856267615131306958612037840361920555172488301317569817047486095233802840511559307677258640541622571606876408191269513304765506196126394254020512493432482678933544775516882554848173278118327033632625736883133 11985135049003601812110836236828962484551160221261424811574765078978869394400767759897570681667082640859764508019104680446381178755029831882974520432533431 13187826803793249310184104676241735977555253857837583996607655847230317545714481040728647239614573280351607487300630892122766596526908995707052328882062679",
	},
}

// signVectors are ReadVesselLog requests signed by the original
// signeddata_signdata (the digest input and the signature field it made).
var signVectors = []struct {
	key, input, sig string
}{
	{"A", "ReadVesselLog|v2\n!65537 13461006132574472873!3913056000.12!3913059600.12!None!65537 182251121044948309552626685019603406019",
		" 8745108044535165368 9873201738600483240 9196365783682324854 13337744267977956538"},
	{"B", "ReadVesselLog|v2\n!65537 182251121044948309552626685019603406019!3913056000.12!3913059600.12!None!65537 182251121044948309552626685019603406019",
		" 54859749417657661956550685903172785979 34396637458330616377319924618237646781"},
	{"C", "ReadVesselLog|v2\n!" + nmKeys["C"].pub + "!3913056000.12!3913059600.12!None!65537 182251121044948309552626685019603406019",
		" 85616659939468651459377962372644587564558729419447823359447489296383894409143664858266971721774180910666080179190635131075853170796664322571535978525810568266981103549152765340439332069323469707672609785813354906494606870972309200299520799579062606395212947236091231078198720238266926193432535588810414665038"},
}

func nmKey(t testing.TB, name string) (*PublicKey, *PrivateKey) {
	t.Helper()
	pub, err := ParsePublicKey(nmKeys[name].pub)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(nmKeys[name].priv)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestSignVectors(t *testing.T) {
	for _, v := range signVectors {
		pub, priv := nmKey(t, v.key)
		have, err := Sign(priv, []byte(v.input))
		if err != nil || have != v.sig {
			t.Errorf("key %s: Sign = %q, %v; want %q", v.key, have, err, v.sig)
		}
		if err := Verify(pub, []byte(v.input), v.sig); err != nil {
			t.Errorf("key %s: Verify(vector): %v", v.key, err)
		}
		if err := VerifyLax(pub, []byte(v.input), v.sig); err != nil {
			t.Errorf("key %s: VerifyLax(vector): %v", v.key, err)
		}
		if err := Verify(pub, []byte(v.input+"x"), v.sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("key %s: Verify(other message) = %v, want ErrBadSignature", v.key, err)
		}
		if err := VerifyLax(pub, []byte(v.input+"x"), v.sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("key %s: VerifyLax(other message) = %v, want ErrBadSignature", v.key, err)
		}
	}
}

// TestSignIsModularPower checks the CRT shortcut against m^d mod n, for
// the digest blocks of many messages and for the values the shortcut must
// treat apart: 0, 1, p, q and multiples of them.
func TestSignIsModularPower(t *testing.T) {
	for _, name := range []string{"A", "B", "C"} {
		pub, priv := nmKey(t, name)
		size := BlockSize(pub)
		for i := range 50 {
			msg := []byte("message " + strconv.Itoa(i))
			sig, err := Sign(priv, msg)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha1.Sum(msg)
			var want strings.Builder
			for rest := digest[:]; len(rest) > 0; {
				k := min(size, len(rest))
				m := new(big.Int).SetBytes(append([]byte{1}, rest[:k]...))
				rest = rest[k:]
				want.WriteString(" " + new(big.Int).Exp(m, priv.D, pub.N).String())
			}
			if sig != want.String() {
				t.Fatalf("key %s, message %d: Sign = %q, m^d mod n gives %q", name, i, sig, want.String())
			}
		}
		c := newCRT(priv, pub.N)
		for _, x := range []*big.Int{
			big.NewInt(0), big.NewInt(1), priv.P, priv.Q,
			new(big.Int).Mul(priv.P, big.NewInt(2)), new(big.Int).Sub(pub.N, priv.Q), new(big.Int).Sub(pub.N, big.NewInt(1)),
		} {
			if have, want := c.exp(x), new(big.Int).Exp(x, priv.D, pub.N); have.Cmp(want) != 0 {
				t.Errorf("key %s: crt.exp(%v) = %v, want %v", name, x, have, want)
			}
		}
	}
	// p = q: no shortcut, the plain power.
	sq := &PrivateKey{D: big.NewInt(7), P: big.NewInt(65537), Q: big.NewInt(65537)}
	c := newCRT(sq, sq.N())
	x := big.NewInt(123456789)
	if have, want := c.exp(x), new(big.Int).Exp(x, sq.D, sq.N()); have.Cmp(want) != 0 {
		t.Errorf("p = q: crt.exp = %v, want %v", have, want)
	}
}

func TestSignRoundTripGenerated(t *testing.T) {
	for _, bits := range []int{128, 200, 512, 1024} {
		pub, priv := generated(t, 50, bits)
		for _, msg := range []string{"", "x", strings.Repeat("long message ", 1000)} {
			sig, err := Sign(priv, []byte(msg))
			if err != nil {
				t.Fatalf("%d bits: Sign: %v", bits, err)
			}
			want := (DigestSize + BlockSize(pub) - 1) / BlockSize(pub)
			if n := len(strings.Fields(sig)); n != want || !strings.HasPrefix(sig, " ") {
				t.Errorf("%d bits: signature %q has %d integers, want %d after a leading space", bits, sig, n, want)
			}
			if err := Verify(pub, []byte(msg), sig); err != nil {
				t.Errorf("%d bits: Verify: %v", bits, err)
			}
			if err := VerifyLax(pub, []byte(msg), sig); err != nil {
				t.Errorf("%d bits: VerifyLax: %v", bits, err)
			}
		}
	}
}

// laxCases builds the signatures the original verifier accepted although
// Sign never makes them (the verification vectors signature_plus_n,
// signature_extra_spaces, marker_byte_not_checked, rechopped_signature),
// and a few it refused.
func laxCases(t *testing.T, name string, msg []byte) (accepted, refused map[string]string) {
	t.Helper()
	pub, priv := nmKey(t, name)
	sig, err := Sign(priv, msg)
	if err != nil {
		t.Fatal(err)
	}
	ints := strings.Fields(sig)
	last := len(ints) - 1
	with := func(i int, f func(*big.Int) *big.Int) string {
		out := append([]string(nil), ints...)
		v, _ := new(big.Int).SetString(out[i], 10)
		out[i] = f(v).String()
		return " " + strings.Join(out, " ")
	}
	c := newCRT(priv, pub.N)
	digest := sha1.Sum(msg)
	power := func(b []byte) string { return c.exp(new(big.Int).SetBytes(b)).String() }
	accepted = map[string]string{
		"s + n":                     with(last, func(v *big.Int) *big.Int { return v.Add(v, pub.N) }),
		"s + 5n":                    with(0, func(v *big.Int) *big.Int { return v.Add(v, new(big.Int).Mul(pub.N, big.NewInt(5))) }),
		"s - n":                     with(last, func(v *big.Int) *big.Int { return v.Sub(v, pub.N) }),
		"extra white space":         "\t " + strings.Join(ints, "  \n ") + " \r\v\f",
		"no leading space":          strings.TrimPrefix(sig, " "),
		"leading zeros and a plus":  " +000" + strings.Join(ints, " 0"),
		"marker 0x02 on each block": "",
		"re-chopped":                "",
	}
	size := BlockSize(pub)
	var marker2 strings.Builder
	for rest := digest[:]; len(rest) > 0; {
		k := min(size, len(rest))
		marker2.WriteString(" " + power(append([]byte{2}, rest[:k]...)))
		rest = rest[k:]
	}
	accepted["marker 0x02 on each block"] = marker2.String()
	// Re-cut into twice as many blocks as Sign makes: the most VerifyLax
	// reads. One block more is refused (the original took it).
	rechop := func(blocks int) string {
		var sb strings.Builder
		rest := digest[:]
		for i := range blocks {
			k := DigestSize / blocks
			if i < DigestSize%blocks {
				k++
			}
			sb.WriteString(" " + power(append([]byte{1}, rest[:k]...)))
			rest = rest[k:]
		}
		return sb.String()
	}
	canonical := len(ints)
	accepted["re-chopped"] = rechop(2 * canonical)
	refused = map[string]string{
		"s + 1":         with(last, func(v *big.Int) *big.Int { return v.Add(v, big.NewInt(1)) }),
		"empty":         "",
		"spaces":        "   ",
		"block missing": " " + strings.Join(ints[:last], " "),
		"block twice":   sig + " " + ints[last],
	}
	if canonical < DigestSize/2 {
		refused["re-chopped beyond the bound"] = rechop(2*canonical + 1)
	}
	if last == 0 {
		refused["block missing"] = " 1"
	}
	return accepted, refused
}

// TestVerifyLaxAndStrict pins which signatures each verifier takes: the
// original's laxity (kept by VerifyLax) and Sign's exact form (Verify).
func TestVerifyLaxAndStrict(t *testing.T) {
	msg := []byte("StartVesselEx|v2|repyV2|hello.r2py 1 2\n!trailer")
	for _, name := range []string{"A", "B", "C"} {
		pub, _ := nmKey(t, name)
		accepted, refused := laxCases(t, name, msg)
		for what, sig := range accepted {
			if err := VerifyLax(pub, msg, sig); err != nil {
				t.Errorf("key %s, %s: VerifyLax = %v, want nil", name, what, err)
			}
			if err := Verify(pub, msg, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("key %s, %s: Verify = %v, want ErrBadSignature", name, what, err)
			}
		}
		for what, sig := range refused {
			if err := VerifyLax(pub, msg, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("key %s, %s: VerifyLax = %v, want ErrBadSignature", name, what, err)
			}
			if err := Verify(pub, msg, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("key %s, %s: Verify = %v, want ErrBadSignature", name, what, err)
			}
		}
	}
}

func TestVerifyLaxMalformedAndBounds(t *testing.T) {
	pub, priv := nmKey(t, "C")
	msg := []byte("m")
	sig, err := Sign(priv, msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{" xyz", sig + " 12a", " 1_000", " 0x10", " --5", " +", " 5L", sig + " \u00a0"} {
		if err := VerifyLax(pub, msg, bad); !errors.Is(err, ErrMalformedSignature) || errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyLax(%q) = %v, want ErrMalformedSignature only", bad, err)
		}
	}
	// Syntax is checked for every token before the count bound applies.
	if err := VerifyLax(pub, msg, strings.Repeat(" 1", 100)+" x"); !errors.Is(err, ErrMalformedSignature) {
		t.Errorf("VerifyLax(100 integers and a word) = %v, want ErrMalformedSignature", err)
	}
	for what, bad := range map[string]string{
		"3 integers":            " 0 1" + sig,
		"a million integers":    strings.Repeat(" 7", 1_000_000),
		"an overlong integer":   " " + strings.Repeat("9", maxLaxTokenDigits+1),
		"a 4 MB integer":        " " + strings.Repeat("3", 4<<20),
		"leading zeros of 4 MB": " " + strings.Repeat("0", 4<<20) + "5",
	} {
		var err error
		within(t, 2*time.Second, "VerifyLax("+what+")", func() { err = VerifyLax(pub, msg, bad) })
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyLax(%s) = %v, want ErrBadSignature", what, err)
		}
	}
	// Two integers are still read: a zero recovers nothing.
	if err := VerifyLax(pub, msg, " 0"+sig); err != nil {
		t.Errorf("VerifyLax(a zero and the signature) = %v, want nil", err)
	}
	// Key A makes 4 blocks, so 8 integers are read and 9 are not.
	pubA, privA := nmKey(t, "A")
	sigA, err := Sign(privA, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyLax(pubA, msg, " 0 1 0 1"+sigA); err != nil {
		t.Errorf("VerifyLax(key A, 8 integers) = %v, want nil", err)
	}
	if err := VerifyLax(pubA, msg, " 0 1 0 1 0"+sigA); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyLax(key A, 9 integers) = %v, want ErrBadSignature", err)
	}
	// A modulus too small for Sign: one digest byte per block, 40 read.
	tiny := &PublicKey{E: big.NewInt(3), N: big.NewInt(55)}
	if have := maxLaxTokens(tiny); have != 40 {
		t.Errorf("maxLaxTokens(6-bit key) = %d, want 40", have)
	}
	if err := VerifyLax(pub, msg, " "+strings.Repeat("0", 100_000)+strings.TrimSpace(sig)); err != nil {
		t.Errorf("VerifyLax(leading zeros) = %v, want nil", err)
	}
}

func TestVerifyStrictForms(t *testing.T) {
	pub, priv := nmKey(t, "B") // two blocks
	msg := []byte("m")
	sig, err := Sign(priv, msg)
	if err != nil {
		t.Fatal(err)
	}
	ints := strings.Fields(sig)
	for what, bad := range map[string]string{
		"leading zero":     " 0" + ints[0] + " " + ints[1],
		"plus sign":        " +" + ints[0] + " " + ints[1],
		"two spaces":       " " + ints[0] + "  " + ints[1],
		"tab":              " " + ints[0] + "\t" + ints[1],
		"trailing space":   sig + " ",
		"no leading space": ints[0] + " " + ints[1],
		"one block":        " " + ints[0],
		"three blocks":     sig + " " + ints[1],
		"blocks swapped":   " " + ints[1] + " " + ints[0],
		"empty":            "",
		"overlong integer": " " + strings.Repeat("9", maxKeyDigits+1) + " " + ints[1],
		"integer at n":     " " + pub.N.String() + " " + ints[1],
	} {
		if err := Verify(pub, msg, bad); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify(%s) = %v, want ErrBadSignature", what, err)
		}
	}
	if err := Verify(nil, msg, sig); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Verify(nil key) = %v, want ErrInvalidKey", err)
	}
	if err := VerifyLax(&PublicKey{E: pub.N, N: pub.N}, msg, sig); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("VerifyLax(e = n) = %v, want ErrInvalidKey", err)
	}
	tiny := &PublicKey{E: big.NewInt(3), N: big.NewInt(55)} // BlockSize below 1
	if err := Verify(tiny, msg, " 1"); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(6-bit key) = %v, want ErrBadSignature", err)
	}
}

func TestSignErrors(t *testing.T) {
	big4097 := pow2Plus(4096, 1)
	for what, k := range map[string]*PrivateKey{
		"nil":             nil,
		"nil fields":      {},
		"zero d":          {D: big.NewInt(0), P: big.NewInt(61), Q: big.NewInt(53)},
		"modulus 15":      {D: big.NewInt(3), P: big.NewInt(3), Q: big.NewInt(5)},
		"16-bit modulus":  {D: big.NewInt(3), P: big.NewInt(251), Q: big.NewInt(257)},
		"modulus too big": {D: big.NewInt(3), P: big4097, Q: big.NewInt(3)},
		"d too big":       {D: big4097, P: big.NewInt(65537), Q: big.NewInt(65539)},
	} {
		sig, err := Sign(k, []byte("m"))
		if !errors.Is(err, ErrInvalidKey) || sig != "" {
			t.Errorf("Sign(%s) = %q, %v; want ErrInvalidKey", what, sig, err)
		}
	}
	// The smallest modulus that signs: 17 bits, one digest byte per block.
	k := &PrivateKey{D: big.NewInt(5), P: big.NewInt(257), Q: big.NewInt(263)}
	sig, err := Sign(k, []byte("m"))
	if err != nil || len(strings.Fields(sig)) != DigestSize {
		t.Errorf("Sign(17-bit key) = %q, %v; want %d integers", sig, err, DigestSize)
	}
	// Error text never carries key material.
	_, priv := nmKey(t, "C")
	bad := &PrivateKey{D: new(big.Int).Lsh(priv.D, 4000), P: priv.P, Q: priv.Q}
	if _, err := Sign(bad, nil); err == nil || strings.Contains(err.Error(), priv.P.String()[:20]) || strings.Contains(err.Error(), priv.D.String()[:20]) {
		t.Errorf("Sign(oversized d) error = %v", err)
	}
}

func TestPrivateKeyPublicKey(t *testing.T) {
	for _, name := range []string{"A", "B", "C"} {
		pub, priv := nmKey(t, name)
		have, err := priv.PublicKey()
		if err != nil || have.String() != pub.String() {
			t.Errorf("key %s: PublicKey() = %v, %v; want %v", name, have, err, pub)
		}
		if !priv.MatchesPublicKey(pub) {
			t.Errorf("key %s: MatchesPublicKey(own key) = false", name)
		}
	}
	pubA, privA := nmKey(t, "A")
	pubB, _ := nmKey(t, "B")
	if privA.MatchesPublicKey(pubB) {
		t.Error("key A matches key B's public key")
	}
	if privA.MatchesPublicKey(&PublicKey{E: big.NewInt(3), N: pubA.N}) {
		t.Error("key A matches its modulus with e = 3")
	}
	// A key pair with e = 3: d·65537 is not 1 modulo λ, so PublicKey fails
	// and MatchesPublicKey with the real e holds.
	p, q := big.NewInt(1000000007), big.NewInt(998244353) // both ≡ 2 mod 3
	lambda := new(big.Int).Div(new(big.Int).Mul(big.NewInt(1000000006), big.NewInt(998244352)),
		new(big.Int).GCD(nil, nil, big.NewInt(1000000006), big.NewInt(998244352)))
	d := new(big.Int).ModInverse(big.NewInt(3), lambda)
	e3 := &PrivateKey{D: d, P: p, Q: q}
	if pub, err := e3.PublicKey(); !errors.Is(err, ErrInvalidKey) || pub != nil {
		t.Errorf("PublicKey(e = 3 key) = %v, %v; want ErrInvalidKey", pub, err)
	}
	if !e3.MatchesPublicKey(&PublicKey{E: big.NewInt(3), N: e3.N()}) {
		t.Error("MatchesPublicKey(e = 3 key, e = 3) = false; d is the inverse modulo λ")
	}
	for what, k := range map[string]*PrivateKey{
		"nil":   nil,
		"p = q": {D: big.NewInt(5), P: big.NewInt(65537), Q: big.NewInt(65537)},
	} {
		if _, err := k.PublicKey(); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("PublicKey(%s) = %v, want ErrInvalidKey", what, err)
		}
	}
}

func TestASCIIFields(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		" a  b\t\nc\v\f\r ": "a|b|c",
		"a\u00a0b":          "a\u00a0b", // no-break space is not a separator
		"a\x85b\x1cc":       "a\x85b\x1cc",
	} {
		if have := strings.Join(asciiFields(in), "|"); have != want {
			t.Errorf("asciiFields(%q) = %q, want %q", in, have, want)
		}
	}
}

// FuzzVerifyLax feeds arbitrary signature text to both verifiers: neither
// may panic, and whatever Verify accepts VerifyLax accepts.
func FuzzVerifyLax(f *testing.F) {
	pub, _ := nmKey(f, "B")
	for _, v := range signVectors {
		f.Add([]byte(v.input), v.sig)
	}
	f.Add([]byte("m"), " 1 2 3")
	f.Add([]byte(""), " -0 +12\t 00")
	f.Fuzz(func(t *testing.T, msg []byte, sig string) {
		strict := Verify(pub, msg, sig)
		lax := VerifyLax(pub, msg, sig)
		if strict == nil && lax != nil {
			t.Fatalf("Verify accepts %q but VerifyLax says %v", sig, lax)
		}
		for _, err := range []error{strict, lax} {
			if err != nil && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrMalformedSignature) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		}
	})
}

// BenchmarkSign1024 signs with the 1024-bit vector key; its baseline is
// BenchmarkPrivateExp1024, the bare m^d mod n of the same size (signing
// is one such block plus SHA-1, with the CRT shortcut).
func BenchmarkSign1024(b *testing.B) {
	_, priv := nmKey(b, "C")
	msg := []byte(signVectors[2].input)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(priv, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify1024(b *testing.B) {
	pub, _ := nmKey(b, "C")
	msg, sig := []byte(signVectors[2].input), signVectors[2].sig
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(pub, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyLax1024(b *testing.B) {
	pub, _ := nmKey(b, "C")
	msg, sig := []byte(signVectors[2].input), signVectors[2].sig
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyLax(pub, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyLaxWorstCase is the most one signature can cost a node:
// a MaxModulusBits key whose public exponent is as long as the modulus
// (GenerateKey's pair with the exponents swapped), and a valid signature
// re-cut into the most integers VerifyLax reads (two), so that both cost
// a full exponentiation. BenchmarkVerifyLax4096 is the same key with an
// ordinary signature of one block, the baseline.
func BenchmarkVerifyLaxWorstCase(b *testing.B) {
	pub, msg, sig := worstCaseSignature(b, 2)
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyLax(pub, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyLax4096(b *testing.B) {
	pub, msg, sig := worstCaseSignature(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyLax(pub, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// worstCaseSignature returns a key of MaxModulusBits with a full-size
// public exponent and a valid signature of msg cut into blocks integers.
func worstCaseSignature(b *testing.B, blocks int) (*PublicKey, []byte, string) {
	b.Helper()
	pub, priv := generated(b, 60, MaxModulusBits)
	swapped := &PublicKey{E: priv.D, N: pub.N}
	msg := []byte("m")
	digest := sha1.Sum(msg)
	k := DigestSize / blocks
	var sig strings.Builder
	for rest := digest[:]; len(rest) > 0; rest = rest[k:] {
		m := new(big.Int).SetBytes(append([]byte{1}, rest[:k]...))
		sig.WriteString(" " + m.Exp(m, pub.E, pub.N).String())
	}
	if err := VerifyLax(swapped, msg, sig.String()); err != nil {
		b.Fatal(err)
	}
	return swapped, msg, sig.String()
}
