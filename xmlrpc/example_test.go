package xmlrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/seattletestbed/clearinghouse-go/xmlrpc"
)

func ExampleEncodeCall() {
	err := xmlrpc.EncodeCall(os.Stdout, "examples.getStateName", 41)
	fmt.Println()
	fmt.Println(err)
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>examples.getStateName</methodName><params><param><value><int>41</int></value></param></params></methodCall>
	// <nil>
}

func ExampleDecodeResponse() {
	doc := `<?xml version="1.0"?>
<methodResponse><params><param><value><struct>
  <member><name>node_ip</name><value><string>128.208.4.1</string></value></member>
  <member><name>node_port</name><value><int>1224</int></value></member>
  <member><name>is_active</name><value><boolean>1</boolean></value></member>
</struct></value></param></params></methodResponse>`

	var v struct {
		IP     string `xmlrpc:"node_ip"`
		Port   int    `xmlrpc:"node_port"`
		Active bool   `xmlrpc:"is_active"`
	}
	if err := xmlrpc.DecodeResponse(strings.NewReader(doc), &v); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", v)
	// Output: {IP:128.208.4.1 Port:1224 Active:true}
}

func ExampleFault() {
	doc := `<methodResponse><fault><value><struct>
  <member><name>faultCode</name><value><int>4</int></value></member>
  <member><name>faultString</name><value><string>Too many parameters.</string></value></member>
</struct></value></fault></methodResponse>`

	err := xmlrpc.DecodeResponse(strings.NewReader(doc), nil)
	var f *xmlrpc.Fault
	if errors.As(fmt.Errorf("calling: %w", err), &f) {
		fmt.Println(f.Code, f.String)
	}
	// Output: 4 Too many parameters.
}

func ExampleClient_Call() {
	srv, err := xmlrpc.NewServer()
	if err != nil {
		fmt.Println(err)
		return
	}
	err = srv.Register("math.add", func(ctx context.Context, params []any) (any, error) {
		var a, b int
		if err := xmlrpc.UnmarshalParams(params, &a, &b); err != nil {
			return nil, err
		}
		return a + b, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	c, err := xmlrpc.NewClient(hs.URL + "/RPC2")
	if err != nil {
		fmt.Println(err)
		return
	}
	var sum int
	err = c.Call(context.Background(), "math.add", &sum, 2, 3)
	fmt.Println(sum, err)

	err = c.Call(context.Background(), "math.add", &sum, "two", 3)
	var f *xmlrpc.Fault
	if errors.As(err, &f) {
		fmt.Println(f.Code, f.String)
	}
	// Output:
	// 5 <nil>
	// -32602 invalid method parameters: parameter 1: cannot decode string into Go value of type int
}

func ExampleClient_Multicall() {
	srv, err := xmlrpc.NewServer(xmlrpc.WithMulticall())
	if err != nil {
		fmt.Println(err)
		return
	}
	err = srv.Register("echo", func(ctx context.Context, params []any) (any, error) {
		return params, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	c, err := xmlrpc.NewClient(hs.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	results, err := c.Multicall(context.Background(),
		xmlrpc.MulticallEntry{Method: "echo", Params: []any{"a", 1}},
		xmlrpc.MulticallEntry{Method: "missing"},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	var echoed []any
	fmt.Println(results[0].Decode(&echoed), echoed)
	fmt.Println(results[1].Err)
	// Output:
	// <nil> [a 1]
	// xmlrpc: fault -32601: method not found: missing
}
