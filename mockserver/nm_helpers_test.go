package mockserver

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// nmClock is a settable wall clock for the node managers.
type nmClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *nmClock) get() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *nmClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// withNMClock makes the node managers read the given clock.
func withNMClock(c *nmClock) Option {
	return option(func(cfg *config) error {
		cfg.nmWall = c.get
		return nil
	})
}

// withLoopbackOnly makes the server behave as where only 127.0.0.1 can be
// bound.
func withLoopbackOnly() Option {
	return option(func(cfg *config) error {
		cfg.nmLoopOnly = true
		return nil
	})
}

// ntpToTime converts seconds since 1900 to a time.
func ntpToTime(s float64) time.Time {
	sec := int64(s) - nmproto.NTPEpochOffset
	frac := s - float64(int64(s))
	return time.Unix(sec, int64(frac*1e9)).UTC()
}

// nmServer is a test server with node managers on and no population.
func nmServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return newTestServer(t, append([]Option{WithNodeManagers(true)}, opts...)...)
}

// nmExchange sends request to the node manager at addr and returns its
// reply (unframed), or the error.
func nmExchange(addr, request string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := nmproto.WriteMessage(c, request); err != nil {
		return "", err
	}
	return nmproto.ReadMessage(c, 64<<20)
}

// nmSay is nmExchange that must succeed.
func nmSay(t testing.TB, addr, request string) string {
	t.Helper()
	reply, err := nmExchange(addr, request)
	if err != nil {
		t.Fatalf("%.40q to %s: %v", request, addr, err)
	}
	return reply
}

// nmAddr returns the address of the vessel's node manager.
func nmAddr(t testing.TB, s *Server, handle string) string {
	t.Helper()
	addr, err := s.NodeManagerAddr(handle)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// nmMeta returns the vessel's stored trailer.
func nmMeta(t testing.TB, s *Server, handle string) (string, bool) {
	t.Helper()
	var meta string
	var ok bool
	err := s.nmControl(handle, func(st *state, v int32) error {
		if e := st.nm.vessels[v]; e != nil {
			meta, ok = e.meta, e.hasMeta
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return meta, ok
}
