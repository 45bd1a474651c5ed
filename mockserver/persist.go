package mockserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"

	"github.com/seattletestbed/clearinghouse-go/internal/atomicfile"
)

// The state file is a journal: a header line, then records. The first
// record is a snapshot of the whole state; every later one is either a
// delta (the full new value of each account, node and vessel one call
// changed) or another snapshot (after Reset). A record is framed as
//
//	<payload length> <CRC-32C of the payload, 8 hex digits>\n<payload>\n
//
// where the payload is JSON. A mutating call appends its delta and waits
// for fsync before it answers; concurrent calls share one write and fsync
// (group commit). When the records after the last snapshot grow past a
// threshold, and on Close, the file is compacted: a new snapshot plus any
// records newer than it go to a temporary file in the same directory, which
// is synced and renamed over the old one, and the directory is synced.
// journal.go does the writing, and says what happens when it fails.
//
// Vessel expiry and cleanup are not journaled when they happen: they follow
// from the stored expiry times and the clock, and are recomputed on load
// (any such change is also written with the next record).
//
// Snapshots stay small with a large generated population: generated nodes
// are stored as the generator's parameters, plus records for the nodes a
// control has changed, and only vessels that are owned or dirty are listed.

const (
	fileMagic         = "mockclearinghouse state v1\n"
	populationVersion = 1
	maxHeaderLen      = 32
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptState is matched by the error Open returns for a state file it
// cannot trust.
var ErrCorruptState = errors.New("mockserver: corrupt state file")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorruptState}, args...)...)
}

// record is one journal record.
type record struct {
	Type   string `json:"type"`   // "snapshot" or "delta"
	Clock  int64  `json:"clock"`  // mock time, Unix ns, when written
	Offset int64  `json:"offset"` // mock time minus the clock's source

	// Snapshots only.
	Population *populationRecord `json:"population,omitempty"`

	Accounts []accountRecord `json:"accounts,omitempty"`
	Nodes    []nodeRecord    `json:"nodes,omitempty"`
	Vessels  []vesselRecord  `json:"vessels,omitempty"`
}

type populationRecord struct {
	Version     int     `json:"version"`
	Nodes       int     `json:"nodes"`
	NATFraction float64 `json:"nat_fraction"`
	Seed        int64   `json:"seed"`
}

// accountRecord holds secrets: the state file is written with mode 0600.
type accountRecord struct {
	Index       int32  `json:"i"`
	Username    string `json:"username"`
	Password    string `json:"password"`
	APIKey      string `json:"api_key"`
	PublicKey   string `json:"public_key"`
	PrivateKey  string `json:"private_key,omitempty"`
	Affiliation string `json:"affiliation"`
	Port        int32  `json:"port"`
	Free        int    `json:"free"`
	Active      bool   `json:"active"`
}

// nodeRecord is a node's mutable fields; ID and Vessels are present when
// the record adds the node.
type nodeRecord struct {
	Index    int32       `json:"i"`
	ID       string      `json:"id,omitempty"`
	Vessels  []vesselDef `json:"vessels,omitempty"`
	IP       string      `json:"ip"`
	Port     int32       `json:"port"`
	Active   bool        `json:"active"`
	Broken   bool        `json:"broken,omitempty"`
	Fail     bool        `json:"fail,omitempty"`
	FailNext int32       `json:"fail_next,omitempty"`
	Donor    string      `json:"donor,omitempty"`
}

type vesselDef struct {
	Num   uint16   `json:"n"`
	Ports []uint16 `json:"p"`
}

type vesselRecord struct {
	Index int32  `json:"i"`
	Owner string `json:"o,omitempty"`
	// Since and Expires are vessel.since and vessel.expires; the names in
	// the file are older than the fields'.
	Since   int64 `json:"t1,omitempty"`
	Expires int64 `json:"t2,omitempty"`
	Dirty   bool  `json:"d,omitempty"`
}

func (st *state) accountRecord(i int32) accountRecord {
	a := st.accounts[i]
	return accountRecord{
		Index: i, Username: a.name, Password: a.password, APIKey: a.apiKey,
		PublicKey: a.pubKey, PrivateKey: a.privKey, Affiliation: a.affiliation,
		Port: a.port, Free: a.free, Active: a.active,
	}
}

