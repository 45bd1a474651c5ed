package seattlersa

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// The node-manager signature scheme: Seattle's clients sign every request
// to a node manager with it (docs/nodemanager-api.md §3.3).
//
// A signature covers the SHA-1 digest of a message. The 20 digest bytes
// are cut into BlockSize(n)-byte slices (one slice for any modulus of 169
// bits or more, several for toy keys); each slice becomes the integer m
// whose big-endian bytes are 0x01 followed by the slice, and s = m^d mod n.
// The signature is written " s1 s2 …": each integer in decimal, preceded
// by one space. It is the block transform of Encrypt with the exponents
// swapped, textbook RSA with no padding and no hash identifier.

// DigestSize is the number of bytes a signature covers: a SHA-1 digest.
const DigestSize = sha1.Size

// laxTokenFactor bounds the integers VerifyLax reads: that many times as
// many as Sign makes for the key (see maxLaxTokens).
const laxTokenFactor = 2

// maxLaxTokenDigits bounds the significant digits of one VerifyLax integer:
// twice what a value below a MaxModulusBits modulus can have, which leaves
// room for the unreduced s + k·n the original accepted.
const maxLaxTokenDigits = 2 * maxKeyDigits

var (
	// ErrBadSignature is the error of Verify and VerifyLax for a signature
	// that does not match the message under the key.
	ErrBadSignature = errors.New("seattlersa: bad signature")

	// ErrMalformedSignature is the error of VerifyLax (and matched by
	// Verify's) for a signature holding a token that is not a decimal
	// integer: the original verifier raised an exception there rather than
	// answering false.
	ErrMalformedSignature = errors.New("seattlersa: malformed signature")
)

// Sign signs msg with priv in the node-manager form and returns the
// signature field: " s1 s2 …", with a leading space. It needs a modulus
// of at least 17 bits (BlockSize 1). It works modulo P and Q and combines
// the results (the Chinese remainder theorem), which gives the integers
// m^d mod n when P and Q are distinct primes, as ParsePrivateKey and
// GenerateKey ensure. The error never contains key material.
func Sign(priv *PrivateKey, msg []byte) (string, error) {
	if priv == nil || priv.D == nil || priv.P == nil || priv.Q == nil ||
		priv.D.Sign() <= 0 || priv.P.Sign() <= 0 || priv.Q.Sign() <= 0 {
		return "", &keyError{"seattlersa: invalid private key", ErrInvalidKey}
	}
	n := priv.N()
	if n.BitLen() > MaxModulusBits {
		return "", tooLarge("private", "modulus")
	}
	if priv.D.BitLen() > MaxModulusBits {
		return "", tooLarge("private", "exponent d")
	}
	size := BlockSize(&PublicKey{N: n})
	if size < 1 {
		return "", &keyError{"seattlersa: invalid private key: modulus too small to sign with", ErrInvalidKey}
	}
	digest := sha1.Sum(msg)
	c := newCRT(priv, n)
	var sb strings.Builder
	block := make([]byte, 0, size+1)
	m := new(big.Int)
	for rest := digest[:]; len(rest) > 0; {
		k := min(size, len(rest))
		block = append(append(block[:0], 0x01), rest[:k]...)
		rest = rest[k:]
		m.SetBytes(block)
		sb.WriteByte(' ')
		sb.WriteString(c.exp(m).String())
	}
	return sb.String(), nil
}

// crt computes x^d mod p·q from its residues modulo p and q.
type crt struct {
	d, n, p, q *big.Int
	dp, dq     *big.Int // d mod p-1, d mod q-1
	qinv       *big.Int // q^-1 mod p; nil when the shortcut does not apply
}

func newCRT(priv *PrivateKey, n *big.Int) *crt {
	c := &crt{d: priv.D, n: n, p: priv.P, q: priv.Q}
	if priv.P.Cmp(priv.Q) == 0 {
		return c // p·q is a square: no shortcut
	}
	one := big.NewInt(1)
	c.dp = new(big.Int).Mod(priv.D, new(big.Int).Sub(priv.P, one))
	c.dq = new(big.Int).Mod(priv.D, new(big.Int).Sub(priv.Q, one))
	c.qinv = new(big.Int).ModInverse(priv.Q, priv.P)
	return c
}

// exp returns x^d mod n for 0 ≤ x < n.
func (c *crt) exp(x *big.Int) *big.Int {
	if c.qinv == nil {
		return new(big.Int).Exp(x, c.d, c.n)
	}
	// Fermat lets the exponent drop to d mod p-1 only for x coprime to p;
	// for x ≡ 0 (mod p) the power is 0, as d > 0.
	sp := residuePower(x, c.dp, c.p)
	sq := residuePower(x, c.dq, c.q)
	// s = sq + q·((sp - sq)·qinv mod p)
	h := new(big.Int).Sub(sp, sq)
	h.Mul(h, c.qinv)
	h.Mod(h, c.p)
	h.Mul(h, c.q)
	return h.Add(h, sq)
}

