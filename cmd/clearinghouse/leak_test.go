package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/clearinghouse/keeper"
	"github.com/seattletestbed/clearinghouse-go/internal/conformancetest"
	"github.com/seattletestbed/clearinghouse-go/internal/leaktest"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// TestHostileServer runs every command, again and again, against a
// server (leaktest.Echo in front of the mock) that echoes every string it
// is sent and the account's private key in its faults and reason phrases,
// padded across the cuts, with terminal escapes, a carriage return, U+009B
// and U+202E. The keys and passwords hold the characters quoting
// escapes. No form or piece of a secret, and no control character, may
// reach stdout or stderr.
func TestHostileServer(t *testing.T) {
	t.Parallel()
	mock, err := mockserver.New(
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 40, NATFraction: 0.1, Seed: 17}),
		mockserver.WithKeyBits(1024),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	f := &fixture{mock: mock, dir: t.TempDir()}
	alice := f.addAccount(t, mockapi.AccountSpec{Username: "alice", Password: `pw"\<&>` + rand.Text(),
		APIKey: (`K"3\Y<&>` + rand.Text())[:32], Affiliation: "Echo U"})
	bob := f.addAccount(t, mockapi.AccountSpec{Username: "bob", Password: `b"\<&>` + rand.Text(),
		APIKey: (`L0NG"KEY\with<angle>&amp;'quote'%2F+plus/` + rand.Text() + rand.Text() + rand.Text())[:100], Affiliation: "Echo U"})
	echo := &leaktest.Echo{Next: mock, Known: []string{alice.PrivateKey}}
	f.srv = httptest.NewServer(echo)
	t.Cleanup(f.srv.Close)
	f.url = f.srv.URL + "/xmlrpc/"
	creds := f.writeCreds(t, "creds.json", "", alice)
	bobCreds := f.writeCreds(t, "bob.json", "", bob) // bob's key is regenerated
	keyOnly := alice
	keyOnly.APIKey = "" // fetched with the private key
	fetchCreds := f.writeCreds(t, "fetch.json", "", keyOnly)
	// The API key and the private key from files: the client uses only
	// the key, the command still knows the private key to hide it.
	keyFiles := []string{"--url", f.url, "--user", "alice", "--api-key-file", f.writeFile(t, "key", alice.APIKey+"\n"),
		"--private-key-file", f.writeFile(t, "private", alice.PrivateKey+"\n")}
	// The secrets each account's command knows, and must not print. (The
	// server echoes alice's private key to bob too: bob's command cannot
	// know to hide it.)
	aliceSecrets := append([]string{alice.APIKey, alice.Password, alice.PrivateKey}, strings.Fields(alice.PrivateKey)...)
	bobSecrets := append([]string{bob.APIKey, bob.Password, bob.PrivateKey}, strings.Fields(bob.PrivateKey)...)

	runs := []struct {
		creds, stdin string
		args         []string
	}{
		{creds, "", []string{"-v", "account"}},
		{creds, "", []string{"account", "--json"}},
		{creds, "", []string{"list"}},
		{creds, "", []string{"list", "--json"}},
		{creds, "", []string{"acquire", "wan", "2"}},
		{creds, "", []string{"acquire", "lan", "1", "--json"}},
		{creds, "", []string{"list", "--wide"}},
		{creds, "", []string{"renew", "--all"}},
		{creds, "", []string{"acquire-specific", "no-such-node:v2"}},
		{creds, "", []string{"acquire-specific", "no-such-node:v2", "--json"}}, // the JSON error object
		{creds, "", []string{"acquire", "wan", "20", "--json"}},
		{creds, "", []string{"renew", "...00000000:v9", "--json"}},
		{creds, "", []string{"release", "--all"}},
		{creds, "", []string{"public-key"}},
		{creds, alice.Password + "\n", []string{"set-public-key", alice.PublicKey, "--password-stdin"}},
		{fetchCreds, "", []string{"list"}},
		{"", "", append(keyFiles, "account")},
		{bobCreds, bob.Password + "\n", []string{"regenerate-api-key", "--password-stdin"}},
		{bobCreds, "", []string{"account"}},
	}
	finders := map[string]*leaktest.Finder{creds: leaktest.NewFinder(aliceSecrets), fetchCreds: leaktest.NewFinder(aliceSecrets),
		"": leaktest.NewFinder(aliceSecrets), bobCreds: leaktest.NewFinder(bobSecrets)}
	leaks, controls := map[string]int{}, map[string]int{}
	redactedObjects := 0 // JSON error objects that carried a secret, redacted
	for echo.Calls() < 1500 {
		for _, r := range runs {
			args := append([]string{"--retries", "0"}, r.args...)
			if r.creds != "" {
				args = append([]string{"--creds", r.creds}, args...)
			}
			res := exec(t, invocation{stdin: strings.NewReader(r.stdin)}, args...)
			name := strings.Join(r.args, " ")
			if r.args[len(r.args)-1] == "--json" && res.code != exitOK {
				// The error object carries the echo, redacted.
				var je jsonError
				if err := json.Unmarshal([]byte(res.stdout), &je); err != nil || je.Exit != res.code {
					t.Errorf("%s: stdout is not the JSON error object of exit %d: %v\n%v", name, res.code, err, res)
				} else if strings.Contains(je.Error, "[redacted]") {
					redactedObjects++
				}
			}
			for where, text := range map[string]string{"stdout": res.stdout, "stderr": res.stderr} {
				if r.args[0] == "regenerate-api-key" && where == "stdout" {
					continue // the new key, as asked
				}
				l := finders[r.creds].Leaks(text)
				if len(l) > 0 && leaks[name] == 0 {
					t.Errorf("%s: %s shows %v", name, where, l)
				}
				leaks[name] += leaktest.Total(l)
				cc := leaktest.ControlChars(text)
				if len(cc) > 0 && controls[name] == 0 {
					t.Errorf("%s: %s has control characters %v:\n%s", name, where, cc, text)
				}
				controls[name] += leaktest.Sum(cc)
			}
		}
	}
	t.Logf("%d calls echoed, %d JSON error objects with a secret redacted", echo.Calls(), redactedObjects)
	if redactedObjects == 0 {
		t.Errorf("no JSON error object carried an echoed secret: the check of the error objects saw nothing to redact")
	}
	for name, n := range leaks {
		if n > 0 || controls[name] > 0 {
			t.Errorf("%s: %d places that show a secret, %d control characters", name, n, controls[name])
		}
	}
}

