// Package examples_test holds the recipes for testing a client against
// the mock clearinghouse, and runs each of them for real: the Go
// recipe (careful_test.go) is an ordinary test; the pytest recipe
// (testdata/python) and the node:test recipe (testdata/node) run against
// the mockclearinghouse binary, built once for this package's tests.
// TestReadmeShowsTheRecipes keeps the copies in README.md (this
// directory's) equal to the files.
//
// pytest comes from Debian's python3-pytest and the Node recipe's npm
// packages from `npm ci` in testdata/node; .ci/run provides both. Without
// them the tests skip, and fail under CI (internal/testskip).
package examples_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seattletestbed/clearinghouse-go/internal/testskip"
)

// TestMain removes the directory of the binary that mockBinary builds.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// mockBinary builds cmd/mockclearinghouse once and returns its path.
func mockBinary(t *testing.T) string {
	t.Helper()
	goCmd := testskip.GoCommand(t, "building the mock for the recipes")
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "recipes-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "mockclearinghouse")
		out, err := exec.Command(goCmd, "build", "-o", binPath, "../cmd/mockclearinghouse").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, out}
		}
	})
	if buildErr != nil {
		t.Fatalf("building the mock: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

// pytest returns a Python interpreter that has pytest: python3 on PATH,
// or Debian's /usr/bin/python3 (where python3-pytest installs it, when
// PATH leads to another Python). Without one it skips, or fails under CI.
func pytest(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if err := exec.Command(path, "-m", "pytest", "--version").Run(); err == nil {
			return path
		}
		tried = append(tried, path)
	}
	testskip.Skipf(t, "no Python with pytest (tried %v); install it to run the pytest recipe (.ci/run installs Debian's python3-pytest)", tried)
	return ""
}

// run runs a command in dir with the mock binary in $MOCKCLEARINGHOUSE,
// for at most a minute, and returns its exit code and its standard output
// followed by its standard error.
func run(t *testing.T, dir string, name string, args ...string) (int, string) {
	t.Helper()
	code, stdout, stderr := run3(t, dir, name, args...)
	return code, stdout + stderr
}

// run3 is run with the two outputs apart.
func run3(t *testing.T, dir string, name string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MOCKCLEARINGHOUSE="+mockBinary(t), "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", name, err, stdout.String(), stderr.String())
	}
	return 0, stdout.String(), stderr.String()
}

// TestPythonRecipe runs the pytest recipe: its four cases (reset after,
// reset before, truncated answer, 503) pass, and the fixture finds
// nothing in the mock's report.
func TestPythonRecipe(t *testing.T) {
	t.Parallel()
	py := pytest(t)
	code, out := run(t, "testdata/python", py, "-m", "pytest", "-q", "-p", "no:cacheprovider")
	if code != 0 || !strings.Contains(out, "4 passed") {
		t.Fatalf("pytest exited %d, want 0 with 4 passed:\n%s", code, out)
	}
}

// TestPythonFixtureFailsOnFindings runs the recipe's fixture with a
// careless test: xmlrpc.client's own Transport sends an acquisition again
// after a reset, so the account holds twice what it asked for and never
// releases it. The fixture must fail the test with both findings.
func TestPythonFixtureFailsOnFindings(t *testing.T) {
	t.Parallel()
	py := pytest(t)
	dir := t.TempDir()
	conftest, err := os.ReadFile("testdata/python/conftest.py")
	if err != nil {
		t.Fatal(err)
	}
	const careless = `import xmlrpc.client
import pytest

@pytest.mark.parametrize("clearinghouse", ["acquire_resources:reset_after,next=1"], indirect=True)
def test_default_transport(clearinghouse):
    proxy = xmlrpc.client.ServerProxy(clearinghouse.url)
    got = proxy.acquire_resources(clearinghouse.auth, {"rspec_type": "wan", "number_of_nodes": 2})
    assert len(got) == 2  # no error: the reset was hidden by a second call
`
	for name, data := range map[string][]byte{"conftest.py": conftest, "test_careless.py": []byte(careless)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out := run(t, dir, py, "-m", "pytest", "-q", "-p", "no:cacheprovider")
	for _, want := range []string{
		"Failed: the mock's behaviour report: leak: holds 4 vessels never released",
		"; duplicate_acquire: acquired 2 vessels at ",
		"held 4, its calls asked for 2",
		"1 passed, 1 error",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pytest output lacks %q", want)
		}
	}
	if code != 1 || t.Failed() {
		t.Fatalf("pytest exited %d, want 1 (a test failed):\n%s", code, out)
	}
}

