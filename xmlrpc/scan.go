package xmlrpc

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file turns raw bytes into a clean document and reads XML from it.
//
// prepare checks the byte order mark and the XML declaration, transcodes a
// declared single-byte charset to UTF-8, validates that every character is
// an XML 1.0 Char and normalises line ends, all in one pass. The scanner
// that follows can then treat the document as trusted UTF-8 text without
// CR, and find markup with bytes.IndexByte.

// tagKind tells the three kinds of tag the scanner returns.
type tagKind uint8

const (
	tagStart tagKind = iota + 1 // <name ...>
	tagEmpty                    // <name .../>
	tagEnd                      // </name>
)

// scanner reads XML markup from a prepared document.
type scanner struct {
	buf      []byte
	pos      int
	elements int // start tags read so far
	limits   *Limits
	scratch  []byte  // backing store for text that is not a plain slice of buf
	src      *source // where buf grows from while a document streams in; nil otherwise
}

func (s *scanner) syntaxErr(msg string) error {
	return newDecodeError(s.buf, s.pos, msg, true)
}

func (s *scanner) invalidErr(msg string) error {
	return newDecodeError(s.buf, s.pos, msg, false)
}

func newDecodeError(buf []byte, pos int, msg string, syntax bool) error {
	if pos > len(buf) {
		pos = len(buf)
	}
	return &DecodeError{
		Offset: int64(pos),
		Line:   1 + bytes.Count(buf[:pos], []byte{'\n'}),
		Msg:    msg,
		Syntax: syntax,
	}
}

// charClass classifies bytes for the validation pass: 0 is an ASCII byte
// allowed as is, 1 is CR, 2 starts a multi-byte UTF-8 sequence, 3 is never
// allowed (C0 controls other than tab, LF and CR).
var charClass = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = 3
	}
	t['\t'], t['\n'], t['\r'] = 0, 0, 1
	for c := 0x80; c < 0x100; c++ {
		t[c] = 2
	}
	return t
}()

// prepare validates raw and returns the document as UTF-8 without CR, and
// the offset where the content after any XML declaration starts.
func prepare(raw []byte) ([]byte, int, error) {
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		raw = raw[3:]
	} else if bytes.HasPrefix(raw, []byte("\xfe\xff")) || bytes.HasPrefix(raw, []byte("\xff\xfe")) ||
		bytes.HasPrefix(raw, []byte("\x00\x00\xfe\xff")) || bytes.HasPrefix(raw, []byte("\x00<")) ||
		bytes.HasPrefix(raw, []byte("<\x00")) {
		return nil, 0, newDecodeError(raw, 0, "UTF-16 and UTF-32 documents are not supported", true)
	}
	start, enc, err := declaration(raw)
	if err != nil {
		return nil, 0, err
	}
	if enc != encUTF8 {
		raw, err = transcode(raw, start, enc)
		if err != nil {
			return nil, 0, err
		}
	}
	raw, err = validateChars(raw)
	return raw, start, err
}

type charset uint8

const (
	encUTF8 charset = iota
	encASCII
	encLatin1
	encCP1252
)

