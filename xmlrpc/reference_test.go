package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// This file holds a reference decoder for the accepted language of
// docs/xmlrpc.md, built on encoding/xml and written
// independently of the fast decoder: it shares no code with scan.go,
// decode.go, scalar.go or datetime.go. The fuzz targets compare the two.
//
// The pipeline is:
//
//  1. refPrepare: body limit, BOM, XML declaration (parsed here, then
//     removed), transcoding of the declared charset, XML Char validation.
//  2. refNormalize: a lexical pass for the three spots where encoding/xml is
//     stricter than the spec and the spec is silent, so the reference follows
//     the fast decoder: "]]>" in text, non-ASCII characters in names, and
//     attribute names with more than one colon. It rewrites them into forms
//     encoding/xml accepts (injectively, so end tags still match exactly).
//  3. refLexer: encoding/xml RawToken, plus the checks RawToken leaves to its
//     caller (end tags matching start tags, one root, only whitespace,
//     comments and PIs outside it, no DOCTYPE, no misplaced declaration,
//     character references to non-Chars, whitespace between attributes and
//     after a PI target, the element-count and text-length limits).
//  4. refParser: a recursive descent over elements that maps XML-RPC onto
//     the canonical Go values.

// refError is a document the reference rejects.
type refError struct {
	msg    string
	syntax bool // not well-formed XML, as opposed to invalid XML-RPC
}

func (e *refError) Error() string { return "xmlrpc reference: " + e.msg }

func refSyntaxf(format string, args ...any) error {
	return &refError{msg: fmt.Sprintf(format, args...), syntax: true}
}

func refInvalidf(format string, args ...any) error {
	return &refError{msg: fmt.Sprintf(format, args...)}
}

// refDecodeCall decodes a <methodCall> with the default limits.
func refDecodeCall(data []byte) (method string, params []any, err error) {
	p, err := newRefParser(data)
	if err != nil {
		return "", nil, err
	}
	root, err := p.lex.root()
	if err != nil {
		return "", nil, err
	}
	if !refIsPlain(root, "methodCall") {
		return "", nil, refInvalidf("root element is <%s>, not <methodCall>", refNameString(root))
	}
	params = []any{}
	n := 0
	err = p.children(func(name xml.Name) error {
		n++
		switch {
		case n == 1 && refIsPlain(name, "methodName"):
			text, err := p.leaf()
			if err != nil {
				return err
			}
			text = bytes.Trim(text, refSpace)
			if len(text) == 0 {
				return refInvalidf("empty methodName")
			}
			if len(text) > DefaultMaxMethodBytes {
				return &LimitError{Limit: LimitMethodName, Max: DefaultMaxMethodBytes}
			}
			method = string(text)
			return nil
		case n == 2 && refIsPlain(name, "params"):
			return p.children(func(name xml.Name) error {
				if !refIsPlain(name, "param") {
					return refInvalidf("<%s> in <params>", refNameString(name))
				}
				v, err := p.param()
				params = append(params, v)
				return err
			})
		}
		return refInvalidf("unexpected <%s> in <methodCall>", refNameString(name))
	})
	if err != nil {
		return "", nil, err
	}
	if n == 0 {
		return "", nil, refInvalidf("<methodCall> without <methodName>")
	}
	if err := p.lex.epilog(); err != nil {
		return "", nil, err
	}
	return method, params, nil
}

// refDecodeResponse decodes a <methodResponse> with the default limits.
// Exactly one of result (which may be nil for <nil/>), fault and err is
// meaningful: err for a rejected document, fault for a fault response.
func refDecodeResponse(data []byte) (result any, fault *Fault, err error) {
	p, err := newRefParser(data)
	if err != nil {
		return nil, nil, err
	}
	root, err := p.lex.root()
	if err != nil {
		return nil, nil, err
	}
	if !refIsPlain(root, "methodResponse") {
		return nil, nil, refInvalidf("root element is <%s>, not <methodResponse>", refNameString(root))
	}
	n := 0
	err = p.children(func(name xml.Name) error {
		n++
		if n > 1 {
			return refInvalidf("<methodResponse> has more than one child")
		}
		switch {
		case refIsPlain(name, "params"):
			count := 0
			err := p.children(func(name xml.Name) error {
				count++
				if !refIsPlain(name, "param") || count > 1 {
					return refInvalidf("a response needs exactly one <param>")
				}
				v, err := p.param()
				result = v
				return err
			})
			if err == nil && count != 1 {
				err = refInvalidf("a response needs exactly one <param>")
			}
			return err
		case refIsPlain(name, "fault"):
			f, err := p.fault()
			fault = f
			return err
		}
		return refInvalidf("unexpected <%s> in <methodResponse>", refNameString(name))
	})
	if err == nil && n == 0 {
		err = refInvalidf("empty <methodResponse>")
	}
	if err == nil {
		err = p.lex.epilog()
	}
	if err != nil {
		return nil, nil, err
	}
	if fault != nil {
		return nil, fault, nil
	}
	return result, nil, nil
}

// ---- 1. Input preparation ----

const refSpace = " \t\r\n"

func refIsSpaceByte(c byte) bool { return strings.IndexByte(refSpace, c) >= 0 }

func refAllSpace(b []byte) bool { return len(bytes.Trim(b, refSpace)) == 0 }

// refIsChar is the XML 1.0 Char production.
func refIsChar(r rune) bool {
	switch {
	case r == 0x9, r == 0xA, r == 0xD:
		return true
	case r < 0x20:
		return false
	case r <= 0xD7FF:
		return true
	case r < 0xE000:
		return false
	case r <= 0xFFFD:
		return true
	}
	return r >= 0x10000 && r <= 0x10FFFF
}

// refCharsets maps every accepted encoding name (lower case) to its charset.
var refCharsets = map[string]string{
	"utf-8": "utf-8", "utf8": "utf-8",
	"us-ascii": "ascii", "ascii": "ascii",
	"iso-8859-1": "latin1", "iso8859-1": "latin1", "latin1": "latin1", "latin-1": "latin1", "l1": "latin1",
	"windows-1252": "cp1252", "cp1252": "cp1252",
}

// refWindows1252 lists the assigned code points of bytes 0x80-0x9F in the
// Windows-1252 table; the unassigned ones (0x81, 0x8D, 0x8F, 0x90, 0x9D) are
// absent and map to the C1 control of the same value.
var refWindows1252 = map[byte]rune{
	0x80: '€', 0x82: '‚', 0x83: 'ƒ', 0x84: '„', 0x85: '…', 0x86: '†', 0x87: '‡',
	0x88: 'ˆ', 0x89: '‰', 0x8A: 'Š', 0x8B: '‹', 0x8C: 'Œ', 0x8E: 'Ž',
	0x91: '‘', 0x92: '’', 0x93: '“', 0x94: '”', 0x95: '•', 0x96: '–', 0x97: '—',
	0x98: '˜', 0x99: '™', 0x9A: 'š', 0x9B: '›', 0x9C: 'œ', 0x9E: 'ž', 0x9F: 'Ÿ',
}

