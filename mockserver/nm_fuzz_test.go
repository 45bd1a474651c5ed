package mockserver

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
)

// FuzzNodeManagerReadRequest: the node's reader, which looks at the size
// header to charge the bound on requests in flight, reads every input as
// nmproto.ReadMessage does, and gives back what it charged.
func FuzzNodeManagerReadRequest(f *testing.F) {
	for _, seed := range []string{"", "0\n", "5\nhello", "-1\n", " 5\nhello", "+5\nhello", "0005\nhello",
		"5x\nhello", "5\nhel", "99999999999999999999\n", "12345678\n", "3\nabcdef", "\n", "-\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nt := &nmNet{stats: newNMStats()}
		var charged int64
		have, herr := nt.readRequest(bytes.NewReader(data), &charged)
		want, werr := nmproto.ReadMessage(bytes.NewReader(data), maxNMRequest)
		if (herr == nil) != (werr == nil) || have != want {
			t.Fatalf("%q: have %q, %v; nmproto.ReadMessage: %q, %v", data, have, herr, want, werr)
		}
		if errors.Is(werr, nmproto.ErrTooLarge) != errors.Is(herr, nmproto.ErrTooLarge) {
			t.Fatalf("%q: have %v, want %v", data, herr, werr)
		}
		if charged != nt.inFlight || charged < int64(len(have)) || charged > int64(len(data))+1<<20 {
			t.Fatalf("%q: charged %d, in flight %d, for %d bytes", data, charged, nt.inFlight, len(data))
		}
	})
}

// FuzzNodeManagerRequest runs arbitrary requests through a node of the
// mock, as its worker does: whatever comes, the reply is a proper one and
// the node's books balance. The seeds include correctly signed requests,
// which mutations break in every field.
func FuzzNodeManagerRequest(f *testing.F) {
	clock := &nmClock{}
	clock.set(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	s := nmServer(f, WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}), withNMClock(clock),
		option(func(c *config) error { c.nmStartWait = 0; return nil }))
	a := addUser(f, s, "alice")
	h := acquire(f, s, a, "wan", 1)[0]
	sg := newSigner(f, a.PublicKey, a.PrivateKey, h, nmAddr(f, s, h))
	s.nmNet.mu.Lock()
	var l *nmListener
	for _, l = range s.nmNet.listeners {
	}
	s.nmNet.mu.Unlock()
	ts := nmproto.NTPTime(clock.get())
	for i, call := range [][]string{
		{nmproto.AddFileToVessel, "a.r2py", "data|more"}, {nmproto.ListFilesInVessel}, {nmproto.StartVesselEx, "repyV2", "a.r2py x"},
		{nmproto.ReadVesselLog}, {nmproto.StopVessel}, {nmproto.ResetVessel}, {nmproto.DeleteFileInVessel, "a.r2py"},
		{nmproto.RetrieveFileFromVessel, "a.r2py"}, {nmproto.ChangeUsers, ""},
	} {
		f.Add(sg.at(ts+float64(i+1), call[0], call[1:]...))
	}
	f.Add(nmproto.GetVessels)
	f.Add("GetVesselResources|" + strings.SplitN(h, ":", 2)[1])
	f.Add("")
	f.Fuzz(func(t *testing.T, request string) {
		res := s.nmServe(l, request)
		if res.drop {
			t.Fatalf("%q: dropped", request)
		}
		if _, err := nmproto.ParseReply(res.reply); err != nil {
			t.Fatalf("%q: reply %q: %v", request, res.reply, err)
		}
		must(t, s.update(func(st *state, now int64) error {
			var used int64
			for _, e := range st.nm.vessels {
				var files int64
				for _, data := range e.files {
					files += int64(len(data))
				}
				if files != e.used || len(e.log) > nmLogMax || len(e.files) > maxVesselFiles {
					t.Fatalf("%q: a vessel's books: %d bytes of files counted as %d, %d bytes of log, %d files",
						request, files, e.used, len(e.log), len(e.files))
				}
				used += e.used + int64(len(e.log))
			}
			if used != st.nm.used || used > st.nm.diskCap {
				t.Fatalf("%q: the node managers hold %d bytes, counted as %d", request, used, st.nm.used)
			}
			return nil
		}))
	})
}

