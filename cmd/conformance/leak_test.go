//go:build unix

package main

import (
	"crypto/rand"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/credsfile"
	"github.com/seattletestbed/clearinghouse-go/internal/leaktest"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// TestHostileServer runs the command (main, in a child process) with -v
// and both reports against a server that echoes every secret it gets or
// knows, padded across the cuts, with terminal escapes (leaktest.Echo),
// and looks for any form or piece of a secret and any control character
// on stdout, on stderr and in the reports. It does the same for a run
// that cannot start: the error main prints quotes the server.
func TestHostileServer(t *testing.T) {
	t.Parallel()
	token := rand.Text()
	mock, err := mockserver.New(
		mockserver.WithPopulation(mockserver.PopulationConfig{Nodes: 40, NATFraction: 0.1, Seed: 13}),
		mockserver.WithKeyBits(1024),
		mockserver.WithAdmin(true),
		mockserver.WithAdminToken(token),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	long := (`L0NG"KEY\with<angle>&amp;'quote'%2F+plus/` + rand.Text() + rand.Text() + rand.Text())[:100]
	secrets := []string{token}
	f := &credsfile.File{}
	for _, spec := range []mockapi.AccountSpec{
		{Username: "mallory", Password: `pw"\<&>` + rand.Text(), APIKey: long, Affiliation: "Echo U"},
		{Username: "trent", Password: rand.Text(), APIKey: (`K"3\Y<&>` + rand.Text())[:32], Affiliation: "Echo U"},
	} {
		a, err := mock.AddAccount(spec)
		if err != nil {
			t.Fatal(err)
		}
		f.Accounts = append(f.Accounts, credsfile.Account{Username: a.Username, Password: a.Password, APIKey: a.APIKey, PublicKey: a.PublicKey, PrivateKey: a.PrivateKey})
		secrets = append(secrets, a.APIKey, a.Password, a.PrivateKey)
		secrets = append(secrets, strings.Fields(a.PrivateKey)...)
	}
	echo := &leaktest.Echo{Next: mock, Known: []string{f.Accounts[0].PrivateKey}, Every: 40}
	srv := httptest.NewServer(echo)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	f.URL, f.AdminURL, f.AdminToken = srv.URL+"/xmlrpc/", srv.URL+"/admin/", token
	creds := filepath.Join(dir, "creds.json")
	if err := credsfile.Write(creds, f); err != nil {
		t.Fatal(err)
	}
	htmlFile, junitFile := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.xml")
	code, stdout, stderr := runMain(t, nil, "-creds", creds, "-v", "-html", htmlFile, "-junit", junitFile)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, stdout, stderr)
	}
	html, err := os.ReadFile(htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	junit, err := os.ReadFile(junitFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d calls echoed", echo.Calls())

	// A run that cannot start: the only account has a private key, and
	// fetching its API key fails with the echo.
	_, priv, err := seattlersa.GenerateKey(nil, 1024)
	if err != nil {
		t.Fatal(err)
	}
	dead := httptest.NewServer(&leaktest.Echo{Known: []string{priv.String()}, Clips: []int{40}})
	t.Cleanup(dead.Close)
	deadCreds := filepath.Join(dir, "dead.json")
	if err := credsfile.Write(deadCreds, &credsfile.File{URL: dead.URL + "/xmlrpc/", Accounts: []credsfile.Account{{Username: "ghost", PrivateKey: priv.String()}}}); err != nil {
		t.Fatal(err)
	}
	deadCode, deadStdout, deadStderr := runMain(t, nil, "-creds", deadCreds, "-v")
	if deadCode != exitNotRun || !strings.Contains(deadStderr, "conformance: could not run: ") {
		t.Fatalf("exit %d, want %d, and why on stderr:\n%s\n%s", deadCode, exitNotRun, deadStdout, deadStderr)
	}
	secrets = append(secrets, priv.String(), priv.D.String(), priv.P.String(), priv.Q.String())

	find := leaktest.NewFinder(secrets)
	for _, out := range []struct{ name, text string }{
		{"stdout", stdout}, {"stderr (-v)", stderr}, {"HTML report", string(html)}, {"JUnit report", string(junit)},
		{"stdout of the run that could not start", deadStdout}, {"stderr of the run that could not start", deadStderr},
	} {
		if leaks := find.Leaks(out.text); len(leaks) > 0 {
			t.Errorf("the %s shows secrets in %d places: %v", out.name, leaktest.Total(leaks), leaks)
		}
		if cc := leaktest.ControlChars(out.text); len(cc) > 0 {
			t.Errorf("the %s has %d control characters: %v", out.name, leaktest.Sum(cc), cc)
		}
	}
}
