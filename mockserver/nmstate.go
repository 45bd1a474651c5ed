package mockserver

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// The node managers' part of the model (docs/nodemanager-api.md §8): what
// each vessel's node manager holds — its users, the trailer of the last
// signed request it accepted, its status, files, log and program — and
// the calls of the protocol that read and change it. It lives in the
// state, under Server.mu, so that the clearinghouse's changes reach it in
// the same step: an acquisition sets the vessel's user before the
// acquisition is answered, set_public_key moves the held vessels to the
// new key, and the cleanup after a release or an expiry takes the users
// away and resets the vessel.

const (
	// nmNodeVersion is the Version line of GetVessels: the last release's.
	nmNodeVersion = "0.2-alpha-20140714-1434"

	// VesselDiskQuota is the disk quota of every vessel (the diskused of
	// its resource file): its files may hold this many bytes together.
	VesselDiskQuota = 10_000_000

	// DefaultNodeManagerDisk bounds the bytes that the files and logs of
	// all the simulated node managers of a server hold together, unless
	// WithNodeManagerDisk says otherwise.
	DefaultNodeManagerDisk = 256 << 20

	// MaxNodeManagerDisk is the largest WithNodeManagerDisk: everything
	// is held in memory (and, with a state file, on disk).
	MaxNodeManagerDisk = 4 << 30

	// NodeManagerStartWait is how long the original node manager waited
	// for a program to report before it answered "Did not start in a
	// timely manner" with status Warning: what a start the mock cannot
	// run, and by default a start made to hang (HangVesselStart), waits.
	NodeManagerStartWait = 10 * time.Second

	// nmLogMax is how much of a vessel's log is kept: ReadVesselLog never
	// returns more.
	nmLogMax = 16 << 10

	// maxVesselFiles bounds a vessel's files: empty files take no quota,
	// and each costs memory. The original had no such bound; past it an
	// upload of a new file is refused as one over the quota is.
	maxVesselFiles = 1024
)

// The statuses of a vessel (docs/nodemanager-api.md §4.2).
const (
	statusFresh      = "Fresh"
	statusStarted    = "Started"
	statusStopped    = "Stopped"
	statusTerminated = "Terminated"
)

// nmState is the node managers' part of the state; nil when node managers
// are off.
type nmState struct {
	addr    nmAddressing
	diskCap int64

	// vessels holds the vessels whose node manager holds anything: users,
	// a stored trailer, a status other than Fresh, files, a log or an
	// armed hang. Every other vessel is Fresh, empty and has no users.
	vessels map[int32]*nmVessel
	used    int64 // bytes of files and logs of all the entries
	// versions counts the versions given out, over every state the
	// server has had (it survives a Reset and a rollback).
	versions *uint64

	// Listeners (nmnet.go): the port each listening node is bound to, the
	// nodes an admin control asked to listen, and the nodes whose need
	// for a listener may have changed during the call in progress.
	bound   map[int32]int
	pinned  map[int32]bool
	touched map[int32]struct{}
	net     *nmNet // nil when nothing listens (tests of the model alone)

	// wall is the node managers' clock (time.Now): they judge
	// expirations by wall-clock time, whatever the mock clock does.
	wall func() time.Time
	// startWait is how long a start whose program cannot report waits
	// before the Warning: NodeManagerStartWait.
	startWait time.Duration
}

// nmVessel is one vessel's node manager state.
type nmVessel struct {
	users  []string // canonical "e n" keys
	holder int32    // the account users were set for, or noOne

	// The owner's settings: owner is "" for the clearinghouse's key for
	// the node (nmOwnerKey), which nobody holds, so on the mock they
	// never change; the owner calls are there for completeness.
	owner       string
	ownerInfo   string
	noAdvertise bool

	meta    string // the trailer of the last accepted signed request
	hasMeta bool

	status  string // "" is Fresh
	files   map[string]string
	used    int64 // bytes in files
	log     string
	program string
	args    []string

	hang    time.Duration // with hangSet: the next start hangs this long
	hangSet bool

	// version changes whenever the vessel's users or stored trailer do
	// (nmnet.go decides requests outside the lock and checks it after).
	version uint64
}

