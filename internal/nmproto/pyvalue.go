package nmproto

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// The node manager is Python 2: it reads numbers with float(), int() and
// long() and splits text with str.split and str.rsplit on byte strings.
// These helpers give the same answers on the inputs that matter
// (docs/nodemanager-api.md §3.5).

// None is how the trailer writes an absent timestamp, expiration,
// sequence or destination.
const None = "None"

var errNotANumber = errors.New("nmproto: not a number")

// isSpace reports whether c is ASCII white space, which is what Python 2's
// str.split(), str.strip() and the number parsers skip in a byte string.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// fieldsAtMost is fields(s) when s has at most max fields; otherwise it
// returns ok false having allocated nothing beyond max fields, so that a
// long run of tokens costs no memory.
func fieldsAtMost(s string, max int) (out []string, ok bool) {
	for i := 0; i < len(s); {
		if isSpace(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if len(out) == max {
			return nil, false
		}
		out = append(out, s[i:j])
		i = j
	}
	return out, true
}

// longTokens reports whether every white-space separated token of s is
// what parsePyLong reads, and how many there are, without allocating.
func longTokens(s string) (count int, ok bool) {
	for i := 0; i < len(s); {
		if isSpace(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if !isPyLong(s[i:j]) {
			return count, false
		}
		count++
		i = j
	}
	return count, true
}

// rsplit is Python's s.rsplit(sep, n): at most n cuts, made from the
// right, so the first part keeps any further separators. Only the tail is
// scanned, so a long first part costs nothing.
func rsplit(s string, sep byte, n int) []string {
	parts := make([]string, 0, n+1)
	for range n {
		i := strings.LastIndexByte(s, sep)
		if i < 0 {
			break
		}
		parts = append(parts, s[i+1:])
		s = s[:i]
	}
	parts = append(parts, s)
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return parts
}

// pyInt is an integer as Python's int() reads it, kept as text so that no
// length of input makes it expensive: a sign and the digits without
// leading zeros ("0" for zero, never negative).
type pyInt struct {
	neg    bool
	digits string
}

// parsePyInt reads s as Python 2's int(s) does in base 10: optional ASCII
// white space, an optional sign, one or more ASCII digits, optional white
// space.
func parsePyInt(s string) (pyInt, error) {
	s = trimSpace(s)
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || !allDigits(s) {
		return pyInt{}, errNotANumber
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return pyInt{digits: "0"}, nil
	}
	return pyInt{neg: neg, digits: s}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (v pyInt) isZero() bool { return v.digits == "0" }

// next returns v + 1.
func (v pyInt) next() pyInt {
	if !v.neg {
		return pyInt{digits: addOne(v.digits)}
	}
	if v.digits == "1" {
		return pyInt{digits: "0"}
	}
	return pyInt{neg: true, digits: subOne(v.digits)}
}

// addOne adds one to a decimal magnitude.
func addOne(d string) string {
	b := []byte(d)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

// subOne subtracts one from a decimal magnitude of at least 2.
func subOne(d string) string {
	b := []byte(d)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] > '0' {
			b[i]--
			break
		}
		b[i] = '9'
	}
	return strings.TrimLeft(string(b), "0")
}

// parsePyLong reads a token the way Python's long() reads one that has no
// white space: an optional sign and ASCII digits. It refuses, as too
// long, more than maxDigits significant digits, so that no key in a
// request costs more than a bounded parse.
func parsePyLong(s string, maxDigits int) (*big.Int, error) {
	sign, digits := "", s
	if len(digits) > 0 && (digits[0] == '+' || digits[0] == '-') {
		sign, digits = digits[:1], digits[1:]
	}
	if digits == "" || !allDigits(digits) {
		return nil, errNotANumber
	}
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > maxDigits {
		return nil, errTooLong
	}
	if digits == "" {
		return new(big.Int), nil
	}
	v, _ := new(big.Int).SetString(sign+digits, 10)
	return v, nil
}

// isPyLong reports whether s is what parsePyLong reads, whatever its
// length, without parsing it.
func isPyLong(s string) bool {
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return s != "" && allDigits(s)
}

var errTooLong = errors.New("nmproto: number too long")

// ParseFloat reads s as Python 2's float(s): optional ASCII white space,
// an optional sign, then a decimal number (digits with an optional point,
// at least one digit, an optional exponent) or inf, infinity or nan in
// any case, then optional white space. A value beyond the float64 range
// is ±Inf, as in Python. Hexadecimal and underscores are refused (Python
// 3 accepts underscores; the node manager ran on Python 2).
func ParseFloat(s string) (float64, error) {
	s = trimSpace(s)
	core := s
	neg := false
	if len(core) > 0 && (core[0] == '+' || core[0] == '-') {
		neg = core[0] == '-'
		core = core[1:]
	}
	switch strings.ToLower(core) {
	case "inf", "infinity":
		if neg {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	case "nan":
		return math.NaN(), nil
	}
	if !decimalFloatSyntax(core) {
		return 0, errNotANumber
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, errNotANumber
	}
	return f, nil
}

// decimalFloatSyntax reports whether s is digits with an optional point
// (at least one digit in all) and an optional exponent.
func decimalFloatSyntax(s string) bool {
	i, mant := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		mant++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			mant++
		}
	}
	if mant == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// FloatForm is how a timestamp is written in a trailer: the original
// clients write str(float).
type FloatForm int

const (
	// FullForm is Python 3's str(float) (its repr): the shortest text that
	// reads back as the same float, such as "3913056000.123456". At
	// today's NTP times that resolves about half a microsecond. Real nodes
	// accept it: they only float() the field.
	FullForm FloatForm = iota
	// Py2Form is Python 2's str(float), which the original clients sent:
	// 12 significant digits, such as "3913056000.12", so 10 ms steps at
	// today's NTP times.
	Py2Form
)

// FormatFloat writes f as Python writes str(f) in the given form. Whole
// numbers get ".0" ("3913056000.0"); very large or small magnitudes use
// an exponent ("1e+16" in the full form, "1e+12" in the Python 2 form).
func FormatFloat(f float64, form FloatForm) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	sign := ""
	if math.Signbit(f) {
		sign = "-"
		f = -f
	}
	var digits string
	var decpt int // the value is 0.<digits> × 10^decpt
	prec := -1
	if form == Py2Form {
		prec = 11
	}
	e := strconv.FormatFloat(f, 'e', prec, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits = strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	decpt = x + 1
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		digits, decpt = "0", 1
	}
	var useExp bool
	if form == Py2Form {
		useExp = decpt-1 < -4 || decpt-1 >= 12 // %.12g
	} else {
		useExp = decpt <= -4 || decpt > 16 // repr
	}
	var out string
	switch {
	case useExp:
		out = digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		x := decpt - 1
		es := "+"
		if x < 0 {
			es, x = "-", -x
		}
		xs := strconv.Itoa(x)
		if len(xs) < 2 {
			xs = "0" + xs
		}
		out += "e" + es + xs
	case decpt <= 0:
		out = "0." + strings.Repeat("0", -decpt) + digits
	case decpt < len(digits):
		out = digits[:decpt] + "." + digits[decpt:]
	default:
		out = digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	}
	return sign + out
}
