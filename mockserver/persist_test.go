package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

func withCompactBytes(n int64) Option {
	return option(func(c *config) error {
		c.compactBytes = n
		return nil
	})
}

// frozen returns options for a clock frozen at t.
func frozen(t time.Time) []Option {
	return []Option{WithClock(func() time.Time { return t }), WithTimeScale(0)}
}

func openState(t *testing.T, path string, opts ...Option) *Server {
	t.Helper()
	s, err := Open(context.Background(), path, append(frozen(t0), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reopen closes s, which must succeed, and opens its state file at path
// again. The new server is closed at cleanup.
func reopen(t *testing.T, s *Server, path string) *Server {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := openState(t, path)
	t.Cleanup(func() { r.Close() })
	return r
}

// reopenSame is reopen that also checks that the new server shows what s
// showed.
func reopenSame(t *testing.T, s *Server, path string) *Server {
	t.Helper()
	want := view(t, s)
	r := reopen(t, s, path)
	compareViews(t, view(t, r), want)
	return r
}

// savedState makes a state file at path holding the account alice,
// closes it and returns alice and the file's bytes.
func savedState(t *testing.T, path string, opts ...Option) (mockapi.Account, []byte) {
	t.Helper()
	s := openState(t, path, opts...)
	a := addUser(t, s, "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a, data
}

// openCorrupt writes data to path and checks that Open refuses it with an
// error matching ErrCorruptState, which it returns.
func openCorrupt(t *testing.T, path string, data []byte) error {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), path, frozen(t0)...)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a corrupt state file")
	}
	if !errors.Is(err, ErrCorruptState) {
		t.Fatalf("Open: have %v, want an error matching ErrCorruptState", err)
	}
	return err
}

// openCopy opens a copy of the state file at path, as a server that was
// killed would leave it: the file alone must do. (The file itself stays
// locked by the server that still has it open.)
func openCopy(t *testing.T, path string, opts ...Option) *Server {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy")
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return openState(t, cp, opts...)
}

type snapshotView struct {
	Accounts []mockapi.Account
	Nodes    []mockapi.Node
	Vessels  []mockapi.Vessel
	Now      time.Time
}

func view(t *testing.T, s *Server) snapshotView {
	t.Helper()
	nodes, _ := listNodes(t, s, NodeFilter{})
	vs, _, err := s.Vessels(VesselFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return snapshotView{listAccounts(t, s), nodes, vs, s.Now()}
}

func compareViews(t *testing.T, have, want snapshotView) {
	t.Helper()
	if !reflect.DeepEqual(have.Accounts, want.Accounts) {
		t.Errorf("accounts differ:\nhave %+v\nwant %+v", have.Accounts, want.Accounts)
	}
	if !reflect.DeepEqual(have.Nodes, want.Nodes) {
		for i := range min(len(have.Nodes), len(want.Nodes)) {
			if !reflect.DeepEqual(have.Nodes[i], want.Nodes[i]) {
				t.Errorf("node %d differs:\nhave %+v\nwant %+v", i, have.Nodes[i], want.Nodes[i])
				break
			}
		}
		t.Errorf("nodes differ (%d, %d)", len(have.Nodes), len(want.Nodes))
	}
	if !reflect.DeepEqual(have.Vessels, want.Vessels) {
		t.Errorf("vessels differ")
	}
	if !have.Now.Equal(want.Now) {
		t.Errorf("clock: have %v, want %v", have.Now, want.Now)
	}
}

// exercise makes a bit of everything happen on s.
func exercise(t *testing.T, s *Server) {
	t.Helper()
	ids := addNodes(t, s, "custom", append(sameSubnet("10.11.12", 4), natAddrs(2)...)...)
	if _, err := s.AddNode(mockapi.NodeSpec{ID: "odd", IP: "10.0.0.1", Port: 2888,
		Vessels: []mockapi.VesselSpec{{Name: "v7", Ports: []int{63100, 63101}}, {Name: "v12", Ports: []int{5000}}}}); err != nil {
		t.Fatal(err)
	}
	alice := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.FreeCredits = 30 })
	bob := addUser(t, s, "bob", func(a *mockapi.AccountSpec) { a.PrivateKey = ""; a.UserPort = 63142 })
	addUser(t, s, "carol", func(a *mockapi.AccountSpec) { a.Inactive = true })
	s.AddDonation(ids[0], "bob")
	gen, _ := listNodes(t, s, NodeFilter{Limit: 3})
	s.AddDonation(gen[0].ID, "alice")
	s.SetNodeBroken(gen[1].ID, true)
	s.SetNodeIP(gen[2].ID, "10.99.99.99")
	s.InjectFailure(ids[1], mockapi.Failure{Next: 3})
	s.InjectFailure(ids[2], mockapi.Failure{Always: true})
	s.SetCleanupDelay(time.Hour)
	got := acquire(t, s, alice, "wan", 5)
	acquire(t, s, alice, "lan", 2)
	acquire(t, s, bob, "random", 3)
	mustCall(t, s, "release_resources", auth(alice), []any{got[0]})
	s.Advance(time.Hour)
	mustCall(t, s, "renew_resources", auth(alice), []any{got[1]})
	acquire(t, s, bob, "nat", 1)
	mustCall(t, s, "acquire_specific_vessels", auth(alice), []any{"odd:v12"})
	key := mustCall(t, s, "regenerate_api_key", pwauth(bob)).(string)
	mustCall(t, s, "set_public_key", pwauth(alice), "3 5")
	mustCall(t, s, "get_account_info", map[string]any{"username": "bob", "api_key": key})
}

