package xmlrpc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file implements UserLand's validator1 suite and the "betty"
// examples (spec §8) as handlers on a Server. The interop tests serve them
// to CPython's client; TestInteropGoClientGoServer checks them with this
// package's own client.

// validatorStateNames are the US states in alphabetical order, numbered
// from 1 by examples.getStateName.
var validatorStateNames = [50]string{
	"Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado",
	"Connecticut", "Delaware", "Florida", "Georgia", "Hawaii", "Idaho",
	"Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine",
	"Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi",
	"Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey",
	"New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
	"Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina",
	"South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia",
	"Washington", "West Virginia", "Wisconsin", "Wyoming",
}

// validatorStooges is the struct several validator1 methods take. The
// members are pointers so that a missing one can be told from zero.
type validatorStooges struct {
	Moe   *int32 `xmlrpc:"moe"`
	Larry *int32 `xmlrpc:"larry"`
	Curly *int32 `xmlrpc:"curly"`
}

func (s validatorStooges) sum() (int64, error) {
	if s.Moe == nil || s.Larry == nil || s.Curly == nil {
		return 0, &ParamsError{Msg: "struct needs the members moe, larry and curly"}
	}
	return int64(*s.Moe) + int64(*s.Larry) + int64(*s.Curly), nil
}

// validatorEntityCounts is the result of validator1.countTheEntities.
type validatorEntityCounts struct {
	LeftAngleBrackets  int `xmlrpc:"ctLeftAngleBrackets"`
	RightAngleBrackets int `xmlrpc:"ctRightAngleBrackets"`
	Ampersands         int `xmlrpc:"ctAmpersands"`
	Apostrophes        int `xmlrpc:"ctApostrophes"`
	Quotes             int `xmlrpc:"ctQuotes"`
}

func validatorState(n int32) (string, error) {
	if n < 1 || int(n) > len(validatorStateNames) {
		return "", &ParamsError{Msg: "no state number " + strconv.Itoa(int(n))}
	}
	return validatorStateNames[n-1], nil
}

// validatorMethods lists the handlers with their help and signatures.
// examples.getStateNames takes any number of ints, which a signature
// cannot say, so it has none and system.methodSignature answers "undef".
var validatorMethods = []struct {
	name string
	fn   HandlerFunc
	opts []MethodOption
}{
	{"validator1.arrayOfStructsTest", validatorArrayOfStructs, []MethodOption{
		MethodHelp("Returns the sum of the curly members of an array of structs."),
		MethodSignature("int", "array")}},
	{"validator1.countTheEntities", validatorCountTheEntities, []MethodOption{
		MethodHelp("Counts the <, >, &, ' and \" characters in a string."),
		MethodSignature("struct", "string")}},
	{"validator1.easyStructTest", validatorEasyStruct, []MethodOption{
		MethodHelp("Returns moe + larry + curly."),
		MethodSignature("int", "struct")}},
	{"validator1.echoStructTest", validatorEchoStruct, []MethodOption{
		MethodHelp("Returns its struct parameter unchanged."),
		MethodSignature("struct", "struct")}},
	{"validator1.manyTypesTest", validatorManyTypes, []MethodOption{
		MethodHelp("Returns its six parameters as an array."),
		MethodSignature("array", "int", "boolean", "string", "double", "dateTime.iso8601", "base64")}},
	{"validator1.moderateSizeArrayCheck", validatorModerateSizeArray, []MethodOption{
		MethodHelp("Returns the first element of an array of 100 to 200 strings concatenated with the last."),
		MethodSignature("string", "array")}},
	{"validator1.nestedStructTest", validatorNestedStruct, []MethodOption{
		MethodHelp(`Returns moe + larry + curly of calendar["2000"]["04"]["01"].`),
		MethodSignature("int", "struct")}},
	{"validator1.simpleStructReturnTest", validatorSimpleStructReturn, []MethodOption{
		MethodHelp("Returns n times 10, 100 and 1000."),
		MethodSignature("struct", "int")}},
	{"examples.getStateName", validatorGetStateName, []MethodOption{
		MethodHelp("Returns the name of US state number n (1-50, alphabetical)."),
		MethodSignature("string", "int")}},
	{"examples.getStateNames", validatorGetStateNames, []MethodOption{
		MethodHelp("Returns the names of the given states joined by CR.")}},
}

