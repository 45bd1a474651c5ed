package testskip

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// recorder is a testing.TB that notes a skip or a failure instead of
// ending the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                          {}
func (r *recorder) Skip(args ...any)                 { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Skipf(format string, args ...any) { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestIsCI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"", false}, {"0", false}, {"false", false}, {"FALSE", false},
		{"1", true}, {"true", true}, {"yes", true},
	} {
		getenv := func(k string) string {
			if k == EnvCI {
				return tc.value
			}
			return ""
		}
		if have := isCI(getenv); have != tc.want {
			t.Errorf("CI=%q: have %v, want %v", tc.value, have, tc.want)
		}
	}
}

func TestSkipf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ci                bool
		skipped, failedIn string
	}{
		{ci: false, skipped: "python3 is not on PATH"},
		{ci: true, failedIn: "python3 is not on PATH; with CI set this is a failure"},
	} {
		r := &recorder{}
		skipf(r, tc.ci, "python3 is not on %s", "PATH")
		if r.skipped != tc.skipped || !strings.HasPrefix(r.failed, tc.failedIn) || (tc.failedIn == "") != (r.failed == "") {
			t.Errorf("CI %v: have skipped %q, failed %q; want skipped %q, failed starting %q", tc.ci, r.skipped, r.failed, tc.skipped, tc.failedIn)
		}
	}
}

func TestLookPath(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	missing := "testskip-no-such-program"
	for _, tc := range []struct {
		name              string
		ci                bool
		want              string // the path returned
		skipped, failedIn string
	}{
		{name: self, want: self},
		{name: self, ci: true, want: self},
		{name: missing, skipped: missing + " is not on PATH, so the check cannot run"},
		{name: missing, ci: true, failedIn: missing + " is not on PATH, so the check cannot run"},
	} {
		r := &recorder{}
		have := lookPath(r, tc.ci, exec.LookPath, tc.name, "the check")
		if have != tc.want || !strings.HasPrefix(r.skipped, tc.skipped) || (tc.skipped == "") != (r.skipped == "") ||
			!strings.HasPrefix(r.failed, tc.failedIn) || (tc.failedIn == "") != (r.failed == "") {
			t.Errorf("%s, CI %v: have %q, skipped %q, failed %q; want %q, skipped %q, failed %q",
				tc.name, tc.ci, have, r.skipped, r.failed, tc.want, tc.skipped, tc.failedIn)
		}
	}
}

func TestGoCommand(t *testing.T) {
	t.Parallel()
	found := func(string) (string, error) { return "/path/go", nil }
	notFound := func(name string) (string, error) { return "", &exec.Error{Name: name, Err: exec.ErrNotFound} }
	goroot := t.TempDir()
	inGoroot := filepath.Join(goroot, "bin", "go")
	if runtime.GOOS == "windows" {
		inGoroot += ".exe"
	}
	if err := os.MkdirAll(filepath.Dir(inGoroot), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inGoroot, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name              string
		look              func(string) (string, error)
		goroot            string
		ci                bool
		want              string
		skipped, failedIn string
	}{
		{name: "on PATH", look: found, goroot: goroot, want: "/path/go"},
		{name: "in GOROOT", look: notFound, goroot: goroot, want: inGoroot},
		{name: "nowhere", look: notFound, goroot: t.TempDir(), skipped: "no go command on PATH or in GOROOT, so the check cannot run"},
		{name: "nowhere under CI", look: notFound, goroot: t.TempDir(), ci: true, failedIn: "no go command on PATH or in GOROOT, so the check cannot run"},
	} {
		r := &recorder{}
		have := goCommand(r, tc.ci, tc.look, tc.goroot, "the check")
		if have != tc.want && tc.want != "" || !strings.HasPrefix(r.skipped, tc.skipped) || (tc.skipped == "") != (r.skipped == "") ||
			!strings.HasPrefix(r.failed, tc.failedIn) || (tc.failedIn == "") != (r.failed == "") {
			t.Errorf("%s: have %q, skipped %q, failed %q; want %q, skipped %q, failed %q",
				tc.name, have, r.skipped, r.failed, tc.want, tc.skipped, tc.failedIn)
		}
	}
}

