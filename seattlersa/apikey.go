package seattlersa

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	// apiKeyAlphabet is 0-9 and A-Z without the letter O (35 symbols).
	apiKeyAlphabet = "0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ"
	// apiKeyLen is the length of a key made by NewAPIKey.
	apiKeyLen = 32
	// saltAlphabet is A-Z, a-z and 0-9 (62 symbols).
	saltAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	// saltLen is the number of random characters before the "!".
	saltLen = 20
)

var (
	// ErrKeyTooSmall is returned by EncryptAPIKey when the payload does not
	// fit in one RSA block (for a 32-character API key, a modulus under 433
	// bits). The clearinghouse reports this as an internal error (fault 100).
	ErrKeyTooSmall = errors.New("seattlersa: public key too small to encrypt the API key in one block")

	// ErrKeyMismatch is returned by DecryptAPIKey when the decrypted text is
	// not "<20 characters>!<api key>", which means the private key does not
	// belong to the public key the API key was encrypted with.
	ErrKeyMismatch = errors.New("seattlersa: private key does not match the key the API key was encrypted with")
)

// NewAPIKey returns a fresh API key: 32 distinct characters drawn uniformly
// without replacement from 0-9 and A-Z minus O. It reads randomness from
// random, or crypto/rand.Reader if random is nil; the same bytes give the
// same key. NewAPIKey panics if random returns an error (crypto/rand never
// does), as there is no key it could safely return instead.
func NewAPIKey(random io.Reader) string {
	key, err := sample(random, apiKeyAlphabet, apiKeyLen)
	if err != nil {
		panic(err)
	}
	return key
}

// EncryptAPIKey builds the get_encrypted_api_key payload — 20 distinct
// characters sampled without replacement from A-Z, a-z and 0-9, then "!",
// then apiKey — and encrypts it under pub with [Encrypt]. The result has no
// leading space. It returns [ErrKeyTooSmall] if the payload needs more than
// one block, an error matching [ErrInvalidKey] for a key ParsePublicKey
// would refuse (so the work is bounded by [MaxModulusBits]), and an error if
// random (crypto/rand.Reader when nil) fails.
// apiKey is treated as opaque and never appears in an error.
func EncryptAPIKey(random io.Reader, pub *PublicKey, apiKey string) (string, error) {
	if err := checkPublicKey(pub); err != nil {
		return "", err
	}
	salt, err := sample(random, saltAlphabet, saltLen)
	if err != nil {
		return "", err
	}
	text := strings.TrimPrefix(Encrypt(pub, []byte(salt+"!"+apiKey)), " ")
	if strings.Contains(text, " ") {
		return "", ErrKeyTooSmall
	}
	return text, nil
}

// DecryptAPIKey decrypts a get_encrypted_api_key result with priv and returns
// the API key. If the plaintext, split on "!", is not exactly two parts with
// a 20-byte first part, the keys do not match and the error is
// [ErrKeyMismatch]. A ciphertext that is empty or not decimal gives an error
// matching [ErrMalformedCiphertext] instead: that is a bad response, not a bad
// key.
func DecryptAPIKey(priv *PrivateKey, ciphertext string) (string, error) {
	plain, err := Decrypt(priv, ciphertext)
	if err != nil {
		return "", err
	}
	parts := strings.Split(string(plain), "!")
	if len(parts) != 2 || len(parts[0]) != saltLen {
		return "", ErrKeyMismatch
	}
	return parts[1], nil
}

// sample returns k distinct characters of alphabet (ASCII, at most 256
// symbols) chosen uniformly at random without replacement, in the order
// drawn. It runs the first k steps of a Fisher-Yates shuffle; each index is
// drawn by rejection sampling over single bytes, so there is no modulo bias.
func sample(random io.Reader, alphabet string, k int) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	src := byteSource{r: random}
	symbols := []byte(alphabet)
	for i := range k {
		j, err := src.uniform(len(symbols) - i)
		if err != nil {
			return "", err
		}
		symbols[i], symbols[i+j] = symbols[i+j], symbols[i]
	}
	return string(symbols[:k]), nil
}

// byteSource hands out bytes from a reader, reading them in small batches.
type byteSource struct {
	r   io.Reader
	buf [64]byte
	pos int
	end int
}

func (s *byteSource) next() (byte, error) {
	if s.pos == s.end {
		n, err := io.ReadAtLeast(s.r, s.buf[:], 1)
		if err != nil {
			return 0, fmt.Errorf("seattlersa: reading randomness: %w", err)
		}
		s.pos, s.end = 0, n
	}
	b := s.buf[s.pos]
	s.pos++
	return b, nil
}

// uniform returns an integer uniformly distributed in [0, n), 1 ≤ n ≤ 256.
// Bytes at or above the largest multiple of n are rejected and redrawn.
func (s *byteSource) uniform(n int) (int, error) {
	limit := 256 - 256%n
	for {
		b, err := s.next()
		if err != nil {
			return 0, err
		}
		if int(b) < limit {
			return int(b) % n, nil
		}
	}
}
