package xmlrpc

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets for the decoder, the encoder and the dateTime parser. Run
// one with, for example,
//
//	go test -run='^$' -fuzz='^FuzzDifferential$' -fuzztime=3m ./xmlrpc/
//
// Plain `go test` runs the seeds below and those in testdata/fuzz.

// equalValues compares canonical decoded values: times by instant, byte slices
// by content (nil and empty alike), floats by bits.
func equalValues(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case int64:
		b, ok := b.(int64)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case string:
		b, ok := b.(string)
		return ok && a == b
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Equal(b)
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equalValues(av, bv) {
				return false
			}
		}
		return true
	}
	return false
}

// fzWholeSeconds returns v with every time truncated to the second, as
// the encoder writes it (§3.3).
func fzWholeSeconds(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.Add(-time.Duration(v.Nanosecond()))
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = fzWholeSeconds(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = fzWholeSeconds(e)
		}
		return out
	}
	return v
}

// equalTyped compares two typed Go values of the same type: times by
// instant (a DateTime's HasZone is not compared: only the direct decode
// path can know it), nil and empty slices and maps alike.
func equalTyped(a, b reflect.Value) bool {
	switch a.Type() {
	case timeType:
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	case dateTimeType:
		return a.Interface().(DateTime).Time.Equal(b.Interface().(DateTime).Time)
	}
	switch a.Kind() {
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalValues(a.Elem().Interface(), b.Elem().Interface())
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalTyped(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !equalTyped(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalTyped(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for it := a.MapRange(); it.Next(); {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !equalTyped(it.Value(), bv) {
				return false
			}
		}
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	}
	panic("equalTyped: unexpected kind " + a.Kind().String())
}

// fzEncoder encodes everything a decoder can produce.
func fzEncoder(w io.Writer) *Encoder {
	e := NewEncoder(w)
	e.SetI8(true)
	e.SetAllowNil(true)
	return e
}

// Typed targets for DecodeResponse.
type fzInner struct {
	X int64          `xmlrpc:"x"`
	Y []string       `xmlrpc:"y"`
	M map[string]int `xmlrpc:"m"`
}

// FzEmbedded is exported so that the embedded pointer to it is settable.
type FzEmbedded struct {
	E string `xmlrpc:"e"`
}

type fzTarget struct {
	I   int32          `xmlrpc:"i"`
	U   uint8          `xmlrpc:"u"`
	S   string         `xmlrpc:"s"`
	B   bool           `xmlrpc:"b"`
	F   float32        `xmlrpc:"f"`
	D   float64        `xmlrpc:"d"`
	T   time.Time      `xmlrpc:"t"`
	DT  DateTime       `xmlrpc:"dt"`
	Raw []byte         `xmlrpc:"raw"`
	Any any            `xmlrpc:"any"`
	P   *int           `xmlrpc:"p"`
	In  fzInner        `xmlrpc:"in"`
	PIn *fzInner       `xmlrpc:"pin"`
	L   []fzInner      `xmlrpc:"l"`
	A   [2]int8        `xmlrpc:"a"`
	MM  map[string]any `xmlrpc:"mm"`
	Not string         `xmlrpc:"-"`
	*FzEmbedded
}

var fzTargetTypes = []reflect.Type{
	reflect.TypeFor[fzTarget](),
	reflect.TypeFor[[]fzTarget](),
	reflect.TypeFor[map[string]fzInner](),
	reflect.TypeFor[[]int](),
	reflect.TypeFor[[3]float64](),
	reflect.TypeFor[*int](),
	reflect.TypeFor[DateTime](),
	reflect.TypeFor[[]byte](),
	reflect.TypeFor[string](),
	reflect.TypeFor[map[string]any](),
}

// fzCheckTyped decodes data into each typed target. v and err are the
// result of decoding data into an any. A document the any decode rejects
// must be rejected; a fault must be the same fault; on a valid document a
// typed decode may only fail with a *TypeError, and when it succeeds it
// must agree with Unmarshal of the any value (the documented "same rules").
func fzCheckTyped(t *testing.T, data []byte, v any, err error) {
	t.Helper()
	var fault *Fault
	isFault := errors.As(err, &fault)
	for _, typ := range fzTargetTypes {
		direct := reflect.New(typ)
		derr := DecodeResponse(bytes.NewReader(data), direct.Interface())
		var dfault *Fault
		var te *TypeError
		switch {
		case isFault:
			if !errors.As(derr, &dfault) || *dfault != *fault {
				t.Fatalf("into %v: have %v, want fault %v", typ, derr, fault)
			}
		case err != nil:
			if derr == nil {
				t.Fatalf("into %v: accepted a document that decoding into any rejects (%v)", typ, err)
			}
		case derr != nil:
			if !errors.As(derr, &te) {
				t.Fatalf("into %v: valid document, but the error is not a *TypeError: %v", typ, derr)
			}
		default:
			via := reflect.New(typ)
			if uerr := Unmarshal(v, via.Interface()); uerr != nil {
				t.Fatalf("into %v: decoding succeeded but Unmarshal of %#v failed: %v", typ, v, uerr)
			}
			if !equalTyped(direct.Elem(), via.Elem()) {
				t.Fatalf("into %v: decoding gives %#v, Unmarshal of %#v gives %#v",
					typ, direct.Elem().Interface(), v, via.Elem().Interface())
			}
		}
	}
}

var fzMethodName = regexp.MustCompile(`^[A-Za-z0-9_.:/]{1,256}$`)

// fzXMLText reports whether s can be written as XML character data.
func fzXMLText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !refIsChar(r) {
			return false
		}
	}
	return true
}

// ---- Seeds ----

// fzValues are <value> contents: spec §9, the V5 values, and more.
var fzValues = []string{
	`abc`, "  a b  ", ``, `<string/>`, `<string>  padded  </string>`, "\n   <i4>5</i4>\n   ",
	`<int> 42 </int>`, `<int>+42</int>`, `<int>007</int>`, `<int>-0</int>`, `<int>2147483648</int>`,
	`<int></int>`, `<int>12x</int>`, `<int>1.0</int>`, `<int>1_000</int>`, `<int>0x10</int>`,
	`<i8>9223372036854775807</i8>`, `<i8>-9223372036854775808</i8>`, `<i8>9223372036854775808</i8>`,
	`<ex:i8 xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">5</ex:i8>`, `<i1>1</i1>`, `<x:i2>2</x:i2>`,
	`<nil/>`, `<ex:nil/>`, `<nil> </nil>`, `<nil>x</nil>`,
	`<boolean>true</boolean>`, `<boolean></boolean>`, `<boolean> 1 </boolean>`, `<boolean>0</boolean>`, `<boolean>2</boolean>`,
	`<double>1e10</double>`, `<double>.5</double>`, `<double>1.</double>`, `<double>-0.0</double>`, `<double>-12.214</double>`,
	`<double>NaN</double>`, `<double>inf</double>`, `<double>-Infinity</double>`, `<double>1,5</double>`,
	`<double></double>`, `<double>1.7976931348623157e309</double>`, `<double>4.9e-324</double>`, `<double>1e-400</double>`,
	`<double>0x1p3</double>`, `<double>1e</double>`, `<double>123456789012345678901234567890</double>`,
	`<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>`, `<dateTime.iso8601>1998-07-17T14:08:55</dateTime.iso8601>`,
	`<dateTime.iso8601>19980717T14:08:55Z</dateTime.iso8601>`, `<dateTime.iso8601>1998-07-17T14:08:55+02:00</dateTime.iso8601>`,
	`<dateTime.iso8601>1998-07-17T14:08:55+0200</dateTime.iso8601>`, `<dateTime.iso8601>19980717T140855</dateTime.iso8601>`,
	`<dateTime.iso8601>19980717T14:08:55.123</dateTime.iso8601>`, `<dateTime.iso8601>hello</dateTime.iso8601>`,
	`<dateTime.iso8601></dateTime.iso8601>`, `<dateTime.iso8601>19980230T00:00:00</dateTime.iso8601>`,
	`<dateTime.iso8601>00000101T00:00:00+01:00</dateTime.iso8601>`, `<dateTime.iso8601>99991231T23:59:59-00:01</dateTime.iso8601>`,
	`<dateTime.iso8601> 20000229T23:59:59.999999999999-2359 </dateTime.iso8601>`,
	`<base64>aGVsbG8=</base64>`, "<base64>\naGVs\nbG8=\n</base64>", `<base64>aGVsbG8</base64>`, `<base64>a$GVsbG8=</base64>`,
	`<base64>eW91IGNhbid0IHJlYWQgdGhpcyE=</base64>`, `<base64/>`, `<base64>QQ=</base64>`, `<base64>QR==</base64>`, `<base64>-_8=</base64>`,
	`<struct><member><name>a</name><value><int>1</int></value></member><member><name>a</name><value><int>2</int></value></member></struct>`,
	`<struct></struct>`, `<struct/>`, `<array><data/></array>`, `<array></array>`, `<array/>`,
	`<struct><member><value>1</value></member></struct>`, `<struct><member><value>1</value><name>n</name></member></struct>`,
	`<string>ab<!-- c -->cd</string>`, `<string>x<![CDATA[<y>]]>z</string>`, `&lt;&amp;&gt;&quot;&apos;&#65;&#x42;`,
	`&nbsp;`, "a\r\nb&#13;c", `abc<string>x</string>`, `<foo>1</foo>`, `<ex:serializable>rO0=</ex:serializable>`,
	`<string>a]]>b</string>`, `<string>&#0;</string>`, `<string>&#xD800;</string>`, `<string>&#00000000000065;</string>`,
	`<ex:array><data></data></ex:array>`, `<ex:array><data></data></array>`, `<ex:struct></struct>`, `<a:b:int>1</a:b:int>`,
	`<é:int>1</é:int>`, `<string a="1" b:c:d='2' é="3">v</string>`, `<string a="1"b="2">v</string>`, "<string>a<?pi x?>b</string>",
	`<array><data><value><int>-42</int></value><value><boolean>1</boolean></value><value><string>x&lt;y&amp;z</string></value>` +
		`<value><double>-12.214</double></value><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value>` +
		`<value><base64>eW91IGNhbid0IHJlYWQgdGhpcyE=</base64></value></data></array>`,
	// Members named after the typed targets' fields, with duplicates.
	`<struct><member><name>i</name><value><int>-5</int></value></member><member><name>u</name><value><i4>255</i4></value></member>` +
		`<member><name>s</name><value>str</value></member><member><name>b</name><value><boolean>1</boolean></value></member>` +
		`<member><name>f</name><value><double>1.5</double></value></member><member><name>d</name><value><int>3</int></value></member>` +
		`<member><name>t</name><value><dateTime.iso8601>19980717T14:08:55+01:00</dateTime.iso8601></value></member>` +
		`<member><name>dt</name><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></member>` +
		`<member><name>raw</name><value><base64>AAE=</base64></value></member><member><name>any</name><value><nil/></value></member>` +
		`<member><name>p</name><value><int>7</int></value></member>` +
		`<member><name>in</name><value><struct><member><name>x</name><value><i8>1</i8></value></member>` +
		`<member><name>y</name><value><array><data><value>a</value></data></array></value></member>` +
		`<member><name>m</name><value><struct><member><name>k</name><value><int>1</int></value></member></struct></value></member></struct></value></member>` +
		`<member><name>in</name><value><struct><member><name>m</name><value><struct><member><name>j</name><value><int>2</int></value></member></struct></value></member></struct></value></member>` +
		`<member><name>pin</name><value><struct/></value></member>` +
		`<member><name>l</name><value><array><data><value><struct/></value></data></array></value></member>` +
		`<member><name>a</name><value><array><data><value><int>1</int></value></data></array></value></member>` +
		`<member><name>mm</name><value><struct><member><name>z</name><value/></member></struct></value></member>` +
		`<member><name>e</name><value>emb</value></member><member><name>-</name><value>1</value></member></struct>`,
	`<struct><member><name>a</name><value><int>1</int></value></member><member><value><int>2</int></value><name>b</name></member></struct>`,
	`<array><data><value><int>1</int></value><value><int>2</int></value><value><int>3</int></value><value><int>4</int></value></data></array>`,
	refNested(128), refNested(129),
}

// fzDocs are whole documents.
var fzDocs = []string{
	refV5Project, refV5CPython,
	`<?xml version='1.0'?>
<methodResponse>
<params>
<param>
<value><struct>
<member>
<name>faultish</name>
<value><string>&lt;fault&gt;</string></value>
</member>
</struct></value>
</param>
</params>
</methodResponse>
`,
	`<?xml version='1.0'?>
<methodResponse>
<fault>
<value><struct>
<member>
<name>faultCode</name>
<value><int>-32601</int></value>
</member>
<member>
<name>faultString</name>
<value><string>method not found</string></value>
</member>
</struct></value>
</fault>
</methodResponse>
`,
	refFaultDoc(refMember("faultCode", "<string> 4 </string>") + refMember("faultString", "four") + refMember("extra", "<nil/>")),
	refFaultDoc(refMember("faultCode", "<i8>2147483648</i8>") + refMember("faultString", "big")),
	refFaultDoc(refMember("faultString", "<int>1</int>") + refMember("faultCode", "1")),
	`<methodResponse><fault><struct>` + refMember("faultCode", "<int>1</int>") + `</struct></fault></methodResponse>`,
	`<methodResponse><fault><value><array/></value></fault></methodResponse>`,
	`<methodResponse><params><param><value>1</value></param></params><fault><value><struct/></value></fault></methodResponse>`,
	`<methodResponse><params><param><value>1</value></param><param><value>2</value></param></params></methodResponse>`,
	`<methodResponse><params/></methodResponse>`, `<methodResponse></methodResponse>`, `<methodResponse/>`,
	`<methodCall><methodName>system.listMethods</methodName></methodCall>`,
	`<methodCall><methodName> a.b </methodName><params/></methodCall>`,
	`<methodCall><methodName>a&lt;b c</methodName><params><param><value><i4>1</i4></value></param></params></methodCall>`,
	`<methodCall><methodName></methodName></methodCall>`, `<methodCall><params/></methodCall>`,
	`<methodCall><methodName>a</methodName><params><param/></params></methodCall>`,
	"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodResponse><params><param><value>caf\xe9</value></param></params></methodResponse>",
	"<?xml version=\"1.0\" encoding=\"cp1252\"?><methodCall><methodName>m</methodName><params><param><value>\x80\x81\x9f</value></param></params></methodCall>",
	"<?xml version=\"1.0\" encoding=\"US-ASCII\"?><methodResponse><params><param><value>caf\xe9</value></param></params></methodResponse>",
	"<methodResponse><params><param><value>caf\xe9</value></param></params></methodResponse>",
	"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"latin-1\" standalone=\"yes\" ?>\r\n<methodResponse><params><param><value>a\rb</value></param></params></methodResponse>\r\n",
	`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "hello">]><methodResponse><params><param><value>&e;</value></param></params></methodResponse>`,
	`<?xml version="1.1"?><methodResponse/>`, `<?xml encoding="utf8"?><methodResponse/>`,
	` <?xml version="1.0"?><methodResponse/>`,
	`<!-- c --><?pi x?><methodResponse><params><param><value>a<?pi?>b</value></param></params></methodResponse><!-- e --><?pi?>`,
	`<methodResponse><params><param><value>x</value></param></params></methodResponse><methodResponse/>`,
	`<methodResponse><![CDATA[ ]]><params><param><value>x</value></param></params></methodResponse>`,
	"\xff\xfe<\x00",
	// Lexical corners the spec leaves open, where the fast decoder's choice is followed.
	refResponse(`<é:i4 é:a='1' ·='2' a:b:c:d='3' _a="&amp;">1</é:i4>`), refResponse(`<__:i4>1</_:i4>`),
	refResponse(`]]]><string><![CDATA[]]]]><![CDATA[>]]></string>`), refResponse(`<!--->-->a<!---->b<?é x?>c<?a:b:c?>`),
	"<?xml version=\"1.0\" encoding=\"latin1\"?><methodResponse><params><param><value><\xe9:int \xb7='\xe9'>1</\xe9:int></value></param></params></methodResponse>",
}

func fzSeedDocs() [][]byte {
	var docs [][]byte
	for _, v := range fzValues {
		docs = append(docs, []byte(refResponse(v)))
		docs = append(docs, []byte(`<methodCall><methodName>m</methodName><params><param><value>`+v+`</value></param></params></methodCall>`))
	}
	for _, d := range fzDocs {
		docs = append(docs, []byte(d))
	}
	return docs
}

func fzAddDocs(f *testing.F) {
	for _, d := range fzSeedDocs() {
		f.Add(d)
	}
}

// ---- Targets ----

func FuzzDecodeResponse(f *testing.F) {
	fzAddDocs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		err := DecodeResponse(bytes.NewReader(data), &v)
		var fault *Fault
		isFault := errors.As(err, &fault)

		verr := DecodeResponse(bytes.NewReader(data), nil)
		var vfault *Fault
		if (verr == nil) != (err == nil) || isFault != errors.As(verr, &vfault) || isFault && *vfault != *fault {
			t.Fatalf("validating gives %v, decoding into any gives %v", verr, err)
		}
		if err == nil || isFault {
			if _, _, cerr := DecodeCall(bytes.NewReader(data)); cerr == nil {
				t.Fatal("a methodResponse was accepted as a methodCall")
			}
		}
		fzCheckTyped(t, data, v, err)

		var buf bytes.Buffer
		switch {
		case isFault:
			if err := fzEncoder(&buf).EncodeFault(fault); err != nil {
				t.Fatalf("decoded fault %v does not re-encode: %v", fault, err)
			}
			var back *Fault
			if err := DecodeResponse(&buf, nil); !errors.As(err, &back) || *back != *fault {
				t.Fatalf("fault %v re-encoded as %q decodes to %v", fault, buf.Bytes(), err)
			}
		case err == nil:
			if err := fzEncoder(&buf).EncodeResponse(v); err != nil {
				t.Fatalf("decoded value %#v does not re-encode: %v", v, err)
			}
			var back any
			if err := DecodeResponse(bytes.NewReader(buf.Bytes()), &back); err != nil {
				t.Fatalf("re-encoded %q does not decode: %v", buf.Bytes(), err)
			}
			if !equalValues(fzWholeSeconds(v), back) {
				t.Fatalf("round trip changed %#v into %#v", v, back)
			}
			if rback, _, rerr := refDecodeResponse(buf.Bytes()); rerr != nil || !equalValues(back, rback) {
				t.Fatalf("the reference decodes re-encoded %q to %#v, %v", buf.Bytes(), rback, rerr)
			}
		}
	})
}

