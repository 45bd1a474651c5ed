// Package doccheck holds what the tests that keep the project's documents
// true have in common: cutting a section out of a Markdown document, its
// fenced code blocks and tables, the commands its shell blocks run, and
// the flags a command's -h output lists.
//
// The tests that use it compare a document with the code it describes: the
// mock's flag table with `mockclearinghouse -h` (cmd/mockclearinghouse),
// the conformance runner's with `conformance -h` (cmd/conformance), the
// command-line client's transcript with what the client prints
// (cmd/clearinghouse), the recipes with their files (examples), and the
// README, the architecture guide and CONTRIBUTING.md with the tree
// (docs/docs_test.go).
package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Root returns the module's root directory: the nearest directory at or
// above the working directory that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("doccheck: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Read returns the file at rel, a slash-separated path relative to the
// module's root.
func Read(t testing.TB, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Root(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Documents returns the documents whose commands and code the tests keep
// true, as slash-separated paths relative to the module's root: the
// README, CONTRIBUTING.md, the recipes' README and every page under docs/.
// (CHANGELOG.md is history, and keeps the names of its time.)
func Documents(t testing.TB) []string {
	t.Helper()
	root := Root(t)
	out := []string{"README.md", "CONTRIBUTING.md", "examples/README.md"}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		out = append(out, "docs/"+filepath.Base(p))
	}
	return out
}

// Section returns the part of the Markdown document doc under the heading
// line (such as "## Flags"), up to the next heading of the same or a
// higher level outside a code block, and whether doc has that heading.
func Section(doc, heading string) (string, bool) {
	level := strings.Index(heading, " ")
	var b strings.Builder
	in, fenced := false, false
	for _, line := range strings.SplitAfter(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "#") {
			if in && len(line)-len(strings.TrimLeft(line, "#")) <= level {
				break
			}
			if strings.TrimSpace(line) == heading {
				in = true
				continue
			}
		}
		if in {
			b.WriteString(line)
		}
	}
	return b.String(), in
}

// Block is a fenced code block of a Markdown text.
type Block struct {
	Lang string // the word after the opening fence: "go", "sh", "console", or ""
	Text string // the contents, each line ending in a newline
	Line int    // the line number of the opening fence, from 1
}

// Blocks returns the fenced code blocks of a Markdown text, in order.
func Blocks(md string) []Block {
	var out []Block
	lines := strings.SplitAfter(md, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		blk := Block{Lang: strings.TrimSpace(strings.TrimPrefix(lines[i], "```")), Line: i + 1}
		var b strings.Builder
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			b.WriteString(lines[i])
		}
		blk.Text = b.String()
		out = append(out, blk)
	}
	return out
}

// Table returns the first table of a Markdown text: its header cells and
// the cells of each row after the separator, trimmed. A table is a run of
// lines that begin with "|"; a "\|" inside a cell is a literal bar.
func Table(md string) (header []string, rows [][]string) {
	started := false
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			if started {
				break
			}
			continue
		}
		cells := splitRow(line)
		switch {
		case !started:
			header, started = cells, true
		case isSeparator(cells):
		default:
			rows = append(rows, cells)
		}
	}
	return header, rows
}

func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	line = strings.ReplaceAll(line, `\|`, "\x00")
	var cells []string
	for _, c := range strings.Split(line, "|") {
		cells = append(cells, strings.TrimSpace(strings.ReplaceAll(c, "\x00", "|")))
	}
	return cells
}

func isSeparator(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, ":-") != "" || c == "" {
			return false
		}
	}
	return true
}

// Code returns the texts in backquotes in s, in order.
func Code(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i+1:], '`')
		if j < 0 {
			return out
		}
		out = append(out, s[i+1:i+1+j])
		s = s[i+1+j+1:]
	}
}

// Flag is one flag as a command's -h output (flag.PrintDefaults) lists
// it.
type Flag struct {
	Name    string // without the dash
	Arg     string // the argument's name ("file", "duration"), "" for a boolean flag
	Default string // the default value as -h shows it, unquoted; "" when it shows none
}

