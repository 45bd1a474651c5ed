package textclip

import (
	"strings"
	"testing"
)

// clipTests drive TestCut and TestClip.
var clipTests = []struct {
	name string
	s    string
	max  int
	head string // Cut's first result
	more int    // Cut's second result
	want string // Clip's result
}{
	{"empty", "", 4, "", 0, ""},
	{"short", "abc", 4, "abc", 0, "abc"},
	{"exactly max", "abcd", 4, "abcd", 0, "abcd"},
	{"one over", "abcde", 4, "abcd", 1, "abcd... (1 more bytes)"},
	{"long", strings.Repeat("x", 1000), 10, "xxxxxxxxxx", 990, "xxxxxxxxxx... (990 more bytes)"},
	{"max 0", "abc", 0, "", 3, "... (3 more bytes)"},
	// é is 2 bytes and € 3: a cut never splits a character.
	{"inside a 2-byte rune", "aé", 2, "a", 2, "a... (2 more bytes)"},
	{"after a 2-byte rune", "aéb", 3, "aé", 1, "aé... (1 more bytes)"},
	{"inside a 3-byte rune", "ab€", 4, "ab", 3, "ab... (3 more bytes)"},
	{"not even the first rune fits", "€€", 2, "", 6, "... (6 more bytes)"},
	{"invalid UTF-8 is cut as bytes", "\xff\xfe\xfd", 2, "\xff\xfe", 1, "\xff\xfe... (1 more bytes)"},
}

func TestCut(t *testing.T) {
	t.Parallel()
	for _, tc := range clipTests {
		if head, more := Cut(tc.s, tc.max); head != tc.head || more != tc.more {
			t.Errorf("%s: Cut(%q, %d): have %q, %d; want %q, %d", tc.name, tc.s, tc.max, head, more, tc.head, tc.more)
		}
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	for _, tc := range clipTests {
		if have := Clip(tc.s, tc.max); have != tc.want {
			t.Errorf("%s: Clip(%q, %d): have %q, want %q", tc.name, tc.s, tc.max, have, tc.want)
		}
	}
}
