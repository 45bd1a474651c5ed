package xmlrpc

import (
	"encoding/base64"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// An Encoder writes XML-RPC messages to an output stream. Each message is
// built completely in memory first, so an encoding error never leaves a
// partial document in the stream.
type Encoder struct {
	w    io.Writer
	opts encodeOptions
}

type encodeOptions struct {
	allowNil       bool
	i8             bool
	loc            *time.Location
	maxDepth       int
	maxMethodBytes int
}

func defaultEncodeOptions() encodeOptions {
	return encodeOptions{loc: time.UTC, maxDepth: DefaultMaxDepth, maxMethodBytes: DefaultMaxMethodBytes}
}

// NewEncoder returns an encoder that writes to w. By default it refuses
// nil values and integers outside 32 bits, and writes times in UTC.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w, opts: defaultEncodeOptions()}
}

// SetAllowNil makes nil pointers, interfaces and the nil value encode as
// <nil/> (an extension many peers understand) instead of being an error.
func (e *Encoder) SetAllowNil(on bool) { e.opts.allowNil = on }

// SetI8 makes integers outside the signed 32-bit range encode as <i8>
// (an extension) instead of being an error.
func (e *Encoder) SetI8(on bool) { e.opts.i8 = on }

// SetLocation sets the location times are converted to before they are
// written (dateTime.iso8601 carries no zone). A nil location means UTC.
func (e *Encoder) SetLocation(loc *time.Location) {
	if loc == nil {
		loc = time.UTC
	}
	e.opts.loc = loc
}

// SetLimits applies the nesting depth and methodName limits of l to the
// encoder; zero and negative fields take their defaults (SetLimits cannot
// fail, unlike WithLimits). The depth limit also stops cyclic values.
func (e *Encoder) SetLimits(l Limits) {
	l = l.withDefaults()
	e.opts.maxDepth, e.opts.maxMethodBytes = l.MaxDepth, l.MaxMethodBytes
}

// EncodeCall writes a <methodCall> of method with args as its parameters.
func (e *Encoder) EncodeCall(method string, args ...any) error {
	s := newEncodeState(e.opts)
	defer s.release()
	if err := s.call(method, args); err != nil {
		return err
	}
	_, err := e.w.Write(s.buf)
	return err
}

// EncodeResponse writes a <methodResponse> holding result.
func (e *Encoder) EncodeResponse(result any) error {
	s := newEncodeState(e.opts)
	defer s.release()
	if err := s.response(result); err != nil {
		return err
	}
	_, err := e.w.Write(s.buf)
	return err
}

// EncodeFault writes a fault <methodResponse>. The code must fit in 32 bits.
func (e *Encoder) EncodeFault(f *Fault) error {
	s := newEncodeState(e.opts)
	defer s.release()
	if err := s.fault(f); err != nil {
		return err
	}
	_, err := e.w.Write(s.buf)
	return err
}

// EncodeCall writes a <methodCall> to w with the default options.
func EncodeCall(w io.Writer, method string, args ...any) error {
	return NewEncoder(w).EncodeCall(method, args...)
}

// EncodeResponse writes a <methodResponse> holding result to w with the
// default options.
func EncodeResponse(w io.Writer, result any) error {
	return NewEncoder(w).EncodeResponse(result)
}

// EncodeFault writes a fault <methodResponse> to w.
func EncodeFault(w io.Writer, f *Fault) error {
	return NewEncoder(w).EncodeFault(f)
}

// encodeState builds one document.
type encodeState struct {
	buf []byte
	encodeOptions
}

var encodeStatePool = sync.Pool{New: func() any { return new(encodeState) }}

func newEncodeState(opts encodeOptions) *encodeState {
	s := encodeStatePool.Get().(*encodeState)
	s.buf = s.buf[:0]
	s.encodeOptions = opts
	return s
}

