package browsertest

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain  text\n here", "plain text here"},
		{"<p>a</p><p>b</p>", "a b"},
		{`<td class="n">7&nbsp;/&nbsp;20</td>`, "7 / 20"},
		{"Example Lab &lt;R&amp;D&gt;", "Example Lab <R&D>"},
		{"<b>bold</b>er", "bold er"},
		{"open <tag never closed", "open"},
	} {
		if have := Text(tc.in); have != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, have, tc.want)
		}
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	short := strings.Repeat("a", tailBytes)
	if have := Tail(short); have != short {
		t.Errorf("Tail of %d bytes changed it", len(short))
	}
	long := strings.Repeat("a", 10) + strings.Repeat("b", tailBytes)
	if have, want := Tail(long), "..."+strings.Repeat("b", tailBytes); have != want {
		t.Errorf("Tail of %d bytes: have %d bytes starting %q, want the last %d after ...", len(long), len(have), have[:5], tailBytes)
	}
}

func TestColors(t *testing.T) {
	t.Parallel()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	if n := colors(img, 10); n != 1 {
		t.Errorf("a blank image: %d colors, want 1", n)
	}
	for x := range 8 {
		img.Set(x, 3, color.RGBA{uint8(x * 30), 0, 0, 255})
	}
	if n := colors(img, 100); n != 9 {
		t.Errorf("8 colored pixels on blank: %d colors, want 9", n)
	}
	if n := colors(img, 4); n != 4 {
		t.Errorf("counting up to 4: %d, want 4", n)
	}
}
