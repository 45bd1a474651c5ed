package mockserver

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// TestPythonClient drives the mock over HTTP with CPython's xmlrpc.client
// (testdata/pyclient.py), a real foreign client. Under CI a missing
// python3 fails the test instead of skipping it (internal/testskip).
func TestPythonClient(t *testing.T) {
	t.Parallel()
	python := testskip.LookPath(t, "python3", "the CPython client check")
	s := newTestServer(t, WithPopulation(PopulationConfig{Nodes: 40, Seed: 5}))
	u := addUser(t, s, "pyuser")
	url := startHTTP(t, s) + "/xmlrpc/"
	out, err := exec.Command(python, "testdata/pyclient.py", url, u.Username, u.APIKey, u.Password).CombinedOutput()
	var summary struct {
		Checks   int
		Failures []string
	}
	last := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	if jerr := json.Unmarshal([]byte(last), &summary); jerr != nil {
		t.Fatalf("pyclient.py: %v\n%s", err, out)
	}
	if err != nil || len(summary.Failures) > 0 {
		t.Fatalf("pyclient.py failed %v: %v\n%s", summary.Failures, err, out)
	}
	if summary.Checks < 30 {
		t.Fatalf("only %d checks ran", summary.Checks)
	}
}

// TestPythonRetriesAfterReset shows why the report watches for duplicate
// acquisitions: CPython's xmlrpc.client silently sends a call again when
// the connection is reset (Transport.request retries once on ECONNRESET),
// so an acquire whose answer a reset_after lost is made twice and the
// program holds twice what it asked for without seeing an error.
func TestPythonRetriesAfterReset(t *testing.T) {
	t.Parallel()
	python := testskip.LookPath(t, "python3", "the CPython retry check")
	s, url, u := faultFixture(t, "acquire_resources:reset_after,next=1")
	const script = `
import sys, xmlrpc.client
url, user, key = sys.argv[1:4]
proxy = xmlrpc.client.ServerProxy(url)
got = proxy.acquire_resources({"username": user, "api_key": key}, {"rspec_type": "wan", "number_of_nodes": 2})
print(len(got))
`
	out, err := exec.Command(python, "-c", script, url, u.Username, u.APIKey).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("python saw %q, want 2 vessels", out)
	}
	if n := heldCount(t, s, u); n != 4 {
		t.Fatalf("holding %d vessels, want 4: the retry acquired again", n)
	}
	f := finding(t, report(t, s), FindingDuplicateAcquire, u.Username)
	if f.Evidence.Held != 4 || f.Evidence.Target != 2 {
		t.Errorf("evidence %+v, want held 4 against a target of 2", f.Evidence)
	}
}