func FuzzDecodeCall(f *testing.F) {
	fzAddDocs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		method, params, err := DecodeCall(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := DecodeResponse(bytes.NewReader(data), nil); err == nil || errors.As(err, new(*Fault)) {
			t.Fatalf("a methodCall was accepted as a methodResponse (%v)", err)
		}
		if method == "" || len(method) > DefaultMaxMethodBytes || strings.Trim(method, refSpace) != method {
			t.Fatalf("decoded method name %q is empty, too long or untrimmed", method)
		}
		name := method
		if !fzMethodName.MatchString(name) {
			name = "fuzz.method" // decoding does not police names; encoding does
		}
		var buf bytes.Buffer
		if err := fzEncoder(&buf).EncodeCall(name, params...); err != nil {
			t.Fatalf("decoded call %q %#v does not re-encode: %v", name, params, err)
		}
		m2, p2, err := DecodeCall(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", buf.Bytes(), err)
		}
		if m2 != name || !equalValues(fzWholeSeconds(params), p2) {
			t.Fatalf("round trip changed %q %#v into %q %#v", name, params, m2, p2)
		}
		if rm, rp, rerr := refDecodeCall(buf.Bytes()); rerr != nil || rm != name || !equalValues(p2, rp) {
			t.Fatalf("the reference decodes re-encoded %q to %q %#v, %v", buf.Bytes(), rm, rp, rerr)
		}
		if !fzMethodName.MatchString(method) {
			if err := fzEncoder(io.Discard).EncodeCall(method, params...); err == nil {
				t.Fatalf("method name %q outside [A-Za-z0-9_.:/]{1,256} was encoded", method)
			}
		}
	})
}

