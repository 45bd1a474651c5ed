package xmlrpc

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"sync"
	"time"
)

// A Decoder reads XML-RPC messages from an input stream. Each Decode
// method reads the whole stream, up to the body size limit, and decodes
// one message from it. A stream that is not already in memory (anything
// but a *bytes.Reader, *bytes.Buffer or other reader with a Len method)
// is parsed as it arrives; the message is accepted only once all of the
// stream was read and checked, and every error is the one reading it
// whole first would give.
type Decoder struct {
	r        io.Reader
	limits   Limits
	loc      *time.Location
	sizeHint int64 // the body's announced length, if known; see newSource
}

// NewDecoder returns a decoder that reads from r with the default limits,
// reading zone-less dateTime values in UTC.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, limits: Limits{}.withDefaults(), loc: time.UTC}
}

// SetLimits replaces the decoder's limits; zero and negative fields take
// their defaults (SetLimits cannot fail, unlike WithLimits).
func (d *Decoder) SetLimits(l Limits) { d.limits = l.withDefaults() }

// SetLocation sets the location in which dateTime values without a zone
// are read. A nil location means UTC.
func (d *Decoder) SetLocation(loc *time.Location) {
	if loc == nil {
		loc = time.UTC
	}
	d.loc = loc
}

// DecodeCall decodes a <methodCall>. Parameters are decoded into the
// canonical Go types listed in the package documentation; use Unmarshal or
// UnmarshalParams to convert them into typed values.
func (d *Decoder) DecodeCall() (method string, params []any, err error) {
	err = d.withDocument(func(p *parser) error {
		method, params, err = p.call()
		return err
	})
	return method, params, err
}

// DecodeResponse decodes a <methodResponse>. A fault response is returned
// as a *Fault error. Otherwise the single result is stored in the value
// result points to; a nil result only validates the document. As with
// encoding/json, an error may leave the result partly filled (how much
// of it may depend on how the stream arrived).
func (d *Decoder) DecodeResponse(result any) error {
	var target reflect.Value
	if result != nil {
		target = reflect.ValueOf(result)
		if target.Kind() != reflect.Pointer || target.IsNil() {
			return errors.New("xmlrpc: DecodeResponse needs a non-nil pointer, not " + target.Type().String())
		}
		target = target.Elem()
	}
	return d.withDocument(func(p *parser) error { return p.response(target) })
}

// DecodeCall decodes a <methodCall> from r with the default limits.
func DecodeCall(r io.Reader) (method string, params []any, err error) {
	return NewDecoder(r).DecodeCall()
}

// DecodeResponse decodes a <methodResponse> from r into result with the
// default limits. A fault response is returned as a *Fault.
func DecodeResponse(r io.Reader, result any) error {
	return NewDecoder(r).DecodeResponse(result)
}

var readBufPool = sync.Pool{New: func() any { return new([]byte) }}

// withDocument reads the input under the body limit into a pooled buffer,
// prepares it and runs fn on a parser over it. Nothing that fn returns may
// alias the buffer.
func (d *Decoder) withDocument(fn func(*parser) error) error {
	bp := readBufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4<<20 {
			readBufPool.Put(bp)
		}
	}()
	if doc, ok, err := d.inMemory(); ok {
		// Decoded where it lies, without a copy.
		if err != nil {
			return err
		}
		return d.parse(doc, fn)
	}
	if _, inMemory := knownLen(d.r); !inMemory {
		// A body that arrives over time is parsed while it arrives.
		src := newSource(d.r, (*bp)[:0], d.limits.MaxBodyBytes, d.sizeHint)
		err := d.stream(src, fn)
		*bp = src.raw
		return err
	}
	raw, err := readLimited(d.r, (*bp)[:0], d.limits.MaxBodyBytes, nil)
	*bp = raw
	if err != nil {
		return err
	}
	return d.parse(raw, fn)
}

