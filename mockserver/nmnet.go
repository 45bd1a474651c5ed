package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// The simulated node managers on the network (docs/nodemanager-api.md
// §8.5, §8.7): a TCP listener per node that needs one, opened lazily, with
// the original's admission limits, one request per connection, and the
// requests of one node handled one at a time.
//
// A node's listener opens when a vessel on it is acquired (before the
// acquisition is answered, so the client can dial at once) or an admin
// control asks for the node's address, and closes when no vessel on it is
// held or waiting for its cleanup (and no admin control asked), when the
// node goes offline or behind NAT, on Reset and on Close. Connections are
// read concurrently, each within the original's 10 s socket timeout; a
// request read whole joins its node's queue, and the node's one worker
// serves the queue round-robin across source addresses, as the original
// did. The reply is written by the connection's goroutine, so a slow
// reader holds up nobody.

const (
	// MaxNodeManagerListeners bounds the nodes that listen at once. A node
	// that should listen past it does not (the server logs it), and is
	// reported at its stored port, which nothing answers.
	MaxNodeManagerListeners = 2048

	// The original's admission limits: connections waiting for the worker,
	// per source address and in all, per node. Extras are closed without a
	// word.
	nmPendingPerAddress = 3
	nmPendingPerNode    = 100

	// maxNMConnections bounds the node managers' open connections over all
	// nodes; extras are closed without a word.
	maxNMConnections = 512

	// nmSocketTimeout is the original's timeout on accepted sockets,
	// applied here to reading the request and to writing the reply.
	nmSocketTimeout = 10 * time.Second

	// maxNMRequest is the longest request a node reads: a file of the
	// whole disk quota and room for its name and trailer. A longer one is
	// dropped unread.
	maxNMRequest = VesselDiskQuota + 1<<20

	// maxNMInFlight bounds the bytes of requests being read or waiting to
	// be served over all nodes; a request that would pass it is dropped.
	maxNMInFlight = 256 << 20
)

// nmNet is the server's node manager listeners. Its mutex comes after
// Server.mu: code holding it never takes Server.mu.
type nmNet struct {
	srv      *Server
	log      *slog.Logger
	loopOnly bool
	done     chan struct{} // closed by close
	wg       sync.WaitGroup

	mu        sync.Mutex
	st        *state // the state the listeners belong to
	listeners map[int32]*nmListener
	conns     map[net.Conn]struct{}
	inFlight  int64
	nextID    uint64
	closed    bool
	stats     nmStats

	queued func() // tests: called, without the lock, when a request joins a queue
}

// nmListener is one node's listener and its queue. Its fields below ln
// are guarded by nmNet.mu.
type nmListener struct {
	nt      *nmNet
	n       int32  // the node's index in the state the listener belongs to
	id      uint64 // unique for the server's lifetime
	nodeKey string
	ip      string
	port    int
	ln      net.Listener

	closed  bool
	pending map[string]int // connections not yet served, per source address
	total   int
	queues  map[string][]*nmJob
	ring    []string // source addresses with queued requests, served in turn
	next    int
	running bool // a worker serves the queue
}

// nmJob is one request waiting for its node's worker.
type nmJob struct {
	request string
	done    chan nmResult
}

// nmResult is what the worker decided for a request.
type nmResult struct {
	reply string // the reply payload (unframed)
	drop  bool   // close the connection without a word
	fault *faultDecision
	call  string
}

func newNMNet(s *Server, loopOnly bool) *nmNet {
	return &nmNet{
		srv: s, log: s.log, loopOnly: loopOnly, done: make(chan struct{}),
		listeners: map[int32]*nmListener{}, conns: map[net.Conn]struct{}{},
		stats: newNMStats(),
	}
}

// current reports whether l is the listener of its node in the server's
// state: false once it has been closed, or the state replaced.
func (nt *nmNet) current(l *nmListener) bool {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	return !l.closed && nt.listeners[l.n] == l && nt.st == nt.srv.st
}