// nodeRecipe returns the node command, once the recipe's packages are
// installed (npm ci in testdata/node, as .ci/run does).
func nodeRecipe(t *testing.T) string {
	t.Helper()
	node := testskip.LookPath(t, "node", "the Node recipe")
	if _, err := os.Stat("testdata/node/node_modules/xmlrpc"); err != nil {
		testskip.Skipf(t, "the Node recipe's packages are not installed: run npm ci in examples/testdata/node (.ci/run does)")
	}
	return node
}

// TestNodeRecipe runs the node:test recipe: its four cases pass, and
// the mock's report has no finding.
func TestNodeRecipe(t *testing.T) {
	t.Parallel()
	node := nodeRecipe(t)
	code, out := run(t, "testdata/node", node, "--test")
	if code != 0 || !strings.Contains(out, "\n# pass 4\n") || !strings.Contains(out, "\n# fail 0\n") {
		t.Fatalf("node --test exited %d, want 0 with 4 passed:\n%s", code, out)
	}
}

// TestNodeHelperReportsFindings checks that the recipe's helper is no
// formality: a client that acquires and never releases gets a leak in
// what stop returns.
func TestNodeHelperReportsFindings(t *testing.T) {
	t.Parallel()
	node := nodeRecipe(t)
	const script = `
const xmlrpc = require('xmlrpc');
const { startMock } = require('./mockclearinghouse');
(async () => {
  const mock = await startMock('');
  const client = xmlrpc.createClient(mock.url);
  await new Promise((resolve, reject) => client.methodCall('acquire_resources',
    [mock.auth, { rspec_type: 'lan', number_of_nodes: 1 }], (err) => (err ? reject(err) : resolve())));
  console.log((await mock.stop()).map((f) => f.kind).join(','));
})();
`
	code, stdout, stderr := run3(t, "testdata/node", node, "-e", script)
	if code != 0 || stdout != "leak\n" {
		t.Fatalf("node exited %d with %q, want 0 with the finding leak\n%s", code, stdout, stderr)
	}
}

// TestNodeHelperSaysWhyTheMockDidNotStart: when the mock cannot start,
// startMock's error says why: a binary that is not there is named, with
// what to do; a mock that exits at once gives its status and what it
// printed.
func TestNodeHelperSaysWhyTheMockDidNotStart(t *testing.T) {
	t.Parallel()
	node := nodeRecipe(t)
	const script = `
if (process.argv[1]) process.env.MOCKCLEARINGHOUSE = process.argv[1];
const { startMock } = require('./mockclearinghouse');
startMock(process.argv[2]).then(
  async (mock) => { await mock.stop(); console.log('started'); },
  (err) => console.log(err.message));
`
	for _, tc := range []struct {
		name, bin, faults string
		want              []string
	}{
		{"no binary", "/nonexistent/mockclearinghouse", "",
			[]string{"/nonexistent/mockclearinghouse", "ENOENT", "MOCKCLEARINGHOUSE", "go install ./cmd/mockclearinghouse"}},
		{"bad flag", "", "no-such-method:bogus",
			[]string{"exited with status 2", `-faults-spec: mockserver: fault spec: rule 1 ("no-such-method:bogus")`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run3(t, "testdata/node", node, "-e", script, tc.bin, tc.faults)
			if code != 0 {
				t.Fatalf("node exited %d\n%s%s", code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("startMock's error lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// recipeFiles are the files README.md shows, verbatim.
var recipeFiles = []string{
	"testdata/python/conftest.py",
	"testdata/python/test_careful_acquire.py",
	"testdata/node/mockclearinghouse.js",
	"testdata/node/careful_acquire.test.js",
	"careful_test.go",
}

// readmeSection is the heading of examples/README.md, the page of the
// recipes.
const readmeSection = "# Testing your client against the mock"

// TestReadmeShowsTheRecipes keeps examples/README.md true: it must show
// each recipe file whole, as a fenced code block equal to the file.
func TestReadmeShowsTheRecipes(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	section, ok := cutSection(string(readme), readmeSection)
	if !ok {
		t.Fatalf("examples/README.md has no heading %q", readmeSection)
	}
	blocks := codeBlocks(section)
	for _, name := range recipeFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, b := range blocks {
			found = found || b == string(data)
		}
		if !found {
			t.Errorf("examples/README.md does not show examples/%s verbatim", name)
		}
	}
}

// cutSection returns the part of the Markdown document doc under the
// heading line, up to the next heading of the same or a higher level
// outside a code block.
func cutSection(doc, heading string) (string, bool) {
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

// codeBlocks returns the contents of the fenced code blocks of a Markdown
// text, each ending in a newline.
func codeBlocks(md string) []string {
	var out []string
	lines := strings.SplitAfter(md, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		var b strings.Builder
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			b.WriteString(lines[i])
		}
		out = append(out, b.String())
	}
	return out
}
