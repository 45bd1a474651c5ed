package nmtest

import (
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// Mode makes the node misbehave.
type Mode int

const (
	// Normal answers every request.
	Normal Mode = iota
	// Silent reads the request and never answers; the connection stays
	// open until the client gives up or the node closes.
	Silent
	// HugeHeader answers with a size header of 10 GB, then closes.
	HugeHeader
	// CloseEarly closes the connection without reading or answering.
	CloseEarly
	// NoStatus answers a reply without a status line.
	NoStatus
)

// maxRequest bounds the requests the node reads.
const maxRequest = 64 << 20

// Node is a running test node manager.
type Node struct {
	ln     net.Listener
	engine nmproto.Engine
	done   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once

	mu       sync.Mutex // serializes requests, as the original's one worker did
	vessels  map[string]*vessel
	order    []string
	mode     Mode
	warn     bool
	now      func() float64
	requests []string
	received chan string // if set, each request is also sent here
	conns    map[net.Conn]bool
}

type vessel struct {
	access    nmproto.Access
	status    string
	advertise bool
	info      string
	files     map[string]string
	log       string
	resources string
}

// Start starts a node with the given key ("e n") listening on a free port
// of 127.0.0.1.
func Start(nodeKey string) (*Node, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n := &Node{
		ln: ln, engine: nmproto.Engine{NodeKey: nodeKey}, done: make(chan struct{}),
		vessels: map[string]*vessel{}, conns: map[net.Conn]bool{},
		now: func() float64 { return nmproto.NTPTime(time.Now()) },
	}
	n.wg.Add(1)
	go n.serve()
	return n, nil
}

// Addr returns the node's address, "127.0.0.1:port".
func (n *Node) Addr() string { return n.ln.Addr().String() }

// Key returns the node's key.
func (n *Node) Key() string { return n.engine.NodeKey }

// Close stops the node, closes its open connections and waits for its
// goroutines. Calling it again does nothing.
func (n *Node) Close() {
	n.closed.Do(func() {
		close(n.done)
		n.ln.Close()
		n.mu.Lock()
		for c := range n.conns {
			c.Close()
		}
		n.mu.Unlock()
		n.wg.Wait()
	})
}

// AddVessel adds a Fresh vessel with the given owner and user keys and
// a resource file offering port as connport and messport.
func (n *Node) AddVessel(name, ownerKey string, userKeys ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.vessels[name] = &vessel{
		access: nmproto.Access{OwnerKey: ownerKey, UserKeys: userKeys}, status: "Fresh", files: map[string]string{},
		resources: "resource cpu .10\nresource memory 50000000   # 50 MB\nresource diskused 10000000\n" +
			"resource connport 63101\nresource messport 63101\nresource connport 63102\n",
	}
	n.order = append(n.order, name)
}

// SetMode switches how the node answers.
func (n *Node) SetMode(m Mode) {
	n.mu.Lock()
	n.mode = m
	n.mu.Unlock()
}

// SetStartWarning makes StartVessel answer "Did not start in a timely
// manner" with status Warning, as a node does after 10 s.
func (n *Node) SetStartWarning(on bool) {
	n.mu.Lock()
	n.warn = on
	n.mu.Unlock()
}

// SetClock sets the node's clock (seconds since 1900).
func (n *Node) SetClock(now func() float64) {
	n.mu.Lock()
	n.now = now
	n.mu.Unlock()
}

// SetEchoLimit sets how much of a request a refusal repeats.
func (n *Node) SetEchoLimit(limit int) {
	n.mu.Lock()
	n.engine.EchoLimit = limit
	n.mu.Unlock()
}

// Received returns a channel on which the node sends each request it
// reads from now on (a test waits on it for a request to arrive). The
// channel has room for 100 requests; the node drops those that do not fit.
func (n *Node) Received() <-chan string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.received == nil {
		n.received = make(chan string, 100)
	}
	return n.received
}

// Requests returns the requests the node has read, in order.
func (n *Node) Requests() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.requests)
}

// Metadata returns the trailer the vessel stored last, if any.
func (n *Node) Metadata(vessel string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.vessels[vessel]
	if !ok {
		return "", false
	}
	return v.access.OldMetadata, v.access.HasOldMetadata
}

func (n *Node) serve() {
	defer n.wg.Done()
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.mu.Lock()
		n.conns[c] = true
		n.mu.Unlock()
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			defer func() {
				n.mu.Lock()
				delete(n.conns, c)
				n.mu.Unlock()
				c.Close()
			}()
			n.handle(c)
		}()
	}
}

func (n *Node) handle(c net.Conn) {
	n.mu.Lock()
	mode := n.mode
	n.mu.Unlock()
	if mode == CloseEarly {
		return
	}
	req, err := nmproto.ReadMessage(c, maxRequest)
	if err != nil {
		return
	}
	n.mu.Lock()
	n.requests = append(n.requests, req)
	if n.received != nil {
		select {
		case n.received <- req:
		default:
		}
	}
	var reply string
	switch mode {
	case Normal:
		reply = n.engine.Serve((*api)(n), req, n.now()).String()
	case NoStatus:
		reply = "a reply without a status"
	}
	n.mu.Unlock()
	switch mode {
	case Silent:
		select {
		case <-n.done:
		case <-waitClosed(c):
		}
	case HugeHeader:
		c.Write([]byte("10737418240\n0123456789"))
	default:
		nmproto.WriteMessage(c, reply)
	}
}

// waitClosed returns a channel closed when the peer closes c.
func waitClosed(c net.Conn) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		var b [1]byte
		for {
			if _, err := c.Read(b[:]); err != nil {
				close(ch)
				return
			}
		}
	}()
	return ch
}