func newNMState(addr nmAddressing, diskCap int64, wall func() time.Time) *nmState {
	return &nmState{
		addr: addr, diskCap: diskCap, wall: wall, versions: new(uint64),
		vessels: map[int32]*nmVessel{},
		bound:   map[int32]int{}, pinned: map[int32]bool{}, touched: map[int32]struct{}{},
	}
}

func (v *nmVessel) statusText() string {
	if v == nil || v.status == "" {
		return statusFresh
	}
	return v.status
}

// nmEntry returns vessel v's entry, creating it if create is set (nil
// otherwise when there is none).
func (st *state) nmEntry(v int32, create bool) *nmVessel {
	e := st.nm.vessels[v]
	if e == nil && create {
		e = &nmVessel{holder: noOne}
		st.nm.vessels[v] = e
	}
	return e
}

// nmDrop forgets vessel v's entry: the vessel is Fresh, empty and has no
// users or stored trailer.
func (st *state) nmDrop(v int32) {
	e := st.nm.vessels[v]
	if e == nil {
		return
	}
	st.nm.used -= e.used + int64(len(e.log))
	delete(st.nm.vessels, v)
	st.nmTouchNode(st.vessels[v].node)
	st.nmTouchReset(v)
}

// nmChanged records that the vessel's users or stored trailer changed.
func (st *state) nmChanged(v int32, e *nmVessel) {
	*st.nm.versions++
	e.version = *st.nm.versions
	st.touchNM(v)
}

// nmVersion returns the version of vessel v's users and stored trailer.
func (st *state) nmVersion(v int32) uint64 {
	if e := st.nm.vessels[v]; e != nil {
		return e.version
	}
	return 0
}

// touchNM records, for the journal, that vessel v's node manager state
// changed.
func (st *state) touchNM(v int32) {
	if st.changes != nil && !st.deriving {
		st.changes.nm[v] = struct{}{}
	}
}

// nmTouchNode notes that node n may need a listener, or no longer need
// it; nmnet.go looks at the noted nodes when the call ends.
func (st *state) nmTouchNode(n int32) {
	if st.nm != nil {
		st.nm.touched[n] = struct{}{}
	}
}

// nmNeedsListener reports whether node n's node manager should listen: it
// is reachable (active, not behind NAT) and a vessel on it is held or
// waits for its cleanup (so its user's key still works), or an admin
// control asked.
func (st *state) nmNeedsListener(n int32) bool {
	nd := &st.nodes[n]
	if st.nm == nil || nd.nat || nd.subnet < 0 || !nd.active {
		return false
	}
	if st.nm.pinned[n] {
		return true
	}
	for v := nd.first; v < nd.first+nd.count; v++ {
		if ves := &st.vessels[v]; ves.owner != noOne || ves.dirty {
			return true
		}
	}
	return false
}

// nmOwnerKey returns the clearinghouse's owner key of node n's vessels: a
// key string of the real shape ("65537 <309 digits>") made from the node
// id, the same on every run. There is no private key for it: users never
// hold the owner key (docs/nodemanager-api.md §4.1), and neither does
// anyone else here.
func (st *state) nmOwnerKey(n int32) string {
	id := st.nodes[n].id
	var seed [2]uint64
	for i := 0; i < len(id); i++ { // FNV-1a, twice over, for 128 bits of seed
		seed[0] = (seed[0] ^ uint64(id[i])) * 1099511628211
		seed[1] = (seed[1] ^ uint64(id[len(id)-1-i])) * 1099511628211
	}
	rng := rand.New(rand.NewPCG(seed[0]^0x6f776e6572, seed[1]))
	return string(fakeModulus(rng, []byte("65537 ")))
}

// canonicalKey returns a public key as the node manager stores and shows
// it ("e n", each integer in canonical decimal), and false for a string
// the node manager would refuse (not two integers, or e ≥ n).
func canonicalKey(s string) (string, bool) {
	k, form, valid := readKey(s)
	return k, form && valid
}