// refPrepare returns the document after the XML declaration as validated
// UTF-8.
func refPrepare(data []byte) ([]byte, error) {
	if len(data) > DefaultMaxBodyBytes {
		return nil, &LimitError{Limit: LimitBodySize, Max: DefaultMaxBodyBytes}
	}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	body, charset, err := refDeclaration(data)
	if err != nil {
		return nil, err
	}
	switch charset {
	case "ascii":
		for _, c := range body {
			if c >= 0x80 {
				return nil, refSyntaxf("byte %#x in a US-ASCII document", c)
			}
		}
	case "latin1", "cp1252":
		var sb strings.Builder
		for _, c := range body {
			r := rune(c)
			if mapped, ok := refWindows1252[c]; ok && charset == "cp1252" {
				r = mapped
			}
			sb.WriteRune(r)
		}
		body = []byte(sb.String())
	}
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && n == 1 {
			return nil, refSyntaxf("invalid UTF-8 at byte %d", i)
		}
		if !refIsChar(r) {
			return nil, refSyntaxf("character %U is not allowed in XML", r)
		}
		i += n
	}
	return body, nil
}

// refDeclPseudoAttr matches one pseudo-attribute of an XML declaration,
// with the whitespace that must precede it.
var refDeclPseudoAttr = regexp.MustCompile(`^[ \t\r\n]+([a-z]+)[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')`)

// refDeclaration recognises an XML declaration at the start of data and
// returns what follows it and the declared charset.
func refDeclaration(data []byte) ([]byte, string, error) {
	const open = "<?xml"
	if !bytes.HasPrefix(data, []byte(open)) || len(data) == len(open) ||
		!(refIsSpaceByte(data[len(open)]) || data[len(open)] == '?') {
		return data, "utf-8", nil // no declaration; a later "<?xml" is rejected as a PI
	}
	end := bytes.Index(data, []byte("?>"))
	if end < 0 {
		return nil, "", refSyntaxf("unterminated XML declaration")
	}
	content := data[len(open):end]
	charset := "utf-8"
	seen := map[string]bool{}
	for len(bytes.Trim(content, refSpace)) > 0 {
		m := refDeclPseudoAttr.FindSubmatch(content)
		if m == nil {
			return nil, "", refSyntaxf("malformed XML declaration")
		}
		content = content[len(m[0]):]
		name, value := string(m[1]), string(m[2])+string(m[3])
		if seen[name] {
			return nil, "", refSyntaxf("%s twice in the XML declaration", name)
		}
		seen[name] = true
		switch name {
		case "version":
			if value != "1.0" {
				return nil, "", refSyntaxf("XML version %q", value)
			}
		case "encoding":
			cs, ok := refCharsets[strings.ToLower(value)]
			if !ok {
				return nil, "", refSyntaxf("unsupported encoding %q", value)
			}
			charset = cs
		case "standalone":
			if value != "yes" && value != "no" {
				return nil, "", refSyntaxf("standalone=%q", value)
			}
		default:
			return nil, "", refSyntaxf("%s in the XML declaration", name)
		}
	}
	return data[end+2:], charset, nil
}

// ---- 2. Lexical normalisation for the spec-silent leniencies ----

// The fast decoder's name rule, which the spec leaves open: an ASCII
// letter, '_' or ':' starts a name, digits, '-' and '.' may follow, and any
// non-ASCII character is accepted anywhere.
func refNameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == ':' || c >= 0x80
}

func refNameChar(c byte) bool {
	return refNameStart(c) || '0' <= c && c <= '9' || c == '-' || c == '.'
}

// refName appends the name starting at doc[i] to out, rewritten when
// encoding/xml would not take it as is, and returns the index after it.
// Names with '_' or non-ASCII characters (and, in attribute names, ':') are
// rewritten injectively: '_' becomes "__", ':' "_c" and a non-ASCII rune
// "_x<hex>x". Other names are copied unchanged. No XML-RPC element name
// contains '_' or non-ASCII, so no rewritten name can become a known one.
func refName(out, doc []byte, i int, attribute bool) ([]byte, int) {
	if i >= len(doc) || !refNameStart(doc[i]) {
		return out, i
	}
	j := i
	for j < len(doc) && refNameChar(doc[j]) {
		j++
	}
	name := doc[i:j]
	if !bytes.ContainsFunc(name, func(r rune) bool { return r == '_' || r >= 0x80 || attribute && r == ':' }) {
		return append(out, name...), j
	}
	for _, r := range string(name) {
		switch {
		case r == '_':
			out = append(out, "__"...)
		case r == ':' && attribute:
			out = append(out, "_c"...)
		case r < 0x80:
			out = append(out, byte(r))
		default:
			out = fmt.Appendf(out, "_x%xx", r)
		}
	}
	return out, j
}

// refThrough returns the index just after the first sep in doc at or after
// from, or len(doc).
func refThrough(doc []byte, from int, sep string) int {
	if k := bytes.Index(doc[from:], []byte(sep)); k >= 0 {
		return from + k + len(sep)
	}
	return len(doc)
}

// refNormalize rewrites "]]>" in character data to "]]&gt;" and names as
// refName does. Comments, CDATA sections, PI bodies and attribute values
// are copied untouched. Everything else is copied, so anything malformed
// stays malformed for encoding/xml.
func refNormalize(doc []byte) []byte {
	out := make([]byte, 0, len(doc)+len(doc)/32)
	i := 0
	for i < len(doc) {
		rest := doc[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("]]>")):
			out = append(out, "]]&gt;"...)
			i += 3
		case rest[0] != '<':
			out = append(out, rest[0])
			i++
		case bytes.HasPrefix(rest, []byte("<!--")):
			j := refThrough(doc, i+4, "-->")
			out, i = append(out, doc[i:j]...), j
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			j := refThrough(doc, i+9, "]]>")
			out, i = append(out, doc[i:j]...), j
		case bytes.HasPrefix(rest, []byte("<!")):
			out, i = append(out, "<!"...), i+2
		case bytes.HasPrefix(rest, []byte("<?")):
			out, i = refName(append(out, "<?"...), doc, i+2, false)
			j := refThrough(doc, i, "?>")
			out, i = append(out, doc[i:j]...), j
		case bytes.HasPrefix(rest, []byte("</")):
			out, i = refName(append(out, "</"...), doc, i+2, false)
		default:
			out, i = refName(append(out, '<'), doc, i+1, false)
			out, i = refNormalizeTag(out, doc, i)
		}
	}
	return out
}

// refNormalizeTag copies the rest of a start tag, rewriting attribute names.
func refNormalizeTag(out, doc []byte, i int) ([]byte, int) {
	for i < len(doc) {
		c := doc[i]
		switch {
		case c == '>':
			return append(out, c), i + 1
		case c == '"' || c == '\'':
			j := refThrough(doc, i+1, string(c))
			out, i = append(out, doc[i:j]...), j
		case refNameStart(c):
			out, i = refName(out, doc, i, true)
		default:
			out, i = append(out, c), i+1
		}
	}
	return out, i
}

// ---- 3. Tokens ----

// refLexer reads encoding/xml raw tokens and enforces what RawToken does
// not.
type refLexer struct {
	dec      *xml.Decoder
	doc      []byte // what dec reads
	off      int    // end of the previous token in doc
	open     []xml.Name
	rootSeen bool
	rootDone bool
	starts   int
	text     []byte // text run buffer, reused
}

func newRefParser(data []byte) (*refParser, error) {
	body, err := refPrepare(data)
	if err != nil {
		return nil, err
	}
	doc := refNormalize(body)
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	dec.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		// Only a misplaced declaration can get here: the real one was
		// removed by refPrepare.
		return nil, fmt.Errorf("misplaced XML declaration declaring %q", label)
	}
	return &refParser{lex: &refLexer{dec: dec, doc: doc}}, nil
}

