package xmlrpc

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// This file stores XML-RPC values in typed Go values, both while parsing
// (valueInto, straight from the document) and from already decoded values
// (Unmarshal). Both paths share the set* functions, so the conversion
// rules are the same.

// Unmarshal stores v, a value in the canonical form DecodeCall produces
// (int64, bool, string, float64, time.Time, []byte, nil, []any,
// map[string]any), in the Go value target points to, with the same rules
// as DecodeResponse.
//
// Unmarshal has no Limits of its own: it walks at most DefaultMaxDepth
// nested arrays and structs, as a decoder with the default limits would,
// and returns a *LimitError for a value nested deeper (which stops a
// cyclic value too). A value stored whole into an interface (any) is not
// walked.
func Unmarshal(v any, target any) error {
	return unmarshalTop(v, target, DefaultMaxDepth)
}

// unmarshalTop is Unmarshal with the depth limit maxDepth.
func unmarshalTop(v any, target any, maxDepth int) error {
	if err := checkTarget("Unmarshal", target); err != nil {
		return err
	}
	return unmarshalValue(v, reflect.ValueOf(target).Elem(), 0, maxDepth)
}

// checkTarget returns an error naming fn unless target is a non-nil
// pointer.
func checkTarget(fn string, target any) error {
	rv := reflect.ValueOf(target)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return nil
	}
	if target == nil {
		return errors.New("xmlrpc: " + fn + " needs a non-nil pointer, not nil")
	}
	return errors.New("xmlrpc: " + fn + " needs a non-nil pointer, not " + rv.Type().String())
}

// UnmarshalParams stores each decoded parameter in the matching target,
// for handlers that take a fixed list of typed parameters:
//
//	var name string
//	var count int
//	if err := xmlrpc.UnmarshalParams(params, &name, &count); err != nil {
//		return nil, err
//	}
//
// A different number of parameters, or one that does not fit its target,
// gives a *ParamsError, which a Server answers with the
// invalid-parameters fault. A target that is not a non-nil pointer is the
// handler's mistake, not the caller's: it gives another error, which a
// Server answers with the application-error fault.
func UnmarshalParams(params []any, targets ...any) error {
	for i, target := range targets {
		if err := checkTarget("UnmarshalParams target "+strconv.Itoa(i+1), target); err != nil {
			return err
		}
	}
	if len(params) != len(targets) {
		return &ParamsError{Msg: "want " + strconv.Itoa(len(targets)) + " parameters, got " + strconv.Itoa(len(params))}
	}
	for i, p := range params {
		// The targets were checked above.
		if err := unmarshalValue(p, reflect.ValueOf(targets[i]).Elem(), 0, DefaultMaxDepth); err != nil {
			return &ParamsError{Msg: "parameter " + strconv.Itoa(i+1) + ": " + errorDetail(err), Err: err}
		}
	}
	return nil
}

// valueInto decodes a <value> whose start tag was read into v.
func (p *parser) valueInto(v reflect.Value, empty bool) error {
	h, err := p.valueHead(empty)
	if err != nil {
		return err
	}
	if err := p.assign(v, h); err != nil {
		return err
	}
	if h.typ == vtUntyped {
		return nil // valueHead read </value> already
	}
	return p.endValue()
}