func (st *state) nodeRecord(i int32, withDefinition bool) nodeRecord {
	nd := &st.nodes[i]
	r := nodeRecord{
		Index: i, IP: nd.ip, Port: nd.port, Active: nd.active, Broken: nd.broken,
		Fail: nd.fail, FailNext: nd.failNext,
	}
	if nd.donor != noOne {
		r.Donor = st.accounts[nd.donor].name
	}
	if withDefinition {
		r.ID = nd.id
		for v := nd.first; v < nd.first+nd.count; v++ {
			ves := &st.vessels[v]
			r.Vessels = append(r.Vessels, vesselDef{Num: ves.num, Ports: st.groups[ves.group].ports})
		}
	}
	return r
}

func (st *state) vesselRecord(i int32) vesselRecord {
	ves := &st.vessels[i]
	r := vesselRecord{Index: i, Since: ves.since, Expires: ves.expires, Dirty: ves.dirty}
	if ves.owner != noOne {
		r.Owner = st.accounts[ves.owner].name
	}
	return r
}

func encodeSnapshot(st *state, now, offset int64) []byte {
	r := record{
		Type: "snapshot", Clock: now, Offset: offset,
		Population: &populationRecord{
			Version: populationVersion, Nodes: st.population.Nodes,
			NATFraction: st.population.NATFraction, Seed: st.population.Seed,
		},
	}
	for i := range st.accounts {
		r.Accounts = append(r.Accounts, st.accountRecord(int32(i)))
	}
	for i := range st.nodes {
		switch {
		case i >= st.generated:
			r.Nodes = append(r.Nodes, st.nodeRecord(int32(i), true))
		case !st.nodes[i].generated:
			r.Nodes = append(r.Nodes, st.nodeRecord(int32(i), false))
		}
	}
	for i := range st.vessels {
		if v := &st.vessels[i]; v.owner != noOne || v.dirty {
			r.Vessels = append(r.Vessels, st.vesselRecord(int32(i)))
		}
	}
	return mustMarshal(r)
}

func encodeDelta(st *state, c *changes, now, offset int64) []byte {
	r := record{Type: "delta", Clock: now, Offset: offset}
	for _, i := range sortedKeys(c.accounts) {
		r.Accounts = append(r.Accounts, st.accountRecord(i))
	}
	for _, i := range sortedKeys(c.nodes) {
		r.Nodes = append(r.Nodes, st.nodeRecord(i, c.nodes[i]))
	}
	for _, i := range sortedKeys(c.vessels) {
		r.Vessels = append(r.Vessels, st.vesselRecord(i))
	}
	return mustMarshal(r)
}

func mustMarshal(r record) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		// Only plain strings, numbers and booleans: cannot fail.
		panic("mockserver: encoding state: " + err.Error())
	}
	return b
}

func sortedKeys[V any](m map[int32]V) []int32 {
	out := make([]int32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func appendFrame(dst, payload []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, ' ')
	dst = fmt.Appendf(dst, "%08x", crc32.Checksum(payload, crcTable))
	dst = append(dst, '\n')
	dst = append(dst, payload...)
	return append(dst, '\n')
}

// parseStateFile splits a state file into record payloads. good is the
// length of the prefix that holds only whole, valid records; anything after
// it is an incomplete final record (or zero bytes a crash left behind),
// which the caller may drop. Anything else wrong is an ErrCorruptState.
func parseStateFile(data []byte) (payloads [][]byte, good int, err error) {
	if !bytes.HasPrefix(data, []byte(fileMagic)) {
		if len(data) < len(fileMagic) && bytes.HasPrefix([]byte(fileMagic), data) {
			return nil, 0, corruptf("file ends inside the header")
		}
		return nil, 0, corruptf("not a mock clearinghouse state file (bad header)")
	}
	pos := len(fileMagic)
	for pos < len(data) {
		rest := data[pos:]
		if allZero(rest) {
			return payloads, pos, nil // a crash extended the file with zeros
		}
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			if len(rest) <= maxHeaderLen && validPartialHeader(rest) {
				return payloads, pos, nil // cut inside a record header
			}
			return nil, 0, corruptf("bad record header at offset %d", pos)
		}
		size, sum, ok := parseHeader(rest[:nl])
		if !ok {
			return nil, 0, corruptf("bad record header at offset %d", pos)
		}
		body := rest[nl+1:]
		if int64(len(body)) < size+1 {
			return payloads, pos, nil // cut inside the last record
		}
		payload := body[:size]
		if body[size] != '\n' {
			return nil, 0, corruptf("record at offset %d is not terminated", pos)
		}
		if crc32.Checksum(payload, crcTable) != sum {
			return nil, 0, corruptf("checksum mismatch in record at offset %d", pos)
		}
		payloads = append(payloads, payload)
		pos += nl + 1 + int(size) + 1
	}
	return payloads, pos, nil
}

