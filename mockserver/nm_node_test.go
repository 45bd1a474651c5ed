package mockserver

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// A node manager's calls on the wire, signed by hand with nmproto, against
// a vessel an account has acquired.

// nmSigner signs requests for one vessel with one key, with timestamps
// that rise strictly.
type nmSigner struct {
	t       testing.TB
	pub     string
	priv    *seattlersa.PrivateKey
	nodeKey string
	vessel  string
	addr    string

	mu   sync.Mutex
	last float64
}

func newSigner(t testing.TB, pub, priv, handle, addr string) *nmSigner {
	t.Helper()
	k, err := seattlersa.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	node, vessel, _ := strings.Cut(handle, ":")
	return &nmSigner{t: t, pub: pub, priv: k, nodeKey: node, vessel: vessel, addr: addr}
}

// at signs call(vessel, args...) with timestamp ts (seconds since 1900).
func (sg *nmSigner) at(ts float64, call string, args ...string) string {
	sg.t.Helper()
	req, err := nmproto.EncodeRequest(call, append([]string{sg.vessel}, args...)...)
	if err != nil {
		sg.t.Fatal(err)
	}
	tr := &nmproto.Trailer{
		PublicKey: sg.pub, Timestamp: nmproto.FormatFloat(ts, nmproto.FullForm),
		Expiration: nmproto.FormatFloat(ts+3600, nmproto.FullForm), Sequence: nmproto.None, Destination: sg.nodeKey,
	}
	signed, err := nmproto.Sign(req, tr, sg.priv)
	if err != nil {
		sg.t.Fatal(err)
	}
	return signed
}

// sign signs call(vessel, args...) now.
func (sg *nmSigner) sign(call string, args ...string) string {
	sg.t.Helper()
	sg.mu.Lock()
	ts := nmproto.NTPTime(time.Now())
	if ts <= sg.last {
		ts = math.Nextafter(sg.last, math.Inf(1))
	}
	sg.last = ts
	sg.mu.Unlock()
	return sg.at(ts, call, args...)
}

// say signs and sends the call and returns the reply.
func (sg *nmSigner) say(call string, args ...string) string {
	sg.t.Helper()
	return nmSay(sg.t, sg.addr, sg.sign(call, args...))
}

// nmVesselFixture is a server with node managers and ten nodes, an
// account holding one vessel, and a signer for it with the account's key.
type nmVesselFixture struct {
	s      *Server
	a      mockapi.Account
	handle string
	addr   string
	sg     *nmSigner
}

func newNMVessel(t testing.TB, opts ...Option) *nmVesselFixture {
	t.Helper()
	s := nmServer(t, append([]Option{WithPopulation(PopulationConfig{Nodes: 10, Seed: 2})}, opts...)...)
	a := addUser(t, s, "alice")
	handle := acquire(t, s, a, "wan", 1)[0]
	v, err := s.VesselNodeManager(handle)
	must(t, err)
	if v.Addr == "" {
		t.Fatalf("the acquired vessel's node does not listen: %+v", v)
	}
	return &nmVesselFixture{s: s, a: a, handle: handle, addr: v.Addr, sg: newSigner(t, a.PublicKey, a.PrivateKey, handle, v.Addr)}
}

func wantReply(t testing.TB, what, have, want string) {
	t.Helper()
	if have != want {
		t.Errorf("%s: have %.200q\nwant %.200q", what, have, want)
	}
}

