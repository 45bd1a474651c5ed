package main

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/chconfig"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// goldenFixture sets up a varied, deterministic account: alice holds
// three WAN vessels and one NAT vessel, one of them renewed, one on a node
// that went inactive, 90 seconds after acquisition.
func goldenFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.acquire(t, "wan", 3)
	f.acquire(t, "nat", 1)
	vs, err := f.mock.Holdings("alice")
	if err != nil {
		t.Fatal(err)
	}
	want(t, f.run(t, "renew", vs[0].Handle), exitOK)
	if err := f.mock.Advance(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := f.mock.SetNodeActive(vs[1].NodeID, false); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGolden(t *testing.T) {
	t.Parallel()
	f := goldenFixture(t)
	for _, tc := range []struct {
		file string
		args []string
	}{
		{"list.txt", []string{"list"}},
		{"list.json", []string{"list", "--json"}},
		{"account.txt", []string{"account"}},
		{"account.json", []string{"account", "--json"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := f.run(t, tc.args...)
			want(t, r, exitOK)
			if r.stderr != "" {
				t.Errorf("unexpected stderr: %q", r.stderr)
			}
			golden(t, tc.file, strings.ReplaceAll(r.stdout, f.url, "http://127.0.0.1:PORT/xmlrpc/"))
		})
	}
}

// TestListJSONFields checks the JSON form against the mock's own view:
// full handles, seconds left on the mock's clock, expiry instant.
func TestListJSONFields(t *testing.T) {
	t.Parallel()
	f := goldenFixture(t)
	r := f.run(t, "list", "--json")
	want(t, r, exitOK)
	var out struct {
		Vessels []map[string]any `json:"vessels"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	held, _ := f.mock.Holdings("alice")
	if len(out.Vessels) != len(held) {
		t.Fatalf("have %d vessels, want %d", len(out.Vessels), len(held))
	}
	for i, v := range out.Vessels {
		h := held[i]
		if v["handle"] != h.Handle {
			t.Errorf("vessel %d: have handle %v, want %v", i, v["handle"], h.Handle)
		}
		left := h.Expires.Sub(f.mock.Now()) / time.Second
		if v["expires_in_seconds"] != float64(left) {
			t.Errorf("vessel %d: have expires_in_seconds %v, want %v", i, v["expires_in_seconds"], left)
		}
		if v["expires_at"] != h.Expires.UTC().Format(time.RFC3339) {
			t.Errorf("vessel %d: have expires_at %v, want %v", i, v["expires_at"], h.Expires.UTC().Format(time.RFC3339))
		}
		if v["is_active"] != h.NodeActive {
			t.Errorf("vessel %d: have is_active %v, want %v", i, v["is_active"], h.NodeActive)
		}
	}
}

func TestListEmpty(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run(t, "list")
	want(t, r, exitOK, "no vessels held")
	if r.stdout != "" {
		t.Errorf("have stdout %q, want none", r.stdout)
	}
	r = f.run(t, "list", "--json")
	want(t, r, exitOK)
	if strings.TrimSpace(r.stdout) != `{
  "vessels": []
}` {
		t.Errorf("have %q, want an empty list", r.stdout)
	}
}

func TestListWide(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "lan", 2)
	r := f.run(t, "list", "--wide")
	want(t, r, exitOK)
	for _, h := range f.holdings(t, "alice") {
		if !strings.Contains(r.stdout, h) {
			t.Errorf("--wide output lacks the full handle %q", h)
		}
	}
	r = f.run(t, "list")
	for _, h := range f.holdings(t, "alice") {
		if strings.Contains(r.stdout, h) {
			t.Errorf("short output contains the full handle %q", h)
		}
	}
}

func TestAccountOverLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 3)
	if err := f.mock.SetFreeCredits("alice", 1); err != nil {
		t.Fatal(err)
	}
	r := f.run(t, "account")
	want(t, r, exitOK)
	if !strings.Contains(r.stdout, "2 over the limit") {
		t.Errorf("account does not say it is over the limit:\n%v", r)
	}
	r = f.run(t, "account", "--json")
	var acct jsonAccount
	if err := json.Unmarshal([]byte(r.stdout), &acct); err != nil {
		t.Fatal(err)
	}
	if acct.FreeCredits != -2 || acct.VesselsHeld != 3 || acct.MaxVessels != 1 {
		t.Errorf("have %+v, want 3 held of 1, free -2", acct)
	}
}

func TestAcquire(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"wan", []string{"acquire", "wan", "2"}, exitOK, "acquired 2 vessels (wan)"},
		{"upper case type", []string{"acquire", "LAN", "1"}, exitOK, "acquired 1 vessel (lan)"},
		{"flags after args", []string{"acquire", "random", "1", "--json"}, exitOK, "acquired 1 vessel"},
		{"not enough credits", []string{"acquire", "wan", "7"}, exitCredits, "release vessels with `clearinghouse release"},
		{"unknown type", []string{"acquire", "wlan", "2"}, exitUsage, "TYPE is one of lan, wan, nat and random"},
		{"bad count", []string{"acquire", "wan", "two"}, exitUsage, "N must be a whole number"},
		{"zero", []string{"acquire", "wan", "0"}, exitUsage, "at least 1"},
		{"negative", []string{"acquire", "wan", "-1"}, exitUsage, "N must be a whole number of vessels, at least 1 (got \"-1\")"},
		{"negative before a flag", []string{"acquire", "wan", "-3", "--json"}, exitUsage, "N must be a whole number of vessels, at least 1 (got \"-3\")"},
		{"missing N", []string{"acquire", "wan"}, exitUsage, "acquire takes TYPE and N"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want(t, f.run(t, tc.args...), tc.code, tc.msg)
		})
	}
	if n := len(f.holdings(t, "alice")); n != 4 {
		t.Errorf("alice holds %d vessels, want 4", n)
	}
}

