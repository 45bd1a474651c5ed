package keeper_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/seattletestbed/clearinghouse-go/clearinghouse"
	"github.com/seattletestbed/clearinghouse-go/clearinghouse/keeper"
	"github.com/seattletestbed/clearinghouse-go/mockserver"
)

// startMock runs an in-process mock clearinghouse with one account and
// returns its XML-RPC URL, the account and a function to stop it.
func startMock() (string, mockserver.Account, func()) {
	mock, err := mockserver.New(mockserver.WithKeyBits(512))
	if err != nil {
		log.Fatal(err)
	}
	acct, err := mock.AddAccount(mockserver.AccountSpec{
		Username: "alice", Password: "correct horse", Affiliation: "Example University",
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	return srv.URL + "/xmlrpc/", acct, srv.Close
}

// Keep two vessels alive until the context ends. The 5-hour margin makes
// the keeper renew the freshly acquired vessels (4 hours left) at once;
// the default margin of 2 hours would renew them 2 hours from now.
func ExampleKeeper() {
	url, acct, stop := startMock()
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, err := clearinghouse.New(acct.Username,
		clearinghouse.WithAPIKey(acct.APIKey),
		clearinghouse.WithURL(url))
	if err != nil {
		log.Fatal(err)
	}
	vessels, err := client.AcquireWAN(ctx, 2)
	if err != nil {
		log.Fatal(err)
	}

	k, err := keeper.New(client, clearinghouse.Handles(vessels),
		keeper.WithRenewMargin(5*time.Hour),
		keeper.WithReplacement(clearinghouse.WAN))
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()

	// Print the events up to the first renewal. Every wait has a
	// deadline, so that a keeper that never renews fails the example
	// instead of hanging it.
	timeout := time.After(time.Minute)
watch:
	for {
		select {
		case ev, open := <-k.Events():
			if !open { // Run returned
				break watch
			}
			if errors.Is(ev.Err, clearinghouse.ErrNotEnoughCredits) {
				fmt.Println("over the credit limit: release vessels elsewhere")
			} else {
				fmt.Println(ev)
			}
			if ev.Kind == keeper.EventRenewed {
				break watch
			}
		case <-timeout:
			fmt.Println("no renewal within a minute")
			break watch
		}
	}
	snap := k.Snapshot()
	for _, v := range snap.Vessels {
		fmt.Println("kept, expires in", time.Until(v.ExpiresAt).Round(time.Hour))
	}
	fmt.Println("next renewal in", time.Until(snap.NextRenewal).Round(time.Hour))

	cancel() // Run returns nil; the vessels stay held until they expire
	select {
	case err := <-done:
		fmt.Println("Run returned", err)
	case <-time.After(time.Minute):
		fmt.Println("Run did not return")
	}
	// Output:
	// renewed 2 vessels
	// kept, expires in 168h0m0s
	// kept, expires in 168h0m0s
	// next renewal in 163h0m0s
	// Run returned <nil>
}
