package docs

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/seattletestbed/clearinghouse-go/internal/doccheck"
	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// The tests in this file keep the README, the guides and the pages under
// docs/ true: the README's size and each of its code blocks, the links of
// every document, and the files and Go names the guides cite.

// readmeMax bounds the README: the front door, read in five minutes.
const readmeMax = 12 << 10

// quickstart is the README's example program, and its test.
const (
	quickstart     = "examples/quickstart/main.go"
	quickstartTest = "examples/quickstart/main_test.go"
)

func TestReadmeSize(t *testing.T) {
	if n := len(doccheck.Read(t, "README.md")); n > readmeMax {
		t.Errorf("README.md has %d bytes, more than %d: move the details to a page under docs/ and link it", n, readmeMax)
	}
}

// TestReadmeBlocks accounts for every code block of the README: the Go
// block is the quickstart program, which its Example runs; a text block
// is the output that Example checks, or the mock's banner (which
// cmd/mockclearinghouse's TestReadmeBanner compares); a console block is
// a run of lines of the CLI page's session, which
// cmd/clearinghouse's TestDocTranscript runs; a shell block runs only
// known programs, on paths that exist. (The flags of the project's
// commands in every block are checked by each command's own tests.)
func TestReadmeBlocks(t *testing.T) {
	readme := doccheck.Read(t, "README.md")
	program := doccheck.Read(t, quickstart)
	output := exampleOutput(t, doccheck.Read(t, quickstartTest))
	session := transcript(t)
	module := modulePath(t)
	kinds := map[string]int{}
	for _, b := range doccheck.Blocks(readme) {
		kinds[b.Lang]++
		where := "README.md:" + strconv.Itoa(b.Line)
		switch b.Lang {
		case "go":
			if b.Text != program {
				t.Errorf("%s: the Go block is not %s", where, quickstart)
			}
		case "text":
			if b.Text != output && !strings.HasPrefix(b.Text, "Mock Seattle Clearinghouse listening at ") {
				t.Errorf("%s: a text block that is neither the output of %s's Example nor the mock's banner:\n%s", where, quickstartTest, b.Text)
			}
		case "console":
			if !strings.Contains(session, b.Text) {
				t.Errorf("%s: the console block is not a run of lines of the session in docs/cli.md:\n%s", where, b.Text)
			}
		case "sh":
			for _, cmd := range doccheck.Shell(b) {
				checkCommand(t, where, cmd, module)
			}
		default:
			t.Errorf("%s: a %q block, which no test checks", where, b.Lang)
		}
	}
	if kinds["go"] != 1 || kinds["console"] != 1 || kinds["text"] != 2 || kinds["sh"] < 5 {
		t.Errorf("README.md's blocks by language: %v; want one go, one console, two text and some sh blocks", kinds)
	}
}

// exampleOutput returns the text a test file's Example prints, from its
// "// Output:" comment.
func exampleOutput(t *testing.T, src string) string {
	t.Helper()
	_, out, ok := strings.Cut(src, "\t// Output:\n")
	if !ok {
		t.Fatal("no // Output: in the quickstart's Example")
	}
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		text, ok := strings.CutPrefix(line, "\t// ")
		if !ok {
			break
		}
		b.WriteString(text + "\n")
	}
	return b.String()
}

// transcript returns the console block of the CLI page's session.
func transcript(t *testing.T) string {
	t.Helper()
	section, ok := doccheck.Section(doccheck.Read(t, "docs/cli.md"), "## A session against the mock")
	if !ok {
		t.Fatal("docs/cli.md has no session")
	}
	for _, b := range doccheck.Blocks(section) {
		if b.Lang == "console" {
			return b.Text
		}
	}
	t.Fatal("docs/cli.md's session has no console block")
	return ""
}

func modulePath(t *testing.T) string {
	t.Helper()
	line, _, _ := strings.Cut(doccheck.Read(t, "go.mod"), "\n")
	return strings.TrimPrefix(line, "module ")
}

// programs are what the README's shell blocks may run.
var programs = []string{
	"go", "mockclearinghouse", "clearinghouse", "conformance", "export", "rm", "until", "do", "done", "kill",
}