// declaration parses an XML declaration at the start of doc, if there is
// one, and returns the offset just after it and the declared charset.
func declaration(doc []byte) (int, charset, error) {
	if !bytes.HasPrefix(doc, []byte("<?xml")) || len(doc) < 6 || !(isSpace(doc[5]) || doc[5] == '?') {
		return 0, encUTF8, nil
	}
	end := bytes.Index(doc, []byte("?>"))
	if end < 0 {
		return 0, 0, newDecodeError(doc, len(doc), "unterminated XML declaration", true)
	}
	body := doc[5:end]
	enc := encUTF8
	var seen [3]bool // version, encoding, standalone
	for {
		i := 0
		for i < len(body) && isSpace(body[i]) {
			i++
		}
		if i == len(body) {
			break
		}
		if i == 0 {
			return 0, 0, newDecodeError(doc, end, "malformed XML declaration", true)
		}
		body = body[i:]
		eq := bytes.IndexByte(body, '=')
		if eq <= 0 {
			return 0, 0, newDecodeError(doc, end, "malformed XML declaration", true)
		}
		name := string(bytes.TrimRight(body[:eq], " \t\n\r"))
		rest := bytes.TrimLeft(body[eq+1:], " \t\n\r")
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return 0, 0, newDecodeError(doc, end, "malformed XML declaration", true)
		}
		q := bytes.IndexByte(rest[1:], rest[0])
		if q < 0 {
			return 0, 0, newDecodeError(doc, end, "malformed XML declaration", true)
		}
		val := string(rest[1 : 1+q])
		body = rest[2+q:]
		i = slices.Index([]string{"version", "encoding", "standalone"}, name)
		if i < 0 {
			return 0, 0, newDecodeError(doc, end, "malformed XML declaration", true)
		}
		if seen[i] {
			return 0, 0, newDecodeError(doc, end, "repeated "+name+" in XML declaration", true)
		}
		seen[i] = true
		switch name {
		case "version":
			if val != "1.0" {
				return 0, 0, newDecodeError(doc, end, "unsupported XML version "+quoteASCII(val), true)
			}
		case "encoding":
			switch strings.ToLower(val) {
			case "utf-8", "utf8":
				enc = encUTF8
			case "us-ascii", "ascii":
				enc = encASCII
			case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
				enc = encLatin1
			case "windows-1252", "cp1252":
				enc = encCP1252
			default:
				return 0, 0, newDecodeError(doc, end, "unsupported encoding "+quoteASCII(val), true)
			}
		case "standalone":
			if val != "yes" && val != "no" {
				return 0, 0, newDecodeError(doc, end, "malformed XML declaration", true)
			}
		}
	}
	return end + 2, enc, nil
}

// quoteASCII quotes s for an error message, keeping it short and printable.
func quoteASCII(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			b.WriteString("\\u")
			const hex = "0123456789abcdef"
			b.Write([]byte{hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15]})
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// cp1252 maps bytes 0x80-0x9F of windows-1252; the five unassigned bytes
// map to the C1 code point of the same value.
var cp1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}

