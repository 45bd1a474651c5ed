package mockserver

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// Fault profiles on node manager requests (docs/nodemanager-api.md §8.7).

func TestNodeManagerFaultSpec(t *testing.T) {
	t.Parallel()
	p, err := ParseFaultSpec("seed=3;nm:AddFileToVessel:reset_after,next=1;nm:StartVessel:latency=2s;nm:*:drip=8/10ms,p=0.5")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"nm:AddFileToVessel", "nm:StartVessel", "nm:*"}
	for i, r := range p.Rules {
		if r.Method != want[i] {
			t.Errorf("rule %d: method %q, want %q", i+1, r.Method, want[i])
		}
	}
	if p.Rules[0].Fault != FaultResetAfter || p.Rules[1].Latency != 2*time.Second || p.Rules[2].DripBytes != 8 {
		t.Errorf("rules %+v", p.Rules)
	}
	if back, err := ParseFaultSpec(p.String()); err != nil || back.String() != p.String() {
		t.Errorf("round trip: %q, %v", back.String(), err)
	}
	for _, bad := range []string{
		"nm:Frobnicate:reset_after",
		"nm:StartVessel@alice:latency=1s",
		"nm:StartVessel:unavailable",
		"nm:StartVessel:server_error",
		"nm::reset_after",
		"nm:reset_after",
	} {
		if _, err := ParseFaultSpec(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
	// The JSON form takes the same names.
	var jp FaultProfile
	if err := jp.UnmarshalJSON([]byte(`{"seed":1,"rules":[{"method":"nm:ReadVesselLog","fault":"truncate"}]}`)); err != nil {
		t.Fatal(err)
	}
	if jp.Rules[0].Method != "nm:ReadVesselLog" {
		t.Errorf("JSON rule %+v", jp.Rules[0])
	}
	// "*" is the ten XML-RPC methods, not the node managers'; "nm:*" the
	// node managers', not the XML-RPC methods.
	star, nmStar := FaultRule{Method: "*"}, FaultRule{Method: "nm:*"}
	if star.matches("nm:StartVessel", "") || !star.matches("acquire_resources", "") ||
		!nmStar.matches("nm:StartVessel", "") || !nmStar.matches("nm:", "") || nmStar.matches("acquire_resources", "") {
		t.Error("* and nm:* match the wrong calls")
	}
}

// faultNMVessel is a vessel fixture whose server injects spec.
func faultNMVessel(t *testing.T, spec string) *nmVesselFixture {
	t.Helper()
	p, err := ParseFaultSpec(spec)
	must(t, err)
	return newNMVessel(t, WithFaults(p))
}

// nmRaw sends request and returns every byte the node sends back
// before it closes, and how the connection ended.
func nmRaw(t *testing.T, addr, request string) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	must(t, nmproto.WriteMessage(c, request))
	return io.ReadAll(c)
}

func TestNodeManagerFaults(t *testing.T) {
	t.Parallel()
	t.Run("reset_after applies the upload", func(t *testing.T) {
		t.Parallel()
		f := faultNMVessel(t, "nm:AddFileToVessel:reset_after,next=1")
		got, err := nmRaw(t, f.addr, f.sg.sign(nmproto.AddFileToVessel, "a", "data"))
		if len(got) != 0 || err == nil || !strings.Contains(err.Error(), "reset") {
			t.Errorf("have %q, %v; want a reset and nothing", got, err)
		}
		wantReply(t, "the upload was applied", f.sg.say(nmproto.ListFilesInVessel), "a\nSuccess")
		wantReply(t, "next=1: the next upload is answered", f.sg.say(nmproto.AddFileToVessel, "b", ""), "\nSuccess")
	})
	t.Run("reset_before does not", func(t *testing.T) {
		t.Parallel()
		f := faultNMVessel(t, "nm:AddFileToVessel:reset_before")
		if got, err := nmRaw(t, f.addr, f.sg.sign(nmproto.AddFileToVessel, "a", "data")); len(got) != 0 || err == nil {
			t.Errorf("have %q, %v; want a reset", got, err)
		}
		wantReply(t, "nothing stored", f.sg.say(nmproto.ListFilesInVessel), "\nSuccess")
		st, _ := f.s.NodeManagers()
		if c := st.Calls[nmproto.AddFileToVessel]; c.Requests != 1 || c.Dropped != 1 {
			t.Errorf("counts %+v", c)
		}
		if n := f.s.Faults().Injected[FaultResetBefore]; n != 1 {
			t.Errorf("%d reset_before injected", n)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		t.Parallel()
		f := faultNMVessel(t, "nm:ReadVesselLog:truncate")
		must(t, f.s.AppendVesselLog(f.handle, strings.Repeat("log line\n", 100)))
		whole := nmproto.AppendMessage(nil, strings.Repeat("log line\n", 100)+"\nSuccess")
		got, err := nmRaw(t, f.addr, f.sg.sign(nmproto.ReadVesselLog))
		if err != nil || string(got) != string(whole[:len(whole)/2]) {
			t.Errorf("have %d bytes (%v), want the first %d of %d", len(got), err, len(whole)/2, len(whole))
		}
	})
	t.Run("latency on StartVessel", func(t *testing.T) {
		t.Parallel()
		f := faultNMVessel(t, "nm:StartVessel:latency=300ms")
		start := time.Now()
		wantReply(t, "start", f.sg.say(nmproto.StartVessel, "x"), "Started\nSuccess")
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("answered after %v, before the 300ms latency", d)
		}
		// Other calls are not delayed by the rule, and the node serves
		// them while the answer waits: only the answer is late.
		wantReply(t, "log", f.sg.say(nmproto.ReadVesselLog), "FATAL ERROR: Unable to read the specified program file: 'x'\n\nSuccess")
	})
	t.Run("drip", func(t *testing.T) {
		t.Parallel()
		f := faultNMVessel(t, "nm:*:drip=5/1ms")
		wantReply(t, "dripped GetVessels", nmSay(t, f.addr, nmproto.GetOffcutResources), nmOffcut+"\nSuccess")
	})
	t.Run("XML-RPC rules leave node managers alone", func(t *testing.T) {
		t.Parallel()
		f := faultNMVessel(t, "*:reset_before,skip=2")
		wantReply(t, "GetVessels", f.sg.say(nmproto.ListFilesInVessel), "\nSuccess")
	})
}