// FuzzDifferential holds the fast decoder to the encoding/xml-based
// reference: the same value or fault, or both reject.
func FuzzDifferential(f *testing.F) {
	fzAddDocs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, p, err := DecodeCall(bytes.NewReader(data))
		rm, rp, rerr := refDecodeCall(data)
		switch {
		case (err == nil) != (rerr == nil):
			t.Fatalf("DecodeCall: fast %v, reference %v", err, rerr)
		case err == nil && (m != rm || !equalValues(p, rp)):
			t.Fatalf("DecodeCall: fast %q %#v, reference %q %#v", m, p, rm, rp)
		}

		var v any
		err = DecodeResponse(bytes.NewReader(data), &v)
		rv, rfault, rerr := refDecodeResponse(data)
		var fault *Fault
		switch {
		case errors.As(err, &fault):
			if rfault == nil || *rfault != *fault {
				t.Fatalf("DecodeResponse: fast fault %v, reference %v %v", fault, rfault, rerr)
			}
		case err != nil:
			if rerr == nil {
				t.Fatalf("DecodeResponse: fast %v, reference accepted %#v %v", err, rv, rfault)
			}
		case rerr != nil || rfault != nil:
			t.Fatalf("DecodeResponse: fast accepted %#v, reference %v %v", v, rfault, rerr)
		case !equalValues(v, rv):
			t.Fatalf("DecodeResponse: fast %#v, reference %#v", v, rv)
		}
	})
}

