package xmlrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	A int `xmlrpc:"a"`
}

type Embedded struct {
	Shared string `xmlrpc:"shared"`
	Deep   int    `xmlrpc:"deep"`
}

type withEmbedded struct {
	Embedded
	*inner `xmlrpc:"-"`
	Shared string `xmlrpc:"shared"` // hides Embedded.Shared
	Own    int    `xmlrpc:"own"`
}

type twoSameNames struct {
	A int `xmlrpc:"x"`
	B int `xmlrpc:"x"`
}

type allKinds struct {
	I     int               `xmlrpc:"i"`
	I8    int8              `xmlrpc:"i8"`
	I32   int32             `xmlrpc:"i32"`
	U     uint              `xmlrpc:"u"`
	U16   uint16            `xmlrpc:"u16"`
	F32   float32           `xmlrpc:"f32"`
	F64   float64           `xmlrpc:"f64"`
	B     bool              `xmlrpc:"b"`
	S     string            `xmlrpc:"s"`
	P     *namedPort        `xmlrpc:"p"`
	T     time.Time         `xmlrpc:"t"`
	DT    DateTime          `xmlrpc:"dt"`
	Raw   []byte            `xmlrpc:"raw"`
	Arr   [2]int            `xmlrpc:"arr"`
	Slice []string          `xmlrpc:"slice"`
	Map   map[string]int    `xmlrpc:"map"`
	Any   any               `xmlrpc:"any"`
	Inner inner             `xmlrpc:"inner"`
	PIn   *inner            `xmlrpc:"pin"`
	Named map[namedKey]bool `xmlrpc:"named"`
}

type namedKey string

// typedCase decodes wire (the content of one <value>) into a new value of
// the type of want and compares, or expects an error of errType.
type typedCase struct {
	name    string
	wire    string
	want    any    // a pointer to the expected value
	errType string // "TypeError", "DecodeError", ... when decoding must fail
	errPath string // for a TypeError, the path it must report
}

func ptr[T any](v T) *T { return &v }

