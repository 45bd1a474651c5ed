package mockserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// The state file's reader against damage: every single-byte change and
// every truncation of a small journal that holds a bit of everything, and
// fuzz targets for arbitrary files and for arbitrary damage to a valid one.
// A damaged file must be refused (ErrCorruptState), never read as less
// than what was acknowledged; only what a crash can leave after the last
// acknowledged record may be dropped.

// smallJournal builds, at path, a state file of a few records, each small
// (tiny keys, a population of four nodes), with accounts, acquisitions, a
// release, a renewal, a node control, a clock change and a Reset (a
// snapshot in the middle of the journal). After Open and after every call,
// each of which appends exactly one record, it calls step with the server
// and the number of records in the file. The server is left open, as a
// killed one would leave the file.
func smallJournal(t testing.TB, path string, step func(s *Server, records int)) []byte {
	t.Helper()
	s, err := Open(context.Background(), path, append(frozen(t0), WithPopulation(PopulationConfig{Nodes: 4, Seed: 1}))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	records := 1
	done := func() {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sf, err := parseStateFile(data)
		if err != nil || sf.good != len(data) {
			t.Fatalf("the journal does not parse: %v", err)
		}
		if len(sf.payloads) != records {
			t.Fatalf("%d records after call %d, want %d: each call must append one", len(sf.payloads), records-1, records)
		}
		if step != nil {
			step(s, records)
		}
		records++
	}
	done()
	must(t, s.Advance(time.Hour)) // a snapshot, small while there are no accounts
	done()
	tiny := func(a *mockapi.AccountSpec) { a.PublicKey, a.PrivateKey = "3 55", "" }
	alice := addUser(t, s, "alice", tiny)
	done()
	bob := addUser(t, s, "bob", tiny)
	done()
	got := acquire(t, s, alice, "wan", 2)
	done()
	acquire(t, s, bob, "random", 1)
	done()
	mustCall(t, s, "release_resources", auth(alice), []any{got[0]})
	done()
	mustCall(t, s, "renew_resources", auth(alice), []any{got[1]})
	done()
	nodes, _, err := s.Nodes(NodeFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.SetNodeBroken(nodes[0].ID, true))
	done()
	must(t, s.Reset())
	done()
	carol := addUser(t, s, "carol", tiny)
	done()
	acquire(t, s, carol, "wan", 1)
	done()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// recordEnds returns where each record of a valid state file ends.
func recordEnds(t testing.TB, data []byte) []int {
	t.Helper()
	sf, err := parseStateFile(data)
	if err != nil {
		t.Fatal(err)
	}
	ends := make([]int, len(sf.offsets))
	for i := range ends {
		if i+1 < len(ends) {
			ends[i] = sf.offsets[i+1]
		} else {
			ends[i] = sf.good
		}
	}
	return ends
}

// recordAt returns the number (from 1) of the record that holds byte i,
// or 0 for the file's header line.
func recordAt(ends []int, i int) int {
	if i < len(fileMagic) {
		return 0
	}
	for k, end := range ends {
		if i < end {
			return k + 1
		}
	}
	return len(ends) + 1
}

// v1File reframes a format-2 state file in format 1.
func v1File(t testing.TB, data []byte) []byte {
	t.Helper()
	sf, err := parseStateFile(data)
	if err != nil {
		t.Fatal(err)
	}
	out := []byte(fileMagicV1)
	for _, p := range sf.payloads {
		out = appendFrameV1(out, p)
	}
	return out
}

// TestStateFileEverySingleByteChange makes every change of one byte to a
// small journal, in format 2 and in format 1: the reader must refuse each
// one, naming the damaged record and where it starts, or read exactly the
// same records. Through Open (one change per byte: Open reads the file and
// calls the same reader), the refusal must leave the file as it was.
func TestStateFileEverySingleByteChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v2 := smallJournal(t, filepath.Join(dir, "state"), nil)
	t.Logf("a journal of %d bytes; %d single-byte changes per format", len(v2), 255*len(v2))
	for _, format := range []struct {
		name string
		data []byte
	}{{"v2", v2}, {"v1", v1File(t, v2)}} {
		t.Run(format.name, func(t *testing.T) {
			t.Parallel()
			data := format.data
			want, err := parseStateFile(data)
			if err != nil {
				t.Fatal(err)
			}
			ends := recordEnds(t, data)
			damaged := slices.Clone(data)
			accepted, failures := 0, 0
			for i := range data {
				wantRecord := recordAt(ends, i)
				for v := range 256 {
					if byte(v) == data[i] {
						continue
					}
					damaged[i] = byte(v)
					sf, err := parseStateFile(damaged)
					problem := ""
					var ce *corruptError
					switch {
					case err == nil:
						accepted++
						if sf.good != len(data) || !slices.EqualFunc(sf.payloads, want.payloads, bytes.Equal) {
							problem = fmt.Sprintf("read as %d records of %d (%d bytes kept)", len(sf.payloads), len(want.payloads), sf.good)
						}
					case !errors.As(err, &ce):
						problem = fmt.Sprintf("refused with %v, want a *corruptError", err)
					case wantRecord == 0:
						// The file's header line: its version may now say
						// format 1, whose first record then fails.
					case ce.record != wantRecord || ce.offset != want.offsets[wantRecord-1]:
						problem = fmt.Sprintf("refused naming record %d at %d, want record %d: %v", ce.record, ce.offset, wantRecord, err)
					}
					if problem != "" {
						if failures++; failures <= 10 {
							t.Errorf("byte %d (record %d) %q -> %q: %s", i, wantRecord, data[i], byte(v), problem)
						}
					}
				}
				damaged[i] = data[i]
			}
			if failures > 10 {
				t.Errorf("... %d failures in all", failures)
			}
			t.Logf("%d changes read as the same records, the others refused", accepted)
		})
	}
	t.Run("through Open", func(t *testing.T) {
		t.Parallel()
		sf, err := parseStateFile(v2)
		if err != nil {
			t.Fatal(err)
		}
		// Every byte of the header lines and record separators, and the
		// first, middle and last byte of each payload.
		var at []int
		for i := range len(fileMagic) {
			at = append(at, i)
		}
		for k, off := range sf.offsets {
			nl := off + bytes.IndexByte(v2[off:], '\n')
			for i := off; i <= nl; i++ {
				at = append(at, i)
			}
			n := len(sf.payloads[k])
			at = append(at, nl+1, nl+1+n/2, nl+n, nl+n+1)
		}
		ends := recordEnds(t, v2)
		p := filepath.Join(t.TempDir(), "damaged")
		for _, i := range at {
			damaged := slices.Clone(v2)
			damaged[i] ^= 0x01
			if err := os.WriteFile(p, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(context.Background(), p, frozen(t0)...)
			if err == nil {
				s.Close()
				t.Fatalf("byte %d changed: Open accepted the file", i)
			}
			if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "left as it was") {
				t.Fatalf("byte %d changed: have %v, want an error matching ErrCorruptState that names %s and says it is left as it was", i, err, p)
			}
			if k := recordAt(ends, i); k > 0 {
				if want := fmt.Sprintf("record %d at byte offset %d", k, sf.offsets[k-1]); !strings.Contains(err.Error(), want) {
					t.Fatalf("byte %d changed: error %q does not say %q", i, err, want)
				}
			}
			if have, err := os.ReadFile(p); err != nil || !bytes.Equal(have, damaged) {
				t.Fatalf("byte %d changed: the refused file was changed (%v)", i, err)
			}
		}
	})
}

// TestStateFileEveryTruncation cuts a small journal at every byte. The
// reader must refuse a file with no whole snapshot, and otherwise read
// exactly the records that are whole, dropping only the one the cut is
// in. Through Open (at a cut in each record's header, in its payload,
// before its final newline, and at its end), the state must be the state
// after those records, and the file cut back to them.
//
// A truncation at a record boundary cannot be told from a shorter
// journal, nor a cut inside an earlier record from one inside the final
// record: a crash leaves only the latter, so what is dropped is never
// acknowledged. Other damage: TestStateFileEverySingleByteChange.
func TestStateFileEveryTruncation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var views []snapshotView // views[k]: the state after k records
	data := smallJournal(t, filepath.Join(dir, "state"), func(s *Server, records int) {
		for len(views) < records {
			views = append(views, snapshotView{})
		}
		views = append(views, view(t, s))
	})
	want, err := parseStateFile(data)
	if err != nil {
		t.Fatal(err)
	}
	ends := recordEnds(t, data)
	throughOpen := map[int]bool{}
	for k, off := range want.offsets {
		nl := off + bytes.IndexByte(data[off:], '\n')
		for _, n := range []int{off, off + 1, nl, nl + 1, nl + 1 + len(want.payloads[k])/2, ends[k] - 1} {
			throughOpen[n] = true
		}
	}
	throughOpen[len(data)] = true
	p := filepath.Join(t.TempDir(), "cut")
	for n := range len(data) + 1 {
		k, good := 0, len(fileMagic) // whole records before the cut, and their end
		for k < len(ends) && ends[k] <= n {
			good = ends[k]
			k++
		}
		sf, err := parseStateFile(data[:n])
		switch {
		case n < len(fileMagic):
			if err == nil {
				t.Fatalf("cut at %d, inside the header line: read", n)
			}
		case err != nil:
			t.Fatalf("cut at %d, after %d whole records: %v", n, k, err)
		case len(sf.payloads) != k || sf.good != good || !slices.EqualFunc(sf.payloads, want.payloads[:k], bytes.Equal):
			t.Fatalf("cut at %d: read %d records (%d bytes), want the first %d (%d bytes)", n, len(sf.payloads), sf.good, k, good)
		}
		if !throughOpen[n] {
			continue
		}
		if err := os.WriteFile(p, data[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(context.Background(), p, frozen(t0)...)
		if k == 0 {
			if err == nil {
				s.Close()
				t.Fatalf("cut at %d, inside the snapshot: Open accepted the file", n)
			}
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("cut at %d: have %v, want ErrCorruptState", n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d, after %d whole records: %v", n, k, err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Size() != int64(good) {
			t.Errorf("cut at %d: the file was not cut back to its %d whole records (%d bytes): %v", n, k, good, err)
		}
		compareViews(t, view(t, s), views[k])
		s.Close()
		if t.Failed() {
			t.Fatalf("cut at %d, after %d whole records: the state differs", n, k)
		}
	}
}

// TestPersistFormat1 opens a format-1 file: it reads as the same state,
// is converted to format 2 at once, and keeps working. A format-1 record
// cut short is dropped; one whose length was raised is refused.
func TestPersistFormat1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var want snapshotView
	v2 := smallJournal(t, filepath.Join(dir, "state"), func(s *Server, _ int) { want = view(t, s) })
	v1 := v1File(t, v2)
	path := filepath.Join(dir, "v1")
	if err := os.WriteFile(path, v1, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openState(t, path)
	compareViews(t, view(t, s), want)
	if data, err := os.ReadFile(path); err != nil || !bytes.HasPrefix(data, []byte(fileMagic)) {
		t.Fatalf("the format-1 file was not converted at Open: %.30q %v", data, err)
	}
	carol, err := s.Account("carol")
	if err != nil {
		t.Fatal(err)
	}
	acquire(t, s, carol, "wan", 1)
	reopenSame(t, s, path)

	ends := recordEnds(t, v1)
	last := ends[len(ends)-2] // where the final record starts
	for _, tc := range []struct {
		name    string
		data    []byte
		records int // read; 0: refused
	}{
		{"cut in the final payload", v1[:len(v1)-7], len(ends) - 1},
		{"cut in the final header", v1[:last+3], len(ends) - 1},
		{"final length raised", raiseLength(v1, last), 0},
		{"middle length raised", raiseLength(v1, ends[2]), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf, err := parseStateFile(tc.data)
			switch {
			case tc.records == 0 && !errors.Is(err, ErrCorruptState):
				t.Errorf("have %d records, %v; want ErrCorruptState", len(sf.payloads), err)
			case tc.records > 0 && (err != nil || len(sf.payloads) != tc.records):
				t.Errorf("have %d records, %v; want %d", len(sf.payloads), err, tc.records)
			}
		})
	}
}

// raiseLength returns data with the first digit of the length of the
// record at off made a 9 (or an 8 if it is one).
func raiseLength(data []byte, off int) []byte {
	out := slices.Clone(data)
	if out[off] == '9' {
		out[off] = '8'
	} else {
		out[off] = '9'
	}
	return out
}

// FuzzStateFile reads arbitrary bytes as a state file. The reader must
// refuse with a *corruptError, or keep only whole records, framed exactly
// as the writer frames them, and drop only a tail that tornTail accepts;
// and whatever it keeps must replay or be refused without a panic.
func FuzzStateFile(f *testing.F) {
	data := smallJournal(f, filepath.Join(f.TempDir(), "state"), nil)
	ends := recordEnds(f, data)
	for _, seed := range [][]byte{
		data, v1File(f, data), data[:ends[3]], data[:ends[3]+5], data[:len(data)-3],
		append(slices.Clone(data[:ends[2]]), 0, 0, 0, 0), []byte(fileMagic), nil,
		raiseLength(data, ends[4]), raiseLength(v1File(f, data), len(fileMagic)),
	} {
		f.Add(seed)
	}
	s, err := Open(context.Background(), "", frozen(t0)...)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := parseStateFile(data)
		if err != nil {
			var ce *corruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorruptState) {
				t.Fatalf("refused with %v, want a *corruptError", err)
			}
			return
		}
		framed := []byte(fileMagic)
		frame := appendFrame
		if sf.version == 1 {
			framed, frame = []byte(fileMagicV1), appendFrameV1
		}
		for i, p := range sf.payloads {
			if sf.offsets[i] != len(framed) {
				t.Fatalf("record %d at %d, want %d", i+1, sf.offsets[i], len(framed))
			}
			framed = frame(framed, p)
		}
		if !bytes.Equal(framed, data[:sf.good]) {
			t.Fatalf("the %d bytes kept are not the records read, framed", sf.good)
		}
		if sf.good < len(data) && !tornTail(data[sf.good:], sf.version) {
			t.Fatalf("dropped %d bytes that are not a torn tail", len(data)-sf.good)
		}
		// Replay what was read, unless it asks for a large population
		// (generating one is tested elsewhere, and slow).
		if len(sf.payloads) == 0 || bytes.Contains(sf.payloads[0], []byte(`"nodes":`)) && !smallPopulation(sf.payloads[0]) {
			return
		}
		if _, _, err := s.replay(context.Background(), sf); err != nil && !errors.Is(err, ErrCorruptState) {
			t.Fatalf("replay: have %v, want success or ErrCorruptState", err)
		}
	})
}