func TestPersistRoundTrip(t *testing.T) {
	t.Parallel()
	for _, closeFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("close=%v", closeFirst), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state")
			// The cleanup delay is a setting, not state: give it to every Open.
			hour := WithCleanupDelay(time.Hour)
			s := openState(t, path, hour, WithPopulation(PopulationConfig{Nodes: 60, NATFraction: 0.2, Seed: 9}))
			exercise(t, s)
			want := view(t, s)
			if closeFirst {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Account("alice"); !errors.Is(err, ErrClosed) {
					t.Fatalf("after Close: %v", err)
				}
				_, flt := call(t, s, "get_account_info", map[string]any{})
				wantFault(t, flt, 100, internalErrorText)
			} else {
				defer s.Close() // as if the process had died: the journal is all there is
			}
			// A different population option is ignored: the file is authoritative.
			var r *Server
			if closeFirst {
				r = openState(t, path, hour, WithPopulation(PopulationConfig{Nodes: 5}))
			} else {
				r = openCopy(t, path, hour, WithPopulation(PopulationConfig{Nodes: 5}))
				path = r.j.path
			}
			defer r.Close()
			compareViews(t, view(t, r), want)
			checkInvariants(t, r)
			// And it keeps working, and survives another restart.
			a, _ := r.Account("alice")
			acquire(t, r, a, "wan", 2)
			want = view(t, r)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			r2 := openState(t, path, hour)
			defer r2.Close()
			compareViews(t, view(t, r2), want)
		})
	}
}

func TestPersistSmallSnapshot(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 20000, NATFraction: 0.1, Seed: 1}))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 1024 {
		t.Fatalf("state file of an untouched generated population is %d bytes", fi.Size())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, want 0600 (it holds credentials)", fi.Mode().Perm())
	}
}

