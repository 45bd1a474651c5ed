package mockserver

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The node managers in the state file (docs/nodemanager-api.md §8.10).
// A record lists, for each vessel whose node manager state a call
// changed, that state whole (nmRecord: users, stored trailer, status,
// log, program, owner settings), or that it is gone (the cleanup); and
// for each file the call wrote or deleted, its contents or its deletion
// (nmFileRecord). A vessel whose files were all removed at once (by
// ResetVessel, or by the cleanup a dirty vessel gets when
// acquire_specific_vessels takes it) says so (Reset), before its file
// records. Snapshots list every vessel's state and every file. Bytes that
// may be anything (a trailer, a log, file contents, owner information)
// are stored as base64.
//
// The state file holds node manager state only while the server runs
// with node managers on; a server opened without them forgets it.

// nmRecord is one vessel's node manager state.
type nmRecord struct {
	Index       int32    `json:"i"`
	Gone        bool     `json:"gone,omitempty"`
	Reset       bool     `json:"reset,omitempty"` // its files were removed before the file records
	Users       []string `json:"users,omitempty"`
	Holder      string   `json:"holder,omitempty"`
	Meta        []byte   `json:"meta,omitempty"`
	HasMeta     bool     `json:"has_meta,omitempty"`
	Status      string   `json:"status,omitempty"`
	Log         []byte   `json:"log,omitempty"`
	Program     string   `json:"program,omitempty"`
	Args        []string `json:"args,omitempty"`
	Owner       string   `json:"owner,omitempty"`
	OwnerInfo   []byte   `json:"owner_info,omitempty"`
	NoAdvertise bool     `json:"no_advertise,omitempty"`
	Hang        int64    `json:"hang,omitempty"` // ns
	HangSet     bool     `json:"hang_set,omitempty"`
}

