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
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// The state file is a journal: a header line, then records. The first
// record is a snapshot of the whole state; every later one is either a
// delta (the full new value of each account, node and vessel one call
// changed) or another snapshot (after Reset). In format 2 a record is
// framed as
//
//	<payload length> <CRC-32C of the payload> <CRC-32C of the two fields before it>\n<payload>\n
//
// with each CRC as 8 lowercase hex digits, where the payload is compact
// JSON, which never holds a newline. A mutating call appends its delta and
// waits for fsync before it answers; concurrent calls share one write and
// fsync (group commit). When the records after the last snapshot grow past
// a threshold (or past the node managers' files and logs in the snapshot,
// if larger), and on Close, the file is compacted: a new snapshot plus any
// records newer than it go to a temporary file in the same directory, which
// is synced and renamed over the old one, and the directory is synced.
// journal.go does the writing, and says what happens when it fails.
//
// Reading trusts nothing but whole records whose checksums match, and
// drops only what a crash can leave after the last acknowledged record:
// the start of one record (cut inside its header, or a header whose own
// checksum matches and whose record runs past the end of the file), and
// zero bytes (a file system may extend a file before the data reaches
// the disk). The header's own checksum is what tells a record cut short
// from one whose length was damaged: a damaged length fails it. Anything
// else is ErrCorruptState, naming the record and its byte offset, and
// Open leaves the file as it is.
//
// Format 1 (header line "... v1") framed a record as
// "<length> <CRC-32C of the payload>\n<payload>\n", without the header's
// checksum. It is still read: there a record that runs past the end of the
// file is taken as cut short only if what follows its header holds no
// newline (a damaged length runs over its own record's final newline).
// Open converts such a file to format 2 by compacting it; until that
// succeeds (a full disk) the journal goes on appending format-1 records.
//
// Vessel expiry and cleanup are not journaled when they happen: they follow
// from the stored expiry times and the clock, and are recomputed on load (a
// later record that touches such a vessel carries its new state). Cleaning
// waits while a vessel's node is unusable, so a record that changes a node
// carries all of the node's vessels: a replay sees the node only as it
// ends up.
//
// Snapshots stay small with a large generated population: generated nodes
// are stored as the generator's parameters, plus records for the nodes a
// control has changed, and only vessels that are owned or dirty are listed.

const (
	fileMagic         = "mockclearinghouse state v2\n"
	fileMagicV1       = "mockclearinghouse state v1\n"
	populationVersion = 1
	// maxHeaderLen bounds a record's header line: up to 19 digits of
	// length and two checksums, with their separators, and some room.
	maxHeaderLen = 48
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorruptState is matched by the error Open returns for a state file it
// cannot trust.
var ErrCorruptState = errors.New("mockserver: corrupt state file")

// corruptError is an ErrCorruptState that says where the damage is.
type corruptError struct {
	path   string // set once known
	record int    // 1 for the first record; 0 for the file's header line
	offset int    // where the record starts
	reason string
}

func (e *corruptError) Error() string {
	msg := ErrCorruptState.Error()
	if e.path != "" {
		msg += " " + e.path
	}
	if e.record > 0 {
		msg += fmt.Sprintf(": record %d at byte offset %d", e.record, e.offset)
	}
	return msg + ": " + e.reason
}

func (e *corruptError) Is(target error) bool { return target == ErrCorruptState }

// corruptf is an ErrCorruptState at no particular record.
func corruptf(format string, args ...any) error {
	return &corruptError{reason: fmt.Sprintf(format, args...)}
}

// withPath names the state file in a corruptError (and leaves any other
// error alone).
func withPath(err error, path string) error {
	var ce *corruptError
	if errors.As(err, &ce) && ce.path == "" {
		c := *ce
		c.path = path
		return &c
	}
	return err
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

	// The node managers (nmpersist.go).
	NM      []nmRecord     `json:"nm,omitempty"`
	NMFiles []nmFileRecord `json:"nm_files,omitempty"`
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
	st.nmEncodeSnapshot(&r)
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
	st.nmEncodeDelta(&r, c)
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

// appendFrame appends a format-2 record holding payload.
func appendFrame(dst, payload []byte) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, ' ')
	dst = appendHex32(dst, crc32.Checksum(payload, crcTable))
	sum := crc32.Checksum(dst[start:], crcTable)
	dst = append(dst, ' ')
	dst = appendHex32(dst, sum)
	dst = append(dst, '\n')
	dst = append(dst, payload...)
	return append(dst, '\n')
}