// checkCommand checks one simple command of a README shell block: a
// known program; for go, a known subcommand whose local paths exist and
// whose module paths are this module's.
func checkCommand(t *testing.T, where string, cmd []string, module string) {
	t.Helper()
	for len(cmd) > 0 && strings.Contains(cmd[0], "=") {
		cmd = cmd[1:]
	}
	if len(cmd) == 0 {
		return
	}
	if !slices.Contains(programs, cmd[0]) {
		t.Errorf("%s: runs %q, which is not one of %q", where, cmd[0], programs)
		return
	}
	if cmd[0] != "go" {
		return
	}
	if len(cmd) < 2 || !slices.Contains([]string{"install", "get", "mod", "run", "test", "build"}, cmd[1]) {
		t.Errorf("%s: go %q", where, cmd[1:])
		return
	}
	root := doccheck.Root(t)
	for _, a := range cmd[2:] {
		a, _, _ = strings.Cut(a, "@")
		switch {
		case strings.HasPrefix(a, "./"):
			p := strings.TrimSuffix(strings.TrimSuffix(a, "..."), "/")
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
				t.Errorf("%s: go %s: %v", where, strings.Join(cmd[1:], " "), err)
			}
		case strings.HasPrefix(a, "github.com/"):
			if !strings.Contains(a, module) {
				t.Errorf("%s: %s names another module than %s", where, a, module)
			}
		}
	}
}

// TestReadmeLocalCopy runs the README's commands for building against a
// local copy of the module (go mod edit -replace, go mod tidy) in a new
// module holding the quickstart program, offline, and builds it.
func TestReadmeLocalCopy(t *testing.T) {
	t.Parallel()
	goCmd := testskip.GoCommand(t, "building a module that uses a local copy")
	section, ok := doccheck.Section(doccheck.Read(t, "README.md"), "## The library")
	if !ok {
		t.Fatal("README.md has no section \"## The library\"")
	}
	var steps [][]string
	for _, b := range doccheck.Blocks(section) {
		for _, cmd := range doccheck.Shell(b) {
			if len(cmd) > 2 && cmd[0] == "go" && cmd[1] == "mod" {
				steps = append(steps, cmd)
			}
		}
	}
	if len(steps) != 2 {
		t.Fatalf("README.md's library section has %d go mod commands, want 2 (edit -replace, tidy): %q", len(steps), steps)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(doccheck.Read(t, quickstart)), 0o644); err != nil {
		t.Fatal(err)
	}
	root := doccheck.Root(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	goRun := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	goRun("mod", "init", "example.com/try")
	for _, step := range steps {
		args := slices.Clone(step[1:])
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, "=../clearinghouse-go", "="+root)
		}
		goRun(args...)
	}
	goRun("build", "-o", filepath.Join(dir, "quickstart"), ".")
}

// TestLinks checks the links of every document: a relative link names a
// file or directory that exists, and its #fragment a heading of that
// Markdown document.
func TestLinks(t *testing.T) {
	root := doccheck.Root(t)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	n := 0
	for _, doc := range doccheck.Documents(t) {
		text := doccheck.Read(t, doc)
		for _, m := range link.FindAllStringSubmatch(stripCode(text), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			n++
			file, frag, _ := strings.Cut(target, "#")
			rel := doc
			if file != "" {
				rel = path.Join(path.Dir(doc), file)
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
					t.Errorf("%s links to %s, which does not exist", doc, target)
					continue
				}
			}
			if frag != "" && !slices.Contains(anchors(doccheck.Read(t, rel)), frag) {
				t.Errorf("%s links to %s, but %s has no heading with the anchor #%s", doc, target, rel, frag)
			}
		}
	}
	if n < 40 {
		t.Errorf("found only %d relative links; the scan is broken", n)
	}
}

// stripCode removes the fenced code blocks of a Markdown text.
func stripCode(md string) string {
	var b strings.Builder
	fenced := false
	for _, line := range strings.SplitAfter(md, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			b.WriteString(line)
		}
	}
	return b.String()
}

