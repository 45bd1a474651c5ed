package mockserver

import (
	"bufio"
	"net"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// nmRoundTrip is what a client does for one call: dial, send the framed
// request, read the framed reply, close.
func nmRoundTrip(b *testing.B, addr, request string) string {
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := nmproto.WriteMessage(c, request); err != nil {
		b.Fatal(err)
	}
	reply, err := nmproto.ReadMessage(bufio.NewReader(c), 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	return reply
}

// BenchmarkNodeManagerGetVessels measures a GetVessels round trip to one of
// the mock's node managers (a node of eight vessels, one held), and, as
// the baseline in the same run, the same round trip to a bare TCP server
// on loopback that reads the framed request and writes back the very same
// reply bytes. The difference is the mock's own cost: admission, the
// queue, the engine, the state lock, the GetVessels text.
func BenchmarkNodeManagerGetVessels(b *testing.B) {
	f := newNMVessel(b)
	want := nmSay(b, f.addr, nmproto.GetVessels)

	echo, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer echo.Close()
	frame := nmproto.AppendMessage(nil, want)
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := nmproto.ReadMessage(bufio.NewReader(c), 1<<20); err == nil {
					c.Write(frame)
				}
			}()
		}
	}()

	b.Run("mock", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if nmRoundTrip(b, f.addr, nmproto.GetVessels) != want {
				b.Fatal("a different reply")
			}
		}
	})
	b.Run("echo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if nmRoundTrip(b, echo.Addr().String(), nmproto.GetVessels) != want {
				b.Fatal("a different reply")
			}
		}
	})
}