// bind opens a listener for a node at ip: on its stored port, or if that
// is taken on the first free one of the other node manager ports, as the
// original did; where only 127.0.0.1 can be bound, on a port the system
// picks.
func (nt *nmNet) bind(ip string, port int) (net.Listener, int, error) {
	if nt.loopOnly {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, 0, err
		}
		return ln, ln.Addr().(*net.TCPAddr).Port, nil
	}
	ports := append([]int{port}, slices.DeleteFunc(slices.Clone(nodeManagerPorts[:]), func(p int) bool { return p == port })...)
	var first error
	for _, p := range ports {
		ln, err := net.Listen("tcp4", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err == nil {
			return ln, p, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, 0, first
}

// ensure makes node n listen if it needs to and does not already, at the
// address it should; it is called with Server.mu held. A node that cannot
// listen (every port taken, MaxNodeManagerListeners reached) is logged and
// left without a listener.
func (nt *nmNet) ensure(st *state, n int32) {
	if !st.nmNeedsListener(n) {
		return
	}
	ip := st.nmNodeIP(n)
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.closed || nt.st != st {
		return
	}
	if l := nt.listeners[n]; l != nil {
		if l.ip == ip || nt.loopOnly {
			return
		}
		nt.closeListenerLocked(l)
		delete(st.nm.bound, n)
	}
	nd := &st.nodes[n]
	if len(nt.listeners) >= MaxNodeManagerListeners {
		nt.stats.bindFailures++
		nt.log.Warn("mockserver: node manager not listening: too many listeners",
			"node", shorten(nd.id), "limit", MaxNodeManagerListeners)
		return
	}
	ln, port, err := nt.bind(ip, int(nd.port))
	if err != nil {
		nt.stats.bindFailures++
		nt.log.Warn("mockserver: node manager not listening: no node manager port is free",
			"node", shorten(nd.id), "ip", ip, "err", err)
		return
	}
	nt.nextID++
	l := &nmListener{
		nt: nt, n: n, id: nt.nextID, nodeKey: nd.id, ip: ip, port: port, ln: ln,
		pending: map[string]int{}, queues: map[string][]*nmJob{},
	}
	nt.listeners[n] = l
	nt.stats.opened++
	st.nm.bound[n] = port
	nt.wg.Add(1)
	go l.accept()
}

// closeListenerLocked stops l accepting. Connections already accepted end
// on their own: their node is gone (nmNet.current).
func (nt *nmNet) closeListenerLocked(l *nmListener) {
	if l.closed {
		return
	}
	l.closed = true
	l.ln.Close()
	if nt.listeners[l.n] == l {
		delete(nt.listeners, l.n)
	}
}

// reconcileLocked brings the listeners in line with the state at the end
// of a call, with Server.mu held: after the state was replaced (Reset, a
// rollback to the state file) a listener stays if its node is still there
// at the same address, the others close, and the nodes that need one
// open; then every node the call touched opens, moves or closes its
// listener.
func (nt *nmNet) reconcileLocked(st *state) {
	nt.mu.Lock()
	swapped := nt.st != st
	if swapped {
		clear(st.nm.bound)
		for n, l := range nt.listeners {
			if int(n) < len(st.nodes) && st.nodes[n].id == l.nodeKey && st.nmNeedsListener(n) && st.nmNodeIP(n) == l.ip {
				st.nm.bound[n] = l.port
				continue
			}
			nt.closeListenerLocked(l)
		}
		nt.st = st
	}
	nt.mu.Unlock()
	if swapped {
		// Every node, once: a Reset or a rollback costs as much anyway.
		for n := range st.nodes {
			nt.ensure(st, int32(n))
		}
	}
	for n := range st.nm.touched {
		if st.nmNeedsListener(n) {
			nt.ensure(st, n)
			continue
		}
		nt.mu.Lock()
		if l := nt.listeners[n]; l != nil {
			nt.closeListenerLocked(l)
		}
		nt.mu.Unlock()
		delete(st.nm.bound, n)
	}
	clear(st.nm.touched)
}

// close ends every listener and connection and waits for their
// goroutines. It is called without Server.mu.
func (nt *nmNet) close() {
	nt.mu.Lock()
	if nt.closed {
		nt.mu.Unlock()
		return
	}
	nt.closed = true
	close(nt.done)
	for _, l := range nt.listeners {
		nt.closeListenerLocked(l)
	}
	for c := range nt.conns {
		c.Close()
	}
	nt.mu.Unlock()
	nt.wg.Wait()
}

// accept admits connections until the listener closes.
func (l *nmListener) accept() {
	nt := l.nt
	defer nt.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: wait a little, or stop.
			select {
			case <-nt.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		l.admit(c)
	}
}

// admit applies the admission limits to a new connection and, if it gets
// in, starts reading its request.
func (l *nmListener) admit(c net.Conn) {
	nt := l.nt
	src := remoteHost(c)
	nt.mu.Lock()
	if nt.closed || l.closed || len(nt.conns) >= maxNMConnections ||
		l.total >= nmPendingPerNode || l.pending[src] >= nmPendingPerAddress {
		nt.stats.refusedConns++
		nt.mu.Unlock()
		c.Close()
		return
	}
	l.pending[src]++
	l.total++
	nt.conns[c] = struct{}{}
	nt.wg.Add(1)
	nt.mu.Unlock()
	go l.handle(c, src)
}

func remoteHost(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

// unpend removes a connection from the pending counts.
func (l *nmListener) unpendLocked(src string) {
	if l.pending[src]--; l.pending[src] <= 0 {
		delete(l.pending, src)
	}
	l.total--
}

// handle reads one request, waits for the worker's decision and delivers
// the reply.
func (l *nmListener) handle(c net.Conn, src string) {
	nt := l.nt
	var charged int64
	defer func() {
		nt.mu.Lock()
		delete(nt.conns, c)
		nt.inFlight -= charged
		nt.mu.Unlock()
		c.Close()
		nt.wg.Done()
	}()
	c.SetDeadline(time.Now().Add(nmSocketTimeout))
	request, err := nt.readRequest(c, &charged)
	if err != nil {
		nt.mu.Lock()
		l.unpendLocked(src)
		if !errors.Is(err, io.EOF) {
			nt.stats.badRequests++
		}
		nt.mu.Unlock()
		return // the original dropped the connection without a word
	}
	job := &nmJob{request: request, done: make(chan nmResult, 1)}
	nt.mu.Lock()
	if l.closed {
		l.unpendLocked(src)
		nt.mu.Unlock()
		return
	}
	if len(l.queues[src]) == 0 {
		l.ring = append(l.ring, src)
	}
	l.queues[src] = append(l.queues[src], job)
	if !l.running {
		l.running = true
		nt.wg.Add(1)
		go l.work()
	}
	queued := nt.queued
	nt.mu.Unlock()
	if queued != nil {
		queued()
	}
	var res nmResult
	select {
	case res = <-job.done:
	case <-nt.done:
		return
	}
	nt.deliver(c, res)
}

var errNMInFlight = errors.New("mockserver: node manager requests in flight over their bound")

// readRequest reads one framed request from c. The size the header
// claims, up to the megabyte the reader may set aside at once, and then
// every byte read are charged to the bound on requests in flight
// (maxNMInFlight) before the request is accepted; charged says how much
// the caller must give back.
func (nt *nmNet) readRequest(c io.Reader, charged *int64) (string, error) {
	br := bufio.NewReaderSize(c, 4096)
	// The header, up to its "\n" (at most 20 bytes), read here only to
	// charge what the reader will set aside; nmproto.ReadMessage then
	// reads it again with the original's rules.
	var header []byte
	for len(header) < 20 {
		b, err := br.ReadByte()
		if err != nil {
			if len(header) == 0 {
				return "", err
			}
			break
		}
		header = append(header, b)
		if b == '\n' {
			break
		}
	}
	claim := int64(0)
	for _, b := range header {
		if b >= '0' && b <= '9' && claim < maxNMRequest {
			claim = claim*10 + int64(b-'0')
		}
	}
	if err := nt.charge(charged, min(claim, 1<<20, maxNMRequest)); err != nil {
		return "", err
	}
	cr := &chargingReader{r: br, nt: nt, charged: charged, free: min(claim, 1<<20)}
	return nmproto.ReadMessage(io.MultiReader(bytes.NewReader(header), cr), maxNMRequest)
}

// charge takes n bytes of the in-flight bound, or fails.
func (nt *nmNet) charge(charged *int64, n int64) error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.inFlight+n > maxNMInFlight {
		nt.stats.overBudget++
		return errNMInFlight
	}
	nt.inFlight += n
	*charged += n
	return nil
}

// chargingReader charges what it reads beyond free to the in-flight bound.
type chargingReader struct {
	r       io.Reader
	nt      *nmNet
	charged *int64
	free    int64 // bytes already charged up front
}

func (cr *chargingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if k := int64(n) - cr.free; k > 0 {
		cr.free = 0
		if cerr := cr.nt.charge(cr.charged, k); cerr != nil {
			return 0, cerr
		}
	} else {
		cr.free -= int64(n)
	}
	return n, err
}

// work serves the node's queue, one request at a time, round-robin across
// source addresses, until it is empty.
func (l *nmListener) work() {
	nt := l.nt
	defer nt.wg.Done()
	for {
		nt.mu.Lock()
		if len(l.ring) == 0 {
			l.running = false
			nt.mu.Unlock()
			return
		}
		i := l.next % len(l.ring)
		src := l.ring[i]
		q := l.queues[src]
		job := q[0]
		q[0] = nil
		if len(q) == 1 {
			delete(l.queues, src)
			l.ring = slices.Delete(l.ring, i, i+1)
			l.next = i
		} else {
			l.queues[src] = q[1:]
			l.next = i + 1
		}
		l.unpendLocked(src)
		nt.mu.Unlock()
		job.done <- nt.srv.nmServe(l, job.request)
	}
}

// nmCallName returns the call a request names, or "" when it names none
// of the table's (the node answers "Unknown Call").
func nmCallName(request string) string {
	name, _, _ := strings.Cut(request, "|")
	if _, ok := nmproto.LookupCall(name); !ok {
		return ""
	}
	return name
}

// nmSnapshot is the vessel table the engine decides against outside the
// server's lock: it copies the one vessel the engine asks for, and its
// version, under the lock.
type nmSnapshot struct {
	s       *Server
	l       *nmListener
	asked   bool
	stale   bool // the state was being replaced: decide again under the lock
	name    string
	version uint64
}

func (sn *nmSnapshot) Access(name string) (nmproto.Access, bool) {
	sn.asked, sn.name = true, name
	sn.s.mu.Lock()
	defer sn.s.mu.Unlock()
	st := sn.s.st
	if st.nm == nil || !sn.s.nmNet.current(sn.l) {
		sn.stale = true
		return nmproto.Access{}, false
	}
	v, ok := st.nmFindVessel(sn.l.n, name)
	if !ok {
		return nmproto.Access{}, false
	}
	sn.version = st.nmVersion(v)
	return st.nmAccess(v), true
}

// errNMGone stops a request whose node no longer listens.
var errNMGone = errors.New("mockserver: the node manager is gone")

// nmServe handles one request of node l, in its worker: the fault profile
// may stop it; the engine decides it outside the server's lock (checking
// a signature may take milliseconds), and, unless the vessel changed in
// the meantime, the decision is applied under the lock; with a state file
// the change is durable before the reply goes out. A start made to hang
// holds the worker, and so the node, as the original's did.
func (s *Server) nmServe(l *nmListener, request string) nmResult {
	start := time.Now()
	call := nmCallName(request)
	res := nmResult{call: call}
	if d := s.faults.decide("nm:"+call, ""); d != nil {
		res.fault = d
		if d.kind.beforeApply() {
			s.nmNet.count(call, nmproto.Reply{}, true)
			return res
		}
	}
	engine := nmproto.Engine{NodeKey: l.nodeKey}
	snap := &nmSnapshot{s: s, l: l}
	d := engine.Decide(request, nmproto.NTPTime(s.cfg.nmWall()), snap)
	var reply nmproto.Reply
	var hang time.Duration
	err := s.update(func(st *state, now int64) error {
		if st.nm == nil || !s.nmNet.current(l) {
			return errNMGone
		}
		nn := &nmNode{st: st, n: l.n}
		if snap.asked {
			if v, ok := st.nmFindVessel(l.n, snap.name); snap.stale || ok && st.nmVersion(v) != snap.version {
				d = engine.Decide(request, nmproto.NTPTime(st.nm.wall()), nn)
			}
		}
		if d.StoreMetadata {
			nn.SetOldMetadata(d.Vessel, d.Metadata)
		}
		if d.Dispatch {
			reply = nmproto.Dispatch(nn, d.Call.Name, d.Args)
		} else {
			reply = d.Reply
		}
		hang = nn.hang
		s.nmObserve(st, l.n, request, d, reply, now)
		return nil
	})
	switch {
	case errors.Is(err, errNMGone), errors.Is(err, ErrClosed):
		res.drop = true
		return res
	case err != nil:
		// The change was not made durable and has been rolled back: the
		// node failed, as the original did on an unexpected exception.
		reply = nmproto.Failure(nmproto.TextInternalError)
	}
	if hang > 0 {
		t := time.NewTimer(hang)
		select {
		case <-t.C:
		case <-s.nmNet.done:
		}
		t.Stop()
	}
	s.nmNet.count(call, reply, false)
	res.reply = reply.String()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("node manager call", "call", callLabel(call), "node", shorten(l.nodeKey),
			"status", string(reply.Status), "duration", time.Since(start))
	}
	return res
}

func callLabel(call string) string {
	if call == "" {
		return "(unknown)"
	}
	return call
}

// deliver writes a reply as the fault decision says: whole, late, in
// pieces, cut short, or not at all (a reset).
func (nt *nmNet) deliver(c net.Conn, res nmResult) {
	if res.drop {
		return
	}
	frame := nmproto.AppendMessage(nil, res.reply)
	d := res.fault
	write := func(b []byte) bool {
		c.SetWriteDeadline(time.Now().Add(nmSocketTimeout))
		_, err := c.Write(b)
		return err == nil
	}
	if d == nil {
		write(frame)
		return
	}
	nt.srv.log.Info("injected fault", "method", "nm:"+callLabel(res.call), "fault", d.label(),
		"rule", d.rule+1, "applied", !d.kind.beforeApply())
	if !nt.pause(d.stop, d.delay) {
		return
	}
	budget := maxFaultDelay - d.delay
	switch d.kind {
	case FaultResetBefore, FaultResetAfter:
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		return // handle closes the connection
	case FaultTruncate:
		frame = frame[:len(frame)/2]
	}
	for d.dripBytes > 0 && len(frame) > d.dripBytes && budget >= d.dripPause {
		if !write(frame[:d.dripBytes]) {
			return
		}
		frame = frame[d.dripBytes:]
		if !nt.pause(d.stop, d.dripPause) {
			return
		}
		budget -= d.dripPause
		select {
		case <-d.stop:
			budget = 0
		default:
		}
	}
	write(frame)
}

// pause waits d, or less if stop is closed; false if the server closed.
func (nt *nmNet) pause(stop <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-stop:
	case <-nt.done:
		return false
	}
	return true
}

// isNMMethod reports whether a fault rule's method, or the method a call
// is matched under, is a node manager's ("nm:...").
func isNMMethod(method string) bool { return strings.HasPrefix(method, "nm:") }

// nmFaultMethod reports whether a rule may name method: "nm:*" or "nm:"
// and a call of the protocol.
func nmFaultMethod(method string) bool {
	call, ok := strings.CutPrefix(method, "nm:")
	if !ok {
		return false
	}
	_, known := nmproto.LookupCall(call)
	return call == "*" || known
}
