package seattlersa

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// PublicExponent is the exponent e of every key made by [GenerateKey].
const PublicExponent = 65537

// MinKeyBits is the smallest modulus size [GenerateKey] accepts.
const MinKeyBits = 128

// MaxModulusBits is the largest modulus, in bits, that ParsePublicKey,
// ParsePrivateKey, GenerateKey and EncryptAPIKey accept; the exponents e
// and d are bounded by it too. Seattle keys are hundreds to a few thousand
// bits (the clearinghouse made 1024-bit ones). The cap bounds the work one
// key can cause: an encryption with a full-size exponent e just below n
// costs about 22 ms at 4096 bits, against about 170 ms at 8192 (modular
// exponentiation grows with the cube of the size; see
// BenchmarkEncryptAPIKeyWorstCase).
const MaxModulusBits = 4096

// MaxKeyStringBytes is the longest key string ParsePublicKey and
// ParsePrivateKey read. A canonical key within MaxModulusBits is at most
// about 2 500 bytes; the rest is room for white space and leading zeros.
// Longer strings are refused as invalid before any number is parsed.
const MaxKeyStringBytes = 8 << 10

// maxKeyDigits is the number of decimal digits of 2^MaxModulusBits - 1:
// a token with more significant digits cannot be a value within the cap.
const maxKeyDigits = 1234

// primeRounds is the number of Miller-Rabin rounds (on top of the
// Baillie-PSW test that math/big always runs) used to accept a prime.
const primeRounds = 20

var (
	// ErrMalformedKey is matched by the errors of ParsePublicKey and
	// ParsePrivateKey when the string is not the right number of decimal
	// integer tokens.
	ErrMalformedKey = errors.New("seattlersa: malformed key")

	// ErrInvalidKey is matched by the errors of ParsePublicKey and
	// ParsePrivateKey when the tokens are integers but do not form a usable
	// key (for a public key: not 0 < e < n; for a private key: d ≤ 0, or p
	// or q not a probable prime), and when the key is too large: a modulus
	// or exponent over MaxModulusBits, or a string over MaxKeyStringBytes.
	ErrInvalidKey = errors.New("seattlersa: invalid key")
)

// keyError is a parse error with a specific message that still matches one
// of the sentinels above through errors.Is.
type keyError struct {
	msg  string
	kind error
}

func (e *keyError) Error() string { return e.msg }
func (e *keyError) Unwrap() error { return e.kind }

// PublicKey is a Seattle RSA public key.
type PublicKey struct {
	E, N *big.Int
}

// PrivateKey is a Seattle RSA private key. The modulus is P×Q; see [PrivateKey.N].
type PrivateKey struct {
	D, P, Q *big.Int
}

// N returns the modulus P×Q as a new value.
func (k *PrivateKey) N() *big.Int {
	return new(big.Int).Mul(k.P, k.Q)
}

// String returns the key as "<e> <n>".
func (k *PublicKey) String() string {
	return k.E.String() + " " + k.N.String()
}

// String returns the key as "<d> <p> <q>". The result is secret: keep it out
// of logs and error messages.
func (k *PrivateKey) String() string {
	return k.D.String() + " " + k.P.String() + " " + k.Q.String()
}

// ParsePublicKey parses "<e> <n>": exactly two whitespace-separated decimal
// integers (an optional sign is read, so "+3" is three) with 0 < e < n and
// n of at most [MaxModulusBits] bits. Errors match [ErrMalformedKey] or
// [ErrInvalidKey]; a string longer than [MaxKeyStringBytes] is invalid
// without being read.
func ParsePublicKey(s string) (*PublicKey, error) {
	v, err := parseTokens(s, 2, "public")
	if err != nil {
		return nil, err
	}
	k := &PublicKey{E: v[0], N: v[1]}
	if err := checkPublicKey(k); err != nil {
		return nil, err
	}
	return k, nil
}

