package mockserver

import (
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
	"github.com/seattletestbed/clearinghouse-go/seattlersa"
)

// TestNodeManagerPythonPeer drives the mock's node manager with a client
// written in Python from the protocol brief alone (testdata/nmpeer.py):
// framing, trailer, SHA-1 and textbook RSA with pow(), NTP timestamps. It
// must get the original's answers. Under CI a missing python3 fails the
// test instead of skipping it (internal/testskip).
func TestNodeManagerPythonPeer(t *testing.T) {
	t.Parallel()
	python := testskip.LookPath(t, "python3", "the Python node manager peer")
	f := newNMVessel(t)
	other, otherPriv, err := seattlersa.GenerateKey(rand.NewChaCha8([32]byte{42}), 512)
	must(t, err)
	node, vessel, _ := strings.Cut(f.handle, ":")
	out, err := exec.Command(python, "testdata/nmpeer.py", f.addr, vessel, node,
		f.a.PublicKey, f.a.PrivateKey, other.String(), otherPriv.String()).CombinedOutput()
	var summary struct {
		Checks   int
		Failures []string
	}
	last := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	if jerr := json.Unmarshal([]byte(last), &summary); jerr != nil {
		t.Fatalf("nmpeer.py: %v\n%s", err, out)
	}
	if err != nil || len(summary.Failures) > 0 {
		t.Fatalf("nmpeer.py failed: %v\n%s", err, strings.Join(summary.Failures, "\n"))
	}
	if summary.Checks < 30 {
		t.Fatalf("only %d checks ran", summary.Checks)
	}
}
