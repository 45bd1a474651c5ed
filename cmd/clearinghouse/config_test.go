package main

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

// httptestTLS serves h over HTTPS on 127.0.0.1 with httptest's own CA.
func httptestTLS(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the tests make fail
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// tlsCAPEM returns the certificate srv presents, which signs itself, as
// PEM: the CA file a client needs.
func tlsCAPEM(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

// TestResolvePrecedence checks flags > environment > creds file for each
// setting, and that the keys travel together.
func TestResolvePrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	creds := write("creds.json", `{"url": "http://creds.example/xmlrpc/", "ca_file": "ca.pem", "accounts": [
		{"username": "first", "api_key": "KEYFIRST", "private_key": "1 2 3"},
		{"username": "second", "api_key": "KEYSECOND"},
		{"username": "third", "private_key": "4 5 6"}]}`)
	flagKey := write("flag.key", "KEYFLAG\n")
	absCA := "/etc/ca.pem"

	type want struct {
		url, user, apiKey, privKey, privFile, ca string
	}
	for _, tc := range []struct {
		name  string
		flags globalOpts
		env   map[string]string
		want  want
	}{
		{
			name:  "creds file alone: first account",
			flags: globalOpts{creds: creds},
			want:  want{url: "http://creds.example/xmlrpc/", user: "first", apiKey: "KEYFIRST", privKey: "1 2 3", ca: filepath.Join(dir, "ca.pem")},
		},
		{
			name: "creds file from the environment",
			env:  map[string]string{envCredsFile: creds},
			want: want{url: "http://creds.example/xmlrpc/", user: "first", apiKey: "KEYFIRST", privKey: "1 2 3", ca: filepath.Join(dir, "ca.pem")},
		},
		{
			name:  "--account by name",
			flags: globalOpts{creds: creds, account: "second"},
			want:  want{url: "http://creds.example/xmlrpc/", user: "second", apiKey: "KEYSECOND", ca: filepath.Join(dir, "ca.pem")},
		},
		{
			name:  "--account by number, private key only",
			flags: globalOpts{creds: creds, account: "3"},
			want:  want{url: "http://creds.example/xmlrpc/", user: "third", privKey: "4 5 6", ca: filepath.Join(dir, "ca.pem")},
		},
		{
			name:  "--account beats the environment's username",
			flags: globalOpts{creds: creds, account: "second"},
			env:   map[string]string{envUsername: "first"},
			want:  want{url: "http://creds.example/xmlrpc/", user: "second", apiKey: "KEYSECOND", ca: filepath.Join(dir, "ca.pem")},
		},
		{
			name:  "environment username picks the creds account",
			flags: globalOpts{creds: creds},
			env:   map[string]string{envUsername: "second"},
			want:  want{url: "http://creds.example/xmlrpc/", user: "second", apiKey: "KEYSECOND", ca: filepath.Join(dir, "ca.pem")},
		},
		{
			name:  "a user not in the creds file gets no keys from it",
			flags: globalOpts{creds: creds, user: "stranger"},
			want:  want{url: "http://creds.example/xmlrpc/", user: "stranger", ca: filepath.Join(dir, "ca.pem")},
		},
		{
			name:  "environment beats creds file",
			flags: globalOpts{creds: creds},
			env: map[string]string{envURL: "https://env.example/xmlrpc/", envUsername: "envuser", envAPIKey: " KEYENV\n",
				envCAFile: absCA},
			want: want{url: "https://env.example/xmlrpc/", user: "envuser", apiKey: "KEYENV", ca: absCA},
		},
		{
			name:  "environment private key file",
			flags: globalOpts{creds: creds},
			env:   map[string]string{envUsername: "first", envPrivateKeyFile: "/keys/first.privatekey"},
			want:  want{url: "http://creds.example/xmlrpc/", user: "first", privFile: "/keys/first.privatekey", ca: filepath.Join(dir, "ca.pem")},
		},
		{
			name:  "flags beat environment and creds file",
			flags: globalOpts{creds: creds, url: "https://flag.example/xmlrpc/", user: "flaguser", apiKeyFile: flagKey, caFile: "/flag/ca.pem"},
			env:   map[string]string{envURL: "https://env.example/xmlrpc/", envUsername: "envuser", envAPIKey: "KEYENV", envCAFile: absCA},
			want:  want{url: "https://flag.example/xmlrpc/", user: "flaguser", apiKey: "KEYFLAG", ca: "/flag/ca.pem"},
		},
		{
			name:  "a private key flag is not overridden by an API key in the environment",
			flags: globalOpts{user: "alice", privateKeyFile: "/keys/alice.privatekey"},
			env:   map[string]string{envAPIKey: "KEYENV"},
			want:  want{url: "https://seattleclearinghouse.poly.edu/xmlrpc/", user: "alice", privFile: "/keys/alice.privatekey"},
		},
		{
			name: "nothing at all: the public clearinghouse, no user",
			want: want{url: "https://seattleclearinghouse.poly.edu/xmlrpc/"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := defaultGlobalOpts()
			f := tc.flags
			g.url, g.user, g.apiKeyFile, g.privateKeyFile, g.caFile, g.creds, g.account = f.url, f.user, f.apiKeyFile, f.privateKeyFile, f.caFile, f.creds, f.account
			s, err := resolve(&g, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			have := want{s.url, s.username, s.apiKey, s.privateKey, s.privateKeyFile, s.caFile}
			if have != tc.want {
				t.Errorf("\nhave %+v\nwant %+v", have, tc.want)
			}
		})
	}
}

// TestEnvironment runs the real run function with the process
// environment (so not in parallel).
func TestEnvironment(t *testing.T) {
	f := newFixture(t)
	f.acquire(t, "wan", 1)
	t.Setenv(envURL, f.url)
	t.Setenv(envUsername, "alice")
	t.Setenv(envAPIKey, aliceKey)
	var stdout, stderr strings.Builder
	if code := run(t.Context(), []string{"list"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if strings.Count(stdout.String(), "\n") != 2 {
		t.Errorf("have %q", stdout.String())
	}
	// A flag overrides the environment: bob's key file for bob.
	keyFile := f.writeFile(t, "bob.key", bobKey)
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), []string{"--user", "bob", "--api-key-file", keyFile, "account", "--json"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"username": "bob"`) {
		t.Errorf("have %q", stdout.String())
	}
	// The creds file from the environment, overridden by the other
	// variables: CLEARINGHOUSE_API_KEY (alice's) beats bob's in the file.
	t.Setenv(envCredsFile, f.writeCreds(t, "bob-only.json", "", f.bob))
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), []string{"account", "--json"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"username": "alice"`) {
		t.Errorf("have %q", stdout.String())
	}
}

// TestPrivateKeyPath: without an API key, the private key fetches it.
func TestPrivateKeyPath(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	noKey := f.alice
	noKey.APIKey = ""
	creds := f.writeCreds(t, "nokey.json", "", noKey)
	want(t, exec(t, invocation{}, "--creds", creds, "account"), exitOK)
	want(t, exec(t, invocation{}, "--creds", creds, "-v", "list"), exitOK, "fetching it with the private key")

	privFile := f.writeFile(t, "alice.privatekey", f.alice.PrivateKey+"\n")
	env := map[string]string{envURL: f.url, envUsername: "alice", envPrivateKeyFile: privFile}
	want(t, exec(t, invocation{env: env}, "acquire", "wan", "1"), exitOK)
	want(t, exec(t, invocation{}, "--url", f.url, "--user", "alice", "--private-key-file", privFile, "list"), exitOK)

	// Bob's private key for alice: the key does not match.
	bobFile := f.writeFile(t, "bob.privatekey", f.bob.PrivateKey)
	r := exec(t, invocation{}, "--url", f.url, "--user", "alice", "--private-key-file", bobFile, "list")
	want(t, r, exitAuth, "does not belong to user alice")
	// A user the clearinghouse does not know.
	r = exec(t, invocation{}, "--url", f.url, "--user", "nobody", "--private-key-file", privFile, "list")
	want(t, r, exitInvalid, "does not know user nobody")
}

func TestKeyFilePermissionsWarning(t *testing.T) {
	t.Parallel()
	if !unixPerms {
		testskip.Platform.Skipf(t, "no Unix file modes")
	}
	f := newFixture(t)
	keyFile := f.writeFile(t, "open.key", aliceKey)
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	r := exec(t, invocation{}, "--url", f.url, "--user", "alice", "--api-key-file", keyFile, "list")
	want(t, r, exitOK, "can be read by other users", "chmod 600")
	empty := f.writeFile(t, "empty.key", "\n")
	want(t, exec(t, invocation{}, "--url", f.url, "--user", "alice", "--api-key-file", empty, "list"), exitUsage, "no key")
}