// FuzzEncodeStrings encodes arbitrary text as a string, a member name, a
// faultString, base64 and a method name: each either fails (text XML cannot
// carry) or round-trips exactly, through both decoders.
func FuzzEncodeStrings(f *testing.F) {
	for _, s := range []string{
		"", "a", `<&>"'`, "a\r\nb", "\r", "\t\n", "]]>", "\x00", "\x01", "\x7f", "\u0085", "\ufffd", "\ufffe", "\uffff",
		"\xff", "\xed\xa0\x80", "😀", "a.b:c/d_e", "&#13;", "<![CDATA[x]]>", "<!-- -->", strings.Repeat("é", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := fzXMLText(s)
		var buf bytes.Buffer
		check := func(what string, want any, err error) {
			t.Helper()
			if (err == nil) != ok {
				t.Fatalf("%s of %q: have error %v, want error %v", what, s, err, !ok)
			}
			if err != nil {
				return
			}
			if bytes.IndexByte(buf.Bytes(), '\r') >= 0 {
				t.Fatalf("%s of %q: raw CR in %q", what, s, buf.Bytes())
			}
			var back any
			if err := DecodeResponse(bytes.NewReader(buf.Bytes()), &back); err != nil {
				t.Fatalf("%s of %q: %q does not decode: %v", what, s, buf.Bytes(), err)
			}
			rback, _, rerr := refDecodeResponse(buf.Bytes())
			if rerr != nil {
				t.Fatalf("%s of %q: the reference rejects %q: %v", what, s, buf.Bytes(), rerr)
			}
			if !equalValues(back, want) || !equalValues(rback, want) {
				t.Fatalf("%s of %q: decodes to %#v (reference %#v), want %#v", what, s, back, rback, want)
			}
		}

		err := fzEncoder(&buf).EncodeResponse(s)
		check("string", s, err)

		buf.Reset()
		err = fzEncoder(&buf).EncodeResponse(map[string]any{s: int64(1)})
		check("member name", map[string]any{s: int64(1)}, err)

		buf.Reset()
		err = fzEncoder(&buf).EncodeFault(&Fault{Code: -1, String: s})
		if (err == nil) != ok {
			t.Fatalf("faultString %q: have error %v, want error %v", s, err, !ok)
		}
		if err == nil {
			var back *Fault
			if derr := DecodeResponse(bytes.NewReader(buf.Bytes()), nil); !errors.As(derr, &back) || back.String != s || back.Code != -1 {
				t.Fatalf("faultString %q: decodes to %v", s, derr)
			}
			if _, rf, _ := refDecodeResponse(buf.Bytes()); rf == nil || rf.String != s {
				t.Fatalf("faultString %q: the reference decodes %v", s, rf)
			}
		}

		ok = true
		buf.Reset()
		err = fzEncoder(&buf).EncodeResponse([]byte(s))
		check("base64", []byte(s), err)

		buf.Reset()
		err = fzEncoder(&buf).EncodeCall(s)
		if (err == nil) != fzMethodName.MatchString(s) {
			t.Fatalf("method name %q: have error %v", s, err)
		}
		if err == nil {
			if m, _, derr := DecodeCall(bytes.NewReader(buf.Bytes())); derr != nil || m != s {
				t.Fatalf("method name %q: decodes to %q, %v", s, m, derr)
			}
		}
	})
}

