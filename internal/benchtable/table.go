package main

import (
	"fmt"
	"io"
	"strings"
)

// sizes are the vessel counts of the payloads, as they appear in the
// benchmark names.
var sizes = []string{"10", "100", "1000"}

// goal is a row's target for its ratio: at least or at most x.
type goal struct {
	atLeast bool
	x       float64
}

func (g goal) String() string {
	if g.atLeast {
		return fmt.Sprintf("≥%g× at every size", g.x)
	}
	return fmt.Sprintf("≤%g× at every size", g.x)
}

func (g goal) met(r float64) bool {
	if g.atLeast {
		return r >= g.x
	}
	return r <= g.x
}

// cell is one size of a row: a ratio, or why there is none.
type cell struct {
	ratio float64 // > 0 when measured
	note  string
}

// row is one line of the table.
type row struct {
	n      string // the row's number in the table
	figure string
	goal   string
	cells  []cell // one per size, or a single one for a row without sizes
	met    string // "yes", "no", or "" when not measured
}

// ratioRow builds a row whose figure is num/den for each size, num and
// den giving the benchmark names whose timings are divided (see
// pairedRatio). skip, when not empty, says why the row was not measured.
func ratioRow(n, figure string, g goal, s samples, num, den func(size string) string, skip string) row {
	r := row{n: n, figure: figure, goal: g.String()}
	all := true
	for _, size := range sizes {
		if skip != "" {
			r.cells = append(r.cells, cell{note: skip})
			all = false
			continue
		}
		ratio := pairedRatio(s[num(size)], s[den(size)])
		if ratio <= 0 {
			r.cells = append(r.cells, cell{note: "no result"})
			all = false
			continue
		}
		c := cell{ratio: ratio}
		r.cells = append(r.cells, c)
		if !g.met(c.ratio) {
			r.met = "no"
		}
	}
	switch {
	case !all:
		r.met = ""
	case r.met == "":
		r.met = "yes"
	}
	return r
}

// pairedRatio divides the timings of two benchmarks taken side by side,
// repetition by repetition (a[i] and b[i] ran one right after the other),
// and returns the median of those ratios, or -1 when there is none. A
// ratio of two neighbouring timings shrugs off a change of load between
// repetitions, which a ratio of two medians would not.
func pairedRatio(a, b []float64) float64 {
	var ratios []float64
	for i := range min(len(a), len(b)) {
		if a[i] > 0 && b[i] > 0 {
			ratios = append(ratios, a[i]/b[i])
		}
	}
	return median(ratios)
}

// notMeasured is a row this tool does not measure yet.
func notMeasured(n, figure, goal, why string) row {
	return row{n: n, figure: figure, goal: goal, cells: []cell{{note: "not yet measured: " + why}}}
}

func (c cell) String() string {
	if c.ratio > 0 {
		return fmt.Sprintf("%.2f×", c.ratio)
	}
	return c.note
}

// render writes the rows as a Markdown table, sizes as columns.
func render(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| # | figure | 10 vessels | 100 vessels | 1000 vessels | goal | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		cells := make([]string, 3)
		if len(r.cells) == 1 {
			cells[0] = r.cells[0].String()
		} else {
			for i, c := range r.cells {
				cells[i] = c.String()
			}
		}
		met := r.met
		if met == "" {
			met = "–"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.n, r.figure, cells[0], cells[1], cells[2], r.goal, met)
	}
}

// renderDetails writes the medians behind the ratios.
func renderDetails(w io.Writer, s samples, allocs map[string]float64, names []string) {
	fmt.Fprintln(w, "| benchmark | median ns/op | runs | allocs/op |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, name := range names {
		xs := s[name]
		if len(xs) == 0 {
			continue
		}
		a := "–"
		if v, ok := allocs[name]; ok && v >= 0 {
			a = fmt.Sprintf("%.0f", v)
		}
		fmt.Fprintf(w, "| %s | %.0f | %d | %s |\n", strings.TrimPrefix(name, "Benchmark"), median(xs), len(xs), a)
	}
}

// benchNames lists the benchmarks behind rows 1 to 3, in table order.
func benchNames() []string {
	var names []string
	for _, size := range sizes {
		names = append(names, ours(size), koloName(size), cpythonName(size))
	}
	for _, size := range sizes {
		names = append(names, clientName(size), bareName(size), discardName(size))
	}
	return names
}

func ours(size string) string        { return "BenchmarkDecodeTyped" + size }
func koloName(size string) string    { return "BenchmarkDecodeKolo" + size }
func cpythonName(size string) string { return "CPython/" + size }
func clientName(size string) string  { return "BenchmarkGetResourceInfoVsBare/" + size + "/client" }
func bareName(size string) string    { return "BenchmarkGetResourceInfoVsBare/" + size + "/bare" }
func discardName(size string) string { return "BenchmarkGetResourceInfoVsBare/" + size + "/discard" }

// codecRows builds rows 1 to 3 from the samples; skipKolo and skipPython
// say why a peer could not be measured. Row 3's second line, against the
// same POST that discards the answer, has no goal: it shows what moving
// the bytes alone costs, the floor.
func codecRows(s samples, skipKolo, skipPython string) []row {
	floor := ratioRow("(3)", "the same vs the bare POST discarding the answer (the floor; for reading)", goal{false, 0}, s, clientName, discardName, "")
	floor.goal, floor.met = "none", ""
	return []row{
		ratioRow("1", "decode into structs vs kolo/xmlrpc (kolo's time ÷ ours)", goal{true, 15}, s, koloName, ours, skipKolo),
		ratioRow("2", "decode vs CPython xmlrpc.client.loads (CPython's time ÷ ours)", goal{true, 15}, s, cpythonName, ours, skipPython),
		ratioRow("3", "client GetResourceInfo vs bare net/http POST + io.ReadAll of the answer (client ÷ bare)", goal{false, 1.5}, s, clientName, bareName, ""),
		floor,
	}
}

// laterRows are the rows of the table that measure the mock and are left
// to a later change of this tool; each says so rather than staying silent.
func laterRows() []row {
	const why = "the mock's performance is a later task"
	return []row{
		notMeasured("4", "mock get_resource_info throughput vs bare handler, 16 keep-alive clients", "≥0.8× at every size", why),
		notMeasured("5", "mock start-up and peak RSS with 1 000 000 nodes", "<3 s, <1 GB", why),
		notMeasured("6", "status page at 100 000 nodes: state lock held per render", "<0.1 ms", why),
	}
}

// raceRow is row 7, from one timed run of go test -race ./..., or a note
// when it was not asked for.
func raceRow(seconds float64, err error, asked bool) row {
	r := row{n: "7", figure: "go test -race ./... wall time (one run)", goal: "<120 s on an idle 2-core machine"}
	switch {
	case !asked:
		r.cells = []cell{{note: "not measured: run with -race"}}
	case err != nil:
		r.cells = []cell{{note: fmt.Sprintf("failed after %.0f s: %v", seconds, err)}}
		r.met = "no"
	default:
		r.cells = []cell{{note: fmt.Sprintf("%.0f s", seconds)}}
		r.met = "no"
		if seconds < 120 {
			r.met = "yes"
		}
	}
	return r
}