func residuePower(x, e, prime *big.Int) *big.Int {
	r := new(big.Int).Mod(x, prime)
	if r.Sign() == 0 {
		return r
	}
	return r.Exp(r, e, prime)
}

// Verify reports whether sig is exactly the signature Sign makes for msg
// with the private key of pub: one space before each integer and nowhere
// else, no sign or leading zero, as many integers as the digest has
// blocks, each below n and each recovering 0x01 and its digest slice. It
// returns nil, an error matching ErrBadSignature, or one matching
// ErrInvalidKey for a key ParsePublicKey would refuse. This is stricter
// than the original verifier (see VerifyLax).
func Verify(pub *PublicKey, msg []byte, sig string) error {
	if err := checkPublicKey(pub); err != nil {
		return err
	}
	size := BlockSize(pub)
	if size < 1 {
		return fmt.Errorf("%w: modulus too small for a signature", ErrBadSignature)
	}
	digest := sha1.Sum(msg)
	rest := digest[:]
	block := make([]byte, 0, size+1)
	s, m, want := new(big.Int), new(big.Int), new(big.Int)
	for i := 1; len(rest) > 0; i++ {
		if len(sig) == 0 || sig[0] != ' ' {
			return fmt.Errorf("%w: integer %d is missing or not preceded by one space", ErrBadSignature, i)
		}
		sig = sig[1:]
		end := strings.IndexByte(sig, ' ')
		if end < 0 {
			end = len(sig)
		}
		tok := sig[:end]
		sig = sig[end:]
		if !isCanonicalDecimal(tok) || len(tok) > maxKeyDigits {
			return fmt.Errorf("%w: integer %d is not in canonical decimal form", ErrBadSignature, i)
		}
		s.SetString(tok, 10)
		if s.Cmp(pub.N) >= 0 {
			return fmt.Errorf("%w: integer %d is not below the modulus", ErrBadSignature, i)
		}
		k := min(size, len(rest))
		block = append(append(block[:0], 0x01), rest[:k]...)
		rest = rest[k:]
		want.SetBytes(block)
		if m.Exp(s, pub.E, pub.N).Cmp(want) != 0 {
			return fmt.Errorf("%w: block %d does not match the digest", ErrBadSignature, i)
		}
	}
	if sig != "" {
		return fmt.Errorf("%w: text after the last block", ErrBadSignature)
	}
	return nil
}