func validatorArrayOfStructs(_ context.Context, params []any) (any, error) {
	var structs []validatorStooges
	if err := UnmarshalParams(params, &structs); err != nil {
		return nil, err
	}
	var sum int64
	for _, s := range structs {
		if _, err := s.sum(); err != nil {
			return nil, err
		}
		sum += int64(*s.Curly)
	}
	return sum, nil
}

func validatorCountTheEntities(_ context.Context, params []any) (any, error) {
	var s string
	if err := UnmarshalParams(params, &s); err != nil {
		return nil, err
	}
	return validatorEntityCounts{
		LeftAngleBrackets:  strings.Count(s, "<"),
		RightAngleBrackets: strings.Count(s, ">"),
		Ampersands:         strings.Count(s, "&"),
		Apostrophes:        strings.Count(s, "'"),
		Quotes:             strings.Count(s, `"`),
	}, nil
}

func validatorEasyStruct(_ context.Context, params []any) (any, error) {
	var s validatorStooges
	if err := UnmarshalParams(params, &s); err != nil {
		return nil, err
	}
	return s.sum()
}

func validatorEchoStruct(_ context.Context, params []any) (any, error) {
	var s map[string]any
	if err := UnmarshalParams(params, &s); err != nil {
		return nil, err
	}
	return s, nil
}

func validatorManyTypes(_ context.Context, params []any) (any, error) {
	var (
		n    int32
		b    bool
		s    string
		d    float64
		t    time.Time
		data []byte
	)
	if err := UnmarshalParams(params, &n, &b, &s, &d, &t, &data); err != nil {
		return nil, err
	}
	return []any{n, b, s, d, t, data}, nil
}

func validatorModerateSizeArray(_ context.Context, params []any) (any, error) {
	var items []string
	if err := UnmarshalParams(params, &items); err != nil {
		return nil, err
	}
	if len(items) < 100 || len(items) > 200 {
		return nil, &ParamsError{Msg: "want 100 to 200 strings, got " + strconv.Itoa(len(items))}
	}
	return items[0] + items[len(items)-1], nil
}

func validatorNestedStruct(_ context.Context, params []any) (any, error) {
	var calendar map[string]map[string]map[string]validatorStooges
	if err := UnmarshalParams(params, &calendar); err != nil {
		return nil, err
	}
	day, ok := calendar["2000"]["04"]["01"]
	if !ok {
		return nil, &ParamsError{Msg: `calendar has no day ["2000"]["04"]["01"]`}
	}
	return day.sum()
}

func validatorSimpleStructReturn(_ context.Context, params []any) (any, error) {
	var n int32
	if err := UnmarshalParams(params, &n); err != nil {
		return nil, err
	}
	return map[string]int64{"times10": int64(n) * 10, "times100": int64(n) * 100, "times1000": int64(n) * 1000}, nil
}

func validatorGetStateName(_ context.Context, params []any) (any, error) {
	var n int32
	if err := UnmarshalParams(params, &n); err != nil {
		return nil, err
	}
	return validatorState(n)
}

func validatorGetStateNames(_ context.Context, params []any) (any, error) {
	if len(params) == 0 {
		return nil, &ParamsError{Msg: "want at least one state number"}
	}
	names := make([]string, len(params))
	for i, p := range params {
		var n int32
		if err := Unmarshal(p, &n); err != nil {
			return nil, &ParamsError{Msg: "parameter " + strconv.Itoa(i+1) + ": " + errorDetail(err), Err: err}
		}
		name, err := validatorState(n)
		if err != nil {
			return nil, err
		}
		names[i] = name
	}
	return strings.Join(names, "\r"), nil
}

// registerValidator registers every validator1 and betty method on srv.
func registerValidator(t testing.TB, srv *Server) {
	t.Helper()
	for _, m := range validatorMethods {
		if err := srv.Register(m.name, m.fn, m.opts...); err != nil {
			t.Fatalf("Register(%q): %v", m.name, err)
		}
	}
}