var typedCases = []typedCase{
	{name: "int", wire: "<int>42</int>", want: ptr(42)},
	{name: "§9#8 int32 rejects 2^31", wire: "<int>2147483648</int>", want: ptr(int32(0)), errType: "TypeError"},
	{name: "int8 range", wire: "<int>128</int>", want: ptr(int8(0)), errType: "TypeError"},
	{name: "uint rejects -1", wire: "<int>-1</int>", want: ptr(uint(0)), errType: "TypeError"},
	{name: "uint8 max", wire: "<int>255</int>", want: ptr(uint8(255))},
	{name: "named int", wire: "<int>1224</int>", want: ptr(namedPort(1224))},
	{name: "int into float", wire: "<int>3</int>", want: ptr(3.0)},
	{name: "float32 overflow", wire: "<double>1e39</double>", want: ptr(float32(0)), errType: "TypeError"},
	{name: "string into int", wire: "<string>1</string>", want: ptr(0), errType: "TypeError"},
	{name: "untyped into string", wire: "plain", want: ptr("plain")},
	{name: "untyped into named string", wire: "k", want: ptr(namedKey("k"))},
	{name: "bool into string", wire: "<boolean>1</boolean>", want: ptr(""), errType: "TypeError"},
	{name: "base64 into bytes", wire: "<base64>aGk=</base64>", want: ptr([]byte("hi"))},
	{name: "base64 into string", wire: "<base64>aGk=</base64>", want: ptr(""), errType: "TypeError"},
	{name: "string into bytes", wire: "<string>hi</string>", want: ptr([]byte(nil)), errType: "TypeError"},
	{name: "dateTime into time", wire: "<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>", want: ptr(v5Time)},
	{name: "dateTime without zone into DateTime", wire: "<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>", want: ptr(DateTime{Time: v5Time})},
	{name: "dateTime with zone into DateTime", wire: "<dateTime.iso8601>19980717T14:08:55Z</dateTime.iso8601>", want: ptr(DateTime{Time: v5Time, HasZone: true})},
	{name: "dateTime into string", wire: "<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>", want: ptr(""), errType: "TypeError"},
	{name: "string into time", wire: "<string>19980717T14:08:55</string>", want: ptr(time.Time{}), errType: "TypeError"},
	{name: "nil into pointer", wire: "<nil/>", want: ptr((*int)(nil))},
	{name: "pointer allocated", wire: "<int>5</int>", want: ptr(ptr(5))},
	{name: "array into slice", wire: "<array><data><value><int>1</int></value><value><int>2</int></value></data></array>", want: ptr([]int{1, 2})},
	{name: "empty array into slice is empty, not nil", wire: "<array><data></data></array>", want: ptr([]int{})},
	{name: "array into Go array", wire: "<array><data><value><int>1</int></value></data></array>", want: ptr([2]int{1, 0})},
	{name: "array too long for Go array", wire: "<array><data><value><int>1</int></value><value><int>2</int></value><value><int>3</int></value></data></array>", want: ptr([2]int{}), errType: "TypeError"},
	{name: "array element type error has a path", wire: "<array><data><value><int>1</int></value><value>x</value></data></array>", want: ptr([]int(nil)), errType: "TypeError", errPath: "[1]"},
	{name: "array into int", wire: "<array><data></data></array>", want: ptr(0), errType: "TypeError"},
	{name: "struct into map", wire: "<struct><member><name>a</name><value><int>1</int></value></member></struct>", want: ptr(map[string]int{"a": 1})},
	{name: "struct into map with named key", wire: "<struct><member><name>a</name><value><boolean>1</boolean></value></member></struct>", want: ptr(map[namedKey]bool{"a": true})},
	{name: "struct into int-keyed map", wire: "<struct></struct>", want: ptr(map[int]int(nil)), errType: "TypeError"},
	{name: "struct into Go struct, unknown members skipped", wire: "<struct><member><name>zzz</name><value><array><data><value>x</value></data></array></value></member><member><name>a</name><value><int>9</int></value></member></struct>", want: ptr(inner{A: 9})},
	{name: "skipped member is still validated", wire: "<struct><member><name>zzz</name><value><int>x</int></value></member></struct>", want: ptr(inner{}), errType: "DecodeError"},
	{name: "member type error has a path", wire: "<array><data><value><struct><member><name>a</name><value>x</value></member></struct></value></data></array>", want: ptr([]inner(nil)), errType: "TypeError", errPath: "[0].a"},
	{name: "value-first member into struct", wire: "<struct><member><value><int>4</int></value><name>a</name></member></struct>", want: ptr(inner{A: 4})},
	{name: "embedded fields promoted, shallower wins", wire: "<struct><member><name>shared</name><value>top</value></member><member><name>deep</name><value><int>2</int></value></member><member><name>own</name><value><int>3</int></value></member></struct>",
		want: ptr(withEmbedded{Embedded: Embedded{Deep: 2}, Shared: "top", Own: 3})},
	{name: "two fields for one name", wire: "<struct></struct>", want: ptr(twoSameNames{}), errType: "EncodeError"},
	{name: "everything into any", wire: "<array><data><value><i4>1</i4></value><value><struct><member><name>k</name><value><base64>aGk=</base64></value></member></struct></value></data></array>",
		want: ptr(any([]any{int64(1), map[string]any{"k": []byte("hi")}}))},
	{name: "all kinds", wire: `<struct>
		<member><name>i</name><value><int>-1</int></value></member>
		<member><name>i8</name><value><int>-128</int></value></member>
		<member><name>i32</name><value><i4>2147483647</i4></value></member>
		<member><name>u</name><value><int>7</int></value></member>
		<member><name>u16</name><value><int>65535</int></value></member>
		<member><name>f32</name><value><double>0.5</double></value></member>
		<member><name>f64</name><value><double>-2.25</double></value></member>
		<member><name>b</name><value><boolean>1</boolean></value></member>
		<member><name>s</name><value>str</value></member>
		<member><name>p</name><value><int>80</int></value></member>
		<member><name>t</name><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></member>
		<member><name>dt</name><value><dateTime.iso8601>19980717T14:08:55+00:00</dateTime.iso8601></value></member>
		<member><name>raw</name><value><base64>AAE=</base64></value></member>
		<member><name>arr</name><value><array><data><value><int>1</int></value><value><int>2</int></value></data></array></value></member>
		<member><name>slice</name><value><array><data><value>a</value></data></array></value></member>
		<member><name>map</name><value><struct><member><name>x</name><value><int>1</int></value></member></struct></value></member>
		<member><name>any</name><value><double>1.5</double></value></member>
		<member><name>inner</name><value><struct><member><name>a</name><value><int>3</int></value></member></struct></value></member>
		<member><name>pin</name><value><struct><member><name>a</name><value><int>4</int></value></member></struct></value></member>
		<member><name>named</name><value><struct><member><name>k</name><value><boolean>0</boolean></value></member></struct></value></member>
		</struct>`,
		want: ptr(allKinds{I: -1, I8: -128, I32: math.MaxInt32, U: 7, U16: 65535, F32: 0.5, F64: -2.25, B: true, S: "str",
			P: ptr(namedPort(80)), T: v5Time, DT: DateTime{Time: v5Time, HasZone: true}, Raw: []byte{0, 1}, Arr: [2]int{1, 2},
			Slice: []string{"a"}, Map: map[string]int{"x": 1}, Any: 1.5, Inner: inner{A: 3}, PIn: &inner{A: 4},
			Named: map[namedKey]bool{"k": false}})},
}