// transcode converts doc[start:] from a single-byte charset to UTF-8. The
// declaration before start is ASCII and is kept as is.
func transcode(doc []byte, start int, enc charset) ([]byte, error) {
	out := make([]byte, 0, len(doc)+len(doc)/8)
	out = append(out, doc[:start]...)
	for i, c := range doc[start:] {
		switch {
		case c < 0x80:
			out = append(out, c)
		case enc == encASCII:
			return nil, newDecodeError(doc, start+i, "byte above 0x7F in a US-ASCII document", true)
		case enc == encCP1252 && c < 0xA0:
			out = utf8.AppendRune(out, cp1252[c-0x80])
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return out, nil
}

const (
	lowBytes  = 0x2020202020202020
	highBits  = 0x8080808080808080
	low7Bits  = 0x7f7f7f7f7f7f7f7f
	wordBytes = 8
)

// specialBytes returns the high bit of each byte of w that validateChars
// must look at: a byte above 0x7F, or one below 0x20 other than tab and
// LF (CR among them). With x the low seven bits of a byte, x + 0x80 - n
// has its high bit set exactly when x >= n, and no sum carries into the
// next byte, so the mask is exact byte by byte.
func specialBytes(w uint64) uint64 {
	x := w & low7Bits
	atLeastTab := x + 0x7777777777777777   // x >= 0x09
	aboveLF := x + 0x7575757575757575      // x >= 0x0B
	atLeastSpace := x + 0x6060606060606060 // x >= 0x20
	return (^atLeastTab|aboveLF&^atLeastSpace)&highBits | w&highBits
}

// validateChars checks that doc is UTF-8 made only of XML 1.0 characters
// and replaces CR LF and lone CR with LF. It returns doc itself unless
// there was a CR to replace.
func validateChars(doc []byte) ([]byte, error) {
	sawCR, err := checkChars(doc)
	if err != nil {
		return nil, err
	}
	if !sawCR {
		return doc, nil
	}
	out := make([]byte, 0, len(doc))
	for i := 0; i < len(doc); i++ {
		if doc[i] != '\r' {
			out = append(out, doc[i])
			continue
		}
		out = append(out, '\n')
		if i+1 < len(doc) && doc[i+1] == '\n' {
			i++
		}
	}
	return out, nil
}

// checkChars is the check of validateChars; it also reports whether doc
// has a CR.
func checkChars(doc []byte) (sawCR bool, err error) {
	i := 0
	for i < len(doc) {
		// Skip words of printable ASCII, tabs and LFs, sixteen bytes at a
		// time, and stop at the first byte that needs a closer look.
		for i+2*wordBytes <= len(doc) {
			w1, w2 := binary.LittleEndian.Uint64(doc[i:]), binary.LittleEndian.Uint64(doc[i+wordBytes:])
			if (w1|(w1-lowBytes)|w2|(w2-lowBytes))&highBits == 0 {
				i += 2 * wordBytes // no byte below 0x20 or above 0x7F
				continue
			}
			if special := specialBytes(w1); special != 0 {
				i += bits.TrailingZeros64(special) / 8
				break
			}
			if special := specialBytes(w2); special != 0 {
				i += wordBytes + bits.TrailingZeros64(special)/8
				break
			}
			i += 2 * wordBytes
		}
		if i >= len(doc) {
			break
		}
		c := doc[i]
		switch charClass[c] {
		case 0:
			i++
		case 1:
			sawCR = true
			i++
		case 2:
			r, size := utf8.DecodeRune(doc[i:])
			if r == utf8.RuneError && size == 1 {
				return false, newDecodeError(doc, i, "invalid UTF-8", true)
			}
			if r == 0xFFFE || r == 0xFFFF {
				return false, newDecodeError(doc, i, "character not allowed in XML", true)
			}
			i += size
		default:
			return false, newDecodeError(doc, i, "control character not allowed in XML", true)
		}
	}
	return sawCR, nil
}

// isXMLChar reports whether r is an XML 1.0 Char.
func isXMLChar(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isAllSpace(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// nameBytes marks the bytes that may appear in an XML name; bytes of
// multi-byte characters are all accepted (the characters were validated
// already and names are only ever compared with ASCII ones).
var nameBytes = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == ':' || c == '-' || c == '.' || c >= 0x80
	}
	return t
}()

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= 0x80
}

// name reads an XML name at s.pos.
func (s *scanner) name() ([]byte, error) {
	start := s.pos
	if s.pos >= len(s.buf) || !isNameStart(s.buf[s.pos]) {
		return nil, s.syntaxErr("expected a name")
	}
	i := s.pos + 1
	for i < len(s.buf) && nameBytes[s.buf[i]] {
		i++
	}
	s.pos = i
	return s.buf[start:i], nil
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.buf) && isSpace(s.buf[s.pos]) {
		s.pos++
	}
}