// readKey reads a key string as the original did: form is false when it
// is not two integers ("Invalid Key String"), valid when e < n (else
// "Invalid Key"). Keys over seattlersa's bound count as malformed.
func readKey(s string) (canonical string, form, valid bool) {
	if len(s) > maxKeyString {
		return "", false, false
	}
	f := pySplitN(s, 3)
	if len(f) != 2 {
		return "", false, false
	}
	e, ok1 := new(big.Int).SetString(f[0], 10)
	n, ok2 := new(big.Int).SetString(f[1], 10)
	if !ok1 || !ok2 {
		return "", false, false
	}
	return e.String() + " " + n.String(), true, e.Cmp(n) < 0
}

// maxKeyString bounds a key string the node manager reads: two integers
// of at most 1234 digits (4096 bits), a sign each, and room for spaces.
const maxKeyString = 2*1235 + 64

// nmBackendStamp stores in e the trailer the clearinghouse's own signed
// ChangeUsers would have left: signed with the node's owner key at the
// node managers' clock, so that a user whose clock is behind is refused
// until it passes that time, as on the testbed (docs/nodemanager-api.md
// §8.4). It has no signature: a stored trailer's signature is never read.
func (st *state) nmBackendStamp(v int32, e *nmVessel) {
	now := nmproto.NTPTime(st.nm.wall())
	ts := nmproto.FormatFloat(now, nmproto.FullForm)
	exp := nmproto.FormatFloat(now+time.Hour.Seconds(), nmproto.FullForm)
	e.meta = "!" + st.nmOwnerKey(st.vessels[v].node) + "!" + ts + "!" + exp + "!" + nmproto.None + "!" + nmproto.None + "!"
	e.hasMeta = true
}

// nmSetUsers makes the account's key the vessel's one user key, as the
// clearinghouse's ChangeUsers does (a key the node manager would refuse
// leaves no users), and stores the clearinghouse's trailer.
func (st *state) nmSetUsers(v, a int32) {
	e := st.nmEntry(v, true)
	e.users = nil
	if k, ok := canonicalKey(st.accounts[a].pubKey); ok {
		e.users = []string{k}
	}
	e.holder = a
	st.nmBackendStamp(v, e)
	st.nmChanged(v, e)
}

// nmAcquired is the clearinghouse's side of an acquisition (state.take):
// vessel v, which account a now holds, gets a's key as its user before the
// acquisition is answered, and its node listens. A vessel taken while
// still dirty (acquire_specific_vessels allows it) gets the cleanup it was
// owed first, so that nothing of its previous user's remains.
func (st *state) nmAcquired(v, a int32, wasDirty bool) {
	if st.nm == nil {
		return
	}
	if wasDirty {
		st.nmDrop(v)
	}
	st.nmSetUsers(v, a)
	if st.nm.net != nil {
		st.nm.net.ensure(st, st.vessels[v].node)
	}
}

// nmCleaned is the clearinghouse's cleanup of a released or expired vessel
// (state.advance): ChangeUsers with no keys, then ResetVessel. Until it
// runs the old user's key still works.
func (st *state) nmCleaned(v int32) {
	if st.nm != nil {
		st.nmDrop(v)
	}
}

// nmKeyChanged moves account a's held vessels to its new key
// (set_public_key). The real clearinghouse does this in a thread that
// polls every 5 s; the mock does it before set_public_key answers.
func (st *state) nmKeyChanged(a int32) {
	if st.nm == nil {
		return
	}
	for v := range st.accounts[a].held {
		st.nmSetUsers(v, a)
	}
}

// nmVesselOwner returns vessel v's owner key.
func (st *state) nmVesselOwner(v int32) string {
	if e := st.nm.vessels[v]; e != nil && e.owner != "" {
		return e.owner
	}
	return st.nmOwnerKey(st.vessels[v].node)
}

