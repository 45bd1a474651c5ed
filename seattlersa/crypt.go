package seattlersa

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// ErrMalformedCiphertext is matched by the errors of Decrypt (and
// DecryptAPIKey) when the text is empty or holds a token that is not a
// non-negative decimal integer.
var ErrMalformedCiphertext = errors.New("seattlersa: malformed ciphertext")

// BlockSize returns the number of message bytes Encrypt puts in one block
// under pub: floor((bitlen(n)-1)/8) - 1, so 126 for a 1024-bit modulus and 62
// for a 512-bit one. It is below 1 for moduli of 16 bits or fewer.
func BlockSize(pub *PublicKey) int {
	return (pub.N.BitLen()-1)/8 - 1
}

// Encrypt encrypts msg under pub in the raw Seattle form: msg is cut into
// BlockSize(pub)-byte chunks (the last may be shorter), each chunk becomes
// m = 0x01 ‖ chunk read as a big-endian integer, and each c = m^e mod n is
// written in decimal preceded by one space: " c1 c2 …". An empty msg gives "".
//
// For a toy modulus whose BlockSize is below 1, Encrypt uses one-byte chunks
// so that it still terminates; such blocks cannot be decrypted reliably.
func Encrypt(pub *PublicKey, msg []byte) string {
	size := max(BlockSize(pub), 1)
	var sb strings.Builder
	block := make([]byte, 0, size+1)
	m := new(big.Int)
	for len(msg) > 0 {
		n := min(size, len(msg))
		block = append(append(block[:0], 0x01), msg[:n]...)
		msg = msg[n:]
		m.SetBytes(block)
		sb.WriteByte(' ')
		sb.WriteString(m.Exp(m, pub.E, pub.N).String())
	}
	return sb.String()
}

// Decrypt reverses Encrypt. text is a list of decimal integers separated by
// white space (leading and trailing white space is ignored). For each c it
// computes m = c^d mod n, takes the minimal big-endian bytes of m (none when
// m is 0), drops the first byte (the marker, whose value is not checked) and
// appends the rest to the result.
//
// Decrypt with the wrong key is not an error: it returns meaningless bytes.
// The error, which matches [ErrMalformedCiphertext], is for an empty text, a
// token that is not a non-negative decimal integer, or a token with more
// significant digits than a number of [MaxModulusBits] bits can have
// (refused before it is parsed). Each token costs one modular
// exponentiation: a caller decrypting untrusted text should bound the
// number of tokens, as [DecryptAPIKey] does.
func Decrypt(priv *PrivateKey, text string) ([]byte, error) {
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: no blocks", ErrMalformedCiphertext)
	}
	n := priv.N()
	var out []byte
	for i, f := range fields {
		if !isDecimal(f) {
			return nil, fmt.Errorf("%w: token %d is not a non-negative decimal integer", ErrMalformedCiphertext, i+1)
		}
		c, ok := parseBoundedInt(f)
		if !ok {
			return nil, fmt.Errorf("%w: token %d is larger than %d bits", ErrMalformedCiphertext, i+1, MaxModulusBits)
		}
		if c.Sign() < 0 {
			return nil, fmt.Errorf("%w: token %d is not a non-negative decimal integer", ErrMalformedCiphertext, i+1)
		}
		b := c.Exp(c, priv.D, n).Bytes()
		if len(b) > 0 {
			out = append(out, b[1:]...)
		}
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}