// tag reads the tag at s.pos, which must be '<' not followed by '!' or
// '?'. Attributes are checked for well-formedness and ignored.
func (s *scanner) tag() (name []byte, kind tagKind, err error) {
	s.lookahead(64)
	s.pos++ // '<'
	if s.pos < len(s.buf) && s.buf[s.pos] == '/' {
		s.pos++
		if name, err = s.name(); err != nil {
			return nil, 0, err
		}
		s.skipSpace()
		if s.pos >= len(s.buf) || s.buf[s.pos] != '>' {
			return nil, 0, s.syntaxErr("malformed end tag")
		}
		s.pos++
		return name, tagEnd, nil
	}
	if name, err = s.name(); err != nil {
		return nil, 0, err
	}
	s.elements++
	if s.elements > s.limits.MaxElements {
		return nil, 0, &LimitError{Limit: LimitElements, Max: int64(s.limits.MaxElements)}
	}
	for {
		sawSpace := s.pos < len(s.buf) && isSpace(s.buf[s.pos])
		s.skipSpace()
		if s.pos >= len(s.buf) {
			return nil, 0, s.syntaxErr("unexpected end of document in a tag")
		}
		switch s.buf[s.pos] {
		case '>':
			s.pos++
			return name, tagStart, nil
		case '/':
			if s.pos+1 < len(s.buf) && s.buf[s.pos+1] == '>' {
				s.pos += 2
				return name, tagEmpty, nil
			}
			return nil, 0, s.syntaxErr("malformed tag")
		}
		if !sawSpace {
			return nil, 0, s.syntaxErr("malformed tag")
		}
		if err := s.attribute(); err != nil {
			return nil, 0, err
		}
	}
}

// attribute checks one name="value" pair at s.pos.
func (s *scanner) attribute() error {
	if _, err := s.name(); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos >= len(s.buf) || s.buf[s.pos] != '=' {
		return s.syntaxErr("attribute without a value")
	}
	s.pos++
	s.skipSpace()
	if s.pos >= len(s.buf) || (s.buf[s.pos] != '"' && s.buf[s.pos] != '\'') {
		return s.syntaxErr("unquoted attribute value")
	}
	q := s.buf[s.pos]
	s.pos++
	end := bytes.IndexByte(s.buf[s.pos:], q)
	if end < 0 {
		return s.syntaxErr("unterminated attribute value")
	}
	val := s.buf[s.pos : s.pos+end]
	if i := bytes.IndexByte(val, '<'); i >= 0 {
		s.pos += i
		return s.syntaxErr("'<' in an attribute value")
	}
	valStart := s.pos
	for {
		i := bytes.IndexByte(s.buf[s.pos:valStart+end], '&')
		if i < 0 {
			break
		}
		s.pos += i
		_, n, err := s.entity(s.scratch[:0])
		if err != nil {
			return err
		}
		s.pos += n
	}
	s.pos = valStart + end + 1
	return nil
}

// entity resolves the reference starting at s.buf[s.pos] == '&', appends
// its character to dst and returns how many bytes it spanned; s.pos is left
// unchanged.
func (s *scanner) entity(dst []byte) ([]byte, int, error) {
	rest := s.buf[s.pos+1:]
	// No length bound: a numeric reference may have any number of leading
	// zeros (&#0000000000065;), and the digit loop below bounds the value.
	semi := bytes.IndexByte(rest, ';')
	if semi < 0 {
		return dst, 0, s.syntaxErr("malformed entity reference")
	}
	ref := rest[:semi]
	n := semi + 2
	switch string(ref) {
	case "lt":
		return append(dst, '<'), n, nil
	case "gt":
		return append(dst, '>'), n, nil
	case "amp":
		return append(dst, '&'), n, nil
	case "quot":
		return append(dst, '"'), n, nil
	case "apos":
		return append(dst, '\''), n, nil
	}
	if len(ref) < 2 || ref[0] != '#' {
		return dst, 0, s.syntaxErr("unknown entity " + quoteASCII(string(ref)))
	}
	digits, base := ref[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return dst, 0, s.syntaxErr("malformed character reference")
	}
	var r rune
	for _, c := range digits {
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return dst, 0, s.syntaxErr("malformed character reference")
		}
		r = r*base + d
		if r > utf8.MaxRune {
			return dst, 0, s.syntaxErr("character reference out of range")
		}
	}
	if !isXMLChar(r) {
		return dst, 0, s.syntaxErr("character reference to a character not allowed in XML")
	}
	return utf8.AppendRune(dst, r), n, nil
}