func checkTypedErr(t *testing.T, err error, tc typedCase) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", tc.errType)
	}
	var ok bool
	switch tc.errType {
	case "TypeError":
		var te *TypeError
		if ok = errors.As(err, &te); ok && te.Path != tc.errPath {
			t.Fatalf("TypeError path %q, want %q (%v)", te.Path, tc.errPath, err)
		}
	case "DecodeError":
		var de *DecodeError
		ok = errors.As(err, &de)
	case "EncodeError":
		var ee *EncodeError
		ok = errors.As(err, &ee)
	}
	if !ok {
		t.Fatalf("error %T (%v), want %s", err, err, tc.errType)
	}
}

func TestDecodeTyped(t *testing.T) {
	for _, tc := range typedCases {
		t.Run(tc.name, func(t *testing.T) {
			target := reflect.New(reflect.TypeOf(tc.want).Elem())
			err := DecodeResponse(strings.NewReader(responseDoc(tc.wire)), target.Interface())
			if tc.errType != "" {
				checkTypedErr(t, err, tc)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(target.Interface(), tc.want) {
				t.Fatalf("have %#v, want %#v", target.Elem().Interface(), reflect.ValueOf(tc.want).Elem().Interface())
			}
		})
	}
}

// TestUnmarshalMatchesDecode checks that converting the canonical value
// with Unmarshal gives the same result as decoding straight into the
// target, for every typed case whose document is valid.
func TestUnmarshalMatchesDecode(t *testing.T) {
	for _, tc := range typedCases {
		if tc.errType == "DecodeError" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			var canonical any
			if err := DecodeResponse(strings.NewReader(responseDoc(tc.wire)), &canonical); err != nil {
				t.Fatal(err)
			}
			target := reflect.New(reflect.TypeOf(tc.want).Elem())
			err := Unmarshal(canonical, target.Interface())
			if tc.errType != "" {
				if strings.Contains(tc.name, "DateTime") {
					return
				}
				checkTypedErr(t, err, tc)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := reflect.ValueOf(tc.want).Elem().Interface()
			if dt, ok := want.(DateTime); ok {
				// The canonical form keeps the time only, not whether it had a zone.
				want = DateTime{Time: dt.Time}
			}
			if ak, ok := want.(allKinds); ok {
				ak.DT.HasZone = false
				want = ak
			}
			if !reflect.DeepEqual(target.Elem().Interface(), want) {
				t.Fatalf("have %#v, want %#v", target.Elem().Interface(), want)
			}
		})
	}
}

func TestDecodeIntoExistingValues(t *testing.T) {
	// A slice is reset before decoding; struct fields absent from the
	// document keep their values; a map gains members.
	s := []int{9, 9, 9}
	if err := DecodeResponse(strings.NewReader(responseDoc("<array><data><value><int>1</int></value></data></array>")), &s); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, []int{1}) {
		t.Fatalf("slice: have %v, want [1]", s)
	}
	v := allKinds{S: "kept", I: 5}
	if err := DecodeResponse(strings.NewReader(responseDoc("<struct><member><name>i</name><value><int>6</int></value></member></struct>")), &v); err != nil {
		t.Fatal(err)
	}
	if v.S != "kept" || v.I != 6 {
		t.Fatalf("struct: have S=%q I=%d, want kept and 6", v.S, v.I)
	}
	m := map[string]int{"old": 1}
	if err := DecodeResponse(strings.NewReader(responseDoc("<struct><member><name>new</name><value><int>2</int></value></member></struct>")), &m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, map[string]int{"old": 1, "new": 2}) {
		t.Fatalf("map: have %v", m)
	}
}

