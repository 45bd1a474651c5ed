package textclip

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// cutTests drive TestCut.
var cutTests = []struct {
	name string
	s    string
	max  int
	head string
	more int
}{
	{"empty", "", 4, "", 0},
	{"short", "abc", 4, "abc", 0},
	{"exactly max", "abcd", 4, "abcd", 0},
	{"one over", "abcde", 4, "abcd", 1},
	{"long", strings.Repeat("x", 1000), 10, "xxxxxxxxxx", 990},
	{"max 0", "abc", 0, "", 3},
	// é is 2 bytes and € 3: a cut never splits a character.
	{"inside a 2-byte rune", "aé", 2, "a", 2},
	{"after a 2-byte rune", "aéb", 3, "aé", 1},
	{"inside a 3-byte rune", "ab€", 4, "ab", 3},
	{"not even the first rune fits", "€€", 2, "", 6},
	{"invalid UTF-8 is cut as bytes", "\xff\xfe\xfd", 2, "\xff\xfe", 1},
}

func TestCut(t *testing.T) {
	t.Parallel()
	for _, tc := range cutTests {
		if head, more := Cut(tc.s, tc.max); head != tc.head || more != tc.more {
			t.Errorf("%s: Cut(%q, %d): have %q, %d; want %q, %d", tc.name, tc.s, tc.max, head, more, tc.head, tc.more)
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	for _, tc := range cutTests {
		want := tc.head
		if tc.more > 0 {
			want += "... (" + strconv.Itoa(tc.more) + " more bytes)"
		}
		if have := Clip(tc.s, tc.max); have != want {
			t.Errorf("%s: Clip(%q, %d): have %q, want %q", tc.name, tc.s, tc.max, have, want)
		}
	}
}

func TestShow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    string
		max  int
		want string
	}{
		{"empty", "", 4, ""},
		{"short", "abc", 4, "abc"},
		{"exactly max", "abcd", 4, "abcd"},
		{"one over", "abcde", 4, "abcd... (1 more bytes)"},
		{"long", strings.Repeat("x", 1000), 10, "xxxxxxxxxx... (990 more bytes)"},
		{"max 0", "abc", 0, "... (3 more bytes)"},
		{"inside a 2-byte rune", "aé", 2, "a... (2 more bytes)"},
		{"after a 2-byte rune", "aéb", 3, "aé... (1 more bytes)"},
		{"inside a 3-byte rune", "ab€", 4, "ab... (3 more bytes)"},
		{"not even the first rune fits", "€€", 2, "... (6 more bytes)"},
		// Escapes count at their escaped length and are never split.
		{"escaped, short", "a\x1bb", 8, `a\x1bb`},
		{"escaped, cut before an escape", "ab\x1b[2J", 4, `ab... (4 more bytes)`},
		{"escaped, cut after an escape", "a\x1b[2J", 5, `a\x1b... (3 more bytes)`},
		{"invalid UTF-8, nothing fits", "\xff\xfe\xfd", 2, "... (3 more bytes)"},
		{"invalid UTF-8", "\xff\xfe\xfd", 8, `\xff\xfe... (1 more bytes)`},
		{"a line feed is escaped", "one\ntwo", 10, `one\ntwo`},
	} {
		if have := Show(tc.s, tc.max); have != tc.want {
			t.Errorf("%s: Show(%q, %d): have %q, want %q", tc.name, tc.s, tc.max, have, tc.want)
		}
	}
}