// appendFrameV1 appends a format-1 record holding payload.
func appendFrameV1(dst, payload []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(payload)), 10)
	dst = append(dst, ' ')
	dst = appendHex32(dst, crc32.Checksum(payload, crcTable))
	dst = append(dst, '\n')
	dst = append(dst, payload...)
	return append(dst, '\n')
}

func appendHex32(dst []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, digits[v>>uint(shift)&0xf])
	}
	return dst
}

// stateFile is what parseStateFile finds in a state file.
type stateFile struct {
	version  int      // the format: 1 or 2
	payloads [][]byte // the whole records' payloads
	offsets  []int    // where each of them starts
	// good is the length of the prefix that holds only the header line
	// and whole, valid records. What follows it, if anything, is what a
	// crash cut short: it was never acknowledged and may be dropped.
	good int
}

// parseStateFile splits a state file into its records. It refuses, with
// a *corruptError, anything but whole valid records followed by what an
// interrupted append leaves (see tornTail).
func parseStateFile(data []byte) (stateFile, error) {
	var sf stateFile
	switch {
	case bytes.HasPrefix(data, []byte(fileMagic)):
		sf.version = 2
	case bytes.HasPrefix(data, []byte(fileMagicV1)):
		sf.version = 1
	case len(data) < len(fileMagic) && (bytes.HasPrefix([]byte(fileMagic), data) || bytes.HasPrefix([]byte(fileMagicV1), data)):
		return sf, corruptf("the file ends inside its header line")
	default:
		return sf, corruptf("not a mock clearinghouse state file of a version this build reads (bad header line)")
	}
	pos := len(fileMagic)
	for pos < len(data) {
		rest := data[pos:]
		payload, n, problem := parseRecord(rest, sf.version)
		if problem != "" {
			if tornTail(rest, sf.version) {
				break
			}
			return sf, &corruptError{record: len(sf.payloads) + 1, offset: pos, reason: problem}
		}
		sf.payloads = append(sf.payloads, payload)
		sf.offsets = append(sf.offsets, pos)
		pos += n
	}
	sf.good = pos
	return sf, nil
}

// parseRecord reads the record at the start of b and returns its payload
// and length, or says what is wrong with it.
func parseRecord(b []byte, version int) (payload []byte, n int, problem string) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 || nl > maxHeaderLen {
		if nl < 0 && len(b) <= maxHeaderLen {
			return nil, 0, "the file ends inside the record's header line"
		}
		return nil, 0, "the record's header line is malformed (no line end where one belongs)"
	}
	size, sum, ok, problem := parseHeader(b[:nl], version)
	if !ok {
		return nil, 0, problem
	}
	body := b[nl+1:]
	if size >= int64(len(body)) {
		return nil, 0, fmt.Sprintf("the record's length (%d bytes) runs past the end of the file", size)
	}
	payload = body[:size]
	if body[size] != '\n' {
		return nil, 0, "the record does not end where its length says"
	}
	if crc32.Checksum(payload, crcTable) != sum {
		return nil, 0, "the record's checksum does not match"
	}
	return payload, nl + 1 + int(size) + 1, ""
}

// parseHeader reads a record's header line, without its newline, and
// checks the header's own checksum (format 2). ok is false if anything is
// wrong, and problem then says what.
func parseHeader(h []byte, version int) (size int64, sum uint32, ok bool, problem string) {
	const malformed = "the record's header line is malformed"
	sp := bytes.IndexByte(h, ' ')
	if sp <= 0 || sp > 19 {
		return 0, 0, false, malformed
	}
	for i, c := range h[:sp] {
		if c < '0' || c > '9' || i == 0 && c == '0' && sp > 1 {
			return 0, 0, false, malformed
		}
		size = size*10 + int64(c-'0')
	}
	if size < 0 {
		return 0, 0, false, malformed // 19 digits can overflow
	}
	rest := h[sp+1:]
	if version == 1 {
		sum, ok = parseHex32(rest)
		if !ok {
			return 0, 0, false, malformed
		}
		return size, sum, true, ""
	}
	if len(rest) != 17 || rest[8] != ' ' {
		return 0, 0, false, malformed
	}
	sum, ok1 := parseHex32(rest[:8])
	hsum, ok2 := parseHex32(rest[9:])
	if !ok1 || !ok2 {
		return 0, 0, false, malformed
	}
	if crc32.Checksum(h[:sp+9], crcTable) != hsum {
		return 0, 0, false, "the record's header line is damaged (its checksum does not match)"
	}
	return size, sum, true, ""
}

