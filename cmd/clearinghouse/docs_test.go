package main

import (
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/doccheck"
)

// TestHelpExamples checks the examples --help shows, for the whole
// command and for each command: every clearinghouse line parses, and
// nothing is put in the background through go run, which does not pass
// a signal on (killing the job would leave the program running).
func TestHelpExamples(t *testing.T) {
	t.Parallel()
	helps := map[string]string{"--help": exec(t, invocation{}, "--help").stdout}
	for _, c := range commands() {
		helps[c.name+" --help"] = exec(t, invocation{}, c.name, "--help").stdout
	}
	n := 0
	for name, help := range helps {
		_, examples, ok := strings.Cut(help, "\nExamples:\n")
		if !ok {
			t.Errorf("clearinghouse %s shows no examples", name)
			continue
		}
		examples, _, _ = strings.Cut(examples, "\n\n")
		for _, line := range strings.Split(examples, "\n") {
			if strings.Contains(line, "go run ") && strings.HasSuffix(strings.TrimSpace(line), "&") {
				t.Errorf("clearinghouse %s suggests %q: go run in the background cannot be stopped with kill; use the built binary", name, strings.TrimSpace(line))
			}
		}
		for _, args := range doccheck.Invocations("```sh\n"+examples+"\n```\n", "clearinghouse") {
			n++
			if r := exec(t, invocation{}, append(args, "--help")...); r.code != exitOK {
				t.Errorf("clearinghouse %s shows %q, which is not a valid command line:\n%v", name, strings.Join(args, " "), r)
			}
		}
	}
	if n < 10 {
		t.Errorf("found only %d example command lines in the help; the scan is broken", n)
	}
}
