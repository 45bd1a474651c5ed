package nodemanager

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/internal/nmtest"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// keyPair is a test key: the public and private strings.
type keyPair struct{ pub, priv string }

// testKeys are made once from fixed seeds: 512 bits keep them quick.
var testKeys = sync.OnceValue(func() map[string]keyPair {
	out := map[string]keyPair{}
	for i, name := range []string{"user", "owner", "node", "other"} {
		pub, priv, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{byte(i), 'n', 'm'}), 512)
		if err != nil {
			panic(err)
		}
		out[name] = keyPair{pub.String(), priv.String()}
	}
	return out
})

func key(name string) keyPair { return testKeys()[name] }

// startNode starts a test node with key "node" and vessel v1 (owner
// "owner", user "user"); it is closed when the test ends.
func startNode(t *testing.T) *nmtest.Node {
	t.Helper()
	n, err := nmtest.Start(key("node").pub)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	n.AddVessel("v1", key("owner").pub, key("user").pub)
	n.AddVessel("v2", key("owner").pub)
	return n
}

// newClient returns a client signing with the named key ("" for none).
func newClient(t *testing.T, keyName string, opts ...Option) *Client {
	t.Helper()
	if keyName != "" {
		opts = append([]Option{WithPrivateKey(key(keyName).priv)}, opts...)
	}
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// vesselOn returns a handle to the named vessel of node n.
func vesselOn(t *testing.T, c *Client, n *nmtest.Node, name string) *Vessel {
	t.Helper()
	node, err := c.Node(n.Addr(), n.Key())
	if err != nil {
		t.Fatal(err)
	}
	v, err := node.Vessel(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pipeDialer answers every connection in memory with answer(request),
// framed unless raw is set, and records the requests.
type pipeDialer struct {
	answer   func(request string) string
	raw      bool
	mu       sync.Mutex
	requests []string
	frames   [][]byte // each request's bytes as read, header included
	dials    atomic.Int32
}

func (d *pipeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		var frame bytes.Buffer
		req, err := nmproto.ReadMessage(io.TeeReader(server, &frame), 64<<20)
		if err != nil {
			return
		}
		d.mu.Lock()
		d.requests = append(d.requests, req)
		d.frames = append(d.frames, frame.Bytes())
		d.mu.Unlock()
		out := d.answer(req)
		if d.raw {
			server.Write([]byte(out))
		} else {
			nmproto.WriteMessage(server, out)
		}
	}()
	return client, nil
}

func (d *pipeDialer) last() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.requests) == 0 {
		return ""
	}
	return d.requests[len(d.requests)-1]
}

// failingDialer fails the first n dials, then dials for real.
type failingDialer struct {
	n     int32
	dials atomic.Int32
}

var errDialRefused = errors.New("refused by the test dialer")

func (d *failingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.dials.Add(1) <= d.n {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errDialRefused}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// is reports whether err matches every target.
func is(err error, targets ...error) bool {
	for _, t := range targets {
		if !errors.Is(err, t) {
			return false
		}
	}
	return err != nil
}