func TestDecodeResponseTargetErrors(t *testing.T) {
	doc := responseDoc("<int>1</int>")
	var n int
	for _, target := range []any{n, (*int)(nil), map[string]int{}} {
		if err := DecodeResponse(strings.NewReader(doc), target); err == nil {
			t.Errorf("target %T accepted, want an error", target)
		}
	}
	if err := Unmarshal(int64(1), nil); err == nil {
		t.Error("Unmarshal into nil accepted")
	}
	if err := Unmarshal(int64(1), n); err == nil {
		t.Error("Unmarshal into a non-pointer accepted")
	}
}

func TestUnmarshalParams(t *testing.T) {
	var name string
	var count int
	if err := UnmarshalParams([]any{"x", int64(3)}, &name, &count); err != nil || name != "x" || count != 3 {
		t.Fatalf("have %q %d %v", name, count, err)
	}
	err := UnmarshalParams([]any{"x"}, &name, &count)
	var pe *ParamsError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "want 2 parameters, got 1") {
		t.Fatalf("count mismatch: have %v", err)
	}
	err = UnmarshalParams([]any{"x", "y"}, &name, &count)
	var te *TypeError
	if !errors.As(err, &pe) || !errors.As(err, &te) || !strings.Contains(pe.Msg, "parameter 2") {
		t.Fatalf("type mismatch: have %v, want a *ParamsError wrapping a *TypeError naming parameter 2", err)
	}
}

func TestUnmarshalHandBuiltValues(t *testing.T) {
	// Values built by hand (not decoded) may use other Go kinds.
	var v struct {
		N int     `xmlrpc:"n"`
		F float64 `xmlrpc:"f"`
		S string  `xmlrpc:"s"`
	}
	if err := Unmarshal(map[string]any{"n": 3, "f": float32(0.5), "s": namedKey("k")}, &v); err != nil {
		t.Fatal(err)
	}
	if v.N != 3 || v.F != 0.5 || v.S != "k" {
		t.Fatalf("have %+v", v)
	}
	var u uint8
	if err := Unmarshal(uint64(math.MaxUint64), &u); err == nil {
		t.Fatal("uint64 max into uint8 accepted")
	}
	// A cyclic value into a recursive type must stop, not recurse forever.
	type rec []rec
	cyclic := []any{nil}
	cyclic[0] = cyclic
	var sink rec
	var le *LimitError
	if err := Unmarshal(cyclic, &sink); !errors.As(err, &le) {
		t.Fatalf("cyclic value: have %v, want a *LimitError", err)
	}
}

func TestZonelessTimesUseTheDecoderLocation(t *testing.T) {
	loc := time.FixedZone("X", -5*3600)
	d := NewDecoder(strings.NewReader(responseDoc("<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>")))
	d.SetLocation(loc)
	var dt DateTime
	if err := d.DecodeResponse(&dt); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(1998, 7, 17, 14, 8, 55, 0, loc); !dt.Time.Equal(want) || dt.HasZone {
		t.Fatalf("have %v (zone %v), want %v without zone", dt.Time, dt.HasZone, want)
	}
	var buf strings.Builder
	e := NewEncoder(&buf)
	e.SetLocation(loc)
	if err := e.EncodeResponse(v5Time); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "19980717T09:08:55") {
		t.Fatalf("encoded in %v: %s", loc, buf.String())
	}
}

type hidden struct {
	When time.Time `xmlrpc:"when"`
	N    int       `xmlrpc:"n"`
}

type withUnexportedEmbedded struct {
	hidden
	Own int `xmlrpc:"own"`
}

// Fields of an unexported embedded struct cannot be reached with reflect;
// they are ignored in both directions instead of panicking.
func TestUnexportedEmbeddedStructIsIgnored(t *testing.T) {
	v := withUnexportedEmbedded{hidden: hidden{When: v5Time, N: 1}, Own: 2}
	var buf strings.Builder
	if err := EncodeResponse(&buf, v); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "when") || !strings.Contains(buf.String(), "<name>own</name>") {
		t.Fatalf("encoded %s", buf.String())
	}
	var got withUnexportedEmbedded
	doc := responseDoc("<struct><member><name>when</name><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></member><member><name>own</name><value><int>3</int></value></member></struct>")
	if err := DecodeResponse(strings.NewReader(doc), &got); err != nil || got.Own != 3 || !got.When.IsZero() {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	if err := Unmarshal(map[string]any{"n": int64(5), "own": int64(4)}, &got); err != nil || got.Own != 4 || got.N != 0 {
		t.Fatalf("unmarshalled %+v, %v", got, err)
	}
}

