package nodemanager_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
	"github.com/seattletestbed/clearinghouse-go/mockserver/mockapi"
	"github.com/seattletestbed/clearinghouse-go/nodemanager"
)

// The seed's flow, continued on the vessels' node managers: acquire two
// WAN vessels from the clearinghouse, upload hello.r2py to each, start it,
// read the log, stop it, release the vessels. The clearinghouse here is
// the in-process mock with node managers on, which records the start but
// runs no program: its log says so.
func Example() {
	mock, err := mockserver.New(mockserver.WithNodeManagers(true), mockserver.WithKeyBits(512))
	if err != nil {
		log.Fatal(err)
	}
	defer mock.Close()
	acct, err := mock.AddAccount(mockapi.AccountSpec{
		Username: "alice", Password: "correct horse", Affiliation: "Example University",
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()

	ctx := context.Background()
	ch, err := clearinghouse.New(acct.Username,
		clearinghouse.WithAPIKey(acct.APIKey), clearinghouse.WithURL(srv.URL+"/xmlrpc/"))
	if err != nil {
		log.Fatal(err)
	}
	// The node manager client signs with the key registered with the
	// clearinghouse.
	nm, err := nodemanager.New(nodemanager.WithPrivateKey(acct.PrivateKey))
	if err != nil {
		log.Fatal(err)
	}

	vessels, err := ch.AcquireWAN(ctx, 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("acquired", len(vessels), "WAN vessels")
	program := []byte("log('hello world\\n')\n")
	for i, leased := range vessels {
		v, err := nm.Vessel(leased)
		if err != nil {
			log.Fatal(err)
		}
		if err := v.AddFile(ctx, "hello.r2py", program); err != nil {
			log.Fatal(err)
		}
		status, err := v.StartEx(ctx, "repyV2", "hello.r2py")
		if err != nil {
			log.Fatal(err)
		}
		text, err := v.ReadLog(ctx)
		if err != nil {
			log.Fatal(err)
		}
		stopped, err := v.Stop(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("vessel %d: %s, then %s\n", i+1, status, stopped)
		if i == 0 {
			fmt.Print(text)
		}
	}
	if err := ch.ReleaseResources(ctx, clearinghouse.Handles(vessels)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("released")
	// Output:
	// acquired 2 WAN vessels
	// vessel 1: Started, then Stopped
	// ========================================
	// Running program: hello.r2py
	// Arguments: []
	// ========================================
	// [mock] hello.r2py was not run: this node manager is simulated and runs no program
	// vessel 2: Started, then Stopped
	// released
}

// startMock runs an in-process mock clearinghouse with node managers and
// an account, and returns the mock, a clearinghouse client and a node
// manager client for the account, and a function that stops it all.
func startMock() (*mockserver.Server, *clearinghouse.Client, *nodemanager.Client, func()) {
	mock, err := mockserver.New(mockserver.WithNodeManagers(true), mockserver.WithKeyBits(512))
	if err != nil {
		log.Fatal(err)
	}
	acct, err := mock.AddAccount(mockapi.AccountSpec{Username: "bob", Password: "secret1", Affiliation: "Test U"})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	ch, err := clearinghouse.New(acct.Username, clearinghouse.WithAPIKey(acct.APIKey), clearinghouse.WithURL(srv.URL+"/xmlrpc/"))
	if err != nil {
		log.Fatal(err)
	}
	nm, err := nodemanager.New(nodemanager.WithPrivateKey(acct.PrivateKey))
	if err != nil {
		log.Fatal(err)
	}
	return mock, ch, nm, func() { srv.Close(); mock.Close() }
}

// What the node managers refuse, and how the client reports it: a file
// that is not there, an owner's call, a start that did not report in time
// (the mock's HangVesselStart control makes one).
func ExampleError() {
	mock, ch, nm, stop := startMock()
	defer stop()
	ctx := context.Background()
	vessels, err := ch.AcquireWAN(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	v, err := nm.Vessel(vessels[0])
	if err != nil {
		log.Fatal(err)
	}

	_, err = v.RetrieveFile(ctx, "missing.txt")
	fmt.Println(errors.Is(err, nodemanager.ErrFileNotFound))

	err = v.ChangeOwnerInformation(ctx, "mine now")
	var e *nodemanager.Error
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, nodemanager.ErrInsufficientPermissions), e.Call, e.Status, e.Text)
	}

	if err := mock.HangVesselStart(string(vessels[0].Handle), 0); err != nil {
		log.Fatal(err)
	}
	_, err = v.Start(ctx, "missing.py")
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, nodemanager.ErrWarning), e.Status, e.Text)
	}
	// Output:
	// true
	// true ChangeOwnerInformation Error Insufficient Permissions
	// true Warning Did not start in a timely manner
}