func (s *encodeState) release() {
	if cap(s.buf) <= 4<<20 {
		encodeStatePool.Put(s)
	}
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>`

func (s *encodeState) call(method string, args []any) error {
	if err := checkMethodName(method, s.maxMethodBytes); err != nil {
		return err
	}
	s.buf = append(s.buf, xmlHeader+"<methodCall><methodName>"...)
	s.buf = append(s.buf, method...)
	s.buf = append(s.buf, "</methodName><params>"...)
	for _, a := range args {
		s.buf = append(s.buf, "<param><value>"...)
		if err := s.value(reflect.ValueOf(a), 0); err != nil {
			return err
		}
		s.buf = append(s.buf, "</value></param>"...)
	}
	s.buf = append(s.buf, "</params></methodCall>"...)
	return nil
}

func (s *encodeState) response(result any) error {
	s.buf = append(s.buf, xmlHeader+"<methodResponse><params><param><value>"...)
	if err := s.value(reflect.ValueOf(result), 0); err != nil {
		return err
	}
	s.buf = append(s.buf, "</value></param></params></methodResponse>"...)
	return nil
}

func (s *encodeState) fault(f *Fault) error {
	if f == nil {
		return encodeErrorf("nil *Fault")
	}
	if f.Code < math.MinInt32 || f.Code > math.MaxInt32 {
		return encodeErrorf("fault code %d outside 32 bits", f.Code)
	}
	s.buf = append(s.buf, xmlHeader+"<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>"...)
	s.buf = strconv.AppendInt(s.buf, int64(f.Code), 10)
	s.buf = append(s.buf, "</int></value></member><member><name>faultString</name><value><string>"...)
	var err error
	if s.buf, err = appendEscaped(s.buf, f.String); err != nil {
		return err
	}
	s.buf = append(s.buf, "</string></value></member></struct></value></fault></methodResponse>"...)
	return nil
}

// checkMethodName enforces [A-Za-z0-9_.:/]+ and the length limit.
func checkMethodName(m string, max int) error {
	if m == "" {
		return encodeErrorf("empty method name")
	}
	if len(m) > max {
		return &LimitError{Limit: LimitMethodName, Max: int64(max)}
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '/') {
			return encodeErrorf("method name %s has a character outside [A-Za-z0-9_.:/]", quoteASCII(m))
		}
	}
	return nil
}

// value appends the content of one <value> (the type element) for v.
func (s *encodeState) value(v reflect.Value, depth int) error {
	for hops := 0; ; hops++ {
		if !v.IsValid() {
			return s.nilValue()
		}
		k := v.Kind()
		if k != reflect.Pointer && k != reflect.Interface {
			break
		}
		if v.IsNil() {
			return s.nilValue()
		}
		// A chain of pointers and interfaces can be a cycle with no
		// container in it; bound its length like nesting.
		if hops >= s.maxDepth {
			return &LimitError{Limit: LimitDepth, Max: int64(s.maxDepth)}
		}
		v = v.Elem()
	}
	switch v.Type() {
	case timeType:
		return s.time(v.Interface().(time.Time))
	case dateTimeType:
		return s.time(v.Interface().(DateTime).Time)
	}
	switch v.Kind() {
	case reflect.String:
		s.buf = append(s.buf, "<string>"...)
		var err error
		if s.buf, err = appendEscaped(s.buf, v.String()); err != nil {
			return err
		}
		s.buf = append(s.buf, "</string>"...)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return s.int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if u > math.MaxInt64 {
			return encodeErrorf("integer %d does not fit in 64 signed bits", u)
		}
		return s.int(int64(u))
	case reflect.Bool:
		if v.Bool() {
			s.buf = append(s.buf, "<boolean>1</boolean>"...)
		} else {
			s.buf = append(s.buf, "<boolean>0</boolean>"...)
		}
	case reflect.Float32, reflect.Float64:
		return s.float(v.Float(), v.Type().Bits())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			s.buf = append(s.buf, "<base64>"...)
			s.buf = base64.StdEncoding.AppendEncode(s.buf, v.Bytes())
			s.buf = append(s.buf, "</base64>"...)
			return nil
		}
		return s.array(v, depth)
	case reflect.Array:
		return s.array(v, depth)
	case reflect.Map:
		return s.mapValue(v, depth)
	case reflect.Struct:
		return s.structValue(v, depth)
	default:
		return &UnsupportedTypeError{Type: v.Type()}
	}
	return nil
}

func (s *encodeState) nilValue() error {
	if !s.allowNil {
		return encodeErrorf("nil value needs the nil extension (AllowNil)")
	}
	s.buf = append(s.buf, "<nil/>"...)
	return nil
}

func (s *encodeState) int(n int64) error {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		s.buf = append(s.buf, "<int>"...)
		s.buf = strconv.AppendInt(s.buf, n, 10)
		s.buf = append(s.buf, "</int>"...)
		return nil
	}
	if !s.i8 {
		return encodeErrorf("integer %d outside 32 bits needs the i8 extension (I8)", n)
	}
	s.buf = append(s.buf, "<i8>"...)
	s.buf = strconv.AppendInt(s.buf, n, 10)
	s.buf = append(s.buf, "</i8>"...)
	return nil
}

// float writes the shortest decimal that reads back as f, without an
// exponent and with ".0" when it is integral.
func (s *encodeState) float(f float64, bits int) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return encodeErrorf("%v has no XML-RPC form", f)
	}
	s.buf = append(s.buf, "<double>"...)
	start := len(s.buf)
	s.buf = strconv.AppendFloat(s.buf, f, 'f', -1, bits)
	integral := true
	for _, c := range s.buf[start:] {
		if c == '.' {
			integral = false
			break
		}
	}
	if integral {
		s.buf = append(s.buf, ".0"...)
	}
	s.buf = append(s.buf, "</double>"...)
	return nil
}

func (s *encodeState) time(t time.Time) error {
	s.buf = append(s.buf, "<dateTime.iso8601>"...)
	var err error
	if s.buf, err = appendDateTime(s.buf, t, s.loc); err != nil {
		return err
	}
	s.buf = append(s.buf, "</dateTime.iso8601>"...)
	return nil
}

func (s *encodeState) enter(depth int) error {
	if depth+1 > s.maxDepth {
		return &LimitError{Limit: LimitDepth, Max: int64(s.maxDepth)}
	}
	return nil
}

func (s *encodeState) array(v reflect.Value, depth int) error {
	if err := s.enter(depth); err != nil {
		return err
	}
	s.buf = append(s.buf, "<array><data>"...)
	for i, n := 0, v.Len(); i < n; i++ {
		s.buf = append(s.buf, "<value>"...)
		if err := s.value(v.Index(i), depth+1); err != nil {
			return err
		}
		s.buf = append(s.buf, "</value>"...)
	}
	s.buf = append(s.buf, "</data></array>"...)
	return nil
}

func (s *encodeState) mapValue(v reflect.Value, depth int) error {
	if v.Type().Key().Kind() != reflect.String {
		return &UnsupportedTypeError{Type: v.Type()}
	}
	if err := s.enter(depth); err != nil {
		return err
	}
	if v.Type() == anyMapType && v.CanInterface() {
		return s.anyMap(v.Interface().(map[string]any), depth)
	}
	keys := v.MapKeys()
	sortStrings(keys)
	s.buf = append(s.buf, "<struct>"...)
	for _, k := range keys {
		s.buf = append(s.buf, "<member><name>"...)
		var err error
		if s.buf, err = appendEscaped(s.buf, k.String()); err != nil {
			return err
		}
		s.buf = append(s.buf, "</name><value>"...)
		if err := s.value(v.MapIndex(k), depth+1); err != nil {
			return err
		}
		s.buf = append(s.buf, "</value></member>"...)
	}
	s.buf = append(s.buf, "</struct>"...)
	return nil
}

// anyMap encodes the canonical struct type without reflect's per-key
// allocations: small key sets are sorted on the stack and values are
// looked up directly.
func (s *encodeState) anyMap(m map[string]any, depth int) error {
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s.buf = append(s.buf, "<struct>"...)
	for _, k := range keys {
		s.buf = append(s.buf, "<member><name>"...)
		var err error
		if s.buf, err = appendEscaped(s.buf, k); err != nil {
			return err
		}
		s.buf = append(s.buf, "</name><value>"...)
		if err := s.value(reflect.ValueOf(m[k]), depth+1); err != nil {
			return err
		}
		s.buf = append(s.buf, "</value></member>"...)
	}
	s.buf = append(s.buf, "</struct>"...)
	return nil
}

func (s *encodeState) structValue(v reflect.Value, depth int) error {
	si := cachedStructInfo(v.Type())
	if si.err != nil {
		return si.err
	}
	if err := s.enter(depth); err != nil {
		return err
	}
	s.buf = append(s.buf, "<struct>"...)
	for i := range si.fields {
		f := &si.fields[i]
		fv := fieldByIndex(v, f.index, false)
		if !fv.IsValid() || f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		if f.openErr != nil {
			return f.openErr
		}
		s.buf = append(s.buf, f.open...)
		if err := s.value(fv, depth+1); err != nil {
			return err
		}
		s.buf = append(s.buf, "</value></member>"...)
	}
	s.buf = append(s.buf, "</struct>"...)
	return nil
}

// isEmptyValue is the omitempty test: false, 0, "", and nil or empty
// pointers, interfaces, maps, slices and arrays of length zero.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func sortStrings(keys []reflect.Value) {
	// Insertion sort for the small maps XML-RPC usually carries; fall back
	// to a merge of halves for large ones.
	if len(keys) <= 12 {
		for i := 1; i < len(keys); i++ {
			for j := i; j > 0 && keys[j].String() < keys[j-1].String(); j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
		return
	}
	mid := len(keys) / 2
	left := append([]reflect.Value(nil), keys[:mid]...)
	right := keys[mid:]
	sortStrings(left)
	sortStrings(right)
	i, j, k := 0, 0, 0
	for i < len(left) && j < len(right) {
		if right[j].String() < left[i].String() {
			keys[k] = right[j]
			j++
		} else {
			keys[k] = left[i]
			i++
		}
		k++
	}
	for i < len(left) {
		keys[k] = left[i]
		i++
		k++
	}
}

// escapeClass marks bytes appendEscaped must look at: 1 for & < > and CR,
// 2 for control characters XML forbids, 3 for the start of a multi-byte
// character.
var escapeClass = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = 2
	}
	t['\t'], t['\n'] = 0, 0
	t['&'], t['<'], t['>'], t['\r'] = 1, 1, 1, 1
	for c := 0x80; c < 0x100; c++ {
		t[c] = 3
	}
	return t
}()

const ones = 0x0101010101010101

// hasByte reports whether any byte of w equals c.
func hasByte(w uint64, c byte) bool {
	x := w ^ (ones * uint64(c))
	return (x-ones)&^x&highBits != 0
}

// load64 reads eight bytes of s at i, little-endian.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// appendEscaped appends s as XML character data: & < > escaped, CR as
// &#13;. It fails on invalid UTF-8 and on characters XML cannot carry.
func appendEscaped(dst []byte, s string) ([]byte, error) {
	start := 0
	i := 0
	for i < len(s) {
		for i+wordBytes <= len(s) {
			w := load64(s, i)
			if (w|(w-lowBytes))&highBits != 0 || hasByte(w, '&') || hasByte(w, '<') || hasByte(w, '>') {
				break
			}
			i += wordBytes
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		switch escapeClass[c] {
		case 0:
			i++
			continue
		case 1:
			dst = append(dst, s[start:i]...)
			switch c {
			case '&':
				dst = append(dst, "&amp;"...)
			case '<':
				dst = append(dst, "&lt;"...)
			case '>':
				dst = append(dst, "&gt;"...)
			case '\r':
				dst = append(dst, "&#13;"...)
			}
			i++
			start = i
		case 2:
			return dst, encodeErrorf("string has control character U+%04X, which XML cannot carry", c)
		case 3:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return dst, encodeErrorf("string is not valid UTF-8")
			}
			if !isXMLChar(r) {
				return dst, encodeErrorf("string has character U+%04X, which XML cannot carry", r)
			}
			i += size
		}
	}
	return append(dst, s[start:]...), nil
}