// assign decodes the value begun by h into v, through the end of the
// type element.
func (p *parser) assign(v reflect.Value, h head) error {
	if h.typ == vtNil {
		if _, err := p.anyScalar(h); err != nil {
			return err
		}
		v.SetZero()
		return nil
	}
	v = indirect(v)
	if v.Kind() == reflect.Interface {
		if v.NumMethod() != 0 {
			return &TypeError{Value: valueTypeNames[h.typ], Type: v.Type()}
		}
		var x any
		var err error
		switch h.typ {
		case vtUntyped:
			x = string(h.text)
		case vtArray:
			x, err = p.anyArray(h.empty)
		case vtStruct:
			x, err = p.anyStruct(h.empty)
		default:
			x, err = p.anyScalar(h)
		}
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(x))
		return nil
	}
	switch h.typ {
	case vtUntyped:
		return setString(v, h.text)
	case vtArray:
		return p.arrayInto(v, h.empty)
	case vtStruct:
		return p.structInto(v, h.empty)
	}
	t, err := p.scalar(h)
	if err != nil {
		return err
	}
	switch h.typ {
	case vtString:
		return setString(v, t)
	case vtInt:
		n, ok := parseInt(trimSpace(t))
		if !ok {
			return p.invalidErr("invalid integer " + quoteASCII(string(t)))
		}
		return setInt(v, n)
	case vtBool:
		b, ok := parseBool(trimSpace(t))
		if !ok {
			return p.invalidErr("invalid boolean " + quoteASCII(string(t)))
		}
		return setBool(v, b)
	case vtDouble:
		f, ok := parseDouble(trimSpace(t))
		if !ok {
			return p.invalidErr("invalid double " + quoteASCII(string(t)))
		}
		return setFloat(v, f)
	case vtDateTime:
		dt, ok := parseDateTime(trimSpace(t), p.loc)
		if !ok {
			return p.invalidErr("invalid dateTime.iso8601 " + quoteASCII(string(t)))
		}
		return setDateTime(v, dt)
	case vtBase64:
		if isByteSlice(v.Type()) {
			b, err := p.base64(t, nil)
			if err != nil {
				return err
			}
			v.SetBytes(b)
			return nil
		}
		if _, err := p.base64(t, nil); err != nil {
			return err
		}
		return &TypeError{Value: "base64", Type: v.Type()}
	}
	panic("unreachable")
}

// indirect follows pointers from v, allocating nil ones, and returns the
// first non-pointer value.
func indirect(v reflect.Value) reflect.Value {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	return v
}

func isByteSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

// withPath prefixes the path of a *TypeError passing through a container.
func withPath(err error, seg func() string) error {
	if te, ok := err.(*TypeError); ok {
		te.Path = seg() + te.Path
	}
	return err
}

func (p *parser) arrayInto(v reflect.Value, empty bool) error {
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		} else {
			v.SetLen(0)
		}
		start, size := p.pos, int(v.Type().Elem().Size())
		return p.arrayElems(empty, func(i int, empty bool) error {
			if v.Len() == v.Cap() {
				v.Grow(p.growHint(i, start, size))
			}
			v.SetLen(i + 1)
			elem := v.Index(i)
			elem.SetZero()
			return withPath(p.valueInto(elem, empty), func() string { return "[" + strconv.Itoa(i) + "]" })
		})
	case reflect.Array:
		n := 0
		err := p.arrayElems(empty, func(i int, empty bool) error {
			if i >= v.Len() {
				return &TypeError{Value: "array of more than " + strconv.Itoa(v.Len()) + " values", Type: v.Type()}
			}
			n = i + 1
			return withPath(p.valueInto(v.Index(i), empty), func() string { return "[" + strconv.Itoa(i) + "]" })
		})
		for i := n; err == nil && i < v.Len(); i++ {
			v.Index(i).SetZero()
		}
		return err
	}
	return &TypeError{Value: "array", Type: v.Type()}
}