func TestAcquireUnable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.mock.SetFreeCredits("alice", 1000); err != nil {
		t.Fatal(err)
	}
	// 60 nodes with 8 vessels each, 6 of them behind NAT: 48 NAT vessels.
	r := f.run(t, "acquire", "nat", "49")
	want(t, r, exitUnable, "not enough suitable vessels are free")
	if r.stdout != "" {
		t.Errorf("stdout on failure: %q", r.stdout)
	}
}

func TestAcquireJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run(t, "--json", "acquire", "wan", "2")
	want(t, r, exitOK)
	var out struct {
		Vessels []jsonVessel `json:"vessels"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%v", err, r)
	}
	if len(out.Vessels) != 2 || out.Vessels[0].ExpiresInSeconds != 4*3600 ||
		out.Vessels[0].ExpiresAt != t0.Add(4*time.Hour).Format(time.RFC3339) {
		t.Errorf("unexpected JSON: %+v", out)
	}
}

func TestAcquireSpecific(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 3)
	held := f.holdings(t, "alice")
	want(t, f.run(t, "release", "--all"), exitOK)

	r := f.run(t, "acquire-specific", held[0], held[1])
	want(t, r, exitOK, "acquired 2 vessels of 2")
	if got := f.holdings(t, "alice"); !slices.Equal(got, held[:2]) {
		t.Errorf("holds %q, want %q", got, held[:2])
	}
	// One held already (skipped by the clearinghouse), one free.
	r = f.run(t, "acquire-specific", held[0], held[2])
	want(t, r, exitOK, "acquired 1 vessel of 2", "not acquired")
	// All held: nothing acquired.
	r = f.run(t, "acquire-specific", held[0])
	want(t, r, exitUnable, "none of the 1 vessel could be acquired")
	// Handles from stdin.
	want(t, f.run(t, "release", "--all"), exitOK)
	r = f.runIn(t, "# mine\n"+held[0]+"\n\n"+held[1]+"\n", "acquire-specific", "-")
	want(t, r, exitOK, "acquired 2 vessels of 2")
	// A malformed handle is the clearinghouse's invalid request.
	r = f.run(t, "acquire-specific", "no-colon-here")
	want(t, r, exitInvalid, "Invalid vesselhandle")
	want(t, f.run(t, "acquire-specific"), exitUsage, "at least one HANDLE")
}

func TestRenew(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 3)
	held, _ := f.mock.Holdings("alice")
	short := ellipsis + held[0].NodeID[len(held[0].NodeID)-shortSuffix:] + ":" + held[0].Name

	r := f.run(t, "renew", short)
	want(t, r, exitOK, "renewed 1 vessel, now expiring in 7d0h")
	after, _ := f.mock.Holdings("alice")
	if !after[0].Expires.Equal(t0.Add(7*24*time.Hour)) || !after[1].Expires.Equal(t0.Add(4*time.Hour)) {
		t.Errorf("renewed the wrong vessels: %v, %v", after[0].Expires, after[1].Expires)
	}
	if !strings.Contains(r.stdout, short) || strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("renew should list the renewed vessel:\n%v", r)
	}

	f.mock.Advance(time.Hour)
	want(t, f.run(t, "renew", "--all"), exitOK, "renewed 3 vessels")
	after, _ = f.mock.Holdings("alice")
	for _, v := range after {
		if !v.Expires.Equal(t0.Add(time.Hour + 7*24*time.Hour)) {
			t.Errorf("%s expires %v after renew --all", v.Handle, v.Expires)
		}
	}

	// A handle of a vessel not held is reported and skipped; with none
	// held, it is a usage error (TestHandleNotHeldOneRule has more).
	bobs := f.bobAcquires(t)
	r = f.run(t, "renew", held[1].Handle, bobs[0])
	want(t, r, exitOK, "not held by alice, skipped")
	r = f.run(t, "renew", bobs[0])
	want(t, r, exitUsage, "none of the given vessels is held by alice")

	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"nothing", []string{"renew"}, "needs --all or at least one HANDLE"},
		{"both", []string{"renew", "--all", short}, "not both"},
		{"no match", []string{"renew", "...00000000:v9"}, "none of the given vessels is held by alice"},
		{"not a handle", []string{"renew", "v2"}, "is not a vessel handle"},
		{"ambiguous", []string{"renew", ":" + held[0].Name}, "matches 3 of your vessels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want(t, f.run(t, tc.args...), exitUsage, tc.msg)
		})
	}

	// Over the credit limit, the clearinghouse refuses renewals.
	if err := f.mock.SetFreeCredits("alice", 1); err != nil {
		t.Fatal(err)
	}
	want(t, f.run(t, "renew", "--all"), exitCredits, "more vessels than its credits allow")
}

// bobAcquires makes bob hold a vessel and returns his handles.
func (f *fixture) bobAcquires(t *testing.T) []string {
	t.Helper()
	r := f.run(t, "--account", "bob", "acquire", "random", "1")
	want(t, r, exitOK)
	return f.holdings(t, "bob")
}

func TestRenewNothingHeld(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	want(t, f.run(t, "renew", "--all"), exitOK, "nothing to renew")
	r := f.run(t, "release", "--all")
	want(t, r, exitOK)
	if !strings.Contains(r.stdout, "nothing to release") {
		t.Errorf("have %q", r.stdout)
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 4)
	held, _ := f.mock.Holdings("alice")
	short := ellipsis + held[0].NodeID[len(held[0].NodeID)-shortSuffix:] + ":" + held[0].Name

	r := f.run(t, "release", short)
	want(t, r, exitOK)
	if r.stdout != "released 1 vessel: "+short+"\n" {
		t.Errorf("have stdout %q", r.stdout)
	}
	r = f.runIn(t, held[1].Handle+"\n", "release", "--json", "-")
	want(t, r, exitOK)
	var out struct{ Released []string }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !slices.Equal(out.Released, []string{held[1].Handle}) {
		t.Errorf("have %q (%v)", r.stdout, err)
	}
	want(t, f.run(t, "release", "--all"), exitOK)
	if n := len(f.holdings(t, "alice")); n != 0 {
		t.Errorf("alice still holds %d vessels", n)
	}
	want(t, f.run(t, "release"), exitUsage, "needs --all")
	want(t, f.run(t, "release", "--all", "x:y"), exitUsage, "not both")
}

func TestPublicKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run(t, "public-key")
	want(t, r, exitOK)
	if r.stdout != f.alice.PublicKey+"\n" {
		t.Errorf("have %q", r.stdout)
	}
	r = f.run(t, "public-key", "--json")
	var out struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.PublicKey != f.alice.PublicKey {
		t.Errorf("have %q (%v)", r.stdout, err)
	}
	want(t, f.run(t, "public-key", "extra"), exitUsage, "takes no arguments")
}

func TestRegenerateAPIKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.runIn(t, alicePassword+"\n", "regenerate-api-key", "--password-stdin")
	want(t, r, exitOK, "the old API key no longer works")
	key := strings.TrimSpace(r.stdout)
	acct, _ := f.mock.Account("alice")
	if key != acct.APIKey || key == aliceKey {
		t.Fatalf("printed %q; the mock has %q", key, acct.APIKey)
	}
	// The creds file's key is now stale...
	want(t, f.run(t, "list"), exitAuth, "regenerate-api-key")
	// ... and the new one works, from the environment.
	r = exec(t, invocation{env: map[string]string{chconfig.EnvURL: f.url, chconfig.EnvUsername: "alice", chconfig.EnvAPIKey: key}}, "list")
	want(t, r, exitOK)

	// JSON, and a password with a CRLF ending.
	r = f.runIn(t, alicePassword+"\r\n", "regenerate-api-key", "--password-stdin", "--json")
	want(t, r, exitOK)
	var out struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.APIKey) < 10 {
		t.Errorf("have %q (%v)", r.stdout, err)
	}

	want(t, f.runIn(t, "wrong-password\n", "regenerate-api-key", "--password-stdin"), exitAuth, "password for user alice was not accepted")
	want(t, f.runIn(t, "", "regenerate-api-key", "--password-stdin"), exitUsage, "no password on stdin")
	// A pipe is not a terminal: the password is not read from it without
	// the explicit flag.
	want(t, f.runIn(t, alicePassword+"\n", "regenerate-api-key"), exitUsage, "stdin is not a terminal", "--password-stdin")
}

// TestPasswordCommandsNeedNoKey: regenerate-api-key recovers a lost API
// key, so it must work with only a username and the password.
func TestPasswordCommandsNeedNoKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	env := map[string]string{chconfig.EnvURL: f.url, chconfig.EnvUsername: "bob"}
	r := exec(t, invocation{env: env, stdin: strings.NewReader(bobPassword + "\n")}, "regenerate-api-key", "--password-stdin")
	want(t, r, exitOK)
	// But commands that need the key say how to give it.
	r = exec(t, invocation{env: env}, "list")
	want(t, r, exitUsage, "no API key or private key for user bob", chconfig.EnvAPIKey)
}

func TestSetPublicKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	newPub := testKeys()[1][0]
	r := f.runIn(t, alicePassword+"\n", "set-public-key", newPub, "--password-stdin")
	want(t, r, exitOK, "public key of alice replaced")
	if acct, _ := f.mock.Account("alice"); acct.PublicKey != newPub {
		t.Errorf("the mock has %q", acct.PublicKey)
	}
	// From a file.
	file := f.writeFile(t, "alice.publickey", f.alice.PublicKey+"\n")
	want(t, f.runIn(t, alicePassword+"\n", "set-public-key", "--file", file, "--password-stdin"), exitOK)
	if acct, _ := f.mock.Account("alice"); acct.PublicKey != f.alice.PublicKey {
		t.Errorf("the mock has %q", acct.PublicKey)
	}

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"wrong password", "nope-nope\n", []string{newPub, "--password-stdin"}, exitAuth, "password for user alice was not accepted"},
		{"bad key", alicePassword + "\n", []string{"12 x", "--password-stdin"}, exitUsage, "not a valid public key"},
		{"private key given", alicePassword + "\n", []string{testKeys()[1][1], "--password-stdin"}, exitUsage, "looks like a private key"},
		{"both sources", alicePassword + "\n", []string{newPub, "--file", file, "--password-stdin"}, exitUsage, "not both"},
		{"no key", alicePassword + "\n", []string{"--password-stdin"}, exitUsage, "needs the key"},
		{"stdin twice", newPub + "\n", []string{"--file", "-", "--password-stdin"}, exitUsage, "cannot both read stdin"},
		{"missing file", "", []string{"--file", f.dir + "/none", "--password-stdin"}, exitUsage, "reading the public key"},
		{"no terminal", alicePassword + "\n", []string{newPub}, exitUsage, "stdin is not a terminal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.runIn(t, tc.stdin, append([]string{"set-public-key"}, tc.args...)...)
			want(t, r, tc.code, tc.msg)
			if strings.Contains(r.stdout+r.stderr, alicePassword) {
				t.Errorf("the password was printed:\n%v", r)
			}
		})
	}
}

func TestAuthFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	env := map[string]string{chconfig.EnvURL: f.url, chconfig.EnvUsername: "alice", chconfig.EnvAPIKey: "WRONGKEY"}
	for _, cmd := range [][]string{{"account"}, {"list"}, {"acquire", "wan", "1"}, {"renew", "--all"}, {"release", "--all"}, {"public-key"}, {"keep"}} {
		t.Run(cmd[0], func(t *testing.T) {
			r := exec(t, invocation{env: env}, cmd...)
			want(t, r, exitAuth, "authentication failed", "check the username", chconfig.EnvAPIKey)
		})
	}
	// An inactive (banned) account looks the same.
	f.mock.SetAccountActive("bob", false)
	want(t, f.run(t, "--account", "bob", "list"), exitAuth)
}

func TestCommunicationFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.Close()
	for _, cmd := range [][]string{{"account"}, {"list"}, {"acquire", "wan", "1"}, {"acquire-specific", "a b:v2"}, {"renew", "--all"}, {"release", "--all"}, {"public-key"}, {"keep"}} {
		t.Run(cmd[0], func(t *testing.T) {
			want(t, f.run(t, cmd...), exitCommunication, "communication failed", "(the URL is from creds file "+f.creds+"); is the mock that wrote it still running?")
		})
	}
	r := f.runIn(t, alicePassword+"\n", "regenerate-api-key", "--password-stdin")
	want(t, r, exitCommunication)
	// Not an XML-RPC endpoint at all.
	f2 := newFixture(t)
	want(t, exec(t, invocation{}, "--creds", f2.creds, "--url", f2.srv.URL+"/nothing-here", "list"), exitCommunication, "did not answer like a clearinghouse")
}

func TestTLS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tlsSrv := httptestTLS(t, f.mock)
	url := tlsSrv.URL + "/xmlrpc/"
	ca := f.writeFile(t, "ca.pem", tlsCAPEM(t, tlsSrv))

	r := exec(t, invocation{}, "--creds", f.creds, "--url", url, "--retries", "0", "list")
	want(t, r, exitCommunication, "--ca-file", "--insecure")
	want(t, exec(t, invocation{}, "--creds", f.creds, "--url", url, "--ca-file", ca, "list"), exitOK)
	want(t, exec(t, invocation{}, "--creds", f.creds, "--url", url, "--insecure", "list"), exitOK)
	// The CA file from the creds file, relative to it.
	f.url = url
	creds := f.writeCreds(t, "tls-creds.json", "ca.pem", f.alice)
	want(t, exec(t, invocation{}, "--creds", creds, "list"), exitOK)
	want(t, exec(t, invocation{env: map[string]string{chconfig.EnvCredsFile: creds}}, "list"), exitOK)
}

func TestInterrupted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := contextWithCancel(t)
	cancel()
	r := exec(t, invocation{ctx: ctx}, "--creds", f.creds, "list")
	want(t, r, exitInterrupted, "interrupted")
}

func TestUsage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no command", nil, "Usage:"},
		{"unknown command", []string{"lst"}, `unknown command "lst"`},
		{"unknown flag", []string{"list", "--bogus"}, "flag provided but not defined: -bogus"},
		{"unknown top flag", []string{"--bogus", "list"}, "flag provided but not defined"},
		{"extra args", []string{"list", "x"}, "list takes no arguments"},
		{"bad timeout", []string{"--timeout", "0s", "list"}, `--timeout must be a positive duration, such as 30s, 2m or 1h30m (got "0s")`},
		{"timeout without a unit", []string{"list", "--timeout", "5"}, `--timeout must be a positive duration, such as 30s, 2m or 1h30m (got "5")`},
		{"retries not a number", []string{"--retries", "x", "list"}, `--retries must be a whole number, 0 or more (got "x")`},
		{"negative retries", []string{"list", "--retries", "-1"}, `--retries must be a whole number, 0 or more (got "-1")`},
		{"retries with =", []string{"list", "--retries=2.5"}, `--retries must be a whole number, 0 or more (got "2.5")`},
		{"help of nothing", []string{"help", "nothing"}, `unknown command "nothing"`},
		{"missing creds file", []string{"--creds", "/nonexistent/creds.json", "list"}, "reading the creds file"},
		{"no username", []string{"--url", f.url, "list"}, "no username"},
		{"bad account", []string{"--creds", f.creds, "--account", "carol", "list"}, "no such account"},
		{"account index out of range", []string{"--creds", f.creds, "--account", "3", "list"}, "alice, bob"},
		{"account without a creds file", []string{"--url", f.url, "--account", "bob", "list"}, "--account bob needs a creds file"},
		{"user and account differ", []string{"--creds", f.creds, "--account", "bob", "--user", "alice", "list"}, "name different users"},
		{"missing key file", []string{"--url", f.url, "--user", "alice", "--api-key-file", "/nonexistent", "list"}, "reading the API key file"},
		{"bad private key file", []string{"--url", f.url, "--user", "alice", "--private-key-file", f.creds, "list"}, "private key file"},
		{"keep margin", []string{"--creds", f.creds, "keep", "--margin", "0s"}, `--margin must be a duration above 0 and below 7 days, such as 30m or 6h (got "0s")`},
		{"keep margin too long", []string{"--creds", f.creds, "keep", "--margin", "168h"}, `--margin must be a duration above 0 and below 7 days, such as 30m or 6h (got "168h")`},
		{"keep negative check interval", []string{"--creds", f.creds, "keep", "--check-interval", "-1s"}, `--check-interval must be a duration, 0 or more, such as 30s or 5m (got "-1s")`},
		{"keep check interval without a unit", []string{"--creds", f.creds, "keep", "--check-interval", "10"}, `--check-interval must be a duration, 0 or more, such as 30s or 5m (got "10")`},
		{"keep replace type", []string{"--creds", f.creds, "keep", "--replace", "lan2"}, "unknown vessel type"},
		{"keep both", []string{"--creds", f.creds, "keep", "--all", "x:y"}, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want(t, exec(t, invocation{}, tc.args...), exitUsage, tc.msg)
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := exec(t, invocation{}, "--help")
	want(t, r, exitOK)
	golden(t, "help/clearinghouse.txt", r.stdout)
	for _, want := range []string{"Exit codes:", "CLEARINGHOUSE_API_KEY", "no --api-key flag", "--password-stdin"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if h := exec(t, invocation{}, "-h"); h.stdout != r.stdout || h.code != exitOK {
		t.Errorf("-h differs from --help")
	}
	if h := exec(t, invocation{}, "help"); h.stdout != r.stdout || h.code != exitOK {
		t.Errorf("help differs from --help")
	}
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			r := exec(t, invocation{}, c.name, "--help")
			want(t, r, exitOK)
			if !strings.HasPrefix(r.stdout, "Usage: clearinghouse "+c.name+" ") || !strings.Contains(r.stdout, "Examples:") {
				t.Errorf("help of %s:\n%s", c.name, r.stdout)
			}
			golden(t, "help/"+c.name+".txt", r.stdout)
			if h := exec(t, invocation{}, c.name, "-h"); h.stdout != r.stdout {
				t.Errorf("-h differs from --help")
			}
			if h := exec(t, invocation{}, "help", c.name); h.stdout != r.stdout {
				t.Errorf("help %s differs from --help", c.name)
			}
		})
	}
}

// TestNoSecretsPrinted runs failing and succeeding commands and checks
// that no API key, password or private key shows up in their output.
func TestNoSecretsPrinted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	secrets := []string{aliceKey, alicePassword, f.alice.PrivateKey, bobKey, bobPassword, f.bob.PrivateKey, "URLSECRET"}
	keyFile := f.writeFile(t, "key", aliceKey+"\n")
	runs := [][]string{
		{"--creds", f.creds, "-v", "account"},
		{"--creds", f.creds, "-v", "list", "--json"},
		{"--creds", f.creds, "acquire", "wan", "100"},
		{"--creds", f.creds, "--url", "http://127.0.0.1:1/xmlrpc/", "--retries", "0", "list"},
		{"--creds", f.creds, "--url", "http://alice:URLSECRET@127.0.0.1:1/xmlrpc/", "--retries", "0", "-v", "list"},
		{"--url", f.url, "--user", "alice", "--api-key-file", keyFile, "-v", "list"},
		{"--url", f.url, "--user", "bob", "--api-key-file", keyFile, "list"},
		{"--creds", f.creds, "set-public-key", "1 2 3", "--password-stdin"},
	}
	for _, args := range runs {
		r := exec(t, invocation{stdin: strings.NewReader(alicePassword + "\n")}, args...)
		for _, s := range secrets {
			if strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("%q printed a secret:\n%v", args, r)
			}
		}
	}
}

func TestVerbose(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.run(t, "-v", "account")
	want(t, r, exitOK, "URL "+f.url+" (from creds file", "user alice (from username of account alice", "API key from api_key of account alice")
}

// TestMockMatchesFixture makes sure the fixture gives what the golden
// files assume, so that a change in the mock is reported here clearly.
func TestMockMatchesFixture(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.mock.Now() != t0 {
		t.Fatalf("mock clock %v, want %v", f.mock.Now(), t0)
	}
	nodes, total, err := f.mock.Vessels(mockserver.VesselFilter{Limit: 1})
	if err != nil || total != 60*8 || len(nodes) != 1 {
		t.Errorf("population: %d vessels (%v), want 480", total, err)
	}
}

// endlessHandles is a stdin that never ends: "h\n" again and again. It
// stops, and fails t, once the command has read twice maxHandleInput,
// so that a command that reads it without bound fails its test instead of
// eating the machine.
type endlessHandles struct {
	t    *testing.T
	read int64
}

func (e *endlessHandles) Read(p []byte) (int, error) {
	if e.read > 2*maxHandleInput {
		e.t.Errorf("the command read %d bytes of handles from stdin, past twice the limit of %d", e.read, maxHandleInput)
		return 0, io.EOF
	}
	for i := range p {
		p[i] = "h\n"[(e.read+int64(i))%2]
	}
	e.read += int64(len(p))
	return len(p), nil
}

// TestHandlesFromStdinBounded pipes an endless list of handles into each
// command that takes "-": a usage error once the input passes
// maxHandleInput, before any call.
func TestHandlesFromStdinBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, args := range [][]string{{"release", "-"}, {"renew", "-"}, {"acquire-specific", "-"}, {"keep", "-"}} {
		r := exec(t, invocation{stdin: &endlessHandles{t: t}, now: f.mock.Now()}, append([]string{"--creds", f.creds, "--retries", "0"}, args...)...)
		if want := "more than 4 MiB of handles on stdin"; r.code != exitUsage || !strings.Contains(r.stderr, want) {
			t.Errorf("%q: exit code %d, stderr %.300q; want %d and %q", args, r.code, r.stderr, exitUsage, want)
		}
	}
}