// nestedArrays is n arrays, each the only element of the one around it.
func nestedArrays(n int) any {
	var v any = []any{}
	for i := 1; i < n; i++ {
		v = []any{v}
	}
	return v
}

// nestedStructs is n structs, each the member "c" of the one around it.
func nestedStructs(n int) any {
	var v any = map[string]any{}
	for i := 1; i < n; i++ {
		v = map[string]any{"c": v}
	}
	return v
}

// Unmarshal walks at most DefaultMaxDepth nested arrays and structs, like
// a decoder with the default limits.
func TestUnmarshalDepthLimit(t *testing.T) {
	t.Parallel()
	type arrays []arrays
	type structs map[string]structs
	for _, tc := range []struct {
		name   string
		value  any
		target func() any
		ok     bool
	}{
		{"arrays at the limit", nestedArrays(DefaultMaxDepth), func() any { return new(arrays) }, true},
		{"arrays over the limit", nestedArrays(DefaultMaxDepth + 1), func() any { return new(arrays) }, false},
		{"structs at the limit", nestedStructs(DefaultMaxDepth), func() any { return new(structs) }, true},
		{"structs over the limit", nestedStructs(DefaultMaxDepth + 1), func() any { return new(structs) }, false},
		{"arrays in a struct over the limit", map[string]any{"c": nestedArrays(DefaultMaxDepth)}, func() any { return new(map[string]arrays) }, false},
	} {
		err := Unmarshal(tc.value, tc.target())
		var le *LimitError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: have %v, want nil", tc.name, err)
		case !tc.ok && (!errors.As(err, &le) || le.Limit != LimitDepth || le.Max != DefaultMaxDepth):
			t.Errorf("%s: have %v, want the nesting depth limit of %d", tc.name, err, DefaultMaxDepth)
		}
		err = UnmarshalParams([]any{tc.value}, tc.target())
		var pe *ParamsError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s, UnmarshalParams: have %v, want nil", tc.name, err)
		case !tc.ok && (!errors.As(err, &pe) || !errors.As(err, &le) || le.Max != DefaultMaxDepth):
			t.Errorf("%s, UnmarshalParams: have %v, want a *ParamsError wrapping the depth *LimitError", tc.name, err)
		}
	}
}

// MulticallResult.Decode walks as deep as the client accepted, not only
// DefaultMaxDepth; a MulticallResult built by hand has the default.
func TestMulticallResultDecodeDepth(t *testing.T) {
	t.Parallel()
	type arrays []arrays
	const depth = 2 * DefaultMaxDepth
	limits := Limits{MaxDepth: depth + 8} // room for the multicall wrapping
	srv := mustServer(t, WithMulticall(), WithLimits(limits))
	mustRegister(t, srv, "echo", func(_ context.Context, params []any) (any, error) { return params[0], nil })
	c, _ := startRPC(t, srv, WithLimits(limits))
	results, err := c.Multicall(context.Background(), MulticallEntry{Method: "echo", Params: []any{nestedArrays(depth)}})
	if err != nil {
		t.Fatal(err)
	}
	var got arrays
	if err := results[0].Decode(&got); err != nil {
		t.Fatalf("Decode of %d nested arrays from a client that accepts %d: have %v, want nil", depth, limits.MaxDepth, err)
	}
	var le *LimitError
	if err := (MulticallResult{Value: results[0].Value}).Decode(&got); !errors.As(err, &le) || le.Max != DefaultMaxDepth {
		t.Fatalf("Decode of a hand-built MulticallResult: have %v, want the default depth limit", err)
	}
}