func (p *parser) structInto(v reflect.Value, empty bool) error {
	switch {
	case v.Kind() == reflect.Struct && v.Type() != timeType && v.Type() != dateTimeType:
		if t := v.Type(); t != p.lastType {
			// An array of structs asks for the same type over and over.
			p.lastType, p.lastInfo = t, cachedStructInfo(t)
		}
		si := p.lastInfo
		if si.err != nil {
			return si.err
		}
		var seen fieldSet
		// field returns the field for member i; a repeated member replaces
		// the earlier one (last wins) instead of merging into it.
		field := func(i int) reflect.Value {
			fv := fieldByIndex(v, si.fields[i].index, true)
			if seen.add(i) {
				fv.SetZero()
			}
			return fv
		}
		batch := p.batchStart(v, si)
		defer p.batchEnd(batch)
		guess := 0 // members tend to come in the order of the fields
		lookup := func(name []byte) (int, bool) {
			i := guess
			if i >= len(si.fields) || si.fields[i].name != string(name) {
				var ok bool
				if i, ok = si.byName[string(name)]; !ok {
					return 0, false
				}
			}
			guess = i + 1
			return i, true
		}
		return p.structMembers(empty, func(m *plainMember) bool {
			i, ok := lookup(m.name)
			if !ok {
				return plainValid(m) // a member without a field: checked, then dropped
			}
			return p.plainField(batch, &si.fields[i], func() reflect.Value { return field(i) }, m)
		}, func(name []byte, empty bool) error {
			i, ok := lookup(name)
			if !ok {
				_, err := p.anyValue(empty)
				return err
			}
			f := &si.fields[i]
			if f.kind == reflect.String && !f.ptr {
				return p.batchedString(batch, field, i, empty)
			}
			return withPath(p.valueInto(field(i), empty), func() string { return "." + f.name })
		}, func(name []byte, x any) error {
			i, ok := si.byName[string(name)]
			if !ok {
				return nil
			}
			p.batchEnd(batch)
			f := &si.fields[i]
			return withPath(unmarshalValue(x, field(i), p.depth, p.limits.MaxDepth), func() string { return "." + f.name })
		})
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		kt, et := v.Type().Key(), v.Type().Elem()
		elem := reflect.New(et).Elem()
		return p.structMembers(empty, nil, func(name []byte, empty bool) error {
			key := reflect.ValueOf(string(name)).Convert(kt)
			elem.SetZero()
			if err := p.valueInto(elem, empty); err != nil {
				return withPath(err, func() string { return "." + key.String() })
			}
			v.SetMapIndex(key, elem)
			return nil
		}, func(name []byte, x any) error {
			key := reflect.ValueOf(string(name)).Convert(kt)
			elem.SetZero()
			if err := unmarshalValue(x, elem, p.depth, p.limits.MaxDepth); err != nil {
				return withPath(err, func() string { return "." + key.String() })
			}
			v.SetMapIndex(key, elem)
			return nil
		})
	}
	return &TypeError{Value: "struct", Type: v.Type()}
}

// Short strings decoded into the string fields of one struct share one
// allocation: the fields and their text are listed in parser.batchFields
// and set, in document order, from one string when the struct ends. A
// field of string kind is only ever set here, so waiting changes nothing
// that can be seen, with two exceptions that set the batch first: a value
// of another type for such a field (nil, or a type error), and a member
// whose value comes before its name. Longer strings have their own
// allocation, so that a short string kept alone cannot hold a long one in
// memory.
const maxBatchedString = 1 << 10

// batchedField is a field waiting for its part of the batch. Its text is
// a slice of the document, which does not change while it is parsed (a
// streamed document's buffer only grows, into a new array when it must),
// or of parser.batchBytes for text that was not a plain slice of it.
type batchedField struct {
	field int // in structInfo.fields
	text  []byte
}

// batchMark is where one struct's batch starts, and the struct.
type batchMark struct {
	fields, bytes int
	v             reflect.Value
	si            *structInfo
}

func (p *parser) batchStart(v reflect.Value, si *structInfo) batchMark {
	return batchMark{len(p.batchFields), len(p.batchBytes), v, si}
}

// batchEnd sets the fields batched since m and forgets them.
func (p *parser) batchEnd(m batchMark) {
	fields := p.batchFields[m.fields:]
	if len(fields) == 0 {
		return
	}
	n := 0
	for _, f := range fields {
		n += len(f.text)
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.Write(f.text)
	}
	all, at := b.String(), 0
	for _, f := range fields {
		fieldByIndex(m.v, m.si.fields[f.field].index, true).SetString(all[at : at+len(f.text)])
		at += len(f.text)
	}
	clear(fields) // let go of the document
	p.batchFields, p.batchBytes = p.batchFields[:m.fields], p.batchBytes[:m.bytes]
}

