package main

import (
	"context"
	"flag"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/syncbuf"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the frozen time of the test mock.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Fixed credentials, so that outputs are deterministic. They are test
// values for an in-process mock, not secrets.
const (
	aliceKey      = "ALICEKEY0123456789ABCDEFGHIJKLMN"
	alicePassword = "alice-password-1"
	bobKey        = "BOBKEY00123456789ABCDEFGHIJKLMNO"
	bobPassword   = "bob-password-22"
)

// testKeys are two 512-bit Seattle key pairs from fixed seeds: [i][0] is
// the public key, [i][1] the private key.
var testKeys = sync.OnceValue(func() [2][2]string {
	var out [2][2]string
	for i := range out {
		pub, priv, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{byte(i + 1)}), 512)
		if err != nil {
			panic(err)
		}
		out[i] = [2]string{pub.String(), priv.String()}
	}
	return out
})

// fixture is a mock clearinghouse served over HTTP on 127.0.0.1 with two
// accounts, alice (10 credits) and bob (2 credits), and a creds file
// describing both.
type fixture struct {
	mock  *mockserver.Server
	srv   *httptest.Server
	url   string
	dir   string
	creds string
	alice mockapi.Account
	bob   mockapi.Account
}

func newFixture(t *testing.T, opts ...mockserver.Option) *fixture {
	t.Helper()
	base := []mockserver.Option{
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 60, NATFraction: 0.1, Seed: 42}),
		mockserver.WithSeed(7),
		mockserver.WithClock(func() time.Time { return t0 }),
		mockserver.WithTimeScale(0),
		mockserver.WithKeyBits(512),
	}
	mock, err := mockserver.Open(context.Background(), "", append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	keys := testKeys()
	f := &fixture{mock: mock, dir: t.TempDir()}
	f.alice = f.addAccount(t, mockapi.AccountSpec{
		Username: "alice", Password: alicePassword, Affiliation: "Test University", APIKey: aliceKey,
		PublicKey: keys[0][0], PrivateKey: keys[0][1], UserPort: 63100,
	})
	f.bob = f.addAccount(t, mockapi.AccountSpec{
		Username: "bob", Password: bobPassword, Affiliation: "Other College", APIKey: bobKey,
		PublicKey: keys[1][0], PrivateKey: keys[1][1], UserPort: 63110, FreeCredits: 2,
	})
	f.srv = httptest.NewServer(mock)
	t.Cleanup(f.srv.Close)
	f.url = f.srv.URL + "/xmlrpc/"
	f.creds = f.writeCreds(t, "creds.json", "", f.alice, f.bob)
	return f
}

func (f *fixture) addAccount(t *testing.T, spec mockapi.AccountSpec) mockapi.Account {
	t.Helper()
	a, err := f.mock.AddAccount(spec)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// writeCreds writes a creds file in the -creds-out format.
func (f *fixture) writeCreds(t *testing.T, name, caFile string, accts ...mockapi.Account) string {
	t.Helper()
	cf := credsfile.File{URL: f.url, CAFile: caFile}
	for _, a := range accts {
		cf.Accounts = append(cf.Accounts, credsfile.Account{Username: a.Username, Password: a.Password, APIKey: a.APIKey, PublicKey: a.PublicKey, PrivateKey: a.PrivateKey})
	}
	path := filepath.Join(f.dir, name)
	if err := credsfile.Write(path, &cf); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeFile writes a file in the fixture's directory with mode 0600.
func (f *fixture) writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(f.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// invocation describes one run of the command in a test.
type invocation struct {
	ctx    context.Context
	env    map[string]string
	stdin  io.Reader
	now    time.Time // zero: the real clock
	tty    *bool
	stdout io.Writer // nil: captured in result
	stderr io.Writer // nil: captured in result
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout:\n" + r.stdout + "--- stderr:\n" + r.stderr
}

// exec runs the command as main would, but with the environment, stdin
// and clock of inv.
func exec(t *testing.T, inv invocation, args ...string) result {
	t.Helper()
	ctx := inv.ctx
	if ctx == nil {
		ctx = t.Context()
	}
	stdin := inv.stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr syncbuf.Buffer
	var out io.Writer = &stdout
	if inv.stdout != nil {
		out = inv.stdout
	}
	var errw io.Writer = &stderr
	if inv.stderr != nil {
		errw = inv.stderr
	}
	a := &app{
		stdin: stdin, stdout: out, stderr: errw,
		getenv:      func(k string) string { return inv.env[k] },
		now:         time.Now,
		statusEvery: 20 * time.Millisecond,
		ttyOverride: inv.tty,
	}
	if !inv.now.IsZero() {
		a.now = func() time.Time { return inv.now }
	}
	code := a.main(ctx, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// run runs the command as alice through the creds file, with no other
// environment, and the mock's (frozen) time as "now".
func (f *fixture) run(t *testing.T, args ...string) result {
	t.Helper()
	return exec(t, invocation{now: f.mock.Now()}, append([]string{"--creds", f.creds, "--retries", "0"}, args...)...)
}

// runIn is run with stdin.
func (f *fixture) runIn(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return exec(t, invocation{now: f.mock.Now(), stdin: strings.NewReader(stdin)}, append([]string{"--creds", f.creds, "--retries", "0"}, args...)...)
}

// want checks the exit code and that stderr contains each of the
// fragments.
func want(t *testing.T, r result, code int, stderrHas ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("have exit %d, want %d\n%v", r.code, code, r)
	}
	for _, s := range stderrHas {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr does not contain %q\n%v", s, r)
		}
	}
}

// wantErr checks err against want: an error containing want, or no error
// if want is "". It reports whether an error was wanted, so that a table
// case can stop there.
func wantErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("have error %v, want %q", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}

// golden compares have with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, have string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(have), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(data) != have {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- have:\n%s\n--- want:\n%s", name, have, data)
	}
}

// holdings returns the handles alice holds according to the mock.
func (f *fixture) holdings(t *testing.T, user string) []string {
	t.Helper()
	vs, err := f.mock.Holdings(user)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Handle
	}
	return out
}

// acquire makes alice hold n vessels of typ through the command.
func (f *fixture) acquire(t *testing.T, typ string, n int) {
	t.Helper()
	r := f.run(t, "acquire", typ, strconv.Itoa(n))
	want(t, r, exitOK)
}