// A struct member whose <value> comes before its <name> is decoded into
// any and then stored; the decoder's own depth limit applies to it, not
// the default.
func TestValueFirstMemberKeepsTheDecoderDepthLimit(t *testing.T) {
	t.Parallel()
	type nested []nested
	const depth = 2 * DefaultMaxDepth
	arrays := strings.Repeat("<array><data><value>", depth-1) + "<array><data></data></array>" + strings.Repeat("</value></data></array>", depth-1)
	doc := responseDoc("<struct><member><value>" + arrays + "</value><name>c</name></member></struct>")
	var got struct {
		C nested `xmlrpc:"c"`
	}
	d := NewDecoder(strings.NewReader(doc))
	d.SetLimits(Limits{MaxDepth: depth + 1})
	if err := d.DecodeResponse(&got); err != nil {
		t.Fatalf("depth %d under a limit of %d: have %v, want nil", depth+1, depth+1, err)
	}
	d = NewDecoder(strings.NewReader(doc))
	d.SetLimits(Limits{MaxDepth: depth})
	var le *LimitError
	if err := d.DecodeResponse(&got); !errors.As(err, &le) || le.Max != depth {
		t.Fatalf("depth %d under a limit of %d: have %v, want the nesting depth limit", depth+1, depth, err)
	}
}

// A target that is not a pointer is the handler's mistake, not the
// caller's: it is not a *ParamsError (which blames the parameters).
func TestUnmarshalParamsBadTarget(t *testing.T) {
	t.Parallel()
	var n int
	for _, targets := range [][]any{{n}, {nil}, {(*int)(nil)}} {
		err := UnmarshalParams([]any{int64(1)}, targets...)
		var pe *ParamsError
		if err == nil || errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "xmlrpc: UnmarshalParams target 1 needs a non-nil pointer") {
			t.Errorf("target %#v: have %v (%T), want an xmlrpc: UnmarshalParams error naming the target, not a *ParamsError", targets[0], err, err)
		}
	}
	// Also when the count is wrong: the handler is fixed first.
	if err := UnmarshalParams([]any{}, n); err == nil || errors.As(err, new(*ParamsError)) {
		t.Errorf("non-pointer target and a wrong count: have %v, want a usage error", err)
	}
	// The message of a parameter that does not fit names it without
	// repeating the package.
	err := UnmarshalParams([]any{"x"}, &n)
	var pe *ParamsError
	if want := "parameter 1: cannot decode string into Go value of type int"; !errors.As(err, &pe) || pe.Msg != want {
		t.Errorf("have %v, want Msg %q", err, want)
	}
}

// batchTarget has string fields, which the decoder sets from one shared
// allocation per struct, next to fields of other kinds.
type batchTarget struct {
	A    string `xmlrpc:"a"`
	B    string `xmlrpc:"b"`
	N    int    `xmlrpc:"n"`
	Tag  Tag    `xmlrpc:"tag"`
	Next *batchTarget
}

// Tag is a named string kind.
type Tag string

