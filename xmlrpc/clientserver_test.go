package xmlrpc

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func newTestServer(t *testing.T, opts ...ServerOption) (*Server, *Client) {
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