func TestNodeManagerFiles(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	sg := f.sg
	wantReply(t, "list empty", sg.say(nmproto.ListFilesInVessel), "\nSuccess")
	wantReply(t, "add b", sg.say(nmproto.AddFileToVessel, "b.txt", "bee|with|pipes\n"), "\nSuccess")
	wantReply(t, "add a", sg.say(nmproto.AddFileToVessel, "a.r2py", ""), "\nSuccess")
	wantReply(t, "list", sg.say(nmproto.ListFilesInVessel), "a.r2py b.txt\nSuccess")
	wantReply(t, "retrieve", sg.say(nmproto.RetrieveFileFromVessel, "b.txt"), "bee|with|pipes\n\nSuccess")
	wantReply(t, "overwrite", sg.say(nmproto.AddFileToVessel, "b.txt", "new"), "\nSuccess")
	wantReply(t, "retrieve new", sg.say(nmproto.RetrieveFileFromVessel, "b.txt"), "new\nSuccess")
	wantReply(t, "retrieve missing", sg.say(nmproto.RetrieveFileFromVessel, "c.txt"), "Error, File Not Found\nError")
	wantReply(t, "delete missing", sg.say(nmproto.DeleteFileInVessel, "c.txt"), "File not found\nError")
	wantReply(t, "delete", sg.say(nmproto.DeleteFileInVessel, "b.txt"), "\nSuccess")
	wantReply(t, "list after delete", sg.say(nmproto.ListFilesInVessel), "a.r2py\nSuccess")

	private := "User is not allowed to use file names starting with 'private_'\nError"
	wantReply(t, "add private", sg.say(nmproto.AddFileToVessel, "private_x", "x"), private)
	wantReply(t, "retrieve private", sg.say(nmproto.RetrieveFileFromVessel, "private_x"), private)
	wantReply(t, "delete private", sg.say(nmproto.DeleteFileInVessel, "private_x"), private)

	names := []struct{ name, text string }{
		{strings.Repeat("a", 121), "Filename exceeds maximum length! Maximum: 120"},
		{"", "Illegal filename provided!"},
		{".", "Illegal filename provided!"},
		{"..", "Illegal filename provided!"},
		{"A.txt", "Filename has disallowed character 'A'"},
		{"a b", "Filename has disallowed character ' '"},
		{".hidden", "Filename starts with a period, this is not allowed!"},
	}
	for _, n := range names {
		for _, call := range []string{nmproto.AddFileToVessel, nmproto.RetrieveFileFromVessel, nmproto.DeleteFileInVessel} {
			args := []string{n.name}
			if call == nmproto.AddFileToVessel {
				args = append(args, "data")
			}
			wantReply(t, call+" "+n.name, sg.say(call, args...), n.text+"\nError")
		}
	}
	wantReply(t, "120 characters", sg.say(nmproto.AddFileToVessel, strings.Repeat("a", 120), "x"), "\nSuccess")

	v, err := f.s.VesselNodeManager(f.handle)
	must(t, err)
	if len(v.Files) != 2 || v.Files["a.r2py"] != 0 || v.Files[strings.Repeat("a", 120)] != 1 {
		t.Errorf("files %v", v.Files)
	}
}

func TestNodeManagerDiskQuota(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	sg := f.sg
	six := strings.Repeat("x", 6_000_000)
	full := "Not enough free disk space\nError"
	wantReply(t, "6 MB", sg.say(nmproto.AddFileToVessel, "a", six), "\nSuccess")
	wantReply(t, "6 MB more", sg.say(nmproto.AddFileToVessel, "b", six), full)
	// The original counts the copy it replaces: 6 + 5 > 10.
	wantReply(t, "overwrite with 5 MB", sg.say(nmproto.AddFileToVessel, "a", six[:5_000_000]), full)
	// The size check comes before the name check.
	wantReply(t, "bad name, too big", sg.say(nmproto.AddFileToVessel, "A", six), full)
	wantReply(t, "4 MB", sg.say(nmproto.AddFileToVessel, "b", six[:VesselDiskQuota-6_000_000]), "\nSuccess")
	wantReply(t, "one byte more", sg.say(nmproto.AddFileToVessel, "c", "x"), full)
	wantReply(t, "empty file", sg.say(nmproto.AddFileToVessel, "c", ""), "\nSuccess")

	// The cap on every node manager's data together.
	g := newNMVessel(t, WithNodeManagerDisk(1<<20))
	half := strings.Repeat("y", 600_000)
	wantReply(t, "under the cap", g.sg.say(nmproto.AddFileToVessel, "a", half), "\nSuccess")
	wantReply(t, "over the cap", g.sg.say(nmproto.AddFileToVessel, "b", half), full)
	st, err := g.s.NodeManagers()
	must(t, err)
	if st.DiskUsed != 600_000 || st.DiskCap != 1<<20 {
		t.Errorf("disk %d of %d, want 600000 of %d", st.DiskUsed, st.DiskCap, 1<<20)
	}
	if err := g.s.AppendVesselLog(g.handle, strings.Repeat("z", 500_000)[:nmLogMax]); err != nil {
		t.Fatal(err)
	}
	st, _ = g.s.NodeManagers()
	if st.DiskUsed != 600_000+nmLogMax {
		t.Errorf("disk %d after a 16 KiB log, want %d", st.DiskUsed, 600_000+nmLogMax)
	}
}

