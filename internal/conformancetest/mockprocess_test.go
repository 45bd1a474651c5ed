//go:build unix

package conformancetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// TestStartMock runs a shell script in the mock's place: sh -c SCRIPT
// -creds-out FILE sees FILE as $1.
func TestStartMock(t *testing.T) {
	t.Parallel()
	sh := testskip.LookPath(t, "sh", "the StartMock test")
	const serve = `[ -e "$1" ] && { echo stale creds file >&2; exit 1; }; echo '{}' > "$1"; exec sleep 60`
	for _, tc := range []struct {
		name   string
		script string
		end    func(*MockProcess) error
		want   string // in the error of StartMock, or "" for none
	}{
		{name: "stopped", script: serve, end: (*MockProcess).Stop},
		{name: "killed", script: serve, end: (*MockProcess).Kill},
		{name: "exits during start-up", script: "echo no state file >&2; exit 3", want: "the mock exited during start-up: exit status 3\nno state file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			creds := filepath.Join(t.TempDir(), "creds.json")
			if err := os.WriteFile(creds, []byte("left by an earlier run"), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := StartMock(sh, creds, "-c", tc.script)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("have error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.end(p); err != nil {
				t.Errorf("ending the mock: %v", err)
			}
			if err := p.Stop(); err != nil {
				t.Errorf("Stop after the mock has exited: %v", err)
			}
		})
	}
}
