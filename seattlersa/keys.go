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
	// or q not a probable prime).
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
// integers (an optional sign is read, so "+3" is three) with 0 < e < n.
// Errors match [ErrMalformedKey] or [ErrInvalidKey].
func ParsePublicKey(s string) (*PublicKey, error) {
	v, err := parseTokens(s, 2, "public")
	if err != nil {
		return nil, err
	}
	e, n := v[0], v[1]
	if e.Sign() <= 0 || n.Sign() <= 0 || e.Cmp(n) >= 0 {
		return nil, &keyError{"seattlersa: invalid public key: want 0 < e < n", ErrInvalidKey}
	}
	return &PublicKey{E: e, N: n}, nil
}

// ParsePrivateKey parses "<d> <p> <q>": exactly three whitespace-separated
// decimal integers where d is positive and p and q are probable primes.
// Errors match [ErrMalformedKey] or [ErrInvalidKey] and never quote the input.
func ParsePrivateKey(s string) (*PrivateKey, error) {
	v, err := parseTokens(s, 3, "private")
	if err != nil {
		return nil, err
	}
	d, p, q := v[0], v[1], v[2]
	if d.Sign() <= 0 || !p.ProbablyPrime(primeRounds) || !q.ProbablyPrime(primeRounds) {
		return nil, &keyError{"seattlersa: invalid private key", ErrInvalidKey}
	}
	return &PrivateKey{D: d, P: p, Q: q}, nil
}

// parseTokens splits s on white space and parses exactly want integers.
// Messages name the token position, never its text.
func parseTokens(s string, want int, kind string) ([]*big.Int, error) {
	fields := strings.Fields(s)
	if len(fields) != want {
		return nil, &keyError{
			fmt.Sprintf("seattlersa: malformed %s key: want %d integers, have %d tokens", kind, want, len(fields)),
			ErrMalformedKey,
		}
	}
	v := make([]*big.Int, want)
	for i, f := range fields {
		x, ok := parseInt(f)
		if !ok {
			return nil, &keyError{
				fmt.Sprintf("seattlersa: malformed %s key: token %d is not a decimal integer", kind, i+1),
				ErrMalformedKey,
			}
		}
		v[i] = x
	}
	return v, nil
}

// parseInt parses an optional '+' or '-' followed by one or more ASCII
// digits. Nothing else (no underscores, no base prefixes) is accepted.
func parseInt(s string) (*big.Int, bool) {
	digits := s
	if len(digits) > 0 && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	if digits == "" {
		return nil, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return nil, false
		}
	}
	return new(big.Int).SetString(s, 10)
}

// GenerateKey makes a key pair with e = 65537 and a modulus of exactly bits
// bits, reading all randomness from random (crypto/rand.Reader if nil). The
// same bytes from random always give the same key, so a seeded reader can
// make reproducible test keys. bits must be at least [MinKeyBits]; the
// clearinghouse used 1024.
//
// d is the inverse of e modulo (p-1)(q-1).
func GenerateKey(random io.Reader, bits int) (*PublicKey, *PrivateKey, error) {
	if bits < MinKeyBits {
		return nil, nil, fmt.Errorf("seattlersa: key size %d bits is below the minimum of %d", bits, MinKeyBits)
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