// token returns the next raw token after checking it.
func (l *refLexer) token() (xml.Token, error) {
	tok, err := l.dec.RawToken()
	if err == io.EOF {
		if !l.rootDone {
			return nil, refSyntaxf("unexpected end of document")
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, &refError{msg: err.Error(), syntax: true}
	}
	end := int(l.dec.InputOffset())
	raw := l.doc[l.off:end]
	l.off = end
	switch t := tok.(type) {
	case xml.StartElement:
		if l.rootDone {
			return nil, refSyntaxf("element <%s> after the root", refNameString(t.Name))
		}
		l.starts++
		if l.starts > DefaultMaxElements {
			return nil, &LimitError{Limit: LimitElements, Max: DefaultMaxElements}
		}
		if err := refCheckStartTag(raw); err != nil {
			return nil, err
		}
		l.rootSeen = true
		l.open = append(l.open, t.Name)
		return xml.StartElement{Name: t.Name}, nil
	case xml.EndElement:
		if len(l.open) == 0 {
			return nil, refSyntaxf("end tag </%s> without a start tag", refNameString(t.Name))
		}
		if top := l.open[len(l.open)-1]; top != t.Name {
			return nil, refSyntaxf("</%s> closes <%s>", refNameString(t.Name), refNameString(top))
		}
		l.open = l.open[:len(l.open)-1]
		l.rootDone = len(l.open) == 0
		return t, nil
	case xml.CharData:
		cdata := bytes.HasPrefix(raw, []byte("<![CDATA["))
		if !l.rootSeen || l.rootDone {
			if cdata || !refAllSpace(raw) {
				return nil, refSyntaxf("text outside the root element")
			}
		} else if !cdata {
			if err := refCheckCharRefs(raw); err != nil {
				return nil, err
			}
		}
		return t, nil
	case xml.Comment:
		return t, nil
	case xml.ProcInst:
		if strings.EqualFold(t.Target, "xml") {
			return nil, refSyntaxf("XML declaration not at the start")
		}
		after := raw[2+len(t.Target):] // raw ends in "?>", so after is never empty
		if !bytes.HasPrefix(after, []byte("?>")) && !refIsSpaceByte(after[0]) {
			return nil, refSyntaxf("no whitespace after the PI target %q", t.Target)
		}
		return t, nil
	case xml.Directive:
		return nil, refSyntaxf("markup declaration <!%.20q> is not allowed", t)
	}
	return nil, refSyntaxf("unexpected token %T", tok)
}

// refCheckStartTag checks a raw start tag for what encoding/xml lets pass:
// an attribute directly after the previous one's closing quote, and
// character references to non-Chars in attribute values.
func refCheckStartTag(raw []byte) error {
	var quote byte
	for i, c := range raw {
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case c == quote: // never the last byte: raw ends in '>'
			quote = 0
			if next := raw[i+1]; !refIsSpaceByte(next) && next != '/' && next != '>' {
				return refSyntaxf("no whitespace between attributes")
			}
		}
	}
	return refCheckCharRefs(raw)
}

// refCheckCharRefs checks every numeric character reference in raw (text or
// a start tag; encoding/xml turns &#xD800; into U+FFFD instead of failing).
func refCheckCharRefs(raw []byte) error {
	for {
		i := bytes.Index(raw, []byte("&#"))
		if i < 0 {
			return nil
		}
		raw = raw[i+2:]
		base := 10
		if len(raw) > 0 && raw[0] == 'x' {
			base, raw = 16, raw[1:]
		}
		semi := bytes.IndexByte(raw, ';')
		if semi <= 0 {
			return refSyntaxf("malformed character reference")
		}
		n, err := strconv.ParseUint(string(raw[:semi]), base, 64)
		if err != nil || n > utf8.MaxRune || !refIsChar(rune(n)) {
			return refSyntaxf("character reference &#%s; is not an XML character", raw[:semi])
		}
		raw = raw[semi+1:]
	}
}

