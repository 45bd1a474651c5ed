package mockserver

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// The node managers' options and controls (docs/nodemanager-api.md §8).

// WithNodeManagers puts a simulated node manager behind every reachable
// node (off by default): a vessel's node answers the node manager
// protocol on loopback from the moment the vessel is acquired, and the
// mock reports every node at the address its node manager listens at
// (docs/nodemanager-api.md §8.5). Off, the mock reports the nodes' stored
// addresses, as before.
func WithNodeManagers(enabled bool) Option {
	return option(func(c *config) error {
		c.nodeManagers = enabled
		return nil
	})
}

// WithNodeManagerDisk bounds the bytes that the files and logs of all the
// simulated node managers hold together (DefaultNodeManagerDisk unless
// given), from 1 MiB to MaxNodeManagerDisk. An upload past it is refused
// with the original's "Not enough free disk space", as one past the
// vessel's own quota (VesselDiskQuota) is.
func WithNodeManagerDisk(bytes int64) Option {
	return option(func(c *config) error {
		if bytes < 1<<20 || bytes > MaxNodeManagerDisk {
			return fmt.Errorf("mockserver: node manager disk %d bytes: must be between %d and %d", bytes, 1<<20, int64(MaxNodeManagerDisk))
		}
		c.nmDisk = bytes
		return nil
	})
}

// nmBeginLocked readies the node managers' part of the state before a
// call, with the lock held: a state made without it (a fresh one, or one
// loaded from a file) gets it, and listeners follow a state that was
// replaced.
func (s *Server) nmBeginLocked() {
	if s.nmNet == nil {
		return
	}
	st := s.st
	if st.nm == nil {
		st.nm = newNMState(s.nmAddr, s.cfg.nmDisk, s.cfg.nmWall)
	}
	st.nm.addr, st.nm.diskCap, st.nm.wall, st.nm.net = s.nmAddr, s.cfg.nmDisk, s.cfg.nmWall, s.nmNet
	st.nm.startWait, st.nm.versions = s.cfg.nmStartWait, &s.nmVersions
	if s.nmNet.st != st {
		s.nmNet.reconcileLocked(st)
	}
}

// nmEndLocked brings the listeners in line with what the call changed.
func (s *Server) nmEndLocked() {
	if s.nmNet == nil {
		return
	}
	s.nmBeginLocked() // the call may have replaced the state (Reset)
	s.nmNet.reconcileLocked(s.st)
}

// errNoNodeManagers is the error of the node manager controls of a server
// made without WithNodeManagers(true); it matches ErrInvalid.
var errNoNodeManagers = &controlError{ErrInvalid, "node managers are off (WithNodeManagers, -nodemanagers)"}

// nmControl runs fn on the vessel that handle names, with the lock held,
// and brings the listeners in line afterwards.
func (s *Server) nmControl(handle string, fn func(st *state, v int32) error) error {
	if s.nmNet == nil {
		return errNoNodeManagers
	}
	return s.update(func(st *state, now int64) error {
		nodeID, name, ok := strings.Cut(handle, ":")
		v, found := int32(0), false
		if ok {
			v, found = st.vesselByHandle(nodeID, name)
		}
		if !found {
			return notFoundf("no vessel %q", shorten(handle))
		}
		return fn(st, v)
	})
}

// NodeManagerAddr returns the address ("ip:port") of the node manager of
// the vessel that handle names, making its node listen if it does not
// already: it then listens until Reset or Close, whatever happens to its
// vessels. It fails for a node behind NAT or offline, which does not
// listen, and when the node cannot listen (MaxNodeManagerListeners, no
// free port).
func (s *Server) NodeManagerAddr(handle string) (string, error) {
	var addr string
	err := s.nmControl(handle, func(st *state, v int32) error {
		n := st.vessels[v].node
		nd := &st.nodes[n]
		switch {
		case nd.nat || nd.subnet < 0:
			return invalidf("node %s is behind NAT: its node manager is unreachable", shorten(nd.id))
		case !nd.active:
			return invalidf("node %s is offline: its node manager does not listen", shorten(nd.id))
		}
		st.nm.pinned[n] = true
		st.nm.net.ensure(st, n)
		port, ok := st.nm.bound[n]
		if !ok {
			delete(st.nm.pinned, n)
			return fmt.Errorf("mockserver: node %s cannot listen (see the log)", shorten(nd.id))
		}
		addr = net.JoinHostPort(st.nmNodeIP(n), strconv.Itoa(port))
		return nil
	})
	return addr, err
}