func TestPersistClock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := t0
	var mu sync.Mutex
	clock := WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return src })
	setSrc := func(t time.Time) { mu.Lock(); src = t; mu.Unlock() }

	// Scale 1: the offset set by SetTime survives, and leases run out
	// while the server is down.
	path := filepath.Join(dir, "scale1")
	s, err := Open(context.Background(), path, clock, WithPopulation(PopulationConfig{Nodes: 20, Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	s.SetTime(t0.Add(time.Hour))
	u := addUser(t, s, "alice")
	acquire(t, s, u, "wan", 3)
	s.Close()
	setSrc(t0.Add(5 * time.Hour))
	r, err := Open(context.Background(), path, clock)
	if err != nil {
		t.Fatal(err)
	}
	if have, want := r.Now(), t0.Add(6*time.Hour); !have.Equal(want) {
		t.Fatalf("scale 1 after restart: %v, want %v", have, want)
	}
	if held, _ := r.Holdings("alice"); len(held) != 0 {
		t.Fatalf("leases did not run out while down: %d held", len(held))
	}
	r.Close()

	// Any other scale resumes from the saved reading.
	setSrc(t0)
	path = filepath.Join(dir, "scale60")
	s, err = Open(context.Background(), path, clock, WithTimeScale(60), WithPopulation(PopulationConfig{Nodes: 20, Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	setSrc(t0.Add(time.Minute)) // an hour of mock time
	u = addUser(t, s, "alice")
	acquire(t, s, u, "wan", 3)
	saved := s.Now()
	s.Close()
	setSrc(t0.Add(24 * time.Hour))
	r, err = Open(context.Background(), path, clock, WithTimeScale(60))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if have := r.Now(); !have.Equal(saved) || !saved.Equal(t0.Add(time.Hour)) {
		t.Fatalf("scale 60 after restart: %v, want %v", have, saved)
	}
	if held, _ := r.Holdings("alice"); len(held) != 3 {
		t.Fatalf("%d held after restart, want 3", len(held))
	}
}

func TestPersistCorrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, data := savedState(t, filepath.Join(dir, "good"), WithPopulation(PopulationConfig{Nodes: 10, Seed: 1}))
	snapEnd := len(fileMagic) + strings.IndexByte(string(data[len(fileMagic):]), '\n')
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("hello, world\n")},
		{"other version", []byte(strings.Replace(string(data), "v2\n", "v9\n", 1))},
		{"header only", []byte(fileMagic)},
		{"cut in header", data[:10]},
		{"cut in snapshot", data[:snapEnd+20]},
		{"flipped byte", flip(data, snapEnd+30)},
		{"bad frame", append(slices.Clone(data), "xyz 12\n"...)},
		{"bad length", []byte(strings.Replace(string(data), "\n", "\n0", 1))},
		{"trailing junk", append(slices.Clone(data), "\x00\x01"...)},
		// A record that is all there in length but damaged was
		// acknowledged: zeros at its end are damage, not a crash's.
		{"final newline zeroed", append(slices.Clone(data[:len(data)-1]), 0)},
		{"final record's end zeroed", append(slices.Clone(data[:len(data)-5]), 0, 0, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			err := openCorrupt(t, path, tt.data)
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func flip(data []byte, i int) []byte {
	out := slices.Clone(data)
	out[i] ^= 0x20
	return out
}

func TestPersistTornTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 10, Seed: 1}))
	u := addUser(t, s, "alice")
	first := acquire(t, s, u, "wan", 1)
	before, _ := os.ReadFile(path)
	acquire(t, s, u, "wan", 1)
	after, _ := os.ReadFile(path)
	defer s.Close()
	if len(after) <= len(before) {
		t.Fatal("the acquisition wrote nothing")
	}
	for _, tail := range [][]byte{
		after[:len(after)-1],                     // missing the final newline
		after[:len(before)+5],                    // cut inside the header
		after[:len(before)+15],                   // cut inside the payload
		append(slices.Clone(before), 0, 0, 0, 0), // zeros after a crash
		// Part of the record, and zeros the file system had not yet
		// filled when the crash came, up to the record's end at most.
		append(slices.Clone(after[:len(before)+5]), make([]byte, 20)...),
		append(slices.Clone(after[:len(before)+40]), make([]byte, len(after)-len(before)-41)...),
	} {
		p := filepath.Join(dir, "torn")
		os.WriteFile(p, tail, 0o600)
		r, err := Open(context.Background(), p, frozen(t0)...)
		if err != nil {
			t.Fatalf("torn tail of %d bytes: %v", len(tail)-len(before), err)
		}
		held, _ := r.Holdings("alice")
		if len(held) != 1 || held[0].Handle != first[0] {
			t.Fatalf("after dropping the torn record: %v", held)
		}
		// The torn bytes are gone and new records append cleanly.
		acquire(t, r, u, "wan", 2)
		r.Close()
		r, err = Open(context.Background(), p, frozen(t0)...)
		if err != nil {
			t.Fatal(err)
		}
		if held, _ := r.Holdings("alice"); len(held) != 3 {
			t.Fatalf("after reopening: %d held", len(held))
		}
		r.Close()
	}
}

func TestPersistCompaction(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 50, Seed: 2}), withCompactBytes(4096))
	u := addUser(t, s, "alice")
	maxSize := int64(0)
	for range 100 {
		got := acquire(t, s, u, "random", 3)
		mustCall(t, s, "release_resources", auth(u), anyList(got[:2]))
		if fi, err := os.Stat(path); err == nil {
			maxSize = max(maxSize, fi.Size())
		}
		mustCall(t, s, "release_resources", auth(u), anyList(got[2:]))
	}
	if maxSize > 3*4096 {
		t.Fatalf("the journal grew to %d bytes with a 4096-byte threshold", maxSize)
	}
	acquire(t, s, u, "wan", 4)
	want := view(t, s)
	r := openCopy(t, path) // while s is still open: the file alone must do
	compareViews(t, view(t, r), want)
	r.Close()
	s.Close()
}