// nmFindVessel returns the vessel of node n named name.
func (st *state) nmFindVessel(n int32, name string) (int32, bool) {
	num, ok := parseVesselName(name)
	if !ok {
		return 0, false
	}
	nd := &st.nodes[n]
	for v := nd.first; v < nd.first+nd.count; v++ {
		if st.vessels[v].num == num {
			return v, true
		}
	}
	return 0, false
}

// nmAccess is what the decision engine needs of vessel v.
func (st *state) nmAccess(v int32) nmproto.Access {
	a := nmproto.Access{OwnerKey: st.nmVesselOwner(v)}
	if e := st.nm.vessels[v]; e != nil {
		a.UserKeys = slices.Clone(e.users)
		a.OldMetadata, a.HasOldMetadata = e.meta, e.hasMeta
	}
	return a
}

// nmLog appends text to the vessel's log, keeping its last nmLogMax bytes.
func (st *state) nmLog(e *nmVessel, text string) {
	before := int64(len(e.log))
	e.log += text
	if len(e.log) > nmLogMax {
		e.log = e.log[len(e.log)-nmLogMax:]
	}
	st.nm.used += int64(len(e.log)) - before
}

// nmResetVessel is ResetVessel: the program is stopped, the files (but
// private_ ones, which no user can make) and the log go, the status is
// Fresh. Users and the stored trailer stay.
func (st *state) nmResetVessel(v int32, e *nmVessel) {
	for name, data := range e.files {
		if !strings.HasPrefix(name, "private_") {
			delete(e.files, name)
			e.used -= int64(len(data))
			st.nm.used -= int64(len(data))
		}
	}
	st.nm.used -= int64(len(e.log))
	e.log, e.status, e.program, e.args = "", "", "", nil
	st.nmTouchReset(v)
}

// nmNode is one node's API, for the decision engine and nmproto.Dispatch;
// its methods run with Server.mu held, on the state at hand.
type nmNode struct {
	st *state
	n  int32
	// hang is set by a start that hangs: how long the node waits before it
	// answers.
	hang time.Duration
}

var _ nmproto.Node = (*nmNode)(nil)

// Access is the engine's view of the node's vessels.
func (nn *nmNode) Access(name string) (nmproto.Access, bool) {
	v, ok := nn.st.nmFindVessel(nn.n, name)
	if !ok {
		return nmproto.Access{}, false
	}
	return nn.st.nmAccess(v), true
}

// SetOldMetadata stores the trailer of an accepted request.
func (nn *nmNode) SetOldMetadata(name, meta string) {
	v, ok := nn.st.nmFindVessel(nn.n, name)
	if !ok {
		return
	}
	e := nn.st.nmEntry(v, true)
	e.meta, e.hasMeta = meta, true
	nn.st.nmChanged(v, e)
}

// vessel looks up a vessel the way the API functions did: "No such
// vessel" when the node has none of that name. The entry is created when
// create is set.
func (nn *nmNode) vessel(name string, create bool) (int32, *nmVessel, nmproto.Reply, bool) {
	v, ok := nn.st.nmFindVessel(nn.n, name)
	if !ok {
		return 0, nil, nmproto.Failure("No such vessel"), false
	}
	return v, nn.st.nmEntry(v, create), nmproto.Reply{}, true
}

func (nn *nmNode) GetVessels() nmproto.Reply {
	st := nn.st
	nd := &st.nodes[nn.n]
	info := nmproto.NodeInfo{Version: nmNodeVersion, Name: st.reportedIP(nn.n), Key: nd.id}
	owner := st.nmOwnerKey(nn.n)
	info.Vessels = make([]nmproto.VesselInfo, 0, nd.count)
	for v := nd.first; v < nd.first+nd.count; v++ {
		e := st.nm.vessels[v]
		vi := nmproto.VesselInfo{Name: st.vessels[v].name(), Status: e.statusText(), Advertise: true, OwnerKey: owner}
		if e != nil {
			vi.UserKeys, vi.OwnerInfo, vi.Advertise = e.users, e.ownerInfo, !e.noAdvertise
			if e.owner != "" {
				vi.OwnerKey = e.owner
			}
		}
		info.Vessels = append(info.Vessels, vi)
	}
	return nmproto.Succeeded(info.Render())
}

