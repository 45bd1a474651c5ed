package doccheck

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const doc = "# Title\n" +
	"intro\n" +
	"## One\n" +
	"text of one\n" +
	"```sh\n" +
	"# not a heading: inside a block\n" +
	"mockclearinghouse -addr 127.0.0.1:0 -tls &   # start it\n" +
	"```\n" +
	"### One.a\n" +
	"deeper\n" +
	"## Two\n" +
	"| flag | default | meaning |\n" +
	"|---|---:|---|\n" +
	"| `-addr address` | `127.0.0.1:8421` | where \\| to listen |\n" +
	"| `-tls` | | HTTPS |\n" +
	"\n" +
	"after the table\n"

func TestSection(t *testing.T) {
	for _, tc := range []struct {
		heading, want string
		ok            bool
	}{
		{"## One", "text of one\n```sh\n# not a heading: inside a block\nmockclearinghouse -addr 127.0.0.1:0 -tls &   # start it\n```\n### One.a\ndeeper\n", true},
		{"### One.a", "deeper\n", true},
		{"## Three", "", false},
		{"## On", "", false},
	} {
		have, ok := Section(doc, tc.heading)
		if have != tc.want || ok != tc.ok {
			t.Errorf("Section(%q): have %q, %v; want %q, %v", tc.heading, have, ok, tc.want, tc.ok)
		}
	}
}

func TestBlocks(t *testing.T) {
	have := Blocks(doc + "```\nplain\n```\n")
	want := []Block{
		{Lang: "sh", Text: "# not a heading: inside a block\nmockclearinghouse -addr 127.0.0.1:0 -tls &   # start it\n", Line: 5},
		{Lang: "", Text: "plain\n", Line: 18},
	}
	if !slices.Equal(have, want) {
		t.Errorf("have %+v\nwant %+v", have, want)
	}
	if have := Blocks("no blocks\n"); len(have) != 0 {
		t.Errorf("Blocks of a text without blocks: %+v", have)
	}
}

func TestTable(t *testing.T) {
	two, _ := Section(doc, "## Two")
	header, rows := Table(two)
	if want := []string{"flag", "default", "meaning"}; !slices.Equal(header, want) {
		t.Errorf("header %q, want %q", header, want)
	}
	want := [][]string{{"`-addr address`", "`127.0.0.1:8421`", "where | to listen"}, {"`-tls`", "", "HTTPS"}}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if h, r := Table("no table\n"); h != nil || r != nil {
		t.Errorf("Table of a text without a table: %q %q", h, r)
	}
}

func TestCode(t *testing.T) {
	have := Code("see `a/b.go` and `Server.update`, not `unclosed")
	if want := []string{"a/b.go", "Server.update"}; !slices.Equal(have, want) {
		t.Errorf("have %q, want %q", have, want)
	}
}

// TestHelpFlags reads what package flag really prints.
func TestHelpFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("addr", "127.0.0.1:8421", "`address` to listen on")
	fs.Bool("tls", false, "serve HTTPS")
	fs.Bool("v", false, "verbose")
	fs.Int("n", 3, "a count")
	fs.Duration("timeout", 30*time.Minute, "stop after `duration`\n(0: never)")
	fs.String("creds-out", "", "write to `file`")
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	have := HelpFlags("Usage of x:\n" + b.String() + "\nExit status: 0\n")
	want := []Flag{
		{Name: "addr", Arg: "address", Default: "127.0.0.1:8421"},
		{Name: "creds-out", Arg: "file"},
		{Name: "n", Arg: "int", Default: "3"},
		{Name: "timeout", Arg: "duration", Default: "30m0s"},
		{Name: "tls"},
		{Name: "v"},
	}
	if !slices.Equal(have, want) {
		t.Errorf("from\n%s\nhave %+v\nwant %+v", b.String(), have, want)
	}
}