// startValidatorServer serves the validator methods, with multicall and
// introspection, on an httptest server bound to 127.0.0.1, and returns
// its URL.
func startValidatorServer(t testing.TB, opts ...Option) string {
	t.Helper()
	srv := mustServer(t, append([]Option{WithMulticall(), WithIntrospection()}, opts...)...)
	registerValidator(t, srv)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL + "/RPC2"
}

// validatorClient returns a client for url.
func validatorClient(t testing.TB, url string, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(url, opts...)
	if err != nil {
		t.Fatalf("NewClient(%q): %v", url, err)
	}
	return c
}

// validatorVector is one deterministic call of spec §8 and its result in
// the canonical decoded form.
type validatorVector struct {
	name   string
	method string
	args   []any
	want   any
}

func validatorStoogeStruct(moe, larry, curly int) map[string]any {
	return map[string]any{"moe": moe, "larry": larry, "curly": curly}
}

func validatorItems(n int) []string {
	items := make([]string, n)
	for i := range items {
		items[i] = "item" + strconv.Itoa(1001 + i)[1:]
	}
	return items
}

// validatorV5Time is the dateTime of vector V5, 19980717T14:08:55.
var validatorV5Time = time.Date(1998, 7, 17, 14, 8, 55, 0, time.UTC)

// validatorCalendar builds the calendar of vector V7.
func validatorCalendar() map[string]any {
	cal := map[string]any{}
	for _, y := range []string{"1999", "2000", "2001"} {
		months := map[string]any{}
		for _, m := range []string{"03", "04", "05"} {
			days := map[string]any{}
			for _, d := range []string{"01", "02"} {
				days[d] = map[string]any{}
			}
			months[m] = days
		}
		cal[y] = months
	}
	cal["2000"].(map[string]any)["04"].(map[string]any)["01"] = validatorStoogeStruct(100, -5, 7)
	return cal
}

// validatorVectors returns V1 to V8b of spec §8. V8c is left out: its
// outcome depends on the server's i8 support.
func validatorVectors() []validatorVector {
	counts := func(lt, gt, amp, apos, quot int64) map[string]any {
		return map[string]any{
			"ctLeftAngleBrackets": lt, "ctRightAngleBrackets": gt,
			"ctAmpersands": amp, "ctApostrophes": apos, "ctQuotes": quot,
		}
	}
	times := func(n int64) map[string]any {
		return map[string]any{"times10": n * 10, "times100": n * 100, "times1000": n * 1000}
	}
	v1 := []any{validatorStoogeStruct(1, 2, 3), validatorStoogeStruct(-4, 5, -6), validatorStoogeStruct(7, 8, 9)}
	v1b := []any{validatorStoogeStruct(1, 2, 3), validatorStoogeStruct(-4, 5, -6), validatorStoogeStruct(7, 8, 9)}
	v1b[1].(map[string]any)["extra"] = "x"
	v4 := map[string]any{
		"substruct0": validatorStoogeStruct(1, 2, 3),
		"name":       "a&b<c>",
		"list":       []any{1, "two", 3.5, true},
		"empty":      map[string]any{},
	}
	v4want := map[string]any{
		"substruct0": map[string]any{"moe": int64(1), "larry": int64(2), "curly": int64(3)},
		"name":       "a&b<c>",
		"list":       []any{int64(1), "two", 3.5, true},
		"empty":      map[string]any{},
	}
	v5data := []byte("you can't read this!")
	return []validatorVector{
		{"V1", "validator1.arrayOfStructsTest", []any{v1}, int64(6)},
		{"V1b", "validator1.arrayOfStructsTest", []any{v1b}, int64(6)},
		{"V1c", "validator1.arrayOfStructsTest", []any{[]any{}}, int64(0)},
		{"V2", "validator1.countTheEntities", []any{`<<>'"&&&x'""<`}, counts(3, 1, 3, 2, 3)},
		{"V2b", "validator1.countTheEntities", []any{""}, counts(0, 0, 0, 0, 0)},
		{"V3", "validator1.easyStructTest", []any{validatorStoogeStruct(12, 34, 56)}, int64(102)},
		{"V4", "validator1.echoStructTest", []any{v4}, v4want},
		{"V5", "validator1.manyTypesTest",
			[]any{-42, true, "x<y&z", -12.214, validatorV5Time, v5data},
			[]any{int64(-42), true, "x<y&z", -12.214, validatorV5Time, v5data}},
		{"V6", "validator1.moderateSizeArrayCheck", []any{validatorItems(150)}, "item001item150"},
		{"V6b/100", "validator1.moderateSizeArrayCheck", []any{validatorItems(100)}, "item001item100"},
		{"V6b/200", "validator1.moderateSizeArrayCheck", []any{validatorItems(200)}, "item001item200"},
		{"V7", "validator1.nestedStructTest", []any{validatorCalendar()}, int64(102)},
		{"V8", "validator1.simpleStructReturnTest", []any{7}, times(7)},
		{"V8b", "validator1.simpleStructReturnTest", []any{-2147483}, times(-2147483)},
	}
}

