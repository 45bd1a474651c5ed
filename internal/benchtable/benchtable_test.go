package main

import (
	"bytes"
	"context"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

const benchOutput = `goos: linux
goarch: amd64
pkg: github.com/seattletestbed/clearinghouse-go/xmlrpc
cpu: Intel(R) Xeon(R) Processor
BenchmarkDecodeTyped10-2     	   55426	     21828 ns/op	 562.13 MB/s	    9778 B/op	      49 allocs/op
BenchmarkGetResourceInfoVsBare/10/client-2         	   12361	     96887.5 ns/op	 126.64 MB/s	   19210 B/op	     155 allocs/op
BenchmarkNoAllocs-16	 100	 7 ns/op
PASS
ok  	github.com/seattletestbed/clearinghouse-go/xmlrpc	2.325s
`

func TestParseBench(t *testing.T) {
	rs, err := parseBench(benchOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := []result{
		{"BenchmarkDecodeTyped10", 21828, 49},
		{"BenchmarkGetResourceInfoVsBare/10/client", 96887.5, 155},
		{"BenchmarkNoAllocs", 7, -1},
	}
	if len(rs) != len(want) {
		t.Fatalf("have %+v, want %+v", rs, want)
	}
	for i := range want {
		if rs[i] != want[i] {
			t.Errorf("line %d: have %+v, want %+v", i, rs[i], want[i])
		}
	}
	for _, bad := range []string{
		"BenchmarkX-2 10 fast ns/op",
		"BenchmarkX-2 10 5 B/op 1 allocs/op",
	} {
		if _, err := parseBench(bad); err == nil {
			t.Errorf("parseBench(%q) accepted it", bad)
		}
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkA-2": "BenchmarkA", "BenchmarkA/10/bare-16": "BenchmarkA/10/bare",
		"BenchmarkA": "BenchmarkA", "BenchmarkA/x-y": "BenchmarkA/x-y",
	} {
		if have := trimProcs(in); have != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, have, want)
		}
	}
}

func TestPairedRatio(t *testing.T) {
	// A load that doubles both timings of the second repetition leaves its
	// ratio alone.
	if have := pairedRatio([]float64{100, 200, 90}, []float64{10, 20, 10}); have != 10 {
		t.Errorf("have %v, want 10", have)
	}
	if have := pairedRatio([]float64{100, 0}, []float64{10}); have != 10 {
		t.Errorf("unequal lengths: have %v, want 10", have)
	}
	if have := pairedRatio(nil, []float64{1}); have != -1 {
		t.Errorf("no pair: have %v, want -1", have)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, -1}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if have := median(c.xs); have != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, have, c.want)
		}
	}
}

// TestRatioRow checks the figures and the verdict of a row: medians
// divided, per size, and "met" only when every size is measured and
// meets the goal.
func TestRatioRow(t *testing.T) {
	s := samples{}
	for _, size := range sizes {
		// Paired ratios 30, 10 and 20: the median is 20, where the ratio
		// of the medians (200 / 11) would be 18.18.
		s[koloName(size)] = []float64{300, 100, 200}
		s[ours(size)] = []float64{10, 10, 10}
	}
	r := ratioRow("1", "f", goal{true, 15}, s, koloName, ours, "")
	if r.met != "yes" || len(r.cells) != 3 || r.cells[2].String() != "20.00×" {
		t.Fatalf("have %+v, want 20.00× everywhere, met", r)
	}
	s[koloName("100")] = []float64{100}
	if r := ratioRow("1", "f", goal{true, 15}, s, koloName, ours, ""); r.met != "no" {
		t.Fatalf("one size at 9.1×: have %+v, want not met", r)
	}
	delete(s, ours("1000"))
	if r := ratioRow("1", "f", goal{true, 15}, s, koloName, ours, ""); r.met != "" || r.cells[2].note != "no result" {
		t.Fatalf("one size missing: have %+v, want no verdict", r)
	}
	if r := ratioRow("1", "f", goal{true, 15}, s, koloName, ours, "python3 not found"); r.met != "" || r.cells[0].String() != "python3 not found" {
		t.Fatalf("skipped: have %+v", r)
	}
	if !(goal{false, 1.5}).met(1.5) || (goal{false, 1.5}).met(1.51) || (goal{true, 15}).met(14.9) {
		t.Fatal("goal comparisons are off")
	}
}

