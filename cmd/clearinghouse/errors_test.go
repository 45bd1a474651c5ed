package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/chconfig"
)

// TestPlainHTTPToHTTPS: an http:// URL of a server that speaks HTTPS (as
// the mock does with -tls) gets a hint naming the https:// URL to use,
// not one that doubts a URL that already ends in /xmlrpc/.
func TestPlainHTTPToHTTPS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptestTLS(t, f.mock)
	httpURL := "http://" + strings.TrimPrefix(srv.URL, "https://") + "/xmlrpc/"
	r := exec(t, invocation{}, "--creds", f.creds, "--url", httpURL, "--retries", "0", "list")
	want(t, r, exitCommunication, "the server speaks HTTPS: try https://"+strings.TrimPrefix(httpURL, "http://"))
	if strings.Contains(r.stderr, "usually ends in /xmlrpc/") {
		t.Errorf("the hint doubts the path of a URL whose only fault is its scheme:\n%v", r)
	}
}

// TestRenewExpired: renewing a vessel whose lease has run out says that
// a vessel no longer held may have expired and that an expired vessel
// cannot be renewed, whichever form of handle names it.
func TestRenewExpired(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 1)
	held, _ := f.mock.Holdings("alice")
	full := held[0].Handle
	short := ellipsis + tail(held[0].NodeID, shortSuffix) + ":" + held[0].Name
	f.mock.Advance(5 * time.Hour) // the 4-hour lease runs out
	for _, h := range []string{full, short} {
		r := f.run(t, "renew", h)
		want(t, r, exitUsage, "none of the given vessels is held by alice", "expired", "an expired vessel cannot be renewed")
	}
}

// TestRenewSeesExpiry: a vessel that expires between the listing renew
// makes and its renewal is named, with the lease time the listing gave,
// instead of being left out of the count without a word.
func TestRenewSeesExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 2)
	held, _ := f.mock.Holdings("alice")
	want(t, f.run(t, "renew", held[1].Handle), exitOK)
	// The clock jumps past the first vessel's lease as renew_resources
	// arrives: the listing before saw it with 4 hours left.
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if bytes.Contains(body, []byte("renew_resources")) {
			f.mock.Advance(5 * time.Hour)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		f.mock.ServeHTTP(w, req)
	})
	r := f.run(t, "renew", "--all")
	want(t, r, exitOK, "renewed 1 vessel", "no longer held after the renewal", "4h0m left")
}

// TestHandleNotHeldOneRule: a handle that names no vessel the account
// holds is treated the same in its full and its short form: skipped with
// a note when others are held, and a usage error (exit 2, the command's
// own decision, not the clearinghouse's) when none is.
func TestHandleNotHeldOneRule(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 2)
	held, _ := f.mock.Holdings("alice")
	bobs := f.bobAcquires(t)
	bobVessels, _ := f.mock.Holdings("bob")
	bobShort := ellipsis + tail(bobVessels[0].NodeID, shortSuffix) + ":" + bobVessels[0].Name
	for _, cmd := range []string{"renew", "release"} {
		for _, h := range []string{bobs[0], bobShort} {
			r := f.run(t, cmd, h)
			want(t, r, exitUsage, "none of the given vessels is held by alice")
		}
	}
	for _, h := range []string{bobs[0], bobShort} {
		r := f.run(t, "renew", held[0].Handle, h)
		want(t, r, exitOK, "not held by alice, skipped: "+h, "renewed 1 vessel")
	}
}

// TestHintsKnowTheCredsFile: with a creds file in use, no hint tells the
// user to use --creds; a CA file that cannot be read is named with the
// variable or flag that gave it, in the message itself.
func TestHintsKnowTheCredsFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tlsSrv := httptestTLS(t, f.mock)
	f.srv.Close()
	for _, args := range [][]string{
		{"--creds", f.creds, "list"},                                                  // the mock is gone
		{"--creds", f.creds, "--url", tlsSrv.URL + "/xmlrpc/", "list"},                // a CA the creds file does not name
		{"--creds", f.creds, "--url", tlsSrv.URL + "/nothing/", "--insecure", "list"}, // not a clearinghouse
	} {
		r := exec(t, invocation{}, append(args, "--retries", "0")...)
		want(t, r, exitCommunication)
		if strings.Contains(r.stderr, "use --creds") {
			t.Errorf("%q: a hint suggests --creds, which is in use:\n%v", args, r)
		}
	}
	r := exec(t, invocation{env: map[string]string{chconfig.EnvCAFile: "/nonexistent/ca.pem"}}, "--creds", f.creds, "list")
	want(t, r, exitUsage)
	if first, _, _ := strings.Cut(r.stderr, "\n"); !strings.Contains(first, chconfig.EnvCAFile) || !strings.Contains(first, "/nonexistent/ca.pem") {
		t.Errorf("the message does not name %s and the path:\n%v", chconfig.EnvCAFile, r)
	}
	r = exec(t, invocation{}, "--creds", f.creds, "--ca-file", "/nonexistent/ca.pem", "list")
	if first, _, _ := strings.Cut(r.stderr, "\n"); !strings.Contains(first, "--ca-file") {
		t.Errorf("the message does not name --ca-file:\n%v", r)
	}
}