// validatorSame reports whether two values in the canonical decoded form
// are equal, with identical XML-RPC types: an int64 never equals a
// float64.
func validatorSame(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case int64, bool, string, float64:
		return a == b
	case time.Time:
		bt, ok := b.(time.Time)
		return ok && a.Equal(bt)
	case []byte:
		bb, ok := b.([]byte)
		return ok && string(a) == string(bb)
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !validatorSame(a[i], bs[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !validatorSame(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// checkValidatorVectors runs V1 to V8b against c, each as a subtest.
func checkValidatorVectors(t *testing.T, c *Client) {
	t.Helper()
	for _, v := range validatorVectors() {
		t.Run(v.name, func(t *testing.T) {
			var have any
			if err := c.Call(t.Context(), v.method, &have, v.args...); err != nil {
				t.Fatalf("%s: %v", v.method, err)
			}
			if !validatorSame(have, v.want) {
				t.Errorf("%s:\nhave %#v\nwant %#v", v.method, have, v.want)
			}
		})
	}
}

// validatorWantFault checks that err is a *Fault with the given code
// and, unless str is empty, the given string.
func validatorWantFault(t *testing.T, what string, err error, code int, str string) {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) {
		t.Errorf("%s: have error %v, want fault %d", what, err, code)
		return
	}
	if f.Code != code || str != "" && f.String != str {
		t.Errorf("%s: have fault %d %q, want fault %d %q", what, f.Code, f.String, code, str)
	}
}

func TestInteropGoClientGoServer(t *testing.T) {
	t.Parallel()
	c := validatorClient(t, startValidatorServer(t))
	ci8 := validatorClient(t, startValidatorServer(t, WithI8()))
	ctx := t.Context()

	t.Run("vectors", func(t *testing.T) { checkValidatorVectors(t, c) })

	t.Run("V8c", func(t *testing.T) {
		err := c.Call(ctx, "validator1.simpleStructReturnTest", new(any), 2147484)
		validatorWantFault(t, "without I8", err, -32603, "internal error")
		var have any
		if err := ci8.Call(ctx, "validator1.simpleStructReturnTest", &have, 2147484); err != nil {
			t.Fatalf("with I8: %v", err)
		}
		want := map[string]any{"times10": int64(21474840), "times100": int64(214748400), "times1000": int64(2147484000)}
		if !validatorSame(have, want) {
			t.Errorf("with I8:\nhave %#v\nwant %#v", have, want)
		}
	})

	t.Run("betty", func(t *testing.T) { validatorCheckBetty(t, c) })

	t.Run("faults", func(t *testing.T) {
		// Every method's failure path: the wrong number or type of
		// parameters, or values the method cannot work with.
		for _, tc := range []struct {
			method string
			args   []any
			code   int
		}{
			{"examples.getStateName", []any{900}, -32602},
			{"examples.getStateName", []any{0}, -32602},
			{"examples.getStateNames", nil, -32602},
			{"examples.getStateNames", []any{1, "two"}, -32602},
			{"examples.getStateNames", []any{1, 51}, -32602},
			{"no.such.method", nil, -32601},
			{"validator1.arrayOfStructsTest", []any{[]any{map[string]any{"moe": 1, "larry": 2}}}, -32602},
			{"validator1.arrayOfStructsTest", []any{[]any{1}}, -32602},
			{"validator1.countTheEntities", []any{1}, -32602},
			{"validator1.easyStructTest", []any{"x"}, -32602},
			{"validator1.easyStructTest", []any{validatorStoogeStruct(1, 2, 3), 4}, -32602},
			{"validator1.echoStructTest", []any{[]any{1}}, -32602},
			{"validator1.manyTypesTest", []any{-42, true, "x", -12.214, validatorV5Time}, -32602},
			{"validator1.manyTypesTest", []any{"-42", true, "x", -12.214, validatorV5Time, []byte("x")}, -32602},
			{"validator1.moderateSizeArrayCheck", []any{validatorItems(99)}, -32602},
			{"validator1.moderateSizeArrayCheck", []any{validatorItems(201)}, -32602},
			{"validator1.nestedStructTest", []any{map[string]any{}}, -32602},
			{"validator1.simpleStructReturnTest", []any{int64(1) << 40}, 0}, // not sent: no I8 on the client
			{"validator1.simpleStructReturnTest", []any{2.5}, -32602},
		} {
			err := c.Call(ctx, tc.method, nil, tc.args...)
			what := fmt.Sprintf("%s%v", tc.method, tc.args)
			if tc.code == 0 {
				var ee *EncodeError
				if !errors.As(err, &ee) {
					t.Errorf("%s: have %v, want an *EncodeError", what, err)
				}
				continue
			}
			validatorWantFault(t, what, err, tc.code, "")
		}
		// The sum of curly overflows 32 bits: the result cannot be sent.
		big := []any{validatorStoogeStruct(0, 0, 2147483647), validatorStoogeStruct(0, 0, 1)}
		validatorWantFault(t, "arrayOfStructsTest overflow", c.Call(ctx, "validator1.arrayOfStructsTest", nil, big), -32603, "internal error")
	})

	t.Run("multicall", func(t *testing.T) {
		res, err := c.Multicall(ctx,
			MulticallEntry{"examples.getStateName", []any{41}},
			MulticallEntry{"validator1.simpleStructReturnTest", []any{2147484}},
			MulticallEntry{"examples.getStateName", []any{900}},
			MulticallEntry{"no.such.method", nil},
			MulticallEntry{"validator1.easyStructTest", []any{validatorStoogeStruct(12, 34, 56)}},
		)
		if err != nil {
			t.Fatalf("Multicall: %v", err)
		}
		if len(res) != 5 {
			t.Fatalf("Multicall: have %d results, want 5", len(res))
		}
		if !validatorSame(res[0].Value, "South Dakota") || res[0].Err != nil {
			t.Errorf("[0]: have %#v, %v, want South Dakota", res[0].Value, res[0].Err)
		}
		// One entry that cannot be encoded does not sink the batch.
		validatorWantFault(t, "[1]", res[1].Err, -32603, "internal error")
		validatorWantFault(t, "[2]", res[2].Err, -32602, "")
		validatorWantFault(t, "[3]", res[3].Err, -32601, "method not found: no.such.method")
		if !validatorSame(res[4].Value, int64(102)) || res[4].Err != nil {
			t.Errorf("[4]: have %#v, %v, want 102", res[4].Value, res[4].Err)
		}
	})

	t.Run("introspection", func(t *testing.T) {
		var names []string
		if err := c.Call(ctx, "system.listMethods", &names); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"examples.getStateName", "examples.getStateNames",
			"system.listMethods", "system.methodHelp", "system.methodSignature", "system.multicall",
			"validator1.arrayOfStructsTest", "validator1.countTheEntities", "validator1.easyStructTest",
			"validator1.echoStructTest", "validator1.manyTypesTest", "validator1.moderateSizeArrayCheck",
			"validator1.nestedStructTest", "validator1.simpleStructReturnTest",
		}
		if strings.Join(names, ",") != strings.Join(want, ",") {
			t.Errorf("system.listMethods:\nhave %q\nwant %q", names, want)
		}
		var sig any
		if err := c.Call(ctx, "system.methodSignature", &sig, "validator1.manyTypesTest"); err != nil {
			t.Fatal(err)
		}
		wantSig := []any{[]any{"array", "int", "boolean", "string", "double", "dateTime.iso8601", "base64"}}
		if !validatorSame(sig, wantSig) {
			t.Errorf("methodSignature(manyTypesTest): have %#v, want %#v", sig, wantSig)
		}
		if err := c.Call(ctx, "system.methodSignature", &sig, "examples.getStateNames"); err != nil || sig != "undef" {
			t.Errorf("methodSignature(getStateNames): have %#v, %v, want \"undef\"", sig, err)
		}
		var help string
		if err := c.Call(ctx, "system.methodHelp", &help, "validator1.easyStructTest"); err != nil || help != "Returns moe + larry + curly." {
			t.Errorf("methodHelp(easyStructTest): have %q, %v", help, err)
		}
		validatorWantFault(t, "methodHelp(no.such.method)", c.Call(ctx, "system.methodHelp", nil, "no.such.method"), -32601, "")
	})

	t.Run("random", func(t *testing.T) {
		runValidatorRandom(t, c, validatorRandomRounds, 100)
	})

	t.Run("single calls", func(t *testing.T) {
		runValidatorRandom(t, c, 50, 0)
	})
}

// validatorCheckBetty checks the successful "betty" calls against c:
// single names, four names joined by CR (which must survive the trip),
// and all fifty states in one multicall.
func validatorCheckBetty(t *testing.T, c *Client) {
	t.Helper()
	ctx := t.Context()
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{41}, "South Dakota"},
		{[]any{23}, "Minnesota"},
	} {
		var have string
		if err := c.Call(ctx, "examples.getStateName", &have, tc.args...); err != nil || have != tc.want {
			t.Errorf("examples.getStateName%v: have %q, %v, want %q", tc.args, have, err, tc.want)
		}
	}
	var have string
	const want = "Idaho\rMichigan\rNew York\rTennessee"
	if err := c.Call(ctx, "examples.getStateNames", &have, 12, 22, 32, 42); err != nil || have != want {
		t.Errorf("examples.getStateNames(12, 22, 32, 42): have %q, %v, want %q", have, err, want)
	}
	calls := make([]MulticallEntry, len(validatorStateNames))
	for i := range calls {
		calls[i] = MulticallEntry{"examples.getStateName", []any{i + 1}}
	}
	res, err := c.Multicall(ctx, calls...)
	if err != nil {
		t.Fatalf("Multicall of 50 getStateName: %v", err)
	}
	for i, r := range res {
		var name string
		if err := r.Decode(&name); err != nil || name != validatorStateNames[i] {
			t.Errorf("examples.getStateName(%d): have %q, %v, want %q", i+1, name, err, validatorStateNames[i])
		}
	}
}