func TestNodeManagerStartStop(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	sg := f.sg
	wantReply(t, "stop Fresh", sg.say(nmproto.StopVessel), "Cannot stop vessel with status 'Fresh'\nError")
	wantReply(t, "platform", sg.say(nmproto.StartVesselEx, "python", "a.r2py"), "Programming language platform is not supported.\nError")
	wantReply(t, "character", sg.say(nmproto.StartVesselEx, "repyV2", "a.r2py x/y"), "Character '/' not allowed in arguments\nError")
	wantReply(t, "character before platform", sg.say(nmproto.StartVesselEx, "python", "a;b"), "Programming language platform is not supported.\nError")
	wantReply(t, "upload", sg.say(nmproto.AddFileToVessel, "prog.r2py", "log('hi')\n"), "\nSuccess")
	wantReply(t, "start", sg.say(nmproto.StartVesselEx, "REPYv2", "prog.r2py -n 3 x_y.z"), "Started\nSuccess")
	wantReply(t, "start again", sg.say(nmproto.StartVesselEx, "bogus", "$"), "Vessel has already been started\nError")
	rule := strings.Repeat("=", 40) + "\n"
	wantLog := rule + "Running program: prog.r2py\nArguments: ['-n', '3', 'x_y.z']\n" + rule +
		"[mock] prog.r2py was not run: this node manager is simulated and runs no program\n"
	wantReply(t, "log", sg.say(nmproto.ReadVesselLog), wantLog+"\nSuccess")
	if !strings.Contains(nmSay(t, f.addr, nmproto.GetVessels), "Status: Started\n") {
		t.Error("GetVessels does not show the vessel Started")
	}
	wantReply(t, "stop", sg.say(nmproto.StopVessel), "Stopped\nSuccess")
	wantReply(t, "stop Stopped", sg.say(nmproto.StopVessel), "Cannot stop vessel with status 'Stopped'\nError")
	// StartVessel is StartVesselEx with repyV1; a missing program is
	// repy's fatal error, and the program ends at once.
	wantReply(t, "start missing", sg.say(nmproto.StartVessel, "missing.py"), "Started\nSuccess")
	v, err := f.s.VesselNodeManager(f.handle)
	must(t, err)
	if v.Status != "Terminated" || !strings.HasSuffix(v.Log, "FATAL ERROR: Unable to read the specified program file: 'missing.py'\n") ||
		v.Program != "missing.py" || len(v.Args) != 0 {
		t.Errorf("after a start of a missing program: %+v", v)
	}
	wantReply(t, "stop Terminated", sg.say(nmproto.StopVessel), "Cannot stop vessel with status 'Terminated'\nError")

	// EndVesselProgram: Started becomes Terminated.
	wantReply(t, "start for the end", sg.say(nmproto.StartVessel, "prog.r2py"), "Started\nSuccess")
	must(t, f.s.EndVesselProgram(f.handle))
	if err := f.s.EndVesselProgram(f.handle); err == nil {
		t.Error("EndVesselProgram of a Terminated vessel succeeded")
	}
	if !strings.Contains(nmSay(t, f.addr, nmproto.GetVessels), "Status: Terminated\n") {
		t.Error("GetVessels does not show the vessel Terminated")
	}

	// Reset: files and log go, the status is Fresh, the user stays.
	wantReply(t, "reset", sg.say(nmproto.ResetVessel), "\nSuccess")
	wantReply(t, "list after reset", sg.say(nmproto.ListFilesInVessel), "\nSuccess")
	wantReply(t, "log after reset", sg.say(nmproto.ReadVesselLog), "\nSuccess")
	v, _ = f.s.VesselNodeManager(f.handle)
	if v.Status != "Fresh" || len(v.UserKeys) != 1 || v.Program != "" {
		t.Errorf("after ResetVessel: %+v", v)
	}
	wantReply(t, "reset a started vessel", sg.say(nmproto.StartVessel, "x"), "Started\nSuccess")
}

func TestNodeManagerLogTail(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	var all strings.Builder
	for i := range 3000 {
		line := "line " + strconv.Itoa(i) + "\n"
		all.WriteString(line)
		must(t, f.s.AppendVesselLog(f.handle, line))
	}
	tail := all.String()[all.Len()-nmLogMax:]
	wantReply(t, "log", f.sg.say(nmproto.ReadVesselLog), tail+"\nSuccess")
	if err := f.s.AppendVesselLog(f.handle, strings.Repeat("x", nmLogMax+1)); err == nil {
		t.Error("a log append over 16 KiB succeeded")
	}
}