// anchors returns the anchors GitHub gives the headings of a Markdown
// document: lower case, spaces to hyphens, other punctuation dropped.
func anchors(md string) []string {
	var out []string
	for _, line := range strings.Split(stripCode(md), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}

func TestAnchors(t *testing.T) {
	have := anchors("# A title\n```\n# not a heading\n```\n## 16. Caps: what one request may cost\n### 16.3 The mock's `/admin/` controls\n")
	want := []string{"a-title", "16-caps-what-one-request-may-cost", "163-the-mocks-admin-controls"}
	if !slices.Equal(have, want) {
		t.Errorf("have %q, want %q", have, want)
	}
}

// guides are the documents whose every cited path and Go name must exist.
var guides = []string{
	"README.md", "CONTRIBUTING.md", "examples/README.md",
	"docs/architecture.md", "docs/mock.md", "docs/cli.md", "docs/conformance.md",
}

// TestGuidesCiteWhatExists checks what the guides put in backquotes: a
// path (with a file extension, or beginning with a directory of the
// module) exists, relative to the module's root or to the guide; a Go
// name that begins with one of the module's package or type names
// (xmlrpc.NewClient, Server.update, (*journal).wait) is declared there;
// and a function named by itself with parentheses, or a Test, Fuzz,
// Benchmark or Example function, exists somewhere in the module.
func TestGuidesCiteWhatExists(t *testing.T) {
	root := doccheck.Root(t)
	idx := indexModule(t, root)
	top, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range top {
		dirs = append(dirs, e.Name())
	}
	paths, names := 0, 0
	for _, doc := range guides {
		for _, span := range doccheck.Code(stripCode(doccheck.Read(t, doc))) {
			switch kind, name := classify(span, dirs, idx); kind {
			case spanPath:
				paths++
				if !existsFrom(root, []string{".", path.Dir(doc)}, name) {
					t.Errorf("%s cites %s, which does not exist", doc, span)
				}
			case spanName:
				names++
				if !idx.names[name] {
					t.Errorf("%s cites %s, which the module does not declare", doc, span)
				}
			}
		}
	}
	if paths < 50 || names < 50 {
		t.Errorf("checked %d paths and %d Go names; the scan is broken", paths, names)
	}
}

// foreign are names that look like the module's but are another
// project's.
var foreign = map[string]bool{
	"xmlrpc.client": true, // Python's XML-RPC client module
}

const (
	spanOther = iota
	spanPath
	spanName
)

var (
	goName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	methodRef = regexp.MustCompile(`^\(\*?([A-Za-z_][A-Za-z0-9_]*)\)\.`)
	testFunc  = regexp.MustCompile(`^(Test|Fuzz|Benchmark|Example)([A-Z_]|$)`)
	fileExt   = regexp.MustCompile(`\.(go|md|txt|json|py|js|html|png|pem|sh)$`)
	// sourceExt is what a bare file name (no directory) must end in to
	// be taken for one of the module's files; other bare names are what
	// a command writes (report.html, creds.json).
	sourceExt = regexp.MustCompile(`\.(go|md)$`)
)

// classify says whether a backquoted span is a path, a Go name to look
// up (returned in the form the index uses), or something else.
func classify(span string, topDirs []string, idx *moduleIndex) (int, string) {
	if strings.ContainsAny(span, " \t$~<>{}:,=") || strings.HasPrefix(span, "/") || strings.HasPrefix(span, "-") || foreign[span] {
		return spanOther, ""
	}
	if strings.Contains(span, "/") || sourceExt.MatchString(span) {
		if strings.Contains(span, "*") {
			return spanOther, "" // a pattern
		}
		p := strings.TrimPrefix(span, "./")
		p = strings.TrimSuffix(strings.TrimSuffix(p, "..."), "/")
		first, _, _ := strings.Cut(p, "/")
		if fileExt.MatchString(p) || slices.Contains(topDirs, first) {
			return spanPath, p
		}
		return spanOther, ""
	}
	call := strings.HasSuffix(span, "()")
	name := strings.TrimSuffix(span, "()")
	name = strings.TrimPrefix(name, "*")
	name = methodRef.ReplaceAllString(name, "$1.")
	if !goName.MatchString(name) {
		return spanOther, ""
	}
	first, _, dotted := strings.Cut(name, ".")
	switch {
	case dotted && (idx.packages[first] || idx.types[first]):
		return spanName, name
	case !dotted && (call || testFunc.MatchString(name)):
		return spanName, name
	}
	return spanOther, ""
}

// existsFrom reports whether p exists relative to one of the directories
// (slash-separated, relative to root).
func existsFrom(root string, dirs []string, p string) bool {
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(path.Join(d, p)))); err == nil {
			return true
		}
	}
	return false
}