// nmResources is the resource file of a vessel with the given ports: a
// share of a node like the testbed's, each port both a connport and a
// messport (docs/nodemanager-api.md §4.3).
func nmResources(ports []uint16) string {
	var b strings.Builder
	b.WriteString("# A vessel of the mock clearinghouse's simulated node manager.\n" +
		"resource cpu .10\n" +
		"resource memory 100000000   # 100 MB\n" +
		"resource diskused " + strconv.Itoa(VesselDiskQuota) + "   # 10 MB\n" +
		"resource events 50\n" +
		"resource filewrite 100000\n" +
		"resource fileread 100000\n" +
		"resource filesopened 10\n" +
		"resource insockets 10\n" +
		"resource outsockets 10\n" +
		"resource netsend 100000\n" +
		"resource netrecv 100000\n" +
		"resource loopsend 1000000\n" +
		"resource looprecv 1000000\n" +
		"resource lograte 30000\n" +
		"resource random 100\n")
	for _, p := range ports {
		b.WriteString("resource connport " + strconv.Itoa(int(p)) + "\n")
	}
	for _, p := range ports {
		b.WriteString("resource messport " + strconv.Itoa(int(p)) + "\n")
	}
	return b.String()
}

// nmOffcut is the node's offcut resources: what splitting a vessel costs.
const nmOffcut = "resource cpu .002\n" +
	"resource memory 1000000   # 1 MiB\n" +
	"resource diskused 100000   # 0.1 MiB\n" +
	"resource events 2\n" +
	"resource filewrite 1000\n" +
	"resource fileread 1000\n" +
	"resource filesopened 1\n" +
	"resource insockets 0\n" +
	"resource outsockets 0\n" +
	"resource netsend 0\n" +
	"resource netrecv 0\n" +
	"resource loopsend 0\n" +
	"resource looprecv 0\n" +
	"resource lograte 100\n" +
	"resource random 0\n"

func (nn *nmNode) GetVesselResources(name string) nmproto.Reply {
	v, ok := nn.st.nmFindVessel(nn.n, name)
	if !ok {
		return nmproto.Failure("No such vessel")
	}
	return nmproto.Succeeded(nmResources(nn.st.groups[nn.st.vessels[v].group].ports))
}

func (nn *nmNode) GetOffcutResources() nmproto.Reply { return nmproto.Succeeded(nmOffcut) }

func (nn *nmNode) StartVessel(name, args string) nmproto.Reply {
	return nn.StartVesselEx(name, "repyV1", args)
}

// argumentChar reports whether the original allowed c in a start's
// arguments: letters, digits, '.', '-', '_' and space.
func argumentChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ' '
}

// StartVesselEx records the start of a program it does not run
// (docs/nodemanager-api.md §8.6): the checks are the original's, in its
// order; the log gets repy's execution header and a line saying that
// nothing ran.
func (nn *nmNode) StartVesselEx(name, platform, args string) nmproto.Reply {
	st := nn.st
	v, e, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	if e.statusText() == statusStarted {
		return nmproto.Failure("Vessel has already been started")
	}
	if p := strings.ToLower(platform); p != "repyv1" && p != "repyv2" {
		return nmproto.Failure("Programming language platform is not supported.")
	}
	for i := 0; i < len(args); i++ {
		if !argumentChar(args[i]) {
			return nmproto.Failure("Character '" + args[i:i+1] + "' not allowed in arguments")
		}
	}
	e = st.nmEntry(v, true)
	words := strings.Fields(args) // the allowed characters hold no other white space
	switch {
	case len(words) == 0 || e.hangSet:
		// The original started repy and waited for it to report; repy
		// without a program, like a start made to hang, never does.
		nn.hang = st.nm.startWait
		if e.hangSet {
			nn.hang, e.hang, e.hangSet = e.hang, 0, false
			st.touchNM(v)
		}
		return nmproto.Reply{Body: "Did not start in a timely manner", Status: nmproto.Warning}
	}
	e.program, e.args = words[0], words[1:]
	if _, ok := e.files[e.program]; !ok {
		st.nmLog(e, "FATAL ERROR: Unable to read the specified program file: '"+e.program+"'\n")
		e.status = statusTerminated
	} else {
		st.nmLog(e, execHeader(e.program, e.args)+"[mock] "+e.program+" was not run: this node manager is simulated and runs no program\n")
		e.status = statusStarted
	}
	st.touchNM(v)
	return nmproto.Succeeded(statusStarted)
}