// batchedString decodes the <value> of member i, a field of string kind,
// whose start tag was read: a short string joins the batch, anything else
// is assigned at once. field(i) is called either way, for what it does to
// a repeated member.
func (p *parser) batchedString(m batchMark, field func(int) reflect.Value, i int, empty bool) error {
	h, err := p.valueHead(empty)
	if err != nil {
		return err
	}
	var t []byte
	switch h.typ {
	case vtUntyped:
		t = h.text
	case vtString:
		if t, err = p.scalar(h); err != nil {
			return err
		}
	default:
		p.batchEnd(m)
		if err := p.assign(field(i), h); err != nil {
			return err
		}
		return p.endValue()
	}
	if len(t) > maxBatchedString {
		p.batchEnd(m)
		field(i).SetString(string(t))
	} else {
		field(i)
		// t may be the scanner's scratch space, which the next text
		// reuses: keep a copy.
		from := len(p.batchBytes)
		p.batchBytes = append(p.batchBytes, t...)
		p.batchFields = append(p.batchFields, batchedField{i, p.batchBytes[from:len(p.batchBytes):len(p.batchBytes)]})
	}
	if h.typ == vtUntyped {
		return nil // valueHead read </value> already
	}
	return p.endValue()
}

// plainValid reports whether the scalar of m, read by the fast path, is
// valid for its type, as anyValue would find it.
func plainValid(m *plainMember) bool {
	_, ok := plainAny(m, false)
	return ok
}

// plainAny returns the value of m, read by the fast path, in its
// canonical type, as anyValue would; when keep is false it only checks
// it. It reports false for a value the fast path leaves to the general
// one (which then gives the error, if any).
func plainAny(m *plainMember, keep bool) (any, bool) {
	switch m.typ {
	case vtUntyped, vtString:
		if !keep {
			return nil, true
		}
		return string(m.text), true
	case vtInt:
		n, ok := parseInt(trimSpace(m.text))
		return n, ok
	case vtBool:
		b, ok := parseBool(trimSpace(m.text))
		return b, ok
	case vtDouble:
		f, ok := parseDouble(trimSpace(m.text))
		return f, ok
	}
	return nil, false
}

// plainField stores the value of m, read by the fast path, in the field f
// of kind string, bool, integer or float (or a pointer to one), which
// field returns, and reports whether it did. It decides before it calls
// field, so that a member it leaves to the general path is read as if
// the fast path had never seen it; strings join the struct's batch.
func (p *parser) plainField(batch batchMark, f *field, field func() reflect.Value, m *plainMember) bool {
	switch f.kind {
	case reflect.String:
		if f.ptr || m.typ != vtString && m.typ != vtUntyped || len(m.text) > maxBatchedString {
			return false
		}
		field()
		p.batchFields = append(p.batchFields, batchedField{f.num, m.text})
		return true
	case reflect.Bool:
		if m.typ != vtBool {
			return false
		}
		b, ok := parseBool(trimSpace(m.text))
		if !ok {
			return false
		}
		plainTarget(f, field).SetBool(b)
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if m.typ != vtInt {
			return false
		}
		n, ok := parseInt(trimSpace(m.text))
		if !ok || f.bits < 64 && (n < -1<<(f.bits-1) || n >= 1<<(f.bits-1)) {
			return false
		}
		plainTarget(f, field).SetInt(n)
		return true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if m.typ != vtInt {
			return false
		}
		n, ok := parseInt(trimSpace(m.text))
		if !ok || n < 0 || f.bits < 64 && n >= 1<<f.bits {
			return false
		}
		plainTarget(f, field).SetUint(uint64(n))
		return true
	case reflect.Float64:
		if m.typ != vtDouble {
			return false
		}
		x, ok := parseDouble(trimSpace(m.text))
		if !ok {
			return false
		}
		plainTarget(f, field).SetFloat(x)
		return true
	}
	return false
}

