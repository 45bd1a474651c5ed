package mockserver

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// Where and when the node managers listen (docs/nodemanager-api.md §8.5,
// §8.7).

func listeners(t testing.TB, s *Server) int {
	t.Helper()
	st, err := s.NodeManagers()
	must(t, err)
	return st.Listeners
}

// TestNodeManagerAddresses: with node managers on, every view and the wire
// show a node at its loopback address; distinct /24s stay distinct, one
// /24 stays one, host bytes are kept; nodes behind NAT keep their NAT$
// name. Off, nothing changes.
func TestNodeManagerAddresses(t *testing.T) {
	t.Parallel()
	pop := WithPopulation(PopulationConfig{Nodes: 300, NATFraction: 0.1, Seed: 11})
	off := newTestServer(t, pop)
	on := nmServer(t, pop)
	offNodes, _ := listNodes(t, off, NodeFilter{})
	onNodes, _ := listNodes(t, on, NodeFilter{})
	public, loop := map[string]string{}, map[string]string{} // subnet to subnet, both ways
	for i, n := range onNodes {
		o := offNodes[i]
		if strings.HasPrefix(o.IP, "NAT$") {
			if n.IP != o.IP {
				t.Errorf("NAT node shown at %s, want %s", n.IP, o.IP)
			}
			continue
		}
		if !strings.HasPrefix(n.IP, "127.") || strings.HasPrefix(n.IP, "127.0.0.") {
			t.Fatalf("node at %s (stored %s)", n.IP, o.IP)
		}
		ps, _ := subnetOf(o.IP)
		ls, _ := subnetOf(n.IP)
		if n.IP[len(ls):] != o.IP[len(ps):] {
			t.Errorf("host byte of %s not kept in %s", o.IP, n.IP)
		}
		if prev, ok := public[ps]; ok && prev != ls {
			t.Errorf("subnet %s shown as %s and %s", ps, prev, ls)
		}
		if prev, ok := loop[ls]; ok && prev != ps {
			t.Errorf("%s shows both %s and %s", ls, prev, ps)
		}
		public[ps], loop[ls] = ls, ps
		for j, v := range n.Vessels {
			if v.NodeIP != n.IP || v.NodePort != n.Port || o.Vessels[j].NodeIP != o.IP {
				t.Fatalf("vessel %s at %s:%d, node at %s:%d", v.Handle, v.NodeIP, v.NodePort, n.IP, n.Port)
			}
		}
	}
	// A subnet may be named either way in a filter.
	for ps, ls := range public {
		byLoop, total := listNodes(t, on, NodeFilter{Subnet: ls})
		byPublic, _ := listNodes(t, on, NodeFilter{Subnet: ps})
		if total == 0 || len(byLoop) != len(byPublic) || byLoop[0].ID != byPublic[0].ID {
			t.Errorf("subnet %s (%s): %d nodes by its loopback name, %d by its own", ps, ls, len(byLoop), len(byPublic))
		}
		break
	}
	// The wire says what the views say.
	a := addUser(t, on, "alice")
	for _, e := range mustCall(t, on, "acquire_resources", auth(a), rspec("wan", int64(5))).([]any) {
		info := e.(map[string]any)
		n, err := on.Node(strings.Split(info["handle"].(string), ":")[0])
		must(t, err)
		if info["node_ip"] != n.IP || info["node_port"] != n.Port {
			t.Errorf("node_ip %v:%v, node at %s:%d", info["node_ip"], info["node_port"], n.IP, n.Port)
		}
	}
}