func TestPersistReset(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 30, Seed: 2}))
	u := addUser(t, s, "alice")
	acquire(t, s, u, "wan", 4)
	s.AddNode(mockapi.NodeSpec{ID: "extra", IP: "1.2.3.4"})
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	addUser(t, s, "bob")
	want := view(t, s)
	if len(want.Accounts) != 1 || len(want.Nodes) != 30 {
		t.Fatalf("after Reset: %d accounts, %d nodes", len(want.Accounts), len(want.Nodes))
	}
	r := openCopy(t, path)
	defer r.Close()
	compareViews(t, view(t, r), want)
	s.Close()
}

func TestPersistConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 300, NATFraction: 0.1, Seed: 4}),
		withCompactBytes(16<<10))
	var users []mockapi.Account
	for i := range 8 {
		users = append(users, addUser(t, s, fmt.Sprintf("user%d", i), func(a *mockapi.AccountSpec) { a.UserPort = 0 }))
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			for i := range 20 {
				res, flt := call(t, s, "acquire_resources", auth(u), rspec([]string{"wan", "random", "nat", "lan"}[i%4], int64(2)))
				if flt != nil {
					continue
				}
				hs := handlesOf(t, res)
				if i%3 == 0 {
					mustCall(t, s, "release_resources", auth(u), anyList(hs))
				} else {
					mustCall(t, s, "renew_resources", auth(u), anyList(hs))
				}
			}
		})
	}
	wg.Wait()
	want := view(t, s)
	r := openCopy(t, path)
	compareViews(t, view(t, r), want)
	r.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r = openState(t, path)
	defer r.Close()
	compareViews(t, view(t, r), want)
	checkInvariants(t, r)
}

// TestPersistKilled runs a stream of calls in a child process, kills it
// with SIGKILL, and checks that every acknowledged call survived.
func TestPersistKilled(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		testskip.Platform.Skipf(t, "needs SIGKILL and a subprocess")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 400, NATFraction: 0.1, Seed: 6}))
	u := addUser(t, s, "alice", func(a *mockapi.AccountSpec) { a.FreeCredits = 10000 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPersistKilledHelper$")
	cmd.Env = append(os.Environ(), "MOCKSERVER_KILL_STATE="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that fails leaves no helper running, and a helper that hangs
	// is killed, which ends the read below: the package cannot hang.
	watchdog := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	t.Cleanup(func() { watchdog.Stop(); cmd.Process.Kill(); cmd.Wait() })
	// The helper releases its oldest vessel every third call; queue
	// mirrors its list, so the parent knows what an unacknowledged call in
	// flight at the kill could have changed.
	var queue []string
	released := map[string]bool{}
	acks := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "|")
		switch f[0] {
		case "A":
			queue = append(queue, f[1:]...)
		case "R":
			if len(queue) == 0 || queue[0] != f[1] {
				t.Fatalf("the helper released %s out of order", shorten(f[1]))
			}
			queue = queue[1:]
			released[f[1]] = true
		default:
			continue
		}
		if acks++; acks == 120 {
			cmd.Process.Kill() // SIGKILL; lines already written are still read
		}
	}
	cmd.Wait()
	if acks < 120 {
		t.Fatalf("the helper acknowledged only %d calls", acks)
	}
	r := openState(t, path)
	defer r.Close()
	checkInvariants(t, r)
	have := map[string]bool{}
	vs, _ := r.Holdings(u.Username)
	for _, v := range vs {
		have[v.Handle] = true
	}
	var missing, extra []string
	for _, h := range queue {
		if !have[h] {
			missing = append(missing, h)
		}
	}
	for h := range have {
		if released[h] {
			t.Errorf("acknowledged release of %s lost", shorten(h))
		}
		if !slices.Contains(queue, h) {
			extra = append(extra, h)
		}
	}
	// At most one call was in flight: an acquisition (up to two vessels
	// more) or the release of the oldest vessel (one less).
	switch {
	case len(missing) == 0 && len(extra) <= 2:
	case len(missing) == 1 && len(extra) == 0 && missing[0] == queue[0]:
	default:
		t.Errorf("after restart %d acknowledged vessels are missing and %d unacknowledged ones held", len(missing), len(extra))
	}
	t.Logf("%d acknowledged calls, %d vessels held after restart", acks, len(have))
}