// Randomised mode of spec §8: a fixed seed and 1000 rounds, each round
// calling all eight validator1 methods.
const (
	validatorRandomRounds = 1000
	validatorRandomSeed   = 19980717
)

// validatorRandomRound returns one round of random calls with their
// expected results. now is the dateTime manyTypesTest echoes.
func validatorRandomRound(r *rand.Rand, now time.Time) []validatorVector {
	const entityChars = "0123456789<>&'\""
	round := make([]validatorVector, 0, 8)

	structs := make([]any, 20)
	var curly int64
	for i := range structs {
		s := validatorStoogeStruct(r.IntN(1000), r.IntN(1000), r.IntN(1000))
		curly += int64(s["curly"].(int))
		structs[i] = s
	}
	round = append(round, validatorVector{"arrayOfStructs", "validator1.arrayOfStructsTest", []any{structs}, curly})

	text := make([]byte, 100)
	for i := range text {
		text[i] = entityChars[r.IntN(len(entityChars))]
	}
	count := func(c string) int64 { return int64(strings.Count(string(text), c)) }
	round = append(round, validatorVector{"countTheEntities", "validator1.countTheEntities", []any{string(text)}, map[string]any{
		"ctLeftAngleBrackets": count("<"), "ctRightAngleBrackets": count(">"),
		"ctAmpersands": count("&"), "ctApostrophes": count("'"), "ctQuotes": count(`"`),
	}})

	moe, larry, cur := r.IntN(1000), r.IntN(1000), r.IntN(1000)
	round = append(round, validatorVector{"easyStruct", "validator1.easyStructTest",
		[]any{validatorStoogeStruct(moe, larry, cur)}, int64(moe + larry + cur)})

	moe, larry, cur = r.IntN(1000), r.IntN(1000), r.IntN(1000)
	round = append(round, validatorVector{"echoStruct", "validator1.echoStructTest",
		[]any{validatorStoogeStruct(moe, larry, cur)},
		map[string]any{"moe": int64(moe), "larry": int64(larry), "curly": int64(cur)}})

	n := int64(r.IntN(2_000_001) - 1_000_000)
	b := r.IntN(2) == 1
	const strChars = "abcXYZ <>&'\"\t\n"
	str := make([]byte, r.IntN(40))
	for i := range str {
		str[i] = strChars[r.IntN(len(strChars))]
	}
	d := float64(r.IntN(20001)-10000) / 2
	data := make([]byte, r.IntN(80))
	for i := range data {
		data[i] = byte(r.IntN(256))
	}
	round = append(round, validatorVector{"manyTypes", "validator1.manyTypesTest",
		[]any{n, b, string(str), d, now, data},
		[]any{n, b, string(str), d, now, data}})

	items := make([]string, 100+r.IntN(101))
	for i := range items {
		items[i] = fmt.Sprintf("%05d", r.IntN(100000))
	}
	round = append(round, validatorVector{"moderateSizeArray", "validator1.moderateSizeArrayCheck",
		[]any{items}, items[0] + items[len(items)-1]})

	cal := map[string]any{}
	var sum int64
	for _, y := range []string{"2000", "2001"} {
		months := map[string]any{}
		for _, m := range []string{"03", "04"} {
			days := map[string]any{}
			for _, dd := range []string{"01", "02", "03", "04", "05"} {
				s := validatorStoogeStruct(r.IntN(201)-100, r.IntN(201)-100, r.IntN(201)-100)
				if y == "2000" && m == "04" && dd == "01" {
					sum = int64(s["moe"].(int) + s["larry"].(int) + s["curly"].(int))
				}
				days[dd] = s
			}
			months[m] = days
		}
		cal[y] = months
	}
	round = append(round, validatorVector{"nestedStruct", "validator1.nestedStructTest", []any{cal}, sum})

	k := int64(r.IntN(1000))
	round = append(round, validatorVector{"simpleStructReturn", "validator1.simpleStructReturnTest", []any{k},
		map[string]any{"times10": k * 10, "times100": k * 100, "times1000": k * 1000}})
	return round
}