func TestExceptionSkipf(t *testing.T) {
	t.Parallel()
	for _, e := range []Exception{ChildProcess, NoDeployment, NoTmpfs, Platform} {
		r := &recorder{}
		e.Skipf(r, "no %s", "mount")
		if want := "no mount (allowed under CI: testskip." + e.String() + ")"; r.skipped != want || r.failed != "" {
			t.Errorf("%v: have skipped %q, failed %q; want skipped %q", e, r.skipped, r.failed, want)
		}
	}
	for _, e := range []Exception{0, -1, Platform + 1} {
		r := &recorder{}
		e.Skipf(r, "anything")
		if r.skipped != "" || !strings.Contains(r.failed, "not a documented exception") {
			t.Errorf("%v: have skipped %q, failed %q; want a failure", e, r.skipped, r.failed)
		}
	}
}

// directSkippers are the files allowed to call Skip, Skipf or SkipNow on
// a testing.TB themselves, with the number of such calls in each.
var directSkippers = map[string]int{
	// The conformance suite skips a check that the target cannot run
	// (no Controls, read-only, no second account); that depends on the
	// target, not on the machine, and the summary lists and counts each.
	"conformance/suite.go": 1,
	// ... through its T: the adapter passes the skip on to *testing.T
	// (Run), the runner ends the check itself (Check), and the runner's
	// test skips a check to see that.
	"conformance/t.go":           2,
	"conformance/runner.go":      2,
	"conformance/runner_test.go": 1,
	// This package, and its test of Exception.Skipf.
	"internal/testskip/testskip.go":      2,
	"internal/testskip/testskip_test.go": 2,
}

// exceptionSites pins how many places take each exception. Adding one
// means changing this table, in review.
var exceptionSites = map[string]int{
	"ChildProcess": 3,  // TestPersistKilledHelper, TestOpenLockedHelper, TestBrokenTarget
	"NoDeployment": 1,  // conformance's TestDeployment
	"NoTmpfs":      2,  // mountTinyTmpfs: not root, or the mount refused
	"Platform":     10, // symbolic links (3), SIGKILL (2), Unix file modes (2), a lock on the file, not a name (3)
}

// TestEverySkipIsCounted walks the module: every skip goes through this
// package, except in directSkippers, and each exception is used exactly
// as often as exceptionSites says.
func TestEverySkipIsCounted(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	direct := map[string]int{}
	exceptions := map[string][]string{}
	var stray []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		local := importName(f, "github.com/seattletestbed/clearinghouse-go/internal/testskip")
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Skip" && sel.Sel.Name != "Skipf" && sel.Sel.Name != "SkipNow") {
				return true
			}
			where := fmt.Sprintf("%s:%d", rel, fset.Position(call.Pos()).Line)
			switch x := sel.X.(type) {
			case *ast.Ident:
				if local != "" && x.Name == local { // testskip.Skipf
					return true
				}
			case *ast.SelectorExpr:
				if pkg, ok := x.X.(*ast.Ident); ok && local != "" && pkg.Name == local { // testskip.Platform.Skipf
					exceptions[x.Sel.Name] = append(exceptions[x.Sel.Name], where)
					return true
				}
			}
			if _, ok := directSkippers[rel]; ok {
				direct[rel]++
			} else {
				stray = append(stray, where)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, where := range stray {
		t.Errorf("%s: a skip that does not go through internal/testskip (use testskip.Skipf, or a documented exception)", where)
	}
	if !maps.Equal(direct, directSkippers) {
		t.Errorf("direct skips: have %v, want %v", direct, directSkippers)
	}
	have := map[string]int{}
	for name, sites := range exceptions {
		have[name] = len(sites)
	}
	if !maps.Equal(have, exceptionSites) {
		var lines []string
		for _, name := range slices.Sorted(maps.Keys(exceptions)) {
			lines = append(lines, name+": "+strings.Join(exceptions[name], ", "))
		}
		t.Errorf("exceptions taken: have %v, want %v\n%s", have, exceptionSites, strings.Join(lines, "\n"))
	}
}

// importName returns the name under which f imports path, or "".
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return filepath.Base(path)
		}
	}
	return ""
}

// moduleRoot finds the directory of go.mod above this package.
func moduleRoot(t *testing.T) string {
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
			t.Fatal("no go.mod above the package")
		}
		dir = parent
	}
}