// moduleIndex holds the Go names the module declares, tests included:
// packages, types, and names in the forms "Name", "pkg.Name", "Type.Member"
// and "pkg.Type.Member" (members are methods and struct fields).
type moduleIndex struct {
	packages map[string]bool
	types    map[string]bool
	names    map[string]bool
	// consts maps a type's name ("mockserver.FaultKind") to the values
	// of the string constants the module declares of that type.
	consts map[string][]string
}

func indexModule(t *testing.T, root string) *moduleIndex {
	t.Helper()
	idx := &moduleIndex{packages: map[string]bool{}, types: map[string]bool{}, names: map[string]bool{}, consts: map[string][]string{}}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		idx.add(f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func (idx *moduleIndex) add(f *ast.File) {
	pkg := strings.TrimSuffix(f.Name.Name, "_test")
	idx.packages[pkg] = true
	name := func(parts ...string) {
		n := strings.Join(parts, ".")
		idx.names[n] = true
		idx.names[pkg+"."+n] = true
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil || len(d.Recv.List) == 0 {
				name(d.Name.Name)
				continue
			}
			if recv := receiverType(d.Recv.List[0].Type); recv != "" {
				name(recv, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					idx.types[s.Name.Name] = true
					name(s.Name.Name)
					idx.members(name, s)
				case *ast.ValueSpec:
					for i, n := range s.Names {
						name(n.Name)
						if typ, ok := s.Type.(*ast.Ident); ok && d.Tok == token.CONST && i < len(s.Values) {
							if lit, ok := s.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								v, _ := strconv.Unquote(lit.Value)
								idx.consts[pkg+"."+typ.Name] = append(idx.consts[pkg+"."+typ.Name], v)
							}
						}
					}
				}
			}
		}
	}
}

// members adds the fields of a struct type and the methods of an
// interface type.
func (idx *moduleIndex) members(name func(...string), s *ast.TypeSpec) {
	var fields *ast.FieldList
	switch typ := s.Type.(type) {
	case *ast.StructType:
		fields = typ.Fields
	case *ast.InterfaceType:
		fields = typ.Methods
	}
	if fields == nil {
		return
	}
	for _, f := range fields.List {
		for _, n := range f.Names {
			name(s.Name.Name, n.Name)
		}
		if len(f.Names) == 0 { // embedded
			if e := receiverType(f.Type); e != "" {
				name(s.Name.Name, e)
			}
		}
	}
}

// receiverType returns the name of the type in a receiver or an embedded
// field: T, *T, T[P], pkg.T.
func receiverType(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return receiverType(x.X)
	case *ast.IndexExpr:
		return receiverType(x.X)
	case *ast.IndexListExpr:
		return receiverType(x.X)
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.Ident:
		return x.Name
	}
	return ""
}

func TestClassify(t *testing.T) {
	idx := &moduleIndex{
		packages: map[string]bool{"xmlrpc": true, "mockserver": true},
		types:    map[string]bool{"Server": true, "journal": true},
	}
	dirs := []string{"cmd", "docs", "mockserver"}
	for _, tc := range []struct {
		span string
		kind int
		name string
	}{
		{"mockserver/journal.go", spanPath, "mockserver/journal.go"},
		{"cmd/mockclearinghouse/", spanPath, "cmd/mockclearinghouse"},
		{"./cmd/...", spanPath, "cmd"},
		{"status.html", spanOther, ""},
		{"doc.go", spanPath, "doc.go"},
		{"text/xml", spanOther, ""},
		{"/admin/", spanOther, ""},
		{"go test -race ./...", spanOther, ""},
		{"xmlrpc.NewClient", spanName, "xmlrpc.NewClient"},
		{"Server.update", spanName, "Server.update"},
		{"(*journal).wait", spanName, "journal.wait"},
		{"*xmlrpc.Fault", spanName, "xmlrpc.Fault"},
		{"mockserver.New()", spanName, "mockserver.New"},
		{"errors.Is", spanOther, ""},
		{"t.Parallel()", spanOther, ""},
		{"TestViewsUseReadSeam", spanName, "TestViewsUseReadSeam"},
		{"update()", spanName, "update"},
		{"update", spanOther, ""},
		{"CI=1", spanOther, ""},
		{"xmlrpc.client", spanOther, ""},
		{"lock*.go", spanOther, ""},
		{"-race", spanOther, ""},
	} {
		kind, name := classify(tc.span, dirs, idx)
		if kind != tc.kind || name != tc.name {
			t.Errorf("classify(%q) = %d %q, want %d %q", tc.span, kind, name, tc.kind, tc.name)
		}
	}
}

