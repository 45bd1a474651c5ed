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
// Of the mock's packages it may use exactly one, mockserver/mockapi, the
// leaf that holds the types the suite and the mock share. It asks the go
// command, as go list -deps does.
func TestNoMockDependency(t *testing.T) {
	t.Parallel()
	goTool := testskip.GoCommand(t, "the dependency check")
	const (
		self   = "github.com/seattletestbed/clearinghouse-go/conformance"
		mock   = "github.com/seattletestbed/clearinghouse-go/mockserver"
		shared = mock + "/mockapi"
	)
	out, err := exec.Command(goTool, "list", "-deps", self).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, self) {
		t.Fatalf("go list -deps %s does not list the package itself:\n%s", self, out)
	}
	var fromMock []string
	for _, d := range deps {
		if d == mock || strings.HasPrefix(d, mock+"/") || strings.HasPrefix(d, self+"/") {
			fromMock = append(fromMock, d)
		}
	}
	if !slices.Equal(fromMock, []string{shared}) {
		t.Errorf("conformance depends on %q of the mock's packages and its own subpackages, want exactly %q", fromMock, shared)
	}
}