// text reads character data up to the next start or end tag: entity
// references are resolved, CDATA sections are taken literally, comments
// and processing instructions are skipped. The result aliases either the
// document or the scanner's scratch space and is valid until the next call.
func (s *scanner) text() ([]byte, error) {
	s.lookahead(shortText + 1)
	start := s.pos
	// Fast path for short text: a plain run up to a tag, found without
	// the setup of a vector search. Anything else takes the general path.
	for i := start; i < min(len(s.buf), start+shortText); i++ {
		if c := s.buf[i]; c == '&' {
			break
		} else if c == '<' {
			if i+1 < len(s.buf) && s.buf[i+1] != '!' && s.buf[i+1] != '?' && i-start <= s.limits.MaxTextBytes {
				s.pos = i
				return s.buf[start:i], nil
			}
			break
		}
	}
	lt := s.indexByte(start, '<')
	if lt < 0 {
		s.pos = len(s.buf)
		return nil, s.syntaxErr("unexpected end of document")
	}
	s.lookahead(lt - start + 2) // the byte after '<'
	if lt+1 < len(s.buf) && s.buf[lt+1] != '!' && s.buf[lt+1] != '?' &&
		bytes.IndexByte(s.buf[start:lt], '&') < 0 {
		s.pos = lt
		if lt-start > s.limits.MaxTextBytes {
			return nil, &LimitError{Limit: LimitText, Max: int64(s.limits.MaxTextBytes)}
		}
		return s.buf[start:lt], nil
	}
	out := s.scratch[:0]
	for {
		if len(out) > s.limits.MaxTextBytes {
			return nil, &LimitError{Limit: LimitText, Max: int64(s.limits.MaxTextBytes)}
		}
		if s.pos >= len(s.buf) {
			return nil, s.syntaxErr("unexpected end of document")
		}
		c := s.buf[s.pos]
		if c == '&' {
			var n int
			var err error
			if out, n, err = s.entity(out); err != nil {
				return nil, err
			}
			s.pos += n
			continue
		}
		if c != '<' {
			next := s.pos + 1
			for next < len(s.buf) && s.buf[next] != '<' && s.buf[next] != '&' {
				next++
			}
			out = append(out, s.buf[s.pos:next]...)
			s.pos = next
			continue
		}
		rest := s.buf[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			if err := s.comment(); err != nil {
				return nil, err
			}
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest[9:], []byte("]]>"))
			if end < 0 {
				return nil, s.syntaxErr("unterminated CDATA section")
			}
			out = append(out, rest[9:9+end]...)
			s.pos += 9 + end + 3
		case bytes.HasPrefix(rest, []byte("<?")):
			if err := s.procInst(); err != nil {
				return nil, err
			}
		case bytes.HasPrefix(rest, []byte("<!DOCTYPE")):
			return nil, s.syntaxErr("DOCTYPE is not allowed")
		case bytes.HasPrefix(rest, []byte("<!")):
			return nil, s.syntaxErr("unsupported markup declaration")
		default:
			s.scratch = out
			if len(out) > s.limits.MaxTextBytes {
				return nil, &LimitError{Limit: LimitText, Max: int64(s.limits.MaxTextBytes)}
			}
			return out, nil
		}
	}
}

// indexByte returns the offset of the first c at or after from, reading
// more of a streamed document as needed, or -1.
func (s *scanner) indexByte(from int, c byte) int {
	for {
		if i := bytes.IndexByte(s.buf[from:], c); i >= 0 {
			return from + i
		}
		from = len(s.buf)
		if !s.more() {
			return -1
		}
	}
}

// shortText is how far text looks byte by byte for its end before it
// searches with bytes.IndexByte.
const shortText = 16

// spaceEnd returns the offset of the first byte at or after s.pos that
// is not whitespace, and whether the whitespace is within the text limit.
func (s *scanner) spaceEnd() (int, bool) {
	s.lookahead(64)
	i := s.pos
	for i < len(s.buf) && isSpace(s.buf[i]) {
		i++
	}
	return i, i-s.pos <= s.limits.MaxTextBytes
}