// escapeTests drive TestEscape and TestEscapeLines: want is Escape's
// result, lines EscapeLines' ("" when it is want).
var escapeTests = []struct {
	name, s, want, lines string
}{
	{"plain", "fault 101: User auth failed.", "fault 101: User auth failed.", ""},
	{"non-ASCII letters are kept", "nöbody 日本 €", "nöbody 日本 €", ""},
	{"a backslash is kept", `C:\dir \x1b`, `C:\dir \x1b`, ""},
	{"escape sequences", "\x1b[2J\x1b[31mPWNED\x1b]0;title\x07", `\x1b[2J\x1b[31mPWNED\x1b]0;title\a`, ""},
	{"carriage return", "bad\rAll good", `bad\rAll good`, ""},
	{"tab and line feed", "a\tb\nc", `a\tb\nc`, "a\tb\nc"},
	{"other C0", "\x00\x01\b\f\v\x1f", `\x00\x01\b\f\v\x1f`, ""},
	{"DEL", "a\x7fb", `a\x7fb`, ""},
	{"C1 controls", "\u0080\u009b2J\u009f", `\u0080\u009b2J\u009f`, ""},
	{"bidi controls", "\u202eevil\u202c \u2066x\u2069 \u200e\u200f\u061c", `\u202eevil\u202c \u2066x\u2069 \u200e\u200f\u061c`, ""},
	{"separators", "a\u2028b\u2029c", `a\u2028b\u2029c`, ""},
	{"invalid UTF-8", "ok \xff\xfe end", `ok \xff\xfe end`, ""},
	{"a cut character", "é"[:1] + "x", `\xc3x`, ""},
	{"U+FFFD itself is kept", "\uFFFD", "\uFFFD", ""},
}

func TestEscape(t *testing.T) {
	t.Parallel()
	for _, tc := range escapeTests {
		if have := Escape(tc.s); have != tc.want {
			t.Errorf("%s: Escape(%q): have %q, want %q", tc.name, tc.s, have, tc.want)
		}
	}
}

func TestEscapeLines(t *testing.T) {
	t.Parallel()
	for _, tc := range escapeTests {
		want := tc.lines
		if want == "" {
			want = tc.want
		}
		if have := EscapeLines(tc.s); have != want {
			t.Errorf("%s: EscapeLines(%q): have %q, want %q", tc.name, tc.s, have, want)
		}
	}
}

// unsafe reports whether s holds a character Escape must not leave.
func unsafe(s string, lines bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !shown(r, size, lines) {
			return true
		}
		i += size
	}
	return false
}

// FuzzEscape: whatever the input, Escape and EscapeLines leave no
// control, bidi or invalid byte (but what EscapeLines keeps), are
// idempotent, and Show stays within its bound.
func FuzzEscape(f *testing.F) {
	for _, tc := range escapeTests {
		f.Add(tc.s, 8)
	}
	f.Add("\x1b[2J\x1b[31mPWNED\x1b]0;title\x07 \xff\xfe", 13)
	f.Add(strings.Repeat("\u202e", 40), 100)
	f.Fuzz(func(t *testing.T, s string, max int) {
		e, l := Escape(s), EscapeLines(s)
		if unsafe(e, false) || unsafe(l, true) {
			t.Fatalf("Escape(%q) = %q, EscapeLines = %q: a character left unescaped", s, e, l)
		}
		if Escape(e) != e || EscapeLines(l) != l {
			t.Fatalf("escaping %q twice changes it", s)
		}
		if !utf8.ValidString(e) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", s, e)
		}
		if max < 0 || max > 1<<16 {
			return
		}
		c := Show(s, max)
		if len(e) <= max {
			if c != e {
				t.Fatalf("Show(%q, %d) = %q, want Escape's %q", s, max, c, e)
			}
			return
		}
		shown := c[:strings.LastIndex(c, "... (")]
		if len(shown) > max || !strings.HasPrefix(e, shown) || unsafe(shown, false) {
			t.Fatalf("Show(%q, %d) = %q: more than %d bytes, or not a prefix of %q", s, max, c, max, e)
		}
	})
}

func TestEscapes(t *testing.T) {
	t.Parallel()
	for _, r := range []rune{0, '\t', '\n', '\r', 0x1b, 0x7f, 0x80, 0x9b, 0x9f, 0x061c, 0x200e, 0x200f, 0x202a, 0x202e, 0x2066, 0x2069, 0x2028, 0x2029} {
		if !Escapes(r) || Escape(string(r)) == string(r) {
			t.Errorf("Escapes(%U) = %v, Escape gives %q: want both to escape it", r, Escapes(r), Escape(string(r)))
		}
	}
	for _, r := range []rune{' ', 'a', '~', 0xa0, 'é', 0x200b, 0x202f, 0x2065, 0x206a, 0xfffd, 0x1f600} {
		if Escapes(r) || Escape(string(r)) != string(r) {
			t.Errorf("Escapes(%U) = %v, Escape gives %q: want both to keep it", r, Escapes(r), Escape(string(r)))
		}
	}
}