// NodeManagerVessel is what a vessel's simulated node manager holds.
type NodeManagerVessel struct {
	Handle   string
	Addr     string   // "ip:port" while its node listens, else ""
	Status   string   // Fresh, Started, Stopped or Terminated
	UserKeys []string // the keys that may use it, besides the owner key
	OwnerKey string   // the clearinghouse's key for the node; nobody holds it
	Files    map[string]int
	Log      string // what ReadVesselLog returns: its last 16 KiB
	Program  string // of the last start, if any
	Args     []string
	// StartHangs reports that the next start hangs for HangWait.
	StartHangs bool
	HangWait   time.Duration
}

// VesselNodeManager returns a copy of what the vessel's node manager holds.
func (s *Server) VesselNodeManager(handle string) (NodeManagerVessel, error) {
	var out NodeManagerVessel
	err := s.nmControl(handle, func(st *state, v int32) error {
		n := st.vessels[v].node
		out = NodeManagerVessel{Handle: st.handle(v), Status: statusFresh, OwnerKey: st.nmOwnerKey(n), Files: map[string]int{}}
		if port, ok := st.nm.bound[n]; ok {
			out.Addr = net.JoinHostPort(st.nmNodeIP(n), strconv.Itoa(port))
		}
		if e := st.nm.vessels[v]; e != nil {
			out.Status, out.UserKeys, out.Log = e.statusText(), slices.Clone(e.users), e.log
			out.Program, out.Args = e.program, slices.Clone(e.args)
			out.StartHangs, out.HangWait = e.hangSet, e.hang
			for f, data := range e.files {
				out.Files[f] = len(data)
			}
		}
		return nil
	})
	return out, err
}

// maxLogAppend bounds one AppendVesselLog.
const maxLogAppend = nmLogMax

// AppendVesselLog adds text to the vessel's log, as if its program had
// printed it (at most 16 KiB at once; the log keeps its last 16 KiB). It
// counts against the node managers' disk (WithNodeManagerDisk).
func (s *Server) AppendVesselLog(handle, text string) error {
	if len(text) > maxLogAppend {
		return invalidf("log text of %d bytes: at most %d at once", len(text), maxLogAppend)
	}
	return s.nmControl(handle, func(st *state, v int32) error {
		if st.nm.used+int64(len(text)) > st.nm.diskCap {
			return invalidf("the node managers' disk is full (%d of %d bytes)", st.nm.used, st.nm.diskCap)
		}
		st.nmLog(st.nmEntry(v, true), text)
		st.touchNM(v)
		return nil
	})
}

// EndVesselProgram ends the vessel's program as if it had run to its end:
// the status goes from Started to Terminated. It fails if the vessel is
// not Started.
func (s *Server) EndVesselProgram(handle string) error {
	return s.nmControl(handle, func(st *state, v int32) error {
		e := st.nm.vessels[v]
		if e.statusText() != statusStarted {
			return invalidf("vessel %s is %s, not Started", shorten(handle), e.statusText())
		}
		e.status = statusTerminated
		st.touchNM(v)
		return nil
	})
}

// HangVesselStart makes the vessel's next start (StartVessel or
// StartVesselEx that passes the node's checks) hang: the node waits wait,
// holding up its other requests as the original did, and answers "Did
// not start in a timely manner" with status Warning; the program is not
// recorded and the status does not change. The original waited 10 s
// (NodeManagerStartWait); wait may be 0 to NodeManagerStartWait.
func (s *Server) HangVesselStart(handle string, wait time.Duration) error {
	if wait < 0 || wait > NodeManagerStartWait {
		return invalidf("hang of %v: must be between 0 and %v", wait, NodeManagerStartWait)
	}
	return s.nmControl(handle, func(st *state, v int32) error {
		e := st.nmEntry(v, true)
		e.hang, e.hangSet = wait, true
		st.touchNM(v)
		return nil
	})
}

