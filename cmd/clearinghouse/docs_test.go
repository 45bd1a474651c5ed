package main

import (
	"os"
	"strings"
	"testing"

	"github.com/seattletestbed/clearinghouse-go/internal/doccheck"
)

// TestDocCommands keeps the command table of docs/cli.md equal to the
// commands --help lists: each row is a command with its arguments and
// the same one-line summary, in the same order.
func TestDocCommands(t *testing.T) {
	section, ok := doccheck.Section(doccheck.Read(t, cliDoc), "## Commands")
	if !ok {
		t.Fatalf("%s has no section \"## Commands\"", cliDoc)
	}
	_, rows := doccheck.Table(section)
	var have, want []string
	for _, r := range rows {
		have = append(have, strings.Trim(r[0], "`")+" | "+r[1])
	}
	for _, c := range commands() {
		want = append(want, strings.TrimSpace(c.name+" "+c.args)+" | "+c.summary)
	}
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s's command table:\n%s\nclearinghouse --help lists:\n%s", cliDoc, strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
}

// TestDocExitCodes keeps the exit code table of docs/cli.md equal to the
// one --help prints.
func TestDocExitCodes(t *testing.T) {
	section, ok := doccheck.Section(doccheck.Read(t, cliDoc), "## Exit codes")
	if !ok {
		t.Fatalf("%s has no section \"## Exit codes\"", cliDoc)
	}
	_, rows := doccheck.Table(section)
	var have, want []string
	for _, r := range rows {
		have = append(have, strings.Join(r, " | "))
	}
	// The table's columns: the code from the third character, the kind
	// (the JSON error object's) from the eighth, the meaning from the 23rd.
	for _, line := range strings.Split(exitCodeTable, "\n") {
		want = append(want, strings.TrimSpace(line[:7])+" | "+strings.TrimSpace(line[7:22])+" | "+line[22:])
	}
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s's exit codes:\n%s\nclearinghouse --help prints:\n%s", cliDoc, strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
	// The package documentation has the table as --help prints it.
	data, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	inDoc := "//\t" + strings.ReplaceAll(strings.TrimPrefix(exitCodeTable, "  "), "\n  ", "\n//\t") + "\n"
	if !strings.Contains(string(data), inDoc) {
		t.Errorf("doc.go does not have the exit code table --help prints:\n%s", inDoc)
	}
}

// TestDocCommandLines checks every clearinghouse command line the
// documents show: the command exists and takes the flags given. Each
// runs with --help appended, which parses the whole line, flags and
// command, and runs nothing.
func TestDocCommandLines(t *testing.T) {
	t.Parallel()
	n := 0
	for _, doc := range doccheck.Documents(t) {
		for _, args := range doccheck.Invocations(doccheck.Read(t, doc), "clearinghouse") {
			n++
			r := exec(t, invocation{}, append(args, "--help")...)
			if r.code != exitOK || !strings.HasPrefix(r.stdout, "Usage: clearinghouse ") && !strings.HasPrefix(r.stdout, "clearinghouse leases") {
				t.Errorf("%s: clearinghouse %s: not a valid command line:\n%v", doc, strings.Join(args, " "), r)
			}
		}
	}
	if n < 10 {
		t.Errorf("found only %d clearinghouse command lines in the documents; the scan is broken", n)
	}
}

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