// TestNodeManagerSubnetMapping: subnet k of the state is /24 number
// base+k of 127.0.0.0/8, wrapping past 65 535 and never 127.0.0.0/24.
func TestNodeManagerSubnetMapping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base int
		k    int32
		want string
	}{
		{1, 0, "127.0.1"}, {1, 254, "127.0.255"}, {1, 255, "127.1.0"}, {300, 0, "127.1.44"},
		{65535, 0, "127.255.255"}, {65535, 1, "127.0.1"}, {1, loopbackSubnets, "127.0.1"}, {2, loopbackSubnets - 1, "127.0.1"},
	} {
		a := nmAddressing{base: tc.base}
		if have := a.subnet(tc.k); have != tc.want {
			t.Errorf("base %d subnet %d: have %s, want %s", tc.base, tc.k, have, tc.want)
		}
		found := false
		for _, k := range a.subnetIndexes(tc.want, int(tc.k)+1) {
			found = found || k == tc.k
		}
		if !found {
			t.Errorf("base %d: %s does not lead back to subnet %d", tc.base, tc.want, tc.k)
		}
	}
	a := nmAddressing{base: 5}
	for _, name := range []string{"127.0.0", "10.0.5", "127.0", "x", "127.0.5.1"} {
		if ks := a.subnetIndexes(name, 100); len(ks) != 0 {
			t.Errorf("%s names subnets %v", name, ks)
		}
	}
	if ks := a.subnetIndexes("127.0.5", 70000); len(ks) != 2 || ks[0] != 0 || ks[1] != loopbackSubnets {
		t.Errorf("127.0.5 with 70000 subnets names %v", ks)
	}
}

// TestNodeManagerListensLazily: no node listens until a vessel on it is
// acquired; NAT nodes never; a node offline stops, and starts again when
// it comes back; a node moved to another subnet moves its listener.
func TestNodeManagerListensLazily(t *testing.T) {
	t.Parallel()
	s := nmServer(t, WithPopulation(PopulationConfig{Nodes: 40, NATFraction: 0.25, Seed: 3}))
	a := addUser(t, s, "alice")
	if n := listeners(t, s); n != 0 {
		t.Fatalf("%d listeners before any acquisition", n)
	}
	nat := acquire(t, s, a, "nat", 2)
	wan := acquire(t, s, a, "wan", 3)
	if n := listeners(t, s); n != 3 {
		t.Fatalf("%d listeners after 3 WAN and 2 NAT vessels, want 3", n)
	}
	for _, h := range nat {
		v, _ := s.VesselNodeManager(h)
		if v.Addr != "" || len(v.UserKeys) != 1 {
			t.Errorf("NAT vessel %+v", v)
		}
		if _, err := s.NodeManagerAddr(h); err == nil {
			t.Error("NodeManagerAddr of a NAT node succeeded")
		}
	}
	node := strings.Split(wan[0], ":")[0]
	addr := nmAddr(t, s, wan[0])
	must(t, s.SetNodeActive(node, false))
	if _, err := nmExchange(addr, nmproto.GetVessels); err == nil {
		t.Error("an offline node answers")
	}
	if _, err := s.NodeManagerAddr(wan[0]); err == nil {
		t.Error("NodeManagerAddr of an offline node succeeded")
	}
	must(t, s.SetNodeActive(node, true))
	addr = nmAddr(t, s, wan[0])
	nmSay(t, addr, nmproto.GetVessels)

	must(t, s.SetNodeIP(node, "198.51.100.77"))
	moved := nmAddr(t, s, wan[0])
	if moved == addr || !strings.HasSuffix(strings.Split(moved, ":")[0], ".77") {
		t.Errorf("moved node listens at %s, was %s", moved, addr)
	}
	if _, err := nmExchange(addr, nmproto.GetVessels); err == nil {
		t.Error("the old address still answers")
	}
	nmSay(t, moved, nmproto.GetVessels)
	info := mustCall(t, s, "get_resource_info", auth(a)).([]any)
	found := false
	for _, e := range info {
		m := e.(map[string]any)
		found = found || m["handle"] == wan[0] && m["node_ip"].(string)+":"+strconv.Itoa(m["node_port"].(int)) == moved
	}
	if !found {
		t.Errorf("get_resource_info does not report %s at %s: %v", wan[0], moved, info)
	}
	must(t, s.SetNodeIP(node, "NAT$moved"))
	if _, err := nmExchange(moved, nmproto.GetVessels); err == nil {
		t.Error("a node moved behind NAT still answers")
	}
	if n := listeners(t, s); n != 2 {
		t.Errorf("%d listeners, want 2", n)
	}
}

