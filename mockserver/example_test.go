package mockserver_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// A test seeds an account and nodes, then drives the wire methods in
// process with Call (or over HTTP, since a Server is an http.Handler).
func ExampleServer_Call() {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mock, err := mockserver.New(
		mockserver.WithPopulation(mockserver.PopulationConfig{}), // no generated nodes
		mockserver.WithClock(func() time.Time { return start }),
		mockserver.WithTimeScale(0), // frozen: only Advance moves it
		mockserver.WithKeyBits(512),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer mock.Close()
	acct, err := mock.AddAccount(mockapi.AccountSpec{
		Username: "alice", Password: "secret1", Affiliation: "Test U", UserPort: 63100,
	})
	if err != nil {
		log.Fatal(err)
	}
	for i, ip := range []string{"10.0.1.1", "10.0.2.1", "10.0.3.1"} {
		if _, err := mock.AddNode(mockapi.NodeSpec{ID: fmt.Sprint("node", i), IP: ip}); err != nil {
			log.Fatal(err)
		}
	}
	auth := map[string]any{"username": "alice", "api_key": acct.APIKey}
	ctx := context.Background()

	res, err := mock.Call(ctx, "acquire_resources", auth,
		map[string]any{"rspec_type": "wan", "number_of_nodes": int64(2)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.([]any)), "vessels, expiring in",
		res.([]any)[0].(map[string]any)["expires_in_seconds"], "seconds")

	_, err = mock.Call(ctx, "acquire_resources", auth,
		map[string]any{"rspec_type": "wan", "number_of_nodes": int64(2)})
	fmt.Println(err)

	mock.Advance(4 * time.Hour) // the leases run out
	held, _ := mock.Holdings("alice")
	fmt.Println(len(held), "vessels held")
	// Output:
	// 2 vessels, expiring in 14400 seconds
	// xmlrpc: fault 105: Unable to fulfill vessel acquire request at this given time. Details: Requested 2 wan vessels, but we only have vessels with port 63100 available on 1 subnets.
	// 0 vessels held
}