// checkPublicKey applies the value checks of ParsePublicKey to a key that
// may have been built by hand.
func checkPublicKey(k *PublicKey) error {
	if k == nil || k.E == nil || k.N == nil {
		return &keyError{"seattlersa: invalid public key: nil", ErrInvalidKey}
	}
	if k.N.BitLen() > MaxModulusBits {
		return tooLarge("public", "modulus")
	}
	if k.E.Sign() <= 0 || k.N.Sign() <= 0 || k.E.Cmp(k.N) >= 0 {
		return &keyError{"seattlersa: invalid public key: want 0 < e < n", ErrInvalidKey}
	}
	return nil
}

// ParsePrivateKey parses "<d> <p> <q>": exactly three whitespace-separated
// decimal integers where d is positive and p and q are probable primes.
// The modulus p×q and d may have at most [MaxModulusBits] bits; that is
// checked before the primality tests, so their cost is bounded too.
// Errors match [ErrMalformedKey] or [ErrInvalidKey] and never quote the input.
func ParsePrivateKey(s string) (*PrivateKey, error) {
	v, err := parseTokens(s, 3, "private")
	if err != nil {
		return nil, err
	}
	d, p, q := v[0], v[1], v[2]
	invalid := &keyError{"seattlersa: invalid private key", ErrInvalidKey}
	if d.Sign() <= 0 || p.Sign() <= 0 || q.Sign() <= 0 {
		return nil, invalid
	}
	if new(big.Int).Mul(p, q).BitLen() > MaxModulusBits {
		return nil, tooLarge("private", "modulus")
	}
	if d.BitLen() > MaxModulusBits {
		return nil, tooLarge("private", "exponent d")
	}
	if !p.ProbablyPrime(primeRounds) || !q.ProbablyPrime(primeRounds) {
		return nil, invalid
	}
	return &PrivateKey{D: d, P: p, Q: q}, nil
}

func tooLarge(kind, what string) error {
	return &keyError{
		fmt.Sprintf("seattlersa: invalid %s key: %s larger than %d bits", kind, what, MaxModulusBits),
		ErrInvalidKey,
	}
}

// parseTokens splits s on white space and parses exactly want integers.
// It refuses, as invalid, a string over MaxKeyStringBytes and a token with
// more significant digits than a value within MaxModulusBits can have,
// before parsing any number. Messages name the token position, never its
// text.
func parseTokens(s string, want int, kind string) ([]*big.Int, error) {
	if len(s) > MaxKeyStringBytes {
		return nil, &keyError{
			fmt.Sprintf("seattlersa: invalid %s key: longer than %d bytes", kind, MaxKeyStringBytes),
			ErrInvalidKey,
		}
	}
	fields := strings.Fields(s)
	if len(fields) != want {
		return nil, &keyError{
			fmt.Sprintf("seattlersa: malformed %s key: want %d integers, have %d tokens", kind, want, len(fields)),
			ErrMalformedKey,
		}
	}
	for i, f := range fields {
		if !isDecimal(f) {
			return nil, &keyError{
				fmt.Sprintf("seattlersa: malformed %s key: token %d is not a decimal integer", kind, i+1),
				ErrMalformedKey,
			}
		}
	}
	v := make([]*big.Int, want)
	for i, f := range fields {
		x, ok := parseBoundedInt(f)
		if !ok {
			return nil, &keyError{
				fmt.Sprintf("seattlersa: invalid %s key: token %d is larger than %d bits", kind, i+1, MaxModulusBits),
				ErrInvalidKey,
			}
		}
		v[i] = x
	}
	return v, nil
}