// runValidatorRandom runs rounds random rounds against c, batchRounds
// rounds to a system.multicall request, or as single calls when
// batchRounds is 0. It returns the number of calls checked.
func runValidatorRandom(t *testing.T, c *Client, rounds, batchRounds int) int {
	t.Helper()
	r := rand.New(rand.NewPCG(validatorRandomSeed, 0))
	ctx := t.Context()
	checked, failures := 0, 0
	check := func(round int, v validatorVector, have any, err error) {
		checked++
		if err == nil && validatorSame(have, v.want) {
			return
		}
		failures++
		if failures <= 10 {
			t.Errorf("round %d %s: have %#v, %v\nwant %#v", round, v.method, have, err, v.want)
		}
	}
	for first := 0; first < rounds && failures <= 10; {
		n := max(batchRounds, 1)
		n = min(n, rounds-first)
		now := time.Now().UTC().Truncate(time.Second)
		var vecs []validatorVector
		for range n {
			vecs = append(vecs, validatorRandomRound(r, now)...)
		}
		if batchRounds == 0 {
			for _, v := range vecs {
				var have any
				err := c.Call(ctx, v.method, &have, v.args...)
				check(first, v, have, err)
			}
		} else {
			calls := make([]MulticallEntry, len(vecs))
			for i, v := range vecs {
				calls[i] = MulticallEntry{v.method, v.args}
			}
			res, err := c.Multicall(ctx, calls...)
			if err != nil {
				t.Fatalf("rounds %d-%d: Multicall: %v", first, first+n-1, err)
			}
			for i, v := range vecs {
				check(first+i/8, v, res[i].Value, res[i].Err)
			}
		}
		first += n
	}
	if want := rounds * 8; checked != want && failures <= 10 {
		t.Errorf("checked %d calls, want %d", checked, want)
	}
	return checked
}