func TestShell(t *testing.T) {
	for _, tc := range []struct {
		blk  Block
		want [][]string
	}{
		{Block{Lang: "sh", Text: "rm -f /tmp/c.json   # fresh\n" +
			"/tmp/mock -addr 127.0.0.1:0 -creds-out /tmp/c.json >/dev/null 2>&1 &\n" +
			"until [ -s /tmp/c.json ]; do sleep 0.2; done\n" +
			"X=1 Y='a b' go run ./cmd/conformance -creds \"/tmp/c.json\" \\\n  -html r.html && kill %1\n" +
			"export K=$(jq -r '.a | .b' f)\n"},
			[][]string{
				{"rm", "-f", "/tmp/c.json"},
				{"/tmp/mock", "-addr", "127.0.0.1:0", "-creds-out", "/tmp/c.json"},
				{"until", "[", "-s", "/tmp/c.json", "]"}, {"do", "sleep", "0.2"}, {"done"},
				{"X=1", "Y=a b", "go", "run", "./cmd/conformance", "-creds", "/tmp/c.json", "-html", "r.html"}, {"kill", "%1"},
				{"export", "K=$(jq -r '.a | .b' f)"}, {"jq", "-r", ".a | .b", "f"},
			}},
		{Block{Lang: "console", Text: "$ clearinghouse list --json | jq .\n{\"vessels\": []}\n$ echo $?\n0\n"},
			[][]string{{"clearinghouse", "list", "--json"}, {"jq", "."}, {"echo", "$?"}}},
	} {
		have := Shell(tc.blk)
		if !slices.EqualFunc(have, tc.want, slices.Equal) {
			t.Errorf("Shell(%q):\nhave %q\nwant %q", tc.blk.Text, have, tc.want)
		}
	}
}

func TestInvocations(t *testing.T) {
	md := "```sh\n" +
		"go build -o /tmp/mockclearinghouse ./cmd/mockclearinghouse\n" +
		"/tmp/mockclearinghouse -tls &\n" +
		"go run ./cmd/mockclearinghouse -state s\n" +
		"go run -race github.com/x/y/cmd/mockclearinghouse@latest -v\n" +
		"A=b mockclearinghouse\n" +
		"go run ./cmd/clearinghouse list\n" +
		"```\n" +
		"```go\nmockclearinghouse -not-shell\n```\n" +
		"```console\n$ mockclearinghouse -h\nmockclearinghouse -output-line\n```\n"
	have := Invocations(md, "mockclearinghouse")
	want := [][]string{{"-tls"}, {"-state", "s"}, {"-v"}, {}, {"-h"}}
	if !slices.EqualFunc(have, want, slices.Equal) {
		t.Errorf("have %q\nwant %q", have, want)
	}
}

func TestUnknownFlags(t *testing.T) {
	flags := []Flag{{Name: "addr", Arg: "address"}, {Name: "tls"}, {Name: "v"}}
	for _, tc := range []struct {
		args         []string
		interspersed bool
		want         []string
	}{
		{[]string{"-addr", "-nope", "-tls"}, false, nil}, // -nope is -addr's value
		{[]string{"--addr=x", "-tls", "-v"}, false, nil},
		{[]string{"-tls", "-nope", "-addr=x", "-bad=1"}, false, []string{"-nope", "-bad=1"}},
		{[]string{"-tls", "list", "-nope"}, false, nil},
		{[]string{"-tls", "list", "-nope"}, true, []string{"-nope"}},
		{[]string{"--", "-nope"}, true, nil},
	} {
		have := UnknownFlags(tc.args, flags, tc.interspersed)
		if !slices.Equal(have, tc.want) {
			t.Errorf("UnknownFlags(%q, %v): have %q, want %q", tc.args, tc.interspersed, have, tc.want)
		}
	}
}

func TestRoot(t *testing.T) {
	if !strings.Contains(Read(t, "go.mod"), "module github.com/seattletestbed/clearinghouse-go") {
		t.Error("Read(go.mod) is not the module's go.mod")
	}
}

func ExampleTable() {
	header, rows := Table("| code | meaning |\n|---:|---|\n| 0 | success |\n| 2 | usage |\n")
	fmt.Println(header, rows)
	// Output: [code meaning] [[0 success] [2 usage]]
}

// FuzzShell checks that no command line, however broken its quotes,
// substitutions or operators, makes Shell or Invocations panic, and that
// no word it returns is empty.
func FuzzShell(f *testing.F) {
	for _, s := range []string{
		"mockclearinghouse -addr 127.0.0.1:0 &",
		"echo 'unclosed",
		"X=$(a $(b) | c) go run ./cmd/mockclearinghouse@v1 -v 2>&1 >/dev/null",
		"a || b && c; d & e | f",
		"$(",
		"\\",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, lang := range []string{"sh", "console"} {
			for _, cmd := range Shell(Block{Lang: lang, Text: "$ " + line + "\n" + line + "\n"}) {
				for _, w := range cmd {
					if w == "" {
						t.Fatalf("an empty word in %q from %q", cmd, line)
					}
				}
			}
		}
		Invocations("```sh\n"+line+"\n```\n", "mockclearinghouse")
	})
}

func TestDocuments(t *testing.T) {
	docs := Documents(t)
	for _, want := range []string{"README.md", "docs/clearinghouse-api.md"} {
		if !slices.Contains(docs, want) {
			t.Errorf("Documents() = %q lacks %s", docs, want)
		}
	}
	for _, d := range docs {
		Read(t, d) // each exists
	}
}