// TestPersistKilledHelper is the child process of TestPersistKilled.
func TestPersistKilledHelper(t *testing.T) {
	path := os.Getenv("MOCKSERVER_KILL_STATE")
	if path == "" {
		testskip.ChildProcess.Skipf(t, "runs only as TestPersistKilled's child")
	}
	// Released vessels stay dirty, so an unacknowledged call can never
	// take back one whose release was acknowledged.
	s, err := Open(context.Background(), path, append(frozen(t0), WithCleanupDelay(24*time.Hour))...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	u, err := s.Account("alice")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mine []string
	for i := 0; ; i++ {
		if i%3 == 2 && len(mine) > 0 {
			h := mine[0]
			mine = mine[1:]
			if _, err := s.Call(t.Context(), "release_resources", auth(u), []any{h}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			fmt.Printf("R|%s\n", h)
			continue
		}
		res, err := s.Call(t.Context(), "acquire_resources", auth(u), rspec("random", int64(2)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		hs := handlesOf(t, res)
		mine = append(mine, hs...)
		fmt.Printf("A|%s\n", strings.Join(hs, "|"))
	}
}

// TestOpenCancelled cancels Open while it generates the largest population,
// for a new state file and for one it replays: it must return the
// context's error promptly, write nothing and release the lock.
func TestOpenCancelled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := WithPopulation(PopulationConfig{Nodes: MaxPopulation, NATFraction: 0.1, Seed: 1})
	existing := filepath.Join(dir, "existing")
	// A stored population is its parameters: this file is small, but
	// replaying it generates a million nodes.
	if err := os.WriteFile(existing, appendFrame([]byte(fileMagic), mustMarshal(record{
		Type: "snapshot", Population: &populationRecord{Version: populationVersion, Nodes: MaxPopulation, NATFraction: 0.1, Seed: 1},
	})), 0o600); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(existing)
	for _, path := range []string{"", filepath.Join(dir, "new"), existing} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		s, err := Open(ctx, path, big)
		took := time.Since(start)
		if err == nil {
			s.Close()
			t.Fatalf("%q: Open finished in %v despite the cancellation; the test proves nothing", path, took)
		}
		if !errors.Is(err, context.Canceled) || took > 2*time.Second {
			t.Errorf("%q: have %v after %v, want context.Canceled within 2s", path, err, took)
		}
		if path == "" {
			continue
		}
		if have, err := os.ReadFile(path); path == existing && string(have) != string(want) {
			t.Errorf("%s changed", path)
		} else if path != existing && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was created: %v", path, err)
		}
		l, f, err := lockState(path)
		if err != nil {
			t.Fatalf("%s: the cancelled Open kept the lock: %v", path, err)
		}
		if f != nil {
			f.Close()
		}
		l.release()
	}
}

// frameSpan is where a record sits in a state file, found without the
// package's parser: its header line starts at start, and the decimal
// length that opens the header runs from start to lenEnd.
type frameSpan struct{ start, lenEnd, end int }

// frameSpans splits a well-formed state file into its records.
func frameSpans(t *testing.T, data []byte) []frameSpan {
	t.Helper()
	var spans []frameSpan
	pos := bytes.IndexByte(data, '\n') + 1 // after the file's header line
	for pos < len(data) {
		nl := bytes.IndexByte(data[pos:], '\n')
		sp := bytes.IndexByte(data[pos:], ' ')
		if nl < 0 || sp < 0 || sp > nl {
			t.Fatalf("no record header at byte %d", pos)
		}
		n, err := strconv.Atoi(string(data[pos : pos+sp]))
		if err != nil {
			t.Fatalf("record header at byte %d: %v", pos, err)
		}
		end := pos + nl + 1 + n + 1
		spans = append(spans, frameSpan{pos, pos + sp, end})
		pos = end
	}
	return spans
}

// TestPersistDamagedLengthRefused is the journal as a server killed with
// SIGKILL after five acknowledged acquisitions leaves it (everything
// fsynced; the server never closed), with one digit of one record's length
// raised. No record but a final one cut short by a crash may be dropped:
// Open must refuse, name the file, the record and its byte offset, and
// leave the file exactly as it was.
func TestPersistDamagedLengthRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 20, Seed: 3}))
	t.Cleanup(func() { s.Close() })
	u := addUser(t, s, "alice")
	for range 5 {
		acquire(t, s, u, "wan", 1)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	spans := frameSpans(t, data)
	if len(spans) != 7 {
		t.Fatalf("%d records, want 7 (snapshot, account, five acquisitions)", len(spans))
	}
	for _, rec := range []int{2, 4, 7} { // the account, an acquisition in the middle, the last one
		t.Run(fmt.Sprint("record ", rec), func(t *testing.T) {
			sp := spans[rec-1]
			damaged := slices.Clone(data)
			if damaged[sp.start] == '9' {
				damaged[sp.start] = '8'
			} else {
				damaged[sp.start] = '9'
			}
			p := filepath.Join(dir, fmt.Sprint("damaged", rec))
			if err := os.WriteFile(p, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			// A compaction's leftover may be what repairs the damage.
			leftover := filepath.Join(dir, fmt.Sprintf(".damaged%d.tmp1", rec))
			if err := os.WriteFile(leftover, []byte("a snapshot"), 0o600); err != nil {
				t.Fatal(err)
			}
			before, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Open(context.Background(), p, frozen(t0)...)
			if err == nil {
				held, _ := r.Holdings("alice")
				r.Close()
				t.Fatalf("Open accepted a state file whose record %d has a damaged length (%d of 5 acknowledged vessels held)", rec, len(held))
			}
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("have %v, want an error matching ErrCorruptState", err)
			}
			for _, want := range []string{p, fmt.Sprint("record ", rec), fmt.Sprint("byte offset ", sp.start)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			after, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, damaged) {
				t.Errorf("the refused file was changed: %d bytes, were %d", len(after), len(damaged))
			}
			if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(before.ModTime()) || !os.SameFile(fi, before) {
				t.Errorf("the refused file was rewritten or touched: %v", err)
			}
			if _, err := os.Stat(leftover); err != nil {
				t.Errorf("a temporary file beside the refused file was removed: %v", err)
			}
		})
	}
}