// TestMockPageKinds keeps docs/mock.md's fault table and finding list
// equal to the kinds package mockserver declares (FaultKind,
// FindingKind), and the kinds its sample report shows among them.
func TestMockPageKinds(t *testing.T) {
	const page = "docs/mock.md"
	doc := doccheck.Read(t, page)
	idx := indexModule(t, doccheck.Root(t))
	faults, findings := idx.consts["mockserver.FaultKind"], idx.consts["mockserver.FindingKind"]
	if len(faults) < 5 || len(findings) < 5 {
		t.Fatalf("found %d fault kinds and %d finding kinds in mockserver; the scan is broken", len(faults), len(findings))
	}

	section, _ := doccheck.Section(doc, "## Fault profiles")
	_, rows := doccheck.Table(section)
	var have []string
	for _, r := range rows {
		have = append(have, doccheck.Code(r[0])[0])
	}
	if !slices.Equal(have, faults) {
		t.Errorf("%s's fault table lists %q; mockserver declares %q", page, have, faults)
	}

	section, _ = doccheck.Section(doc, "## The behaviour report")
	have = nil
	for _, line := range strings.Split(section, "\n") {
		if rest, ok := strings.CutPrefix(line, "- `"); ok {
			kind, _, _ := strings.Cut(rest, "`")
			have = append(have, kind)
		}
	}
	if !slices.Equal(have, findings) {
		t.Errorf("%s's findings are %q; mockserver declares %q", page, have, findings)
	}
	blocks := doccheck.Blocks(section)
	if len(blocks) != 1 {
		t.Fatalf("%s's report section has %d blocks, want 1 (a sample report)", page, len(blocks))
	}
	for _, line := range strings.Split(blocks[0].Text, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 0 && !slices.Contains(findings, f[0]) {
			t.Errorf("%s's sample report shows a finding %q, which mockserver does not declare", page, f[0])
		}
	}
}

// TestArchitectureImports keeps the package table of docs/architecture.md
// true: a row for every package outside internal/ (but docs and examples,
// which hold no code), each listing exactly the module's packages outside
// internal/ that its non-test files import.
func TestArchitectureImports(t *testing.T) {
	const page = "docs/architecture.md"
	root := doccheck.Root(t)
	module := modulePath(t)
	section, ok := doccheck.Section(doccheck.Read(t, page), "## The package graph")
	if !ok {
		t.Fatalf("%s has no section \"## The package graph\"", page)
	}
	_, rows := doccheck.Table(section)
	documented := map[string][]string{}
	for _, r := range rows {
		documented[strings.Trim(r[0], "`")] = doccheck.Code(r[1])
	}

	actual := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || rel == "internal") {
				return filepath.SkipDir
			}
			return nil
		}
		dir := path.Dir(rel)
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || dir == "docs" || dir == "examples" {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		if _, ok := actual[dir]; !ok {
			actual[dir] = []string{}
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if pkg, ok := strings.CutPrefix(ip, module+"/"); ok && !strings.HasPrefix(pkg, "internal/") && !slices.Contains(actual[dir], pkg) {
				actual[dir] = append(actual[dir], pkg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(actual) < 10 {
		t.Fatalf("found only %d packages; the walk is broken", len(actual))
	}
	for pkg, imports := range actual {
		want, ok := documented[pkg]
		if !ok {
			t.Errorf("%s has no row for package %s", page, pkg)
			continue
		}
		slices.Sort(imports)
		slices.Sort(want)
		if !slices.Equal(imports, want) {
			t.Errorf("%s says %s imports %q; it imports %q", page, pkg, want, imports)
		}
	}
	for pkg := range documented {
		if _, ok := actual[pkg]; !ok {
			t.Errorf("%s has a row for %s, which is no package of the module", page, pkg)
		}
	}
}
