package mockserver

import (
	"time"
	"unicode"
	"unicode/utf8"
)

// The historical server checked its arguments with Python 2 isinstance
// tests on the values xmlrpclib decoded. The helpers in this file classify
// the Go values produced by package xmlrpc the same way (contract §1.1).

// pyType returns the text of str(type(v)) in Python 2 for a decoded
// XML-RPC value, such as "<type 'str'>" or "<type 'unicode'>".
func pyType(v any) string {
	switch v := v.(type) {
	case string:
		if isASCII(v) {
			return "<type 'str'>"
		}
		return "<type 'unicode'>"
	case bool:
		return "<type 'bool'>"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "<type 'int'>"
	case float32, float64:
		return "<type 'float'>"
	case time.Time, []byte:
		return "<type 'instance'>"
	case []any:
		return "<type 'list'>"
	case map[string]any:
		return "<type 'dict'>"
	case nil:
		return "<type 'NoneType'>"
	default:
		// Only Go callers can pass anything else; xmlrpclib had no such
		// values, so report the closest thing, an object instance.
		return "<type 'instance'>"
	}
}

// isStr reports whether Python 2 would find isinstance(v, str): a string
// of ASCII characters only. A string with any other character decoded to a
// unicode object.
func isStr(v any) bool {
	s, ok := v.(string)
	return ok && isASCII(s)
}

// isString reports isinstance(v, basestring): any string.
func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// pyInt reports isinstance(v, int) and returns the integer value. A bool
// counts, as in Python 2: True is 1 and False is 0.
func pyInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// pySplitN splits s on runs of white space like Python 2's split() with
// no argument: ASCII white space for a str, and for a unicode string every
// character Python 2.7 counted as space (which adds the information
// separators U+001C-U+001F and U+180E to Go's unicode.IsSpace). It stops
// after n fields when n >= 0, so that a caller that only needs to know
// whether there are more than n-1 need not split a long string in full; a
// negative n splits all of s.
func pySplitN(s string, n int) []string {
	ascii := isASCII(s)
	space := func(r rune) bool {
		switch r {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			return true
		}
		if ascii {
			return false
		}
		return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) || r == 0x180e
	}
	var out []string
	start := -1
	for i, r := range s {
		if space(r) {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
				if len(out) == n {
					return out
				}
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}