// nmFileRecord is one file of a vessel: its contents, or its deletion.
type nmFileRecord struct {
	Vessel  int32  `json:"v"`
	Name    string `json:"name"`
	Data    []byte `json:"data,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

// nmFileKey names a file in changes.nmFiles.
type nmFileKey struct {
	v    int32
	name string
}

// Bounds on what a state file may hold, as a running server never exceeds
// them.
const (
	maxNMUsers    = 1024
	maxNMMetadata = maxNMRequest
)

// nmTouchFile records, for the journal, that a file of vessel v changed.
func (st *state) nmTouchFile(v int32, name string) {
	if c := st.changes; c != nil && !st.deriving {
		if c.nmFiles == nil {
			c.nmFiles = map[nmFileKey]struct{}{}
		}
		c.nmFiles[nmFileKey{v, name}] = struct{}{}
		st.touchNM(v)
	}
}

// nmTouchReset records that vessel v's files were all removed.
func (st *state) nmTouchReset(v int32) {
	if c := st.changes; c != nil && !st.deriving {
		if c.nmReset == nil {
			c.nmReset = map[int32]struct{}{}
		}
		c.nmReset[v] = struct{}{}
		st.touchNM(v)
	}
}

func (st *state) nmRecord(v int32, reset bool) nmRecord {
	e := st.nm.vessels[v]
	if e == nil {
		return nmRecord{Index: v, Gone: true}
	}
	r := nmRecord{
		Index: v, Reset: reset, Users: e.users, Meta: []byte(e.meta), HasMeta: e.hasMeta, Status: e.status,
		Log: []byte(e.log), Program: e.program, Args: e.args, Owner: e.owner, OwnerInfo: []byte(e.ownerInfo),
		NoAdvertise: e.noAdvertise, Hang: int64(e.hang), HangSet: e.hangSet,
	}
	if e.holder != noOne {
		r.Holder = st.accounts[e.holder].name
	}
	return r
}

// nmFileRecord returns file name of vessel v as it is now, or false when
// the vessel has no node manager state left (its record says it is gone).
func (st *state) nmFileRecord(v int32, name string) (nmFileRecord, bool) {
	e := st.nm.vessels[v]
	if e == nil {
		return nmFileRecord{}, false
	}
	data, ok := e.files[name]
	return nmFileRecord{Vessel: v, Name: name, Data: []byte(data), Deleted: !ok}, true
}

// nmSnapshot adds every vessel's node manager state to a snapshot record.
func (st *state) nmEncodeSnapshot(r *record) {
	if st.nm == nil {
		return
	}
	for _, v := range slices.Sorted(maps.Keys(st.nm.vessels)) {
		r.NM = append(r.NM, st.nmRecord(v, false))
		e := st.nm.vessels[v]
		for _, name := range slices.Sorted(maps.Keys(e.files)) {
			f, _ := st.nmFileRecord(v, name)
			r.NMFiles = append(r.NMFiles, f)
		}
	}
}

// nmEncodeDelta adds what a call changed of the node managers.
func (st *state) nmEncodeDelta(r *record, c *changes) {
	if st.nm == nil {
		return
	}
	for _, v := range sortedKeys(c.nm) {
		_, reset := c.nmReset[v]
		r.NM = append(r.NM, st.nmRecord(v, reset))
	}
	keys := slices.SortedFunc(maps.Keys(c.nmFiles), func(a, b nmFileKey) int {
		if a.v != b.v {
			return int(a.v - b.v)
		}
		return strings.Compare(a.name, b.name)
	})
	for _, k := range keys {
		if f, ok := st.nmFileRecord(k.v, k.name); ok {
			r.NMFiles = append(r.NMFiles, f)
		}
	}
}

// nmApply applies a record's node manager state to a state being loaded.
// It checks what it reads against the bounds a running server keeps.
func (st *state) nmApply(r *record) error {
	if len(r.NM) == 0 && len(r.NMFiles) == 0 {
		return nil
	}
	if st.nm == nil {
		st.nm = newNMState(nmAddressing{}, 0, nil)
	}
	for _, n := range r.NM {
		if n.Index < 0 || int(n.Index) >= len(st.vessels) {
			return fmt.Errorf("node manager record of vessel %d does not fit", n.Index)
		}
		if n.Gone {
			delete(st.nm.vessels, n.Index)
			continue
		}
		if err := n.check(); err != nil {
			return fmt.Errorf("node manager record of vessel %d: %w", n.Index, err)
		}
		e := st.nm.vessels[n.Index]
		if e == nil || n.Reset {
			files := map[string]string{}
			if e != nil && !n.Reset {
				files = e.files
			}
			e = &nmVessel{files: files}
			st.nm.vessels[n.Index] = e
		}
		e.holder = noOne
		if n.Holder != "" {
			a, ok := st.byName[n.Holder]
			if !ok {
				return fmt.Errorf("node manager record of vessel %d: unknown account %q", n.Index, n.Holder)
			}
			e.holder = a
		}
		e.users, e.meta, e.hasMeta, e.status = n.Users, string(n.Meta), n.HasMeta, n.Status
		e.log, e.program, e.args = string(n.Log), n.Program, n.Args
		e.owner, e.ownerInfo, e.noAdvertise = n.Owner, string(n.OwnerInfo), n.NoAdvertise
		e.hang, e.hangSet = time.Duration(n.Hang), n.HangSet
	}
	for _, f := range r.NMFiles {
		e := st.nm.vessels[f.Vessel]
		if e == nil {
			return fmt.Errorf("file %q of vessel %d, which has no node manager state", clip(f.Name, 64), f.Vessel)
		}
		if p := repyFilenameProblem(f.Name); p != "" || len(f.Data) > VesselDiskQuota {
			return fmt.Errorf("file %q of vessel %d: bad name or too large", clip(f.Name, 64), f.Vessel)
		}
		if e.files == nil {
			e.files = map[string]string{}
		}
		if f.Deleted {
			delete(e.files, f.Name)
		} else {
			e.files[f.Name] = string(f.Data)
		}
		if len(e.files) > maxVesselFiles {
			return fmt.Errorf("vessel %d has more than %d files", f.Vessel, maxVesselFiles)
		}
	}
	return nil
}

func (n *nmRecord) check() error {
	switch n.Status {
	case "", statusStarted, statusStopped, statusTerminated:
	default:
		return fmt.Errorf("status %q", clip(n.Status, 64))
	}
	if len(n.Users) > maxNMUsers || len(n.Meta) > maxNMMetadata || len(n.Log) > nmLogMax ||
		len(n.OwnerInfo) > maxOwnerInfo || len(n.Args) > maxNMRequest || n.Hang < 0 ||
		time.Duration(n.Hang) > NodeManagerStartWait {
		return errors.New("a field over its bound")
	}
	keys := slices.Clone(n.Users)
	if n.Owner != "" {
		keys = append(keys, n.Owner)
	}
	for _, k := range keys {
		if c, ok := canonicalKey(k); !ok || c != k {
			return errors.New("a key that is not canonical")
		}
	}
	return nil
}

// nmLoaded readies loaded node manager state for this server: it keeps it
// (recounting the disk it uses) with node managers on, and gives each held
// vessel without a user its holder's key, as the clearinghouse's sync
// would after a restart of a file written without them; with node
// managers off it forgets it. Nothing here is journaled: a later change
// writes the vessel's state whole.
func (s *Server) nmLoaded(st *state) {
	if s.nmNet == nil {
		if st.nm != nil && len(st.nm.vessels) > 0 {
			s.log.Warn("mockserver: the state file holds node manager state, which a server without node managers drops",
				"vessels", len(st.nm.vessels))
		}
		st.nm = nil
		return
	}
	if st.nm == nil {
		st.nm = newNMState(s.nmAddr, s.cfg.nmDisk, s.cfg.nmWall)
	}
	st.nm.addr, st.nm.diskCap, st.nm.wall, st.nm.startWait = s.nmAddr, s.cfg.nmDisk, s.cfg.nmWall, s.cfg.nmStartWait
	st.nm.versions = &s.nmVersions
	st.nm.used = 0
	for _, e := range st.nm.vessels {
		s.nmVersions++ // nothing decided against the state before may stand
		e.version = s.nmVersions
		e.used = 0
		for _, data := range e.files {
			e.used += int64(len(data))
		}
		st.nm.used += e.used + int64(len(e.log))
	}
	for _, it := range st.expiry.items {
		if e := st.nm.vessels[it.v]; e == nil || e.holder != st.vessels[it.v].owner {
			st.nmSetUsers(it.v, st.vessels[it.v].owner)
		}
	}
}

// nmBulk is about how many bytes the node managers' files and logs take in
// a snapshot (base64: 4 for 3): the journal waits for as many bytes of
// records before it writes them all again.
func (st *state) nmBulk() int64 {
	if st.nm == nil {
		return 0
	}
	return st.nm.used / 3 * 4
}