// TestPersistClockMovedLast moves a frozen clock with the last call
// before the server dies: the state file must give the moved clock back,
// not the reading from before the move.
func TestPersistClockMovedLast(t *testing.T) {
	t.Parallel()
	for name, move := range map[string]func(s *Server) error{
		"Advance": func(s *Server) error { return s.Advance(time.Hour) },
		"SetTime": func(s *Server) error { return s.SetTime(t0.Add(time.Hour)) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state")
			s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))
			t.Cleanup(func() { s.Close() })
			must(t, move(s))
			r := openCopy(t, path) // as a killed server leaves the file
			defer r.Close()
			if have, want := r.Now(), t0.Add(time.Hour); !have.Equal(want) {
				t.Fatalf("clock after a restart: have %v, want %v", have, want)
			}
		})
	}
}

// TestPersistCleanupThenNodeBroken: a released vessel is cleaned as the
// clock passes its cleanup time (not journaled: the file keeps the times),
// and then its node breaks, which stops cleaning on it. A restart must
// show the vessel clean, as the server did, not dirty because the node is
// broken when the file is replayed.
func TestPersistCleanupThenNodeBroken(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state")
	s := openState(t, path, WithPopulation(PopulationConfig{Nodes: 5, Seed: 1}))
	t.Cleanup(func() { s.Close() })
	u := addUser(t, s, "alice")
	got := acquire(t, s, u, "wan", 1)
	mustCall(t, s, "release_resources", auth(u), []any{got[0]})
	mustCall(t, s, "get_account_info", auth(u)) // cleans it: the cleanup delay is 0
	node, _, _ := strings.Cut(got[0], ":v")
	must(t, s.SetNodeBroken(node, true))
	want := view(t, s)
	r := openCopy(t, path) // as a killed server leaves the file
	defer r.Close()
	compareViews(t, view(t, r), want)
}
