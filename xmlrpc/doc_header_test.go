package xmlrpc

import (
	"go/ast"
	goparser "go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
)

// TestWithHeaderDocNamesRefused keeps WithHeader's comment true: every
// header it refuses as the client's own is named there, and every header
// named there is refused.
func TestWithHeaderDocNamesRefused(t *testing.T) {
	t.Parallel()
	f, err := goparser.ParseFile(token.NewFileSet(), "client.go", nil, goparser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "WithHeader" && fn.Doc != nil {
			doc = fn.Doc.Text()
		}
	}
	if doc == "" {
		t.Fatal("client.go: no documented WithHeader")
	}
	candidates := []string{
		"Accept", "Accept-Encoding", "Authorization", "Connection", "Content-Encoding",
		"Content-Length", "Content-Type", "Cookie", "Expect", "Host", "Keep-Alive",
		"Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "User-Agent",
		"X-Request-Id",
	}
	var refused []string
	for _, h := range candidates {
		if _, err := NewClient("http://127.0.0.1:1/", WithHeader(h, "v")); err != nil {
			refused = append(refused, h)
		}
	}
	words := strings.FieldsFunc(doc, func(r rune) bool { return r != '-' && !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z') })
	var named []string
	for _, h := range candidates {
		if slices.Contains(words, h) {
			named = append(named, h)
		}
	}
	if !slices.Equal(refused, named) {
		t.Errorf("WithHeader refuses %q but its comment names %q:\n%s", refused, named, doc)
	}
}