// FuzzNodeManagerStateRecord replays a state file whose last record is
// arbitrary: a record of node manager state, mutated. Replay must refuse
// it (ErrCorruptState) or load state within the bounds a running server
// keeps.
func FuzzNodeManagerStateRecord(f *testing.F) {
	path := filepath.Join(f.TempDir(), "state")
	s, err := Open(context.Background(), path, append(frozen(t0), WithNodeManagers(true), WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))...)
	must(f, err)
	f.Cleanup(func() { s.Close() })
	a := addUser(f, s, "alice")
	h := acquire(f, s, a, "wan", 1)[0]
	sg := newSigner(f, a.PublicKey, a.PrivateKey, h, nmAddr(f, s, h))
	sg.say(nmproto.AddFileToVessel, "a.r2py", "x\xff")
	sg.say(nmproto.StartVessel, "a.r2py")
	must(f, s.AppendVesselLog(h, "out\n"))
	must(f, s.HangVesselStart(h, time.Second))
	sg.say(nmproto.ResetVessel)
	sg.say(nmproto.AddFileToVessel, "b", "y")
	data, err := os.ReadFile(path)
	must(f, err)
	sf, err := parseStateFile(data)
	must(f, err)
	for _, p := range sf.payloads[1:] {
		f.Add(p)
	}
	f.Add([]byte(`{"type":"delta","clock":1,"offset":0,"nm":[{"i":3,"users":["65537 x"]}]}`))
	f.Add([]byte(`{"type":"delta","clock":1,"offset":0,"nm_files":[{"v":3,"name":"a","data":"eA=="}]}`))
	// The input takes the place of the last record, after the others.
	prefix := data[:sf.offsets[len(sf.offsets)-1]]
	srv := nmServer(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		if bytes.IndexByte(payload, '\n') >= 0 {
			return // a payload never holds one; the frame would not parse
		}
		file := appendFrame(append([]byte(nil), prefix...), payload)
		sf, err := parseStateFile(file)
		if err != nil {
			return
		}
		st, _, err := srv.replay(context.Background(), sf)
		if err != nil {
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("replay: %v", err)
			}
			return
		}
		srv.nmLoaded(st)
		for v, e := range st.nm.vessels {
			if int(v) >= len(st.vessels) || len(e.log) > nmLogMax || len(e.files) > maxVesselFiles || len(e.users) > maxNMUsers {
				t.Fatalf("vessel %d loaded over a bound: %d log bytes, %d files, %d users", v, len(e.log), len(e.files), len(e.users))
			}
			for name, data := range e.files {
				if repyFilenameProblem(name) != "" || len(data) > VesselDiskQuota {
					t.Fatalf("vessel %d loaded file %q of %d bytes", v, name, len(data))
				}
			}
			switch e.status {
			case "", statusStarted, statusStopped, statusTerminated:
			default:
				t.Fatalf("vessel %d loaded status %q", v, e.status)
			}
		}
	})
}

// FuzzParseFaultSpec: whatever a profile's compact form, ParseFaultSpec
// refuses it (ErrInvalid) or reads a profile whose compact form reads back
// the same.
func FuzzParseFaultSpec(f *testing.F) {
	for _, seed := range []string{
		"", "seed=7;acquire_resources:reset_after,next=1", "*@alice:latency=200ms,jitter=300ms,p=0.5",
		"get_resource_info:drip=64/50ms", "nm:StartVessel:latency=2s", "nm:*:truncate,skip=2",
		"nm:AddFileToVessel:reset_after,next=1;renew_resources:unavailable,retry_after=5s",
		"nm:Frobnicate:reset_before", "nm::", "nm:StartVessel@bob:latency=1s",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := ParseFaultSpec(spec)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q: %v", spec, err)
			}
			return
		}
		back, err := ParseFaultSpec(p.String())
		if err != nil || back.String() != p.String() {
			t.Fatalf("%q read as %q, which reads back as %q (%v)", spec, p.String(), back.String(), err)
		}
		for _, r := range p.Rules {
			if isNMMethod(r.Method) && (r.Username != "" || !nmFaultMethod(r.Method)) {
				t.Fatalf("%q: node manager rule %+v", spec, r)
			}
		}
	})
}
