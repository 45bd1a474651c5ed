// Package textclip makes text that came from a peer fit to be shown: it
// escapes the characters that could drive a terminal or reorder a line
// (Escape, EscapeLines), and bounds the text before an error message
// carries it, so that a hostile server cannot make a message megabytes
// long (Show, which escapes too; Clip and Cut, which only cut). The xmlrpc
// and clearinghouse packages, the conformance suite and the commands share
// it: every text a server chose goes through Escape or Show before it is
// printed or rendered.
package textclip

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Cut returns the longest prefix of s of at most max bytes that ends on a
// UTF-8 boundary, and the number of bytes it leaves out: s and 0 if s is
// short enough.
func Cut(s string, max int) (head string, more int) {
	if len(s) <= max {
		return s, 0
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], len(s) - cut
}

// Clip returns s cut to at most max bytes on a UTF-8 boundary, with a
// note of how many bytes were cut, or s itself if it is short enough. It
// does not escape: for a message, use Show.
func Clip(s string, max int) string {
	head, more := Cut(s, max)
	if more == 0 {
		return s
	}
	return head + "... (" + strconv.Itoa(more) + " more bytes)"
}

// Show returns s escaped as Escape does and cut to at most max bytes,
// never inside an escape or a character, with a note of how many bytes of
// s were cut; or s escaped if that is short enough. It is what an error
// message shows of a text a peer chose.
func Show(s string, max int) string {
	out, used := escape(s, false, max)
	if used == len(s) {
		return out
	}
	return out + "... (" + strconv.Itoa(len(s)-used) + " more bytes)"
}

// Escape returns s with every character that could drive a terminal or
// reorder what is shown replaced by a visible escape, as Go writes it in a
// quoted string: the C0 controls (tab and line feed included), DEL and the
// C1 controls as \x1b, \r, \t, \n, \x7f, \u009b; the bidirectional
// controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069)
// and the line and paragraph separators (U+2028, U+2029) as \u202e and so
// on; and each byte that is not UTF-8 as \xff. Everything else, other
// non-ASCII letters included, is kept. A backslash is not escaped: the
// result is for people to read, not to decode. Escape(Escape(s)) is
// Escape(s).
func Escape(s string) string {
	out, _ := escape(s, false, -1)
	return out
}

// EscapeLines is Escape but for tabs and line feeds, which it keeps: for
// text of several lines that this program wrote around what a server
// sent.
func EscapeLines(s string) string {
	out, _ := escape(s, true, -1)
	return out
}

// escape escapes s, keeping tabs and line feeds if lines, and stops
// before the output would pass max bytes (max < 0: never). It returns the
// output and how many bytes of s it holds.
func escape(s string, lines bool, max int) (string, int) {
	if max < 0 {
		max = int(^uint(0) >> 1)
	}
	// The common case: nothing to escape (in the part that can be shown).
	i := 0
	for i < len(s) && i <= max {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if shown(r, size, lines) {
			i += size
			continue
		}
		break
	}
	if i >= len(s) && len(s) <= max {
		return s, len(s)
	}
	if i > max {
		head, more := Cut(s, max)
		return head, len(s) - more
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		var rep string
		switch {
		case shown(r, size, lines):
			rep = s[i : i+size]
		case size == 1 && r == utf8.RuneError:
			rep = `\x` + hex2(s[i])
		default:
			rep = escapeRune(r)
		}
		if b.Len()+len(rep) > max {
			break
		}
		b.WriteString(rep)
		i += size
	}
	return b.String(), i
}

// Escapes reports whether Escape escapes the character r: a C0 control
// (tab and line feed included), DEL, a C1 control, a bidirectional
// control, U+2028 or U+2029. (It also escapes bytes that are not UTF-8.)
func Escapes(r rune) bool { return !shown(r, 0, false) }

// shown reports whether the character r, of size bytes, is shown as it
// is.
func shown(r rune, size int, lines bool) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return false
	case r == '\t' || r == '\n':
		return lines
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return false
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069, r == 0x2028, r == 0x2029:
		return false
	}
	return true
}

func escapeRune(r rune) string {
	switch r {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	}
	if r < 0x80 {
		return `\x` + hex2(byte(r))
	}
	h := strconv.FormatInt(int64(r), 16)
	return `\u` + strings.Repeat("0", 4-len(h)) + h
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}
