package xmlrpc

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, opts ...Option) (*Server, *Client) {
	t.Helper()
	srv := mustServer(t, opts...)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := NewClient(hs.URL + "/RPC2")
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestClientServerRoundTrip(t *testing.T) {
	t.Parallel()
	srv, c := newTestServer(t, WithMulticall(), WithIntrospection())
	if err := srv.Register("sum", func(ctx context.Context, params []any) (any, error) {
		var a, b int
		if err := UnmarshalParams(params, &a, &b); err != nil {
			return nil, err
		}
		return a + b, nil
	}, MethodHelp("Adds two ints."), MethodSignature("int", "int", "int")); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := c.Call(context.Background(), "sum", &got, 2, 40); err != nil {
		t.Fatal(err)
	}
	if got != 42 {
		t.Fatalf("sum = %d, want 42", got)
	}
	err := c.Call(context.Background(), "sum", &got, "x", 1)
	var f *Fault
	if !errors.As(err, &f) || f.Code != -32602 {
		t.Fatalf("bad params: have %v, want fault -32602", err)
	}
	res, err := c.Multicall(context.Background(), MulticallEntry{"sum", []any{1, 2}}, MulticallEntry{"nope", nil})
	if err != nil {
		t.Fatal(err)
	}
	if err := res[0].Decode(&got); err != nil || got != 3 {
		t.Fatalf("multicall[0] = %d, %v", got, err)
	}
	if !errors.As(res[1].Err, &f) || f.Code != -32601 {
		t.Fatalf("multicall[1]: have %v, want fault -32601", res[1].Err)
	}
	var names []string
	if err := c.Call(context.Background(), "system.listMethods", &names); err != nil {
		t.Fatal(err)
	}
	want := []string{"sum", "system.listMethods", "system.methodHelp", "system.methodSignature", "system.multicall"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("system.listMethods: have %v, want %v", names, want)
	}
}

// TestOptionSides gives every option to both constructors: each is taken
// by the side or sides it configures, and the other side's constructor
// refuses it with an error that names it.
func TestOptionSides(t *testing.T) {
	t.Parallel()
	both := map[string]Option{
		"WithLimits":   WithLimits(Limits{}),
		"WithI8":       WithI8(),
		"WithAllowNil": WithAllowNil(),
		"WithLocation": WithLocation(time.UTC),
		"WithGzip":     WithGzip(),
	}
	clientOnly := map[string]Option{
		"WithHTTPClient":          WithHTTPClient(http.DefaultClient),
		"WithHeader":              WithHeader("X-Trace", "1"),
		"WithUserAgent":           WithUserAgent("test/1"),
		"WithBasicAuth":           WithBasicAuth("u", "p"),
		"WithSameOriginRedirects": WithSameOriginRedirects(1),
	}
	serverOnly := map[string]Option{
		"WithLogger":         WithLogger(slog.New(slog.DiscardHandler)),
		"WithFaultFunc":      WithFaultFunc(func(FaultKind, string, error) *Fault { return nil }),
		"WithErrorDetails":   WithErrorDetails(),
		"WithNonPOSTHandler": WithNonPOSTHandler(http.NotFoundHandler()),
		"WithObserver":       WithObserver(func(*http.Request, CallInfo) {}),
		"WithMulticall":      WithMulticall(),
		"WithIntrospection":  WithIntrospection(),
		"WithBodyBudget":     WithBodyBudget(BodyBudget{}),
	}
	newClient := func(o Option) error { _, err := NewClient("http://127.0.0.1:1/", o); return err }
	newServer := func(o Option) error { _, err := NewServer(o); return err }
	for name, o := range both {
		if err := newClient(o); err != nil {
			t.Errorf("NewClient(%s): %v", name, err)
		}
		if err := newServer(o); err != nil {
			t.Errorf("NewServer(%s): %v", name, err)
		}
	}
	for name, o := range clientOnly {
		if err := newClient(o); err != nil {
			t.Errorf("NewClient(%s): %v", name, err)
		}
		if have, want := fmt.Sprint(newServer(o)), "xmlrpc: "+name+" is a client option"; have != want {
			t.Errorf("NewServer(%s): have %s, want %s", name, have, want)
		}
	}
	for name, o := range serverOnly {
		if err := newServer(o); err != nil {
			t.Errorf("NewServer(%s): %v", name, err)
		}
		if have, want := fmt.Sprint(newClient(o)), "xmlrpc: "+name+" is a server option"; have != want {
			t.Errorf("NewClient(%s): have %s, want %s", name, have, want)
		}
	}
	var listed []string
	for _, m := range []map[string]Option{both, clientOnly, serverOnly} {
		for name := range m {
			listed = append(listed, name)
		}
	}
	slices.Sort(listed)
	if exported := optionFuncs(t); !slices.Equal(listed, exported) {
		t.Errorf("the test lists %q, the package exports %q", listed, exported)
	}
	if have, want := fmt.Sprint(newClient(Option{})), "xmlrpc: NewClient: zero Option"; have != want {
		t.Errorf("NewClient(Option{}): have %s, want %s", have, want)
	}
	if have, want := fmt.Sprint(newServer(Option{})), "xmlrpc: NewServer: zero Option"; have != want {
		t.Errorf("NewServer(Option{}): have %s, want %s", have, want)
	}
}

// optionFuncs lists, sorted, the package's exported functions that
// return an Option.
func optionFuncs(t *testing.T) []string {
	t.Helper()
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		file, err := goparser.ParseFile(token.NewFileSet(), f.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || fn.Type.Results == nil || len(fn.Type.Results.List) != 1 {
				continue
			}
			if id, ok := fn.Type.Results.List[0].Type.(*ast.Ident); ok && id.Name == "Option" {
				names = append(names, fn.Name.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}