// root reads through the root element's start tag.
func (l *refLexer) root() (xml.Name, error) {
	for {
		tok, err := l.token()
		if err != nil {
			return xml.Name{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t.Name, nil
		case xml.EndElement:
			return xml.Name{}, refSyntaxf("end tag before the root element")
		}
	}
}

// epilog reads the rest of the document after the root element.
func (l *refLexer) epilog() error {
	for {
		if _, err := l.token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// content reads character data up to the next tag (CDATA joins the text;
// comments and PIs vanish) and returns it with that tag, a StartElement or
// an EndElement. The text is valid until the next call.
func (l *refLexer) content() ([]byte, xml.Token, error) {
	l.text = l.text[:0]
	for {
		tok, err := l.token()
		if err != nil {
			return nil, nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			l.text = append(l.text, t...)
			if len(l.text) > DefaultMaxTextBytes {
				return nil, nil, &LimitError{Limit: LimitText, Max: DefaultMaxTextBytes}
			}
		case xml.StartElement, xml.EndElement:
			return l.text, tok, nil
		}
	}
}

func refIsPlain(n xml.Name, local string) bool { return n.Space == "" && n.Local == local }

func refNameString(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// ---- 4. XML-RPC ----

type refParser struct {
	lex   *refLexer
	depth int
}

// children calls visit for each child element of the element whose start
// tag was just read, up to its end tag. Text between children must be
// whitespace. visit must read the child through its end tag.
func (p *refParser) children(visit func(xml.Name) error) error {
	for {
		text, tok, err := p.lex.content()
		if err != nil {
			return err
		}
		if !refAllSpace(text) {
			return refInvalidf("text %q between elements", text)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			return nil
		}
		if err := visit(start.Name); err != nil {
			return err
		}
	}
}

// leaf reads the text of the element whose start tag was just read, up to
// its end tag; child elements are an error. The text is valid until the
// next read.
func (p *refParser) leaf() ([]byte, error) {
	text, tok, err := p.lex.content()
	if err != nil {
		return nil, err
	}
	if start, ok := tok.(xml.StartElement); ok {
		return nil, refInvalidf("element <%s> in a text-only element", refNameString(start.Name))
	}
	return text, nil
}

// param reads the content of <param>: exactly one <value>.
func (p *refParser) param() (any, error) {
	var v any
	n := 0
	err := p.children(func(name xml.Name) error {
		n++
		if !refIsPlain(name, "value") || n > 1 {
			return refInvalidf("<param> must hold exactly one <value>")
		}
		var err error
		v, err = p.value()
		return err
	})
	if err == nil && n == 0 {
		err = refInvalidf("empty <param>")
	}
	return v, err
}

// value reads the content of <value>: text only (a string), or one type
// element with whitespace around it.
func (p *refParser) value() (any, error) {
	text, tok, err := p.lex.content()
	if err != nil {
		return nil, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return string(text), nil
	}
	if !refAllSpace(text) {
		return nil, refInvalidf("text next to <%s> in <value>", refNameString(start.Name))
	}
	v, err := p.typed(start.Name)
	if err != nil {
		return nil, err
	}
	err = p.children(func(name xml.Name) error {
		return refInvalidf("<%s> after the value's type element", refNameString(name))
	})
	return v, err
}

var (
	refIntSyntax    = regexp.MustCompile(`^[+-]?[0-9]+$`)
	refDoubleSyntax = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$`)
	refBase64Syntax = regexp.MustCompile(`^[A-Za-z0-9+/]*(={0,2})$`)
)

// typed reads a type element whose start tag was just read.
func (p *refParser) typed(name xml.Name) (any, error) {
	switch {
	case refIsPlain(name, "array"):
		return p.array()
	case refIsPlain(name, "struct"):
		return p.structure()
	}
	// Scalar types may carry any prefix; array and struct may not.
	switch name.Local {
	case "string", "int", "i4", "i8", "i1", "i2", "boolean", "double", "dateTime.iso8601", "base64", "nil":
	default:
		return nil, refInvalidf("unknown type element <%s>", refNameString(name))
	}
	raw, err := p.leaf()
	if err != nil {
		return nil, err
	}
	text := bytes.Trim(raw, refSpace)
	switch name.Local {
	case "string":
		return string(raw), nil
	case "int", "i4", "i8", "i1", "i2":
		if n, ok := refParseInt(text); ok {
			return n, nil
		}
	case "boolean":
		switch string(text) {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
	case "double":
		if f, ok := refParseDouble(text); ok {
			return f, nil
		}
	case "dateTime.iso8601":
		if t, _, ok := refParseDateTime(string(raw), time.UTC); ok {
			return t, nil
		}
	case "base64":
		if b, ok := refParseBase64(raw); ok {
			return b, nil
		}
	case "nil":
		if len(text) == 0 {
			return nil, nil
		}
	}
	return nil, refInvalidf("invalid <%s> %q", refNameString(name), raw)
}

func refParseInt(text []byte) (int64, bool) {
	if !refIntSyntax.Match(text) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(text), 10, 64)
	return n, err == nil
}

func refParseDouble(text []byte) (float64, bool) {
	if !refDoubleSyntax.Match(text) {
		return 0, false
	}
	f, _ := strconv.ParseFloat(string(text), 64) // the syntax is checked; only overflow remains
	return f, !math.IsInf(f, 0) && !math.IsNaN(f)
}

// refParseBase64 accepts the standard alphabet with XML whitespace anywhere
// and optional (but then complete) padding.
func refParseBase64(raw []byte) ([]byte, bool) {
	clean := bytes.Map(func(r rune) rune {
		if r < 0x80 && refIsSpaceByte(byte(r)) {
			return -1
		}
		return r
	}, raw)
	m := refBase64Syntax.FindSubmatch(clean)
	if m == nil {
		return nil, false
	}
	pad := len(m[1])
	core := clean[:len(clean)-pad]
	if len(core)%4 == 1 || pad > 0 && (len(core)+pad)%4 != 0 {
		return nil, false
	}
	b, err := base64.RawStdEncoding.DecodeString(string(core))
	if err != nil {
		return nil, false
	}
	if b == nil {
		b = []byte{}
	}
	return b, true
}

// refDateTimeSyntax is §3.3 of the spec: either date form, T, either time
// form, an optional fraction and an optional zone.
var refDateTimeSyntax = regexp.MustCompile(`^(?:(\d{4})(\d\d)(\d\d)|(\d{4})-(\d\d)-(\d\d))T` +
	`(?:(\d\d)(\d\d)(\d\d)|(\d\d):(\d\d):(\d\d))(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$`)

// refParseDateTime parses a dateTime.iso8601 text (untrimmed, as on the
// wire). It returns the time, whether the text had a zone, and whether it
// was accepted. Text without a zone is read in loc.
func refParseDateTime(s string, loc *time.Location) (time.Time, bool, bool) {
	m := refDateTimeSyntax.FindStringSubmatch(strings.Trim(s, refSpace))
	if m == nil {
		return time.Time{}, false, false
	}
	// Of each pair of alternatives exactly one matched; join them.
	field := func(a, b int) int {
		n, _ := strconv.Atoi(m[a] + m[b])
		return n
	}
	year, month, day := field(1, 4), field(2, 5), field(3, 6)
	hour, minute, second := field(7, 10), field(8, 11), field(9, 12)
	lastDay := time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if month < 1 || month > 12 || day < 1 || day > lastDay || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false, false
	}
	nsec := 0
	if frac := m[13]; frac != "" {
		frac = (frac + "000000000")[:9]
		nsec, _ = strconv.Atoi(frac)
	}
	hasZone := m[14] != ""
	if hasZone && m[14] != "Z" {
		zone := strings.ReplaceAll(m[14][1:], ":", "")
		zh, _ := strconv.Atoi(zone[:2])
		zm, _ := strconv.Atoi(zone[2:])
		if zh > 23 || zm > 59 {
			return time.Time{}, false, false
		}
		offset := zh*3600 + zm*60
		if m[14][0] == '-' {
			offset = -offset
		}
		loc = time.FixedZone("", offset)
	} else if hasZone {
		loc = time.UTC
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, nsec, loc)
	// Every decoded value must re-encode, and the encoder writes years
	// 0000-9999 of the instant in UTC by default.
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return time.Time{}, false, false
	}
	return t, hasZone, true
}

func (p *refParser) enter() error {
	p.depth++
	if p.depth > DefaultMaxDepth {
		return &LimitError{Limit: LimitDepth, Max: DefaultMaxDepth}
	}
	return nil
}

// array reads the content of <array>: nothing, or one <data> of <value>s.
func (p *refParser) array() ([]any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	out := []any{}
	sawData := false
	err := p.children(func(name xml.Name) error {
		if !refIsPlain(name, "data") || sawData {
			return refInvalidf("<%s> in <array>", refNameString(name))
		}
		sawData = true
		return p.children(func(name xml.Name) error {
			if !refIsPlain(name, "value") {
				return refInvalidf("<%s> in <data>", refNameString(name))
			}
			v, err := p.value()
			out = append(out, v)
			return err
		})
	})
	return out, err
}

// structure reads the content of <struct>: <member>s, each with one <name>
// and one <value> in either order. A later member replaces an earlier one.
func (p *refParser) structure() (map[string]any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	out := map[string]any{}
	err := p.children(func(name xml.Name) error {
		if !refIsPlain(name, "member") {
			return refInvalidf("<%s> in <struct>", refNameString(name))
		}
		var key string
		var v any
		haveKey, haveValue := false, false
		err := p.children(func(name xml.Name) error {
			switch {
			case refIsPlain(name, "name") && !haveKey:
				text, err := p.leaf()
				key, haveKey = string(text), true
				return err
			case refIsPlain(name, "value") && !haveValue:
				var err error
				v, err = p.value()
				haveValue = true
				return err
			}
			return refInvalidf("<%s> in <member>", refNameString(name))
		})
		if err != nil {
			return err
		}
		if !haveKey || !haveValue {
			return refInvalidf("<member> needs a <name> and a <value>")
		}
		out[key] = v
		return nil
	})
	return out, err
}

// fault reads the content of <fault>: one <value> holding a struct, or
// (leniently) the <struct> itself.
func (p *refParser) fault() (*Fault, error) {
	var v any
	n := 0
	err := p.children(func(name xml.Name) error {
		n++
		if n > 1 {
			return refInvalidf("<fault> has more than one child")
		}
		var err error
		switch {
		case refIsPlain(name, "value"):
			v, err = p.value()
		case refIsPlain(name, "struct"):
			v, err = p.structure()
		default:
			err = refInvalidf("<%s> in <fault>", refNameString(name))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if n == 0 || !ok {
		return nil, refInvalidf("fault without a struct")
	}
	return refFault(m)
}

// refFault applies §2.3 to the decoded fault struct.
func refFault(m map[string]any) (*Fault, error) {
	f := &Fault{}
	if s, ok := m["faultString"]; ok {
		str, isString := s.(string)
		if !isString {
			return nil, refInvalidf("malformed fault: faultString is %T", s)
		}
		f.String = str
	}
	malformed := func(why string) error {
		return refInvalidf("malformed fault: %s (faultString %q)", why, f.String)
	}
	var code int64
	switch c := m["faultCode"].(type) {
	case int64:
		code = c
	case string:
		n, ok := refParseInt(bytes.Trim([]byte(c), refSpace))
		if !ok {
			return nil, malformed("faultCode is not a number")
		}
		code = n
	case nil:
		return nil, malformed("faultCode is missing or nil")
	default:
		return nil, malformed(fmt.Sprintf("faultCode is %T", c))
	}
	if code < math.MinInt32 || code > math.MaxInt32 {
		return nil, malformed("faultCode outside 32 bits")
	}
	f.Code = int(code)
	return f, nil
}

// ---- Tests of the reference itself ----

// refCase is one document with the outcome the spec requires.
type refCase struct {
	name  string
	doc   string
	call  bool   // a methodCall (else a methodResponse)
	want  any    // the result, or for a call []any{method, params...}
	fault *Fault // a fault response
	err   string // "" for success; "invalid", "syntax" or "limit" otherwise
}

// refResponse wraps the content of the <value> of a one-param response.
func refResponse(value string) string {
	return `<?xml version="1.0"?><methodResponse><params><param><value>` + value +
		`</value></param></params></methodResponse>`
}

func refFaultDoc(members string) string {
	return `<methodResponse><fault><value><struct>` + members + `</struct></value></fault></methodResponse>`
}

func refMember(name, value string) string {
	return `<member><name>` + name + `</name><value>` + value + `</value></member>`
}

func refNested(depth int) string {
	return strings.Repeat("<array><data><value>", depth-1) + "<array/>" + strings.Repeat("</value></data></array>", depth-1)
}

func refDate(y int, mo time.Month, d, h, mi, s, ns int, loc *time.Location) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, loc)
}

// refV5Project and refV5CPython are validator1 manyTypesTest as this
// project and CPython emit it (spec §8).
const refV5Project = `<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>validator1.manyTypesTest</methodName><params>` +
	`<param><value><int>-42</int></value></param>` +
	`<param><value><boolean>1</boolean></value></param>` +
	`<param><value><string>x&lt;y&amp;z</string></value></param>` +
	`<param><value><double>-12.214</double></value></param>` +
	`<param><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></param>` +
	`<param><value><base64>eW91IGNhbid0IHJlYWQgdGhpcyE=</base64></value></param>` +
	`</params></methodCall>`

const refV5CPython = `<?xml version='1.0'?>
<methodCall>
<methodName>validator1.manyTypesTest</methodName>
<params>
<param>
<value><int>-42</int></value>
</param>
<param>
<value><boolean>1</boolean></value>
</param>
<param>
<value><string>x&lt;y&amp;z</string></value>
</param>
<param>
<value><double>-12.214</double></value>
</param>
<param>
<value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>
</param>
<param>
<value><base64>
eW91IGNhbid0IHJlYWQgdGhpcyE=
</base64></value>
</param>
</params>
</methodCall>
`

var refV5Want = []any{"validator1.manyTypesTest", int64(-42), true, "x<y&z", -12.214,
	refDate(1998, 7, 17, 14, 8, 55, 0, time.UTC), []byte("you can't read this!")}

func refCases() []refCase {
	plus2 := time.FixedZone("", 2*3600)
	hello := []byte("hello")
	return []refCase{
		// Spec §9, in order.
		{name: "9.1 untyped", doc: refResponse(`abc`), want: "abc"},
		{name: "9.2 untyped untrimmed", doc: refResponse("  a b  "), want: "  a b  "},
		{name: "9.3 empty value", doc: refResponse(``), want: ""},
		{name: "9.3 self-closing value", doc: `<methodResponse><params><param><value/></param></params></methodResponse>`, want: ""},
		{name: "9.3 empty string", doc: refResponse(`<string/>`), want: ""},
		{name: "9.4 padded string", doc: refResponse(`<string>  padded  </string>`), want: "  padded  "},
		{name: "9.5 whitespace around type", doc: refResponse("\n   <i4>5</i4>\n   "), want: int64(5)},
		{name: "9.6 int trimmed", doc: refResponse(`<int> 42 </int>`), want: int64(42)},
		{name: "9.7 int plus", doc: refResponse(`<int>+42</int>`), want: int64(42)},
		{name: "9.7 int zeros", doc: refResponse(`<int>007</int>`), want: int64(7)},
		{name: "9.8 int beyond 32 bits", doc: refResponse(`<int>2147483648</int>`), want: int64(2147483648)},
		{name: "9.9 int empty", doc: refResponse(`<int></int>`), err: "invalid"},
		{name: "9.9 int junk", doc: refResponse(`<int>12x</int>`), err: "invalid"},
		{name: "9.9 int fraction", doc: refResponse(`<int>1.0</int>`), err: "invalid"},
		{name: "9.10 int underscore", doc: refResponse(`<int>1_000</int>`), err: "invalid"},
		{name: "9.11 i8 max", doc: refResponse(`<i8>9223372036854775807</i8>`), want: int64(math.MaxInt64)},
		{name: "9.11 i8 min", doc: refResponse(`<i8>-9223372036854775808</i8>`), want: int64(math.MinInt64)},
		{name: "9.12 i8 range", doc: refResponse(`<i8>9223372036854775808</i8>`), err: "invalid"},
		{name: "9.13 ex:i8", doc: refResponse(`<ex:i8 xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">5</ex:i8>`), want: int64(5)},
		{name: "9.14 nil", doc: refResponse(`<nil/>`), want: nil},
		{name: "9.14 ex:nil", doc: refResponse(`<ex:nil/>`), want: nil},
		{name: "9.15 boolean true", doc: refResponse(`<boolean>true</boolean>`), err: "invalid"},
		{name: "9.15 boolean empty", doc: refResponse(`<boolean></boolean>`), err: "invalid"},
		{name: "9.16 boolean trimmed", doc: refResponse(`<boolean> 1 </boolean>`), want: true},
		{name: "9.17 double exponent", doc: refResponse(`<double>1e10</double>`), want: 1e10},
		{name: "9.18 double dot", doc: refResponse(`<double>.5</double>`), want: 0.5},
		{name: "9.19 NaN", doc: refResponse(`<double>NaN</double>`), err: "invalid"},
		{name: "9.19 inf", doc: refResponse(`<double>inf</double>`), err: "invalid"},
		{name: "9.19 -Infinity", doc: refResponse(`<double>-Infinity</double>`), err: "invalid"},
		{name: "9.20 comma", doc: refResponse(`<double>1,5</double>`), err: "invalid"},
		{name: "9.20 empty double", doc: refResponse(`<double></double>`), err: "invalid"},
		{name: "9.21 overflow", doc: refResponse(`<double>1.7976931348623157e309</double>`), err: "invalid"},
		{name: "9.22 dateTime", doc: refResponse(`<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>`), want: refDate(1998, 7, 17, 14, 8, 55, 0, time.UTC)},
		{name: "9.23 dateTime dashes", doc: refResponse(`<dateTime.iso8601>1998-07-17T14:08:55</dateTime.iso8601>`), want: refDate(1998, 7, 17, 14, 8, 55, 0, time.UTC)},
		{name: "9.24 dateTime Z", doc: refResponse(`<dateTime.iso8601>19980717T14:08:55Z</dateTime.iso8601>`), want: refDate(1998, 7, 17, 14, 8, 55, 0, time.UTC)},
		{name: "9.25 dateTime +02:00", doc: refResponse(`<dateTime.iso8601>1998-07-17T14:08:55+02:00</dateTime.iso8601>`), want: refDate(1998, 7, 17, 14, 8, 55, 0, plus2)},
		{name: "9.25 dateTime +0200", doc: refResponse(`<dateTime.iso8601>1998-07-17T14:08:55+0200</dateTime.iso8601>`), want: refDate(1998, 7, 17, 14, 8, 55, 0, plus2)},
		{name: "9.26 dateTime compact time", doc: refResponse(`<dateTime.iso8601>19980717T140855</dateTime.iso8601>`), want: refDate(1998, 7, 17, 14, 8, 55, 0, time.UTC)},
		{name: "9.27 dateTime fraction", doc: refResponse(`<dateTime.iso8601>19980717T14:08:55.123</dateTime.iso8601>`), want: refDate(1998, 7, 17, 14, 8, 55, 123e6, time.UTC)},
		{name: "9.28 dateTime hello", doc: refResponse(`<dateTime.iso8601>hello</dateTime.iso8601>`), err: "invalid"},
		{name: "9.28 dateTime empty", doc: refResponse(`<dateTime.iso8601></dateTime.iso8601>`), err: "invalid"},
		{name: "9.28 dateTime Feb 30", doc: refResponse(`<dateTime.iso8601>19980230T00:00:00</dateTime.iso8601>`), err: "invalid"},
		{name: "9.29 base64", doc: refResponse(`<base64>aGVsbG8=</base64>`), want: hello},
		{name: "9.30 base64 lines", doc: refResponse("<base64>\naGVs\nbG8=\n</base64>"), want: hello},
		{name: "9.31 base64 unpadded", doc: refResponse(`<base64>aGVsbG8</base64>`), want: hello},
		{name: "9.32 base64 junk", doc: refResponse(`<base64>a$GVsbG8=</base64>`), err: "invalid"},
		{name: "9.33 duplicate member", doc: refResponse(`<struct>` + refMember("a", "<int>1</int>") + refMember("a", "<int>2</int>") + `</struct>`), want: map[string]any{"a": int64(2)}},
		{name: "9.34 empty struct", doc: refResponse(`<struct></struct>`), want: map[string]any{}},
		{name: "9.35 empty data", doc: refResponse(`<array><data/></array>`), want: []any{}},
		{name: "9.35 empty array", doc: refResponse(`<array></array>`), want: []any{}},
		{name: "9.36 member without name", doc: refResponse(`<struct><member><value>1</value></member></struct>`), err: "invalid"},
		{name: "9.37 comment in string", doc: refResponse(`<string>ab<!-- c -->cd</string>`), want: "abcd"},
		{name: "9.38 CDATA in string", doc: refResponse(`<string>x<![CDATA[<y>]]>z</string>`), want: "x<y>z"},
		{name: "9.39 entities", doc: refResponse(`&lt;&amp;&gt;&quot;&apos;&#65;&#x42;`), want: `<&>"'AB`},
		{name: "9.40 nbsp", doc: refResponse(`&nbsp;`), err: "syntax"},
		{name: "9.41 line ends", doc: refResponse("a\r\nb&#13;c"), want: "a\nb\rc"},
		{name: "9.41 lone CR", doc: refResponse("a\rb"), want: "a\nb"},
		{name: "9.42 text before type", doc: refResponse(`abc<string>x</string>`), err: "invalid"},
		{name: "9.43 unknown type", doc: refResponse(`<foo>1</foo>`), err: "invalid"},
		{name: "9.43 ex:serializable", doc: refResponse(`<ex:serializable>rO0=</ex:serializable>`), err: "invalid"},
		{name: "9.44 string faultCode", doc: refFaultDoc(refMember("faultCode", "<string>4</string>") + refMember("faultString", "<string>four</string>") + refMember("extra", "<int>1</int>")), fault: &Fault{Code: 4, String: "four"}},
		{name: "9.45 params and fault", doc: `<methodResponse><params><param><value>1</value></param></params><fault><value><struct>` + refMember("faultCode", "<int>1</int>") + `</struct></value></fault></methodResponse>`, err: "invalid"},
		{name: "9.46 two params", doc: `<methodResponse><params><param><value>1</value></param><param><value>2</value></param></params></methodResponse>`, err: "invalid"},
		{name: "9.46 empty params", doc: `<methodResponse><params/></methodResponse>`, err: "invalid"},
		{name: "9.47 call as response", doc: `<methodCall><methodName>x</methodName></methodCall>`, err: "invalid"},
		{name: "9.47 response as call", call: true, doc: refResponse("1"), err: "invalid"},
		{name: "9.48 truncated", doc: refResponse("abc")[:60], err: "syntax"},
		{name: "9.49 latin-1", doc: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" + refResponse("caf\xe9")[21:], want: "café"},
		{name: "9.49 windows-1252", doc: "<?xml version=\"1.0\" encoding=\"windows-1252\"?>" + refResponse("\x80\x81\x9f")[21:], want: "€\u0081Ÿ"},
		{name: "9.50 latin-1 undeclared", doc: refResponse("caf\xe9"), err: "syntax"},
		{name: "9.51 internal entity", doc: `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "hello">]><methodResponse><params><param><value>&e;&e;</value></param></params></methodResponse>`, err: "syntax"},
		{name: "9.51 billion laughs", doc: `<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>` + refResponse("&b;")[21:], err: "syntax"},
		{name: "9.51 external entity", doc: `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + refResponse("&x;")[21:], err: "syntax"},
		{name: "9.52 deep nesting", doc: refResponse(refNested(100000)), err: "limit"},
		{name: "9.53 fault without value", doc: `<methodResponse><fault><struct>` + refMember("faultCode", "<int>-32601</int>") + refMember("faultString", "nope") + `</struct></fault></methodResponse>`, fault: &Fault{Code: -32601, String: "nope"}},

		// validator1 V5 in both forms.
		{name: "V5 project form", call: true, doc: refV5Project, want: refV5Want},
		{name: "V5 CPython form", call: true, doc: refV5CPython, want: refV5Want},

		// Document level (§1).
		{name: "BOM", doc: "\xef\xbb\xbf" + refResponse("x"), want: "x"},
		{name: "UTF-16 BOM", doc: "\xff\xfe<\x00m\x00", err: "syntax"},
		{name: "no declaration", doc: `<methodResponse><params><param><value>x</value></param></params></methodResponse>`, want: "x"},
		{name: "version 1.1", doc: `<?xml version="1.1"?>` + refResponse("x")[21:], err: "syntax"},
		{name: "standalone", doc: `<?xml version="1.0" encoding="utf8" standalone='yes' ?>` + refResponse("x")[21:], want: "x"},
		{name: "unknown pseudo-attribute", doc: `<?xml version="1.0" foo="bar"?>` + refResponse("x")[21:], err: "syntax"},
		{name: "unknown encoding", doc: `<?xml version="1.0" encoding="EBCDIC"?>` + refResponse("x")[21:], err: "syntax"},
		{name: "US-ASCII high byte", doc: `<?xml version="1.0" encoding="US-ASCII"?>` + refResponse("\xe9")[21:], err: "syntax"},
		{name: "late declaration", doc: refResponse("x") + `<?xml version="1.0"?>`, err: "syntax"},
		{name: "declaration after space", doc: " " + refResponse("x"), err: "syntax"},
		{name: "uppercase XML PI", doc: `<?XML version="1.0"?>` + refResponse("x")[21:], err: "syntax"},
		{name: "PI and comments", doc: `<?xml version="1.0"?><!-- c --><?pi data?>` + refResponse("a<?pi?>b")[21:] + "<!-- e --><?pi?>\n", want: "ab"},
		{name: "PI without space", doc: refResponse("a<?pi$x?>b"), err: "syntax"},
		{name: "char ref 0", doc: refResponse("&#0;"), err: "syntax"},
		{name: "char ref surrogate", doc: refResponse("&#xD800;"), err: "syntax"},
		{name: "char ref FFFE", doc: refResponse("&#xFFFE;"), err: "syntax"},
		{name: "char ref out of range", doc: refResponse("&#x110000;"), err: "syntax"},
		{name: "char ref leading zeros", doc: refResponse("&#0000000000000065;&#x00000000000041;"), want: "AA"},
		{name: "char ref in attribute", doc: refResponse(`<string a="&#xD800;">x</string>`), err: "syntax"},
		{name: "raw control", doc: refResponse("a\x01b"), err: "syntax"},
		{name: "raw FFFF", doc: refResponse("a\uffffb"), err: "syntax"},
		{name: "astral char", doc: refResponse("😀&#x1F600;"), want: "😀😀"},
		{name: "CDATA in untyped with comment", doc: refResponse("a<![CDATA[]]>b<!---->c<![CDATA[<!--x-->]]>"), want: "abc<!--x-->"},
		{name: "CDATA whitespace between elements", doc: `<methodResponse><![CDATA[ ]]><params><param><value>x</value></param></params></methodResponse>`, want: "x"},
		{name: "text between elements", doc: `<methodResponse>x<params><param><value>x</value></param></params></methodResponse>`, err: "invalid"},
		{name: "text before root", doc: "x" + refResponse("x")[21:], err: "syntax"},
		{name: "text after root", doc: refResponse("x") + "x", err: "syntax"},
		{name: "CDATA before root", doc: "<![CDATA[ ]]>" + refResponse("x")[21:], err: "syntax"},
		{name: "second root", doc: refResponse("x") + "<methodResponse/>", err: "syntax"},
		{name: "mismatched end tag", doc: refResponse("<string>x</int>"), err: "syntax"},
		{name: "mismatched prefix", doc: refResponse("<a:int>1</b:int>"), err: "syntax"},
		{name: "prefixed array", doc: refResponse("<ex:array><data></data></ex:array>"), err: "invalid"},
		{name: "prefixed array closed unprefixed", doc: refResponse("<ex:array><data></data></array>"), err: "invalid"},
		{name: "prefixed struct", doc: refResponse("<ex:struct/>"), err: "invalid"},
		{name: "prefixed value", doc: `<methodResponse><params><param><ex:value>1</ex:value></param></params></methodResponse>`, err: "invalid"},
		{name: "name with two colons", doc: refResponse("<a:b:int>1</a:b:int>"), err: "syntax"},
		{name: "attributes ignored", doc: `<methodResponse a="1" b:c:d='&lt;>' é="x"><params><param><value xmlns="x"><string q=">">v</string></value></param></params></methodResponse>`, want: "v"},
		{name: "attributes unseparated", doc: refResponse(`<string a="1"b="2">v</string>`), err: "syntax"},
		{name: "attribute without value", doc: refResponse(`<string a>v</string>`), err: "syntax"},
		{name: "non-ASCII prefix", doc: refResponse(`<é·:int>1</é·:int>`), want: int64(1)},
		{name: "non-ASCII prefix mismatch", doc: refResponse(`<é:int>1</_xe9x:int>`), err: "syntax"},
		{name: "]]> in text", doc: refResponse(`a]]>b`), want: "a]]>b"},
		{name: "-- in comment", doc: refResponse(`a<!-- x -- y -->b`), err: "syntax"},
		{name: "unknown markup", doc: refResponse(`<!ELEMENT x>`), err: "syntax"},

		// Messages (§2).
		{name: "call", call: true, doc: `<methodCall><methodName> a.b </methodName><params><param><value><i4>1</i4></value></param><param><value>s</value></param></params></methodCall>`, want: []any{"a.b", int64(1), "s"}},
		{name: "call without params", call: true, doc: `<methodCall><methodName>m</methodName></methodCall>`, want: []any{"m"}},
		{name: "call empty params", call: true, doc: `<methodCall><methodName>m</methodName><params/></methodCall>`, want: []any{"m"}},
		{name: "call odd name", call: true, doc: `<methodCall><methodName>a&lt;b c</methodName></methodCall>`, want: []any{"a<b c"}},
		{name: "call empty name", call: true, doc: `<methodCall><methodName> </methodName></methodCall>`, err: "invalid"},
		{name: "call long name", call: true, doc: `<methodCall><methodName>` + strings.Repeat("m", 257) + `</methodName></methodCall>`, err: "limit"},
		{name: "call name 256", call: true, doc: `<methodCall><methodName>` + strings.Repeat("m", 256) + `</methodName></methodCall>`, want: []any{strings.Repeat("m", 256)}},
		{name: "call no name", call: true, doc: `<methodCall><params/></methodCall>`, err: "invalid"},
		{name: "call two names", call: true, doc: `<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>`, err: "invalid"},
		{name: "call two params elements", call: true, doc: `<methodCall><methodName>a</methodName><params/><params/></methodCall>`, err: "invalid"},
		{name: "call param with two values", call: true, doc: `<methodCall><methodName>a</methodName><params><param><value>1</value><value>2</value></param></params></methodCall>`, err: "invalid"},
		{name: "call empty param", call: true, doc: `<methodCall><methodName>a</methodName><params><param/></params></methodCall>`, err: "invalid"},
		{name: "fault in value", doc: refFaultDoc(refMember("faultCode", "<i4>-1</i4>") + refMember("faultString", "<string>bad &amp; worse</string>")), fault: &Fault{Code: -1, String: "bad & worse"}},
		{name: "fault untyped code", doc: refFaultDoc(refMember("faultCode", " +7 ")), fault: &Fault{Code: 7}},
		{name: "fault code beyond 32 bits", doc: refFaultDoc(refMember("faultCode", "<i8>2147483648</i8>")), err: "invalid"},
		{name: "fault code missing", doc: refFaultDoc(refMember("faultString", "x")), err: "invalid"},
		{name: "fault code double", doc: refFaultDoc(refMember("faultCode", "<double>1.0</double>")), err: "invalid"},
		{name: "fault string int", doc: refFaultDoc(refMember("faultCode", "<int>1</int>") + refMember("faultString", "<int>1</int>")), err: "invalid"},
		{name: "fault not struct", doc: `<methodResponse><fault><value><int>1</int></value></fault></methodResponse>`, err: "invalid"},
		{name: "fault empty", doc: `<methodResponse><fault></fault></methodResponse>`, err: "invalid"},
		{name: "fault text in string", doc: refResponse(`<string>&lt;fault&gt;<![CDATA[<fault>]]></string>`), want: "<fault><fault>"},

		// Values (§3).
		{name: "i1 and i2", doc: refResponse(`<array><data><value><i1>1</i1></value><value><x:i2>-2</x:i2></value></data></array>`), want: []any{int64(1), int64(-2)}},
		{name: "string with element", doc: refResponse(`<string>a<b/>c</string>`), err: "invalid"},
		{name: "two type elements", doc: refResponse(`<int>1</int><int>2</int>`), err: "invalid"},
		{name: "text after type", doc: refResponse(`<int>1</int>x`), err: "invalid"},
		{name: "nil with space", doc: refResponse(`<nil> </nil>`), want: nil},
		{name: "nil with content", doc: refResponse(`<nil>0</nil>`), err: "invalid"},
		{name: "double forms", doc: refResponse(`<array><data><value><double>-0</double></value><value><double>1.</double></value><value><double>+1E-2</double></value><value><double>1e-400</double></value></data></array>`), want: []any{math.Copysign(0, -1), 1.0, 0.01, 0.0}},
		{name: "double hex", doc: refResponse(`<double>0x1p3</double>`), err: "invalid"},
		{name: "base64 bad padding", doc: refResponse(`<base64>QQ=</base64>`), err: "invalid"},
		{name: "base64 impossible length", doc: refResponse(`<base64>QUJDR</base64>`), err: "invalid"},
		{name: "base64 URL-safe", doc: refResponse(`<base64>-_8=</base64>`), err: "invalid"},
		{name: "base64 empty", doc: refResponse(`<base64/>`), want: []byte{}},
		{name: "member value first", doc: refResponse(`<struct><member><value><int>1</int></value><name>a</name></member></struct>`), want: map[string]any{"a": int64(1)}},
		{name: "member empty name", doc: refResponse(`<struct><member><name/><value/></member></struct>`), want: map[string]any{"": ""}},
		{name: "member two values", doc: refResponse(`<struct><member><name>a</name><value>1</value><value>2</value></member></struct>`), err: "invalid"},
		{name: "array two data", doc: refResponse(`<array><data/><data/></array>`), err: "invalid"},
		{name: "data with text", doc: refResponse(`<array><data>x</data></array>`), err: "invalid"},
		{name: "dateTime lowercase t", doc: refResponse(`<dateTime.iso8601>19980717t14:08:55</dateTime.iso8601>`), err: "invalid"},
		{name: "dateTime space", doc: refResponse(`<dateTime.iso8601>19980717 14:08:55</dateTime.iso8601>`), err: "invalid"},
		{name: "dateTime mixed date", doc: refResponse(`<dateTime.iso8601>1998-0717T14:08:55</dateTime.iso8601>`), err: "invalid"},
		{name: "dateTime leap day", doc: refResponse(`<dateTime.iso8601> 20000229T23:59:59-0130 </dateTime.iso8601>`), want: refDate(2000, 2, 29, 23, 59, 59, 0, time.FixedZone("", -5400))},
		{name: "dateTime nanoseconds", doc: refResponse(`<dateTime.iso8601>19980717T14:08:55.1234567891Z</dateTime.iso8601>`), want: refDate(1998, 7, 17, 14, 8, 55, 123456789, time.UTC)},
		{name: "dateTime before year 0 in UTC", doc: refResponse(`<dateTime.iso8601>00000101T00:00:00+01:00</dateTime.iso8601>`), err: "invalid"},
		{name: "dateTime after 9999 in UTC", doc: refResponse(`<dateTime.iso8601>99991231T23:00:00-01:00</dateTime.iso8601>`), err: "invalid"},

		// Limits (§4).
		{name: "depth 128", doc: refResponse(refNested(128)), want: refNestedValue(128)},
		{name: "depth 129", doc: refResponse(refNested(129)), err: "limit"},
	}
}

func refNestedValue(depth int) any {
	var v any = []any{}
	for range depth - 1 {
		v = []any{v}
	}
	return v
}

// refOutcome checks err against the wanted kind of failure.
func refCheckErr(t *testing.T, err error, want string) {
	t.Helper()
	var le *LimitError
	var re *refError
	var de *DecodeError
	switch {
	case err == nil:
		t.Fatalf("have success, want %s error", want)
	case want == "limit":
		if !errors.As(err, &le) {
			t.Fatalf("have %v, want a limit error", err)
		}
	case errors.As(err, &re):
		if re.syntax != (want == "syntax") {
			t.Fatalf("have %v (syntax %v), want a %s error", err, re.syntax, want)
		}
	case errors.As(err, &de):
		if de.Syntax != (want == "syntax") {
			t.Fatalf("have %v (syntax %v), want a %s error", err, de.Syntax, want)
		}
	default:
		t.Fatalf("have %v (%T), want a %s error", err, err, want)
	}
}

func TestReferenceDecoder(t *testing.T) {
	for _, c := range refCases() {
		t.Run(c.name, func(t *testing.T) {
			refCheck(t, c, func(data []byte) (any, *Fault, error) {
				if c.call {
					m, params, err := refDecodeCall(data)
					return append([]any{m}, params...), nil, err
				}
				return refDecodeResponse(data)
			})
		})
	}
}

// TestReferenceCasesFast runs the same table through the fast decoder, so
// the two are held to the same outcomes (only the kind of error may differ).
func TestReferenceCasesFast(t *testing.T) {
	for _, c := range refCases() {
		t.Run(c.name, func(t *testing.T) {
			refCheck(t, c, func(data []byte) (any, *Fault, error) {
				if c.call {
					m, params, err := DecodeCall(bytes.NewReader(data))
					return append([]any{m}, params...), nil, err
				}
				var v any
				err := DecodeResponse(bytes.NewReader(data), &v)
				var f *Fault
				if errors.As(err, &f) {
					return nil, f, nil
				}
				return v, nil, err
			})
		})
	}
}

func refCheck(t *testing.T, c refCase, decode func([]byte) (any, *Fault, error)) {
	t.Helper()
	have, fault, err := decode([]byte(c.doc))
	switch {
	case c.err != "":
		refCheckErr(t, err, c.err)
	case err != nil:
		t.Fatalf("have error %v, want success", err)
	case c.fault != nil:
		if fault == nil || *fault != *c.fault {
			t.Fatalf("have fault %v (result %#v), want %v", fault, have, c.fault)
		}
	case fault != nil:
		t.Fatalf("have fault %v, want %#v", fault, c.want)
	case !equalValues(have, c.want):
		t.Fatalf("have %#v, want %#v", have, c.want)
	}
}

// TestReferencePayload decodes the 100-vessel get_resource_info response
// with both decoders.
func TestReferencePayload(t *testing.T) {
	data := refReadPayload(t)
	have, fault, err := refDecodeResponse(data)
	if err != nil || fault != nil {
		t.Fatalf("reference: %v %v", fault, err)
	}
	vessels, ok := have.([]any)
	if !ok || len(vessels) != 100 {
		t.Fatalf("have %T of %d, want 100 vessels", have, len(vessels))
	}
	for i, v := range vessels {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 7 {
			t.Fatalf("vessel %d: have %#v, want a struct of 7 members", i, v)
		}
		if _, ok := m["node_port"].(int64); !ok {
			t.Fatalf("vessel %d: node_port is %T, want int64", i, m["node_port"])
		}
		if _, ok := m["is_active"].(bool); !ok {
			t.Fatalf("vessel %d: is_active is %T, want bool", i, m["is_active"])
		}
		if s, ok := m["handle"].(string); !ok || !strings.HasPrefix(s, "65537 ") {
			t.Fatalf("vessel %d: handle is %#v", i, m["handle"])
		}
	}
	var fast any
	if err := DecodeResponse(bytes.NewReader(data), &fast); err != nil {
		t.Fatal(err)
	}
	if !equalValues(have, fast) {
		t.Fatal("the fast decoder and the reference disagree on the payload")
	}
}

func refReadPayload(tb testing.TB) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "resource_info_100.xml"))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkDecodeReference100 is the encoding/xml baseline for
// BenchmarkDecodeAny100: the same payload into the canonical values.
func BenchmarkDecodeReference100(b *testing.B) {
	data := refReadPayload(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := refDecodeResponse(data); err != nil {
			b.Fatal(err)
		}
	}
}
