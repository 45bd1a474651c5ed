package nmproto

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

var formatTests = []struct {
	f         float64
	full, py2 string
}{
	{3913056000.123456, "3913056000.123456", "3913056000.12"},
	{3913059600.123456, "3913059600.123456", "3913059600.12"},
	{3913056000, "3913056000.0", "3913056000.0"},
	{3913056000.125, "3913056000.125", "3913056000.12"}, // a tie, to even
	{3913056000.135, "3913056000.135", "3913056000.14"}, // just above the tie in binary
	{0, "0.0", "0.0"},
	{math.Copysign(0, -1), "-0.0", "-0.0"},
	{-1.5, "-1.5", "-1.5"},
	{1e16, "1e+16", "1e+16"},
	{1e15, "1000000000000000.0", "1e+15"},
	{123456789012, "123456789012.0", "123456789012.0"},
	{1234567890123, "1234567890123.0", "1.23456789012e+12"},
	{0.0001, "0.0001", "0.0001"},
	{0.00001, "1e-05", "1e-05"},
	{1.5e-7, "1.5e-07", "1.5e-07"},
	{1e100, "1e+100", "1e+100"},
	{math.Inf(1), "inf", "inf"},
	{math.Inf(-1), "-inf", "-inf"},
	{math.NaN(), "nan", "nan"},
}

func TestFormatFloat(t *testing.T) {
	for _, tt := range formatTests {
		if have := FormatFloat(tt.f, FullForm); have != tt.full {
			t.Errorf("FormatFloat(%v, FullForm) = %q, want %q", tt.f, have, tt.full)
		}
		if have := FormatFloat(tt.f, Py2Form); have != tt.py2 {
			t.Errorf("FormatFloat(%v, Py2Form) = %q, want %q", tt.f, have, tt.py2)
		}
		if math.IsNaN(tt.f) {
			continue
		}
		for _, s := range []string{tt.full, tt.py2} {
			if _, err := ParseFloat(s); err != nil {
				t.Errorf("ParseFloat(%q): %v", s, err)
			}
		}
		if back, _ := ParseFloat(tt.full); back != tt.f {
			t.Errorf("ParseFloat(FormatFloat(%v, FullForm)) = %v: the full form does not round-trip", tt.f, back)
		}
	}
}

func TestParseFloat(t *testing.T) {
	good := map[string]float64{
		"1": 1, " 1.5 ": 1.5, "\t-2\n": -2, "+3.": 3, ".5": 0.5, "1e3": 1000, "1E-2": 0.01,
		"3913056000.12": 3913056000.12, "Inf": math.Inf(1), "-infinity": math.Inf(-1),
		"1e400": math.Inf(1), "-1e400": math.Inf(-1), "1e-400": 0, "00012": 12,
	}
	for s, want := range good {
		if have, err := ParseFloat(s); err != nil || have != want {
			t.Errorf("ParseFloat(%q) = %v, %v; want %v", s, have, err, want)
		}
	}
	for _, s := range []string{"NaN", " nan ", "-nan"} {
		if have, err := ParseFloat(s); err != nil || !math.IsNaN(have) {
			t.Errorf("ParseFloat(%q) = %v, %v; want NaN", s, have, err)
		}
	}
	for _, s := range []string{"", " ", "None", "1_0", "0x10", "0x1p3", "1e", "e5", ".", "+", "1.5.2", "1 2", "infinit", "1e+", "--1", "\u00a01", "1\x00"} {
		if have, err := ParseFloat(s); err == nil {
			t.Errorf("ParseFloat(%q) = %v, want an error", s, have)
		}
	}
}

