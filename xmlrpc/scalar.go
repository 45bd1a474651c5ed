package xmlrpc

import (
	"encoding/base64"
	"math"
	"strconv"
)

// parseInt parses [+-]?[0-9]+ within int64 range.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	switch b[0] {
	case '+':
		b = b[1:]
	case '-':
		neg = true
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true // n == 1<<63 wraps to MinInt64, as wanted
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

func parseBool(b []byte) (bool, bool) {
	if len(b) == 1 {
		switch b[0] {
		case '0':
			return false, true
		case '1':
			return true, true
		}
	}
	return false, false
}

// parseDouble parses an optionally signed decimal number with an optional
// fraction and exponent. NaN, infinities, hexadecimal forms, underscores
// and values that overflow float64 are rejected.
func parseDouble(b []byte) (float64, bool) {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	intDigits := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		intDigits++
	}
	fracDigits := 0
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			fracDigits++
		}
	}
	if intDigits+fracDigits == 0 {
		return 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		expDigits := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			expDigits++
		}
		if expDigits == 0 {
			return 0, false
		}
	}
	if i != len(b) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !(isRangeErr(err) && !math.IsInf(f, 0)) {
		return 0, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// decodeBase64 decodes standard-alphabet base64 with whitespace anywhere
// and optional padding, appending to dst. Padding, when present, must be
// complete and only at the end.
func decodeBase64(t []byte, dst []byte) ([]byte, bool) {
	var stack [256]byte
	clean := stack[:0]
	if len(t) > len(stack) {
		clean = make([]byte, 0, len(t))
	}
	pad := 0
	for _, c := range t {
		switch {
		case isSpace(c):
			continue
		case c == '=':
			pad++
			continue
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			if pad > 0 {
				return nil, false
			}
			clean = append(clean, c)
		default:
			return nil, false
		}
	}
	if len(clean)%4 == 1 || pad > 2 || (pad > 0 && (len(clean)+pad)%4 != 0) {
		return nil, false
	}
	n := base64.RawStdEncoding.DecodedLen(len(clean))
	if dst == nil {
		dst = make([]byte, 0, n)
	}
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	m, err := base64.RawStdEncoding.Decode(dst[start:], clean)
	if err != nil {
		return nil, false
	}
	return dst[:start+m], true
}
