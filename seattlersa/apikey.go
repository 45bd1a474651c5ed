package seattlersa

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
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

// MaxAPIKeyLen is the longest API key DecryptAPIKey accepts: the contract
// has clients treat a key as an opaque string of up to 100 characters.
const MaxAPIKeyLen = 100

// ValidAPIKey reports whether key has the shape DecryptAPIKey accepts for
// the part after "!": 1 to MaxAPIKeyLen bytes of printable ASCII other
// than "!" (0x21-0x7E without 0x21), so no white space or control
// characters. Keys the clearinghouse makes (32 characters of 0-9 and A-Z
// without O) are well inside. A server should only hand out such keys:
// one outside this set cannot be recovered with a private key.
func ValidAPIKey(key string) bool {
	if len(key) == 0 || len(key) > MaxAPIKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= '!' || c > '~' {
			return false
		}
	}
	return true
}

// validSalt reports whether r is saltLen distinct characters of
// saltAlphabet, as EncryptAPIKey makes them.
func validSalt(r string) bool {
	if len(r) != saltLen {
		return false
	}
	var seen [128]bool
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

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
// the API key.
//
// The ciphertext must be one decimal number (white space around it is
// ignored): anything else, including several blocks, gives an error
// matching [ErrMalformedCiphertext] before anything is decrypted, as that
// is a bad response, not a bad key.
//
// The plaintext must be R, "!", key, where R is 20 distinct characters of
// A-Z, a-z and 0-9 and the key passes [ValidAPIKey]; otherwise the private
// key does not belong to the public key the API key was encrypted with, and
// the error is [ErrKeyMismatch]. Decrypting with the wrong key gives bytes
// that are close to uniformly random: checking only for 20 bytes, "!" and
// the rest (the original client's test) let one wrong key in about 330
// through with 512-bit keys; R alone now passes by chance with probability
// (62/256)^20 × 62!/(42!·62^20) ≈ 1.5e-14, before the "!" and the key's
// own rules.
func DecryptAPIKey(priv *PrivateKey, ciphertext string) (string, error) {
	if strings.IndexFunc(strings.TrimSpace(ciphertext), unicode.IsSpace) >= 0 {
		return "", fmt.Errorf("%w: more than one block", ErrMalformedCiphertext)
	}
	plain, err := Decrypt(priv, ciphertext)
	if err != nil {
		return "", err
	}
	salt, key, ok := strings.Cut(string(plain), "!")
	if !ok || !validSalt(salt) || !ValidAPIKey(key) {
		return "", ErrKeyMismatch
	}
	return key, nil
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