// api is the node's API; its methods run with n.mu held.
type api Node

func (a *api) Access(name string) (nmproto.Access, bool) {
	v, ok := a.vessels[name]
	if !ok {
		return nmproto.Access{}, false
	}
	return v.access, true
}

func (a *api) SetOldMetadata(name, meta string) {
	if v, ok := a.vessels[name]; ok {
		v.access.OldMetadata, v.access.HasOldMetadata = meta, true
	}
}

func (a *api) vessel(name string) (*vessel, nmproto.Reply, bool) {
	v, ok := a.vessels[name]
	if !ok {
		return nil, nmproto.Failure("No such vessel"), false
	}
	return v, nmproto.Reply{}, true
}

func (a *api) GetVessels() nmproto.Reply {
	info := nmproto.NodeInfo{Version: "0.2-alpha-20140714-1434", Name: "127.0.0.1", Key: a.engine.NodeKey}
	for _, name := range a.order {
		v := a.vessels[name]
		info.Vessels = append(info.Vessels, nmproto.VesselInfo{
			Name: name, Status: v.status, Advertise: v.advertise, OwnerKey: v.access.OwnerKey,
			OwnerInfo: v.info, UserKeys: v.access.UserKeys,
		})
	}
	return nmproto.Succeeded(info.Render())
}

func (a *api) GetVesselResources(name string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	return nmproto.Succeeded(v.resources)
}

func (a *api) GetOffcutResources() nmproto.Reply {
	return nmproto.Succeeded("resource cpu .002\nresource memory 1000000\nresource diskused 100000 # .1 MiB\n")
}

func (a *api) StartVessel(name, args string) nmproto.Reply {
	return a.StartVesselEx(name, "repyV1", args)
}

func (a *api) StartVesselEx(name, platform, args string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	if v.status == "Started" {
		return nmproto.Failure("Vessel has already been started")
	}
	if p := strings.ToLower(platform); p != "repyv1" && p != "repyv2" {
		return nmproto.Failure("Programming language platform is not supported.")
	}
	for _, c := range args {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_ ", c)) {
			return nmproto.Failure("Character '" + string(c) + "' not allowed in arguments")
		}
	}
	if a.warn {
		return nmproto.Reply{Body: "Did not start in a timely manner", Status: nmproto.Warning}
	}
	v.status = "Started"
	v.log += "[nmtest] " + platform + " " + args + " (not executed)\n"
	return nmproto.Succeeded("Started")
}

func (a *api) StopVessel(name string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	if v.status != "Started" {
		return nmproto.Failure("Cannot stop vessel with status '" + v.status + "'")
	}
	v.status = "Stopped"
	return nmproto.Succeeded("Stopped")
}

func (a *api) AddFileToVessel(name, file, data string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	if strings.HasPrefix(file, "private_") {
		return nmproto.Failure("User is not allowed to use file names starting with 'private_'")
	}
	if file == "" {
		return nmproto.Failure("Filename is empty")
	}
	v.files[file] = data
	return nmproto.Succeeded("")
}

func (a *api) ListFilesInVessel(name string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	var names []string
	for f := range v.files {
		names = append(names, f)
	}
	sort.Strings(names)
	return nmproto.Succeeded(strings.Join(names, " "))
}

func (a *api) RetrieveFileFromVessel(name, file string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	data, ok := v.files[file]
	if !ok {
		return nmproto.Failure("Error, File Not Found")
	}
	return nmproto.Succeeded(data)
}

func (a *api) DeleteFileInVessel(name, file string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	if _, ok := v.files[file]; !ok {
		return nmproto.Failure("File not found")
	}
	delete(v.files, file)
	return nmproto.Succeeded("")
}

func (a *api) ReadVesselLog(name string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	return nmproto.Succeeded(v.log[max(0, len(v.log)-16<<10):])
}

func (a *api) ResetVessel(name string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	v.status, v.log, v.files = "Fresh", "", map[string]string{}
	return nmproto.Succeeded("")
}

func (a *api) ChangeOwner(name, key string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	if !nmproto.SameKey(key, key) { // a string that is no key is not even itself
		return nmproto.Failure("Invalid Key String")
	}
	v.access.OwnerKey, v.info, v.advertise = key, "", true
	return nmproto.Succeeded("")
}

func (a *api) ChangeUsers(name, keys string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	var list []string
	for _, k := range strings.Split(keys, "|") {
		if k == "" {
			continue
		}
		if !nmproto.SameKey(k, k) {
			return nmproto.Failure("Invalid Key String '" + k + "'")
		}
		list = append(list, k)
	}
	v.access.UserKeys = list
	return nmproto.Succeeded("")
}

func (a *api) ChangeOwnerInformation(name, info string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	if len(info) > 256 {
		return nmproto.Failure("String Too Long")
	}
	if strings.Contains(info, "\n") {
		return nmproto.Failure("String may not contain newline character")
	}
	v.info = info
	return nmproto.Succeeded("")
}

func (a *api) ChangeAdvertise(name, setting string) nmproto.Reply {
	v, r, ok := a.vessel(name)
	if !ok {
		return r
	}
	switch setting {
	case "True":
		v.advertise = true
	case "False":
		v.advertise = false
	default:
		return nmproto.Failure("Invalid advertisement setting '" + setting + "'")
	}
	return nmproto.Succeeded("")
}

func (a *api) SplitVessel(name, resources string) nmproto.Reply {
	return nmproto.Failure(nmproto.TextInternalError) // not simulated
}

func (a *api) JoinVessels(name1, name2 string) nmproto.Reply {
	return nmproto.Failure(nmproto.TextInternalError) // not simulated
}
