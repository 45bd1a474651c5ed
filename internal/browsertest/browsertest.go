// Package browsertest is what the tests of the project's HTML pages share:
// the text a person reads on a page, and (on Unix) a headless Chromium
// that loads a page as a person would, dumps the DOM it built and takes a
// screenshot. The mock's status page (mockserver) and the conformance
// report (cmd/conformance) are checked with it.
//
// A test that needs Chromium gets it from FindChromium, which skips the
// test when there is none, or fails it under CI (internal/testskip): .ci/run
// installs Chromium.
package browsertest

import (
	"html"
	"image"
	"strings"
)

// Text is the text of a piece of HTML as a page shows it: tags removed
// (each one a space), entities decoded, white space collapsed.
func Text(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		s = s[i+j+1:]
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

// tailBytes is how much of a long output Tail keeps.
const tailBytes = 2000

// Tail keeps the end of a long output (a DOM, a browser's log) for a
// failure message.
func Tail(s string) string {
	if len(s) > tailBytes {
		return "..." + s[len(s)-tailBytes:]
	}
	return s
}

// colors counts the distinct colors of an image, stopping at limit.
func colors(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