// TestServerTextEscaped: vessel fields and account fields from a server
// (here with a carriage return, U+009B and U+202E planted in every handle,
// address and affiliation) reach the terminal escaped, in tables, notes
// and errors; in JSON they stay the same strings, with the controls
// written as \u escapes.
func TestServerTextEscaped(t *testing.T) {
	t.Parallel()
	const planted = "&#13;\u009b2J\u202e"
	f := newFixture(t)
	f.srv.Config.Handler = &conformancetest.Rewriter{Next: f.mock, Rewrite: func(method string, req []byte, status int, body []byte) (int, []byte) {
		for _, name := range []string{"node_ip", "handle", "user_affiliation", "node_id"} {
			body = bytes.ReplaceAll(body, []byte("<name>"+name+"</name><value><string>"), []byte("<name>"+name+"</name><value><string>"+planted))
		}
		return status, body
	}}
	f.acquire(t, "wan", 2)
	for _, args := range [][]string{
		{"account"}, {"list"}, {"list", "--wide"}, {"acquire", "wan", "1"}, {"renew", "--all"}, {"release", "--all"},
		{"account", "--json"}, {"list", "--json"}, {"acquire", "lan", "1", "--json"},
	} {
		r := f.run(t, args...)
		if cc := leaktest.ControlChars(r.stdout + r.stderr); len(cc) > 0 {
			t.Errorf("%q: control characters %v\n%v", args, cc, r)
		}
		if args[len(args)-1] != "--json" {
			if !strings.Contains(r.stdout+r.stderr, `\r\u009b2J\u202e`) && r.code == exitOK {
				t.Errorf("%q: the planted text is not shown escaped\n%v", args, r)
			}
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Errorf("%q: not JSON: %v\n%s", args, err, r.stdout)
		}
		if !strings.Contains(r.stdout, `\r\u009b2J\u202e`) {
			t.Errorf("%q: the JSON does not carry the planted text as escapes\n%s", args, r.stdout)
		}
	}
}

// TestKeepOutputEscaped: keep's lines (an error, lost handles) and its
// JSON events show what a server sent escaped, and no secret the command
// knows.
func TestKeepOutputEscaped(t *testing.T) {
	t.Parallel()
	const key = `K"3\Y<&>7QZ4JD2KX9MWB3T8HNV5RC6Y`
	hostile := "echo " + key + " " + leaktest.Controls + " " + leaktest.ReasonControls
	for _, json := range []bool{false, true} {
		var out bytes.Buffer
		a := &app{stdout: &out, stderr: &out, set: &settings{}}
		a.set.Account.APIKey = key
		a.g.json = json
		o := &keepOutput{a: a, start: time.Now()}
		snap := keeper.Snapshot{Target: 1}
		o.event(keeper.Event{Kind: keeper.EventLost, Time: time.Now(), Handles: []clearinghouse.Handle{clearinghouse.Handle("node " + hostile + ":v2")}}, snap)
		o.event(keeper.Event{Kind: keeper.EventError, Time: time.Now(), Err: errors.New(hostile)}, snap)
		snap.LastError = errors.New(hostile)
		if err := o.final(snap, errors.New("final look: "+hostile)); err != nil {
			t.Fatal(err)
		}
		if cc := leaktest.ControlChars(out.String()); len(cc) > 0 {
			t.Errorf("json %v: control characters %v in\n%s", json, cc, out.String())
		}
		if l := leaktest.Leaks(out.String(), []string{key}); len(l) > 0 {
			t.Errorf("json %v: %v in\n%s", json, l, out.String())
		}
		if !strings.Contains(out.String(), `\u202eevil`) {
			t.Errorf("json %v: the server's text is not shown escaped:\n%s", json, out.String())
		}
	}
}
