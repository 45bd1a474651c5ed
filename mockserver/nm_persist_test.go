package mockserver

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/nmproto"
	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// The node managers' state in the state file (docs/nodemanager-api.md
// §8.10).

// nmStateFixture opens a state file with node managers on, an account
// holding two vessels with files, a started program, a log and an armed
// hang on the first, and returns what the vessels hold.
func nmStateFixture(t *testing.T, path string) (*Server, mockapi.Account, []string, []NodeManagerVessel) {
	t.Helper()
	s := openState(t, path, WithNodeManagers(true), WithPopulation(PopulationConfig{Nodes: 20, Seed: 6}),
		WithCleanupDelay(time.Hour))
	a := addUser(t, s, "alice")
	hs := acquire(t, s, a, "wan", 3)
	binary := string([]byte{0, 0xff, 0xfe, '\n', '|', '!', 0x80})
	sg := newSigner(t, a.PublicKey, a.PrivateKey, hs[0], nmAddr(t, s, hs[0]))
	wantReply(t, "upload", sg.say(nmproto.AddFileToVessel, "bin.dat", binary), "\nSuccess")
	wantReply(t, "upload", sg.say(nmproto.AddFileToVessel, "prog.r2py", "x"), "\nSuccess")
	wantReply(t, "upload", sg.say(nmproto.AddFileToVessel, "gone", "x"), "\nSuccess")
	wantReply(t, "delete", sg.say(nmproto.DeleteFileInVessel, "gone"), "\nSuccess")
	wantReply(t, "start", sg.say(nmproto.StartVesselEx, "repyV2", "prog.r2py arg"), "Started\nSuccess")
	must(t, s.AppendVesselLog(hs[0], "out\xff\n"))
	must(t, s.HangVesselStart(hs[1], 3*time.Second))
	sg2 := newSigner(t, a.PublicKey, a.PrivateKey, hs[1], nmAddr(t, s, hs[1]))
	wantReply(t, "upload", sg2.say(nmproto.AddFileToVessel, "f", "y"), "\nSuccess")
	wantReply(t, "reset", sg2.say(nmproto.ResetVessel), "\nSuccess")
	wantReply(t, "upload after reset", sg2.say(nmproto.AddFileToVessel, "g", "z"), "\nSuccess")
	// The third is released: its node manager waits for the cleanup.
	sg3 := newSigner(t, a.PublicKey, a.PrivateKey, hs[2], nmAddr(t, s, hs[2]))
	wantReply(t, "upload", sg3.say(nmproto.AddFileToVessel, "h", "w"), "\nSuccess")
	mustCall(t, s, "release_resources", auth(a), []any{hs[2]})
	var want []NodeManagerVessel
	for _, h := range hs {
		v, err := s.VesselNodeManager(h)
		must(t, err)
		v.Addr = "" // listeners are not state
		want = append(want, v)
	}
	if want[0].Files["bin.dat"] != len(binary) || len(want[1].Files) != 1 || want[1].Files["g"] != 1 {
		t.Fatalf("fixture: %+v", want)
	}
	return s, a, hs, want
}

func nmVesselsOf(t *testing.T, s *Server, hs []string) []NodeManagerVessel {
	t.Helper()
	var out []NodeManagerVessel
	for _, h := range hs {
		v, err := s.VesselNodeManager(h)
		must(t, err)
		if v.Addr == "" && v.Status != "" && len(v.UserKeys) > 0 {
			t.Errorf("vessel %s has users but its node does not listen", shorten(h))
		}
		v.Addr = ""
		out = append(out, v)
	}
	return out
}

func TestNodeManagerPersist(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s, a, hs, want := nmStateFixture(t, path)
	meta, _ := nmMeta(t, s, hs[0])

	// Killed: a copy of the file as it is, every call acknowledged.
	killed := openCopy(t, path, WithNodeManagers(true), WithCleanupDelay(time.Hour))
	t.Cleanup(func() { killed.Close() })
	if have := nmVesselsOf(t, killed, hs); !reflect.DeepEqual(have, want) {
		t.Errorf("after a kill:\nhave %+v\nwant %+v", have, want)
	}

	// Closed and opened again (compacted into one snapshot).
	must(t, s.Close())
	r := openState(t, path, WithNodeManagers(true), WithCleanupDelay(time.Hour))
	t.Cleanup(func() { r.Close() })
	if have := nmVesselsOf(t, r, hs); !reflect.DeepEqual(have, want) {
		t.Errorf("after a restart:\nhave %+v\nwant %+v", have, want)
	}
	if m, _ := nmMeta(t, r, hs[0]); m != meta {
		t.Errorf("stored trailer %q, want %q", m, meta)
	}
	// The node listens again, the stored trailer still refuses what came
	// before it, the files are there.
	addr := nmAddr(t, r, hs[0])
	sg := newSigner(t, a.PublicKey, a.PrivateKey, hs[0], addr)
	_, tr, _ := nmproto.SplitSigned("x\n" + meta)
	ts, _ := nmproto.ParseFloat(tr.Timestamp)
	wantReply(t, "replayed time", nmSay(t, addr, sg.at(ts, nmproto.ListFilesInVessel)), "Signature problem: Timestamps match\nError")
	wantReply(t, "binary file", sg.say(nmproto.RetrieveFileFromVessel, "bin.dat"),
		string([]byte{0, 0xff, 0xfe, '\n', '|', '!', 0x80})+"\nSuccess")
	// The cleanup goes on after the restart.
	must(t, r.Advance(time.Hour))
	if v, _ := r.VesselNodeManager(hs[2]); len(v.Files) != 0 || len(v.UserKeys) != 0 {
		t.Errorf("the released vessel after its cleanup: %+v", v)
	}
	must(t, r.Close())
	data, err := os.ReadFile(path)
	must(t, err)
	if bytes.Contains(data, []byte(`"h"`)) {
		t.Error("the cleaned vessel's file is still in the state file")
	}
}

