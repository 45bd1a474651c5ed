package main

import (
	"net/http/httptest"
	"os"

	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// Example runs the program against an in-process mock made as
// `mockclearinghouse` makes it (the default population and seed, and the
// demo account demo1), through the variables the README sets.
func Example() {
	pop := mockserver.DefaultPopulation()
	mock, err := mockserver.New(mockserver.WithPopulation(pop), mockserver.WithSeed(pop.Seed))
	if err != nil {
		panic(err)
	}
	defer mock.Close()
	acct, err := mock.AddAccount(mockapi.AccountSpec{Username: "demo1", Password: "demo-password", Affiliation: "Mock Clearinghouse demo account"})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()
	os.Setenv("CLEARINGHOUSE_URL", srv.URL+"/xmlrpc/")
	os.Setenv("CLEARINGHOUSE_USERNAME", acct.Username)
	os.Setenv("CLEARINGHOUSE_API_KEY", acct.APIKey)

	main()
	// Output:
	// user demo1 may hold 10 vessels
	// acquired 2 WAN vessels
	// 13.229.218.249 expires in 168h0m0s
	// 210.58.8.11 expires in 168h0m0s
	// released 2 vessels
}