// TestStringFieldsKeepDocumentOrder checks that the string fields of a
// struct, set together when the struct ends, come out as if each had been
// set when its member was read: the last member of a name wins whatever
// the mix of short, long, untyped, nil, value-first and misfit values, and
// an error leaves the fields read before it set.
func TestStringFieldsKeepDocumentOrder(t *testing.T) {
	long := strings.Repeat("L", maxBatchedString+1)
	valueFirst := func(name, value string) string {
		return `<member><value>` + value + `</value><name>` + name + `</name></member>`
	}
	for _, c := range []struct {
		name    string
		members string
		want    batchTarget
		wantErr bool
	}{
		{"plain", refMember("a", "<string>x</string>") + refMember("n", "<int>3</int>") + refMember("b", "y"),
			batchTarget{A: "x", B: "y", N: 3}, false},
		{"repeated", refMember("a", "<string>1</string>") + refMember("b", "b") + refMember("a", "<string>2</string>"),
			batchTarget{A: "2", B: "b"}, false},
		{"then nil", refMember("a", "<string>1</string>") + refMember("a", "<nil/>") + refMember("b", "b"),
			batchTarget{B: "b"}, false},
		{"nil then string", refMember("a", "<nil/>") + refMember("a", "<string>2</string>"),
			batchTarget{A: "2"}, false},
		{"short then long", refMember("a", "s") + refMember("a", long), batchTarget{A: long}, false},
		{"long then short", refMember("a", long) + refMember("b", "b") + refMember("a", "s"), batchTarget{A: "s", B: "b"}, false},
		{"value first after name first", refMember("a", "1") + valueFirst("a", "<string>2</string>") + refMember("b", "b"),
			batchTarget{A: "2", B: "b"}, false},
		{"name first after value first", valueFirst("a", "1") + refMember("a", "2"), batchTarget{A: "2"}, false},
		{"entities", refMember("a", "<string>x&amp;y</string>") + refMember("b", "&lt;&#65;&gt;") + refMember("tag", "<![CDATA[t]]>"),
			batchTarget{A: "x&y", B: "<A>", Tag: "t"}, false},
		{"nested", refMember("a", "outer") + refMember("Next", `<struct>`+refMember("a", "inner")+refMember("b", "ib")+`</struct>`) + refMember("b", "ob"),
			batchTarget{A: "outer", B: "ob", Next: &batchTarget{A: "inner", B: "ib"}}, false},
		{"misfit value", refMember("a", "1") + refMember("b", "<int>2</int>") + refMember("n", "<int>3</int>"),
			batchTarget{A: "1"}, true},
		{"error later", refMember("a", "1") + refMember("b", "2") + refMember("n", "<int>x</int>"),
			batchTarget{A: "1", B: "2"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var have batchTarget
			err := DecodeResponse(strings.NewReader(refResponse(`<struct>`+c.members+`</struct>`)), &have)
			if (err != nil) != c.wantErr {
				t.Fatalf("have error %v, want error: %v", err, c.wantErr)
			}
			if !reflect.DeepEqual(have, c.want) {
				t.Fatalf("have %+v, want %+v", have, c.want)
			}
			if err != nil {
				return
			}
			// The same as decoding into any and converting.
			var v any
			if err := DecodeResponse(strings.NewReader(refResponse(`<struct>`+c.members+`</struct>`)), &v); err != nil {
				t.Fatal(err)
			}
			var conv batchTarget
			if err := Unmarshal(v, &conv); err != nil || !reflect.DeepEqual(conv, have) {
				t.Fatalf("Unmarshal gives %+v, %v; DecodeResponse %+v", conv, err, have)
			}
		})
	}
}

// TestSliceGrowthIsBounded checks that the capacity a decoded slice is
// given ahead, from the length of the elements read so far, is never much
// larger than what the document could still hold.
func TestSliceGrowthIsBounded(t *testing.T) {
	type big struct{ Pad [4096]byte }
	// Two tiny elements, then a long string: the estimate from the first
	// elements must not turn the rest of the document into thousands of
	// 4 KiB elements.
	doc := refResponse(`<array><data><value><struct></struct></value><value><struct></struct></value></data></array>`)
	doc = strings.Replace(doc, "</param>", "</param>"+strings.Repeat(" ", 1<<16), 1)
	var have []big
	err := DecodeResponse(strings.NewReader(doc), &have)
	if err != nil || len(have) != 2 {
		t.Fatalf("have %d elements, %v", len(have), err)
	}
	if bytes := cap(have) * 4096; bytes > 2*len(doc) {
		t.Fatalf("the slice has room for %d elements (%d bytes) for a document of %d bytes", cap(have), bytes, len(doc))
	}
	var vessels []benchVessel
	data := readPayload(t, "1000")
	if err := DecodeResponse(bytes.NewReader(data), &vessels); err != nil || len(vessels) != 1000 {
		t.Fatalf("have %d vessels, %v", len(vessels), err)
	}
	if cap(vessels) > 2*len(vessels) {
		t.Fatalf("1000 vessels in a slice of capacity %d", cap(vessels))
	}
}

// plainKinds has a field of every kind the fast path for plain members
// sets itself, and some it leaves to the general path.
type plainKinds struct {
	S   string   `xmlrpc:"s"`
	I8  int8     `xmlrpc:"i8"`
	I   int      `xmlrpc:"i"`
	U8  uint8    `xmlrpc:"u8"`
	U   uint64   `xmlrpc:"u"`
	B   bool     `xmlrpc:"b"`
	PB  *bool    `xmlrpc:"pb"`
	PI  *int32   `xmlrpc:"pi"`
	PS  *string  `xmlrpc:"ps"`
	F   float64  `xmlrpc:"f"`
	F32 float32  `xmlrpc:"f32"`
	Any any      `xmlrpc:"any"`
	PPI **int    `xmlrpc:"ppi"`
	T   Tag      `xmlrpc:"t"`
	L   []string `xmlrpc:"l"`
}

