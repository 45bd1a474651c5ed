package mockserver

import (
	"slices"
	"testing"
	"time"
)

func TestPyType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		v        any
		typ      string
		str, any bool
		isInt    bool
		intValue int64
	}{
		{"ascii string", "abc", "<type 'str'>", true, true, false, 0},
		{"empty string", "", "<type 'str'>", true, true, false, 0},
		{"non-ascii string", "caf\u00e9", "<type 'unicode'>", false, true, false, 0},
		{"int", int64(42), "<type 'int'>", false, false, true, 42},
		{"negative int", int64(-7), "<type 'int'>", false, false, true, -7},
		{"true", true, "<type 'bool'>", false, false, true, 1},
		{"false", false, "<type 'bool'>", false, false, true, 0},
		{"double", 1.5, "<type 'float'>", false, false, false, 0},
		{"dateTime", time.Now(), "<type 'instance'>", false, false, false, 0},
		{"base64", []byte("x"), "<type 'instance'>", false, false, false, 0},
		{"array", []any{1}, "<type 'list'>", false, false, false, 0},
		{"struct", map[string]any{}, "<type 'dict'>", false, false, false, 0},
		{"nil", nil, "<type 'NoneType'>", false, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if have := pyType(tt.v); have != tt.typ {
				t.Errorf("pyType: have %q, want %q", have, tt.typ)
			}
			if have := isStr(tt.v); have != tt.str {
				t.Errorf("isStr: have %v, want %v", have, tt.str)
			}
			if have := isString(tt.v); have != tt.any {
				t.Errorf("isString: have %v, want %v", have, tt.any)
			}
			n, ok := pyInt(tt.v)
			if ok != tt.isInt || n != tt.intValue {
				t.Errorf("pyInt: have %d, %v, want %d, %v", n, ok, tt.intValue, tt.isInt)
			}
		})
	}
}

func TestPySplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"65537 123", []string{"65537", "123"}},
		{"  a\tb\n\r c \v\f", []string{"a", "b", "c"}},
		{"", nil},
		{"   ", nil},
		{"a\u00a0b", []string{"a", "b"}}, // unicode: NBSP is space
		{"\u00e9\u001cb", []string{"\u00e9", "b"}}, // in a unicode string U+001C is space...
		{"a\x1cb", []string{"a\x1cb"}},             // ...in a str it is not
		{"\u00e9 \u3000x", []string{"\u00e9", "x"}},
	}
	for _, tt := range tests {
		if have := pySplitN(tt.in, -1); !slices.Equal(have, tt.want) {
			t.Errorf("pySplitN(%q, -1): have %q, want %q", tt.in, have, tt.want)
		}
		// pySplitN(s, 2) is the first two fields, with the same rules.
		want := tt.want[:min(2, len(tt.want))]
		if len(want) == 0 {
			want = nil
		}
		if have := pySplitN(tt.in, 2); !slices.Equal(have, want) {
			t.Errorf("pySplitN(%q, 2): have %q, want %q", tt.in, have, want)
		}
	}
}