// parseHex32 reads exactly 8 lowercase hex digits, as appendHex32 writes
// them.
func parseHex32(b []byte) (uint32, bool) {
	if len(b) != 8 {
		return 0, false
	}
	var v uint32
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint32(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint32(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// tornTail reports whether rest, everything from the start of the first
// record that is not whole and valid to the end of the file, is what an
// append cut short by a crash leaves: nothing but zero bytes, or the
// start of a single record, possibly followed by zero bytes (a file
// system may extend a file before the data is on disk; the missing data
// reads as zeros). The start of a record is either a prefix of a header
// line, or a whole header line that is valid (in format 2: whose own
// checksum matches) with a record length that runs past the end of the
// file, followed by part of a payload, which never holds a newline.
//
// A record that fits in the file but is damaged is never a torn tail,
// even when zeros end it: the write that carried it was acknowledged
// only once the whole of it was on disk, so if it is all there in length
// something changed it afterwards.
func tornTail(rest []byte, version int) bool {
	written := bytes.TrimRight(rest, "\x00")
	if len(written) == 0 {
		return true
	}
	nl := bytes.IndexByte(written, '\n')
	if nl < 0 {
		return len(written) <= maxHeaderLen && validPartialHeader(written, version)
	}
	if nl > maxHeaderLen {
		return false
	}
	size, _, ok, _ := parseHeader(written[:nl], version)
	if !ok || size < int64(len(rest)-nl-1) {
		return false // the whole record is in the file
	}
	return bytes.IndexByte(written[nl+1:], '\n') < 0
}

// validPartialHeader reports whether b could be the start of a header
// line: digits, then up to version fields of at most 8 hex digits, each
// after one space.
func validPartialHeader(b []byte, version int) bool {
	fields := bytes.Split(b, []byte{' '})
	if len(fields) > version+1 || len(fields) > 1 && len(fields[0]) == 0 {
		return false
	}
	for _, c := range fields[0] {
		if c < '0' || c > '9' {
			return false
		}
	}
	for _, f := range fields[1:] {
		if len(f) > 8 {
			return false
		}
		for _, c := range f {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// openFile locks the state file at path, then loads it, or creates it with
// a fresh state.
func (s *Server) openFile(ctx context.Context, path string) error {
	// A new file is linked into place only if there is still none: if
	// another server created one meanwhile, open that one instead. Each
	// attempt after the first follows such a creation.
	for attempt := 1; ; attempt++ {
		lock, f, err := lockState(path)
		if err != nil {
			return err
		}
		if f != nil {
			err = s.loadFile(ctx, path, lock, f)
		} else {
			err = s.createFile(ctx, path, lock)
			if errors.Is(err, fs.ErrExist) && attempt < 3 {
				lock.release()
				continue
			}
		}
		if err != nil {
			lock.release()
		}
		return err
	}
}

// createFile creates the state file at path, which must not exist, with a
// fresh state.
func (s *Server) createFile(ctx context.Context, path string, lock *stateLock) error {
	if s.st == nil {
		st, err := s.freshState(ctx)
		if err != nil {
			return err
		}
		s.st = st
	}
	buf := appendFrame([]byte(fileMagic), encodeSnapshot(s.st, s.clock.now(), s.clock.offset()))
	jf, err := s.cfg.files.create(path, buf, false)
	if err != nil {
		return fileErr("creating", path, err)
	}
	s.j, s.lock = newJournal(s, path, jf, int64(len(buf))), lock
	s.j.clock = s.clock.anchors()
	s.st.changes = newChanges()
	return nil
}

// loadFile loads the state file f, open and locked, found at path. It
// closes f if it fails.
func (s *Server) loadFile(ctx context.Context, path string, lock *stateLock, f *os.File) error {
	jf := s.cfg.files.adopt(f)
	data, err := io.ReadAll(f)
	if err != nil {
		jf.Close()
		return fileErr("reading", path, err)
	}
	st, last, sf, err := s.load(ctx, data)
	if ctx.Err() != nil {
		jf.Close()
		return ctx.Err()
	}
	if err != nil {
		jf.Close()
		return fmt.Errorf("%w; the file is left as it was", withPath(err, path))
	}
	// Only now, holding the lock, is no one else compacting this file: a
	// temporary file beside it is a leftover of a writer that died. (Not
	// before the file is known to be good: beside a damaged one, it is
	// left for whoever looks into the damage.)
	removed, err := atomicfile.RemoveTemps(path)
	for _, p := range removed {
		s.log.Warn("mockserver: removed a temporary file an interrupted compaction left", "path", p)
	}
	if err != nil {
		s.log.Warn("mockserver: removing leftover temporary files", "err", err)
	}
	good := sf.good
	if good < len(data) {
		s.log.Warn("mockserver: dropping an incomplete final record, which a crash cut short, from the state file",
			"path", path, "offset", good, "bytes", len(data)-good)
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
	j.version = sf.version
	j.base = 0 // unknown: compact once the journal passes the threshold
	s.j, s.lock = j, lock
	s.nmLoaded(st)
	s.st = st
	if s.cfg.scale == 1 {
		s.clock.set(s.clock.source().UnixNano() + last.Offset)
	} else {
		s.clock.set(last.Clock)
	}
	j.clock = s.clock.anchors()
	st.changes = newChanges()
	// A long journal left by a crash is compacted now, and a format-1
	// file converted; if that fails (it is logged) the old file stays in
	// use, which is still correct.
	_ = j.compact(s, j.version != 2)
	return nil
}

// load parses and replays the contents of a state file.
func (s *Server) load(ctx context.Context, data []byte) (st *state, last record, sf stateFile, err error) {
	sf, err = parseStateFile(data)
	if err != nil {
		return nil, record{}, sf, err
	}
	if len(sf.payloads) == 0 {
		return nil, record{}, sf, &corruptError{record: 1, offset: sf.good, reason: "no whole snapshot record"}
	}
	st, last, err = s.replay(ctx, sf)
	if err != nil {
		return nil, record{}, sf, err
	}
	return st, last, sf, nil
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
	st, _, sf, err := s.load(context.Background(), data)
	if err == nil && sf.good != len(data) {
		err = &corruptError{record: len(sf.payloads) + 1, offset: sf.good, reason: "the durable part of the file ends in an incomplete record"}
	}
	if err != nil {
		return withPath(err, j.path)
	}
	old := s.st
	st.cleanupDelay, st.failRate, st.failFunc = old.cleanupDelay, old.failRate, old.failFunc
	st.rng, st.seed = old.rng, old.seed
	s.nmLoaded(st)
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
func (s *Server) replay(ctx context.Context, sf stateFile) (*state, record, error) {
	var st *state
	var r record
	for i, p := range sf.payloads {
		if err := ctx.Err(); err != nil {
			return nil, r, err
		}
		bad := func(format string, args ...any) error {
			return &corruptError{record: i + 1, offset: sf.offsets[i], reason: fmt.Sprintf(format, args...)}
		}
		r = record{}
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, r, bad("%v", err)
		}
		if dec.More() {
			return nil, r, bad("more than one JSON value")
		}
		switch {
		case r.Type == "snapshot":
			next, err := s.loadSnapshot(ctx, &r)
			if err != nil {
				if ctx.Err() != nil {
					return nil, r, ctx.Err()
				}
				return nil, r, bad("%v", err)
			}
			st = next
		case r.Type == "delta" && st != nil:
			if err := st.applyRecord(&r); err != nil {
				return nil, r, bad("%v", err)
			}
		default:
			return nil, r, bad("unexpected record type %q", r.Type)
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
			spec := mockapi.NodeSpec{ID: n.ID, IP: n.IP}
			for _, v := range n.Vessels {
				ports := make([]int, len(v.Ports))
				for i, p := range v.Ports {
					ports[i] = int(p)
				}
				spec.Vessels = append(spec.Vessels, mockapi.VesselSpec{Name: "v" + strconv.Itoa(int(v.Num)), Ports: ports})
			}
			if err := validateNodeSpec(&spec); err != nil {
				return err
			}
			if len(st.groups)+st.newGroups([]mockapi.NodeSpec{spec}) > maxGroups {
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
	return st.nmApply(r)
}