// inMemory returns the unread bytes of the decoder's reader without
// copying them, when it is a *bytes.Reader or a *bytes.Buffer, and takes
// them from the reader. More than the body limit is a *LimitError, with
// nothing taken, as readLimited does. The decoder only reads the bytes
// (prepare copies a document it must change), and only while Decode runs.
func (d *Decoder) inMemory() ([]byte, bool, error) {
	switch r := d.r.(type) {
	case *bytes.Buffer:
		if int64(r.Len()) > d.limits.MaxBodyBytes {
			return nil, true, &LimitError{Limit: LimitBodySize, Max: d.limits.MaxBodyBytes}
		}
		return r.Next(r.Len()), true, nil
	case *bytes.Reader:
		if int64(r.Len()) > d.limits.MaxBodyBytes {
			return nil, true, &LimitError{Limit: LimitBodySize, Max: d.limits.MaxBodyBytes}
		}
		// WriteTo hands its unread bytes to one Write and moves past them.
		var w sliceTaker
		if _, err := r.WriteTo(&w); err != nil {
			return nil, true, err
		}
		return w.b, true, nil
	}
	return nil, false, nil
}

// sliceTaker keeps the slice given to Write, unlike a usual Writer: see
// inMemory. bytes.Reader.WriteTo writes once; were there more writes,
// the pieces would be joined in a copy.
type sliceTaker struct{ b []byte }

func (w *sliceTaker) Write(p []byte) (int, error) {
	if w.b == nil {
		w.b = p
	} else {
		w.b = append(append([]byte(nil), w.b...), p...)
	}
	return len(p), nil
}

// stream runs fn on a parser over the document from src as it arrives
// (see stream.go), and falls back to reading all of it and parsing it the
// general way whenever that fails before the whole document was seen.
func (d *Decoder) stream(src *source, fn func(*parser) error) error {
	if start, ok := src.start(); ok {
		p := d.newParser(src.visible(), start)
		p.src = src
		err := fn(p)
		p.release()
		if src.complete {
			return err // all of the document was seen: the general way would say the same
		}
	}
	raw, err := src.finish()
	if err != nil {
		return err
	}
	return d.parse(raw, fn)
}

// parse prepares raw, a whole document, and runs fn on a parser over it.
// Nothing that fn returns may alias raw.
func (d *Decoder) parse(raw []byte, fn func(*parser) error) error {
	doc, start, err := prepare(raw)
	if err != nil {
		return err
	}
	p := d.newParser(doc, start)
	defer p.release()
	return fn(p)
}

// decodeCallBytes decodes a <methodCall> from raw, a whole body that the
// caller has already read under the body limit, without copying it. The
// results do not alias raw.
func (d *Decoder) decodeCallBytes(raw []byte) (method string, params []any, err error) {
	err = d.parse(raw, func(p *parser) error {
		method, params, err = p.call()
		return err
	})
	return method, params, err
}