// TestJSONErrors: with --json, every failing command prints one JSON
// object on stdout, {"error", "kind", "exit", "hint"}, with the exit
// status it exits with; the message still goes to stderr.
func TestJSONErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 2)
	many := newFixture(t)
	if err := many.mock.SetFreeCredits("alice", 1000); err != nil {
		t.Fatal(err)
	}
	gone := newFixture(t)
	gone.srv.Close()
	cancelled, cancel := contextWithCancel(t)
	cancel()
	badKey := map[string]string{chconfig.EnvURL: f.url, chconfig.EnvUsername: "alice", chconfig.EnvAPIKey: "WRONGKEY"}
	for _, tc := range []struct {
		name string
		inv  invocation
		args []string
		code int
		kind string
	}{
		{"no command", invocation{}, []string{"--json"}, exitUsage, "usage"},
		{"unknown command", invocation{}, []string{"--json", "lst"}, exitUsage, "usage"},
		{"unknown flag after --json", invocation{}, []string{"list", "--json", "--bogus"}, exitUsage, "usage"},
		{"unknown flag before --json", invocation{}, []string{"list", "--bogus", "--json"}, exitUsage, "usage"},
		{"bad arguments", invocation{}, []string{"--creds", f.creds, "acquire", "wan", "x", "--json"}, exitUsage, "usage"},
		{"not held", invocation{}, []string{"--creds", f.creds, "renew", "...00000000:v9", "--json"}, exitUsage, "usage"},
		{"auth", invocation{env: badKey}, []string{"list", "--json"}, exitAuth, "auth"},
		{"credits", invocation{}, []string{"--creds", f.creds, "--account", "bob", "acquire", "wan", "3", "--json"}, exitCredits, "credits"},
		{"unable", invocation{}, []string{"--creds", many.creds, "acquire", "nat", "49", "--json"}, exitUnable, "unable"},
		{"none acquired", invocation{}, []string{"--creds", f.creds, "acquire-specific", f.holdings(t, "alice")[0], "--json"}, exitUnable, "unable"},
		{"invalid", invocation{}, []string{"--creds", f.creds, "acquire-specific", "no-colon-here", "--json"}, exitInvalid, "invalid"},
		{"communication", invocation{}, []string{"--creds", gone.creds, "--retries", "0", "account", "--json"}, exitCommunication, "communication"},
		{"interrupted", invocation{ctx: cancelled}, []string{"--creds", f.creds, "list", "--json"}, exitInterrupted, "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exec(t, tc.inv, tc.args...)
			want(t, r, tc.code)
			var have jsonError
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&have); err != nil {
				t.Fatalf("stdout is not one JSON error object: %v\n%v", err, r)
			}
			if dec.More() {
				t.Errorf("stdout has more than the error object:\n%v", r)
			}
			if have.Exit != tc.code || have.Kind != tc.kind || have.Error == "" {
				t.Errorf("have %+v, want exit %d, kind %q and a message", have, tc.code, tc.kind)
			}
			if !strings.Contains(r.stderr, have.Error+"\n") && tc.name != "no command" { // that prints the help
				t.Errorf("the object's error %q is not the message on stderr:\n%v", have.Error, r)
			}
			if strings.Count(r.stdout, "\n") != 1 {
				t.Errorf("the error object is not one line:\n%s", r.stdout)
			}
		})
	}
}

// TestJSONErrorKinds: every exit code but 0 has a kind, and the kinds
// are the ones documented.
func TestJSONErrorKinds(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, code := range []int{exitInternal, exitUsage, exitAuth, exitCredits, exitUnable, exitInvalid, exitCommunication, exitLost, exitInterrupted} {
		k := errorKind(code)
		if k == "" || seen[k] {
			t.Errorf("exit %d: kind %q (empty or used twice)", code, k)
		}
		seen[k] = true
		if !strings.Contains(exitCodeTable, fmt.Sprintf("%-5d%-15s", code, k)) {
			t.Errorf("kind %q is not in the exit-code table:\n%s", k, exitCodeTable)
		}
	}
}

// TestKeepJSONError: keep's JSON is one event per line; when it fails,
// the JSON error object is its last line, after the summary.
func TestKeepJSONError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acquire(t, "wan", 1)
	env := map[string]string{chconfig.EnvURL: f.url, chconfig.EnvUsername: "alice", chconfig.EnvAPIKey: "WRONG"}
	r := exec(t, invocation{env: env}, "keep", "--json", f.holdings(t, "alice")[0])
	want(t, r, exitAuth, "authentication failed")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	events := keepEvents(t, strings.Join(lines[:len(lines)-1], "\n")+"\n")
	if events[len(events)-1].Event != "summary" {
		t.Errorf("the line before the error object is not the summary:\n%s", r.stdout)
	}
	var have jsonError
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &have); err != nil || have.Kind != "auth" || have.Exit != exitAuth {
		t.Errorf("the last line is not the error object of exit %d: %+v (%v)\n%s", exitAuth, have, err, r.stdout)
	}
}
