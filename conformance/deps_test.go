package conformance

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// TestNoMockDependency checks that the suite does not link the mock: a
// deployment's test binary that imports conformance must not carry
// mockserver (the in-process adapter lives in conformance/mockcontrols).
// It asks the go command, as go list -deps does.
func TestNoMockDependency(t *testing.T) {
	t.Parallel()
	goTool := testskip.GoCommand(t, "the dependency check")
	const self = "github.com/seattletestbed/clearinghouse-go/conformance"
	out, err := exec.Command(goTool, "list", "-deps", self).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, self) {
		t.Fatalf("go list -deps %s does not list the package itself:\n%s", self, out)
	}
	for _, forbidden := range []string{
		"github.com/seattletestbed/clearinghouse-go/mockserver",
		"github.com/seattletestbed/clearinghouse-go/conformance/mockcontrols",
	} {
		if slices.Contains(deps, forbidden) {
			t.Errorf("conformance depends on %s", forbidden)
		}
	}
}