// readLimited appends all of r to buf and fails with a *LimitError when
// there is more than limit bytes; a body of exactly limit bytes is read
// whole, and buf never grows past limit bytes (one more byte is read on its
// own, to tell the end from an excess). grow, if not nil, is called with
// the new capacity before buf grows, and an error it returns is returned.
func readLimited(r io.Reader, buf []byte, limit int64, grow func(capacity int64) error) ([]byte, error) {
	if n, ok := knownLen(r); ok && int64(n) > limit {
		return buf, &LimitError{Limit: LimitBodySize, Max: limit}
	} else if ok && cap(buf) < n+1 {
		buf = make([]byte, 0, n+1) // room to see the end without growing
	}
	for {
		if int64(len(buf)) >= limit {
			var one [1]byte
			switch n, err := io.ReadFull(r, one[:]); {
			case n > 0:
				return buf, &LimitError{Limit: LimitBodySize, Max: limit}
			case err == io.EOF:
				return buf, nil
			default:
				return buf, err
			}
		}
		if len(buf) == cap(buf) {
			// Grow geometrically from 4 KiB, but never past the limit.
			grown := min(int64(max(2*cap(buf), 4<<10)), limit)
			if grow != nil {
				if err := grow(grown); err != nil {
					return buf, err
				}
			}
			buf = append(make([]byte, 0, grown), buf...)
		}
		room := min(int64(cap(buf)-len(buf)), limit-int64(len(buf)))
		n, err := r.Read(buf[len(buf) : len(buf)+int(room)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func knownLen(r io.Reader) (int, bool) {
	switch r := r.(type) {
	case *bytes.Reader:
		return r.Len(), true
	case *bytes.Buffer:
		return r.Len(), true
	case interface{ Len() int }:
		return r.Len(), true
	}
	return 0, false
}

// parser decodes XML-RPC structure on top of the scanner.
type parser struct {
	scanner
	loc   *time.Location
	depth int
	// Short strings for the fields of the structs being decoded; see
	// batchedString.
	batchBytes  []byte
	batchFields []batchedField
	plain       plainMember // see structMembers
	// The struct type decoded last, and its structInfo.
	lastType reflect.Type
	lastInfo *structInfo
}

var parserPool = sync.Pool{New: func() any { return new(parser) }}

// newParser returns a parser over doc from offset start, from a pool that
// keeps the parsers' scratch space from one document to the next.
func (d *Decoder) newParser(doc []byte, start int) *parser {
	p := parserPool.Get().(*parser)
	p.scanner = scanner{buf: doc, pos: start, limits: &d.limits, scratch: p.scratch[:0]}
	p.loc, p.depth = d.loc, 0
	return p
}

// release puts p back in the pool, forgetting the document; scratch space
// that grew large is dropped.
func (p *parser) release() {
	const keep = 64 << 10
	scratch, batchBytes, batchFields := p.scratch, p.batchBytes, p.batchFields
	if cap(scratch) > keep {
		scratch = nil
	}
	if cap(batchBytes) > keep {
		batchBytes = nil
	}
	if cap(batchFields) > keep/16 {
		batchFields = nil
	}
	*p = parser{batchBytes: batchBytes[:0], batchFields: batchFields[:0], lastType: p.lastType, lastInfo: p.lastInfo}
	p.scratch = scratch[:0]
	parserPool.Put(p)
}

// call parses a whole <methodCall> document.
func (p *parser) call() (string, []any, error) {
	if err := p.prolog(); err != nil {
		return "", nil, err
	}
	name, kind, err := p.tag()
	if err != nil {
		return "", nil, err
	}
	if kind != tagStart || string(name) != "methodCall" {
		return "", nil, p.invalidErr("expected <methodCall>, found " + describeTag(name, kind))
	}
	if empty, err := p.expect(startMethodName); err != nil {
		return "", nil, err
	} else if empty {
		return "", nil, p.invalidErr("empty methodName")
	}
	t, err := p.text()
	if err != nil {
		return "", nil, err
	}
	t = trimSpace(t)
	if len(t) == 0 {
		return "", nil, p.invalidErr("empty methodName")
	}
	if len(t) > p.limits.MaxMethodBytes {
		return "", nil, &LimitError{Limit: LimitMethodName, Max: int64(p.limits.MaxMethodBytes)}
	}
	method := string(t)
	if name, kind, err = p.tag(); err != nil {
		return "", nil, err
	} else if kind != tagEnd || string(name) != "methodName" {
		return "", nil, p.invalidErr("expected </methodName>, found " + describeTag(name, kind))
	}
	params := []any{}
	name, kind, err = p.next()
	if err != nil {
		return "", nil, err
	}
	switch {
	case kind == tagEnd && string(name) == "methodCall":
		return method, params, p.epilog()
	case kind == tagEmpty && string(name) == "params":
	case kind == tagStart && string(name) == "params":
		for {
			name, kind, err := p.next()
			if err != nil {
				return "", nil, err
			}
			if kind == tagEnd && string(name) == "params" {
				break
			}
			if kind != tagStart || string(name) != "param" {
				return "", nil, p.invalidErr("expected <param>, found " + describeTag(name, kind))
			}
			v, err := p.param()
			if err != nil {
				return "", nil, err
			}
			params = append(params, v)
		}
	default:
		return "", nil, p.invalidErr("expected <params>, found " + describeTag(name, kind))
	}
	if err := p.expectEnd(endMethodCall); err != nil {
		return "", nil, err
	}
	return method, params, p.epilog()
}

// param parses the content of a <param> after its start tag.
func (p *parser) param() (any, error) {
	empty, err := p.expect(startValue)
	if err != nil {
		return nil, err
	}
	v, err := p.anyValue(empty)
	if err != nil {
		return nil, err
	}
	return v, p.expectEnd(endParam)
}

// response parses a whole <methodResponse> document, storing the result
// in target (if valid) or returning the fault.
func (p *parser) response(target reflect.Value) error {
	if err := p.prolog(); err != nil {
		return err
	}
	name, kind, err := p.tag()
	if err != nil {
		return err
	}
	if kind != tagStart || string(name) != "methodResponse" {
		return p.invalidErr("expected <methodResponse>, found " + describeTag(name, kind))
	}
	name, kind, err = p.next()
	if err != nil {
		return err
	}
	var fault *Fault
	switch {
	case kind == tagStart && string(name) == "params":
		if empty, err := p.expect(startParam); err != nil {
			return err
		} else if empty {
			return p.invalidErr("empty <param>")
		}
		empty, err := p.expect(startValue)
		if err != nil {
			return err
		}
		if target.IsValid() {
			err = p.valueInto(target, empty)
		} else {
			_, err = p.anyValue(empty)
		}
		if err != nil {
			return err
		}
		if err := p.expectEnd(endParam); err != nil {
			return err
		}
		name, kind, err := p.next()
		if err != nil {
			return err
		}
		if kind == tagStart && string(name) == "param" || kind == tagEmpty && string(name) == "param" {
			return p.invalidErr("a response must have exactly one <param>")
		}
		if kind != tagEnd || string(name) != "params" {
			return p.invalidErr("expected </params>, found " + describeTag(name, kind))
		}
	case kind == tagStart && string(name) == "fault":
		if fault, err = p.fault(); err != nil {
			return err
		}
	case kind == tagEmpty && string(name) == "params", kind == tagEnd && string(name) == "methodResponse":
		return p.invalidErr("a response must have exactly one <param>")
	default:
		return p.invalidErr("expected <params> or <fault>, found " + describeTag(name, kind))
	}
	if err := p.expectEnd(endMethodResp); err != nil {
		return err
	}
	if err := p.epilog(); err != nil {
		return err
	}
	if fault != nil {
		return fault
	}
	return nil
}

// fault parses the content of <fault> after its start tag.
func (p *parser) fault() (*Fault, error) {
	name, kind, err := p.next()
	if err != nil {
		return nil, err
	}
	var v any
	switch {
	case kind != tagEnd && string(name) == "value":
		if v, err = p.anyValue(kind == tagEmpty); err != nil {
			return nil, err
		}
	case kind != tagEnd && string(name) == "struct":
		if v, err = p.anyStruct(kind == tagEmpty); err != nil {
			return nil, err
		}
	default:
		return nil, p.invalidErr("expected <value> in <fault>, found " + describeTag(name, kind))
	}
	if err := p.expectEnd(endFault); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, p.invalidErr("fault value is not a struct")
	}
	f, msg := faultFromStruct(m)
	if msg != "" {
		return nil, p.invalidErr(msg)
	}
	return f, nil
}

// faultFromStruct applies the rules for faultCode and faultString. On
// failure it returns a message for a malformed-fault error, which carries
// the faultString when there is one.
func faultFromStruct(m map[string]any) (*Fault, string) {
	f := &Fault{}
	switch s := m["faultString"].(type) {
	case string:
		f.String = s
	default:
		if _, present := m["faultString"]; present {
			return nil, "malformed fault: faultString is not a string"
		}
	}
	bad := func(why string) (*Fault, string) {
		msg := "malformed fault: " + why
		if f.String != "" {
			msg += " (faultString " + quoteClipped(f.String, maxFaultText) + ")"
		}
		return nil, msg
	}
	var code int64
	switch c := m["faultCode"].(type) {
	case int64:
		code = c
	case string:
		n, ok := parseInt(trimSpace([]byte(c)))
		if !ok {
			return bad("faultCode is not a number")
		}
		code = n
	default:
		if _, present := m["faultCode"]; !present {
			return bad("faultCode is missing")
		}
		return bad("faultCode is not an integer")
	}
	if code < math.MinInt32 || code > math.MaxInt32 {
		return bad("faultCode out of 32-bit range")
	}
	f.Code = int(code)
	return f, ""
}

// valueType identifies the content of a <value>.
type valueType uint8

const (
	vtUntyped valueType = iota
	vtInt
	vtBool
	vtString
	vtDouble
	vtDateTime
	vtBase64
	vtNil
	vtArray
	vtStruct
)

var valueTypeNames = [...]string{
	vtUntyped: "string", vtInt: "int", vtBool: "boolean", vtString: "string",
	vtDouble: "double", vtDateTime: "dateTime.iso8601", vtBase64: "base64",
	vtNil: "nil", vtArray: "array", vtStruct: "struct",
}

func typeByName(local []byte) (valueType, bool) {
	switch string(local) {
	case "string":
		return vtString, true
	case "int", "i4", "i8", "i1", "i2":
		return vtInt, true
	case "boolean":
		return vtBool, true
	case "double":
		return vtDouble, true
	case "dateTime.iso8601":
		return vtDateTime, true
	case "base64":
		return vtBase64, true
	case "nil":
		return vtNil, true
	case "array":
		return vtArray, true
	case "struct":
		return vtStruct, true
	}
	return 0, false
}

// head is what begins a <value>: either untyped text, or a type element.
type head struct {
	typ   valueType
	text  []byte  // untyped text (aliases the scanner; valid until the next read)
	tag   []byte  // full name of the type element, prefix included
	empty bool    // the type element was self-closing
	end   *tagLit // the type element's end tag, when valueHead's fast path read it
}

// typeLit is a type element that the fast path of valueHead knows.
type typeLit struct {
	typ        valueType
	name       []byte
	start, end *tagLit
}

// typeLits lists the type elements for the fast path of valueHead by the
// first byte of their name.
var typeLits = func() (t [128][]typeLit) {
	for _, name := range []string{"string", "struct", "int", "i4", "i8", "boolean", "base64", "double", "dateTime.iso8601", "array"} {
		vt, _ := typeByName([]byte(name))
		t[name[0]] = append(t[name[0]], typeLit{vt, []byte(name), newTagLit(name, true), newTagLit(name, false)})
	}
	return t
}()

// valueHead reads from just after <value> (or <value/>, when empty) up to
// and including the type element's start tag. For an untyped value it
// reads through </value>.
func (p *parser) valueHead(empty bool) (head, error) {
	if empty {
		return head{typ: vtUntyped}, nil
	}
	// Fast path: whitespace, if any, and a type element written plainly.
	if i, ok := p.spaceEnd(); ok && i+1 < len(p.buf) && p.buf[i] == '<' && p.buf[i+1] < 128 {
		for k := range typeLits[p.buf[i+1]] {
			if tl := &typeLits[p.buf[i+1]][k]; p.atTagFrom(i, tl.start) {
				return head{typ: tl.typ, tag: tl.name, end: tl.end}, nil
			}
		}
	}
	t, err := p.text()
	if err != nil {
		return head{}, err
	}
	name, kind, err := p.tag()
	if err != nil {
		return head{}, err
	}
	if kind == tagEnd {
		if string(name) != "value" {
			return head{}, p.invalidErr("expected </value>, found " + describeTag(name, kind))
		}
		return head{typ: vtUntyped, text: t}, nil
	}
	if !isAllSpace(t) {
		return head{}, p.invalidErr("text next to a type element in <value>")
	}
	local := name
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		if i == 0 || i == len(name)-1 || bytes.IndexByte(name[i+1:], ':') >= 0 {
			return head{}, p.syntaxErr("malformed element name " + quoteASCII(string(name)))
		}
		local = name[i+1:]
	}
	vt, ok := typeByName(local)
	// array and struct are structural elements, which must be unprefixed;
	// their end tags are matched by the unprefixed name.
	if !ok || len(local) != len(name) && (vt == vtArray || vt == vtStruct) {
		return head{}, p.invalidErr("unknown value type " + describeTag(name, kind))
	}
	return head{typ: vt, tag: name, empty: kind == tagEmpty}, nil
}

// scalar reads the text content of a scalar type element whose start tag
// was read, through its end tag.
func (p *parser) scalar(h head) ([]byte, error) {
	if h.empty {
		return nil, nil
	}
	t, err := p.text()
	if err != nil {
		return nil, err
	}
	p.lookahead(64)
	if h.end != nil && h.end.at(p.buf, p.pos) {
		p.pos += len(h.end.text)
		return t, nil
	}
	if h.end == nil && p.atEndHere(h.tag) {
		return t, nil
	}
	name, kind, err := p.tag()
	if err != nil {
		return nil, err
	}
	if kind != tagEnd {
		return nil, p.invalidErr("element inside <" + string(h.tag) + ">")
	}
	if !bytes.Equal(name, h.tag) {
		return nil, p.syntaxErr("expected </" + string(h.tag) + ">, found " + describeTag(name, kind))
	}
	return t, nil
}

// endValue reads whitespace and </value> after a typed value.
func (p *parser) endValue() error { return p.expectEnd(endValue) }

// anyValue decodes a <value> (start tag already read) into the canonical
// Go types.
func (p *parser) anyValue(empty bool) (any, error) {
	h, err := p.valueHead(empty)
	if err != nil {
		return nil, err
	}
	if h.typ == vtUntyped {
		return string(h.text), nil
	}
	var v any
	switch h.typ {
	case vtArray:
		v, err = p.anyArray(h.empty)
	case vtStruct:
		v, err = p.anyStruct(h.empty)
	default:
		v, err = p.anyScalar(h)
	}
	if err != nil {
		return nil, err
	}
	return v, p.endValue()
}

func (p *parser) anyScalar(h head) (any, error) {
	t, err := p.scalar(h)
	if err != nil {
		return nil, err
	}
	switch h.typ {
	case vtString:
		return string(t), nil
	case vtInt:
		n, ok := parseInt(trimSpace(t))
		if !ok {
			return nil, p.invalidErr("invalid integer " + quoteASCII(string(t)))
		}
		return n, nil
	case vtBool:
		b, ok := parseBool(trimSpace(t))
		if !ok {
			return nil, p.invalidErr("invalid boolean " + quoteASCII(string(t)))
		}
		return b, nil
	case vtDouble:
		f, ok := parseDouble(trimSpace(t))
		if !ok {
			return nil, p.invalidErr("invalid double " + quoteASCII(string(t)))
		}
		return f, nil
	case vtDateTime:
		dt, ok := parseDateTime(trimSpace(t), p.loc)
		if !ok {
			return nil, p.invalidErr("invalid dateTime.iso8601 " + quoteASCII(string(t)))
		}
		return dt.Time, nil
	case vtBase64:
		return p.base64(t, nil)
	case vtNil:
		if !isAllSpace(t) {
			return nil, p.invalidErr("text inside <nil>")
		}
		return nil, nil
	}
	panic("unreachable")
}

// base64 decodes t and appends the bytes to dst.
func (p *parser) base64(t []byte, dst []byte) ([]byte, error) {
	b, ok := decodeBase64(t, dst)
	if !ok {
		return nil, p.invalidErr("invalid base64")
	}
	return b, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > p.limits.MaxDepth {
		return &LimitError{Limit: LimitDepth, Max: int64(p.limits.MaxDepth)}
	}
	return nil
}

// arrayElems reads the content of <array> after its start tag, calling
// elem for each <value> with its start tag read.
func (p *parser) arrayElems(empty bool, elem func(i int, empty bool) error) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	if empty {
		return nil
	}
	name, kind, err := p.next()
	if err != nil {
		return err
	}
	if kind == tagEnd && string(name) == "array" {
		return nil
	}
	if kind == tagEnd || string(name) != "data" {
		return p.invalidErr("expected <data>, found " + describeTag(name, kind))
	}
	if kind == tagStart {
		for i := 0; ; i++ {
			if p.atTag(startValue) { // fast path
				if err := elem(i, false); err != nil {
					return err
				}
				continue
			}
			name, kind, err := p.next()
			if err != nil {
				return err
			}
			if kind == tagEnd && string(name) == "data" {
				break
			}
			if kind == tagEnd || string(name) != "value" {
				return p.invalidErr("expected <value> in <data>, found " + describeTag(name, kind))
			}
			if err := elem(i, kind == tagEmpty); err != nil {
				return err
			}
		}
	}
	return p.expectEnd(endArray)
}

// structMembers reads the content of <struct> after its start tag. A
// member that plain takes (see readPlainMember) is done with. For
// each member whose <name> comes first it calls member with the name and
// whether the <value> start tag, already read, was self-closing; member
// must parse the value. The name aliases the scanner and is valid only
// until member reads further. For a member whose <value> comes first (the
// order is free), the value is decoded into the canonical types and handed
// to memberAny together with the name.
func (p *parser) structMembers(empty bool, plain func(m *plainMember) bool, member func(name []byte, empty bool) error, memberAny func(name []byte, v any) error) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	if empty {
		return nil
	}
	m := &p.plain // in the parser, not on the stack, which plain would make escape
	for {
		// A member written the plain way with a scalar value is read in
		// one go, if plain takes it. No other member is read in the
		// meantime, so one plainMember serves every level of nesting.
		if plain != nil && p.readPlainMember(m) && plain(m) {
			p.usePlainMember(m)
			continue
		}
		// The common form, <member><name>...</name><value>, is read by
		// the fast paths (atTag); the general path reads the rest.
		if p.atTag(endStruct) {
			return nil
		}
		if !p.atTag(startMember) {
			name, kind, err := p.next()
			if err != nil {
				return err
			}
			if kind == tagEnd && string(name) == "struct" {
				return nil
			}
			if kind != tagStart || string(name) != "member" {
				if kind == tagEmpty && string(name) == "member" {
					return p.invalidErr("member without name and value")
				}
				return p.invalidErr("expected <member>, found " + describeTag(name, kind))
			}
		}
		name, kind := nameTag, tagStart
		if !p.atTag(startName) {
			var err error
			if name, kind, err = p.next(); err != nil {
				return err
			}
		}
		switch {
		case kind != tagEnd && string(name) == "name":
			memberName, err := p.memberName(kind == tagEmpty)
			if err != nil {
				return err
			}
			valueEmpty := false
			if !p.atTag(startValue) {
				vk, kind, err := p.next()
				if err != nil {
					return err
				}
				if kind == tagEnd || string(vk) != "value" {
					return p.invalidErr("expected <value> after <name>, found " + describeTag(vk, kind))
				}
				valueEmpty = kind == tagEmpty
			}
			if err := member(memberName, valueEmpty); err != nil {
				return err
			}
		case kind != tagEnd && string(name) == "value":
			v, err := p.anyValue(kind == tagEmpty)
			if err != nil {
				return err
			}
			empty, err := p.expect(startName)
			if err != nil {
				return err
			}
			memberName, err := p.memberName(empty)
			if err != nil {
				return err
			}
			if err := memberAny(memberName, v); err != nil {
				return err
			}
		default:
			return p.invalidErr("expected <name> or <value> in <member>, found " + describeTag(name, kind))
		}
		if err := p.expectEnd(endMember); err != nil {
			return err
		}
	}
}

// memberName reads the text of <name> after its start tag, through </name>.
func (p *parser) memberName(empty bool) ([]byte, error) {
	return p.scalar(head{tag: nameTag, empty: empty, end: endName})
}

var nameTag = []byte("name")

// anyArray decodes the content of <array> into []any.
func (p *parser) anyArray(empty bool) ([]any, error) {
	out := []any{}
	err := p.arrayElems(empty, func(_ int, empty bool) error {
		v, err := p.anyValue(empty)
		out = append(out, v)
		return err
	})
	return out, err
}

// anyStruct decodes the content of <struct> into map[string]any. A later
// member replaces an earlier one of the same name.
func (p *parser) anyStruct(empty bool) (map[string]any, error) {
	out := map[string]any{}
	err := p.structMembers(empty, func(m *plainMember) bool {
		v, ok := plainAny(m, true)
		if ok {
			out[string(m.name)] = v
		}
		return ok
	}, func(name []byte, empty bool) error {
		key := string(name)
		v, err := p.anyValue(empty)
		out[key] = v
		return err
	}, func(name []byte, v any) error {
		out[string(name)] = v
		return nil
	})
	return out, err
}
