package xmlrpc

import (
	"reflect"
	"strings"
	"sync"
	"time"
)

var (
	timeType     = reflect.TypeFor[time.Time]()
	dateTimeType = reflect.TypeFor[DateTime]()
	anyMapType   = reflect.TypeFor[map[string]any]()
)

// field is one XML-RPC member of a Go struct type.
type field struct {
	name      string
	index     []int // field index path; longer than one for promoted fields
	typ       reflect.Type
	omitEmpty bool
	open      string // "<member><name>NAME</name><value>", NAME escaped
	openErr   error  // set when NAME cannot be written as XML
	// For the decoder's fast path (plainField): the field's number in
	// structInfo.fields, and the kind and size in bits of the field or,
	// when ptr, of what it points to.
	num  int
	kind reflect.Kind
	ptr  bool
	bits int
}

// structInfo describes how a struct type maps to an XML-RPC <struct>.
type structInfo struct {
	fields []field        // in declaration order, as encoded
	byName map[string]int // member name to index into fields
	err    error          // set when two fields claim the same member name
}

var structCache sync.Map // reflect.Type -> *structInfo

func cachedStructInfo(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si, _ := structCache.LoadOrStore(t, buildStructInfo(t))
	return si.(*structInfo)
}

// buildStructInfo lists the exported fields of t, with the fields of
// untagged exported embedded structs promoted as Go promotes them: a shallower field
// hides a deeper one of the same name, and two of the same name at the same
// depth make the type unusable (an error for both directions, rather than a
// silent choice).
func buildStructInfo(t reflect.Type) *structInfo {
	type candidate struct {
		field
		depth int
	}
	var all []candidate
	var walk func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, index []int, depth int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("xmlrpc")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			path := append(append([]int(nil), index...), i)
			if sf.Anonymous && name == "" {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() {
					// Values reached through an unexported field cannot be
					// read or set with reflect, so its fields are ignored.
					continue
				}
				if ft.Kind() == reflect.Struct && ft != timeType && ft != dateTimeType {
					walk(ft, path, depth+1, seen)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			all = append(all, candidate{field{
				name:      name,
				index:     path,
				typ:       sf.Type,
				omitEmpty: hasOption(opts, "omitempty"),
			}, depth})
		}
	}
	walk(t, nil, 0, map[reflect.Type]bool{})

	si := &structInfo{byName: make(map[string]int, len(all))}
	type claim struct{ first, depth, count int }
	claims := make(map[string]*claim, len(all))
	for i, c := range all {
		cl := claims[c.name]
		switch {
		case cl == nil:
			claims[c.name] = &claim{first: i, depth: c.depth, count: 1}
		case c.depth < cl.depth:
			*cl = claim{first: i, depth: c.depth, count: 1}
		case c.depth == cl.depth:
			cl.count++
		}
	}
	for i, c := range all {
		cl := claims[c.name]
		if cl.first != i {
			continue
		}
		if cl.count > 1 && si.err == nil {
			si.err = encodeErrorf("struct %s has two fields for member name %q", t, c.name)
		}
		f := c.field
		f.num, f.kind = len(si.fields), f.typ.Kind()
		if et := f.typ; f.kind == reflect.Pointer {
			f.kind, f.ptr = et.Elem().Kind(), true
			if f.kind == reflect.Pointer {
				f.kind = reflect.Invalid // deeper pointers: the general path
			}
		}
		switch f.kind {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			elem := f.typ
			if f.ptr {
				elem = elem.Elem()
			}
			f.bits = elem.Bits()
		}
		name, err := appendEscaped(nil, f.name)
		f.open, f.openErr = "<member><name>"+string(name)+"</name><value>", err
		si.byName[c.name] = len(si.fields)
		si.fields = append(si.fields, f)
	}
	return si
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// fieldByIndex returns the field of v at index, allocating nil embedded
// pointers on the way when alloc is true. It returns an invalid Value when
// a nil embedded pointer is met and alloc is false.
func fieldByIndex(v reflect.Value, index []int, alloc bool) reflect.Value {
	if len(index) == 1 {
		return v.Field(index[0])
	}
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc {
					return reflect.Value{}
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}