// plainTarget is the value plainField sets: the field, or what the field
// points to, allocated if nil, as assign does.
func plainTarget(f *field, field func() reflect.Value) reflect.Value {
	if f.ptr {
		return indirect(field())
	}
	return field()
}

// growHint says by how many elements to grow a slice that is full after
// i elements of an array that began at offset start, each element of the
// slice taking size bytes: as many as the rest of the document holds if
// the elements to come are as long as those so far, but never more bytes
// of slice than there are bytes left in the document, so that a hostile
// document cannot make the slice much larger than itself. With no
// element read yet, it leaves the growth to append's rule.
func (p *parser) growHint(i, start, size int) int {
	left := len(p.buf) - p.pos
	if i == 0 || p.pos <= start || left <= 0 {
		return 1
	}
	n := left / ((p.pos-start)/i + 1)
	if size > 0 {
		n = min(n, left/size)
	}
	return max(n, 1)
}

// fieldSet records which fields of one struct a document has set.
type fieldSet struct {
	low  uint64
	high map[int]bool // fields from the 65th on, rare
}

// add marks field i and reports whether it was marked already.
func (s *fieldSet) add(i int) bool {
	if i < 64 {
		had := s.low&(1<<i) != 0
		s.low |= 1 << i
		return had
	}
	if s.high == nil {
		s.high = map[int]bool{}
	}
	had := s.high[i]
	s.high[i] = true
	return had
}

func setString(v reflect.Value, b []byte) error {
	if v.Kind() != reflect.String {
		return &TypeError{Value: "string", Type: v.Type()}
	}
	v.SetString(string(b))
	return nil
}

func setInt(v reflect.Value, n int64) error {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.OverflowInt(n) {
			break
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n < 0 || v.OverflowUint(uint64(n)) {
			break
		}
		v.SetUint(uint64(n))
		return nil
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n))
		return nil
	}
	return &TypeError{Value: "int " + strconv.FormatInt(n, 10), Type: v.Type()}
}

func setBool(v reflect.Value, b bool) error {
	if v.Kind() != reflect.Bool {
		return &TypeError{Value: "boolean", Type: v.Type()}
	}
	v.SetBool(b)
	return nil
}

func setFloat(v reflect.Value, f float64) error {
	switch v.Kind() {
	case reflect.Float64:
		v.SetFloat(f)
		return nil
	case reflect.Float32:
		if math.Abs(f) <= math.MaxFloat32 {
			v.SetFloat(f)
			return nil
		}
	}
	return &TypeError{Value: "double " + strconv.FormatFloat(f, 'g', -1, 64), Type: v.Type()}
}

func setDateTime(v reflect.Value, dt DateTime) error {
	switch v.Type() {
	case timeType:
		v.Set(reflect.ValueOf(dt.Time))
		return nil
	case dateTimeType:
		v.Set(reflect.ValueOf(dt))
		return nil
	}
	return &TypeError{Value: "dateTime.iso8601", Type: v.Type()}
}