// smallPopulation reports whether a snapshot record asks for at most 100
// generated nodes (or is not one that replay would accept).
func smallPopulation(payload []byte) bool {
	var r struct {
		Population *struct {
			Nodes int `json:"nodes"`
		} `json:"population"`
	}
	if err := json.Unmarshal(payload, &r); err != nil || r.Population == nil {
		return true
	}
	return r.Population.Nodes <= 100
}

// FuzzStateFileDamage changes up to 8 bytes of a valid journal, and may
// cut it. The reader must refuse, or read exactly the records that are
// whole before the cut: damage never loses an acknowledged record quietly.
// The input is a cut point (2 bytes; beyond the end: no cut) and then
// (offset: 2 bytes, new value: 1 byte) per change.
func FuzzStateFileDamage(f *testing.F) {
	data := smallJournal(f, filepath.Join(f.TempDir(), "state"), nil)
	want, err := parseStateFile(data)
	if err != nil {
		f.Fatal(err)
	}
	ends := recordEnds(f, data)
	le16 := func(n int) []byte { return []byte{byte(n), byte(n >> 8)} }
	noCut := le16(0xffff)
	for _, seed := range [][]byte{
		noCut,
		slices.Concat(noCut, le16(ends[3]), []byte{'9'}),   // a length raised
		slices.Concat(noCut, le16(len(data)-1), []byte{0}), // the final newline zeroed
		slices.Concat(le16(len(data)-5), le16(ends[1]+3), []byte{'x'}),
		slices.Concat(le16(ends[2]+4), le16(ends[2]+2), []byte{'7'}), // a torn header changed
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, edits []byte) {
		if len(edits) < 2 || len(edits) > 2+3*8 {
			return
		}
		cut := min(int(edits[0])|int(edits[1])<<8, len(data))
		damaged := slices.Clone(data[:cut])
		changed := false
		for e := edits[2:]; len(e) >= 3; e = e[3:] {
			if i := int(e[0]) | int(e[1])<<8; i < len(damaged) && damaged[i] != e[2] {
				damaged[i], changed = e[2], true
			}
		}
		k := 0 // whole records before the cut
		for k < len(ends) && ends[k] <= cut {
			k++
		}
		sf, err := parseStateFile(damaged)
		if err != nil {
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("refused with %v, want ErrCorruptState", err)
			}
			if !changed && k > 0 {
				t.Fatalf("a clean cut after %d whole records refused: %v", k, err)
			}
			return
		}
		if !slices.EqualFunc(sf.payloads, want.payloads[:min(k, len(sf.payloads))], bytes.Equal) || len(sf.payloads) != k {
			t.Fatalf("read %d records, want exactly the %d whole ones before the cut at %d", len(sf.payloads), k, cut)
		}
	})
}
