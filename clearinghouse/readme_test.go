package clearinghouse

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeSnippetIsTheExample keeps the README's client snippet true: it
// must be a contiguous run of lines of Example in example_test.go, which
// runs (and checks its output) against the mock on every test run.
func TestReadmeSnippetIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	i := strings.Index(section, "## Using the client library")
	if i < 0 {
		t.Fatal("README has no client library section")
	}
	section = section[i:]
	start := strings.Index(section, "```go\n")
	end := strings.Index(section[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatal("no go code block in the client library section")
	}
	snippet := lines(section[start+6 : start+6+end])

	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	body := string(src)
	j := strings.Index(body, "\nfunc Example() {")
	if j < 0 {
		t.Fatal("example_test.go has no func Example")
	}
	example := lines(body[j:])
	for k := 0; k+len(snippet) <= len(example); k++ {
		if strings.Join(example[k:k+len(snippet)], "\n") == strings.Join(snippet, "\n") {
			return
		}
	}
	t.Fatalf("the README snippet is not a copy of lines of Example:\n%s", strings.Join(snippet, "\n"))
}

// lines splits s into lines without indentation or blank lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