// execHeader is the header repy writes at the top of a program's log: a
// row of '=', the program, its arguments as a Python list, a row of '='.
func execHeader(program string, args []string) string {
	rule := strings.Repeat("=", 40) + "\n"
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + a + "'" // the allowed characters need no escaping
	}
	return rule + "Running program: " + program + "\nArguments: [" + strings.Join(quoted, ", ") + "]\n" + rule
}

func (nn *nmNode) StopVessel(name string) nmproto.Reply {
	v, e, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	if s := e.statusText(); s != statusStarted {
		return nmproto.Failure("Cannot stop vessel with status '" + s + "'")
	}
	e.status = statusStopped
	nn.st.touchNM(v)
	return nmproto.Succeeded(statusStopped)
}

// repyFilenameProblem is repy's file name check, with its texts, or "".
func repyFilenameProblem(name string) string {
	if len(name) > 120 {
		return "Filename exceeds maximum length! Maximum: 120"
	}
	if name == "" || name == "." || name == ".." {
		return "Illegal filename provided!"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "Filename has disallowed character '" + name[i:i+1] + "'"
		}
	}
	if name[0] == '.' {
		return "Filename starts with a period, this is not allowed!"
	}
	return ""
}

const privateRefusal = "User is not allowed to use file names starting with 'private_'"

// AddFileToVessel stores a file, replacing one of the same name. Its checks
// come in the original's order: the private_ prefix, the disk space (the
// vessel's files, the old copy included, plus the new data against the
// quota; and the mock's own cap on all node managers' data), then the
// name.
func (nn *nmNode) AddFileToVessel(name, file, data string) nmproto.Reply {
	st := nn.st
	v, e, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	if strings.HasPrefix(file, "private_") {
		return nmproto.Failure(privateRefusal)
	}
	var used int64
	if e != nil {
		used = e.used
	}
	if used+int64(len(data)) > VesselDiskQuota || st.nm.used+int64(len(data)) > st.nm.diskCap ||
		e != nil && len(e.files) >= maxVesselFiles && !hasKey(e.files, file) {
		return nmproto.Failure("Not enough free disk space")
	}
	if p := repyFilenameProblem(file); p != "" {
		return nmproto.Failure(p)
	}
	e = st.nmEntry(v, true)
	if e.files == nil {
		e.files = map[string]string{}
	}
	old := int64(len(e.files[file]))
	e.files[file] = data
	e.used += int64(len(data)) - old
	st.nm.used += int64(len(data)) - old
	st.nmTouchFile(v, file)
	return nmproto.Succeeded("")
}

func (nn *nmNode) ListFilesInVessel(name string) nmproto.Reply {
	_, e, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	var names []string
	if e != nil {
		for f := range e.files {
			if !strings.HasPrefix(f, "private_") {
				names = append(names, f)
			}
		}
	}
	slices.Sort(names)
	return nmproto.Succeeded(strings.Join(names, " "))
}

func (nn *nmNode) RetrieveFileFromVessel(name, file string) nmproto.Reply {
	_, e, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	if strings.HasPrefix(file, "private_") {
		return nmproto.Failure(privateRefusal)
	}
	if p := repyFilenameProblem(file); p != "" {
		return nmproto.Failure(p)
	}
	data, found := "", false
	if e != nil {
		data, found = e.files[file]
	}
	if !found {
		// Not raised: the original returned this text with status Error.
		return nmproto.Failure("Error, File Not Found")
	}
	return nmproto.Succeeded(data)
}