// FuzzDateTime checks the dateTime parser against the reference parser,
// and that every accepted value re-encodes (in the same location) and
// parses back to the same instant with the fraction truncated (§3.3).
func FuzzDateTime(f *testing.F) {
	for _, s := range []string{
		"19980717T14:08:55", "1998-07-17T14:08:55", "19980717T14:08:55Z", "1998-07-17T14:08:55+02:00",
		"1998-07-17T14:08:55+0200", "19980717T140855", "19980717T14:08:55.123", " 19980717T14:08:55\n",
		"hello", "", "19980230T00:00:00", "19980717t14:08:55", "19980717 14:08:55", "1998-0717T14:08:55",
		"19980717T14:0855", "19980717T14:08:55.", "19980717T24:00:00", "19980717T14:60:00", "19980717T14:08:60",
		"19980717T14:08:55+02", "19980717T14:08:55+24:00", "19980717T14:08:55-23:59", "19980717T14:08:55+02:60",
		"20000229T00:00:00", "19000229T00:00:00", "00000229T00:00:00", "00000101T00:00:00", "00000101T00:00:00+00:01",
		"99991231T23:59:59", "99991231T23:59:59-01:00", "19980717T14:08:55.1234567891Z", "19980717T14:08:55Z ",
		"+1998-07-17T14:08:55", "１９９８0717T14:08:55",
	} {
		f.Add(s)
	}
	locs := []*time.Location{time.UTC, time.FixedZone("", 5*3600+1800), time.FixedZone("", -11*3600)}
	f.Fuzz(func(t *testing.T, s string) {
		for _, loc := range locs {
			dt, ok := parseDateTime(trimSpace([]byte(s)), loc)
			rt, rzone, rok := refParseDateTime(s, loc)
			if ok != rok || ok && (!dt.Time.Equal(rt) || dt.HasZone != rzone) {
				t.Fatalf("%q in %v: have %v %v %v, reference %v %v %v", s, loc, dt.Time, dt.HasZone, ok, rt, rzone, rok)
			}
			if !ok {
				continue
			}
			if y := dt.Time.UTC().Year(); y < 0 || y > 9999 {
				t.Fatalf("%q in %v: accepted %v, which the default encoder cannot write", s, loc, dt.Time)
			}
			var buf bytes.Buffer
			e := NewEncoder(&buf)
			e.SetLocation(loc)
			err := e.EncodeResponse(dt.Time)
			if y := dt.Time.In(loc).Year(); y < 0 || y > 9999 {
				if err == nil {
					t.Fatalf("%q in %v: encoded year %d", s, loc, y)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%q in %v: %v does not encode: %v", s, loc, dt.Time, err)
			}
			d := NewDecoder(bytes.NewReader(buf.Bytes()))
			d.SetLocation(loc)
			var back DateTime
			if err := d.DecodeResponse(&back); err != nil {
				t.Fatalf("%q in %v: %q does not decode: %v", s, loc, buf.Bytes(), err)
			}
			want := dt.Time.Add(-time.Duration(dt.Time.Nanosecond()))
			if !back.Time.Equal(want) || back.HasZone {
				t.Fatalf("%q in %v: round trip gives %v (zone %v), want %v", s, loc, back.Time, back.HasZone, want)
			}
		}
		if !fzXMLText(s) {
			return
		}
		// The same text on the wire, into a DateTime.
		text := strings.NewReplacer("&", "&amp;", "<", "&lt;", "\r", "&#13;").Replace(s)
		doc := refResponse("<dateTime.iso8601>" + text + "</dateTime.iso8601>")
		var got DateTime
		err := DecodeResponse(strings.NewReader(doc), &got)
		want, zone, ok := refParseDateTime(s, time.UTC)
		if (err == nil) != ok || ok && (!got.Time.Equal(want) || got.HasZone != zone) {
			t.Fatalf("%q on the wire: have %v %v %v, want %v %v %v", s, got.Time, got.HasZone, err, want, zone, ok)
		}
	})
}

// TestDuplicateMemberReplacesTypedField is the regression test for a bug
// FuzzDecodeResponse found: decoding into a Go struct, a repeated member
// was merged into the field the earlier member had filled (map keys and
// struct fields of both survived), while §3.2 says the later member
// replaces the earlier one, as it does when decoding into any.
func TestDuplicateMemberReplacesTypedField(t *testing.T) {
	first := `<struct>` + refMember("x", "<int>1</int>") + refMember("m", `<struct>`+refMember("k", "<int>1</int>")+`</struct>`) + `</struct>`
	second := `<struct>` + refMember("m", `<struct>`+refMember("j", "<int>2</int>")+`</struct>`) + `</struct>`
	want := fzInner{M: map[string]int{"j": 2}}
	for _, c := range []struct{ name, doc string }{
		{"name first", `<struct>` + refMember("in", first) + refMember("pin", first) + refMember("in", second) + refMember("pin", second) + `</struct>`},
		{"value first", `<struct><member><value>` + first + `</value><name>in</name></member><member><value>` + first +
			`</value><name>pin</name></member><member><value>` + second + `</value><name>in</name></member><member><value>` +
			second + `</value><name>pin</name></member></struct>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var have fzTarget
			if err := DecodeResponse(strings.NewReader(refResponse(c.doc)), &have); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(have.In, want) || have.PIn == nil || !reflect.DeepEqual(*have.PIn, want) {
				t.Fatalf("have In %+v, PIn %+v; want both %+v", have.In, have.PIn, want)
			}
		})
	}
	// A member that is not repeated still merges into a pre-set value.
	have := fzTarget{S: "kept", In: fzInner{X: 9}}
	if err := DecodeResponse(strings.NewReader(refResponse(`<struct>`+refMember("in", second)+`</struct>`)), &have); err != nil {
		t.Fatal(err)
	}
	if have.S != "kept" || have.In.X != 9 || have.In.M["j"] != 2 {
		t.Fatalf("have %+v, want S and In.X kept and In.M set", have)
	}
}