// isCanonicalDecimal reports whether s is ASCII digits without a leading
// zero (other than "0" itself).
func isCanonicalDecimal(s string) bool {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// VerifyLax checks sig the way the original node manager did, and so
// accepts every signature it accepted within the bounds below: sig is
// split on ASCII white space (any amount, anywhere); each token, an
// optionally signed decimal integer, is raised to e modulo n (a negative
// or unreduced one first reduced, as Python's pow did); the minimal
// big-endian bytes of each result lose their first byte, whatever it is;
// and the concatenation must equal the SHA-1 digest of msg. So s + n, a
// different block split and a marker other than 0x01 all verify.
//
// Every token is checked for syntax before any arithmetic: one that is
// not an integer gives an error matching ErrMalformedSignature. Bounds
// the original did not have, each answered with ErrBadSignature: at most
// twice as many tokens as Sign makes blocks for the key (2 for a modulus
// of 169 bits or more, up to 40 for the smallest), each of at most twice
// the digits a MaxModulusBits number has; and the work stops as soon as
// the recovered bytes outgrow the digest. A key ParsePublicKey would refuse gives an
// error matching ErrInvalidKey.
func VerifyLax(pub *PublicKey, msg []byte, sig string) error {
	if err := checkPublicKey(pub); err != nil {
		return err
	}
	count, bad := scanLaxTokens(sig)
	if bad > 0 {
		return fmt.Errorf("%w: token %d is not a decimal integer", ErrMalformedSignature, bad)
	}
	if limit := maxLaxTokens(pub); count > limit {
		return fmt.Errorf("%w: more than %d integers", ErrBadSignature, limit)
	}
	tokens := asciiFields(sig)
	digest := sha1.Sum(msg)
	recovered := make([]byte, 0, DigestSize)
	for i, tok := range tokens {
		s, ok := parseLaxInt(tok)
		if !ok {
			return fmt.Errorf("%w: token %d has more than %d digits", ErrBadSignature, i+1, maxLaxTokenDigits)
		}
		s.Mod(s, pub.N)
		if b := s.Exp(s, pub.E, pub.N).Bytes(); len(b) > 0 {
			recovered = append(recovered, b[1:]...)
		}
		if len(recovered) > DigestSize {
			return ErrBadSignature
		}
	}
	if string(recovered) != string(digest[:]) {
		return ErrBadSignature
	}
	return nil
}

// scanLaxTokens counts the white-space separated tokens of sig and
// checks, without allocating, that each is an optionally signed decimal
// integer; bad is the number of the first token that is not (0 if none).
func scanLaxTokens(sig string) (count, bad int) {
	for i := 0; i < len(sig); {
		if isASCIISpace(sig[i]) {
			i++
			continue
		}
		count++
		if sig[i] == '+' || sig[i] == '-' {
			i++
		}
		digits := i
		for i < len(sig) && sig[i] >= '0' && sig[i] <= '9' {
			i++
		}
		if i == digits || (i < len(sig) && !isASCIISpace(sig[i])) {
			return count, count
		}
	}
	return count, 0
}

// maxLaxTokens is the most integers VerifyLax reads for pub: twice the
// number of blocks Sign makes (one for any modulus of 169 bits or more,
// up to 20 for the smallest), counting one digest byte per block for a
// modulus too small for Sign. The original read any number, each costing
// a modular exponentiation; twice the blocks still takes a signature
// re-cut into smaller blocks, and keeps the worst case of one signature
// at two full-size exponentiations for a MaxModulusBits key.
func maxLaxTokens(pub *PublicKey) int {
	size := max(BlockSize(pub), 1)
	return laxTokenFactor * ((DigestSize + size - 1) / size)
}

// parseLaxInt parses a token isDecimal accepted, unless it has more than
// maxLaxTokenDigits significant digits.
func parseLaxInt(s string) (*big.Int, bool) {
	sign, digits := "", s
	if digits[0] == '+' || digits[0] == '-' {
		sign, digits = digits[:1], digits[1:]
	}
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > maxLaxTokenDigits {
		return nil, false
	}
	if digits == "" {
		return new(big.Int), true
	}
	return new(big.Int).SetString(sign+digits, 10)
}

// asciiFields splits s around runs of ASCII white space (space, \t, \n,
// \v, \f, \r), as Python 2's str.split() does for byte strings; unlike
// strings.Fields it treats no other byte or character as a separator.
func asciiFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i < len(s); i++ {
		if isASCIISpace(s[i]) {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// PublicKey returns the public key that belongs to k, assuming the public
// exponent is PublicExponent (65537), as it is for every key Seattle's
// tools and GenerateKey make. A private key string ("d p q") does not
// carry e, so this is how a signer finds the key string it must put in
// its requests. It checks that p ≠ q and d·65537 ≡ 1 modulo λ(n) =
// lcm(p-1, q-1), the condition for the pair to work; a key made with
// another exponent fails it, and its owner must supply the public key
// (see MatchesPublicKey). The error matches ErrInvalidKey and holds no key
// material.
func (k *PrivateKey) PublicKey() (*PublicKey, error) {
	pub := &PublicKey{E: big.NewInt(PublicExponent)}
	if k != nil && k.P != nil && k.Q != nil {
		pub.N = k.N()
	}
	if !k.MatchesPublicKey(pub) {
		return nil, &keyError{"seattlersa: invalid private key: not the private half of a key with e = 65537", ErrInvalidKey}
	}
	return pub, nil
}

// MatchesPublicKey reports whether k and pub form a working key pair:
// n = p·q with p ≠ q, 0 < e < n, and d·e ≡ 1 modulo λ(n) = lcm(p-1, q-1).
// Keys over MaxModulusBits never match.
func (k *PrivateKey) MatchesPublicKey(pub *PublicKey) bool {
	if k == nil || k.D == nil || k.P == nil || k.Q == nil || checkPublicKey(pub) != nil {
		return false
	}
	one := big.NewInt(1)
	if k.D.Sign() <= 0 || k.P.Cmp(one) <= 0 || k.Q.Cmp(one) <= 0 || k.P.Cmp(k.Q) == 0 ||
		k.D.BitLen() > MaxModulusBits || k.N().Cmp(pub.N) != 0 {
		return false
	}
	p1 := new(big.Int).Sub(k.P, one)
	q1 := new(big.Int).Sub(k.Q, one)
	g := new(big.Int).GCD(nil, nil, p1, q1)
	lambda := new(big.Int).Mul(p1, q1)
	lambda.Quo(lambda, g)
	de := new(big.Int).Mul(k.D, pub.E)
	return de.Mod(de, lambda).Cmp(one) == 0
}