// TestNodeManagerPortTaken: a node whose port is taken listens on the next
// free node manager port and reports it; with none free it does not
// listen, and the acquisition still succeeds.
func TestNodeManagerPortTaken(t *testing.T) {
	t.Parallel()
	s := nmServer(t)
	nodes := addNodes(t, s, "busy", "203.0.113.5", "203.0.113.6")
	n, err := s.Node(nodes[0])
	must(t, err)
	ip := n.IP
	taken, err := net.Listen("tcp4", net.JoinHostPort(ip, "1224"))
	must(t, err)
	defer taken.Close()
	a := addUser(t, s, "alice")
	h := nodes[0] + ":v2"
	mustCall(t, s, "acquire_specific_vessels", auth(a), []any{h})
	v, _ := s.VesselNodeManager(h)
	if v.Addr != net.JoinHostPort(ip, "2888") {
		t.Fatalf("the node listens at %q, want port 2888", v.Addr)
	}
	nmSay(t, v.Addr, nmproto.GetVessels)
	if n, _ := s.Node(nodes[0]); n.Port != 2888 {
		t.Errorf("the node reports port %d", n.Port)
	}

	// Every port of the second node's address taken.
	m, _ := s.Node(nodes[1])
	for _, p := range nodeManagerPorts {
		ln, err := net.Listen("tcp4", net.JoinHostPort(m.IP, strconv.Itoa(p)))
		must(t, err)
		defer ln.Close()
	}
	h2 := nodes[1] + ":v2"
	mustCall(t, s, "acquire_specific_vessels", auth(a), []any{h2})
	v2, _ := s.VesselNodeManager(h2)
	st, _ := s.NodeManagers()
	if v2.Addr != "" || st.ListenFailures != 1 || st.Listeners != 1 {
		t.Errorf("with every port taken: %+v, %+v", v2, st)
	}
	if _, err := s.NodeManagerAddr(h2); err == nil {
		t.Error("NodeManagerAddr succeeded with every port taken")
	}
}

// TestNodeManagerLoopbackOnly: where only 127.0.0.1 can be bound, every
// node is at 127.0.0.1 on a port of its own.
func TestNodeManagerLoopbackOnly(t *testing.T) {
	t.Parallel()
	s := nmServer(t, WithPopulation(PopulationConfig{Nodes: 20, Seed: 4}), withLoopbackOnly())
	if st, err := s.NodeManagers(); err != nil || !strings.Contains(st.Note, "only 127.0.0.1") {
		t.Errorf("note %q, %v", st.Note, err)
	}
	a := addUser(t, s, "alice")
	ports := map[int]bool{}
	for _, e := range mustCall(t, s, "acquire_resources", auth(a), rspec("wan", int64(4))).([]any) {
		info := e.(map[string]any)
		if info["node_ip"] != "127.0.0.1" {
			t.Fatalf("node_ip %v", info["node_ip"])
		}
		p := info["node_port"].(int)
		ports[p] = true
		h := info["handle"].(string)
		sg := newSigner(t, a.PublicKey, a.PrivateKey, h, "127.0.0.1:"+strconv.Itoa(p))
		wantReply(t, "list", sg.say(nmproto.ListFilesInVessel), "\nSuccess")
	}
	if len(ports) != 4 {
		t.Errorf("ports %v, want 4 distinct", ports)
	}
	st, _ := s.NodeManagers()
	if !st.LoopbackOnly || st.Region != "127.0.0.1/32" {
		t.Errorf("status %+v", st)
	}
}

// idleConn connects to addr from source and sends nothing.
func idleConn(t *testing.T, addr, source string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp4", addr)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByPeer reports whether the peer closed c without a word.
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	_, err := c.Read(b[:])
	return err == io.EOF || err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestNodeManagerAdmission: at most 3 connections per source address and
// 100 in all wait for a node; more are closed without a word.
func TestNodeManagerAdmission(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	counted := func() uint64 {
		st, _ := f.s.NodeManagers()
		return st.RefusedConnections
	}
	for range 3 {
		idleConn(t, f.addr, "127.0.0.2")
	}
	// A fourth from the same address is refused. Wait for the mock to
	// count it before looking at the connection, so a slow accept cannot
	// pass for an open one.
	fourth := idleConn(t, f.addr, "127.0.0.2")
	if !closedByPeer(fourth) || counted() != 1 {
		t.Fatalf("a fourth connection from one address was not refused (%d refused)", counted())
	}
	// Others still get in: 97 more from other addresses fill the node.
	var open []net.Conn
	for i := range 97 {
		src := "127.0.1." + strconv.Itoa(1+i/3)
		open = append(open, idleConn(t, f.addr, src))
	}
	extra := idleConn(t, f.addr, "127.0.2.1")
	if !closedByPeer(extra) {
		t.Fatal("a connection past 100 was not refused")
	}
	if n := counted(); n != 2 {
		t.Errorf("%d connections refused, want 2", n)
	}
	// Closing one makes room.
	open[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		reply, err := nmExchange(f.addr, nmproto.GetVessels)
		if err == nil && strings.HasSuffix(reply, "\nSuccess") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a connection closed: %v", err)
		}
		time.Sleep(5 * time.Millisecond) // the node notices the close on its own time
	}
}

