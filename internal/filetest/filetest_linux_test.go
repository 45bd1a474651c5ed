package filetest

import (
	"strings"
	"testing"
	"time"
)

// TestRunKillsGrowingMemory runs a child that reads /dev/zero whole: the
// guard must kill it soon after it passes MaxRSS, long before Bound.
func TestRunKillsGrowingMemory(t *testing.T) {
	t.Parallel()
	r := Run(t, child("read:/dev/zero"))
	if r.Code != -1 || !strings.Contains(r.Killed, "resident memory") {
		t.Fatalf("have %+v, want the child killed for its memory", r)
	}
	t.Logf("killed after %v: %s", r.Took.Round(time.Millisecond), r.Killed)
}
