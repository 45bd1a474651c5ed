package main

import (
	"bufio"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// result is one benchmark line of go test -bench.
type result struct {
	name   string  // without the -GOMAXPROCS suffix
	nsOp   float64 // ns/op
	allocs float64 // allocs/op; -1 when not reported
}

// parseBench reads the benchmark lines of go test -bench output.
func parseBench(out string) ([]result, error) {
	var rs []result
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		r := result{name: trimProcs(f[0]), nsOp: -1, allocs: -1}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, errors.New("benchtable: malformed benchmark line: " + sc.Text())
			}
			switch f[i+1] {
			case "ns/op":
				r.nsOp = v
			case "allocs/op":
				r.allocs = v
			}
		}
		if r.nsOp < 0 {
			return nil, errors.New("benchtable: benchmark line without ns/op: " + sc.Text())
		}
		rs = append(rs, r)
	}
	return rs, sc.Err()
}

// trimProcs removes the -N that go test appends to a benchmark's name.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// median returns the median of xs (the mean of the middle two for an even
// count), or -1 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// samples collects the timings of every repetition by benchmark name.
type samples map[string][]float64

func (s samples) add(rs []result) {
	for _, r := range rs {
		s[r.name] = append(s[r.name], r.nsOp)
	}
}