// TestNodeManagerRoundRobin: the node serves its queue one request at a
// time, taking source addresses in turn.
func TestNodeManagerRoundRobin(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	queued := make(chan struct{}, 8)
	f.s.nmNet.mu.Lock()
	f.s.nmNet.queued = func() { queued <- struct{}{} }
	f.s.nmNet.mu.Unlock()
	must(t, f.s.HangVesselStart(f.handle, 2*time.Second)) // long enough to queue three requests behind it
	send := func(source, request string) <-chan string {
		out := make(chan string, 1)
		go func() {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
			c, err := d.Dial("tcp4", f.addr)
			if err != nil {
				out <- err.Error()
				return
			}
			defer c.Close()
			nmproto.WriteMessage(c, request)
			reply, err := nmproto.ReadMessage(c, 1<<20)
			if err != nil {
				reply = err.Error()
			}
			out <- reply
		}()
		<-queued
		return out
	}
	hung := send("127.0.0.5", f.sg.sign(nmproto.StartVessel, "x"))
	a1 := send("127.0.0.6", f.sg.sign(nmproto.AddFileToVessel, "one", ""))
	a2 := send("127.0.0.6", f.sg.sign(nmproto.AddFileToVessel, "two", ""))
	b1 := send("127.0.0.7", f.sg.sign(nmproto.ListFilesInVessel))
	wantReply(t, "hung", <-hung, "Did not start in a timely manner\nWarning")
	// Round-robin: one from .6, then the one from .7, then .6 again. So
	// the listing sees one file, and the second upload, signed before the
	// listing but served after it, is out of order. (First come, first
	// served would list both files.)
	wantReply(t, "a1", <-a1, "\nSuccess")
	wantReply(t, "b1", <-b1, "one\nSuccess")
	wantReply(t, "a2", <-a2, "Signature problem: Timestamps out of order\nError")
}

// TestNodeManagerBadRequests: a bad header, a request over the bound and
// silence are dropped without a reply and counted.
func TestNodeManagerBadRequests(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	for _, raw := range []string{"5x\nhello", "-2\n", strconv.Itoa(maxNMRequest+1) + "\n"} {
		c := idleConn(t, f.addr, "127.0.0.1")
		io.WriteString(c, raw)
		if !closedByPeer(c) {
			t.Errorf("%q: not dropped", raw)
		}
	}
	if st, _ := f.s.NodeManagers(); st.BadRequests != 3 {
		t.Errorf("%d bad requests counted, want 3", st.BadRequests)
	}
	wantReply(t, "empty request", nmSay(t, f.addr, ""), "Unknown Call\nError")
}

// TestNodeManagerClose: Close ends listeners and connections, a start
// that hangs included, and leaves nothing running.
func TestNodeManagerClose(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	must(t, f.s.HangVesselStart(f.handle, NodeManagerStartWait))
	queued := make(chan struct{}, 1)
	f.s.nmNet.mu.Lock()
	f.s.nmNet.queued = func() { queued <- struct{}{} }
	f.s.nmNet.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := nmExchange(f.addr, f.sg.sign(nmproto.StartVessel, "x"))
		done <- err
	}()
	<-queued
	idle := idleConn(t, f.addr, "127.0.0.3")
	start := time.Now()
	must(t, f.s.Close())
	if err := <-done; err == nil {
		t.Error("the hung start was answered after Close")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Close took %v", time.Since(start))
	}
	if !closedByPeer(idle) {
		t.Error("an idle connection stayed open after Close")
	}
	if _, err := nmExchange(f.addr, nmproto.GetVessels); err == nil {
		t.Error("the node answers after Close")
	}
	if _, err := f.s.VesselNodeManager(f.handle); err == nil {
		t.Error("a control worked after Close")
	}
}
