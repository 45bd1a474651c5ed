package docs

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	contractDoc = "clearinghouse-api.md"
	xmlrpcDoc   = "xmlrpc.md"
	nmDoc       = "nodemanager-api.md"
)

// reference is one "§N" citation found in the repository.
type reference struct {
	file    string // relative to the module root
	line    int
	doc     string // the document it must resolve in
	section string // "5.4"
	row     string // "12" for "§9#12", else ""
}

// sectionRef matches a citation. The word before it says which document it
// means when the file alone does not: "xmlrpc.md §5", "spec §8",
// "contract §5.2", "nodemanager-api.md §6.3"; "§9#12" and "§9 #12" name
// row 12 of section 9's table.
var sectionRef = regexp.MustCompile(`(xmlrpc\.md|spec|contract|clearinghouse-api\.md|nodemanager-api\.md)?[ (]*§([0-9]+(?:\.[0-9]+)*)(?: ?#([0-9]+))?`)

// headings returns the numbered sections of a document ("1", "1.1", ...)
// and, per section, the numbers in the first column of its tables.
func headings(t *testing.T, name string) (map[string]bool, map[string]map[string]bool) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	heading := regexp.MustCompile(`^#{2,4} ([0-9]+(?:\.[0-9]+)*)\.? `)
	row := regexp.MustCompile(`^\| ([0-9]+) \|`)
	sections := map[string]bool{}
	rows := map[string]map[string]bool{}
	current := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := heading.FindStringSubmatch(sc.Text()); m != nil {
			current = m[1]
			sections[current] = true
			continue
		}
		if m := row.FindStringSubmatch(sc.Text()); m != nil && current != "" {
			if rows[current] == nil {
				rows[current] = map[string]bool{}
			}
			rows[current][m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sections, rows
}

// references finds every citation in the module's Go and Markdown files.
// A citation resolves in xmlrpc.md when it says so ("xmlrpc.md", "spec"),
// in nodemanager-api.md when it says so ("nodemanager-api.md"), and in
// clearinghouse-api.md when it says so ("contract", "clearinghouse-api.md").
// A citation that names no document resolves in xmlrpc.md when it stands
// in package xmlrpc or in xmlrpc.md itself; in nodemanager-api.md when it
// stands in nodemanager-api.md, under nodemanager/, or in a file with a
// path element whose name begins with "nm" (internal/nmproto/,
// internal/nmtest/, and the mock's node manager files, which are to be
// named nm*.go); otherwise in clearinghouse-api.md.
func references(t *testing.T, root string) []reference {
	t.Helper()
	var out []reference
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".md") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if rel == "docs/docs_test.go" {
			return nil // this file's examples are not citations
		}
		inXMLRPC := strings.HasPrefix(rel, "xmlrpc/") || rel == "docs/"+xmlrpcDoc
		inNM := strings.HasPrefix(rel, "nodemanager/") || rel == "docs/"+nmDoc
		for _, part := range strings.Split(rel, "/") {
			inNM = inNM || strings.HasPrefix(part, "nm")
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range sectionRef.FindAllStringSubmatch(line, -1) {
				doc := contractDoc
				switch m[1] {
				case "xmlrpc.md", "spec":
					doc = xmlrpcDoc
				case "nodemanager-api.md":
					doc = nmDoc
				case "":
					switch {
					case inXMLRPC:
						doc = xmlrpcDoc
					case inNM:
						doc = nmDoc
					}
				}
				out = append(out, reference{file: rel, line: i + 1, doc: doc, section: m[2], row: m[3]})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSectionReferencesResolve checks that every "§N" the code, the tests
// and the documents cite names a section (or table row) that exists.
func TestSectionReferencesResolve(t *testing.T) {
	type index struct {
		sections map[string]bool
		rows     map[string]map[string]bool
	}
	docs := map[string]index{}
	for _, name := range []string{contractDoc, xmlrpcDoc, nmDoc} {
		s, r := headings(t, name)
		docs[name] = index{s, r}
	}
	refs := references(t, "..")
	if len(refs) < 200 {
		t.Fatalf("found only %d section references; the scan is broken", len(refs))
	}
	cited := map[string]int{}
	for _, r := range refs {
		d := docs[r.doc]
		if !d.sections[r.section] {
			t.Errorf("%s:%d cites §%s, which %s does not have", r.file, r.line, r.section, r.doc)
			continue
		}
		if r.row != "" && !d.rows[r.section][r.row] {
			t.Errorf("%s:%d cites §%s#%s, which is not a row of %s §%s", r.file, r.line, r.section, r.row, r.doc, r.section)
		}
		cited[r.doc]++
	}
	for _, name := range []string{contractDoc, xmlrpcDoc, nmDoc} {
		if cited[name] == 0 {
			t.Errorf("nothing cites %s: the scan or the attribution is broken", name)
		}
	}
}

// TestReferenceAttribution pins the rule that decides which document a
// citation means.
func TestReferenceAttribution(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"xmlrpc/a.go":        "// spec §9#12 and §3.3 and contract §5.1\n",
		"mockserver/b.go":    "// (contract §8.1) and §7 and xmlrpc.md §5\n",
		"docs/xmlrpc.md":     "see §4\n",
		"docs/other.txt":     "§99 is not scanned\n",
		".hidden/c.go":       "// §98 is not scanned\n",
		"x/testdata/d.go":    "// §97 is not scanned\n",
		"clearinghouse/e.go": "// §12.2 step (§12.2)\n",
		// The node manager document: by directory, by an "nm" path
		// element, by its own name; "contract" still means the contract.
		"nodemanager/f.go":        "// §7.2 and contract §10\n",
		"internal/nmproto/g.go":   "// §6.1\n",
		"mockserver/nmnode.go":    "// §8.1, spec §3\n",
		"mockserver/h.go":         "// nodemanager-api.md §4.2 and §4.2\n",
		"seattlersa/i.go":         "// (nodemanager-api.md §3.3)\n",
		"docs/nodemanager-api.md": "see §5 and clearinghouse-api.md §7\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var have []string
	for _, r := range references(t, dir) {
		have = append(have, r.file+" "+r.doc+" "+r.section+"#"+r.row)
	}
	slices.Sort(have)
	want := []string{
		"clearinghouse/e.go clearinghouse-api.md 12.2#",
		"clearinghouse/e.go clearinghouse-api.md 12.2#",
		"docs/nodemanager-api.md clearinghouse-api.md 7#",
		"docs/nodemanager-api.md nodemanager-api.md 5#",
		"docs/xmlrpc.md xmlrpc.md 4#",
		"internal/nmproto/g.go nodemanager-api.md 6.1#",
		"mockserver/b.go clearinghouse-api.md 7#",
		"mockserver/b.go clearinghouse-api.md 8.1#",
		"mockserver/b.go xmlrpc.md 5#",
		"mockserver/h.go clearinghouse-api.md 4.2#",
		"mockserver/h.go nodemanager-api.md 4.2#",
		"mockserver/nmnode.go nodemanager-api.md 8.1#",
		"mockserver/nmnode.go xmlrpc.md 3#",
		"nodemanager/f.go clearinghouse-api.md 10#",
		"nodemanager/f.go nodemanager-api.md 7.2#",
		"seattlersa/i.go nodemanager-api.md 3.3#",
		"xmlrpc/a.go clearinghouse-api.md 5.1#",
		"xmlrpc/a.go xmlrpc.md 3.3#",
		"xmlrpc/a.go xmlrpc.md 9#12",
	}
	if !slices.Equal(have, want) {
		t.Errorf("references:\nhave %q\nwant %q", have, want)
	}
}

// TestNoPathsOutsideTheRepository keeps the documents and the code free of
// paths that mean something only on one machine.
func TestNoPathsOutsideTheRepository(t *testing.T) {
	bad := regexp.MustCompile(`(^|[^A-Za-z0-9_.])/(work|farm|root|home)/|shared/spec/`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.ToSlash(path) == "../docs/docs_test.go" {
			return nil // this file names the patterns
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".py", ".js", ".sh", ".txt", ".json", "":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if bad.MatchString(line) {
				t.Errorf("%s:%d names a path outside the repository: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
