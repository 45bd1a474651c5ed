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