// A tagLit is a tag written the plain way, "<name>" or "</name>", which
// the fast paths compare as two masked little-endian words.
type tagLit struct {
	name  string // the element name
	text  string // the whole tag
	start bool
	word  [2]uint64 // text, zero-padded; only for text of up to 16 bytes
	mask  [2]uint64
}

func newTagLit(name string, start bool) *tagLit {
	t := &tagLit{name: name, text: "</" + name + ">", start: start}
	if start {
		t.text = "<" + name + ">"
	}
	if len(t.text) <= 16 {
		for i := range len(t.text) {
			t.word[i/8] |= uint64(t.text[i]) << (8 * (i % 8))
			t.mask[i/8] |= 0xff << (8 * (i % 8))
		}
	}
	return t
}

// The tags the decoder expects, start and end.
var (
	startMethodName = newTagLit("methodName", true)
	startParam      = newTagLit("param", true)
	startValue      = newTagLit("value", true)
	startMember     = newTagLit("member", true)
	startName       = newTagLit("name", true)
	endMethodCall   = newTagLit("methodCall", false)
	endMethodResp   = newTagLit("methodResponse", false)
	endParam        = newTagLit("param", false)
	endFault        = newTagLit("fault", false)
	endValue        = newTagLit("value", false)
	endArray        = newTagLit("array", false)
	endMember       = newTagLit("member", false)
	endName         = newTagLit("name", false)
	endStruct       = newTagLit("struct", false)
)

// at reports whether buf[i:] begins with the tag.
func (t *tagLit) at(buf []byte, i int) bool {
	if t.mask[0] != 0 && i+16 <= len(buf) {
		return binary.LittleEndian.Uint64(buf[i:])&t.mask[0] == t.word[0] &&
			binary.LittleEndian.Uint64(buf[i+8:])&t.mask[1] == t.word[1]
	}
	return len(buf)-i >= len(t.text) && string(buf[i:i+len(t.text)]) == t.text
}

// atTag consumes whitespace and then t if t comes next, and reports
// whether it did. It is the fast path of expect, expectEnd and the loops
// over members and array values: when it reports false nothing was
// consumed, and the general path reads the same bytes again, errors
// included.
func (s *scanner) atTag(t *tagLit) bool {
	i, ok := s.spaceEnd()
	return ok && s.atTagFrom(i, t)
}

// atTagFrom consumes t at i, past whitespace that spaceEnd accepted, if
// it is there.
func (s *scanner) atTagFrom(i int, t *tagLit) bool {
	if !t.at(s.buf, i) {
		return false
	}
	if t.start {
		if s.elements >= s.limits.MaxElements {
			return false
		}
		s.elements++
	}
	s.pos = i + len(t.text)
	return true
}

// atEndHere consumes the end tag </name>, written exactly so, if it is at
// s.pos, without skipping whitespace (which would be content).
func (s *scanner) atEndHere(name []byte) bool {
	i := s.pos
	gt := i + 2 + len(name)
	if gt >= len(s.buf) || s.buf[i] != '<' || s.buf[i+1] != '/' || s.buf[gt] != '>' || string(s.buf[i+2:gt]) != string(name) {
		return false
	}
	s.pos = gt + 1
	return true
}

// comment skips the comment at s.pos.
func (s *scanner) comment() error {
	body := s.buf[s.pos+4:]
	end := bytes.Index(body, []byte("--"))
	if end < 0 {
		return s.syntaxErr("unterminated comment")
	}
	if end+2 >= len(body) || body[end+2] != '>' {
		s.pos += 4 + end
		return s.syntaxErr(`"--" inside a comment`)
	}
	s.pos += 4 + end + 3
	return nil
}

