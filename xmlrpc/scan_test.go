package xmlrpc

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

// validateCharsByRune is validateChars written the plain way, one
// character at a time, for the word-at-a-time version to be checked
// against.
func validateCharsByRune(doc []byte) ([]byte, error) {
	var out []byte
	for i := 0; i < len(doc); {
		r, size := utf8.DecodeRune(doc[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return nil, newDecodeError(doc, i, "invalid UTF-8", true)
		case r == 0xFFFE || r == 0xFFFF:
			return nil, newDecodeError(doc, i, "character not allowed in XML", true)
		case !isXMLChar(r):
			return nil, newDecodeError(doc, i, "control character not allowed in XML", true)
		case r == '\r':
			out = append(out, '\n')
			if i+1 < len(doc) && doc[i+1] == '\n' {
				i++
			}
		default:
			out = append(out, doc[i:i+size]...)
		}
		i += size
	}
	return out, nil
}

func checkValidateChars(t *testing.T, doc []byte) {
	t.Helper()
	have, haveErr := validateChars(bytes.Clone(doc))
	want, wantErr := validateCharsByRune(doc)
	var hd, wd *DecodeError
	switch {
	case wantErr != nil:
		if !errors.As(haveErr, &hd) || !errors.As(wantErr, &wd) || *hd != *wd {
			t.Fatalf("validateChars(%q): have error %v, want %v", doc, haveErr, wantErr)
		}
	case haveErr != nil:
		t.Fatalf("validateChars(%q): have error %v, want %q", doc, haveErr, want)
	case !bytes.Equal(have, want):
		t.Fatalf("validateChars(%q): have %q, want %q", doc, have, want)
	}
}

// TestValidateCharsEveryByte puts every byte value at every offset of a
// 40-byte document, so that it falls in each lane of both words of the
// sixteen-byte step and in the tail, and compares with the plain version.
func TestValidateCharsEveryByte(t *testing.T) {
	base := []byte("<value><string>0123456789abcdefghijklmnopq")[:40]
	for c := range 256 {
		for at := range len(base) {
			doc := bytes.Clone(base)
			doc[at] = byte(c)
			checkValidateChars(t, doc)
			// The same byte after a tab and LF, which the exact word test
			// lets through and the quick one does not.
			if at > 1 {
				doc[at-2], doc[at-1] = '\t', '\n'
				checkValidateChars(t, doc)
			}
		}
	}
	for _, doc := range []string{"", "\r", "a\r", "\r\n\r\n", "abcdefgh\r\nijklmnop\rq", "é\x7f\u2028\U0001F600", "\xef\xbf\xbe", "\xed\xa0\x80"} {
		checkValidateChars(t, []byte(doc))
	}
}

func FuzzValidateChars(f *testing.F) {
	f.Add([]byte("<value>\n\t<string>plain text, long enough for two words</string>\n</value>"))
	f.Add([]byte("a\r\nb\rc\x00d"))
	f.Add([]byte("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xc3"))
	f.Fuzz(func(t *testing.T, doc []byte) { checkValidateChars(t, doc) })
}