var (
	helpFlagLine = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9_-]*)(?: ([^\s]+))?(?:\t(.*))?$`)
	helpDefault  = regexp.MustCompile(`\(default (.*)\)$`)
)

// HelpFlags returns the flags the output of a command's -h lists, in its
// order. It reads the format of flag.PrintDefaults: a line "  -name arg"
// (or "  -name\tusage" for a short boolean flag) and the usage on the
// lines after it, indented by four spaces and a tab, ending in
// "(default X)" when the default is not the zero value.
func HelpFlags(help string) []Flag {
	var out []Flag
	var usage []string
	flush := func() {
		if len(out) == 0 {
			return
		}
		text := strings.Join(usage, " ")
		if m := helpDefault.FindStringSubmatch(text); m != nil {
			d := m[1]
			if u, err := strconv.Unquote(d); err == nil {
				d = u
			}
			out[len(out)-1].Default = d
		}
		usage = nil
	}
	for _, line := range strings.Split(help, "\n") {
		if m := helpFlagLine.FindStringSubmatch(line); m != nil {
			flush()
			out = append(out, Flag{Name: m[1], Arg: m[2]})
			if m[3] != "" {
				usage = append(usage, strings.TrimSpace(m[3]))
			}
			continue
		}
		if strings.HasPrefix(line, "    \t") && len(out) > 0 {
			usage = append(usage, strings.TrimSpace(line))
			continue
		}
		flush()
	}
	flush()
	return out
}

// Shell returns the simple commands of a shell block ("sh", "shell",
// "bash") or of the command lines of a console block ("console": the
// lines that begin with "$ "), each as its words: quotes removed, comments,
// redirections and the operators | || && ; & dropped. A line ending in a
// backslash continues on the next. A command substitution $(...) stays
// one word of its command, and the commands inside it follow that command.
func Shell(b Block) [][]string {
	var lines []string
	cont := false
	for _, line := range strings.Split(b.Text, "\n") {
		switch {
		case cont:
			lines[len(lines)-1] += " " + line
		case b.Lang == "console":
			cmd, ok := strings.CutPrefix(line, "$ ")
			if !ok {
				continue
			}
			lines = append(lines, cmd)
		default:
			lines = append(lines, line)
		}
		last := &lines[len(lines)-1]
		cont = strings.HasSuffix(*last, `\`)
		*last = strings.TrimSuffix(*last, `\`)
	}
	var out [][]string
	for _, line := range lines {
		out = append(out, simpleCommands(line)...)
	}
	return out
}

// simpleCommands splits one command line into its simple commands, and
// appends those of the command substitutions in its words.
func simpleCommands(line string) [][]string {
	var out [][]string
	var cur []string
	var inner []string
	end := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for _, w := range words(line) {
		if w.op {
			end()
			continue
		}
		if w.text == "" || isRedirection(w.text) && !w.quoted {
			continue
		}
		if strings.HasPrefix(w.text, "#") && !w.quoted {
			break
		}
		cur = append(cur, w.text)
		if i := strings.Index(w.text, "$("); i >= 0 && !w.quoted {
			inner = append(inner, strings.TrimSuffix(w.text[i+2:], ")"))
		}
	}
	end()
	for _, in := range inner {
		out = append(out, simpleCommands(in)...)
	}
	return out
}

var redirection = regexp.MustCompile(`^[0-9]*(>>?|<)(&[0-9]+)?`)

// isRedirection reports whether w is a redirection ("2>&1", ">/dev/null",
// "<file"); one whose target is the next word is not supported.
func isRedirection(w string) bool { return redirection.MatchString(w) }

type word struct {
	text   string
	quoted bool // some of it was quoted
	op     bool // an operator: | || && ; &
}

// words splits a command line into words and operators, as a POSIX shell
// does for the simple cases documents use.
func words(line string) []word {
	var out []word
	var b strings.Builder
	quoted, have := false, false
	flush := func() {
		if have {
			out = append(out, word{text: b.String(), quoted: quoted})
		}
		b.Reset()
		quoted, have = false, false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				j = len(line) - i - 1
			}
			b.WriteString(line[i+1 : i+1+j])
			i += j + 1
			quoted, have = true, true
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			depth, j := 0, i+1
			for ; j < len(line); j++ {
				if line[j] == '(' {
					depth++
				} else if line[j] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			b.WriteString(line[i:min(j+1, len(line))])
			i, have = j, true
		case c == '|' || c == ';' || c == '&':
			if c == '&' && b.Len() > 0 && strings.HasSuffix(b.String(), ">") {
				b.WriteByte(c) // 2>&1
				have = true
				continue
			}
			flush()
			if i+1 < len(line) && (line[i+1] == c) {
				i++
			}
			out = append(out, word{op: true})
		default:
			b.WriteByte(c)
			have = true
		}
	}
	flush()
	return out
}

// Invocations returns the argument lists with which the shell and console
// blocks of a Markdown text run the command name: as name (or a path
// ending in /name) at the start of a simple command after any variable
// assignments, or as "go run" of a package path ending in cmd/name
// (with an @version or not).
func Invocations(md, name string) [][]string {
	var out [][]string
	for _, b := range Blocks(md) {
		switch b.Lang {
		case "sh", "shell", "bash", "console":
		default:
			continue
		}
		for _, cmd := range Shell(b) {
			if args, ok := invocation(cmd, name); ok {
				out = append(out, args)
			}
		}
	}
	return out
}

func invocation(cmd []string, name string) ([]string, bool) {
	for len(cmd) > 0 && isAssignment(cmd[0]) {
		cmd = cmd[1:]
	}
	if len(cmd) == 0 {
		return nil, false
	}
	if cmd[0] == name || strings.HasSuffix(cmd[0], "/"+name) {
		return cmd[1:], true
	}
	if cmd[0] == "go" && len(cmd) > 2 && cmd[1] == "run" {
		for i, w := range cmd[2:] {
			if strings.HasPrefix(w, "-") {
				continue
			}
			pkg, _, _ := strings.Cut(w, "@")
			if pkg == "./cmd/"+name || strings.HasSuffix(pkg, "/cmd/"+name) {
				return cmd[2+i+1:], true
			}
			return nil, false
		}
	}
	return nil, false
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// isAssignment reports whether w is a variable assignment, "NAME=value".
func isAssignment(w string) bool { return assignment.MatchString(w) }

// UnknownFlags returns the words of args that name a flag not in flags,
// reading args as package flag does: "-name", "--name", "-name=value";
// a flag that takes an argument consumes the next word unless it has
// "=value"; the first word that is not a flag, or "--", ends the flags
// unless interspersed is true (then only "--" does).
func UnknownFlags(args []string, flags []Flag, interspersed bool) []string {
	known := map[string]Flag{}
	for _, f := range flags {
		known[f.Name] = f
	}
	var bad []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if interspersed {
				continue
			}
			break
		}
		name := strings.TrimLeft(a, "-")
		name, _, hasValue := strings.Cut(name, "=")
		f, ok := known[name]
		if !ok {
			bad = append(bad, a)
			continue
		}
		if f.Arg != "" && !hasValue {
			i++
		}
	}
	return bad
}