// procInst skips the processing instruction at s.pos. An XML declaration
// anywhere but at the very start is an error.
func (s *scanner) procInst() error {
	s.pos += 2
	target, err := s.name()
	if err != nil {
		return err
	}
	if strings.EqualFold(string(target), "xml") {
		return s.syntaxErr("XML declaration not at the start of the document")
	}
	end := bytes.Index(s.buf[s.pos:], []byte("?>"))
	if end < 0 {
		return s.syntaxErr("unterminated processing instruction")
	}
	if end > 0 && !isSpace(s.buf[s.pos]) {
		return s.syntaxErr("malformed processing instruction")
	}
	s.pos += end + 2
	return nil
}

// next reads text (which must be whitespace only) and then a tag. It is
// used between structural elements.
func (s *scanner) next() ([]byte, tagKind, error) {
	// Fast path: a few spaces, or none, and then a tag.
	if i, ok := s.spaceEnd(); ok && i+1 < len(s.buf) && s.buf[i] == '<' && s.buf[i+1] != '!' && s.buf[i+1] != '?' {
		s.pos = i
		return s.tag()
	}
	t, err := s.text()
	if err != nil {
		return nil, 0, err
	}
	if !isAllSpace(t) {
		return nil, 0, s.invalidErr("unexpected text between elements")
	}
	return s.tag()
}

// expect reads whitespace and the start tag want. It returns whether the
// tag was self-closing.
func (s *scanner) expect(want *tagLit) (bool, error) {
	if s.atTag(want) {
		return false, nil
	}
	name, kind, err := s.next()
	if err != nil {
		return false, err
	}
	if kind == tagEnd || string(name) != want.name {
		return false, s.invalidErr("expected <" + want.name + ">, found " + describeTag(name, kind))
	}
	return kind == tagEmpty, nil
}

// expectEnd reads whitespace and the end tag want.
func (s *scanner) expectEnd(want *tagLit) error {
	if s.atTag(want) {
		return nil
	}
	name, kind, err := s.next()
	if err != nil {
		return err
	}
	if kind != tagEnd || string(name) != want.name {
		return s.invalidErr("expected </" + want.name + ">, found " + describeTag(name, kind))
	}
	return nil
}

func describeTag(name []byte, kind tagKind) string {
	n := string(name)
	if len(n) > 40 {
		n = n[:40] + "..."
	}
	if kind == tagEnd {
		return "</" + n + ">"
	}
	return "<" + n + ">"
}