func TestNodeManagerStartHangs(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t, option(func(c *config) error { c.nmStartWait = 50 * time.Millisecond; return nil }))
	sg := f.sg
	warning := "Did not start in a timely manner\nWarning"
	// No program at all: repy never reports.
	wantReply(t, "empty arguments", sg.say(nmproto.StartVessel, "  "), warning)
	if err := f.s.HangVesselStart(f.handle, NodeManagerStartWait+1); err == nil {
		t.Error("a hang over 10 s was accepted")
	}
	must(t, f.s.HangVesselStart(f.handle, 300*time.Millisecond))
	v, _ := f.s.VesselNodeManager(f.handle)
	if !v.StartHangs || v.HangWait != 300*time.Millisecond {
		t.Fatalf("after HangVesselStart: %+v", v)
	}
	// The checks still come first.
	wantReply(t, "bad platform", sg.say(nmproto.StartVesselEx, "x", "a"), "Programming language platform is not supported.\nError")

	// While the start hangs the node serves nobody else: a GetVessels
	// queued behind it is answered after the hang.
	queued := make(chan struct{}, 2)
	f.s.nmNet.mu.Lock()
	f.s.nmNet.queued = func() { queued <- struct{}{} }
	f.s.nmNet.mu.Unlock()
	sent := time.Now()
	started := make(chan string, 1)
	go func() {
		reply, err := nmExchange(f.addr, sg.sign(nmproto.StartVessel, "a"))
		if err != nil {
			reply = err.Error()
		}
		started <- reply
	}()
	<-queued
	nmSay(t, f.addr, nmproto.GetVessels)
	if waited := time.Since(sent); waited < 300*time.Millisecond {
		t.Errorf("GetVessels was answered %v after the start was sent, within its 300ms hang", waited)
	}
	wantReply(t, "hung start", <-started, warning)
	v, _ = f.s.VesselNodeManager(f.handle)
	if v.Status != "Fresh" || v.StartHangs || v.Program != "" {
		t.Errorf("after the hung start: %+v", v)
	}
	wantReply(t, "the next start", sg.say(nmproto.StartVessel, "a"), "Started\nSuccess")
}

func TestNodeManagerPublicCalls(t *testing.T) {
	t.Parallel()
	f := newNMVessel(t)
	res := nmSay(t, f.addr, "GetVesselResources|"+strings.SplitN(f.handle, ":", 2)[1])
	for _, want := range []string{"resource connport 63100\n", "resource messport 63100\n",
		"resource connport 63109\n", "resource diskused 10000000 "} {
		if !strings.Contains(res, want) {
			t.Errorf("GetVesselResources lacks %q:\n%s", want, res)
		}
	}
	if !strings.HasSuffix(res, "\nSuccess") {
		t.Errorf("GetVesselResources: %q", res)
	}
	wantReply(t, "resources of no vessel", nmSay(t, f.addr, "GetVesselResources|v99"), "No such vessel\nError")
	wantReply(t, "offcut", nmSay(t, f.addr, nmproto.GetOffcutResources), nmOffcut+"\nSuccess")
	wantReply(t, "unknown call", nmSay(t, f.addr, "Frobnicate|v2"), "Unknown Call\nError")
	wantReply(t, "too few arguments", nmSay(t, f.addr, nmproto.GetVesselResources), "Internal Error\nError")

	info, err := nmproto.ParseGetVessels(strings.TrimSuffix(nmSay(t, f.addr, nmproto.GetVessels), "\nSuccess"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := f.s.Node(strings.SplitN(f.handle, ":", 2)[0])
	must(t, err)
	if info.Key != node.ID || info.Name != node.IP || info.Version != nmNodeVersion || len(info.Vessels) != 8 {
		t.Fatalf("GetVessels: %+v, node %s at %s", info, shorten(node.ID), node.IP)
	}
	var names []string
	for _, vi := range info.Vessels {
		names = append(names, vi.Name)
		if !vi.Advertise || vi.OwnerInfo != "" || !strings.HasPrefix(vi.OwnerKey, "65537 ") || len(vi.OwnerKey) != 6+309 {
			t.Errorf("vessel %+v", vi)
		}
		want := 0
		if node.ID+":"+vi.Name == f.handle {
			want = 1
		}
		if len(vi.UserKeys) != want {
			t.Errorf("vessel %s has users %v, want %d", vi.Name, vi.UserKeys, want)
		}
	}
	if !sort.StringsAreSorted(names) || names[0] != "v2" {
		t.Errorf("vessels %v", names)
	}
	// The owner key is the clearinghouse's: the user's owner calls fail.
	for _, c := range []struct{ call, arg string }{
		{nmproto.ChangeUsers, ""}, {nmproto.ChangeOwner, f.a.PublicKey}, {nmproto.ChangeOwnerInformation, "x"},
		{nmproto.ChangeAdvertise, "False"}, {nmproto.SplitVessel, "resource cpu .1"}, {nmproto.JoinVessels, "v3"},
	} {
		wantReply(t, c.call, f.sg.say(c.call, c.arg), "Insufficient Permissions\nError")
	}
}
