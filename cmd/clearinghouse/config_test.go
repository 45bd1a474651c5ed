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
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/internal/chconfig"
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

// TestResolve checks what the command adds to package chconfig's rule
// (flags > CLEARINGHOUSE_* variables > creds file, tested there as a
// table): that each flag reaches chconfig as its level-1 value, and the
// public clearinghouse when nothing names a URL.
func TestResolve(t *testing.T) {
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
		{"username": "second", "api_key": "KEYSECOND"}]}`)
	flagKey := write("flag.key", "KEYFLAG\n")
	env := map[string]string{chconfig.EnvURL: "https://env.example/xmlrpc/", chconfig.EnvUsername: "envuser",
		chconfig.EnvAPIKey: "KEYENV", chconfig.EnvCAFile: "/env/ca.pem"}

	type want struct {
		url, urlSrc, user, apiKey, privKey, privFile, ca string
	}
	for _, tc := range []struct {
		name string
		set  func(g *globalOpts)
		env  map[string]string
		want want
	}{
		{"nothing at all: the public clearinghouse", func(*globalOpts) {}, nil,
			want{url: clearinghouse.DefaultURL, urlSrc: "default"}},
		{"the environment alone", func(*globalOpts) {}, env,
			want{url: "https://env.example/xmlrpc/", urlSrc: chconfig.EnvURL, user: "envuser", apiKey: "KEYENV", ca: "/env/ca.pem"}},
		{"--url", func(g *globalOpts) { g.url = "https://flag.example/xmlrpc/" }, env,
			want{url: "https://flag.example/xmlrpc/", urlSrc: "--url", user: "envuser", apiKey: "KEYENV", ca: "/env/ca.pem"}},
		{"--user", func(g *globalOpts) { g.user = "flaguser" }, env,
			want{url: "https://env.example/xmlrpc/", urlSrc: chconfig.EnvURL, user: "flaguser", apiKey: "KEYENV", ca: "/env/ca.pem"}},
		{"--api-key-file", func(g *globalOpts) { g.apiKeyFile = flagKey }, env,
			want{url: "https://env.example/xmlrpc/", urlSrc: chconfig.EnvURL, user: "envuser", apiKey: "KEYFLAG", ca: "/env/ca.pem"}},
		{"--private-key-file", func(g *globalOpts) { g.privateKeyFile = "/keys/p" }, env,
			want{url: "https://env.example/xmlrpc/", urlSrc: chconfig.EnvURL, user: "envuser", privFile: "/keys/p", ca: "/env/ca.pem"}},
		{"--ca-file", func(g *globalOpts) { g.caFile = "/flag/ca.pem" }, env,
			want{url: "https://env.example/xmlrpc/", urlSrc: chconfig.EnvURL, user: "envuser", apiKey: "KEYENV", ca: "/flag/ca.pem"}},
		{"--creds", func(g *globalOpts) { g.creds = creds }, nil,
			want{url: "http://creds.example/xmlrpc/", urlSrc: "creds file " + creds, user: "first", apiKey: "KEYFIRST", privKey: "1 2 3", ca: filepath.Join(dir, "ca.pem")}},
		{"--creds with the environment", func(g *globalOpts) { g.creds = creds }, env,
			want{url: "https://env.example/xmlrpc/", urlSrc: chconfig.EnvURL, user: "envuser", apiKey: "KEYENV", ca: "/env/ca.pem"}},
		{"--account", func(g *globalOpts) { g.creds, g.account = creds, "2" }, nil,
			want{url: "http://creds.example/xmlrpc/", urlSrc: "creds file " + creds, user: "second", apiKey: "KEYSECOND", ca: filepath.Join(dir, "ca.pem")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := defaultGlobalOpts()
			tc.set(&g)
			s, err := resolve(&g, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			a := s.Account
			have := want{s.URL, s.URLSource, a.Username, a.APIKey, a.PrivateKey, a.PrivateKeyFile, s.CAFile}
			if have != tc.want {
				t.Errorf("\nhave %+v\nwant %+v", have, tc.want)
			}
			if s.timeout != time.Minute || s.retries != 2 {
				t.Errorf("have timeout %v, retries %d; want the defaults 1m0s and 2", s.timeout, s.retries)
			}
		})
	}
}

// TestEnvironment runs the real run function with the process
// environment (so not in parallel).
func TestEnvironment(t *testing.T) {
	f := newFixture(t)
	f.acquire(t, "wan", 1)
	t.Setenv(chconfig.EnvURL, f.url)
	t.Setenv(chconfig.EnvUsername, "alice")
	t.Setenv(chconfig.EnvAPIKey, aliceKey)
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
	t.Setenv(chconfig.EnvCredsFile, f.writeCreds(t, "bob-only.json", "", f.bob))
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
	env := map[string]string{chconfig.EnvURL: f.url, chconfig.EnvUsername: "alice", chconfig.EnvPrivateKeyFile: privFile}
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