// unmarshalValue stores the canonical value x in v. depth counts the
// enclosing arrays and structs, of which there may be at most maxDepth,
// so a hand-built cyclic value cannot recurse without bound.
func unmarshalValue(x any, v reflect.Value, depth, maxDepth int) error {
	if x == nil {
		v.SetZero()
		return nil
	}
	v = indirect(v)
	if v.Kind() == reflect.Interface {
		if v.NumMethod() != 0 {
			return &TypeError{Value: describeAny(x), Type: v.Type()}
		}
		v.Set(reflect.ValueOf(x))
		return nil
	}
	switch x := x.(type) {
	case string:
		if v.Kind() != reflect.String {
			return &TypeError{Value: "string", Type: v.Type()}
		}
		v.SetString(x)
		return nil
	case int64:
		return setInt(v, x)
	case bool:
		return setBool(v, x)
	case float64:
		return setFloat(v, x)
	case time.Time:
		return setDateTime(v, DateTime{Time: x})
	case DateTime:
		return setDateTime(v, x)
	case []byte:
		if !isByteSlice(v.Type()) {
			return &TypeError{Value: "base64", Type: v.Type()}
		}
		v.SetBytes(append([]byte{}, x...))
		return nil
	case []any:
		return unmarshalArray(x, v, depth+1, maxDepth)
	case map[string]any:
		return unmarshalStruct(x, v, depth+1, maxDepth)
	}
	// Values built by hand may use other Go types; accept them by kind.
	rx := reflect.ValueOf(x)
	switch rx.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return setInt(v, rx.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rx.Uint() > math.MaxInt64 {
			return &TypeError{Value: "int " + strconv.FormatUint(rx.Uint(), 10), Type: v.Type()}
		}
		return setInt(v, int64(rx.Uint()))
	case reflect.Float32, reflect.Float64:
		return setFloat(v, rx.Float())
	case reflect.String:
		if v.Kind() != reflect.String {
			return &TypeError{Value: "string", Type: v.Type()}
		}
		v.SetString(rx.String())
		return nil
	case reflect.Bool:
		return setBool(v, rx.Bool())
	}
	return &TypeError{Value: "Go value of type " + rx.Type().String(), Type: v.Type()}
}

func describeAny(x any) string {
	switch x := x.(type) {
	case string:
		return "string"
	case int64:
		return "int " + strconv.FormatInt(x, 10)
	case bool:
		return "boolean"
	case float64:
		return "double"
	case time.Time, DateTime:
		return "dateTime.iso8601"
	case []byte:
		return "base64"
	case []any:
		return "array"
	case map[string]any:
		return "struct"
	}
	return reflect.TypeOf(x).String()
}

func unmarshalArray(x []any, v reflect.Value, depth, maxDepth int) error {
	if depth > maxDepth {
		return &LimitError{Limit: LimitDepth, Max: int64(maxDepth)}
	}
	switch v.Kind() {
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), len(x), len(x)))
	case reflect.Array:
		if len(x) > v.Len() {
			return &TypeError{Value: "array of more than " + strconv.Itoa(v.Len()) + " values", Type: v.Type()}
		}
		for i := len(x); i < v.Len(); i++ {
			v.Index(i).SetZero()
		}
	default:
		return &TypeError{Value: "array", Type: v.Type()}
	}
	for i, e := range x {
		if err := unmarshalValue(e, v.Index(i), depth, maxDepth); err != nil {
			return withPath(err, func() string { return "[" + strconv.Itoa(i) + "]" })
		}
	}
	return nil
}

func unmarshalStruct(x map[string]any, v reflect.Value, depth, maxDepth int) error {
	if depth > maxDepth {
		return &LimitError{Limit: LimitDepth, Max: int64(maxDepth)}
	}
	switch {
	case v.Kind() == reflect.Struct && v.Type() != timeType && v.Type() != dateTimeType:
		si := cachedStructInfo(v.Type())
		if si.err != nil {
			return si.err
		}
		for name, e := range x {
			i, ok := si.byName[name]
			if !ok {
				continue
			}
			f := &si.fields[i]
			if err := unmarshalValue(e, fieldByIndex(v, f.index, true), depth, maxDepth); err != nil {
				return withPath(err, func() string { return "." + f.name })
			}
		}
		return nil
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(v.Type(), len(x)))
		}
		kt, et := v.Type().Key(), v.Type().Elem()
		for name, e := range x {
			elem := reflect.New(et).Elem()
			if err := unmarshalValue(e, elem, depth, maxDepth); err != nil {
				return withPath(err, func() string { return "." + name })
			}
			v.SetMapIndex(reflect.ValueOf(name).Convert(kt), elem)
		}
		return nil
	}
	return &TypeError{Value: "struct", Type: v.Type()}
}
