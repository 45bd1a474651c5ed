package conformance_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"

	"github.com/seattletestbed/clearinghouse-go/conformance"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
)

// Check runs the suite without go test and returns a Report to write.
// Here the target is a mock in this process; a program would use
// conformance.TargetFromEnv.
func ExampleCheck() {
	mock, err := mockserver.New(mockserver.WithKeyBits(512))
	if err != nil {
		log.Fatal(err)
	}
	defer mock.Close()
	srv := httptest.NewServer(mock)
	defer srv.Close()
	a, err := mock.AddAccount(mockapi.AccountSpec{Username: "alice", Password: "alice-password", Affiliation: "Example U"})
	if err != nil {
		log.Fatal(err)
	}
	target := conformance.Target{
		Name:     "in-process mock",
		URL:      srv.URL + "/xmlrpc/",
		Accounts: []conformance.Account{{Username: a.Username, APIKey: a.APIKey}},
	}

	rep, err := conformance.Check(context.Background(), target, conformance.WithMatch("^(Auth|Dispatch)$"))
	if err != nil {
		log.Fatal(err) // the suite could not run
	}
	f, err := os.CreateTemp("", "report-*.html")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	if err := rep.WriteHTML(f); err != nil {
		log.Fatal(err)
	}
	f.Close()
	fmt.Println("failed:", rep.Failed())
	// Output: failed: false
}