// NodeManagerStatus is what the simulated node managers are doing.
type NodeManagerStatus struct {
	Enabled bool
	// LoopbackOnly reports that only 127.0.0.1 could be bound: every node
	// is at 127.0.0.1, on a port of its own.
	LoopbackOnly bool
	// Region is the /24 of 127.0.0.0/8 that shows the state's first
	// subnet ("127.p.q.0/24"); the next subnets follow it.
	Region       string
	Listeners    int // nodes listening now
	MaxListeners int
	DiskUsed     int64 // bytes of files and logs held
	DiskCap      int64
	// Calls counts the requests by call name ("(unknown)" for a request
	// that names no call of the protocol).
	Calls map[string]NodeManagerCalls
	// RefusedConnections counts connections closed unread by the
	// admission limits; BadRequests those whose request could not be
	// read (a bad size header, a timeout, a request over its bound);
	// ListenFailures the nodes that should have listened and could not.
	RefusedConnections, BadRequests, ListenFailures uint64
	// Note says in one line where the node managers listen, for a program
	// to print at start-up; "" when they are off.
	Note string
}

// NodeManagerCalls counts one call's requests.
type NodeManagerCalls struct {
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`   // answered with status Error
	Warnings uint64 `json:"warnings"` // answered with status Warning
	Dropped  uint64 `json:"dropped"`  // stopped by an injected reset_before: no reply
}

// nmStats is what nmNet counts, under its mutex.
type nmStats struct {
	calls                                                       map[string]*NodeManagerCalls
	refusedConns, badRequests, overBudget, bindFailures, opened uint64
}

func newNMStats() nmStats { return nmStats{calls: map[string]*NodeManagerCalls{}} }

// count records a request of call answered with r (dropped: not applied).
func (nt *nmNet) count(call string, r nmproto.Reply, dropped bool) {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	c := nt.stats.calls[callLabel(call)]
	if c == nil {
		c = &NodeManagerCalls{}
		nt.stats.calls[callLabel(call)] = c
	}
	c.Requests++
	switch {
	case dropped:
		c.Dropped++
	case r.Status == nmproto.Error:
		c.Errors++
	case r.Status == nmproto.Warning:
		c.Warnings++
	}
}

// NodeManagers returns what the simulated node managers are doing (the
// zero value, but MaxListeners and the caps, when they are off).
func (s *Server) NodeManagers() (NodeManagerStatus, error) {
	out := NodeManagerStatus{MaxListeners: MaxNodeManagerListeners, DiskCap: s.cfg.nmDisk, Calls: map[string]NodeManagerCalls{}}
	if s.nmNet == nil {
		return out, nil
	}
	out.Enabled, out.LoopbackOnly = true, s.nmAddr.loopOnly
	out.Note = s.nmStartup()
	out.Region = s.nmAddr.subnet(0) + ".0/24"
	if out.LoopbackOnly {
		out.Region = "127.0.0.1/32"
	}
	err := s.update(func(st *state, now int64) error {
		out.DiskUsed = st.nm.used
		return nil
	})
	if err != nil {
		return NodeManagerStatus{}, err
	}
	nt := s.nmNet
	nt.mu.Lock()
	defer nt.mu.Unlock()
	out.Listeners = len(nt.listeners)
	for k, c := range nt.stats.calls {
		out.Calls[k] = *c
	}
	out.RefusedConnections = nt.stats.refusedConns
	out.BadRequests = nt.stats.badRequests + nt.stats.overBudget
	out.ListenFailures = nt.stats.bindFailures
	return out, nil
}

// nmStartup is the line the command prints, and the library logs, about
// where the node managers listen.
func (s *Server) nmStartup() string {
	if s.nmAddr.loopOnly {
		return "only 127.0.0.1 can be bound here: every node manager listens on 127.0.0.1, each on a port of its own, so node_ip no longer shows the nodes' /24 subnets"
	}
	return "node managers listen on 127.0.0.0/8, subnet by subnet from " + s.nmAddr.subnet(0) + ".0/24, on the node's port"
}