func (nn *nmNode) DeleteFileInVessel(name, file string) nmproto.Reply {
	v, e, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	if strings.HasPrefix(file, "private_") {
		return nmproto.Failure(privateRefusal)
	}
	if p := repyFilenameProblem(file); p != "" {
		return nmproto.Failure(p)
	}
	data, found := "", false
	if e != nil {
		data, found = e.files[file]
	}
	if !found {
		return nmproto.Failure("File not found")
	}
	delete(e.files, file)
	e.used -= int64(len(data))
	nn.st.nm.used -= int64(len(data))
	nn.st.nmTouchFile(v, file)
	return nmproto.Succeeded("")
}

func (nn *nmNode) ReadVesselLog(name string) nmproto.Reply {
	_, e, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	if e == nil {
		return nmproto.Succeeded("")
	}
	return nmproto.Succeeded(e.log)
}

func (nn *nmNode) ResetVessel(name string) nmproto.Reply {
	v, e, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	if e != nil {
		nn.st.nmResetVessel(v, e)
	}
	return nmproto.Succeeded("")
}

// The owner calls. The engine lets only the vessel's owner key make them,
// and for a vessel of the mock that is the clearinghouse's key for the
// node (nmOwnerKey), which nobody holds: on the wire they end in
// "Insufficient Permissions". They are here for completeness, and for the
// golden vectors, whose vessels have owners with keys.

func (nn *nmNode) ChangeOwner(name, key string) nmproto.Reply {
	v, _, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	k, form, valid := readKey(key)
	switch {
	case !form:
		return nmproto.Failure("Invalid Key String")
	case !valid:
		return nmproto.Failure("Invalid Key")
	}
	e := nn.st.nmEntry(v, true)
	e.owner, e.ownerInfo, e.noAdvertise = k, "", false
	nn.st.nmChanged(v, e)
	return nmproto.Succeeded("")
}

func (nn *nmNode) ChangeUsers(name, keys string) nmproto.Reply {
	v, _, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	var users []string
	for _, item := range strings.Split(keys, "|") {
		if item == "" {
			continue
		}
		k, form, valid := readKey(item)
		switch {
		case !form:
			return nmproto.Failure("Invalid Key String '" + item + "'")
		case !valid:
			return nmproto.Failure("Invalid Key '" + item + "'")
		}
		users = append(users, k)
	}
	e := nn.st.nmEntry(v, true)
	e.users = users
	nn.st.nmChanged(v, e)
	return nmproto.Succeeded("")
}

// maxOwnerInfo is the longest owner information the original took.
const maxOwnerInfo = 256

func (nn *nmNode) ChangeOwnerInformation(name, info string) nmproto.Reply {
	v, _, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	if len(info) > maxOwnerInfo {
		return nmproto.Failure("String Too Long")
	}
	if strings.Contains(info, "\n") {
		return nmproto.Failure("String may not contain newline character")
	}
	e := nn.st.nmEntry(v, true)
	e.ownerInfo = info
	nn.st.touchNM(v)
	return nmproto.Succeeded("")
}

func (nn *nmNode) ChangeAdvertise(name, setting string) nmproto.Reply {
	v, _, r, ok := nn.vessel(name, false)
	if !ok {
		return r
	}
	if setting != "True" && setting != "False" {
		return nmproto.Failure("Invalid advertisement setting '" + setting + "'")
	}
	e := nn.st.nmEntry(v, true)
	e.noAdvertise = setting == "False"
	nn.st.touchNM(v)
	return nmproto.Succeeded("")
}

// SplitVessel and JoinVessels, resource arithmetic that changes the set
// of a node's vessels, are not simulated: the clearinghouse's vessels are
// fixed. They fail as an unexpected exception did in the original.

func (nn *nmNode) SplitVessel(name, resources string) nmproto.Reply {
	return nmproto.Failure(nmproto.TextInternalError)
}

func (nn *nmNode) JoinVessels(name1, name2 string) nmproto.Reply {
	return nmproto.Failure(nmproto.TextInternalError)
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