func TestRenderEveryRow(t *testing.T) {
	s := samples{}
	for _, name := range benchNames() {
		s[name] = []float64{100}
	}
	rows := append(codecRows(s, "", ""), laterRows()...)
	rows = append(rows, raceRow(0, nil, false))
	var buf bytes.Buffer
	render(&buf, rows)
	out := buf.String()
	for i := 1; i <= 7; i++ {
		if !strings.Contains(out, "\n| "+string(rune('0'+i))+" | ") {
			t.Errorf("row %d missing from\n%s", i, out)
		}
	}
	if strings.Count(out, "not yet measured") != 3 || !strings.Contains(out, "run with -race") {
		t.Errorf("rows 4 to 7 do not say they were not measured:\n%s", out)
	}
	if strings.Count(out, "| 1.00× | 1.00× | 1.00× |") != 4 {
		t.Errorf("rows 1 to 3 and the floor are not 1.00× at every size:\n%s", out)
	}
	if !strings.Contains(out, "| (3) | ") || !strings.Contains(out, "| none | – |") {
		t.Errorf("the floor line is missing or has a verdict:\n%s", out)
	}
	buf.Reset()
	renderDetails(&buf, s, map[string]float64{ours("10"): 22}, benchNames())
	if !strings.Contains(buf.String(), "| DecodeTyped10 | 100 | 1 | 22 |") {
		t.Errorf("details:\n%s", buf.String())
	}
}

func TestRaceRow(t *testing.T) {
	if r := raceRow(95, nil, true); r.met != "yes" || r.cells[0].note != "95 s" {
		t.Errorf("95 s: have %+v", r)
	}
	if r := raceRow(151, nil, true); r.met != "no" {
		t.Errorf("151 s: have %+v", r)
	}
	if r := raceRow(30, errors.New("exit status 1"), true); r.met != "no" || !strings.Contains(r.cells[0].note, "failed") {
		t.Errorf("failed run: have %+v", r)
	}
}

func TestParseCPython(t *testing.T) {
	dir := "/p"
	out := "/p/resource_info_10.xml 250000\n/p/resource_info_100.xml 2500000\n/p/resource_info_1000.xml 25000000\n"
	rs, err := parseCPython(out, dir, sizes)
	if err != nil || len(rs) != 3 || rs[2].name != "CPython/1000" || rs[2].nsOp != 25e6 {
		t.Fatalf("have %+v, %v", rs, err)
	}
	if rs, err := parseCPython("/p/resource_info_10.xml 250000\n", dir, []string{"10"}); err != nil || len(rs) != 1 {
		t.Errorf("one size: have %+v, %v", rs, err)
	}
	if _, err := parseCPython("/p/resource_info_10.xml 250000\n", dir, sizes); err == nil {
		t.Error("missing sizes were accepted")
	}
	if _, err := parseCPython("/p/resource_info_10.xml x\n", dir, sizes); err == nil {
		t.Error("a malformed time was accepted")
	}
}

// TestPeersAreWellFormed parses the kolo benchmark the tool builds in its
// temporary module and compiles the Python timer, so that a broken peer
// shows here and not only when someone runs the table.
func TestPeersAreWellFormed(t *testing.T) {
	src := bytes.Replace(koloBench, []byte("//go:build ignore\n"), nil, 1)
	if bytes.Equal(src, koloBench) {
		t.Fatal("peers/kolo_test.go lost its build line: the module would then need kolo/xmlrpc")
	}
	f, err := parser.ParseFile(token.NewFileSet(), "kolo_test.go", src, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Imports) == 0 || !strings.Contains(string(src), `"github.com/kolo/xmlrpc"`) {
		t.Fatal("peers/kolo_test.go does not import kolo/xmlrpc")
	}
	for _, size := range sizes {
		if !strings.Contains(string(src), "func "+koloName(size)+"(") {
			t.Errorf("peers/kolo_test.go has no %s", koloName(size))
		}
	}
	if _, err := exec.LookPath("python3"); err != nil {
		testskip.Skipf(t, "python3 not found")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "cpython_loads.py")
	if err := os.WriteFile(script, cpythonLoads, 0o644); err != nil {
		t.Fatal(err)
	}
	payloads, err := filepath.Abs(filepath.Join("..", "..", "xmlrpc", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{root: dir, tmp: dir, benchtime: "1ms", log: &bytes.Buffer{}}
	rs, err := r.cpython(context.Background(), payloads)
	if err != nil || len(rs) != 3 || rs[0].nsOp <= 0 {
		t.Fatalf("have %+v, %v", rs, err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-reps", "0"}, {"-benchtime", "fast"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err == nil {
			t.Errorf("run(%q) accepted it", args)
		}
	}
}