func parseHeader(h []byte) (size int64, sum uint32, ok bool) {
	sp := bytes.IndexByte(h, ' ')
	if sp <= 0 || len(h)-sp-1 != 8 {
		return 0, 0, false
	}
	size, err := strconv.ParseInt(string(h[:sp]), 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != string(h[:sp]) {
		return 0, 0, false
	}
	s, err := strconv.ParseUint(string(h[sp+1:]), 16, 32)
	if err != nil {
		return 0, 0, false
	}
	return size, uint32(s), true
}

// validPartialHeader reports whether b could be the start of a header.
func validPartialHeader(b []byte) bool {
	sp := bytes.IndexByte(b, ' ')
	digits, hex := b, []byte(nil)
	if sp >= 0 {
		digits, hex = b[:sp], b[sp+1:]
	}
	if len(digits) == 0 && sp >= 0 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	if len(hex) > 8 {
		return false
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// openFile locks the state file at path, then loads it, or creates it with
// a fresh state.
func (s *Server) openFile(ctx context.Context, path string) (err error) {
	lock, err := lockState(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			lock.release()
		}
	}()
	// Only now, holding the lock, is no one else compacting this file: a
	// temporary file beside it is a leftover of a writer that died.
	removed, err := atomicfile.RemoveTemps(path)
	for _, p := range removed {
		s.log.Warn("mockserver: removed a temporary file an interrupted compaction left", "path", p)
	}
	if err != nil {
		s.log.Warn("mockserver: removing leftover temporary files", "err", err)
	}

	f, err := openStateFile(path)
	if err != nil {
		return err
	}
	if f == nil {
		if s.st, err = s.freshState(ctx); err != nil {
			return err
		}
		now := s.clock.now()
		buf := appendFrame([]byte(fileMagic), encodeSnapshot(s.st, now, s.clock.offset()))
		jf, err := s.cfg.files.create(path, buf)
		if err != nil {
			return fileErr("creating", path, err)
		}
		s.j, s.lock = newJournal(s, path, jf, int64(len(buf))), lock
		s.j.clock = s.clock.anchors()
		s.st.changes = newChanges()
		return nil
	}
	jf := s.cfg.files.adopt(f)
	data, err := io.ReadAll(f)
	if err != nil {
		jf.Close()
		return fileErr("reading", path, err)
	}
	st, last, good, err := s.load(ctx, data)
	if ctx.Err() != nil {
		jf.Close()
		return ctx.Err()
	}
	if err != nil {
		jf.Close()
		return fmt.Errorf("%w (%s)", err, path)
	}
	if good < len(data) {
		s.log.Warn("mockserver: dropping an incomplete final record from the state file",
			"path", path, "bytes", len(data)-good)
		if err := jf.Truncate(int64(good)); err != nil {
			jf.Close()
			return fileErr("truncating", path, err)
		}
		if err := jf.Sync(); err != nil {
			jf.Close()
			return fileErr("syncing", path, err)
		}
	}
	j := newJournal(s, path, jf, int64(good))
	j.base = 0 // unknown: compact once the journal passes the threshold
	s.j, s.lock = j, lock
	s.st = st
	if s.cfg.scale == 1 {
		s.clock.set(s.clock.source().UnixNano() + last.Offset)
	} else {
		s.clock.set(last.Clock)
	}
	j.clock = s.clock.anchors()
	st.changes = newChanges()
	// A long journal left by a crash is compacted now; if that fails
	// (it is logged) the old file stays in use, which is still correct.
	_ = j.compact(s, false)
	return nil
}

// load parses and replays the contents of a state file. good is the
// length of its whole records (see parseStateFile).
func (s *Server) load(ctx context.Context, data []byte) (st *state, last record, good int, err error) {
	payloads, good, err := parseStateFile(data)
	if err != nil {
		return nil, record{}, 0, err
	}
	if len(payloads) == 0 {
		return nil, record{}, 0, fmt.Errorf("%w: no snapshot", ErrCorruptState)
	}
	st, last, err = s.replay(ctx, payloads)
	if err != nil {
		return nil, record{}, 0, err
	}
	return st, last, good, nil
}

// reloadLocked cuts the state file back to its durable size and rebuilds
// the state from it, keeping the settings (which the file does not hold)
// and restoring the clock as of the last durable record: the rollback
// after a failed write. It is called with the state lock and the
// journal's lock held and no I/O in flight.
func (s *Server) reloadLocked() error {
	j := s.j
	if err := j.f.Truncate(j.size); err != nil {
		return fileErr("truncating", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fileErr("syncing", j.path, err)
	}
	data := make([]byte, j.size)
	if n, err := j.f.ReadAt(data, 0); n < len(data) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return fileErr("reading", j.path, err)
	}
	st, _, good, err := s.load(context.Background(), data)
	if err == nil && good != len(data) {
		err = corruptf("%d bytes of its durable part do not parse", len(data)-good)
	}
	if err != nil {
		return fmt.Errorf("%w (%s)", err, j.path)
	}
	old := s.st
	st.cleanupDelay, st.failRate, st.failFunc = old.cleanupDelay, old.failRate, old.failFunc
	st.rng, st.seed = old.rng, old.seed
	st.changes = newChanges()
	s.st = st
	s.clock.restore(j.clock)
	return nil
}

// openStateFile opens the existing state file at path for reading and
// writing, or returns nil if there is none. It refuses a symbolic link (a
// link someone planted would have the server read, and append to, a file
// of their choosing; and replacing it would silently discard what it
// pointed to) and anything else that is not a regular file.
func openStateFile(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("mockserver: opening state file: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("mockserver: state file %s is a symbolic link; refusing to follow it (give the path of the file itself)", path)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("mockserver: state file %s is not a regular file (%v)", path, fi.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("mockserver: opening state file: %w", err)
	}
	// Lstat and open are two steps: make sure they saw the same file.
	if ffi, err := f.Stat(); err != nil || !os.SameFile(fi, ffi) {
		f.Close()
		return nil, fmt.Errorf("mockserver: state file %s changed while it was being opened", path)
	}
	return f, nil
}

// replay rebuilds the state from the records of a state file.
func (s *Server) replay(ctx context.Context, payloads [][]byte) (*state, record, error) {
	var st *state
	var r record
	for i, p := range payloads {
		if err := ctx.Err(); err != nil {
			return nil, r, err
		}
		r = record{}
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, r, corruptf("record %d: %v", i+1, err)
		}
		switch {
		case r.Type == "snapshot":
			next, err := s.loadSnapshot(ctx, &r)
			if err != nil {
				return nil, r, corruptf("record %d: %v", i+1, err)
			}
			st = next
		case r.Type == "delta" && st != nil:
			if err := st.applyRecord(&r); err != nil {
				return nil, r, corruptf("record %d: %v", i+1, err)
			}
		default:
			return nil, r, corruptf("record %d: unexpected record type %q", i+1, r.Type)
		}
	}
	if err := st.rebuild(ctx); err != nil {
		return nil, r, err
	}
	return st, r, nil
}

func (s *Server) loadSnapshot(ctx context.Context, r *record) (*state, error) {
	p := r.Population
	if p == nil {
		return nil, errors.New("snapshot without population")
	}
	if p.Version != populationVersion {
		return nil, fmt.Errorf("population generator version %d, this build has %d", p.Version, populationVersion)
	}
	pc := PopulationConfig{Nodes: p.Nodes, NATFraction: p.NATFraction, Seed: p.Seed}
	if err := pc.validate(); err != nil {
		return nil, err
	}
	st := newState(s.cfg.seed)
	st.cleanupDelay = int64(s.cfg.cleanupDelay)
	st.failRate = s.cfg.failRate
	if err := st.generatePopulationRaw(ctx, pc); err != nil {
		return nil, err
	}
	if err := st.applyRecord(r); err != nil {
		return nil, err
	}
	return st, nil
}

// applyRecord applies the accounts, nodes and vessels of a record to a
// state whose derived structures will be rebuilt afterwards.
func (st *state) applyRecord(r *record) error {
	for _, a := range r.Accounts {
		switch {
		case int(a.Index) == len(st.accounts):
			if _, dup := st.byName[a.Username]; dup {
				return fmt.Errorf("account %q added twice", a.Username)
			}
			st.byName[a.Username] = a.Index
			st.accounts = append(st.accounts, &account{name: a.Username, held: map[int32]struct{}{}})
		case a.Index < 0 || int(a.Index) > len(st.accounts) || st.accounts[a.Index].name != a.Username:
			return fmt.Errorf("account record %d (%q) does not fit", a.Index, a.Username)
		}
		if p := storedKeysProblem(a.PublicKey, a.PrivateKey); p != "" {
			return fmt.Errorf("account %q: %s", a.Username, p)
		}
		acc := st.accounts[a.Index]
		acc.password, acc.apiKey, acc.pubKey, acc.privKey = a.Password, a.APIKey, a.PublicKey, a.PrivateKey
		acc.affiliation, acc.port, acc.free, acc.active = a.Affiliation, a.Port, a.Free, a.Active
	}
	for _, n := range r.Nodes {
		switch {
		case int(n.Index) == len(st.nodes):
			spec := NodeSpec{ID: n.ID, IP: n.IP}
			for _, v := range n.Vessels {
				ports := make([]int, len(v.Ports))
				for i, p := range v.Ports {
					ports[i] = int(p)
				}
				spec.Vessels = append(spec.Vessels, VesselSpec{Name: "v" + strconv.Itoa(int(v.Num)), Ports: ports})
			}
			if err := spec.validate(); err != nil {
				return err
			}
			if len(st.groups)+st.newGroups([]NodeSpec{spec}) > maxGroups {
				return errors.New("too many vessel port sets")
			}
			if _, dup := st.byID[n.ID]; dup {
				return fmt.Errorf("node %d added twice", n.Index)
			}
			st.addNodeRaw(spec)
		case n.Index < 0 || int(n.Index) > len(st.nodes):
			return fmt.Errorf("node record %d does not fit", n.Index)
		}
		if !validIP(n.IP) || n.Port < 0 || n.Port > 65535 {
			return fmt.Errorf("node record %d: bad address", n.Index)
		}
		nd := &st.nodes[n.Index]
		nd.ip, nd.port, nd.active, nd.broken = n.IP, n.Port, n.Active, n.Broken
		nd.fail, nd.failNext, nd.generated = n.Fail, n.FailNext, false
		nd.donor = noOne
		if n.Donor != "" {
			a, ok := st.byName[n.Donor]
			if !ok {
				return fmt.Errorf("node %d donated by unknown account %q", n.Index, n.Donor)
			}
			nd.donor = a
		}
	}
	for _, v := range r.Vessels {
		if v.Index < 0 || int(v.Index) >= len(st.vessels) {
			return fmt.Errorf("vessel record %d does not fit", v.Index)
		}
		ves := &st.vessels[v.Index]
		ves.owner = noOne
		if v.Owner != "" {
			a, ok := st.byName[v.Owner]
			if !ok {
				return fmt.Errorf("vessel %d owned by unknown account %q", v.Index, v.Owner)
			}
			ves.owner = a
		}
		ves.since, ves.expires, ves.dirty = v.Since, v.Expires, v.Dirty
	}
	return nil
}