// TestFloatFormsMatchPython compares FormatFloat and ParseFloat with
// python3 on many values: repr() for the full form; "%.12g" plus ".0" for
// a whole number, which is what Python 2's str() does, for the short one.
func TestFloatFormsMatchPython(t *testing.T) {
	py := testskip.LookPath(t, "python3", "the cross-check of the float forms")
	r := rand.New(rand.NewPCG(1, 2))
	var vals []float64
	for range 3000 {
		switch r.IntN(3) {
		case 0:
			vals = append(vals, 3.9e9+r.Float64()*1e8) // NTP times
		case 1:
			vals = append(vals, math.Float64frombits(r.Uint64()))
		default:
			vals = append(vals, math.Ldexp(r.Float64(), r.IntN(120)-60))
		}
	}
	var in []string
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		in = append(in, strconv.FormatFloat(v, 'x', -1, 64))
	}
	const script = `
import json, sys
out = []
for h in json.load(sys.stdin):
    x = float.fromhex(h)
    short = '%.12g' % x
    if all(c in '-0123456789' for c in short):
        short += '.0'
    out.append([repr(x), short])
print(json.dumps(out))
`
	data, _ := json.Marshal(in)
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(data)
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var out [][2]string
	if err := json.Unmarshal(res, &out); err != nil || len(out) != len(in) {
		t.Fatalf("python3 output: %v (%d of %d)", err, len(out), len(in))
	}
	bad := 0
	for i, h := range in {
		v, _ := strconv.ParseFloat(h, 64)
		full, short := FormatFloat(v, FullForm), FormatFloat(v, Py2Form)
		if full != out[i][0] || short != out[i][1] {
			if bad++; bad <= 5 {
				t.Errorf("%s: FormatFloat = %q, %q; python3 %q, %q", h, full, short, out[i][0], out[i][1])
			}
		}
		if back, err := ParseFloat(out[i][0]); err != nil || back != v {
			if bad++; bad <= 5 {
				t.Errorf("ParseFloat(%q) = %v, %v; want %v", out[i][0], back, err, v)
			}
		}
	}
}

func TestParsePyInt(t *testing.T) {
	good := map[string]pyInt{
		"0": {digits: "0"}, "-0": {digits: "0"}, "+0007": {digits: "7"}, " 12 ": {digits: "12"},
		"-5": {neg: true, digits: "5"}, "\t99999999999999999999999\n": {digits: "99999999999999999999999"},
	}
	for s, want := range good {
		if have, err := parsePyInt(s); err != nil || have != want {
			t.Errorf("parsePyInt(%q) = %+v, %v; want %+v", s, have, err, want)
		}
	}
	for _, s := range []string{"", "-", "1.0", "1_0", "0x1", "1 2", "5L", "--1", "\u00a01"} {
		if _, err := parsePyInt(s); err == nil {
			t.Errorf("parsePyInt(%q) succeeded", s)
		}
	}
	next := map[string]string{"0": "1", "9": "10", "199": "200", "-1": "0", "-10": "-9", "-100": "-99", "-2": "-1",
		"99999999999999999999999": "100000000000000000000000"}
	for s, want := range next {
		v, _ := parsePyInt(s)
		n := v.next()
		have := n.digits
		if n.neg {
			have = "-" + have
		}
		if have != want {
			t.Errorf("%s + 1 = %s, want %s", s, have, want)
		}
	}
}

func TestRsplitAndFields(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want []string
	}{
		{"a!b!c", 1, []string{"a!b", "c"}},
		{"a!b!c", 5, []string{"a", "b", "c"}},
		{"!x", 1, []string{"", "x"}},
		{"abc", 2, []string{"abc"}},
		{"", 1, []string{""}},
		{"a!!", 2, []string{"a", "", ""}},
	}
	for _, tt := range tests {
		if have := rsplit(tt.s, '!', tt.n); !slices.Equal(have, tt.want) {
			t.Errorf("rsplit(%q, %d) = %q, want %q", tt.s, tt.n, have, tt.want)
		}
	}
	if have, ok := fieldsAtMost(" a\t\nb \v\f\rc\u00a0d ", 3); !ok || strings.Join(have, "|") != "a|b|c\u00a0d" {
		t.Errorf("fieldsAtMost = %q, %v", have, ok)
	}
	if have, ok := fieldsAtMost("a b c d", 3); ok || have != nil {
		t.Errorf("fieldsAtMost(four, 3) = %q, %v", have, ok)
	}
	if n, ok := longTokens(" 1 -2\t+03 "); !ok || n != 3 {
		t.Errorf("longTokens = %d, %v", n, ok)
	}
	if n, ok := longTokens(" 1 x 2"); ok || n != 1 {
		t.Errorf("longTokens(bad second) = %d, %v", n, ok)
	}
}