// TestNodeManagerPersistOff: a server without node managers forgets their
// state (and says so); one with them, opening a file written without,
// gives the held vessels their users.
func TestNodeManagerPersistOff(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s, _, hs, _ := nmStateFixture(t, path)
	must(t, s.Close())
	logs := &syncbuf.Buffer{}
	off := openState(t, path, WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if _, err := off.VesselNodeManager(hs[0]); err == nil {
		t.Error("a server without node managers shows their state")
	}
	if !strings.Contains(logs.String(), "drops") {
		t.Errorf("nothing logged about the dropped state:\n%s", logs)
	}
	must(t, off.Close())
	on := openState(t, path, WithNodeManagers(true))
	t.Cleanup(func() { on.Close() })
	v, err := on.VesselNodeManager(hs[0])
	must(t, err)
	if len(v.Files) != 0 || len(v.UserKeys) != 1 || v.Addr == "" {
		t.Errorf("a held vessel after a run without node managers: %+v", v)
	}
}

// TestNodeManagerWriteFails: an upload whose record cannot be written is
// not acknowledged: the node answers Internal Error and the file is not
// there, then or after a restart.
func TestNodeManagerWriteFails(t *testing.T) {
	t.Parallel()
	s, path, ff, _ := openFaulty(t, 10, WithNodeManagers(true))
	a := addUser(t, s, "alice")
	h := acquire(t, s, a, "wan", 1)[0]
	sg := newSigner(t, a.PublicKey, a.PrivateKey, h, nmAddr(t, s, h))
	wantReply(t, "upload", sg.say(nmproto.AddFileToVessel, "kept", "1"), "\nSuccess")
	ff.setOnce("write", syscall.ENOSPC)
	wantReply(t, "upload on a full disk", sg.say(nmproto.AddFileToVessel, "lost", "2"), "Internal Error\nError")
	wantReply(t, "list", sg.say(nmproto.ListFilesInVessel), "kept\nSuccess")
	must(t, s.Close())
	r := openState(t, path, WithNodeManagers(true))
	t.Cleanup(func() { r.Close() })
	if v, _ := r.VesselNodeManager(h); len(v.Files) != 1 || v.Files["kept"] != 1 {
		t.Errorf("after the restart: %+v", v)
	}
}

// TestNodeManagerPersistBounds: a state file whose node manager records
// break a running server's bounds is refused.
func TestNodeManagerPersistBounds(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s, _, _, _ := nmStateFixture(t, path)
	must(t, s.Close())
	good, err := os.ReadFile(path)
	must(t, err)
	for _, tc := range []struct{ from, to string }{
		{`"name":"bin.dat"`, `"name":"Bin.dat"`},
		{`"status":"Started"`, `"status":"Running"`},
		{`"v":`, `"v":999999,"x":`},
	} {
		if !bytes.Contains(good, []byte(tc.from)) {
			t.Fatalf("the state file has no %s", tc.from)
		}
		bad := rewriteRecord(t, good, tc.from, tc.to)
		openCorrupt(t, filepath.Join(t.TempDir(), "bad"), bad)
	}
}

// rewriteRecord replaces from with to in the state file's last record,
// with its checksums made right again.
func rewriteRecord(t *testing.T, data []byte, from, to string) []byte {
	t.Helper()
	sf, err := parseStateFile(data)
	must(t, err)
	last := len(sf.payloads) - 1
	payload := bytes.Replace(sf.payloads[last], []byte(from), []byte(to), 1)
	return appendFrame(append([]byte(nil), data[:sf.offsets[last]]...), payload)
}

// TestCompactionWaitsForTheSnapshot: node manager files in a snapshot are
// rewritten only once the records after it outgrow them, not every time
// the records pass the 8 MiB threshold (4 KiB here).
func TestCompactionWaitsForTheSnapshot(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s := openState(t, path, WithNodeManagers(true), WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}), withCompactBytes(4096))
	t.Cleanup(func() { s.Close() })
	records := func() int {
		t.Helper()
		data, err := os.ReadFile(path)
		must(t, err)
		sf, err := parseStateFile(data)
		must(t, err)
		return len(sf.payloads)
	}
	a := addUser(t, s, "alice")
	h := acquire(t, s, a, "wan", 1)[0]
	sg := newSigner(t, a.PublicKey, a.PrivateKey, h, nmAddr(t, s, h))
	wantReply(t, "a large file", sg.say(nmproto.AddFileToVessel, "big", strings.Repeat("b", 200_000)), "\nSuccess")
	if n := records(); n != 1 {
		t.Fatalf("%d records after passing the threshold from a small snapshot, want 1 (compacted)", n)
	}
	// 20 uploads of 5 KB: each passes the threshold, none the snapshot.
	for i := range 20 {
		wantReply(t, "a small file", sg.say(nmproto.AddFileToVessel, "f"+strconv.Itoa(i), strings.Repeat("s", 5000)), "\nSuccess")
	}
	if n := records(); n < 21 {
		t.Fatalf("%d records: 270 KB of files in the snapshot were rewritten for 130 KB of records", n)
	}
	// Past the snapshot's size, it is compacted.
	wantReply(t, "another large file", sg.say(nmproto.AddFileToVessel, "big2", strings.Repeat("c", 200_000)), "\nSuccess")
	if n := records(); n != 1 {
		t.Fatalf("%d records after outgrowing the snapshot, want 1 (compacted)", n)
	}
}