// skipMisc skips whitespace, comments and processing instructions, all
// that may stand before and after the root element.
func (s *scanner) skipMisc() error {
	for {
		s.skipSpace()
		rest := s.buf[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			if err := s.comment(); err != nil {
				return err
			}
		case bytes.HasPrefix(rest, []byte("<?")):
			if err := s.procInst(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// prolog skips what may precede the root element and stops at its tag.
func (s *scanner) prolog() error {
	s.lookahead(streamStart)
	if err := s.skipMisc(); err != nil {
		return err
	}
	rest := s.buf[s.pos:]
	switch {
	case len(rest) == 0:
		return s.syntaxErr("no root element")
	case bytes.HasPrefix(rest, []byte("<!DOCTYPE")):
		return s.syntaxErr("DOCTYPE is not allowed")
	case bytes.HasPrefix(rest, []byte("<!")):
		return s.syntaxErr("unsupported markup declaration")
	case rest[0] != '<':
		return s.syntaxErr("text before the root element")
	}
	return nil
}

// epilog checks that only whitespace, comments and processing
// instructions follow the root element.
func (s *scanner) epilog() error {
	if err := s.complete(); err != nil {
		return err
	}
	if err := s.skipMisc(); err != nil {
		return err
	}
	if s.pos != len(s.buf) {
		return s.syntaxErr("content after the root element")
	}
	return nil
}

// plainMember is a struct member written the plain way, as the fast path
// of structMembers reads it in one go:
//
//	<member><name>NAME</name><value><T>TEXT</T></value></member>
//
// with T one of the type elements of typeLits, or <value>TEXT</value>
// untyped, where NAME and TEXT hold no markup and no reference, and
// whitespace may stand between the tags (not inside <name> or an
// untyped <value>, where it is text).
type plainMember struct {
	name     []byte
	typ      valueType // vtUntyped or a scalar type
	text     []byte
	end      int // offset just past </member>
	elements int // start tags read
}

// skipSpaceFrom returns the end of the whitespace at i, or -1 when the run
// is longer than the text limit (the general path reports that).
func (s *scanner) skipSpaceFrom(i int) int {
	j := i
	for j < len(s.buf) && isSpace(s.buf[j]) {
		j++
	}
	if j-i > s.limits.MaxTextBytes {
		return -1
	}
	return j
}

// plainText returns the end of the text at i: the offset of the first
// '<', when there is one, no '&' comes before it and the text is within
// the limit; otherwise -1.
func (s *scanner) plainText(i int) int {
	j := i
	for j < len(s.buf) && j < i+shortText && s.buf[j] != '<' && s.buf[j] != '&' {
		j++
	}
	if j == i+shortText {
		lt := bytes.IndexByte(s.buf[j:], '<')
		if lt < 0 || bytes.IndexByte(s.buf[j:j+lt], '&') >= 0 {
			return -1
		}
		j += lt
	}
	if j >= len(s.buf) || s.buf[j] != '<' || j-i > s.limits.MaxTextBytes {
		return -1
	}
	return j
}

// readPlainMember reads the member at s.pos into m if it is written the
// plain way, and reports whether it is. It consumes nothing: the caller
// moves to m.end and counts m.elements once it has used the member, or
// leaves the member to the general path, which then reads the same bytes
// (errors included) as if the fast path had never looked.
func (s *scanner) readPlainMember(m *plainMember) bool {
	s.lookahead(streamStart)
	i := s.skipSpaceFrom(s.pos)
	if i < 0 || !startMember.at(s.buf, i) {
		return false
	}
	if i = s.skipSpaceFrom(i + len(startMember.text)); i < 0 || !startName.at(s.buf, i) {
		return false
	}
	i += len(startName.text)
	j := s.plainText(i)
	if j < 0 || !endName.at(s.buf, j) {
		return false
	}
	m.name = s.buf[i:j]
	if i = s.skipSpaceFrom(j + len(endName.text)); i < 0 || !startValue.at(s.buf, i) {
		return false
	}
	i += len(startValue.text)
	m.elements = 3
	// A type element, after whitespace, or text and </value>.
	if k := s.skipSpaceFrom(i); k >= 0 && k+1 < len(s.buf) && s.buf[k] == '<' && s.buf[k+1] != '/' {
		c := s.buf[k+1]
		if c >= 128 {
			return false
		}
		var tl *typeLit
		for n := range typeLits[c] {
			if typeLits[c][n].typ != vtArray && typeLits[c][n].typ != vtStruct && typeLits[c][n].start.at(s.buf, k) {
				tl = &typeLits[c][n]
				break
			}
		}
		if tl == nil {
			return false
		}
		i = k + len(tl.start.text)
		if j = s.plainText(i); j < 0 || !tl.end.at(s.buf, j) {
			return false
		}
		m.typ, m.text = tl.typ, s.buf[i:j]
		m.elements++
		if i = s.skipSpaceFrom(j + len(tl.end.text)); i < 0 || !endValue.at(s.buf, i) {
			return false
		}
	} else {
		if j = s.plainText(i); j < 0 || !endValue.at(s.buf, j) {
			return false
		}
		m.typ, m.text, i = vtUntyped, s.buf[i:j], j
	}
	if i = s.skipSpaceFrom(i + len(endValue.text)); i < 0 || !endMember.at(s.buf, i) {
		return false
	}
	if s.elements+m.elements > s.limits.MaxElements {
		return false
	}
	m.end = i + len(endMember.text)
	return true
}

// usePlainMember moves past m, which readPlainMember read.
func (s *scanner) usePlainMember(m *plainMember) {
	s.pos = m.end
	s.elements += m.elements
}