// isDecimal reports whether s is an optional '+' or '-' followed by one or
// more ASCII digits. Nothing else (no underscores, no base prefixes) is
// accepted.
func isDecimal(s string) bool {
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseBoundedInt parses s, which isDecimal accepted, unless it has more
// than maxKeyDigits significant digits (leading zeros do not count): the
// cost of parsing grows with the square of the length, so an overlong
// token is refused before it is parsed.
func parseBoundedInt(s string) (*big.Int, bool) {
	sign, digits := "", s
	if digits[0] == '+' || digits[0] == '-' {
		sign, digits = digits[:1], digits[1:]
	}
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > maxKeyDigits {
		return nil, false
	}
	if digits == "" {
		return new(big.Int), true
	}
	return new(big.Int).SetString(sign+digits, 10)
}

// GenerateKey makes a key pair with e = 65537 and a modulus of exactly bits
// bits, reading all randomness from random (crypto/rand.Reader if nil). The
// same bytes from random always give the same key, so a seeded reader can
// make reproducible test keys. bits must be at least [MinKeyBits] and at
// most [MaxModulusBits]; the clearinghouse used 1024.
//
// d is the inverse of e modulo (p-1)(q-1).
func GenerateKey(random io.Reader, bits int) (*PublicKey, *PrivateKey, error) {
	if bits < MinKeyBits {
		return nil, nil, fmt.Errorf("seattlersa: key size %d bits is below the minimum of %d", bits, MinKeyBits)
	}
	if bits > MaxModulusBits {
		return nil, nil, fmt.Errorf("seattlersa: key size %d bits is above the maximum of %d", bits, MaxModulusBits)
	}
	if random == nil {
		random = rand.Reader
	}
	e := big.NewInt(PublicExponent)
	pBits := (bits + 1) / 2
	qBits := bits - pBits
	one := big.NewInt(1)
	for {
		p, err := randomPrime(random, pBits)
		if err != nil {
			return nil, nil, err
		}
		q, err := randomPrime(random, qBits)
		if err != nil {
			return nil, nil, err
		}
		if p.Cmp(q) == 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits {
			// Cannot happen with the top two bits of p and q set; kept
			// so the size promise never depends on that argument.
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil {
			continue
		}
		return &PublicKey{E: e, N: n}, &PrivateKey{D: d, P: p, Q: q}, nil
	}
}

// smallPrimes are the odd primes below 2048, used to sieve prime candidates.
// It is filled once at package initialisation and never written again.
var smallPrimes = oddPrimesBelow(2048)

func oddPrimesBelow(limit int) []uint64 {
	composite := make([]bool, limit)
	var primes []uint64
	for i := 3; i < limit; i += 2 {
		if composite[i] {
			continue
		}
		primes = append(primes, uint64(i))
		for j := i * i; j < limit; j += 2 * i {
			composite[j] = true
		}
	}
	return primes
}

// maxSieveStep bounds how far randomPrime walks from one random start before
// it draws a fresh one.
const maxSieveStep = 1 << 16

// randomPrime returns a probable prime of exactly bits bits whose two top
// bits are set and with p-1 coprime to PublicExponent. It reads ceil(bits/8)
// bytes per start point and walks upwards over odd numbers, skipping those
// with a small factor before running the expensive test.
func randomPrime(random io.Reader, bits int) (*big.Int, error) {
	buf := make([]byte, (bits+7)/8)
	start := new(big.Int)
	rem := new(big.Int)
	residues := make([]uint64, len(smallPrimes))
	bigE := big.NewInt(PublicExponent)
	modulus := new(big.Int)
	for {
		if _, err := io.ReadFull(random, buf); err != nil {
			return nil, fmt.Errorf("seattlersa: reading randomness: %w", err)
		}
		start.SetBytes(buf)
		for i := bits; i < len(buf)*8; i++ {
			start.SetBit(start, i, 0)
		}
		start.SetBit(start, bits-1, 1)
		start.SetBit(start, bits-2, 1)
		start.SetBit(start, 0, 1)

		for i, sp := range smallPrimes {
			residues[i] = rem.Mod(start, modulus.SetUint64(sp)).Uint64()
		}
		eResidue := rem.Mod(start, bigE).Uint64()

	walk:
		for delta := uint64(0); delta < maxSieveStep; delta += 2 {
			if (eResidue+delta)%PublicExponent == 1 {
				continue
			}
			for i, sp := range smallPrimes {
				if (residues[i]+delta)%sp == 0 {
					continue walk
				}
			}
			candidate := new(big.Int).Add(start, new(big.Int).SetUint64(delta))
			if candidate.BitLen() != bits {
				break
			}
			if candidate.ProbablyPrime(primeRounds) {
				return candidate, nil
			}
		}
	}
}
