// Command benchtable measures the performance table of the project (the
// one docs/performance.md shows) and prints it, with every figure a ratio
// of two timings taken in the same run:
//
//	go run ./internal/benchtable            # rows 1 to 3, three repetitions
//	go run ./internal/benchtable -race      # and row 7: go test -race ./...
//
// It needs Go and, for row 2, python3. Row 1 compares with
// github.com/kolo/xmlrpc, which it fetches through the Go module proxy
// into a temporary module (this module's go.mod keeps no dependency); if
// that fails, row 1 says so and the rest is still measured.
//
// The rows:
//
//  1. decoding a get_resource_info answer of 10, 100 and 1000 vessels
//     into structs (xmlrpc's BenchmarkDecodeTyped) against kolo/xmlrpc
//     doing the same; the figure is kolo's time over ours.
//  2. the same against CPython's xmlrpc.client.loads (to dicts).
//  3. clearinghouse.Client.GetResourceInfo against a bare net/http POST of
//     the same request to the same canned-answer server, reading the body
//     with io.ReadAll (clearinghouse's BenchmarkGetResourceInfoVsBare); the
//     figure is the client's time over the bare POST's. A second line,
//     without a goal, divides by the same POST discarding the answer: what
//     moving the bytes alone costs, the floor.
//  4. to 6. the mock's throughput, start-up and status page: not measured
//     by this tool yet; their rows say so.
//  7. the wall time of go test -race ./... (only with -race, once).
//
// Each repetition runs every benchmark once, size by size, and for each
// size the sides of a ratio one right after the other; a figure is the
// median over the repetitions of those side-by-side ratios, which a
// change of load between repetitions leaves alone. The payloads are
// xmlrpc/testdata/resource_info_{10,100,1000}.xml, written by payload.py
// in this directory. The load average before and after is printed with
// the table: on a busy machine the ratios still mean something, the
// absolute times do not.
package main
