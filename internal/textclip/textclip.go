// Package textclip bounds text that came from a peer before an error
// message carries it, so that a hostile server cannot make a message
// megabytes long. The xmlrpc and clearinghouse packages share it.
package textclip

import (
	"strconv"
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
// note of how many bytes were cut, or s itself if it is short enough.
func Clip(s string, max int) string {
	head, more := Cut(s, max)
	if more == 0 {
		return s
	}
	return head + "... (" + strconv.Itoa(more) + " more bytes)"
}