// TestPlainMembersMatchGeneralPath decodes members that the fast path
// reads (see readPlainMember) and the same members with an empty comment
// after <member>, which sends each of them down the general path: values
// and errors must be the same, into a struct and into any, for values
// that fit, overflow, fail to parse or have the wrong type.
func TestPlainMembersMatchGeneralPath(t *testing.T) {
	members := []string{
		refMember("s", "<string>x</string>"), refMember("s", "untyped"), refMember("s", ""), refMember("s", "<string></string>"),
		refMember("s", "<int>1</int>"), refMember("i8", "<int>127</int>"), refMember("i8", "<i4>128</i4>"), refMember("i8", "<int>-128</int>"),
		refMember("i8", "<int>-129</int>"), refMember("i", "<i8>-9223372036854775808</i8>"), refMember("i", "<int> 42 </int>"),
		refMember("i", "<int>4x</int>"), refMember("i", "<string>4</string>"), refMember("u8", "<int>255</int>"),
		refMember("u8", "<int>256</int>"), refMember("u8", "<int>-1</int>"), refMember("u", "<i8>9223372036854775807</i8>"),
		refMember("b", "<boolean>1</boolean>"), refMember("b", "<boolean>true</boolean>"), refMember("b", "<boolean>2</boolean>"),
		refMember("pb", "<boolean>0</boolean>"), refMember("pi", "<int>7</int>"), refMember("pi", "<int>2147483648</int>"),
		refMember("ps", "<string>p</string>"), refMember("f", "<double>1.5</double>"), refMember("f", "<double>1e400</double>"),
		refMember("f", "<int>3</int>"), refMember("f32", "<double>1.5</double>"), refMember("any", "<int>5</int>"),
		refMember("ppi", "<int>5</int>"), refMember("t", "tag"), refMember("l", "<string>x</string>"),
		refMember("unknown", "<int>x</int>"), refMember("unknown", "<double>1</double>"), refMember("unknown", "<boolean>x</boolean>"),
		refMember("unknown", "<dateTime.iso8601>x</dateTime.iso8601>"), refMember("s", "a&amp;b"), refMember("s", "<string>&#65;</string>"),
		"<member>\n <name>i</name>\n <value> <int>9</int> </value>\n</member>",
	}
	describe := func(err error) string {
		var de *DecodeError
		if errors.As(err, &de) {
			return "DecodeError " + de.Msg
		}
		return fmt.Sprintf("%T %v", err, err)
	}
	for _, member := range members {
		for _, pair := range [][2]string{{member, member}, {member + refMember("s", "last"), member + refMember("s", "last")}} {
			plain := refResponse("<struct>" + pair[0] + "</struct>")
			general := refResponse("<struct>" + strings.ReplaceAll(pair[1], "<member>", "<member><!---->") + "</struct>")
			var pt, gt plainKinds
			perr := DecodeResponse(strings.NewReader(plain), &pt)
			gerr := DecodeResponse(strings.NewReader(general), &gt)
			if describe(perr) != describe(gerr) || !reflect.DeepEqual(pt, gt) {
				t.Errorf("%s:\nfast path    %+v, %v\ngeneral path %+v, %v", pair[0], pt, perr, gt, gerr)
			}
			var pa, ga any
			perr = DecodeResponse(strings.NewReader(plain), &pa)
			gerr = DecodeResponse(strings.NewReader(general), &ga)
			if describe(perr) != describe(gerr) || !equalValues(pa, ga) {
				t.Errorf("%s into any:\nfast path    %#v, %v\ngeneral path %#v, %v", pair[0], pa, perr, ga, gerr)
			}
		}
	}
	// The element limit falls inside a member: the fast path must leave it
	// to the general path, which reports the limit.
	doc := refResponse("<struct>" + refMember("i", "<int>1</int>") + refMember("s", "<string>x</string>") + "</struct>")
	for max := 1; max <= 14; max++ { // the document has 13 start tags
		d := NewDecoder(strings.NewReader(doc))
		d.SetLimits(Limits{MaxElements: max})
		var v plainKinds
		err := d.DecodeResponse(&v)
		var le *LimitError
		if want := max < 13; want != errors.As(err, &le) || want && le.Limit != LimitElements {
			t.Errorf("MaxElements %d: have %v, want a limit error: %v", max, err, want)
		}
	}
}
